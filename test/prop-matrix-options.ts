import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ts from 'typescript';
import { MigrationPipeline, MigrationPipelineProps } from '../src';

const SRC = path.join(__dirname, '..', 'src');
const ON_PREMISES = { cidrs: ['192.168.0.0/16'] };

/** The props that need constructs of their own (a VPC, a secret, a principal) get them in a stack of the set's app. */
export type PropsFor = (scope: Stack) => MigrationPipelineProps;
const props = (value: MigrationPipelineProps): PropsFor => () => value;

/** A VPC with the subnets the pipeline needs, as a user would bring it. */
function existingVpc(scope: Stack, maxAzs = 2): ec2.IVpc {
  return new ec2.Vpc(scope, 'ExistingVpc', {
    ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'),
    maxAzs,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
      { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
  });
}

function ownSourceSecret(scope: Stack): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretNameV2(scope, 'OwnSourceSecret', 'corp/mysql-source');
}

/** Each option, by its path, flipped alone to a value other than its default. */
export const FLIPPED: Record<string, PropsFor> = {
  'environmentSuffix': props({ environmentSuffix: 'qa' }),
  'retainData': props({ retainData: true }),
  'removalPolicy': props({ removalPolicy: RemovalPolicy.SNAPSHOT }),
  'logRetention': props({ logRetention: logs.RetentionDays.TEN_YEARS }),
  'pipelineName': props({ pipelineName: 'sales-migration' }),
  'onPremisesNetwork.cidrs': props({ onPremisesNetwork: ON_PREMISES }),
  'onPremisesNetwork.fileSharePorts': props({ onPremisesNetwork: { ...ON_PREMISES, fileSharePorts: [2049, 111, 445, 139] } }),
  'alarms.cdcLatency': props({ alarms: { cdcLatency: Duration.minutes(2) } }),
  'alarms.cdcLatencyEvaluationPeriods': props({ alarms: { cdcLatencyEvaluationPeriods: 6 } }),
  'alarms.functionErrors': props({ alarms: { functionErrors: 5 } }),
  'alarms.deadLetterMessages': props({ alarms: { deadLetterMessages: 10 } }),
  'alarms.failedMigrations': props({ alarms: { failedMigrations: 2 } }),
  'alarms.glueFailedTasks': props({ alarms: { glueFailedTasks: 3 } }),
  'alarms.openSearchFreeStoragePercent': props({ alarms: { openSearchFreeStoragePercent: 10 } }),
  'network.vpc': (scope) => ({ network: { vpc: existingVpc(scope) } }),
  'network.cidr': props({ network: { cidr: '172.16.0.0/16' } }),
  'network.maxAzs': props({ network: { maxAzs: 3 } }),
  'network.availabilityZones': props({ network: { availabilityZones: ['us-west-2b', 'us-west-2c', 'us-west-2d'] } }),
  'network.natGateways': props({ network: { natGateways: 2 } }),
  'network.subnetCidrMask': props({ network: { subnetCidrMask: 26 } }),
  'network.flowLogRetention': props({ network: { flowLogRetention: logs.RetentionDays.THREE_MONTHS } }),
  'storage.noncurrentVersionExpiration': props({ storage: { noncurrentVersionExpiration: Duration.days(30) } }),
  'database.engineVersion': props({ database: { engineVersion: rds.AuroraMysqlEngineVersion.VER_3_10_0 } }),
  'database.instanceType': props({ database: { instanceType: ec2.InstanceType.of(ec2.InstanceClass.R7G, ec2.InstanceSize.XLARGE) } }),
  'database.readers': props({ database: { readers: 2 } }),
  'database.backupRetention': props({ database: { backupRetention: Duration.days(35) } }),
  'database.defaultDatabaseName': props({ database: { defaultDatabaseName: 'sales' } }),
  'database.masterUsername': props({ database: { masterUsername: 'admin_user' } }),
  'database.logRetention': props({ database: { logRetention: logs.RetentionDays.ONE_MONTH } }),
  'database.enableSecretRotation': props({ database: { enableSecretRotation: true } }),
  'glue.glueVersion': props({ glue: { glueVersion: '5.0' } }),
  'glue.timeout': props({ glue: { timeout: Duration.minutes(15) } }),
  'glue.maxRetries': props({ glue: { maxRetries: 0 } }),
  'glue.maxConcurrentRuns': props({ glue: { maxConcurrentRuns: 50 } }),
  'glue.jobRunQueuing': props({ glue: { jobRunQueuing: false } }),
  'glue.workerType': props({ glue: { workerType: 'G.2X' } }),
  'glue.numberOfWorkers': props({ glue: { numberOfWorkers: 10 } }),
  'glue.expectedColumns': props({ glue: { expectedColumns: ['id', 'name', 'amount'] } }),
  'glue.requiredColumns': props({ glue: { requiredColumns: ['id'] } }),
  'glue.uniqueKeyColumns': props({ glue: { uniqueKeyColumns: ['id'] } }),
  'glue.minRows': props({ glue: { minRows: 0 } }),
  'messaging.notificationEmail': props({ messaging: { notificationEmail: 'team@example.com' } }),
  'messaging.alarmEmail': props({ messaging: { alarmEmail: 'oncall@example.com' } }),
  'messaging.outcomeEmail': props({ messaging: { outcomeEmail: 'data@example.com' } }),
  'messaging.deadLetterRetention': props({ messaging: { deadLetterRetention: Duration.days(4) } }),
  'dms.replicationInstanceClass': props({ dms: { replicationInstanceClass: 'dms.r5.large' } }),
  'dms.allocatedStorage': props({ dms: { allocatedStorage: 200 } }),
  'dms.multiAz': props({ dms: { multiAz: true } }),
  'dms.sourceHostname': props({ dms: { sourceHostname: 'mysql.corp.internal' } }),
  'dms.sourcePort': props({ dms: { sourcePort: 3307 } }),
  'dms.sourceDatabaseName': props({ dms: { sourceDatabaseName: 'sales' } }),
  'dms.sourceSecret': (scope) => ({ dms: { sourceSecret: ownSourceSecret(scope) } }),
  'dms.sourceSslMode': props({ dms: { sourceSslMode: 'verify-full' } }),
  'dms.migrationType': props({ dms: { migrationType: 'full-load' } }),
  'dms.tableMappings': props({
    dms: {
      tableMappings: JSON.stringify({
        rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'sales', 'object-locator': { 'schema-name': 'sales', 'table-name': '%' }, 'rule-action': 'include' }],
      }),
    },
  }),
  'dms.enableDataValidation': props({ dms: { enableDataValidation: false } }),
  'dms.maxFullLoadSubTasks': props({ dms: { maxFullLoadSubTasks: 16 } }),
  // Batch apply cannot run with data validation, and is on by default without it: the flip is validation off, batch
  // apply off.
  'dms.batchApplyEnabled': props({ dms: { enableDataValidation: false, batchApplyEnabled: false } }),
  'dms.cdcStartPosition': props({ dms: { migrationType: 'cdc', cdcStartPosition: 'mysql-bin-changelog.000024:373' } }),
  'dms.replicationTaskSettings': props({ dms: { replicationTaskSettings: JSON.stringify({ Logging: { EnableLogging: true } }) } }),
  'functions.timeout': props({ functions: { timeout: Duration.minutes(5) } }),
  'functions.reservedConcurrency': props({ functions: { reservedConcurrency: 20 } }),
  'functions.logRetention': props({ functions: { logRetention: logs.RetentionDays.TWO_MONTHS } }),
  'functions.maxDmsResumes': props({ functions: { maxDmsResumes: 3 } }),
  'functions.maxRedrives': props({ functions: { maxRedrives: 3 } }),
  'orchestration.pollInterval': props({ orchestration: { pollInterval: Duration.minutes(2) } }),
  'orchestration.timeout': props({ orchestration: { timeout: Duration.hours(12) } }),
  'orchestration.logRetention': props({ orchestration: { logRetention: logs.RetentionDays.FOUR_MONTHS } }),
  'orchestration.premigrationAssessment': props({ orchestration: { premigrationAssessment: { enabled: false } } }),
  'orchestration.acceptTablesWithoutValidation': props({ orchestration: { acceptTablesWithoutValidation: true } }),
  'cutover.maxCdcLatency': props({ cutover: { maxCdcLatency: Duration.seconds(30) } }),
  'cutover.settledSamples': props({ cutover: { settledSamples: 12 } }),
  'cutover.settleTimeout': props({ cutover: { settleTimeout: Duration.hours(2) } }),
  'cutover.settleInterval': props({ cutover: { settleInterval: Duration.minutes(3) } }),
  'cutover.requireReconciledTables': props({ cutover: { requireReconciledTables: false } }),
  // The two go together (one alone fails at synth).
  'cutover.switchParameterName': props({ cutover: { switchParameterName: '/apps/orders/database-host', switchParameterValue: 'orders.cluster.example' } }),
  'cutover.switchParameterValue': props({ cutover: { switchParameterName: '/apps/orders/database-host', switchParameterValue: 'orders.cluster.example' } }),
  'dataSync.enabled': props({ dataSync: { enabled: false } }),
  'dataSync.instanceType': props({ dataSync: { instanceType: ec2.InstanceType.of(ec2.InstanceClass.M5, ec2.InstanceSize.XLARGE2) } }),
  'dataSync.amiId': props({ dataSync: { amiId: 'ami-0f508ba5fd9db6606' } }),
  'dataSync.activationInitialWait': props({ dataSync: { activationInitialWait: Duration.seconds(60) } }),
  'dataSync.activationRetryInterval': props({ dataSync: { activationRetryInterval: Duration.seconds(30) } }),
  'dataSync.activationMaxAttempts': props({ dataSync: { activationMaxAttempts: 5 } }),
  'logging.engineVersion': props({ logging: { engineVersion: opensearch.EngineVersion.OPENSEARCH_2_17 } }),
  'logging.dataNodeInstanceType': props({ logging: { dataNodeInstanceType: 'm6g.large.search' } }),
  'logging.dataNodes': props({ logging: { dataNodes: 2 } }),
  'logging.volumeSize': props({ logging: { volumeSize: 100 } }),
  'logging.adminPrincipal': (scope) => ({ logging: { adminPrincipal: new iam.ArnPrincipal(`arn:aws:iam::${scope.account}:role/audit-admin`) } }),
  'logging.indexName': props({ logging: { indexName: 'sales-audit' } }),
  'logging.logRetention': props({ logging: { logRetention: logs.RetentionDays.FIVE_MONTHS } }),
  'accountPrerequisites.createDmsRoles': props({ accountPrerequisites: { createDmsRoles: false } }),
  'accountPrerequisites.createOpenSearchServiceLinkedRole': props({ accountPrerequisites: { createOpenSearchServiceLinkedRole: false } }),
};

