import { Aspects, CfnOutput, Duration, NestedStack, NestedStackProps, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AccountPrerequisites, AccountPrerequisitesOptions } from './account-prerequisites';
import { Cutover, CutoverOptions } from './cutover';
import { Database, DatabaseOptions } from './database';
import { DataSyncAgent, DataSyncOptions } from './datasync';
import { DmsOptions, DmsReplication } from './dms';
import { FunctionsOptions, PipelineFunctions } from './functions';
import { GlueOptions, GlueValidation } from './glue';
import { AuditLogging, LoggingOptions } from './logging';
import { Messaging, MessagingOptions } from './messaging';
import { AlarmThresholds, Monitoring } from './monitoring';
import { Network, NetworkOptions, OnPremisesNetworkOptions } from './network';
import { MIGRATION_REPORT_PREFIX, Orchestration, OrchestrationOptions } from './orchestration';
import { acknowledgeForCdkNagV2 } from './private/acknowledgements';
import { isProduction, removalPolicyFor, resolveEnvironmentSuffix, resolveRemoval } from './private/environment';
import { IntendedDependsOnLintSuppression } from './private/lint-suppressions';
import { operatorOutputs } from './private/operator-outputs';
import { grantPutUnderPrefix, grantReadUnderPrefix } from './private/prefix-grants';
import { requireMatch, withSnakeCaseName } from './private/validation';
import { INCOMING_PREFIX, REPORTS_PREFIX, Storage, StorageOptions } from './storage';

/** Props of {@link MigrationPipeline}. Every concern's settings default to the values of the pipeline's specification. */
export interface MigrationPipelineProps {
  /**
   * Distinguishes environments in resource names. `prod` also makes `retainData` default to true and the DMS
   * replication instance multi-AZ; any other suffix (even 'production') does neither unless those props say so.
   * @default - the `environmentSuffix` context value, else 'dev'
   */
  readonly environmentSuffix?: string;

  /**
   * Keep every data-holding resource when the stack is deleted or a resource is replaced (buckets, Aurora cluster,
   * secrets, OpenSearch domain, log groups, keys, queues, Glue catalog) and protect the Aurora cluster from deletion.
   * When false, deleting the stack deletes all of them, and the buckets are emptied (every object version) first.
   * @default - true when the environment suffix is 'prod', false otherwise
   * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
   */
  readonly retainData?: boolean;

  /**
   * What deleting the stack (or replacing a resource) does to the data, with a snapshot choice for Aurora:
   * RETAIN keeps every data-holding resource (the same as `retainData: true`); DESTROY deletes them (the same as
   * `retainData: false`); SNAPSHOT deletes them as DESTROY does, except that Aurora takes a final snapshot before
   * its deletion (the only resource of the pipeline that supports snapshots). It wins over `retainData`; giving both
   * with different meanings fails at synth.
   * @default - what `retainData` says
   * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long every log group the pipeline creates keeps its events: the functions', the state machine's, Aurora's,
   * OpenSearch's, Firehose delivery's, the VPC flow logs, and those of the deployment-time functions (account
   * prerequisites, DMS task stop guard, DataSync activation and AMI lookup). A concern's own setting
   * (`network.flowLogRetention`, `database.logRetention`, `functions.logRetention`, `orchestration.logRetention`,
   * `logging.logRetention`) wins for that concern's log groups.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The on-premises network (address ranges and file-share ports). When given, the replication instance reaches
   * the source port only in these ranges, the DataSync agent reaches HTTPS (the DataSync service, at any address)
   * and the file-share ports only in these ranges, and a VPC range that overlaps them fails at synth.
   * @default - no on-premises ranges: DMS may reach the source port at any IPv4 address and the agent any address
   * (the source's address is only known at run time, from its secret)
   */
  readonly onPremisesNetwork?: OnPremisesNetworkOptions;

  /**
   * The alarms' thresholds.
   * @default - the defaults of {@link AlarmThresholds} (for example CDC latency 600 s)
   */
  readonly alarms?: AlarmThresholds;

  /**
   * The name the pipeline's own audit events carry (`detail.pipeline`).
   * @default 'migration-pipeline-<environmentSuffix>'
   */
  readonly pipelineName?: string;

