import * as cdk from 'aws-cdk-lib';
import { TapStack } from './tap-stack';

// Every CloudFormation element records the stack trace of its creation in the assembly's metadata unless this is
// set: several hundred traces, a seventh of the app's synthesis time, read only when debugging (`CDK_DEBUG=true`
// records them again).
const app = new cdk.App({ context: { 'aws:cdk:disable-creation-stack-traces': true } });
new TapStack(app, 'TapStack');
app.synth();