const THREE_ZONES = ['us-west-2a', 'us-west-2b', 'us-west-2c'];

/** The combinations the README documents. */
export const COMBINATIONS: Record<string, PropsFor> = {
  'production': props({
    environmentSuffix: 'prod',
    retainData: true,
    network: { availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 2 },
    messaging: { alarmEmail: 'oncall@example.com', outcomeEmail: 'data@example.com' },
    dms: { sourceHostname: 'mysql.corp.internal', sourcePort: 3306, multiAz: true },
    onPremisesNetwork: { cidrs: ['192.168.0.0/16', '172.20.0.0/20'] },
    logRetention: logs.RetentionDays.TEN_YEARS,
    alarms: { cdcLatency: Duration.minutes(5) },
    logging: { dataNodes: 2 },
  }),
  'bring-your-own VPC': (scope) => ({ network: { vpc: existingVpc(scope) }, onPremisesNetwork: ON_PREMISES }),
  'rotation': props({ environmentSuffix: 'prod', database: { enableSecretRotation: true, readers: 2 }, removalPolicy: RemovalPolicy.RETAIN }),
  'your own source secret': (scope) => ({ dms: { sourceSecret: ownSourceSecret(scope), sourcePort: 3307, sourceSslMode: 'verify-ca' }, onPremisesNetwork: ON_PREMISES }),
  'three zones': props({
    network: { availabilityZones: THREE_ZONES, natGateways: 3 },
    database: { readers: 2, enableSecretRotation: true },
    logging: { dataNodes: 2 },
  }),
  'three zones with your own VPC': (scope) => ({ network: { vpc: existingVpc(scope, 3) }, database: { readers: 2 } }),
  'DataSync off': props({ dataSync: { enabled: false }, removalPolicy: RemovalPolicy.SNAPSHOT, onPremisesNetwork: ON_PREMISES, messaging: { notificationEmail: 'team@example.com' } }),
};

