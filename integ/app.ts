import * as cdk from 'aws-cdk-lib';
import { TapStack } from './tap-stack';

const app = new cdk.App();
new TapStack(app, 'TapStack');
app.synth();
