import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { acknowledge, acknowledgeAll } from './private/acknowledgements';
import { DmsTaskStopGuard } from './private/dms-task-guard';
import { createTaskLeaseTable } from './private/task-lease';
import { reportError, requireIntegerInRange, requireOneOf } from './private/validation';

/** Settings of the DMS replication. */
export interface DmsOptions {
  /**
   * The replication instance class, `dms.<family>.<size>` in a family and size DMS offers (T2 and T3 from micro to large;
   * C4, C5, C6i, R4, R5 and R6i from large up, e.g. 'dms.r5.2xlarge').
   * @default 'dms.t3.medium'
   */
  readonly replicationInstanceClass?: string;

  /**
   * Storage of the replication instance, in GiB.
   * @default 50
   */
  readonly allocatedStorage?: number;

  /**
   * Runs the replication instance in two AZs.
   * @default - true when the pipeline's environment suffix is 'prod', false otherwise
   */
  readonly multiAz?: boolean;

  /**
   * The on-premises MySQL host name, written into the source secret the construct creates. Cannot be combined with
   * `sourceSecret`: DMS reads the host from that secret, so put it there.
   * @default 'on-premise-db.example.com'
   */
  readonly sourceHostname?: string;

  /**
   * The on-premises MySQL port.
   * @default 3306
   */
  readonly sourcePort?: number;

  /**
   * The source database name, written into the source secret the construct creates (MySQL endpoints migrate every
   * schema the mappings select). Cannot be combined with `sourceSecret`.
   * @default - none
   */
  readonly sourceDatabaseName?: string;

  /**
   * An existing secret with the source's `username`, `password`, `host` and `port`. DMS reads the connection from it,
   * so `sourceHostname` and `sourceDatabaseName` are refused with it; `sourcePort` still opens the security group and
   * must match the secret's port.
   * @default - a secret is created with the host and port above, user `migration_user` and a generated placeholder password to replace
   */
  readonly sourceSecret?: secretsmanager.ISecret;

  /**
   * How DMS connects to the source: 'none', 'require', 'verify-ca' or 'verify-full'.
   * @default 'require'
   */
  readonly sourceSslMode?: string;

  /**
   * The migration type of the task.
   * @default 'full-load-and-cdc'
   */
  readonly migrationType?: string;

  /**
   * Where a 'cdc' task starts reading the source's changes (the task's CdcStartPosition), for a target you loaded
   * yourself: the binary log position your copy was taken at, as `<binlog file>:<position>` (from `SHOW MASTER STATUS`
   * or the `CHANGE MASTER TO` line of `mysqldump --master-data=2`, e.g. 'mysql-bin-changelog.000024:373'), a DMS
   * checkpoint ('checkpoint:V1#...', from a stopped task's `CdcRecoveryCheckpoint`), or a UTC time
   * 'YYYY-MM-DDTHH:MM:SS'. Only with `migrationType` 'cdc': the other types start capturing when their full load
   * starts. See "Performing replication starting from a CDC start point", AWS DMS User Guide.
   * @default - DMS starts at the source's current position when the task first starts, so changes made between your
   * load and that start are not replicated
   */
  readonly cdcStartPosition?: string;

  /**
   * The task's table mappings as a JSON string.
   * @default - every user schema and table; `mysql`, `sys`, `performance_schema` and `information_schema` excluded
   */
  readonly tableMappings?: string;

  /**
   * Validates the migrated rows against the source (AWS DMS data validation).
   * @default true
   */
  readonly enableDataValidation?: boolean;

  /**
   * How many tables the full load copies in parallel.
   * @default 8
   */
  readonly maxFullLoadSubTasks?: number;

  /**
   * Applies CDC changes in batches, which is faster but cannot run together with data validation.
   * @default - true when data validation is off, false otherwise
   */
  readonly batchApplyEnabled?: boolean;

  /**
   * The task's settings as a JSON string, replacing every setting above.
   * @default - CloudWatch logging on, and the validation, parallel-load and batch-apply settings above
   */
  readonly replicationTaskSettings?: string;
}