/**
 * The option paths the props interfaces declare, with the text of their `@default` tag: each member of
 * MigrationPipelineProps, and for a member typed as another interface of the library (NetworkOptions,
 * AlarmThresholds, ...), each of that interface's members.
 */
export function declaredDefaults(): Map<string, string | undefined> {
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  for (const file of fs.readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(SRC, file), 'utf-8'), ts.ScriptTarget.Latest, true);
    source.forEachChild((node) => {
      if (ts.isInterfaceDeclaration(node)) {
        interfaces.set(node.name.text, node);
      }
    });
  }
  const membersOf = (name: string): ts.PropertySignature[] => {
    const declaration = interfaces.get(name)!;
    const inherited = (declaration.heritageClauses ?? []).flatMap((clause) => clause.types.map((t) => t.expression.getText()))
      .filter((parent) => interfaces.has(parent)).flatMap(membersOf);
    return [...inherited, ...declaration.members.filter(ts.isPropertySignature)];
  };
  const defaultOf = (member: ts.PropertySignature) => {
    const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
    return typeof tag?.comment === 'string' ? tag.comment.trim() : undefined;
  };
  return new Map(membersOf('MigrationPipelineProps').flatMap((member) => {
    const name = member.name.getText();
    const type = member.type && ts.isTypeReferenceNode(member.type) ? member.type.typeName.getText() : '';
    return interfaces.has(type)
      ? membersOf(type).map((nested) => [`${name}.${nested.name.getText()}`, defaultOf(nested)] as const)
      : [[name, defaultOf(member)] as const];
  }));
}