  /** The VPC and security groups. @default - a new VPC with the defaults of {@link NetworkOptions} */
  readonly network?: NetworkOptions;
  /** The buckets. @default - the defaults of {@link StorageOptions} */
  readonly storage?: StorageOptions;
  /** The Aurora MySQL target. @default - the defaults of {@link DatabaseOptions} */
  readonly database?: DatabaseOptions;
  /** The Glue validation job. @default - the defaults of {@link GlueOptions} */
  readonly glue?: GlueOptions;
  /** Topics, queues and the notification e-mails. @default - the defaults of {@link MessagingOptions} */
  readonly messaging?: MessagingOptions;
  /** The DMS replication. @default - the defaults of {@link DmsOptions} */
  readonly dms?: DmsOptions;
  /** The three pipeline functions. @default - the defaults of {@link FunctionsOptions} */
  readonly functions?: FunctionsOptions;
  /** The migration state machine. @default - the defaults of {@link OrchestrationOptions} */
  readonly orchestration?: OrchestrationOptions;
  /** The cutover workflow (in OrchestrationStack). @default - the defaults of {@link CutoverOptions} */
  readonly cutover?: CutoverOptions;
  /** The DataSync agent (`enabled: false` leaves it out). @default - the defaults of {@link DataSyncOptions} */
  readonly dataSync?: DataSyncOptions;
  /** The OpenSearch audit domain. @default - the defaults of {@link LoggingOptions} */
  readonly logging?: LoggingOptions;
  /**
   * The account-level roles DMS and OpenSearch need, created when missing; set both to false where an
   * administrator manages them.
   * @default - both are created when missing
   */
  readonly accountPrerequisites?: AccountPrerequisitesOptions;
}

/**
 * An end-to-end on-premises-to-AWS migration pipeline, one nested stack per concern:
 * files arrive through DataSync under `incoming/`, EventBridge starts a Glue validation for each, a PASSED
 * result starts the Step Functions migration that drives DMS into Aurora, failures are remediated, and every
 * event is audited in OpenSearch.
 */
export class MigrationPipeline extends Construct {
  /** The environment suffix in use. */
  public readonly environmentSuffix: string;
  /** Whether data-holding resources are kept when the stack is deleted (see {@link MigrationPipelineProps.retainData}). */
  public readonly retainData: boolean;
  /** What deleting the stack does to the Aurora cluster: RETAIN, SNAPSHOT or DESTROY (see {@link MigrationPipelineProps.removalPolicy}). */
  public readonly databaseRemovalPolicy: RemovalPolicy;
  /** NetworkStack: VPC and security groups. */
  public readonly network: Network;
  /** StorageStack: data, script and access-log buckets. */
  public readonly storage: Storage;
  /** DatabaseStack: Aurora MySQL. */
  public readonly database: Database;
  /** GlueStack: catalog and validation job. */
  public readonly glue: GlueValidation;
  /** MessagingStack: topics, dead-letter queue and key. */
  public readonly messaging: Messaging;
  /** DMSStack: replication instance, endpoints and task. */
  public readonly dms: DmsReplication;
  /** OrchestrationStack: the migration state machine. */
  public readonly orchestration: Orchestration;
  /** OrchestrationStack: the cutover workflow, which an operator starts to end the migration. */
  public readonly cutover: Cutover;
  /** LambdaStack: the three pipeline functions. */
  public readonly functions: PipelineFunctions;
  /** DataSyncStack: the agent, its activation and the S3 location; absent when `dataSync.enabled` is false. */
  public readonly dataSync?: DataSyncAgent;
  /** LoggingStack: the OpenSearch audit domain and its delivery stream. */
  public readonly logging: AuditLogging;
  /** MonitoringStack: failure and audit rules. */
  public readonly monitoring: Monitoring;
  /** The rule that sends objects created under `incoming/` to the Glue trigger function. */
  public readonly incomingObjectRule: events.IRule;
  /** Creates the account-level roles DMS and OpenSearch need when they are missing (absent when both are turned off). */
  public readonly accountPrerequisites?: AccountPrerequisites;
  /** The nested stacks by their spec names (NetworkStack, StorageStack, ...). */
  public readonly nestedStacks: Record<string, NestedStack>;
  /** The data bucket: files arrive under `incoming/`, reports are written under `reports/`. */
  public readonly dataBucket: s3.IBucket;
  /**
   * The migration state machine. Each execution's input is a JSON object described by {@link MigrationRunInput}
   * (`bucket`, `key`, `versionId`, `reportKey`, `validation`): what the Step Functions trigger sends for a file that
   * passed validation. Start it yourself (see {@link MigrationPipeline.grantStartMigration}) with the input of an
   * earlier run to re-run a migration.
   */
  public readonly stateMachine: sfn.IStateMachine;
  /** The Glue validation job's name (`migration-validation-<suffix>`). */
  public readonly glueJobName: string;
  /** The Glue validation job's ARN, `arn:<partition>:glue:<region>:<account>:job/<name>`. */
  public readonly glueJobArn: string;
  /** The DMS replication task's ARN (`arn:<partition>:dms:<region>:<account>:task:<resource id>`, known after deployment). */
  public readonly replicationTaskArn: string;
  /**
   * The ARN of the DataSync S3 location (`incoming/` of the data bucket): the destination of your DataSync tasks;
   * absent when the pipeline has no DataSync agent (`dataSync.enabled: false`).
   */
  public readonly dataSyncLocationArn?: string;