/** Props of {@link DmsReplication}. */
export interface DmsReplicationProps extends DmsOptions {
  /** The VPC; the replication instance runs in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The replication instance's security group. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The Aurora cluster's security group, opened on 3306 to the replication instance. */
  readonly targetSecurityGroup: ec2.ISecurityGroup;
  /** The Aurora master secret (username, password, host, port), read by DMS through a role. */
  readonly targetSecret: secretsmanager.ISecret;
  /**
   * The on-premises ranges the source database may be in: DMS reaches the source port in these ranges only.
   * @default - any IPv4 address on the source port (the source's address is known only at run time, from the secret)
   */
  readonly sourceCidrs?: string[];
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * What happens to the source secret when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long the logs of the function that stops the task before updates are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The customer-managed key that encrypts the log group of the function that stops the task before updates.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

const MIGRATION_TYPES = ['full-load', 'cdc', 'full-load-and-cdc'];
/**
 * The statement DMS runs after it connects to the target (MySqlSettings.AfterConnectScript, DMS User Guide "Using a
 * MySQL-compatible database as a target"). Only DMS's own sessions are affected; the source's foreign keys still
 * hold for the rows it sends, and the target's constraints stay defined and enforced for every other session.
 */
const TARGET_SESSION_STATEMENT = 'SET FOREIGN_KEY_CHECKS = 0';
/**
 * The replication instance classes DMS offers, by family: "Choosing the right AWS DMS replication instance for your
 * migration", AWS DMS User Guide (its table of supported instance classes; DMS supports the T2, T3, C4, C5, C6i, R4,
 * R5 and R6i families, each in the sizes listed there and no others: there is no dms.r5.micro nor dms.t3.xlarge).
 */
const DMS_INSTANCE_SIZES: Record<string, readonly string[]> = {
  t2: ['micro', 'small', 'medium', 'large'],
  t3: ['micro', 'small', 'medium', 'large'],
  c4: ['large', 'xlarge', '2xlarge', '4xlarge'],
  c5: ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge'],
  c6i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge'],
  r4: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'],
  r5: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'],
  r6i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge'],
};
const SSL_MODES = ['none', 'require', 'verify-ca', 'verify-full'];
const SYSTEM_SCHEMAS = ['mysql', 'sys', 'performance_schema', 'information_schema'];

/**
 * The DMS replication instance in private subnets, the MySQL source and Aurora target endpoints
 * (credentials from Secrets Manager, never in the template), and the replication task.
 */
export class DmsReplication extends Construct {
  /** The replication task (started by the orchestration state machine). */
  public readonly replicationTask: dms.CfnReplicationTask;
  /** The replication instance. */
  public readonly replicationInstance: dms.CfnReplicationInstance;
  /** The on-premises source endpoint. */
  public readonly sourceEndpoint: dms.CfnEndpoint;
  /** The Aurora target endpoint. */
  public readonly targetEndpoint: dms.CfnEndpoint;
  /** The secret holding the source's connection details; fill in the real ones before the first run. */
  public readonly sourceSecret: secretsmanager.ISecret;
  /** Whether `sourceSecret` was given by the user (true) or created with placeholder credentials (false). */
  public readonly sourceSecretProvided: boolean;
  /** The role DMS assumes to read the endpoint secrets. */
  public readonly secretsAccessRole: iam.IRole;
  /** The task's migration type. */
  public readonly migrationType: string;
  /** The replication instance's identifier (a CloudWatch dimension). */
  public readonly replicationInstanceIdentifier: string;
  /** The replication task's friendly identifier (CloudWatch task metrics use its resource id, the last part of its ARN). */
  public readonly replicationTaskIdentifier: string;
  /**
   * The replication task's ARN, `arn:<partition>:dms:<region>:<account>:task:<resource id>` (the task's `Ref`;
   * DMS chooses the resource id, so the ARN is known only after creation).
   */
  public readonly replicationTaskArn: string;
  /**
   * The task's lease: who may act on the task now (a migration run, the stop guard during a deployment, or
   * remediation). Every actor takes it with a conditional write before it starts or stops the task.
   */
  public readonly taskLease: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: DmsReplicationProps) {
    super(scope, id);
    const instanceClass = props.replicationInstanceClass ?? 'dms.t3.medium';
    const allocatedStorage = props.allocatedStorage ?? 50;
    const sourcePort = props.sourcePort ?? 3306;
    const sourceSslMode = props.sourceSslMode ?? 'require';
    this.migrationType = props.migrationType ?? 'full-load-and-cdc';
    requireDmsInstanceClass(this, instanceClass);
    requireIntegerInRange(this, 'dms.allocatedStorage', allocatedStorage, 5, 6144);
    requireIntegerInRange(this, 'dms.sourcePort', sourcePort, 1, 65535);
    requireOneOf(this, 'dms.migrationType', this.migrationType, MIGRATION_TYPES);
    requireCdcStartPosition(this, props.cdcStartPosition, this.migrationType);
    requireOneOf(this, 'dms.sourceSslMode', sourceSslMode, SSL_MODES);
    requireValidJson(this, 'dms.tableMappings', props.tableMappings);
    requireNoSecretConflict(this, props);
    requireValidJson(this, 'dms.replicationTaskSettings', props.replicationTaskSettings);
    const enableDataValidation = props.enableDataValidation ?? true;
    const maxFullLoadSubTasks = props.maxFullLoadSubTasks ?? 8;
    const batchApplyEnabled = props.batchApplyEnabled ?? !enableDataValidation;
    requireIntegerInRange(this, 'dms.maxFullLoadSubTasks', maxFullLoadSubTasks, 1, 49);
    if (enableDataValidation && batchApplyEnabled) {
      reportError(this, 'dms.batchApplyEnabled: received true with enableDataValidation true; expected one of them off, because DMS data validation needs row-by-row apply.');
    }

    const suffix = props.environmentSuffix;
    const stack = Stack.of(this);
    this.replicationInstanceIdentifier = `migration-instance-${suffix}`;
    this.replicationTaskIdentifier = `migration-task-${suffix}`;

    // DMS reaches Aurora on 3306, the on-premises source on its port (in the on-premises ranges when they are given;
    // otherwise anywhere, because its address is only known at run time, from the secret) and AWS APIs on 443.
    props.securityGroup.connections.allowTo(props.targetSecurityGroup, ec2.Port.tcp(3306), 'DMS replication to Aurora');
    for (const peer of props.sourceCidrs ? props.sourceCidrs.map((cidr) => ec2.Peer.ipv4(cidr)) : [ec2.Peer.anyIpv4()]) {
      props.securityGroup.addEgressRule(peer, ec2.Port.tcp(sourcePort), 'DMS to the on-premises MySQL source');
    }
    props.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'DMS to AWS APIs (Secrets Manager)');

