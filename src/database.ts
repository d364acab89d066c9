import { Duration, RemovalPolicy, Resource, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { acknowledge, acknowledgeAll, exemptFromGuard } from './private/acknowledgements';
import { functionSecurityGroup } from './private/function-security-group';
import { createLogGroup } from './private/log-groups';
import { reportError, requireDurationInRange, requireIntegerInRange, requireMatch, requireThat } from './private/validation';

/** Settings of the Aurora MySQL target cluster. */
export interface DatabaseOptions {
  /**
   * The Aurora MySQL engine version. The default is the specification's; it is not a long-term-support release,
   * and once RDS stops offering it for new clusters the deployment fails with "Cannot find version": choose an
   * LTS version (3.10 or 3.04) then.
   * @default rds.AuroraMysqlEngineVersion.VER_3_09_0
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Update.SpecialVersions.html
   */
  readonly engineVersion?: rds.AuroraMysqlEngineVersion;

  /**
   * The instance type of the writer and of every reader, without the `db.` prefix (CDK adds it), e.g. r6g.large.
   * Aurora MySQL 3 runs on the r5, r6g, r6gd, r6i, r6id, r7g, r7i, r8g, r8gd and x2g classes (large or bigger)
   * and on t3/t4g medium and large.
   * @default ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * How many readers the cluster has (each in another AZ than the writer when the VPC allows).
   * @default 1
   */
  readonly readers?: number;

  /**
   * How long automated backups are kept.
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * The name of the database created in the cluster.
   * @default 'migration'
   */
  readonly defaultDatabaseName?: string;

  /**
   * The master user's name (its password is generated into Secrets Manager).
   * @default 'clusteradmin'
   */
  readonly masterUsername?: string;

  /**
   * How long the exported database logs are kept in CloudWatch Logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Rotate the master password automatically every 30 days (uses the Secrets Manager rotation application,
   * which needs outbound access to the Secrets Manager endpoint from the private subnets).
   * @default false
   */
  readonly enableSecretRotation?: boolean;
}

/** Props of {@link Database}. */
export interface DatabaseProps extends DatabaseOptions {
  /** The VPC; the cluster lives in its isolated subnets. */
  readonly vpc: ec2.IVpc;
  /** The cluster's security group. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * The customer-managed key that encrypts this concern's log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * Keeps the cluster, its secret, parameter group and log groups when the stack is deleted, and protects the
   * cluster from deletion.
   * @default false
   */
  readonly retainData?: boolean;
  /**
   * What happens to the cluster when the stack is deleted or the cluster is replaced: RETAIN (kept, with deletion
   * protection), SNAPSHOT (a final snapshot is taken, then the cluster is deleted) or DESTROY. The cluster's secret,
   * parameter group and subnet group are kept only with RETAIN.
   * @default - RETAIN when retainData is true, else DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Instance class families Aurora MySQL 3 runs on, in sizes large and up. */
const AURORA_MYSQL_3_FAMILIES = ['r5', 'r6g', 'r6gd', 'r6i', 'r6id', 'r7g', 'r7i', 'r8g', 'r8gd', 'x2g'];
/** The burstable classes Aurora MySQL 3 runs on (for development and tests). */
const AURORA_MYSQL_3_BURSTABLE = ['t3.medium', 't3.large', 't4g.medium', 't4g.large'];

/** The log types Aurora MySQL exports to CloudWatch Logs (the spec's list). */
export const AURORA_LOG_EXPORTS = ['error', 'general', 'slowquery', 'audit'];

/**
 * Aurora MySQL (writer and reader) in isolated subnets, with generated credentials in Secrets Manager,
 * encrypted storage, IAM authentication, backups, and a parameter group that turns on the logs it exports.
 */
export class Database extends Construct {
  /** The Aurora MySQL cluster, target of the replication. */
  public readonly auroraCluster: rds.IDatabaseCluster;
  /** The master credentials (username, password, host, port, dbname). */
  public readonly secret: secretsmanager.ISecret;
  /** The cluster parameter group that enables the audit, general and slow-query logs. */
  public readonly parameterGroup: rds.IParameterGroup;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const readers = props.readers ?? 1;
    const requestedRetention = props.backupRetention ?? Duration.days(7);
    const defaultDatabaseName = props.defaultDatabaseName ?? 'migration';
    const masterUsername = props.masterUsername ?? 'clusteradmin';
    requireIntegerInRange(this, 'database.readers', readers, 0, 15);
    // Aurora keeps backups for whole days.
    const backupRetention = requireDurationInRange(this, 'database.backupRetention', requestedRetention, Duration.days(1), Duration.days(35), 'days')
      ? requestedRetention : Duration.days(7);
    requireMatch(this, 'database.defaultDatabaseName', defaultDatabaseName, /^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'a letter then up to 63 letters, digits or underscores');
    requireMatch(this, 'database.masterUsername', masterUsername, /^[A-Za-z][A-Za-z0-9_]{0,15}$/, 'a letter then up to 15 letters, digits or underscores');

    const engineVersion = props.engineVersion ?? rds.AuroraMysqlEngineVersion.VER_3_09_0;
    const engine = rds.DatabaseClusterEngine.auroraMysql({ version: engineVersion });
    this.parameterGroup = new rds.ParameterGroup(this, 'ClusterParameterGroup', {
      engine,
      description: `Migration target ${props.environmentSuffix}: audit, general and slow-query logs on`,
      parameters: {
        // Without these switches the exported log groups stay empty.
        server_audit_logging: '1',
        server_audit_events: 'CONNECT,QUERY_DCL,QUERY_DDL',
        general_log: '1',
        slow_query_log: '1',
        long_query_time: '2',
        log_output: 'FILE',
        // Clients must use TLS.
        require_secure_transport: 'ON',
      },
    });

    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE);
    this.checkInstanceType(instanceType.toString(), engineVersion.auroraMysqlMajorVersion);
    const zones = props.vpc.isolatedSubnets.map((subnet) => subnet.availabilityZone);
    const retainData = props.retainData ?? false;
    const removalPolicy = retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const clusterRemovalPolicy = props.removalPolicy ?? removalPolicy;
    // Deletion protection would make CloudFormation's delete (after the snapshot) fail, so only a kept cluster has it.
    const keepCluster = clusterRemovalPolicy === RemovalPolicy.RETAIN;
    const companionRemovalPolicy = keepCluster ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const clusterIdentifier = `migration-aurora-${props.environmentSuffix}`;

    const cluster = new rds.DatabaseCluster(this, 'AuroraCluster', {
      engine,
      clusterIdentifier,
      credentials: rds.Credentials.fromGeneratedSecret(masterUsername, { secretName: `migration-aurora-${props.environmentSuffix}` }),
      defaultDatabaseName,
      writer: rds.ClusterInstance.provisioned('Writer', { instanceType, availabilityZone: zones[0], publiclyAccessible: false }),
      readers: Array.from({ length: readers }, (_, i) => rds.ClusterInstance.provisioned(`Reader${i === 0 ? '' : i + 1}`, {
        instanceType,
        // Readers go to the other AZs first, so a zone failure leaves a promotable copy.
        availabilityZone: zones[(i + 1) % zones.length],
        publiclyAccessible: false,
      })),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [props.securityGroup],
      parameterGroup: this.parameterGroup,
      storageEncrypted: true,
      iamAuthentication: true,
      backup: { retention: backupRetention },
      cloudwatchLogsExports: AURORA_LOG_EXPORTS,
      deletionProtection: keepCluster,
      removalPolicy: clusterRemovalPolicy,
      monitoringInterval: Duration.seconds(60),
    });
    this.auroraCluster = cluster;
    this.secret = cluster.secret!;
    // The cluster's secret, parameter group and subnet group go with it: a kept cluster still uses the last two,
    // and deleting them while it does would fail the stack deletion.
    for (const companion of [this.masterSecretResource(), this.auroraCluster.node.findChild('Subnets')]) {
      (companion as Resource).applyRemovalPolicy(companionRemovalPolicy);
    }
    this.parameterGroup.applyRemovalPolicy(companionRemovalPolicy);
    this.createLogGroups(clusterIdentifier, props.logRetention ?? logs.RetentionDays.ONE_YEAR, removalPolicy, props.logEncryptionKey);

    if (props.enableSecretRotation) {
      this.rotateMasterSecret(props, engine);
    } else {
      acknowledgeAll(this.masterSecretResource(), {
        'AwsSolutions-SMG4': 'Rotation is the database.enableSecretRotation prop (off by default: it needs a route to Secrets Manager from the isolated subnets)',
        'NIST.800.53.R5-SecretsManagerRotationEnabled': 'Rotation is the database.enableSecretRotation prop',
      });
    }
    this.acknowledgeFindings(keepCluster);
  }

  /**
   * Rotates the master password every 30 days. The cluster's own `addRotationSingleUser` would put the ingress rule
   * from the rotation function into the cluster security group's stack (the network stack), which then points back at
   * this stack: a circular dependency CloudFormation refuses. Here both rules land in this stack, as DMS does it.
   * The function runs in the private subnets with egress, so it reaches the Secrets Manager endpoint.
   */
  private rotateMasterSecret(props: DatabaseProps, engine: rds.IClusterEngine): void {
    const rotationSecurityGroup = functionSecurityGroup(this, 'RotationSecurityGroup', {
      vpc: props.vpc,
      description: 'Aurora master secret rotation: the cluster on 3306 and Secrets Manager over HTTPS',
      httpsPurpose: 'Secrets Manager API over HTTPS',
      peer: props.securityGroup,
      port: ec2.Port.tcp(3306),
      peerPurpose: 'Rotate the Aurora master password',
    });
    new secretsmanager.SecretRotation(this, 'MasterSecretRotation', {
      secret: this.secret,
      application: engine.singleUserRotationApplication,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: rotationSecurityGroup,
      // The rules to the cluster are made above; a target without security groups keeps SecretRotation from adding
      // its own (in the network stack).
      target: { connections: new ec2.Connections({ defaultPort: ec2.Port.tcp(3306) }) },
      automaticallyAfter: Duration.days(30),
    });
  }

  /**
   * CDK prefixes the instance type with `db.`, so 'db.r6g.large' would become 'db.db.r6g.large'; and Aurora MySQL 3
   * runs only on some classes ("Supported DB engines for DB instance classes", Amazon Aurora User Guide).
   */
  private checkInstanceType(instanceType: string, mysqlMajorVersion: string): void {
    if (Token.isUnresolved(instanceType)) {
      return;
    }
    if (instanceType.startsWith('db.')) {
      reportError(this, `database.instanceType: received '${instanceType}', which would become DB instance class 'db.${instanceType}'; ` +
        `expected the type without the 'db.' prefix, such as '${instanceType.slice(3)}' (ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE)).`);
      return;
    }
    if (mysqlMajorVersion !== '8.0') {
      return;
    }
    const [family, size] = instanceType.split('.');
    const supported = AURORA_MYSQL_3_BURSTABLE.includes(instanceType) || (AURORA_MYSQL_3_FAMILIES.includes(family) && /^(large|\d*xlarge)$/.test(size ?? ''));
    requireThat(this, supported,
      `database.instanceType: received '${instanceType}'; expected a DB instance class Aurora MySQL 3 supports: ` +
      `${AURORA_MYSQL_3_FAMILIES.join(', ')} (large or bigger) or ${AURORA_MYSQL_3_BURSTABLE.join(', ')}.`);
  }

  /** The generated secret itself (`secret` is its attachment to the cluster). */
  private masterSecretResource(): IConstruct {
    return this.auroraCluster.node.findChild('Secret');
  }

  private acknowledgeFindings(deletionProtection: boolean): void {
    acknowledge(this.masterSecretResource(), 'NIST.800.53.R5-SecretsManagerUsingKMSKey',
      'Encrypted with the Secrets Manager key of the account; only the DMS secrets role and the cluster read it');
    acknowledgeAll(this.auroraCluster, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]':
        'AWS-managed policy of the RDS enhanced-monitoring role; it only publishes OS metrics',
      'AwsSolutions-RDS11': 'DMS and MySQL clients expect 3306; only the DMS security group can reach the port',
      'AwsSolutions-RDS14': 'Backtrack is not offered for Aurora MySQL 3 clusters of this kind; 7-day automated backups restore to any point in time',
      'NIST.800.53.R5-RDSInBackupPlan': 'Automated backups with point-in-time restore (database.backupRetention, 7 days) protect the target',
    });
    exemptFromGuard(this.auroraCluster, 'aurora_cluster_backtracking_enabled_check',
      'Point-in-time restore from the 7-day automated backups covers the target; DMS can reload it from the source');
    if (!deletionProtection) {
      acknowledgeAll(this.auroraCluster, {
        'AwsSolutions-RDS10': 'Deletion protection is on whenever retainData is; environments without it are meant to be torn down',
        'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled': 'Deletion protection is on whenever retainData is; environments without it are meant to be torn down',
      });
      exemptFromGuard(this.auroraCluster, 'rds_cluster_deletion_protection_enabled_check', 'Deletion protection is on whenever retainData is; environments without it are meant to be torn down');
    }
  }

  /**
   * Creates the exported log groups up front (Aurora would create them without a retention),
   * which sets their retention without a log-retention custom resource.
   */
  private createLogGroups(clusterIdentifier: string, retention: logs.RetentionDays, removalPolicy: RemovalPolicy, encryptionKey?: kms.IKey): void {
    for (const logType of AURORA_LOG_EXPORTS) {
      const logGroup = createLogGroup(this, `${logType}LogGroup`, {
        logGroupName: `/aws/rds/cluster/${clusterIdentifier}/${logType}`,
        retention,
        encryptionKey,
        removalPolicy,
      });
      this.auroraCluster.node.addDependency(logGroup);
    }
  }
}