  constructor(scope: Construct, id: string, props: MigrationPipelineProps = {}) {
    super(scope, id);
    const suffix = resolveEnvironmentSuffix(this, props.environmentSuffix);
    const pipelineName = props.pipelineName ?? `migration-pipeline-${suffix}`;
    requireMatch(this, 'pipelineName', pipelineName, /^[A-Za-z0-9._-]{1,64}$/, 'up to 64 letters, digits, dots, underscores or hyphens');
    // Resource names carry the suffix, so a second pipeline with it in the same account and region would collide.
    this.node.addValidation({ validate: () => this.duplicateSuffixErrors() });
    const { retainData, databaseRemovalPolicy } = resolveRemoval(this, suffix, props.retainData, props.removalPolicy);
    const removalPolicy = removalPolicyFor(retainData);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const dataSyncEnabled = props.dataSync?.enabled !== false;
    this.environmentSuffix = suffix;
    this.retainData = retainData;
    this.databaseRemovalPolicy = databaseRemovalPolicy;
    this.nestedStacks = {};
    const nested = (name: string, description: string) => {
      const stack = new PipelineNestedStack(this, name, {
        description: `Migration pipeline (${suffix}): ${description}`,
        availabilityZones: name === 'NetworkStack' ? props.network?.availabilityZones : undefined,
      });
      this.nestedStacks[name] = stack;
      return stack;
    };

    const networkStack = nested('NetworkStack', 'VPC and security groups');
    this.network = new Network(networkStack, 'Network', {
      ...props.network,
      // An existing VPC gets no flow log from the pipeline (and refuses the setting).
      flowLogRetention: props.network?.vpc ? props.network.flowLogRetention : props.network?.flowLogRetention ?? logRetention,
      onPremises: props.onPremisesNetwork,
      dataSyncAgent: dataSyncEnabled,
      removalPolicy,
    });
    const { vpc, logEncryptionKey } = this.network;

    const storageStack = nested('StorageStack', 'data, script and access-log buckets');
    this.storage = new Storage(storageStack, 'Storage', { ...props.storage, removalPolicy });

    const databaseStack = nested('DatabaseStack', 'Aurora MySQL target');
    this.database = new Database(databaseStack, 'Database', {
      ...props.database,
      logRetention: props.database?.logRetention ?? logRetention,
      vpc,
      securityGroup: this.network.dbSecurityGroup,
      environmentSuffix: suffix,
      retainData,
      removalPolicy: databaseRemovalPolicy,
      logEncryptionKey,
    });

    const glueStack = nested('GlueStack', 'Glue catalog and validation job');
    this.glue = new GlueValidation(glueStack, 'Glue', {
      ...props.glue,
      dataBucket: this.storage.dataBucket,
      scriptBucket: this.storage.scriptBucket,
      environmentSuffix: suffix,
      encryptionKey: logEncryptionKey,
      pipelineName,
      removalPolicy,
    });

    const messagingStack = nested('MessagingStack', 'topics, dead-letter queue and key');
    this.messaging = new Messaging(messagingStack, 'Messaging', {
      ...props.messaging, environmentSuffix: suffix, validationPublisher: this.glue.role, removalPolicy,
    });

    const dmsStack = nested('DMSStack', 'DMS replication into Aurora');
    this.dms = new DmsReplication(dmsStack, 'Dms', {
      ...props.dms,
      vpc,
      securityGroup: this.network.dmsSecurityGroup,
      targetSecurityGroup: this.network.dbSecurityGroup,
      targetSecret: this.database.secret,
      sourceCidrs: this.network.onPremisesCidrs,
      logRetention,
      // Multi-AZ is about availability, not about keeping data: it follows the `prod` suffix unless set.
      multiAz: props.dms?.multiAz ?? isProduction(suffix),
      environmentSuffix: suffix,
      removalPolicy,
      logEncryptionKey,
    });

    const orchestrationStack = nested('OrchestrationStack', 'migration state machine');
    this.orchestration = new Orchestration(orchestrationStack, 'Orchestration', {
      ...props.orchestration,
      logRetention: props.orchestration?.logRetention ?? logRetention,
      replicationTask: this.dms.replicationTask,
      taskLease: this.dms.taskLease,
      migrationType: this.dms.migrationType,
      notificationTopic: this.messaging.validationTopic,
      notificationTopicKey: this.messaging.key,
      reportBucket: this.storage.dataBucket,
      pipelineName,
      environmentSuffix: suffix,
      logEncryptionKey,
      removalPolicy,
    });

    this.cutover = new Cutover(orchestrationStack, 'Cutover', {
      ...props.cutover,
      replicationTask: this.dms.replicationTask,
      migrationType: this.dms.migrationType,
      replicationInstanceIdentifier: this.dms.replicationInstanceIdentifier,
      taskLease: this.dms.taskLease,
      migrationStateMachineName: `migration-orchestration-${suffix}`,
      tableReviewFunction: this.orchestration.tableReviewFunction,
      reportBucket: this.storage.dataBucket,
      reviewPrefix: MIGRATION_REPORT_PREFIX,
      notificationTopic: this.messaging.validationTopic,
      notificationTopicKey: this.messaging.key,
      vpc,
      targetSecurityGroup: this.network.dbSecurityGroup,
      sourcePort: props.dms?.sourcePort ?? 3306,
      sourceCidrs: this.network.onPremisesCidrs,
      sourceSecret: this.dms.sourceSecret,
      targetSecret: this.database.secret,
      environmentSuffix: suffix,
      pipelineName,
      logRetention: props.orchestration?.logRetention ?? logRetention,
      logEncryptionKey,
      removalPolicy,
    });

    const lambdaStack = nested('LambdaStack', 'Glue trigger, Step Functions trigger and remediation functions');
    this.functions = new PipelineFunctions(lambdaStack, 'Functions', {
      ...props.functions,
      logRetention: props.functions?.logRetention ?? logRetention,
      vpc,
      securityGroup: this.network.lambdaSecurityGroup,
      dataBucket: this.storage.dataBucket,
      glueJobName: this.glue.jobName,
      validationTopic: this.messaging.validationTopic,
      alertTopic: this.messaging.alertTopic,
      messagingKey: this.messaging.key,
      deadLetterQueue: this.messaging.deadLetterQueue,
      stateMachine: this.orchestration.stateMachine,
      replicationTask: this.dms.replicationTask,
      taskLease: this.dms.taskLease,
      environmentSuffix: suffix,
      logEncryptionKey,
      pipelineName,
      removalPolicy,
    });

    if (dataSyncEnabled) {
      const dataSyncStack = nested('DataSyncStack', 'DataSync agent, activation and S3 location');
      this.dataSync = new DataSyncAgent(dataSyncStack, 'DataSync', {
        ...props.dataSync,
        vpc,
        securityGroup: this.network.dataSyncSecurityGroup!,
        dataBucket: this.storage.dataBucket,
        environmentSuffix: suffix,
        logEncryptionKey,
        logRetention,
        removalPolicy,
      });
    }

    const loggingStack = nested('LoggingStack', 'OpenSearch audit domain and delivery stream');
    this.logging = new AuditLogging(loggingStack, 'Logging', {
      ...props.logging,
      logRetention: props.logging?.logRetention ?? logRetention,
      vpc,
      securityGroup: this.network.openSearchSecurityGroup,
      environmentSuffix: suffix,
      logEncryptionKey,
      removalPolicy,
    });

    const monitoringStack = nested('MonitoringStack', 'failure and audit rules, alarms and dashboard');
    const incomingRuleDeadLetterQueue = this.messaging.createDeadLetterQueue(this, 'IncomingRuleDeadLetterQueue');
    this.monitoring = new Monitoring(monitoringStack, 'Monitoring', {
      alarmTopic: this.messaging.alertTopic,
      functions: {
        GlueTrigger: this.functions.glueTriggerFunction,
        StepFunctionTrigger: this.functions.stepFunctionTriggerFunction,
        Remediation: this.functions.remediationFunction,
        ...(this.dataSync ? { DataSyncActivation: this.dataSync.activationFunction } : {}),
      },
      deadLetterQueues: { Functions: this.messaging.deadLetterQueue, IncomingRule: incomingRuleDeadLetterQueue },
      replicationInstanceIdentifier: this.dms.replicationInstanceIdentifier,
      openSearchDomain: this.logging.openSearchDomain,
      openSearchVolumeSize: this.logging.volumeSize,
      auditDeliveryStreamName: this.logging.deliveryStreamName,
      remediationFunction: this.functions.remediationFunction,
      glueJobName: this.glue.jobName,
      replicationTask: this.dms.replicationTask,
      stateMachine: this.orchestration.stateMachine,
      watchedBuckets: [this.storage.dataBucket, this.storage.scriptBucket],
      deadLetterQueue: this.messaging.createDeadLetterQueue(monitoringStack, 'EventTargetDeadLetterQueue'),
      auditDeliveryStream: this.logging.auditDeliveryStream,
      alarmThresholds: props.alarms,
      environmentSuffix: suffix,
      pipelineName,
    });

    // DMS subnet groups and VPC OpenSearch domains fail without the account-level roles.
    const prerequisites = props.accountPrerequisites ?? {};
    if (prerequisites.createDmsRoles !== false || prerequisites.createOpenSearchServiceLinkedRole !== false) {
      this.accountPrerequisites = new AccountPrerequisites(this, 'AccountPrerequisites', {
        ...prerequisites, logEncryptionKey, logRetention, environmentSuffix: suffix, removalPolicy,
      });
      dmsStack.nestedStackResource!.node.addDependency(this.accountPrerequisites.resource);
      loggingStack.nestedStackResource!.node.addDependency(this.accountPrerequisites.resource);
    }

    // The spec's explicit order; every other dependency follows from the data that flows between stacks.
    // (Set on the nested stacks' resources in this stack: Stack#addDependency is deprecated in newer aws-cdk-lib.)
    const dependsOn = (stack: NestedStack, on: NestedStack) => stack.nestedStackResource!.addDependency(on.nestedStackResource!);
    dependsOn(storageStack, networkStack);
    dependsOn(databaseStack, networkStack);
    dependsOn(glueStack, storageStack);
    dependsOn(messagingStack, glueStack);
    dependsOn(dmsStack, networkStack);
    dependsOn(dmsStack, databaseStack);

    this.incomingObjectRule = this.routeIncomingObjects(incomingRuleDeadLetterQueue);
    this.dataBucket = this.storage.dataBucket;
    this.stateMachine = this.orchestration.stateMachine;
    this.glueJobName = this.glue.jobName;
    this.glueJobArn = this.glue.jobArn;
    this.replicationTaskArn = this.dms.replicationTaskArn;
    this.dataSyncLocationArn = this.dataSync?.locationArn;
    Aspects.of(this).add(new IntendedDependsOnLintSuppression());
    acknowledgeForCdkNagV2(this);
  }