/** The option paths the props interfaces declare. */
export function declaredOptions(): string[] {
  return [...declaredDefaults().keys()];
}

/**
 * The value a `@default` tag names, when it is written as code (`8`, `'G.1X'`, `Duration.minutes(5)`,
 * `logs.RetentionDays.ONE_YEAR`, ...); undefined when it is prose (`- the defaults of ...`).
 */
export function documentedDefault(text: string | undefined): { value: unknown } | undefined {
  if (text === undefined || text.startsWith('-')) {
    return undefined;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const value = new Function('Duration', 'RemovalPolicy', 'logs', 'ec2', 'rds', 'opensearch', `return (${text});`)(
      Duration, RemovalPolicy, logs, ec2, rds, opensearch);
    return { value };
  } catch {
    return undefined;
  }
}

/** A value as text that two equal option values share (durations by their length, instance types by name). */
export function comparable(value: unknown): string {
  if (value instanceof Duration) {
    return `${value.toSeconds()} s`;
  }
  if (value instanceof ec2.InstanceType) {
    return value.toString();
  }
  return JSON.stringify(value);
}

export function valueAt(value: any, optionPath: string): unknown {
  return optionPath.split('.').reduce((v, key) => v?.[key], value);
}


const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** Several options' props as one: nested option structs are merged member by member; anything else is replaced. */
export function mergeProps(...parts: MigrationPipelineProps[]): MigrationPipelineProps {
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const merged = { ...a };
    for (const [key, value] of Object.entries(b)) {
      merged[key] = isPlainObject(merged[key]) && isPlainObject(value) ? merge(merged[key] as Record<string, unknown>, value) : value;
    }
    return merged;
  };
  return parts.reduce((all, part) => merge(all as Record<string, unknown>, part as Record<string, unknown>), {}) as MigrationPipelineProps;
}

/** The props of a set of flipped options, together. */
export function flipped(options: readonly string[]): PropsFor {
  return (scope) => mergeProps(...options.map((option) => FLIPPED[option](scope)));
}

/**
 * Pairs of options that cannot be set together: the library refuses them at synthesis (the matrix test checks that
 * it still does, naming both), so no set flips both.
 */
export const EXCLUSIVE: ReadonlyArray<readonly [string, string]> = [
  ['retainData', 'removalPolicy'],
  ...['network.cidr', 'network.maxAzs', 'network.availabilityZones', 'network.natGateways', 'network.subnetCidrMask', 'network.flowLogRetention']
    .map((setting) => ['network.vpc', setting] as const),
  ['dms.sourceSecret', 'dms.sourceHostname'],
  ['dms.sourceSecret', 'dms.sourceDatabaseName'],
  // A CDC start position needs a cdc task, and the migrationType flip is a full load.
  ['dms.cdcStartPosition', 'dms.migrationType'],
];

const DATASYNC_SETTINGS = ['dataSync.instanceType', 'dataSync.amiId', 'dataSync.activationInitialWait', 'dataSync.activationRetryInterval',
  'dataSync.activationMaxAttempts', 'onPremisesNetwork.fileSharePorts'];
const DMS_TASK_SETTINGS = ['dms.enableDataValidation', 'dms.maxFullLoadSubTasks', 'dms.batchApplyEnabled'];
const CUTOVER_SETTLE_SETTINGS = ['cutover.maxCdcLatency', 'cutover.settledSamples', 'cutover.settleTimeout', 'cutover.settleInterval'];

/**
 * Flips that other flips take away, as documented: an option is masked in a set that flips every option of one of
 * its groups.
 */
