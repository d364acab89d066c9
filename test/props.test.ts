import { describe, test, expect } from '@jest/globals';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { MigrationPipeline, MigrationPipelineProps } from '../src';
import { buildPipeline, synthPipeline, validatePipeline, validateWith } from './pipeline-fixture';

describe('bad props fail at synth with a message naming the prop, the value and what is expected', () => {
  const vpcStack = new Stack(new App(), 'VpcStack', { env: { region: 'us-west-2' } });
  const existingVpc = new ec2.Vpc(vpcStack, 'Existing', { maxAzs: 2 });

  test.each<[string, MigrationPipelineProps, RegExp]>([
    ['a suffix that cannot go in a bucket name', { environmentSuffix: 'Prod_1' }, /environmentSuffix \(environment_suffix\): received 'Prod_1'; expected 1-12 lower-case/],
    ['a suffix that is too long', { environmentSuffix: 'a-very-long-suffix' }, /environmentSuffix \(environment_suffix\): received 'a-very-long-suffix'/],
    ['a malformed e-mail', { messaging: { notificationEmail: 'ops-at-example.com' } }, /messaging.notificationEmail \(notification_email\): received 'ops-at-example.com'; expected an e-mail/],
    ['a CIDR too small for the subnets', { network: { cidr: '10.0.0.0/23' } }, /network.cidr: received '10.0.0.0\/23', which holds 2 \/24 subnets; expected room for 6/],
    ['a malformed CIDR', { network: { cidr: '10.0.0/16' } }, /network.cidr: received '10.0.0\/16'; expected an IPv4 CIDR/],
    ['one AZ', { network: { maxAzs: 1 } }, /network.maxAzs \(max_azs\): received 1; expected a whole number from 2 to 6/],
    ['zero NAT gateways', { network: { natGateways: 0 } }, /network.natGateways \(nat_gateways\): received 0/],
    ['both an existing VPC and VPC settings', { network: { vpc: existingVpc, cidr: '10.1.0.0/16' } }, /network: received both an existing vpc and VPC settings \(cidr\)/],
    ['an unknown DMS instance class', { dms: { replicationInstanceClass: 't3.medium' } }, /dms.replicationInstanceClass \(replication_instance_class\): received 't3.medium'; expected a DMS replication instance class/],
    ['an unknown migration type', { dms: { migrationType: 'full' } }, /dms.migrationType \(migration_type\): received 'full'; expected one of 'full-load', 'cdc', 'full-load-and-cdc'/],
    ['table mappings that are not JSON', { dms: { tableMappings: '{rules:' } }, /dms.tableMappings \(table_mappings\): received a string that is not JSON/],
    ['a port out of range', { dms: { sourcePort: 70000 } }, /dms.sourcePort \(source_port\): received 70000/],
    ['batch apply together with data validation', { dms: { batchApplyEnabled: true } }, /dms.batchApplyEnabled \(batch_apply_enabled\): received true with enableDataValidation true/],
    ['zero parallel full-load tables', { dms: { maxFullLoadSubTasks: 0 } }, /dms.maxFullLoadSubTasks \(max_full_load_sub_tasks\): received 0/],
    ['negative Glue retries', { glue: { maxRetries: -1 } }, /glue.maxRetries \(max_retries\): received -1; expected a whole number from 0 to 10/],
    ['a zero Glue timeout', { glue: { timeout: Duration.minutes(0) } }, /glue.timeout: received 0 minutes?; expected from 1 minute to 7 days/],
    ['an unknown Glue worker type', { glue: { workerType: 'G.3X' } }, /glue.workerType \(worker_type\): received 'G.3X'; expected a worker type of Spark jobs in Glue 4.0: 'G.1X'/],
    ['a function timeout over 15 minutes', { functions: { timeout: Duration.minutes(20) } }, /functions.timeout: received 20 minutes; expected from 10 seconds to 15 minutes/],
    ['zero reserved concurrency', { functions: { reservedConcurrency: 0 } }, /functions.reservedConcurrency \(reserved_concurrency\): received 0/],
    ['a poll interval not shorter than the timeout', { orchestration: { pollInterval: Duration.minutes(30), timeout: Duration.minutes(30) } },
      /orchestration.pollInterval \(poll_interval\): received 30 minutes; expected less than the timeout/],
    ['more polls per run than an execution history holds', { orchestration: { pollInterval: Duration.seconds(40), timeout: Duration.hours(8) } },
      /orchestration.pollInterval \(poll_interval\): received 40 seconds with a timeout of 8 hours \(720 polls\); expected at most 600 polls per run.* at least 48 seconds/],
    ['zero activation attempts', { dataSync: { activationMaxAttempts: 0 } }, /dataSync.activationMaxAttempts \(activation_max_attempts\): received 0/],
    ['an activation budget over the function limit', { dataSync: { activationMaxAttempts: 20, activationRetryInterval: Duration.minutes(2) } },
      /dataSync.activationMaxAttempts \(activation_max_attempts\): received 20 attempts .* expected at most 840 s/],
    ['a malformed AMI id', { dataSync: { amiId: 'datasync-ami' } }, /dataSync.amiId \(ami_id\): received 'datasync-ami'/],
    ['an unknown OpenSearch instance type', { logging: { dataNodeInstanceType: 't3.small' } }, /logging.dataNodeInstanceType \(data_node_instance_type\): received 't3.small'/],
    ['a too-small OpenSearch volume', { logging: { volumeSize: 5 } }, /logging.volumeSize \(volume_size\): received 5/],
    ['backups kept longer than Aurora allows', { database: { backupRetention: Duration.days(36) } }, /database.backupRetention \(backup_retention\): received 36 days; expected from 1 day to 35 days/],
  ])('fails when given %s', (_name, props, message) => {
    // Construction succeeds; the error is reported by the construct validations that synthesis runs first.
    let pipeline: MigrationPipeline | undefined;
    expect(() => { pipeline = buildPipeline(props); }).not.toThrow();
    expect(() => validatePipeline(pipeline!)).toThrow(message);
  });

  test('fails when the context suffix is invalid', () => {
    expect(() => validateWith({}, { environmentSuffix: 'UPPER' })).toThrow(/environmentSuffix \(environment_suffix\): received 'UPPER'/);
  });
});