  /**
   * Adds the outputs an operator needs after deployment (the README's after-deployment steps refer to them):
   * `SourceSecretArn`, `DataSyncActivationSuccess`, `DataSyncSetupInstructions`, the bucket, topic, state machine,
   * database and domain names, and more. Without `scope` they go into the stack that holds the pipeline, named as
   * listed; when another pipeline's outputs already hold those names there, this pipeline's are prefixed with its
   * construct id (`StagingVpcId`, `StagingSourceSecretArn`, ...), so two pipelines in one stack need no scopes of
   * their own. With `scope`, the outputs are created directly in it, and ids it already has are an error.
   * The DataSync outputs are left out when `dataSync.enabled` is false.
   *
   * @param scope where the outputs are created; when omitted, the stack that holds the pipeline
   * @returns the outputs by name
   */
  public addOperatorOutputs(scope?: Construct): Record<string, CfnOutput> {
    const entries = Object.entries(operatorOutputs(this));
    const stack = Stack.of(this);
    const target = scope ?? stack;
    const taken = entries.map(([id]) => id).filter((id) => target.node.tryFindChild(id) !== undefined);
    // The first pipeline of a stack keeps the plain names (those of earlier releases); a later one is prefixed.
    const prefix = !scope && taken.length > 0 ? this.node.id.replace(/[^A-Za-z0-9]/g, '') : '';
    const clashing = prefix ? entries.map(([id]) => `${prefix}${id}`).filter((id) => stack.node.tryFindChild(id) !== undefined) : taken;
    if (clashing.length > 0) {
      throw new Error(`addOperatorOutputs: ${target.node.path || 'the app'} already has ${clashing.join(', ')}; expected a scope without these ids. ` +
        'Call it once per pipeline, or pass it a scope of its own (for example new Construct(stack, \'ProdOutputs\')).');
    }
    const outputs: Record<string, CfnOutput> = {};
    for (const [id, { value, description }] of entries) {
      outputs[id] = new CfnOutput(target, `${prefix}${id}`, { value, description });
    }
    return outputs;
  }