export const MASKED_WHEN: Record<string, ReadonlyArray<readonly string[]>> = {
  // With `dataSync.enabled: false` there is no agent, so its settings have nothing to show in.
  ...Object.fromEntries(DATASYNC_SETTINGS.map((option) => [option, [['dataSync.enabled']]])),
  // Given task settings replace the validation, parallel-load and batch-apply settings (DmsOptions).
  ...Object.fromEntries(DMS_TASK_SETTINGS.map((option) => [option, [['dms.replicationTaskSettings']]])),
  // A full-load task has no CDC: its cutover does not wait for CDC to settle (CutoverOptions).
  ...Object.fromEntries(CUTOVER_SETTLE_SETTINGS.map((option) => [option, [['dms.migrationType']]])),
  // Named zones decide the VPC's zones; maxAzs then only has to fit them.
  'network.maxAzs': [['network.availabilityZones']],
  // The alert topic's e-mail defaults to notificationEmail, and so does the validation topic's.
  'messaging.notificationEmail': [['messaging.alarmEmail', 'messaging.outcomeEmail']],
};

/** Whether a flip of the option is masked in a set of flipped options. */
export function masked(option: string, options: readonly string[]): boolean {
  return (MASKED_WHEN[option] ?? []).some((group) => group.every((other) => options.includes(other)));
}

/**
 * What each flip puts into the templates: resources of the type that match (`properties`: a subset of the resource,
 * a property holding JSON compared as that JSON, undefined for a property that must be absent; `text`: a string in
 * the resource, state machine definitions included), more of them than the default pipeline has (or fewer, with `fewer`). Each value is the flip's own, so
 * a set that flips many options still tells which flip showed.
 */
export interface Shows {
  readonly type: string;
  readonly properties?: Record<string, unknown>;
  readonly text?: string;
  readonly fewer?: true;
  /** Another mark that counts as well, where a second flip changes this flip's value. */
  readonly or?: Shows;
}

const logGroup = (days: number): Shows => ({ type: 'AWS::Logs::LogGroup', properties: { Properties: { RetentionInDays: days } } });
const alarm = (threshold: number): Shows => ({ type: 'AWS::CloudWatch::Alarm', properties: { Properties: { Threshold: threshold } } });
const glueJob = (properties: Record<string, unknown>): Shows => ({ type: 'AWS::Glue::Job', properties: { Properties: properties } });
const taskSettings = (settings: Record<string, unknown>): Shows => ({ type: 'AWS::DMS::ReplicationTask', properties: { Properties: { ReplicationTaskSettings: settings } } });
const ofType = (type: string, properties: Record<string, unknown>): Shows => ({ type, properties: { Properties: properties } });
const NO_PREREQUISITES: Shows = { type: 'Custom::MigrationAccountPrerequisites', fewer: true };