describe('environment suffix', () => {
  test('comes from props first', () => {
    expect(buildPipeline({ environmentSuffix: 'qa' }, { environmentSuffix: 'ctx' }).environmentSuffix).toBe('qa');
  });
  test('else from the environmentSuffix context', () => {
    expect(buildPipeline({}, { environmentSuffix: 'ctx' }).environmentSuffix).toBe('ctx');
  });
  test('else dev', () => {
    expect(buildPipeline({}).environmentSuffix).toBe('dev');
  });

  test('prod retains data and protects the database; other suffixes destroy', () => {
    const prod = synthPipeline({ environmentSuffix: 'prod' });
    prod.nested('DatabaseStack').hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Retain', Properties: { DeletionProtection: true, DBClusterIdentifier: 'migration-aurora-prod' },
    });
    prod.nested('StorageStack').hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    prod.nested('DMSStack').hasResourceProperties('AWS::DMS::ReplicationInstance', { MultiAZ: true });
    prod.nested('GlueStack').hasResourceProperties('AWS::Glue::Job', { Name: 'migration-validation-prod' });

    const dev = synthPipeline({ environmentSuffix: 'dev' });
    dev.nested('DatabaseStack').hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete', Properties: { DeletionProtection: false } });
    const buckets = Object.values(dev.nested('StorageStack').findResources('AWS::S3::Bucket')) as any[];
    expect(buckets.map((b) => b.DeletionPolicy)).toEqual(['Delete', 'Delete', 'Delete']);
    // A bucket is deleted only when empty: the dev buckets are emptied first, the prod buckets are kept as they are.
    dev.nested('StorageStack').resourceCountIs('Custom::S3AutoDeleteObjects', 3);
    prod.nested('StorageStack').resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });
});

