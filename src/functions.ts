import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeAll, exemptCrossStackReference, expectWildcards } from './private/acknowledgements';
import { createLogGroup } from './private/log-groups';
import { readRuntimeSource } from './private/runtime-code';
import { requireDurationInRange, requireIntegerInRange } from './private/validation';
import { INCOMING_PREFIX, QUARANTINE_PREFIX, REPORTS_PREFIX } from './storage';

/** Settings of the three pipeline functions. */
export interface FunctionsOptions {
  /**
   * How long one invocation may take.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;

  /**
   * Concurrency reserved for (and capping) each function.
   * @default - no reservation: the functions share the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;

  /**
   * How long the functions' logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * How often the remediation function resumes a failed DMS task before it only alerts.
   * @default 1
   */
  readonly maxDmsResumes?: number;

  /**
   * How often the remediation function redrives a failed state machine execution before it only alerts.
   * @default 1
   */
  readonly maxRedrives?: number;
}

/** Props of {@link PipelineFunctions}. */
export interface PipelineFunctionsProps extends FunctionsOptions {
  /** The VPC; the functions run in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The functions' security group. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The data bucket (quarantine moves). */
  readonly dataBucket: s3.IBucket;
  /** The name of the Glue validation job. */
  readonly glueJobName: string;
  /** Validation results: PASSED starts a migration, FAILED goes to remediation. */
  readonly validationTopic: sns.ITopic;
  /** Where the remediation function publishes alerts. */
  readonly alertTopic: sns.ITopic;
  /** The key of the topics and the dead-letter queue. */
  readonly messagingKey: kms.IKey;
  /** Receives the events a function could not process after its retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The migration state machine. */
  readonly stateMachine: sfn.IStateMachine;
  /** The DMS task the remediation function may resume. */
  readonly replicationTask: dms.CfnReplicationTask;
  /**
   * The task's lease: remediation resumes the task only when no deployment holds it.
   * @default - remediation resumes without looking at a lease
   */
  readonly taskLease?: dynamodb.ITable;
  /**
   * The customer-managed key that encrypts this concern's log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * The name the pipeline's own audit events carry.
   * @default 'migration-pipeline'
   */
  readonly pipelineName?: string;
  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Glue trigger, the Step Functions trigger and the remediation function: Python 3.12, code inlined from
 * the library's runtime files, in private subnets, each with a dead-letter queue, tracing and its own log group.
 */
export class PipelineFunctions extends Construct {
  /** Starts the validation job for a file that arrived under `incoming/`. */
  public readonly glueTriggerFunction: lambda.IFunction;
  /** Starts a migration for a file that passed validation. */
  public readonly stepFunctionTriggerFunction: lambda.IFunction;
  /** Heals what it can (resume DMS, redrive, quarantine) and alerts. */
  public readonly remediationFunction: lambda.IFunction;

  private readonly props: PipelineFunctionsProps;
  private readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    this.props = props;
    // Lambda rejects (at construction) a timeout over 15 minutes or not in whole seconds; the default stands in.
    this.timeout = requireDurationInRange(this, 'functions.timeout', props.timeout, Duration.seconds(10), Duration.minutes(15))
      ? props.timeout ?? Duration.minutes(1) : Duration.minutes(1);
    requireIntegerInRange(this, 'functions.reservedConcurrency', props.reservedConcurrency, 1, 1000);
    requireIntegerInRange(this, 'functions.maxDmsResumes', props.maxDmsResumes, 0, 10);
    requireIntegerInRange(this, 'functions.maxRedrives', props.maxRedrives, 0, 10);
    const stack = Stack.of(this);
    const suffix = props.environmentSuffix;
    const pipelineName = props.pipelineName ?? 'migration-pipeline';
    const common = { PIPELINE_NAME: pipelineName, AUDIT_EVENT_BUS: 'default' };

    this.glueTriggerFunction = this.pythonFunction('GlueTriggerFunction', `migration-glue-trigger-${suffix}`, 'glue_trigger.py', {
      ...common,
      GLUE_JOB_NAME: props.glueJobName,
      VALIDATION_TOPIC_ARN: props.validationTopic.topicArn,
      INCOMING_PREFIX,
      REPORT_PREFIX: REPORTS_PREFIX,
    });
    this.glueTriggerFunction.addToRolePolicy(new iam.PolicyStatement({
      actions: ['glue:StartJobRun', 'glue:GetJobRuns'],
      resources: [stack.formatArn({ service: 'glue', resource: 'job', resourceName: props.glueJobName })],
    }));

    this.stepFunctionTriggerFunction = this.pythonFunction('StepFunctionTriggerFunction', `migration-sfn-trigger-${suffix}`,
      'step_function_trigger.py', { ...common, STATE_MACHINE_ARN: props.stateMachine.stateMachineArn });
    props.stateMachine.grantStartExecution(this.stepFunctionTriggerFunction);