  /**
   * Lets `grantee` upload files under `incoming/` of the data bucket (each upload starts a validation):
   * `s3:PutObject` and `s3:AbortMultipartUpload` on `incoming/*` only, plus the bucket key's
   * `kms:GenerateDataKey` and `kms:Decrypt` when the bucket is KMS-encrypted. Nothing else of the bucket.
   * The statements go into the grantee's own policy, so it must be a role, user or group of this account.
   */
  public grantUpload(grantee: iam.IGrantable): iam.Grant {
    return grantPutUnderPrefix(this.dataBucket, INCOMING_PREFIX, grantee);
  }

  /**
   * Lets `grantee` start a migration run by hand (the README's "re-run a migration"): `states:StartExecution`
   * on the migration state machine only. The input is described by {@link MigrationRunInput}. Files uploaded
   * under `incoming/` start runs without it (see {@link grantUpload}).
   */
  public grantStartMigration(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /**
   * Lets `grantee` start a cutover (the README's "Cut over"): `states:StartExecution` on the cutover state machine
   * only, a permission of its own because a cutover stops the replication for good. Its input is optional:
   * `{"exceptionsSince": "<ISO 8601 timestamp>"}`, from when the target's apply exceptions count (default: the
   * cutover's start).
   */
  public grantStartCutover(grantee: iam.IGrantable): iam.Grant {
    return this.cutover.stateMachine.grantStartExecution(grantee);
  }

  /**
   * Lets `grantee` list and read the validation, migration and cutover reports: `s3:ListBucket` limited to the `reports/`
   * prefix, `s3:GetObject` and `s3:GetObjectVersion` on `reports/*`, plus the bucket key's `kms:Decrypt` when the
   * bucket is KMS-encrypted. The statements go into the grantee's own policy.
   */
  public grantReadReports(grantee: iam.IGrantable): iam.Grant {
    return grantReadUnderPrefix(this.dataBucket, REPORTS_PREFIX, grantee);
  }

  /**
   * Files that passed validation (`MigrationPipeline` / `FilesValidated`, `Outcome=PASSED`).
   * @default - Sum over 5 minutes
   */
  public metricFilesValidated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricFilesValidated(props);
  }

