import { App, Stack } from 'aws-cdk-lib';
// The library's sources, as the example app uses them (the other languages run the compiled lib/ in their packages).
import { MigrationPipeline } from '../../../src';

/*
 * The reference for the language bindings: the README's Python example, written in TypeScript. The Python, Java
 * and Go apps synthesize the same pipeline, and their templates are compared with this app's.
 */
const app = new App();
const stack = new Stack(app, 'Migration', { env: { region: 'us-west-2' } });
const pipeline = new MigrationPipeline(stack, 'Pipeline', {
  environmentSuffix: 'prod',
  network: { availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 2 },
});
pipeline.addOperatorOutputs();
app.synth();
