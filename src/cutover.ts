import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeAll, exemptFromGuard, expectWildcards } from './private/acknowledgements';
import { CutoverChecksFunction } from './private/cutover-checks-function';
import { CUTOVER_STOPPING_PHASE, CutoverLeaseStates } from './private/cutover-lease';
import { createLogGroup } from './private/log-groups';
import { readRuntimeSource } from './private/runtime-code';
import { reportError, requireDurationInRange, requireIntegerInRange, requireMatch } from './private/validation';

/** Settings of the cutover workflow. */
export interface CutoverOptions {
  /**
   * The highest CDCLatencySource and CDCLatencyTarget (one-minute maximum) a settled sample may show.
   * A full-load task has no CDC: its cutover does not wait, and this is not used.
   * @default Duration.seconds(10)
   */
  readonly maxCdcLatency?: Duration;

  /**
   * How many one-minute samples in a row must be settled (both latencies at most `maxCdcLatency`, CDCIncomingChanges 0)
   * before the cutover goes on. From 1 to 60.
   * A full-load task has no CDC: its cutover does not wait, and this is not used.
   * @default 5
   */
  readonly settledSamples?: number;

  /**
   * How long the cutover waits for CDC to settle and for validation to catch up, before it aborts (the task keeps
   * running). At most 600 looks (`settleTimeout / settleInterval`), so that the wait fits in an execution's history.
   * A full-load task has no CDC: its cutover does not wait, and this is not used.
   * @default Duration.hours(1)
   */
  readonly settleTimeout?: Duration;

  /**
   * How long the cutover waits between two looks at the CDC metrics. At least a minute (the metrics' period).
   * A full-load task has no CDC: its cutover does not wait, and this is not used.
   * @default Duration.minutes(1)
   */
  readonly settleInterval?: Duration;

  /**
   * Whether the tables DMS cannot validate (no primary key, or validation off) must have equal row counts (and
   * checksums, where their column types allow one) on the source and the target. When false, differences are listed
   * in the report but do not abort the cutover.
   * @default true
   */
  readonly requireReconciledTables?: boolean;

  /**
   * An SSM parameter (String) that the applications read to find their database, which a completed cutover sets to
   * `switchParameterValue` (an existing parameter of yours; the pipeline never creates or deletes it).
   * @default - no parameter is changed: the applications are pointed at the target by hand
   */
  readonly switchParameterName?: string;

  /**
   * The value a completed cutover writes into `switchParameterName` (for example the Aurora writer endpoint).
   * Required with `switchParameterName`.
   * @default - none
   */
  readonly switchParameterValue?: string;
}

/** Props of {@link Cutover}. */
export interface CutoverProps extends CutoverOptions {
  /** The DMS task the cutover stops. */
  readonly replicationTask: dms.CfnReplicationTask;
  /** The task's migration type: a `full-load` task has no CDC to wait for. */
  readonly migrationType: string;
  /** The replication instance's identifier (a dimension of the CDC metrics). */
  readonly replicationInstanceIdentifier: string;
  /** The task's lease table, shared with the runs, the stop guard and remediation. */
  readonly taskLease: dynamodb.ITable;
  /** The migration state machine: a run of it that holds the task refuses the cutover. */
  readonly migrationStateMachineName: string;
  /** The table-review function of the migration state machine. */
  readonly tableReviewFunction: lambda.IFunction;
  /** Receives the cutover reports (`reports/cutovers/`) and holds the table reviews (`reports/migrations/`). */
  readonly reportBucket: s3.IBucket;
  /** Where the table reviews are written (the table-review function's prefix). */
  readonly reviewPrefix: string;
  /** Receives the cutover's notification (message attribute `cutoverOutcome` COMPLETE or ABORTED). */
  readonly notificationTopic: sns.ITopic;
  /**
   * The key the notification topic is encrypted with.
   * @default - the topic is not encrypted with a customer-managed key
   */
  readonly notificationTopicKey?: kms.IKey;
  /** The VPC of the databases' network: the database checks run in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** Aurora's security group. */
  readonly targetSecurityGroup: ec2.ISecurityGroup;
  /** The source's port. */
  readonly sourcePort: number;
  /**
   * The on-premises ranges the source lives in.
   * @default - any IPv4 address (the source's host is in its secret)
   */
  readonly sourceCidrs?: string[];
  /** The DMS source secret (`username`, `password`, `host`, `port`): the database checks read the source with it. */
  readonly sourceSecret: secretsmanager.ISecret;
  /** The Aurora secret (`username`, `password`, `host`, `port`): the database checks read the target with it. */
  readonly targetSecret: secretsmanager.ISecret;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /** The pipeline name the audit event carries. */
  readonly pipelineName: string;
  /** How long the logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * The key that encrypts the log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /** What happens to the log groups when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
}

/** Where the cutover reports are written in the report bucket. */
export const CUTOVER_REPORT_PREFIX = 'reports/cutovers/';
/** The most looks one cutover's wait may make (see `settleTimeout`). */
export const MAX_SETTLE_LOOKS = 600;
/** Where DMS keeps its control tables on a MySQL-compatible target when the task names no control schema. */
const CONTROL_SCHEMA = 'awsdms_control';
const AUDIT_EVENT_SOURCE = 'migration.pipeline';
const CALL_TIMEOUT = Duration.minutes(1);
const LAMBDA_TRANSIENT_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];
const DMS_TRANSIENT_ERRORS = ['DatabaseMigration.ThrottlingException', 'States.Timeout'];
/** How often, and how long, the cutover looks at a stopping task (40 × 15 s: DMS stops a task within minutes). */
const STOP_POLL = Duration.seconds(15);
const MAX_STOP_LOOKS = 40;