  /**
   * Files that failed validation (`MigrationPipeline` / `FilesValidated`, `Outcome=FAILED`).
   * @default - Sum over 5 minutes
   */
  public metricFilesFailedValidation(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricFilesFailedValidation(props);
  }

  /**
   * Migration runs that succeeded (the state machine's `ExecutionsSucceeded`).
   * @default - Sum over 5 minutes
   */
  public metricMigrationsSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricMigrationsSucceeded(props);
  }

  /**
   * Migration runs that failed (the state machine's `ExecutionsFailed`).
   * @default - Sum over 5 minutes
   */
  public metricMigrationsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricMigrationsFailed(props);
  }

  /**
   * How late DMS reads changes from the source, in seconds (`AWS/DMS` `CDCLatencySource` of the pipeline's task).
   * @default - Maximum over 5 minutes
   */
  public metricCdcLatencySource(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricCdcLatencySource(props);
  }

  /**
   * How late DMS applies changes to Aurora, in seconds (`AWS/DMS` `CDCLatencyTarget` of the pipeline's task).
   * @default - Maximum over 5 minutes
   */
  public metricCdcLatencyTarget(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricCdcLatencyTarget(props);
  }

  /** One error per earlier pipeline of the app with this suffix in the same account and region (or both environment-agnostic). */
  private duplicateSuffixErrors(): string[] {
    const others = this.node.root.node.findAll().filter((c): c is MigrationPipeline => c instanceof MigrationPipeline);
    const earlier = others.slice(0, others.indexOf(this))
      .filter((other) => other.environmentSuffix === this.environmentSuffix && environmentKey(other) === environmentKey(this));
    return earlier.map((other) => withSnakeCaseName(
      `environmentSuffix: received '${this.environmentSuffix}' for both ${other.node.path} and ${this.node.path} in ${environmentKey(this)}; ` +
      'expected a suffix unique per account and region, because it is part of the names of buckets, jobs, functions and the database.'));
  }

  /** Objects created under `incoming/` of the data bucket start a validation (the spec keeps this rule in the main stack). */
  private routeIncomingObjects(deadLetterQueue: sqs.IQueue): events.Rule {
    const rule = new events.Rule(this, 'S3ObjectCreatedRule', {
      ruleName: `migration-incoming-objects-${this.environmentSuffix}`,
      description: 'Files arriving under incoming/ start a Glue validation',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.storage.dataBucket.bucketName] },
          object: { key: [{ prefix: INCOMING_PREFIX }] },
        },
      },
    });
    rule.addTarget(new targets.LambdaFunction(this.functions.glueTriggerFunction, {
      deadLetterQueue,
      retryAttempts: 8,
      maxEventAge: Duration.hours(24),
    }));
    return rule;
  }
}

/** The account and region a pipeline deploys to, in words ('any account, any region' when environment-agnostic). */
function environmentKey(scope: Construct): string {
  const { account, region } = Stack.of(scope);
  const describe = (value: string, what: string) => (Token.isUnresolved(value) ? `any ${what}` : `${what} ${value}`);
  return `${describe(account, 'account')}, ${describe(region, 'region')}`;
}

interface PipelineNestedStackProps extends NestedStackProps {
  /** The zones the network stack's VPC spans, when the user named them. */
  readonly availabilityZones?: string[];
}

/**
 * A nested stack that knows its Availability Zones when the user named them: the VPC reads its stack's zones,
 * which CDK otherwise looks up in the account (needing credentials) when the account and region are concrete.
 */
class PipelineNestedStack extends NestedStack {
  private readonly zones?: string[];

  constructor(scope: Construct, id: string, props: PipelineNestedStackProps) {
    super(scope, id, props);
    this.zones = props.availabilityZones;
  }

  public get availabilityZones(): string[] {
    return this.zones ?? super.availabilityZones;
  }
}
