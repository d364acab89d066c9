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
 * and the outputs an operator needs after deployment.
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
      network: { maxAzs: 2, natGateways: 1 },
      storage: { noncurrentVersionExpiration: cdk.Duration.days(90) },
      database: {
        engineVersion: auroraEngineVersion,
        instanceType: ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE),
        readers: 1,
        backupRetention: cdk.Duration.days(7),
      },
      glue: { glueVersion: '4.0', timeout: cdk.Duration.minutes(60), maxRetries: 2 },
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
    this.addOutputs();
  }

  private addOutputs(): void {
    const p = this.pipeline;
    const outputs: Record<string, [string, string]> = {
      VpcId: [p.network.vpc.vpcId, 'The pipeline VPC'],
      DataBucketName: [p.storage.dataBucket.bucketName, 'Upload files under incoming/ (or let DataSync do it) to start a validation'],
      ScriptBucketName: [p.storage.scriptBucket.bucketName, 'Holds scripts/validate.py'],
      StateMachineArn: [p.orchestration.stateMachine.stateMachineArn, 'The migration state machine'],
      OpenSearchDomainEndpoint: [p.logging.openSearchDomain.domainEndpoint, 'The audit domain (VPC endpoint)'],
      ValidationTopicArn: [p.messaging.validationTopic.topicArn, 'Validation results and migration outcomes'],
      AlertTopicArn: [p.messaging.alertTopic.topicArn, 'Remediation alerts'],
      GlueJobName: [p.glue.jobName, 'The validation job'],
      ReplicationTaskArn: [p.dms.replicationTask.ref, 'The DMS task'],
      AuroraWriterEndpoint: [p.database.auroraCluster.clusterEndpoint.hostname, 'Aurora writer endpoint'],
      AuroraReaderEndpoint: [p.database.auroraCluster.clusterReadEndpoint.hostname, 'Aurora reader endpoint'],
      AuroraSecretArn: [p.database.secret.secretArn, 'Aurora master credentials'],
      SourceSecretArn: [p.dms.sourceSecret.secretArn, 'Fill in the on-premises MySQL username and password here before the first run'],
      DataSyncAgentArn: [p.dataSync.agentArn, 'The agent ARN, or a placeholder when activation did not succeed'],
      DataSyncInstanceId: [p.dataSync.instance.instanceId, 'The agent EC2 instance (activate it manually when ActivationSuccess is false)'],
      DataSyncActivationSuccess: [p.dataSync.activationSuccess, 'true when the agent was activated automatically'],
      DataSyncS3LocationArn: [p.dataSync.s3Location.attrLocationArn, 'DataSync destination (incoming/ of the data bucket)'],
      DataSyncSetupInstructions: [
        cdk.Fn.join('', [
          'If DataSyncActivationSuccess is false: get a key with curl "http://', p.dataSync.instance.instancePrivateIp,
          '/?gatewayType=SYNC&activationRegion=', this.region, '&no_redirect" from inside the VPC, then run ',
          'aws datasync create-agent --activation-key KEY --agent-name migration-agent-', p.environmentSuffix,
        ]),
        'How to finish the DataSync agent setup',
      ],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new cdk.CfnOutput(this, id, { value, description });
    }
  }
}