describe('overrides', () => {
  test('an existing VPC is used instead of a new one', () => {
    const app = new App();
    const stack = new Stack(app, 'WithVpc', { env: { region: 'us-west-2' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      subnetConfiguration: [
        { name: 'pub', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'priv', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    const pipeline = new MigrationPipeline(stack, 'Pipeline', { network: { vpc } });
    expect(pipeline.network.vpc).toBe(vpc);
    Template.fromStack(pipeline.nestedStacks.NetworkStack).resourceCountIs('AWS::EC2::VPC', 0);
  });

  test('an existing VPC without isolated subnets is rejected', () => {
    const stack = new Stack(new App(), 'NoIsolated', { env: { region: 'us-west-2' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    expect(() => validateWith({ network: { vpc } })).toThrow(/network.vpc: received a VPC with 2 public, 2 private-with-egress and 0 isolated subnets/);
  });

  test('a fixed AMI replaces the SSM parameter; settings reach each concern', () => {
    const fx = synthPipeline({
      dataSync: { amiId: 'ami-0f508ba5fd9db6606' },
      dms: { replicationInstanceClass: 'dms.r5.large', multiAz: true, sourceHostname: 'db.corp.internal', sourcePort: 3307 },
      orchestration: { pollInterval: Duration.seconds(40) },
      functions: { reservedConcurrency: 5 },
      logging: { dataNodes: 2 },
    });
    fx.nested('DataSyncStack').hasResourceProperties('AWS::EC2::Instance', { ImageId: 'ami-0f508ba5fd9db6606' });
    fx.nested('DMSStack').hasResourceProperties('AWS::DMS::ReplicationInstance', { ReplicationInstanceClass: 'dms.r5.large', MultiAZ: true });
    const secret = Object.values(fx.nested('DMSStack').findResources('AWS::SecretsManager::Secret'))[0] as any;
    expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate)).toMatchObject({ host: 'db.corp.internal', port: 3307 });
    const sm = Object.values(fx.nested('OrchestrationStack').findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    expect(JSON.stringify(sm.Properties.DefinitionString)).toContain('\\"Seconds\\":40');
    fx.nested('LambdaStack').hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
    fx.nested('LoggingStack').hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: { InstanceCount: 2, ZoneAwarenessEnabled: true, ZoneAwarenessConfig: { AvailabilityZoneCount: 2 } },
    });
  });
});

describe('a cdc-only task into a target loaded by the user', () => {
  test('starts at the given binary log position', () => {
    const fx = synthPipeline({ dms: { migrationType: 'cdc', cdcStartPosition: 'mysql-bin-changelog.000024:373' } });
    fx.nested('DMSStack').hasResourceProperties('AWS::DMS::ReplicationTask', {
      MigrationType: 'cdc',
      CdcStartPosition: 'mysql-bin-changelog.000024:373',
    });
  });
});

describe('account prerequisites', () => {
  test('are skipped when both are turned off', () => {
    const pipeline = buildPipeline({ accountPrerequisites: { createDmsRoles: false, createOpenSearchServiceLinkedRole: false } });
    expect(pipeline.accountPrerequisites).toBeUndefined();
    Template.fromStack(pipeline.nestedStacks.DMSStack.nestedStackParent!).resourceCountIs('Custom::MigrationAccountPrerequisites', 0);
  });

  test('can create only the DMS roles', () => {
    const fx = synthPipeline({ accountPrerequisites: { createOpenSearchServiceLinkedRole: false } });
    fx.root.hasResourceProperties('Custom::MigrationAccountPrerequisites', { CreateDmsRoles: 'true', CreateOpenSearchServiceLinkedRole: 'false' });
  });
});

describe('DMS task settings', () => {
  const settingsOf = (props: MigrationPipelineProps) => {
    const task = Object.values(synthPipeline(props).nested('DMSStack').findResources('AWS::DMS::ReplicationTask'))[0] as any;
    return JSON.parse(task.Properties.ReplicationTaskSettings);
  };

  test('default: logging and validation on, 8 tables in parallel, row-by-row apply', () => {
    expect(settingsOf({})).toMatchObject({
      Logging: { EnableLogging: true },
      ValidationSettings: { EnableValidation: true },
      FullLoadSettings: { MaxFullLoadSubTasks: 8 },
      TargetMetadata: { BatchApplyEnabled: false },
    });
  });

  test('without validation, CDC changes are applied in batches', () => {
    expect(settingsOf({ dms: { enableDataValidation: false, maxFullLoadSubTasks: 16 } })).toMatchObject({
      ValidationSettings: { EnableValidation: false },
      FullLoadSettings: { MaxFullLoadSubTasks: 16 },
      TargetMetadata: { BatchApplyEnabled: true },
    });
  });
});
