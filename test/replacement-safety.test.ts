import { describe, test, expect } from '@jest/globals';
import { Duration } from 'aws-cdk-lib';
import { MigrationPipelineProps } from '../src';
import { synthPipeline } from './pipeline-fixture';
import { allResources, PipelineResource } from './template-resources';

/*
 * Properties whose change makes CloudFormation replace the resource ("Update requires: Replacement", and the
 * conditional replacements that apply to how the pipeline sets them), per resource type, from the CloudFormation
 * Template Reference pages named in each comment. A replaced stateful resource loses its data or its identity
 * (a new agent, a new endpoint, a new task that restarts the full load).
 */
const REPLACEMENT_PROPERTIES: Record<string, string[]> = {
  // AWS::S3::Bucket
  'AWS::S3::Bucket': ['BucketName', 'ObjectLockEnabled'],
  // AWS::RDS::DBCluster (Engine and MasterUsername: replacement outside an in-place engine-version upgrade)
  'AWS::RDS::DBCluster': [
    'DBClusterIdentifier', 'DatabaseName', 'DBSubnetGroupName', 'Engine', 'EngineMode', 'KmsKeyId', 'MasterUsername',
    'PubliclyAccessible', 'StorageEncrypted', 'AvailabilityZones', 'SnapshotIdentifier', 'SourceDBClusterIdentifier',
  ],
  // AWS::RDS::DBInstance (AvailabilityZone and DBParameterGroupName: conditional)
  'AWS::RDS::DBInstance': [
    'DBClusterIdentifier', 'DBInstanceIdentifier', 'DBSubnetGroupName', 'Engine', 'KmsKeyId', 'StorageEncrypted', 'AvailabilityZone',
    'DBParameterGroupName',
  ],
  // AWS::RDS::DBClusterParameterGroup
  'AWS::RDS::DBClusterParameterGroup': ['Description', 'Family', 'DBClusterParameterGroupName'],
  // AWS::RDS::DBSubnetGroup
  'AWS::RDS::DBSubnetGroup': ['DBSubnetGroupName'],
  // AWS::OpenSearchService::Domain
  'AWS::OpenSearchService::Domain': ['DomainName'],
  // AWS::DMS::ReplicationInstance
  'AWS::DMS::ReplicationInstance': ['ReplicationSubnetGroupIdentifier', 'PubliclyAccessible', 'KmsKeyId', 'ResourceIdentifier'],
  // AWS::DMS::Endpoint
  'AWS::DMS::Endpoint': ['KmsKeyId', 'ResourceIdentifier'],
  // AWS::DMS::ReplicationTask
  'AWS::DMS::ReplicationTask': ['ReplicationInstanceArn', 'SourceEndpointArn', 'TargetEndpointArn', 'ResourceIdentifier'],
  // AWS::DMS::ReplicationSubnetGroup
  'AWS::DMS::ReplicationSubnetGroup': ['ReplicationSubnetGroupIdentifier'],
  // AWS::EC2::Instance (the DataSync agent; a new instance is a new, unactivated agent). BlockDeviceMappings
  // replaces except for DeleteOnTermination changes.
  'AWS::EC2::Instance': [
    'AvailabilityZone', 'ImageId', 'LaunchTemplate', 'NetworkInterfaces', 'SubnetId', 'KeyName', 'PrivateIpAddress', 'BlockDeviceMappings',
  ],
  // AWS::SecretsManager::Secret
  'AWS::SecretsManager::Secret': ['Name'],
  // AWS::DataSync::LocationS3
  'AWS::DataSync::LocationS3': ['S3BucketArn', 'S3StorageClass', 'Subdirectory', 'S3Config'],
  // The activation returns a new agent when the agent's address changes (src/runtime/datasync_activation.js).
  'Custom::DataSyncAgentActivation': ['AgentIp', 'AgentName'],
  // AWS::SQS::Queue
  'AWS::SQS::Queue': ['QueueName', 'FifoQueue'],
  // AWS::Logs::LogGroup
  'AWS::Logs::LogGroup': ['LogGroupName'],
  // AWS::KMS::Key (KeySpec and KeyUsage change the key material: CloudFormation creates a new key)
  'AWS::KMS::Key': ['KeySpec', 'KeyUsage'],
  // AWS::Glue::Database and its DatabaseInput property type
  'AWS::Glue::Database': ['CatalogId', 'DatabaseName', 'DatabaseInput.Name'],
  // AWS::KinesisFirehose::DeliveryStream and its AmazonopensearchserviceDestinationConfiguration property type
  // (the audit stream: a replaced stream loses the records it buffers, and its fixed name makes the update fail)
  'AWS::KinesisFirehose::DeliveryStream': [
    'DeliveryStreamName', 'DeliveryStreamType', 'AmazonopensearchserviceDestinationConfiguration.VpcConfiguration',
  ],
};

const STATEFUL_TYPES = Object.keys(REPLACEMENT_PROPERTIES);

/** Props that change behaviour, not structure: an operator tunes them on a running pipeline. */
const BASE: MigrationPipelineProps = {
  messaging: { notificationEmail: 'ops@example.com' },
  orchestration: { pollInterval: Duration.minutes(5), timeout: Duration.hours(2) },
  glue: { timeout: Duration.minutes(60), maxRetries: 2 },
  functions: { timeout: Duration.minutes(1) },
  database: { backupRetention: Duration.days(7) },
};
const TUNED: MigrationPipelineProps = {
  messaging: { notificationEmail: 'oncall@example.org' },
  orchestration: { pollInterval: Duration.minutes(2), timeout: Duration.hours(6) },
  glue: { timeout: Duration.minutes(120), maxRetries: 1 },
  functions: { timeout: Duration.minutes(3) },
  database: { backupRetention: Duration.days(14) },
};

