import { describe, test, expect } from '@jest/globals';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { MigrationPipelineProps } from '../src';
import { synthPipeline } from './pipeline-fixture';
import { allResources, PipelineResource } from './template-resources';

/*
 * What deleting each environment keeps. The rules come from:
 * - "DeletionPolicy attribute" and "UpdateReplacePolicy attribute", AWS CloudFormation User Guide: a resource
 *   without them is deleted (AWS::RDS::DBCluster and DBInstance are snapshotted) when the stack is deleted or
 *   the resource replaced.
 * - "AWS::S3::Bucket", CloudFormation Template Reference: a bucket is deleted only when it is empty; with
 *   versioning, every version and delete marker counts ("Deleting a bucket", Amazon S3 User Guide).
 * - "AWS::RDS::DBCluster" DeletionProtection, CloudFormation Template Reference.
 */

/** Types that hold data (or the keys and logs needed to read it): retained when retainData is true, else deleted. */
const DATA_HOLDING_TYPES = [
  'AWS::S3::Bucket', 'AWS::RDS::DBCluster', 'AWS::RDS::DBInstance', 'AWS::RDS::DBClusterParameterGroup', 'AWS::RDS::DBSubnetGroup',
  'AWS::OpenSearchService::Domain', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup', 'AWS::Logs::LogStream', 'AWS::KMS::Key',
  'AWS::SQS::Queue', 'AWS::Glue::Database',
];

/** Every other type the pipeline creates: configuration or compute that the stack recreates, deleted with it. */
const STATELESS_TYPES = [
  'AWS::CDK::Metadata', 'AWS::CloudFormation::Stack', 'AWS::DynamoDB::Table', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::DMS::Endpoint',
  'AWS::DMS::ReplicationInstance', 'AWS::DMS::ReplicationSubnetGroup', 'AWS::DMS::ReplicationTask', 'AWS::DataSync::LocationS3',
  'AWS::EC2::EIP', 'AWS::EC2::FlowLog', 'AWS::EC2::Instance', 'AWS::EC2::InternetGateway', 'AWS::EC2::LaunchTemplate',
  'AWS::EC2::NatGateway', 'AWS::EC2::Route', 'AWS::EC2::RouteTable', 'AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupEgress',
  'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::Subnet', 'AWS::EC2::SubnetRouteTableAssociation', 'AWS::EC2::VPC',
  'AWS::EC2::VPCEndpoint', 'AWS::EC2::VPCGatewayAttachment', 'AWS::Events::Rule', 'AWS::Glue::Job', 'AWS::Glue::SecurityConfiguration',
  'AWS::IAM::InstanceProfile', 'AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::KinesisFirehose::DeliveryStream',
  'AWS::Lambda::EventInvokeConfig', 'AWS::Lambda::Function', 'AWS::Lambda::LayerVersion', 'AWS::Lambda::Permission',
  'AWS::Logs::ResourcePolicy', 'AWS::S3::BucketPolicy', 'AWS::SNS::Subscription', 'AWS::SNS::Topic', 'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy', 'AWS::SecretsManager::SecretTargetAttachment', 'AWS::StepFunctions::StateMachine',
  'Custom::CDKBucketDeployment', 'Custom::DataSyncAgentActivation', 'Custom::MigrationAccountPrerequisites', 'Custom::VpcRestrictDefaultSG',
  'Custom::S3AutoDeleteObjects', 'Custom::DataSyncAgentImage', 'Custom::DmsTaskStopGuard', 'Custom::S3BucketNotifications',
];

const AUTO_DELETE_TAG = 'aws-cdk:auto-delete-objects';

function synthResources(props: MigrationPipelineProps): PipelineResource[] {
  return allResources(synthPipeline(props));
}

function ofType(resources: PipelineResource[], type: string): PipelineResource[] {
  return resources.filter((r) => r.resource.Type === type);
}

function hasAutoDeleteTag(bucket: PipelineResource): boolean {
  return (bucket.resource.Properties?.Tags ?? []).some((tag: { Key: string; Value: string }) => tag.Key === AUTO_DELETE_TAG && tag.Value === 'true');
}

/** The auto-delete custom resources of one template, by the logical id of the bucket they empty. */
function autoDeletedBuckets(resources: PipelineResource[]): Set<string> {
  return new Set(ofType(resources, 'Custom::S3AutoDeleteObjects').map((r) => `${r.stack}/${r.resource.Properties.BucketName.Ref}`));
}

