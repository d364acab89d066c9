import { describe, test, expect } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TapStack } from '../integ/tap-stack';
import { MigrationPipeline } from '../src';

/*
 * With a concrete account and region, CDK looks the region's Availability Zones up in the account (a context
 * lookup that needs credentials) unless they are known. "Environments", AWS CDK Developer Guide: an
 * environment-specific stack uses context lookups such as the AZs; `cdk synth` without credentials then fails.
 */

const ENV = { account: '123456789012', region: 'us-west-2' };

describe('synthesis with a concrete account and region, without credentials', () => {
  test('the example app with CDK_DEFAULT_ACCOUNT set needs no lookup (its network names the zones)', () => {
    const previous = process.env.CDK_DEFAULT_ACCOUNT;
    process.env.CDK_DEFAULT_ACCOUNT = ENV.account;
    try {
      const app = new App();
      const stack = new TapStack(app, 'TapStack');
      expect(stack.account).toBe(ENV.account);
      const assembly = app.synth();
      expect(assembly.manifest.missing ?? []).toEqual([]);
      const subnets = Template.fromStack(stack.pipeline.nestedStacks.NetworkStack).findResources('AWS::EC2::Subnet');
      expect(new Set(Object.values(subnets).map((subnet: any) => subnet.Properties.AvailabilityZone))).toEqual(new Set(['us-west-2a', 'us-west-2b']));
    } finally {
      if (previous === undefined) {
        delete process.env.CDK_DEFAULT_ACCOUNT;
      } else {
        process.env.CDK_DEFAULT_ACCOUNT = previous;
      }
    }
  });

  test('without network.availabilityZones the same stack needs the availability-zones lookup', () => {
    const app = new App();
    const stack = new Stack(app, 'Concrete', { env: ENV });
    new MigrationPipeline(stack, 'Pipeline');
    const missing = app.synth().manifest.missing ?? [];
    expect(missing.map((entry) => entry.provider)).toContain('availability-zones');
  });
});