export const SHOWS: Record<string, Shows> = {
  'environmentSuffix': ofType('AWS::DMS::ReplicationInstance', { ReplicationInstanceIdentifier: 'migration-instance-qa' }),
  'retainData': { type: 'AWS::SQS::Queue', properties: { DeletionPolicy: 'Retain' } },
  'removalPolicy': { type: 'AWS::RDS::DBCluster', properties: { DeletionPolicy: 'Snapshot' } },
  'logRetention': logGroup(3653),
  'pipelineName': { type: 'AWS::Lambda::Function', properties: { Properties: { Environment: { Variables: { PIPELINE_NAME: 'sales-migration' } } } } },
  'onPremisesNetwork.cidrs': { type: 'AWS::EC2::SecurityGroup', text: '192.168.0.0/16' },
  'onPremisesNetwork.fileSharePorts': { type: 'AWS::EC2::SecurityGroup', text: 'On-premises file shares (TCP 111)' },
  'alarms.cdcLatency': alarm(120),
  'alarms.cdcLatencyEvaluationPeriods': ofType('AWS::CloudWatch::Alarm', { EvaluationPeriods: 6 }),
  'alarms.functionErrors': alarm(5),
  'alarms.deadLetterMessages': alarm(10),
  'alarms.failedMigrations': alarm(2),
  'alarms.glueFailedTasks': alarm(3),
  // 10% of the domain's volume: 20 GiB by default, 100 GiB where logging.volumeSize is flipped too.
  'alarms.openSearchFreeStoragePercent': { ...alarm(2048), or: alarm(10240) },
  'network.vpc': { type: 'AWS::RDS::DBSubnetGroup', text: 'ExistingVpcIsolatedSubnet' },
  'network.cidr': ofType('AWS::EC2::VPC', { CidrBlock: '172.16.0.0/16' }),
  'network.maxAzs': ofType('AWS::EC2::Subnet', { AvailabilityZone: 'us-west-2c' }),
  'network.availabilityZones': ofType('AWS::EC2::Subnet', { AvailabilityZone: 'us-west-2d' }),
  'network.natGateways': { type: 'AWS::EC2::NatGateway' },
  'network.subnetCidrMask': { type: 'AWS::EC2::Subnet', text: '/26' },
  'network.flowLogRetention': logGroup(90),
  'storage.noncurrentVersionExpiration': ofType('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [{ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] } }),
  'database.engineVersion': ofType('AWS::RDS::DBCluster', { EngineVersion: '8.0.mysql_aurora.3.10.0' }),
  'database.instanceType': ofType('AWS::RDS::DBInstance', { DBInstanceClass: 'db.r7g.xlarge' }),
  'database.readers': { type: 'AWS::RDS::DBInstance' },
  'database.backupRetention': ofType('AWS::RDS::DBCluster', { BackupRetentionPeriod: 35 }),
  'database.defaultDatabaseName': ofType('AWS::RDS::DBCluster', { DatabaseName: 'sales' }),
  'database.masterUsername': { type: 'AWS::SecretsManager::Secret', text: 'admin_user' },
  'database.logRetention': logGroup(30),
  'database.enableSecretRotation': { type: 'AWS::SecretsManager::RotationSchedule' },
  'glue.glueVersion': glueJob({ GlueVersion: '5.0' }),
  'glue.timeout': glueJob({ Timeout: 15 }),
  'glue.maxRetries': glueJob({ MaxRetries: 0 }),
  'glue.maxConcurrentRuns': glueJob({ ExecutionProperty: { MaxConcurrentRuns: 50 } }),
  'glue.jobRunQueuing': glueJob({ JobRunQueuingEnabled: false }),
  'glue.workerType': glueJob({ WorkerType: 'G.2X' }),
  'glue.numberOfWorkers': glueJob({ NumberOfWorkers: 10 }),
  'glue.expectedColumns': glueJob({ DefaultArguments: { '--expected_columns': 'id,name,amount' } }),
  'glue.requiredColumns': glueJob({ DefaultArguments: { '--required_columns': 'id' } }),
  'glue.uniqueKeyColumns': glueJob({ DefaultArguments: { '--unique_key_columns': 'id' } }),
  'glue.minRows': glueJob({ DefaultArguments: { '--min_rows': '0' } }),
  'messaging.notificationEmail': ofType('AWS::SNS::Subscription', { Endpoint: 'team@example.com' }),
  'messaging.alarmEmail': ofType('AWS::SNS::Subscription', { Endpoint: 'oncall@example.com' }),
  'messaging.outcomeEmail': ofType('AWS::SNS::Subscription', { Endpoint: 'data@example.com' }),
  'messaging.deadLetterRetention': ofType('AWS::SQS::Queue', { MessageRetentionPeriod: 345600 }),
  'dms.replicationInstanceClass': ofType('AWS::DMS::ReplicationInstance', { ReplicationInstanceClass: 'dms.r5.large' }),
  'dms.allocatedStorage': ofType('AWS::DMS::ReplicationInstance', { AllocatedStorage: 200 }),
  'dms.multiAz': ofType('AWS::DMS::ReplicationInstance', { MultiAZ: true }),
  'dms.sourceHostname': { type: 'AWS::SecretsManager::Secret', text: 'mysql.corp.internal' },
  'dms.sourcePort': { type: 'AWS::EC2::SecurityGroup', properties: { Properties: { SecurityGroupEgress: [{ FromPort: 3307, ToPort: 3307 }] } } },
  'dms.sourceDatabaseName': { type: 'AWS::SecretsManager::Secret', text: '"dbname":"sales"' },
  'dms.sourceSecret': { type: 'AWS::DMS::Endpoint', text: ':secret:corp/mysql-source' },
  'dms.sourceSslMode': ofType('AWS::DMS::Endpoint', { SslMode: 'verify-full' }),
  'dms.migrationType': ofType('AWS::DMS::ReplicationTask', { MigrationType: 'full-load' }),
  'dms.tableMappings': ofType('AWS::DMS::ReplicationTask', { TableMappings: { rules: [{ 'rule-name': 'sales' }] } }),
  'dms.enableDataValidation': taskSettings({ ValidationSettings: { EnableValidation: false } }),
  'dms.maxFullLoadSubTasks': taskSettings({ FullLoadSettings: { MaxFullLoadSubTasks: 16 } }),
  'dms.batchApplyEnabled': taskSettings({ ValidationSettings: { EnableValidation: false }, TargetMetadata: { BatchApplyEnabled: false } }),
  'dms.cdcStartPosition': ofType('AWS::DMS::ReplicationTask', { CdcStartPosition: 'mysql-bin-changelog.000024:373' }),
  'dms.replicationTaskSettings': taskSettings({ Logging: { EnableLogging: true }, ValidationSettings: undefined }),
  'functions.timeout': ofType('AWS::Lambda::Function', { Timeout: 300 }),
  'functions.reservedConcurrency': ofType('AWS::Lambda::Function', { ReservedConcurrentExecutions: 20 }),
  'functions.logRetention': logGroup(60),
  'functions.maxDmsResumes': ofType('AWS::Lambda::Function', { Environment: { Variables: { MAX_DMS_RESUMES: '3' } } }),
  'functions.maxRedrives': ofType('AWS::Lambda::Function', { Environment: { Variables: { MAX_REDRIVES: '3' } } }),
  'orchestration.pollInterval': { type: 'AWS::StepFunctions::StateMachine', text: '"Type":"Wait","Seconds":120' },
  'orchestration.timeout': { type: 'AWS::StepFunctions::StateMachine', text: '"TimeoutSeconds":43200' },
  'orchestration.logRetention': logGroup(120),
  // Off, the first start no longer waits for an assessment run: the definition names no assessment call.
  'orchestration.premigrationAssessment': { type: 'AWS::StepFunctions::StateMachine', text: 'startReplicationTaskAssessmentRun', fewer: true },
  'orchestration.acceptTablesWithoutValidation': ofType('AWS::Lambda::Function', { Environment: { Variables: { ACCEPT_TABLES_WITHOUT_VALIDATION: 'true' } } }),
  'cutover.maxCdcLatency': { type: 'AWS::StepFunctions::StateMachine', text: '"thresholdSeconds":30' },
  'cutover.settledSamples': { type: 'AWS::StepFunctions::StateMachine', text: '"samples":12' },
  'cutover.settleTimeout': { type: 'AWS::StepFunctions::StateMachine', text: 'CDC did not settle within 2 hours' },
  'cutover.settleInterval': { type: 'AWS::StepFunctions::StateMachine', text: '"Type":"Wait","Seconds":180' },
  'cutover.requireReconciledTables': { type: 'AWS::StepFunctions::StateMachine', text: '"requireEquality":false' },
  'cutover.switchParameterName': { type: 'AWS::IAM::Policy', text: ':parameter/apps/orders/database-host' },
  'cutover.switchParameterValue': { type: 'AWS::StepFunctions::StateMachine', text: '"Value":"orders.cluster.example"' },
  'dataSync.enabled': { type: 'AWS::EC2::Instance', fewer: true },
  'dataSync.instanceType': ofType('AWS::EC2::Instance', { InstanceType: 'm5.2xlarge' }),
  'dataSync.amiId': ofType('AWS::EC2::Instance', { ImageId: 'ami-0f508ba5fd9db6606' }),
  'dataSync.activationInitialWait': { type: 'Custom::DataSyncAgentActivation', properties: { Properties: { InitialWaitSeconds: '60' } } },
  'dataSync.activationRetryInterval': { type: 'Custom::DataSyncAgentActivation', properties: { Properties: { RetryIntervalSeconds: '30' } } },
  'dataSync.activationMaxAttempts': { type: 'Custom::DataSyncAgentActivation', properties: { Properties: { MaxAttempts: '5' } } },
  'logging.engineVersion': ofType('AWS::OpenSearchService::Domain', { EngineVersion: 'OpenSearch_2.17' }),
  'logging.dataNodeInstanceType': ofType('AWS::OpenSearchService::Domain', { ClusterConfig: { InstanceType: 'm6g.large.search' } }),
  'logging.dataNodes': ofType('AWS::OpenSearchService::Domain', { ClusterConfig: { InstanceCount: 2 } }),
  'logging.volumeSize': ofType('AWS::OpenSearchService::Domain', { EBSOptions: { VolumeSize: 100 } }),
  'logging.adminPrincipal': { type: 'AWS::OpenSearchService::Domain', text: ':role/audit-admin' },
  'logging.indexName': { type: 'AWS::KinesisFirehose::DeliveryStream', text: 'sales-audit' },
  'logging.logRetention': logGroup(150),
  // With both off, there is nothing left to create: the custom resource goes.
  'accountPrerequisites.createDmsRoles': { ...ofType('Custom::MigrationAccountPrerequisites', { CreateDmsRoles: 'false' }), or: NO_PREREQUISITES },
  'accountPrerequisites.createOpenSearchServiceLinkedRole': {
    ...ofType('Custom::MigrationAccountPrerequisites', { CreateOpenSearchServiceLinkedRole: 'false' }), or: NO_PREREQUISITES,
  },
};

const PYTHON = path.join(__dirname, '..', '.venv', 'bin', 'python');
// A concrete account, with the zones a lookup would return: an account-agnostic stack sees two zones whatever
// network.maxAzs says, so that flip would show nothing.
const ACCOUNT = '123456789012';
const ENV = { account: ACCOUNT, region: 'us-west-2' };
const ZONES_CONTEXT = { [`availability-zones:account=${ACCOUNT}:region=us-west-2`]: ['us-west-2a', 'us-west-2b', 'us-west-2c', 'us-west-2d'] };

export type Templates = Record<string, any>;

/** The templates of one pipeline (file name -> template), synthesized into a new folder under outdir. */
export function synthesize(propsFor: PropsFor, outdir: string): Templates {
  const dir = fs.mkdtempSync(path.join(outdir, 'set-'));
  // Version reporting adds AWS::CDK::Metadata, as `cdk synth` does; cfn-lint then knows the templates are CDK's.
  // Assets are not copied into the assembly: only the templates are read.
  const app = new App({ outdir: dir, analyticsReporting: true, context: { 'aws:cdk:disable-asset-staging': true, ...ZONES_CONTEXT } });
  const stack = new Stack(app, 'Matrix', { env: ENV });
  const shared = new Stack(app, 'Shared', { env: ENV });
  new MigrationPipeline(stack, 'Pipeline', propsFor(shared));
  if (shared.node.children.length === 0) {
    app.node.tryRemoveChild(shared.node.id);
  }
  try {
    const assembly = app.synth();
    return Object.fromEntries(fs.readdirSync(assembly.directory).filter((f) => f.endsWith('.template.json'))
      .map((file) => [file, JSON.parse(fs.readFileSync(path.join(assembly.directory, file), 'utf-8'))]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every string in a value, the parts of `Fn::Join`s included. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') {
    return [value];
  }
  if (Array.isArray(value)) {
    return value.flatMap(stringsIn);
  }
  return value && typeof value === 'object' ? Object.values(value).flatMap(stringsIn) : [];
}

/** Whether actual has what expected names: objects by their members, a JSON string as its JSON, undefined as absent. */
function matches(actual: unknown, expected: unknown): boolean {
  if (expected === undefined) {
    return actual === undefined;
  }
  if (typeof actual === 'string' && typeof expected === 'object' && expected !== null) {
    try {
      return matches(JSON.parse(actual), expected);
    } catch {
      return false;
    }
  }
  if (Array.isArray(expected)) {
    // Each expected element matches some element of the actual array.
    return Array.isArray(actual) && expected.every((e) => actual.some((a) => matches(a, e)));
  }
  if (typeof expected === 'object' && expected !== null) {
    return typeof actual === 'object' && actual !== null && Object.entries(expected).every(([key, value]) => matches((actual as any)[key], value));
  }
  return actual === expected;
}

/** How many resources of the templates bear the mark. */
function marks(templates: Templates, shows: Shows): number {
  return Object.values(templates).flatMap((template) => Object.values(template.Resources ?? {}) as any[])
    .filter((resource) => resource.Type === shows.type)
    .filter((resource) => shows.properties === undefined || matches(resource, shows.properties))
    .filter((resource) => shows.text === undefined || stringsIn(resource).some((s) => s.includes(shows.text!)))
    .length;
}

/** Whether the templates bear the flip's mark where the default pipeline does not. */
export function showsFlip(templates: Templates, defaults: Templates, shows: Shows): boolean {
  const differs = (mark: Shows) => mark.fewer ? marks(templates, mark) < marks(defaults, mark) : marks(templates, mark) > marks(defaults, mark);
  return differs(shows) || (shows.or !== undefined && showsFlip(templates, defaults, shows.or));
}

export interface LintFinding {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Filename: string;
}

/** cfn-lint's findings over template files, in one process. */
export function lint(files: string[]): LintFinding[] {
  const run = spawnSync(PYTHON, ['-c', 'import sys; from cfnlint.runner import main; sys.exit(main())', '--format', 'json', ...files],
    { encoding: 'utf-8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error || !run.stdout.trim().startsWith('[')) {
    throw new Error(`cfn-lint did not run: ${run.error ?? run.stderr}`);
  }
  return JSON.parse(run.stdout) as LintFinding[];
}

/** The findings of cfn-lint over one set's templates. */
export function lintSet(templates: Templates, outdir: string): LintFinding[] {
  const dir = fs.mkdtempSync(path.join(outdir, 'lint-'));
  try {
    return lint(Object.entries(templates).map(([file, template]) => {
      fs.writeFileSync(path.join(dir, file), JSON.stringify(template));
      return path.join(dir, file);
    }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

