import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import * as cdk from 'aws-cdk-lib';
import { TapStack } from './tap-stack';

/*
 * The example app as an integration test. Offline, CI verifies its snapshot; with AWS credentials,
 * `integ-runner` deploys it and runs the assertions below against the real pipeline.
 */
const app = new cdk.App();
const stack = new TapStack(app, 'TapStack', { environmentSuffix: 'integ' });

new IntegTest(app, 'MigrationPipelineInteg', {
  testCases: [stack],
  regions: ['us-west-2'],
  diffAssets: false,
  stackUpdateWorkflow: false,
});