describe.each([
  ['dev (retainData defaults to false)', { environmentSuffix: 'dev' }],
  ['prod with retainData false', { environmentSuffix: 'prod', retainData: false }],
])('an environment that does not retain data: %s', (_name, props: MigrationPipelineProps) => {
  const resources = synthResources(props);

  test('every resource type is classified as data-holding or stateless, so a new type must be decided on', () => {
    const known = new Set([...DATA_HOLDING_TYPES, ...STATELESS_TYPES]);
    expect([...new Set(resources.map((r) => r.resource.Type))].filter((type) => !known.has(type))).toEqual([]);
  });

  test.each(DATA_HOLDING_TYPES)('every %s is deleted with the stack and on replacement (DeletionPolicy and UpdateReplacePolicy Delete)', (type) => {
    const found = ofType(resources, type);
    expect(found.length).toBeGreaterThan(0);
    for (const r of found) {
      expect({ id: r.id, deletion: r.resource.DeletionPolicy, replace: r.resource.UpdateReplacePolicy })
        .toEqual({ id: r.id, deletion: 'Delete', replace: 'Delete' });
    }
  });

  test('every bucket is emptied of all versions before it is deleted (CDK auto-delete custom resource and its tag)', () => {
    const buckets = ofType(resources, 'AWS::S3::Bucket');
    // Data, script and access-log buckets (StorageStack), the audit backup bucket (LoggingStack).
    expect(buckets).toHaveLength(4);
    const emptied = autoDeletedBuckets(resources);
    for (const bucket of buckets) {
      expect({ id: bucket.id, emptied: emptied.has(`${bucket.stack}/${bucket.id}`), tagged: hasAutoDeleteTag(bucket) })
        .toEqual({ id: bucket.id, emptied: true, tagged: true });
    }
  });

  test('the deployed validate.py is removed with the stack (BucketDeployment RetainOnDelete false)', () => {
    const deployments = ofType(resources, 'Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(1);
    expect(deployments[0].resource.Properties.RetainOnDelete).toBe(false);
  });

  test('the Aurora cluster is not protected from deletion', () => {
    const clusters = ofType(resources, 'AWS::RDS::DBCluster');
    expect(clusters).toHaveLength(1);
    expect(clusters[0].resource.Properties.DeletionProtection).toBe(false);
  });
});

describe.each([
  ['prod (retainData defaults to true)', { environmentSuffix: 'prod' }],
  ['production with retainData true', { environmentSuffix: 'production', retainData: true }],
  ['dev with retainData true', { environmentSuffix: 'dev', retainData: true }],
])('an environment that retains data: %s', (_name, props: MigrationPipelineProps) => {
  const resources = synthResources(props);

  test.each(DATA_HOLDING_TYPES)('every %s is kept when the stack is deleted or the resource replaced (Retain)', (type) => {
    const found = ofType(resources, type);
    expect(found.length).toBeGreaterThan(0);
    for (const r of found) {
      expect({ id: r.id, deletion: r.resource.DeletionPolicy, replace: r.resource.UpdateReplacePolicy })
        .toEqual({ id: r.id, deletion: 'Retain', replace: 'Retain' });
    }
  });

  test('no bucket is emptied: no auto-delete custom resource and no auto-delete tag', () => {
    expect(ofType(resources, 'Custom::S3AutoDeleteObjects')).toEqual([]);
    expect(ofType(resources, 'AWS::S3::Bucket').filter(hasAutoDeleteTag).map((b) => b.id)).toEqual([]);
  });

  test('the deployed validate.py stays (BucketDeployment RetainOnDelete true)', () => {
    const deployments = ofType(resources, 'Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(1);
    expect(deployments[0].resource.Properties.RetainOnDelete).toBe(true);
  });

  test('the Aurora cluster is protected from deletion (AWS::RDS::DBCluster DeletionProtection)', () => {
    const clusters = ofType(resources, 'AWS::RDS::DBCluster');
    expect(clusters).toHaveLength(1);
    expect(clusters[0].resource.Properties.DeletionProtection).toBe(true);
  });
});

describe('retainData and the environment suffix', () => {
  test('a suffix that reads like production but is not prod warns that its data is deleted', () => {
    const fixture = synthPipeline({ environmentSuffix: 'production' });
    Annotations.fromStack(fixture.stack).hasWarning('*', Match.stringLikeRegexp("environmentSuffix 'production' is not 'prod'.*retainData"));
    expect(fixture.pipeline.retainData).toBe(false);
  });

  test('an explicit retainData silences the warning', () => {
    const fixture = synthPipeline({ environmentSuffix: 'production', retainData: false });
    expect(Annotations.fromStack(fixture.stack).findWarning('*', Match.stringLikeRegexp('retainData'))).toEqual([]);
  });

  test.each([
    ['dev with retainData true', { environmentSuffix: 'dev', retainData: true }, false],
    ['prod with retainData false', { environmentSuffix: 'prod', retainData: false }, true],
  ])('multi-AZ DMS follows the prod suffix, not retainData: %s', (_name, props: MigrationPipelineProps, multiAz) => {
    const instances = ofType(allResources(synthPipeline(props)), 'AWS::DMS::ReplicationInstance');
    expect(instances).toHaveLength(1);
    expect(instances[0].resource.Properties.MultiAZ).toBe(multiAz);
  });
});

describe('emptying the access-log bucket while the buckets that log into it are deleted', () => {
  /*
   * "Enabling Amazon S3 server access logging" (Amazon S3 User Guide): with Object Ownership set to bucket owner
   * enforced, log delivery is granted only by the destination bucket's policy to logging.s3.amazonaws.com, and
   * deliveries can arrive hours late. CDK's auto-delete resource depends on the bucket policy, so it runs while the
   * policy exists: it first adds a Deny s3:PutObject for every principal, then deletes every version (see
   * test/auto-delete-handler.test.ts). Late deliveries are denied, and once CloudFormation deletes the policy no
   * statement grants them at all, so the emptied bucket stays empty until it is deleted.
   */
  const resources = synthResources({ environmentSuffix: 'dev' });
  const storage = resources.filter((r) => r.stack.includes('StorageStack'));
  const byId = new Map(storage.map((r) => [r.id, r.resource]));
  const accessLogs = storage.find((r) => r.id.startsWith('StorageAccessLogsBucket') && r.resource.Type === 'AWS::S3::Bucket')!;

  test('log delivery depends on the bucket policy alone (bucket owner enforced, no ACL)', () => {
    expect(accessLogs.resource.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(accessLogs.resource.Properties.AccessControl).toBeUndefined();
  });

  test('the auto-delete resource of the access-log bucket runs before its policy is deleted (DependsOn the policy)', () => {
    const autoDelete = storage.find((r) => r.resource.Type === 'Custom::S3AutoDeleteObjects' && r.resource.Properties.BucketName.Ref === accessLogs.id)!;
    const policy = storage.find((r) => r.resource.Type === 'AWS::S3::BucketPolicy' && r.resource.Properties.Bucket.Ref === accessLogs.id)!;
    expect(autoDelete.resource.DependsOn).toContain(policy.id);
    const logDelivery = policy.resource.Properties.PolicyDocument.Statement
      .filter((s: any) => s.Principal?.Service === 'logging.s3.amazonaws.com');
    expect(logDelivery.length).toBe(2);
    expect(logDelivery.every((s: any) => s.Effect === 'Allow' && s.Condition?.ArnLike?.['aws:SourceArn'])).toBe(true);
  });

  test('every bucket that logs into it is itself emptied and deleted', () => {
    const sources = storage.filter((r) => r.resource.Properties?.LoggingConfiguration?.DestinationBucketName?.Ref === accessLogs.id);
    expect(sources.map((r) => r.id).sort()).toEqual([expect.stringMatching(/^StorageDataBucket/), expect.stringMatching(/^StorageScriptBucket/)]);
    const emptied = autoDeletedBuckets(storage);
    for (const source of sources) {
      expect(emptied.has(`${source.stack}/${source.id}`)).toBe(true);
      expect(byId.get(source.id)!.DeletionPolicy).toBe('Delete');
    }
  });

  test('the audit delivery stream is deleted before the backup bucket is emptied (it DependsOn the auto-delete resource)', () => {
    const logging = resources.filter((r) => r.stack.includes('LoggingStack'));
    const backup = logging.find((r) => r.resource.Type === 'AWS::S3::Bucket')!;
    const autoDelete = logging.find((r) => r.resource.Type === 'Custom::S3AutoDeleteObjects' && r.resource.Properties.BucketName.Ref === backup.id)!;
    const stream = logging.find((r) => r.resource.Type === 'AWS::KinesisFirehose::DeliveryStream')!;
    expect(stream.resource.DependsOn).toContain(autoDelete.id);
  });
});
