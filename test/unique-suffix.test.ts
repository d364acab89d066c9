import { describe, test, expect } from '@jest/globals';
import { App, Stack, StackProps } from 'aws-cdk-lib';
import { MigrationPipeline } from '../src';

/*
 * The environment suffix is part of physical names (buckets, Glue job, functions, Aurora cluster), which must be
 * unique per account and region: a second pipeline with the same suffix there would fail to deploy.
 */

const ZONES = ['us-west-2a', 'us-west-2b'];

function pipelineIn(app: App, stackId: string, env: StackProps['env'], environmentSuffix: string): MigrationPipeline {
  const stack = new Stack(app, stackId, { env });
  return new MigrationPipeline(stack, 'Pipeline', { environmentSuffix, network: env?.account ? { availabilityZones: ZONES } : {} });
}

describe('two pipelines with the same suffix in one account and region fail at synth', () => {
  test('same account and region, and both environment-agnostic: each pair is named', () => {
    const app = new App();
    const concrete = { account: '123456789012', region: 'us-west-2' };
    pipelineIn(app, 'First', concrete, 'qa');
    pipelineIn(app, 'Second', concrete, 'qa');
    pipelineIn(app, 'AgnosticA', undefined, 'dev');
    pipelineIn(app, 'AgnosticB', undefined, 'dev');
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/environmentSuffix \(environment_suffix\): received 'qa' for both First\/Pipeline and Second\/Pipeline in account 123456789012, region us-west-2; expected a suffix unique per account and region/);
    expect(message).toMatch(/environmentSuffix \(environment_suffix\): received 'dev' for both AgnosticA\/Pipeline and AgnosticB\/Pipeline in any account, any region/);
  });

  test('the same suffix in two regions, or two suffixes in one region, is fine', () => {
    const app = new App();
    pipelineIn(app, 'West', { region: 'us-west-2' }, 'qa');
    pipelineIn(app, 'East', { region: 'us-east-1' }, 'qa');
    pipelineIn(app, 'WestProd', { region: 'us-west-2' }, 'prod');
    expect(() => app.synth()).not.toThrow();
  });
});