    this.remediationFunction = this.pythonFunction('RemediationFunction', `migration-remediation-${suffix}`, 'remediation.py', {
      ...common,
      ALERT_TOPIC_ARN: props.alertTopic.topicArn,
      DATA_BUCKET: props.dataBucket.bucketName,
      INCOMING_PREFIX,
      QUARANTINE_PREFIX,
      MAX_DMS_RESUMES: String(props.maxDmsResumes ?? 1),
      MAX_REDRIVES: String(props.maxRedrives ?? 1),
      ...(props.taskLease ? { LEASE_TABLE_NAME: props.taskLease.tableName } : {}),
    });
    props.taskLease?.grant(this.remediationFunction, 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    this.grantRemediation(this.remediationFunction);

    // Validation results fan out by outcome: PASSED starts a migration, FAILED is remediated.
    this.subscribeToOutcome(this.stepFunctionTriggerFunction, 'PASSED');
    this.subscribeToOutcome(this.remediationFunction, 'FAILED');
  }

  private pythonFunction(id: string, functionName: string, sourceFile: string, environment: Record<string, string>): lambda.Function {
    const props = this.props;
    const logGroup = createLogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const fn = new lambda.Function(this, id, {
      functionName,
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: 'index.handler',
      code: lambda.Code.fromInline(readRuntimeSource(sourceFile)),
      timeout: this.timeout,
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.securityGroup],
      environment,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrency,
      // Asynchronous invocations (EventBridge, SNS) are retried twice, then kept in the dead-letter queue.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      deadLetterQueue: props.deadLetterQueue,
    });
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
    }));
    // Sending to the encrypted dead-letter queue and publishing to the encrypted topics need the key.
    props.messagingKey.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.acknowledgeFunctionFindings(fn);
    exemptCrossStackReference(fn, 'lambda_inside_vpc_check', 'VpcConfig (private subnets and security group of NetworkStack)');
    return fn;
  }

  private subscribeToOutcome(fn: lambda.IFunction, outcome: string): void {
    this.props.validationTopic.addSubscription(new subscriptions.LambdaSubscription(fn, {
      filterPolicy: { outcome: sns.SubscriptionFilter.stringFilter({ allowlist: [outcome] }) },
    }));
    for (const permission of fn.node.children.filter((child) => child.node.id.startsWith('AllowInvoke:'))) {
      exemptCrossStackReference(permission, 'lambda_function_public_access_prohibited_check', 'SourceArn (the validation topic of MessagingStack)');
    }
  }

  /** Exactly what remediation does: resume the task, redrive executions, move files to quarantine, alert. */
  private grantRemediation(fn: lambda.IFunction): void {
    const props = this.props;
    const stack = Stack.of(this);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.alertTopic.topicArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['dms:StartReplicationTask', 'dms:AddTagsToResource', 'dms:ListTagsForResource'],
      resources: [props.replicationTask.ref],
    }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      // DescribeReplicationTasks does not support resource-level permissions.
      actions: ['dms:DescribeReplicationTasks'],
      resources: ['*'],
    }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['states:DescribeExecution', 'states:RedriveExecution'],
      resources: [stack.formatArn({
        service: 'states',
        resource: 'execution',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        resourceName: `${stack.splitArn(props.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}:*`,
      })],
    }));
    // Quarantine copies the failed version from incoming/ to quarantine/ (multipart for large files), then deletes
    // that version only; listing lets a missing object read as absent (404) rather than forbidden.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.dataBucket.bucketArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [props.dataBucket.arnForObjects(`${INCOMING_PREFIX}*`)],
    }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      resources: [props.dataBucket.arnForObjects(`${QUARANTINE_PREFIX}*`)],
    }));
    // Glue alerts name the file of the failed run.
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['glue:GetJobRun'],
      resources: [stack.formatArn({ service: 'glue', resource: 'job', resourceName: props.glueJobName })],
    }));
    expectWildcards(fn, [
      { finding: /^Resource::<[^>]*DataBucket[^>]*>\/(incoming|quarantine)\/\*$/, reason: 'Quarantine moves any failed file from incoming/ to quarantine/: one prefix each' },
      { finding: /^Resource::arn:<AWS::Partition>:states:[^:]+:(?:<AWS::AccountId>|\d{12}):execution:.*:\*$/, reason: 'Redrive applies to any execution of this pipeline\'s state machine (its name is fixed, the execution ids are not)' },
    ]);
  }

  /** What every pipeline function is allowed, with the reasons where a scanner flags it. */
  private acknowledgeFunctionFindings(fn: lambda.Function): void {
    expectWildcards(fn, [{
      finding: /^Resource::\*$/,
      reason: 'Only X-Ray trace upload and dms:DescribeReplicationTasks, which support no resource-level permissions',
    }]);
    acknowledgeAll(fn, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'AWS-managed log-writing policy; the function writes only to its own KMS-encrypted log group',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]':
        'AWS-managed network-interface policy that every function in a VPC needs; it grants no data access',
      'AwsSolutions-L1': 'Python 3.12 is the runtime the specification fixes; Lambda supports it and the code runs unchanged on later versions',
      'NIST.800.53.R5-LambdaConcurrency': 'Reserved concurrency is the functions.reservedConcurrency prop; unset by default so small accounts can deploy',
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The role policy belongs to this one function and lists only the calls its code makes (tested by simulation)',
    });
  }
}