const key = (r: PipelineResource) => `${r.stack}/${r.id}`;

/** Logical ids of resources whose properties differ between the two syntheses. */
function changedResources(before: Map<string, PipelineResource>, after: Map<string, PipelineResource>): Set<string> {
  return new Set([...before.keys()].filter((k) => JSON.stringify(before.get(k)!.resource) !== JSON.stringify(after.get(k)?.resource)));
}

/** Logical ids that a value reads an attribute of (an attribute of an updated resource may change with it). */
function getAttTargets(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(getAttTargets);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => (k === 'Fn::GetAtt' ? [String((v as string[])[0])] : getAttTargets(v)));
  }
  return [];
}

/** A property, or a property of a property type with a dotted path such as 'DatabaseInput.Name'. */
function propertyAt(properties: any, path: string): unknown {
  return path.split('.').reduce((value, name) => value?.[name], properties);
}

/** Why a stateful resource would be replaced by going from `before` to `after`, or nothing. */
function replacementReasons(before: Map<string, PipelineResource>, after: Map<string, PipelineResource>): string[] {
  const changed = changedResources(before, after);
  const reasons: string[] = [];
  for (const [k, r] of before) {
    if (!STATEFUL_TYPES.includes(r.resource.Type)) continue;
    const next = after.get(k);
    if (!next || next.resource.Type !== r.resource.Type) {
      reasons.push(`${k}: logical id or type changed`);
      continue;
    }
    for (const prop of REPLACEMENT_PROPERTIES[r.resource.Type]) {
      const was = propertyAt(r.resource.Properties, prop);
      const is = propertyAt(next.resource.Properties, prop);
      if (JSON.stringify(was) !== JSON.stringify(is)) {
        reasons.push(`${k}: ${prop} changed`);
      } else if (getAttTargets(was).some((target) => changed.has(`${r.stack}/${target}`))) {
        reasons.push(`${k}: ${prop} reads an attribute of a resource that changed`);
      }
    }
  }
  return reasons;
}

function resourcesOf(props: MigrationPipelineProps): Map<string, PipelineResource> {
  return new Map(allResources(synthPipeline(props)).map((r) => [key(r), r]));
}

describe('tuning a running pipeline replaces no stateful resource', () => {
  const before = resourcesOf(BASE);
  const after = resourcesOf(TUNED);

  test('the tuned props do change the templates (the comparison is not vacuous)', () => {
    expect(changedResources(before, after).size).toBeGreaterThan(3);
  });

  test('every stateful type of the table is present, so each row is checked', () => {
    const present = new Set([...before.values()].map((r) => r.resource.Type));
    expect(STATEFUL_TYPES.filter((type) => !present.has(type))).toEqual([]);
  });

  test('no stateful resource changes its logical id or a replacement-requiring property', () => {
    expect(replacementReasons(before, after)).toEqual([]);
  });

  test('the comparison reports a replacement: a renamed bucket and a changed agent image are caught', () => {
    const tampered = new Map([...after].map(([k, r]) => [k, JSON.parse(JSON.stringify(r)) as PipelineResource]));
    const bucket = [...tampered.values()].find((r) => r.resource.Type === 'AWS::S3::Bucket')!;
    bucket.resource.Properties.BucketName = 'renamed';
    const agent = [...tampered.values()].find((r) => r.resource.Type === 'AWS::EC2::Instance')!;
    agent.resource.Properties.ImageId = 'ami-0123456789abcdef0';
    expect(replacementReasons(before, tampered)).toEqual(expect.arrayContaining([
      expect.stringMatching(/BucketName changed$/), expect.stringMatching(/ImageId changed$/),
    ]));
  });

  test('an attribute read from an updated resource counts: the latest launch-template version would replace the agent', () => {
    const tampered = new Map([...before].map(([k, r]) => [k, JSON.parse(JSON.stringify(r)) as PipelineResource]));
    const agent = [...tampered.values()].find((r) => r.resource.Type === 'AWS::EC2::Instance')!;
    const templateId = agent.resource.Properties.LaunchTemplate.LaunchTemplateId.Ref;
    agent.resource.Properties.LaunchTemplate.Version = { 'Fn::GetAtt': [templateId, 'LatestVersionNumber'] };
    const retagged = new Map([...tampered].map(([k, r]) => [k, JSON.parse(JSON.stringify(r)) as PipelineResource]));
    retagged.get(`${agent.stack}/${templateId}`)!.resource.Properties.TagSpecifications.push({ ResourceType: 'launch-template', Tags: [] });
    expect(replacementReasons(tampered, retagged)).toEqual([expect.stringMatching(/LaunchTemplate reads an attribute of a resource that changed$/)]);
  });
});

describe('upgrades that would otherwise replace a stateful resource', () => {
  test('a new OpenSearch engine version is upgraded in place (UpdatePolicy EnableVersionUpgrade, "AWS::OpenSearchService::Domain" and "UpdatePolicy attribute", CloudFormation)', () => {
    const logging = synthPipeline().nested('LoggingStack').toJSON().Resources as Record<string, any>;
    const domains = Object.values(logging).filter((r) => r.Type === 'AWS::OpenSearchService::Domain');
    expect(domains).toHaveLength(1);
    expect(domains[0].UpdatePolicy).toEqual({ EnableVersionUpgrade: true });
  });
});