    this.sourceSecretProvided = props.sourceSecret !== undefined;
    this.sourceSecret = props.sourceSecret ?? new secretsmanager.Secret(this, 'SourceSecret', {
      secretName: `migration-source-${suffix}`,
      description: 'On-premises MySQL source of the migration: replace username and password with real values',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({
          username: 'migration_user',
          host: props.sourceHostname ?? 'on-premise-db.example.com',
          port: sourcePort,
          ...(props.sourceDatabaseName ? { dbname: props.sourceDatabaseName } : {}),
        }),
        generateStringKey: 'password',
        excludePunctuation: true,
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    // DMS reads endpoint secrets through a role that its regional service principal assumes.
    this.secretsAccessRole = new iam.Role(this, 'SecretsAccessRole', {
      assumedBy: new iam.ServicePrincipal(`dms.${stack.region}.amazonaws.com`, {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Lets DMS read the source and target endpoint secrets',
    });
    this.sourceSecret.grantRead(this.secretsAccessRole);
    props.targetSecret.grantRead(this.secretsAccessRole);

    const subnetGroup = new dms.CfnReplicationSubnetGroup(this, 'SubnetGroup', {
      replicationSubnetGroupIdentifier: `migration-subnets-${suffix}`,
      replicationSubnetGroupDescription: 'Private subnets of the migration replication instance',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
    });

    const instanceProps: dms.CfnReplicationInstanceProps = {
      replicationInstanceIdentifier: this.replicationInstanceIdentifier,
      replicationInstanceClass: instanceClass,
      allocatedStorage,
      multiAz: props.multiAz ?? false,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      replicationSubnetGroupIdentifier: subnetGroup.ref,
      vpcSecurityGroupIds: [props.securityGroup.securityGroupId],
    };
    this.replicationInstance = new dms.CfnReplicationInstance(this, 'ReplicationInstance', instanceProps);

    const sourceEndpointProps: dms.CfnEndpointProps = {
      endpointIdentifier: `migration-source-${suffix}`,
      endpointType: 'source',
      engineName: 'mysql',
      sslMode: sourceSslMode,
      mySqlSettings: {
        secretsManagerSecretId: this.sourceSecret.secretArn,
        secretsManagerAccessRoleArn: this.secretsAccessRole.roleArn,
      },
    };
    this.sourceEndpoint = new dms.CfnEndpoint(this, 'SourceEndpoint', sourceEndpointProps);

    const targetEndpointProps: dms.CfnEndpointProps = {
      endpointIdentifier: `migration-target-${suffix}`,
      endpointType: 'target',
      engineName: 'aurora',
      // Aurora enforces TLS (require_secure_transport), so the target connection is encrypted.
      sslMode: 'require',
      mySqlSettings: {
        secretsManagerSecretId: props.targetSecret.secretArn,
        secretsManagerAccessRoleArn: this.secretsAccessRole.roleArn,
        // DMS's sessions on the target run without foreign-key checks: a full load truncates (TRUNCATE_BEFORE_LOAD) and
        // loads tables in its own order, and MySQL refuses to truncate a table another table references, or to insert
        // a child row before its parent (test/python/test_target_session.py shows both on a real server).
        afterConnectScript: TARGET_SESSION_STATEMENT,
      },
    };
    this.targetEndpoint = new dms.CfnEndpoint(this, 'TargetEndpoint', targetEndpointProps);
    // The endpoints test their connection with the role's permissions as soon as they exist.
    for (const endpoint of [this.sourceEndpoint, this.targetEndpoint]) {
      endpoint.node.addDependency(this.secretsAccessRole);
    }

    this.acknowledgeFindings();

    // The task's own settings; the instance and endpoint ARNs follow from the resources above.
    const taskSettings = {
      replicationTaskIdentifier: this.replicationTaskIdentifier,
      migrationType: this.migrationType,
      tableMappings: props.tableMappings ?? defaultTableMappings(),
      cdcStartPosition: props.cdcStartPosition,
      replicationTaskSettings: props.replicationTaskSettings
        ?? defaultTaskSettings(enableDataValidation, maxFullLoadSubTasks, batchApplyEnabled, this.migrationType),
    };
    this.replicationTask = new dms.CfnReplicationTask(this, 'ReplicationTask', {
      ...taskSettings,
      replicationInstanceArn: this.replicationInstance.ref,
      sourceEndpointArn: this.sourceEndpoint.ref,
      targetEndpointArn: this.targetEndpoint.ref,
    });
    this.replicationTaskArn = this.replicationTask.ref;

    this.taskLease = createTaskLeaseTable(this, 'TaskLease');
    // DMS refuses to modify or delete a running task (and a full-load-and-cdc task runs until stopped).
    new DmsTaskStopGuard(this, 'TaskStopGuard', {
      replicationTask: this.replicationTask,
      taskLease: this.taskLease,
      replicationTaskIdentifier: this.replicationTaskIdentifier,
      guarded: [this.replicationInstance, this.sourceEndpoint, this.targetEndpoint, this.replicationTask],
      functionName: `migration-dms-task-guard-${suffix}`,
      logEncryptionKey: props.logEncryptionKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      maxWait: Duration.minutes(13),
    });
  }

  private acknowledgeFindings(): void {
    if (this.sourceSecret instanceof secretsmanager.Secret) {
      acknowledgeAll(this.sourceSecret, {
        'AwsSolutions-SMG4': 'The on-premises password is owned by the source database; rotate it there and update the secret',
        'NIST.800.53.R5-SecretsManagerRotationEnabled': 'The on-premises password is owned by the source database; rotate it there and update the secret',
        'NIST.800.53.R5-SecretsManagerUsingKMSKey': 'Encrypted with the Secrets Manager key of the account; only the DMS secrets role reads it',
      });
    }
    acknowledge(this.secretsAccessRole, 'NIST.800.53.R5-IAMNoInlinePolicy',
      'The policy belongs to this one role and allows reading exactly the two endpoint secrets');
  }
}

/** Every user schema and table, without MySQL's own schemas. */
function defaultTableMappings(): string {
  const include = {
    'rule-type': 'selection',
    'rule-id': '1',
    'rule-name': 'include-all-user-schemas',
    'object-locator': { 'schema-name': '%', 'table-name': '%' },
    'rule-action': 'include',
  };
  const excludes = SYSTEM_SCHEMAS.map((schema, i) => ({
    'rule-type': 'selection',
    'rule-id': String(i + 2),
    'rule-name': `exclude-${schema.replace(/_/g, '-')}`,
    'object-locator': { 'schema-name': schema, 'table-name': '%' },
    'rule-action': 'exclude',
  }));
  return JSON.stringify({ rules: [include, ...excludes] });
}

/** Task settings after AWS's best-practice guidance: logs, validation, parallel full load, batch apply where allowed. */
function defaultTaskSettings(enableValidation: boolean, maxFullLoadSubTasks: number, batchApplyEnabled: boolean, migrationType: string): string {
  // The prep mode applies when a full load starts ("Full-load task settings", DMS User Guide). A cdc-only task
  // never loads: its target is backfilled beforehand, and it must not be truncated whatever happens.
  const prepMode = migrationType === 'cdc' ? 'DO_NOTHING' : 'TRUNCATE_BEFORE_LOAD';
  return JSON.stringify({
    Logging: { EnableLogging: true },
    ValidationSettings: { EnableValidation: enableValidation, ThreadCount: 5 },
    FullLoadSettings: { TargetTablePrepMode: prepMode, MaxFullLoadSubTasks: maxFullLoadSubTasks, CommitRate: 10000 },
    TargetMetadata: { BatchApplyEnabled: batchApplyEnabled, SupportLobs: true, LimitedSizeLobMode: true, LobMaxSize: 32 },
    ErrorBehavior: { DataErrorPolicy: 'LOG_ERROR', TableErrorPolicy: 'SUSPEND_TABLE', RecoverableErrorCount: -1 },
  });
}

/**
 * Fails unless `instanceClass` is one DMS offers. A known family with a size it does not come in is answered with the
 * sizes of that family; anything else with every family and its sizes.
 */
function requireDmsInstanceClass(scope: IConstruct, instanceClass: string): void {
  if (Token.isUnresolved(instanceClass)) {
    return;
  }
  const [prefix, family, size, ...rest] = instanceClass.split('.');
  const sizes = prefix === 'dms' && rest.length === 0 ? DMS_INSTANCE_SIZES[family] : undefined;
  if (sizes?.includes(size)) {
    return;
  }
  const expected = sizes
    ? `a size DMS offers for dms.${family}: ${sizes.map((s) => `'dms.${family}.${s}'`).join(', ')}`
    : 'a DMS replication instance class, dms.<family>.<size>: '
      + Object.entries(DMS_INSTANCE_SIZES).map(([f, list]) => `dms.${f} (${list.join(', ')})`).join('; ');
  reportError(scope, `dms.replicationInstanceClass: received '${instanceClass}'; expected ${expected}.`);
}

/**
 * The forms of a CDC start position for a MySQL source ("Performing replication starting from a CDC start point" and
 * "Determining a CDC native start point", AWS DMS User Guide; CdcStartPosition, AWS DMS API Reference).
 */
const CDC_START_POSITIONS: { pattern: RegExp; example: string }[] = [
  { pattern: /^[A-Za-z0-9._-]+\.\d+:\d+$/, example: "a binary log position '<file>:<position>' such as 'mysql-bin-changelog.000024:373'" },
  { pattern: /^checkpoint:V1#\S+$/, example: "a DMS checkpoint 'checkpoint:V1#...'" },
  { pattern: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/, example: "a UTC time 'YYYY-MM-DDTHH:MM:SS' such as '2026-03-08T12:12:12'" },
];

/** A start position is one of the forms above, and only a cdc task has one (the others start with their full load). */
function requireCdcStartPosition(scope: IConstruct, position: string | undefined, migrationType: string): void {
  if (position === undefined || Token.isUnresolved(position)) {
    return;
  }
  if (migrationType !== 'cdc') {
    reportError(scope, `dms.cdcStartPosition: received '${position}' with dms.migrationType '${migrationType}'; expected it only with `
      + "migrationType 'cdc', because a full-load task captures changes from the start of its own full load.");
    return;
  }
  if (!CDC_START_POSITIONS.some((form) => form.pattern.test(position))) {
    reportError(scope, `dms.cdcStartPosition: received '${position}'; expected ${CDC_START_POSITIONS.map((form) => form.example).join(', or ')}.`);
  }
}

/** The host and database name go into the secret the construct creates; with the user's secret they would be lost. */
function requireNoSecretConflict(scope: IConstruct, props: DmsOptions): void {
  if (!props.sourceSecret) {
    return;
  }
  const ignored = (['sourceHostname', 'sourceDatabaseName'] as const).filter((key) => props[key] !== undefined);
  if (ignored.length > 0) {
    reportError(scope, `dms.sourceSecret: received together with ${ignored.map((key) => `dms.${key}`).join(' and ')}; ` +
      'expected one or the other, because DMS reads the host and database from the given secret: put them into that secret.');
  }
}

function requireValidJson(scope: IConstruct, prop: string, value: string | undefined): void {
  if (value === undefined) {
    return;
  }
  try {
    JSON.parse(value);
  } catch (e) {
    reportError(scope, `${prop}: received a string that is not JSON (${(e as Error).message}); expected a JSON document.`);
  }
}
