import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { MigrationPipeline } from '../src';

/** The specification's Aurora MySQL version; `-c auroraEngineVersion=3.10.0` replaces it without a code change. */
export const SPEC_AURORA_VERSION = '3.09.0';

/**
 * The Aurora MySQL 3 engine version for a version such as '3.10.0'. RDS stops offering a non-LTS minor version
 * for new clusters some time after its release, and the deployment then fails with "Cannot find version".
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Update.SpecialVersions.html
 */
export function auroraMysqlVersion(version: unknown): rds.AuroraMysqlEngineVersion {
  const text = String(version);
  if (!/^3\.\d{2}\.\d+$/.test(text)) {
    throw new Error(`auroraEngineVersion: received '${text}'; expected an Aurora MySQL 3 version such as '3.10.0' or '3.04.4' ` +
      '(the part after 8.0.mysql_aurora.).');
  }
  return rds.AuroraMysqlEngineVersion.of(`8.0.mysql_aurora.${text}`, '8.0');
}

/**
 * The Glue rule's required columns from a comma-separated context value (`-c requiredColumns=order_id,amount`);
 * none when the value is absent, as in the specification.
 */
export function requiredColumns(value: unknown): string[] | undefined {
  if (value === undefined) {
    return undefined;
  }
  const columns = String(value).split(',').map((column) => column.trim()).filter((column) => column.length > 0);
  if (columns.length === 0) {
    throw new Error(`requiredColumns: received '${String(value)}'; expected column names separated by commas`);
  }
  return columns;
}

/** Props of the example {@link TapStack}. */
export interface TapStackProps extends cdk.StackProps {
  /**
   * Distinguishes environments in names; `prod` retains data.
   * @default - the `environmentSuffix` context value, else 'dev'
   */
  readonly environmentSuffix?: string;
  /**
   * Subscribed to the validation and alert topics.
   * @default - the `notificationEmail` context value, else 'migration-alerts@example.com'
   */
  readonly notificationEmail?: string;
}

/**
 * The owner's single stack in us-west-2: one MigrationPipeline with the specification's values,
 * with its network's zones named (so it synthesizes without credentials) and the operator outputs.
 */
export class TapStack extends cdk.Stack {
  public readonly pipeline: MigrationPipeline;

  constructor(scope: Construct, id: string, props: TapStackProps = {}) {
    super(scope, id, {
      ...props,
      env: { region: 'us-west-2', account: process.env.CDK_DEFAULT_ACCOUNT },
      description: 'On-premises to AWS migration pipeline (DataSync, Glue validation, Step Functions, DMS, Aurora, OpenSearch audit)',
    });
    const notificationEmail = props.notificationEmail ?? this.node.tryGetContext('notificationEmail') ?? 'migration-alerts@example.com';
    const auroraEngineVersion = auroraMysqlVersion(this.node.tryGetContext('auroraEngineVersion') ?? SPEC_AURORA_VERSION);

    // The specification's values, spelled out even where they are the library's defaults.
    this.pipeline = new MigrationPipeline(this, 'MigrationPipeline', {
      environmentSuffix: props.environmentSuffix,
      network: { maxAzs: 2, natGateways: 1, availabilityZones: ['us-west-2a', 'us-west-2b'] },
      storage: { noncurrentVersionExpiration: cdk.Duration.days(90) },
      database: {
        engineVersion: auroraEngineVersion,
        instanceType: ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE),
        readers: 1,
        backupRetention: cdk.Duration.days(7),
      },
      glue: {
        glueVersion: '4.0',
        timeout: cdk.Duration.minutes(60),
        maxRetries: 2,
        requiredColumns: requiredColumns(this.node.tryGetContext('requiredColumns')),
      },
      messaging: { notificationEmail, deadLetterRetention: cdk.Duration.days(14) },
      dms: {
        replicationInstanceClass: 'dms.t3.medium',
        sourceHostname: 'on-premise-db.example.com',
        sourcePort: 3306,
        migrationType: 'full-load-and-cdc',
      },
      functions: { timeout: cdk.Duration.minutes(1) },
      orchestration: { pollInterval: cdk.Duration.minutes(5), timeout: cdk.Duration.hours(2) },
      dataSync: {
        instanceType: ec2.InstanceType.of(ec2.InstanceClass.M5, ec2.InstanceSize.LARGE),
        activationInitialWait: cdk.Duration.seconds(90),
        activationRetryInterval: cdk.Duration.seconds(45),
        activationMaxAttempts: 10,
      },
      logging: { engineVersion: opensearch.EngineVersion.OPENSEARCH_2_11, dataNodeInstanceType: 't3.small.search', dataNodes: 1, volumeSize: 20 },
    });
    // The outputs the README's after-deployment steps refer to (SourceSecretArn, DataSyncActivationSuccess, ...).
    this.pipeline.addOperatorOutputs();
  }
}