/**
 * The cutover: the last step of a migration, started by an operator once the applications stopped writing to the
 * source. It takes the task's lease, checks the verdict, waits (bounded) until CDC has applied everything, reviews
 * the tables a last time, checks the target's apply exceptions and reconciles the tables DMS cannot validate, then
 * stops the task and keeps the lease, so that nothing starts it again. Every check that fails aborts it: the task
 * keeps running and the source stays authoritative. Either way it writes a report, sends one `Cutover Complete` or
 * `Cutover Aborted` event and publishes one notification.
 */
export class Cutover extends Construct {
  /** The cutover state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** Reads the task's CDC metrics for the cutover's wait. */
  public readonly settleFunction: lambda.IFunction;
  /** Checks the target's apply exceptions and reconciles the tables DMS cannot validate. */
  public readonly checksFunction: lambda.IFunction;

  private readonly props: CutoverProps;
  private readonly taskArn: string;

  constructor(scope: Construct, id: string, props: CutoverProps) {
    super(scope, id);
    this.props = props;
    this.taskArn = props.replicationTask.ref;
    const settle = checkedSettleSettings(this, props);
    const suffix = props.environmentSuffix;
    const stateMachineName = `migration-cutover-${suffix}`;
    const executions = (name: string) => Stack.of(this).formatArn({
      service: 'states', resource: 'execution', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `${name}:*`,
    });
    const lease = new CutoverLeaseStates(this, props.taskLease, this.taskArn,
      [executions(props.migrationStateMachineName), executions(stateMachineName)]);

    this.settleFunction = this.createSettleFunction(`migration-cutover-settle-${suffix}`);
    this.checksFunction = new CutoverChecksFunction(this, 'Checks', {
      functionName: `migration-cutover-checks-${suffix}`,
      vpc: props.vpc,
      targetSecurityGroup: props.targetSecurityGroup,
      sourcePort: props.sourcePort,
      sourceCidrs: props.sourceCidrs,
      sourceSecret: props.sourceSecret,
      targetSecret: props.targetSecret,
      controlSchema: CONTROL_SCHEMA,
      reportBucket: props.reportBucket,
      reviewPrefix: props.reviewPrefix,
      reportPrefix: CUTOVER_REPORT_PREFIX,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      removalPolicy: props.removalPolicy,
    }).function;

    const announceComplete = this.announce('Complete', 'COMPLETE');
    const abort = lease.release(this.announce('Aborted', 'ABORTED'));
    const aborted = (abortId: string, reason: string, message: string, fields: Record<string, unknown> = {}) =>
      new sfn.Pass(this, abortId, { parameters: this.outcome('ABORTED', reason, message, fields), resultPath: '$.outcome' }).next(abort);
    const leaseUnavailable = aborted('CutoverLeaseUnavailable', 'LEASE_UNAVAILABLE',
      'The task\'s lease could not be read or written; the error is in `error`. The task was left as it was');

    const stop = this.stopTask(lease, announceComplete, aborted, leaseUnavailable);
    const checks = this.databaseChecks(stop, aborted);
    const loop = this.settleLoop(settle, checks, aborted);
    const verdict = this.checkTaskRuns(this.checkVerdict(loop.start, aborted), aborted);
    const held = lease.acquire(verdict, {
      held: aborted('TaskHeld', 'TASK_HELD', 'Another actor holds the task (see `lease`): a migration run, a deployment, '
        + 'a remediation or another cutover. Start the cutover again once it is over', { 'lease.$': '$.lease' }),
      alreadyCutOver: aborted('AlreadyCutOver', 'ALREADY_CUT_OVER', 'An earlier cutover completed; the task stays stopped',
        { 'lease.$': '$.lease' }),
      contended: aborted('CutoverLeaseContended', 'TASK_HELD', 'The task\'s lease changed hands at every look; start the cutover again',
        { 'lease.$': '$.lease' }),
      failed: leaseUnavailable,
    });
    const definition = this.initialise(aborted).next(held);

    const logGroup = createLogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      // No execution timeout: every wait is bounded by its own count, so every path releases the lease and reports.
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    props.notificationTopicKey?.grant(this.stateMachine, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.acknowledgeFindings();
  }

  /** The input's `exceptionsSince` (default: the cutover's start) and the state every path can report from. */
  private initialise(aborted: AbortMaker): sfn.Chain {
    const state = (id: string, since: string) => new sfn.Pass(this, id, {
      parameters: {
        'request.$': '$',
        // This execution's ARN in the state, where the lease's Choice compares the holder with it.
        'me.$': '$$.Execution.Id',
        'since.$': since,
        'leaseAttempts': { count: 0 },
        'looks': { count: 0 },
        'lease': {},
        'sample': 'NOT_SAMPLED',
        'review': 'NOT_REVIEWED',
        'checks': 'NOT_RUN',
        'task': { Status: 'NOT_DESCRIBED' },
        'error': {},
      },
    });
    const invalid = aborted('InvalidCutoverInput', 'INVALID_INPUT',
      'The input\'s exceptionsSince must be an ISO 8601 timestamp with a time zone, such as 2026-12-07T10:00:00Z');
    const fromInput = state('InitialiseFromInput', '$.exceptionsSince');
    // `invalid` reports from the state, so it needs one first.
    const invalidWithState = state('InitialiseForInvalidInput', '$$.Execution.StartTime').next(invalid);
    return new sfn.Choice(this, 'HasExceptionsSince')
      .when(sfn.Condition.isNotPresent('$.exceptionsSince'), state('InitialiseFromStart', '$$.Execution.StartTime'))
      .when(sfn.Condition.isTimestamp('$.exceptionsSince'), fromInput)
      .otherwise(invalidWithState)
      .afterwards({ includeOtherwise: false });
  }

  /**
   * A task with CDC must be running: only then does it apply the source's last changes (and publish the metrics the
   * wait reads). A stopped or failed task aborts the cutover at once instead of after the whole wait. A full-load task
   * has no CDC and has stopped once loaded.
   */
  private checkTaskRuns(next: sfn.IChainable, aborted: AbortMaker): sfn.IChainable {
    if (this.props.migrationType === 'full-load') {
      return next;
    }
    const notRunning = aborted('TaskNotRunning', 'TASK_NOT_RUNNING',
      'The task does not run (its status is in `task`): a cutover needs the running CDC task to apply the source\'s last changes. '
      + 'Start a migration run (or resume the task), then start the cutover again');
    const describe = this.dmsCall('DescribeTaskForCutover', 'describeReplicationTasks', 'dms:DescribeReplicationTasks', {
      Filters: [{ Name: 'replication-task-arn', Values: [this.taskArn] }],
      WithoutSettings: true,
    }, ['*'], { 'Status.$': '$.ReplicationTasks[0].Status' }, '$.task', notRunning);
    return describe.next(new sfn.Choice(this, 'IsTaskRunning')
      .when(sfn.Condition.stringEquals('$.task.Status', 'running'), next)
      .otherwise(notRunning));
  }

  /**
   * The verdict before anything else: a table review whose verdict is final and forbids a cutover (tables not loaded,
   * rows that differ) aborts at once. Tables DMS cannot validate do not: the database checks reconcile them.
   */
  private checkVerdict(next: sfn.IChainable, aborted: AbortMaker): sfn.IChainable {
    const review = this.invokeReview('CheckVerdict', aborted);
    return review.next(new sfn.Choice(this, 'DoesVerdictForbidCutover')
      .when(sfn.Condition.and(
        sfn.Condition.booleanEquals('$.review.settled', true),
        sfn.Condition.stringEquals('$.review.status', 'FAILED'),
        sfn.Condition.not(sfn.Condition.stringEquals('$.review.reason', 'TABLES_NOT_VALIDATABLE')),
      ), this.verdictForbids('VerdictForbidsCutover', aborted))
      .otherwise(next));
  }

  /**
   * The bounded wait: look at the CDC metrics until they are settled (skipped for a full-load task, which has no
   * CDC), then review the tables a last time; a verdict still pending waits another interval. Each look costs about
   * 20 history events, so MAX_SETTLE_LOOKS looks stay far below 25,000.
   */
  private settleLoop(settle: SettleSettings, next: sfn.IChainable, aborted: AbortMaker): { start: sfn.IChainable } {
    const wait = new sfn.Wait(this, 'WaitForSettle', { time: sfn.WaitTime.duration(settle.interval) });
    const count = new sfn.Pass(this, 'CountSettleLook', {
      parameters: { 'count.$': 'States.MathAdd($.looks.count, 1)' },
      resultPath: '$.looks',
    }).next(wait);
    const lastReview = this.invokeReview('ReviewTablesBeforeStop', aborted);
    const waitedOut = (id: string, reason: string, message: string) => aborted(id, reason, message);
    lastReview.next(new sfn.Choice(this, 'DoesVerdictAllowCutover')
      .when(sfn.Condition.or(
        sfn.Condition.stringEquals('$.review.status', 'SUCCEEDED'),
        sfn.Condition.stringEquals('$.review.reason', 'TABLES_NOT_VALIDATABLE'),
      ), next)
      .when(sfn.Condition.booleanEquals('$.review.settled', true), this.verdictForbids('VerdictStillForbidsCutover', aborted))
      .when(sfn.Condition.numberGreaterThanEquals('$.looks.count', settle.maxLooks), waitedOut('VerdictNotSettled', 'VALIDATION_PENDING',
        `The tables were not all validated within ${settle.timeout.toHumanString()}; see \`review\``))
      .otherwise(count));
    if (this.props.migrationType === 'full-load') {
      wait.next(lastReview);
      return { start: lastReview };
    }
    const sample = new tasks.LambdaInvoke(this, 'SampleCdcMetrics', {
      lambdaFunction: this.settleFunction,
      payload: sfn.TaskInput.fromObject({ thresholdSeconds: settle.maxLatency.toSeconds(), samples: settle.samples }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.sample',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    });
    sample.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 2, backoffRate: 2 });
    sample.addCatch(aborted('CdcMetricsUnreadable', 'CDC_METRICS_UNREADABLE',
      'The task\'s CDC metrics could not be read; the error is in `error`'), { resultPath: '$.error' });
    sample.next(new sfn.Choice(this, 'IsCdcSettled')
      .when(sfn.Condition.booleanEquals('$.sample.settled', true), lastReview)
      .when(sfn.Condition.numberGreaterThanEquals('$.looks.count', settle.maxLooks), waitedOut('CdcNotSettled', 'CDC_NOT_SETTLED',
        `CDC did not settle within ${settle.timeout.toHumanString()} (latencies at most ${settle.maxLatency.toSeconds()} s and `
        + `no incoming changes for ${settle.samples} minutes in a row); the last sample is in \`sample\`. Are the applications still writing to the source?`))
      .otherwise(count));
    wait.next(sample);
    return { start: sample };
  }

  /** The database checks: apply exceptions since `since`, and the reconciliation of what DMS cannot validate. */
  private databaseChecks(next: sfn.IChainable, aborted: AbortMaker): sfn.IChainable {
    const checks = new tasks.LambdaInvoke(this, 'CheckDatabases', {
      lambdaFunction: this.checksFunction,
      payload: sfn.TaskInput.fromObject({
        'cutoverId.$': '$$.Execution.Name',
        'since.$': '$.since',
        'tableReport.$': '$.review.tableReport',
        'requireEquality': this.props.requireReconciledTables ?? true,
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.checks',
      // The function's own timeout is 15 minutes.
      taskTimeout: sfn.Timeout.duration(Duration.minutes(16)),
    });
    checks.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 2, backoffRate: 2 });
    checks.addCatch(aborted('DatabaseChecksNotRun', 'CHECKS_NOT_RUN',
      'The database checks could not run (secrets, network or the databases); the error is in `error`'), { resultPath: '$.error' });
    return checks.next(new sfn.Choice(this, 'DidDatabaseChecksPass')
      .when(sfn.Condition.booleanEquals('$.checks.passed', true), next)
      .otherwise(aborted('DatabaseChecksFailed', 'CHECKS_FAILED',
        'The database checks failed: apply exceptions since `exceptionsSince`, tables that differ, or tables neither validated nor '
        + 'reconcilable; the reasons are in `checks.reasons`, every table in `checks.detailsKey`')));
  }

  /**
   * Stops the task, once the lease says `stopping` (a deployment that took the task meanwhile aborts the cutover), and
   * waits until DMS reports it stopped; then marks the cutover complete in the lease for good.
   */
  private stopTask(lease: CutoverLeaseStates, complete: sfn.IChainable, aborted: AbortMaker, leaseUnavailable: sfn.IChainable): sfn.IChainable {
    const taken = aborted('TaskTakenDuringCutover', 'TASK_TAKEN',
      'A deployment took the task during the cutover; its update resumes the task. Start the cutover again afterwards');
    const stopFailed = aborted('TaskNotStopped', 'TASK_NOT_STOPPED',
      'The task could not be stopped, or did not stop in time; the error or the task is in `error` and `task`. Check the task '
      + 'before you point the applications at the target');
    const markComplete = lease.markComplete(this.props.switchParameterName ? this.switchParameter(complete) : complete);
    const describe = this.dmsCall('DescribeTaskForStop', 'describeReplicationTasks', 'dms:DescribeReplicationTasks', {
      Filters: [{ Name: 'replication-task-arn', Values: [this.taskArn] }],
      WithoutSettings: true,
    }, ['*'], { 'Status.$': '$.ReplicationTasks[0].Status' }, '$.task', stopFailed);
    const request = this.dmsCall('StopReplicationTask', 'stopReplicationTask', 'dms:StopReplicationTask',
      { ReplicationTaskArn: this.taskArn }, [this.taskArn], undefined, sfn.JsonPath.DISCARD, stopFailed);
    const wait = new sfn.Wait(this, 'WaitForTaskStop', { time: sfn.WaitTime.duration(STOP_POLL) });
    const count = new sfn.Pass(this, 'CountStopLook', {
      parameters: { 'count.$': 'States.MathAdd($.stopLooks.count, 1)' },
      resultPath: '$.stopLooks',
    });
    const stopped = new sfn.Choice(this, 'IsTaskStopped')
      .when(sfn.Condition.stringEquals('$.task.Status', 'stopped'), markComplete)
      .when(sfn.Condition.stringEquals('$.task.Status', 'running'), request)
      .when(sfn.Condition.stringEquals('$.task.Status', 'failed'), stopFailed)
      .when(sfn.Condition.numberGreaterThanEquals('$.stopLooks.count', MAX_STOP_LOOKS), stopFailed)
      .otherwise(count);
    request.next(count);
    count.next(wait).next(describe).next(stopped);
    const mark = lease.markPhase('MarkCutoverStopping', CUTOVER_STOPPING_PHASE, taken, leaseUnavailable);
    return mark.next(new sfn.Pass(this, 'StartStopLooks', { result: sfn.Result.fromObject({ count: 0 }), resultPath: '$.stopLooks' }))
      .next(describe);
  }

  /** Points the applications at the target: the user's SSM parameter gets the configured value. */
  private switchParameter(next: sfn.IChainable): sfn.IChainable {
    const name = this.props.switchParameterName!;
    const put = new tasks.CallAwsService(this, 'SwitchApplications', {
      service: 'ssm',
      action: 'putParameter',
      iamAction: 'ssm:PutParameter',
      parameters: { Name: name, Value: this.props.switchParameterValue, Overwrite: true },
      iamResources: [Stack.of(this).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') })],
      resultPath: '$.switch',
      resultSelector: { 'version.$': '$.Version' },
      taskTimeout: sfn.Timeout.duration(CALL_TIMEOUT),
    });
    put.addRetry({ errors: ['Ssm.TooManyUpdatesException', 'States.Timeout'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    // The task is stopped: the cutover is complete whatever happens here, and its outcome says the switch failed.
    put.addCatch(new sfn.Pass(this, 'SwitchFailed', {
      parameters: { 'failed': true, 'error.$': '$.switchError' },
      resultPath: '$.switch',
    }).next(next), { resultPath: '$.switchError' });
    return put.next(next);
  }

  /** Writes the report, sends the audit event, publishes the notification, then ends the execution. */
  private announce(event: 'Complete' | 'Aborted', status: string): sfn.IChainable {
    const completed = status === 'COMPLETE';
    const outcome = completed ? new sfn.Pass(this, 'CutoverCompleted', {
      parameters: this.outcome('COMPLETE', 'CUT_OVER', 'The task is stopped and the target holds every change of the source: '
        + 'point the applications at the target' + (this.props.switchParameterName ? ' (done: see `switch`)' : ''),
      this.props.switchParameterName ? { 'switch.$': '$.switch' } : {}),
      resultPath: '$.outcome',
    }) : undefined;
    const end = completed
      ? new sfn.Succeed(this, 'CutoverSucceeded', { outputPath: '$.outcome' })
      : new sfn.Fail(this, 'CutoverFailed', { error: 'CutoverAborted', causePath: 'States.JsonToString($.outcome)' });
    const publish = new tasks.SnsPublish(this, `NotifyCutover${event}`, {
      topic: this.props.notificationTopic,
      subject: `Cutover ${status}`,
      message: sfn.TaskInput.fromObject({ 'cutoverOutcome': status, 'execution.$': '$$.Execution.Id', 'outcome.$': '$.outcome' }),
      messageAttributes: { cutoverOutcome: { value: status } },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(CALL_TIMEOUT),
    });
    publish.addRetry({
      errors: ['SNS.ThrottledException', 'SNS.KMSThrottlingException', 'SNS.InternalErrorException', 'States.Timeout'],
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });
    publish.addCatch(new sfn.Fail(this, `Cutover${event}NotificationFailed`, {
      error: 'NotificationFailed', cause: `The cutover ended (${status}) but its notification could not be published; see the report`,
    }), { resultPath: '$.notificationError' });
    publish.next(end);
    const audit = new tasks.EventBridgePutEvents(this, `PublishCutover${event}Event`, {
      entries: [{
        source: AUDIT_EVENT_SOURCE,
        detailType: `Cutover ${event}`,
        detail: sfn.TaskInput.fromObject({ 'pipeline': this.props.pipelineName, 'execution.$': '$$.Execution.Id', 'outcome.$': '$.outcome' }),
      }],
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(CALL_TIMEOUT),
    });
    audit.addCatch(publish, { resultPath: '$.auditError' });
    audit.next(publish);
    const write = new tasks.CallAwsService(this, `WriteCutover${event}Report`, {
      service: 's3',
      action: 'putObject',
      iamAction: 's3:PutObject',
      parameters: {
        'Bucket': this.props.reportBucket.bucketName,
        'Key.$': '$.outcome.report.key',
        'Body.$': 'States.JsonToString($.outcome)',
        'ContentType': 'application/json',
      },
      iamResources: [this.props.reportBucket.arnForObjects(`${CUTOVER_REPORT_PREFIX}*`)],
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(CALL_TIMEOUT),
    });
    write.addRetry({ errors: ['States.Timeout'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    // The notification still goes out and names the error: the report is the record, not the decision.
    write.addCatch(new sfn.Pass(this, `Cutover${event}ReportNotWritten`, {
      parameters: { 'bucket': this.props.reportBucket.bucketName, 'key': 'NOT_WRITTEN', 'error.$': '$.reportError' },
      resultPath: '$.outcome.report',
    }).next(audit), { resultPath: '$.reportError' });
    write.next(audit);
    return outcome ? outcome.next(write) : write;
  }

  /**
   * The cutover's outcome and report: what ended it, the last CDC sample, the last table review (its per-table report
   * in S3), the database checks (their per-table details in S3) and the times. Every part is of fixed size, whatever
   * the number of tables.
   */
  private outcome(status: string, reason: string, message: string, fields: Record<string, unknown>): Record<string, unknown> {
    return {
      status,
      reason,
      message,
      ...fields,
      'execution.$': '$$.Execution.Id',
      'replicationTaskArn': this.taskArn,
      'startedAt.$': '$$.Execution.StartTime',
      'endedAt.$': '$$.State.EnteredTime',
      'exceptionsSince.$': '$.since',
      'cdc.$': '$.sample',
      'looks.$': '$.looks.count',
      'review.$': '$.review',
      'checks.$': '$.checks',
      'task.$': '$.task',
      'error.$': '$.error',
      'report': {
        'bucket': this.props.reportBucket.bucketName,
        'key.$': `States.Format('${CUTOVER_REPORT_PREFIX}{}.json', $$.Execution.Name)`,
      },
    };
  }

  private verdictForbids(id: string, aborted: AbortMaker): sfn.IChainable {
    return aborted(id, 'VERDICT_FORBIDS_CUTOVER',
      'The table review forbids a cutover (tables not loaded, rows that differ, or no tables); its verdict is in `review`');
  }

  /** One table review under the cutover's own name, so it never shares the report of a migration run. */
  private invokeReview(id: string, aborted: AbortMaker): tasks.LambdaInvoke {
    const review = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: this.props.tableReviewFunction,
      payload: sfn.TaskInput.fromObject({
        'execution.$': "States.Format('cutover-{}', $$.Execution.Name)",
        'review.$': '$.looks.count',
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.review',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(6)),
    });
    review.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 2, backoffRate: 2 });
    review.addCatch(aborted(`${id}Failed`, 'TABLE_REVIEW_FAILED', 'The task\'s tables could not be reviewed; the error is in `error`'),
      { resultPath: '$.error' });
    return review;
  }

  private dmsCall(id: string, action: string, iamAction: string, parameters: Record<string, unknown>, iamResources: string[],
    resultSelector: Record<string, unknown> | undefined, resultPath: string, onError: sfn.IChainable): tasks.CallAwsService {
    const call = new tasks.CallAwsService(this, id, {
      service: 'databasemigration',
      action,
      iamAction,
      parameters,
      iamResources,
      resultSelector,
      resultPath,
      taskTimeout: sfn.Timeout.duration(CALL_TIMEOUT),
    });
    call.addRetry({ errors: DMS_TRANSIENT_ERRORS, interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    call.addCatch(onError, { resultPath: '$.error' });
    return call;
  }

  private createSettleFunction(functionName: string): lambda.IFunction {
    const fn = new lambda.Function(this, 'SettleFunction', {
      functionName,
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: 'index.handler',
      code: lambda.Code.fromInline(readRuntimeSource('cutover_settle.py')),
      timeout: Duration.minutes(1),
      memorySize: 256,
      tracing: lambda.Tracing.ACTIVE,
      description: 'Reads the DMS task\'s CDC latency and incoming changes for the cutover\'s wait',
      environment: {
        REPLICATION_TASK_ARN: this.taskArn,
        REPLICATION_INSTANCE_ID: this.props.replicationInstanceIdentifier,
      },
      logGroup: createLogGroup(this, 'SettleLogs', {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: this.props.logRetention,
        encryptionKey: this.props.logEncryptionKey,
        removalPolicy: this.props.removalPolicy,
      }),
    });
    // GetMetricData supports no resource-level permissions (CloudWatch's service authorization reference).
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    const reason = 'Called synchronously by the cutover state machine, once per look';
    expectWildcards(fn, [{ finding: /^Resource::\*$/, reason: 'CloudWatch GetMetricData and X-Ray trace upload support no resource-level permissions' }]);
    acknowledgeAll(fn, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}; AWS-managed log-writing policy`,
      'AwsSolutions-L1': 'Python 3.12, the runtime of the pipeline\'s other functions; the code runs unchanged on later versions',
      'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation at a time per cutover`,
      'NIST.800.53.R5-LambdaDLQ': `${reason}: the state machine receives every error and aborts the cutover with a report`,
      'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it calls only the CloudWatch API`,
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The policy belongs to this one function and allows only reading metrics',
    });
    exemptFromGuard(fn, 'lambda_inside_vpc_check', `${reason}: it calls only the CloudWatch API`);
    return fn;
  }

  private acknowledgeFindings(): void {
    expectWildcards(this.stateMachine, [{
      finding: /^Resource::\*$/,
      reason: 'Only X-Ray, CloudWatch Logs delivery and dms:DescribeReplicationTasks, which support no resource-level permissions',
    }, {
      finding: /^Resource::.*reports\/cutovers\/\*>?$/,
      reason: 'Reports are written under reports/cutovers/ of the data bucket, one object per cutover',
    }, {
      finding: /^Resource::arn:<AWS::Partition>:states:[^:]+:(?:<AWS::AccountId>|\d{12}):execution:[^:]+:\*$/,
      reason: 'Reads the state of the run or cutover that holds the task\'s lease: executions of the two state machines',
    }, {
      finding: /^Resource::<.*Function[0-9A-F]+\.Arn>:\*$/,
      reason: 'Invokes the table-review, settle and checks functions (any version), the LambdaInvoke task\'s standard grant',
    }]);
    acknowledge(this.stateMachine, 'NIST.800.53.R5-IAMNoInlinePolicy',
      'The role policy belongs to this state machine and lists the DMS, DynamoDB, Lambda, S3, EventBridge and SNS calls of its tasks only');
  }
}

type AbortMaker = (id: string, reason: string, message: string, fields?: Record<string, unknown>) => sfn.IChainable;

interface SettleSettings {
  readonly maxLatency: Duration;
  readonly samples: number;
  readonly timeout: Duration;
  readonly interval: Duration;
  readonly maxLooks: number;
}

/** The wait's settings, checked; invalid values are reported and the defaults stand in. */
function checkedSettleSettings(scope: Construct, props: CutoverOptions): SettleSettings {
  const defaults = { maxLatency: Duration.seconds(10), samples: 5, timeout: Duration.hours(1), interval: Duration.minutes(1) };
  const pick = (name: string, value: Duration | undefined, fallback: Duration, min: Duration, max: Duration) =>
    value === undefined || requireDurationInRange(scope, `cutover.${name}`, value, min, max) ? value ?? fallback : fallback;
  const maxLatency = pick('maxCdcLatency', props.maxCdcLatency, defaults.maxLatency, Duration.seconds(0), Duration.hours(1));
  const interval = pick('settleInterval', props.settleInterval, defaults.interval, Duration.minutes(1), Duration.hours(1));
  let timeout = pick('settleTimeout', props.settleTimeout, defaults.timeout, Duration.minutes(1), Duration.days(7));
  const samples = props.settledSamples ?? defaults.samples;
  requireIntegerInRange(scope, 'cutover.settledSamples', samples, 1, 60);
  let maxLooks = Math.max(1, Math.floor(timeout.toSeconds() / interval.toSeconds()));
  if (maxLooks > MAX_SETTLE_LOOKS) {
    reportError(scope, `cutover.settleTimeout: received ${timeout.toHumanString()} with a settleInterval of ${interval.toHumanString()} `
      + `(${maxLooks} looks); expected at most ${MAX_SETTLE_LOOKS} looks, so that the wait stays within the 25,000 events of an `
      + `execution's history: use a settleInterval of at least ${Math.ceil(timeout.toSeconds() / MAX_SETTLE_LOOKS)} seconds or a shorter settleTimeout.`);
    timeout = defaults.timeout;
    maxLooks = Math.floor(defaults.timeout.toSeconds() / defaults.interval.toSeconds());
  }
  if ((props.switchParameterName === undefined) !== (props.switchParameterValue === undefined)) {
    reportError(scope, 'cutover.switchParameterName / cutover.switchParameterValue (switch_parameter_name / switch_parameter_value): '
      + 'received only one of them; expected both (the parameter to change and the value to write) or neither.');
  }
  if (props.switchParameterName !== undefined) {
    requireMatch(scope, 'cutover.switchParameterName', props.switchParameterName, /^\/?[A-Za-z0-9_.\-/]{1,1011}$/,
      'an SSM parameter name (letters, digits, _ . - and / only)');
  }
  return { maxLatency, samples, timeout, interval, maxLooks };
}
