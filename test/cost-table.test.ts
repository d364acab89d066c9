/**
 * The README's cost table counts every resource with a fixed monthly charge. Each row's count is compared with the
 * resources of the example app's templates (root and nested), and the stated total with the sum of the rows, so a
 * resource added to the pipeline without its cost (or a cost row that no longer matches) fails here.
 * Unit prices: the AWS pricing pages of each service (us-west-2, list prices).
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { describe, expect, test } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { NESTED_STACK_NAMES } from './pipeline-fixture';
import { TapStack } from '../integ/tap-stack';

type Resource = { Type: string; Properties?: Record<string, any> };

const app = new App();
const tapStack = new TapStack(app, 'TapStack');
const stacks: Stack[] = [tapStack, ...NESTED_STACK_NAMES.map((name) => tapStack.pipeline.nestedStacks[name])];
const templateOf = (s: Stack) => Template.fromStack(s).toJSON() as { Resources: Record<string, Resource> };
const resources: Resource[] = stacks.flatMap((s) => Object.values(templateOf(s).Resources));
const ofType = (type: string) => resources.filter((r) => r.Type === type);

/** How each fixed-charge row of the README counts its resources in the templates. */
const COUNTED: Record<string, () => number> = {
  'NAT gateways': () => ofType('AWS::EC2::NatGateway').length,
  // Elastic IPs (the NAT gateway's) and instances that ask for a public address on their interface (the agent).
  'Public IPv4 addresses': () => ofType('AWS::EC2::EIP').length
    + ofType('AWS::EC2::Instance').filter((i) => (i.Properties?.NetworkInterfaces ?? []).some((n: any) => n.AssociatePublicIpAddress === true)).length,
  'Aurora MySQL instances': () => ofType('AWS::RDS::DBInstance').length,
  'DMS replication instances': () => ofType('AWS::DMS::ReplicationInstance').length,
  'OpenSearch data nodes': () => ofType('AWS::OpenSearchService::Domain')
    .reduce((sum, d) => sum + (d.Properties?.ClusterConfig?.InstanceCount ?? 1), 0),
  'DataSync agent instances': () => ofType('AWS::EC2::Instance').length,
  'EC2 detailed monitoring': () => ofType('AWS::EC2::Instance').filter((i) => i.Properties?.Monitoring === true).length,
  'Firehose VPC delivery': () => ofType('AWS::KinesisFirehose::DeliveryStream')
    .reduce((sum, s) => sum + (s.Properties?.AmazonopensearchserviceDestinationConfiguration?.VpcConfiguration?.SubnetIds?.length ?? 0), 0),
  'Secrets Manager secrets': () => ofType('AWS::SecretsManager::Secret').length,
  'CloudWatch alarms': () => ofType('AWS::CloudWatch::Alarm').length,
  'CloudWatch dashboards': () => ofType('AWS::CloudWatch::Dashboard').length,
  // The metrics of the pipeline's own namespace, as the dashboard shows them (FilesValidated, one per outcome).
  'CloudWatch custom metrics': () => new Set(ofType('AWS::CloudWatch::Dashboard')
    .flatMap((d) => [...JSON.stringify(d.Properties?.DashboardBody).matchAll(/\[\\"MigrationPipeline\\",[^\]]*\]/g)].map((m) => m[0]))).size,
  'KMS keys': () => ofType('AWS::KMS::Key').length,
};

interface Row { resource: string; count: number; monthly: number }

function readCostSection(): { rows: Row[]; total: number } {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Cost (us-west-2'));
  expect(section).toBeDefined();
  const table = section!.split('\n\n').find((block) => block.startsWith('| Resource | Count |'))!;
  const rows = table.split('\n').slice(2).map((line) => {
    const [resource, count, , monthly] = line.split('|').slice(1, -1).map((cell) => cell.trim());
    expect({ resource, monthly }).toEqual({ resource, monthly: expect.stringMatching(/^\$[\d.]+$/) });
    return { resource, count: Number(count), monthly: Number(monthly.slice(1)) };
  });
  const total = Number(/Roughly \*\*\$(\d+)\*\*/.exec(section!)?.[1]);
  return { rows, total };
}

const { rows, total } = readCostSection();

describe('README cost table', () => {
  test('has a row for every counted kind of fixed charge, and nothing uncounted', () => {
    expect(rows.map((r) => r.resource).sort()).toEqual(Object.keys(COUNTED).sort());
  });

  test.each(rows.map((r) => [r.resource, r] as const))('%s: the count matches the templates', (_resource, row) => {
    expect(COUNTED[row.resource]()).toEqual(row.count);
  });

  test('the stated total is the sum of the rows (to the nearest $10)', () => {
    const sum = rows.reduce((s, r) => s + r.monthly, 0);
    expect(Math.round(sum / 10) * 10).toEqual(total);
  });

  test('the counts a reader would expect of the example app', () => {
    // Written out so that a change of the example app shows up here too, not only as a new count in the README.
    expect(Object.fromEntries(Object.entries(COUNTED).map(([name, count]) => [name, count()]))).toEqual({
      'NAT gateways': 1,
      'Public IPv4 addresses': 2,
      'Aurora MySQL instances': 2,
      'DMS replication instances': 1,
      'OpenSearch data nodes': 1,
      'DataSync agent instances': 1,
      'EC2 detailed monitoring': 1,
      'Firehose VPC delivery': 2,
      'Secrets Manager secrets': 2,
      'CloudWatch alarms': 15,
      'CloudWatch dashboards': 1,
      'CloudWatch custom metrics': 2,
      'KMS keys': 2,
    });
  });
});
