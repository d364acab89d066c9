import * as fs from 'fs';
import * as path from 'path';
import { describe, test, expect } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TapStack } from '../integ/tap-stack';
import { MigrationPipeline } from '../src';

/** The outputs the example app had before they moved into the library; the README's steps use these names. */
const OPERATOR_OUTPUTS = [
  'VpcId', 'DataBucketName', 'ScriptBucketName', 'StateMachineArn', 'CutoverStateMachineArn', 'OpenSearchDomainEndpoint', 'ValidationTopicArn',
  'AlertTopicArn', 'GlueJobName', 'ReplicationTaskArn', 'AuroraWriterEndpoint', 'AuroraReaderEndpoint', 'AuroraSecretArn',
  'SourceSecretArn', 'DataSyncAgentArn', 'DataSyncInstanceId', 'DataSyncActivationSuccess', 'DataSyncS3LocationArn',
  'DataSyncSetupInstructions',
];

describe('operator outputs', () => {
  const app = new App();
  const consumer = new Stack(app, 'Consumer', { env: { region: 'us-west-2' } });
  const pipeline = new MigrationPipeline(consumer, 'Pipeline');
  const returned = pipeline.addOperatorOutputs();
  const consumerOutputs = Template.fromStack(consumer).toJSON().Outputs ?? {};

  test('one call gives a consumer stack every output the example has, under the same names', () => {
    expect(Object.keys(returned).sort()).toEqual([...OPERATOR_OUTPUTS].sort());
    expect(Object.keys(consumerOutputs).sort()).toEqual([...OPERATOR_OUTPUTS].sort());
    expect(consumerOutputs.SourceSecretArn.Value).toEqual(expect.objectContaining({ 'Fn::GetAtt': expect.anything() }));
    expect(JSON.stringify(consumerOutputs.DataSyncSetupInstructions.Value)).toContain('aws datasync create-agent --activation-key KEY');
  });

  test('the example app uses it and keeps its output names', () => {
    const example = new TapStack(new App(), 'TapStack');
    expect(Object.keys(Template.fromStack(example).toJSON().Outputs).sort()).toEqual([...OPERATOR_OUTPUTS].sort());
  });

  test('every output the README\'s after-deployment steps name exists, and the README shows the call', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
    const start = readme.indexOf('After deployment');
    const steps = readme.slice(start, readme.indexOf('\n## ', start));
    const named = [...steps.matchAll(/`([A-Z][A-Za-z0-9]+)`/g)].map(([, name]) => name);
    expect(named.length).toBeGreaterThanOrEqual(4);
    for (const name of named) {
      expect(OPERATOR_OUTPUTS).toContain(name);
    }
    expect(steps).toContain('addOperatorOutputs()');
  });
});
