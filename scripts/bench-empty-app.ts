// The baseline of the synth benchmark: the smallest useful CDK app (one stack, one bucket), synthesized through
// the same CLI and transpiler as the example app.
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

const app = new App();
new s3.Bucket(new Stack(app, 'EmptyApp'), 'Bucket');
app.synth();
