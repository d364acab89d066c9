import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PremigrationAssessmentOptions } from './premigration-assessment';
import { acknowledge, expectWildcards } from './private/acknowledgements';
import { CUTOVER_COMPLETE_PHASE } from './private/cutover-lease';
import { createLogGroup } from './private/log-groups';
import { PremigrationAssessment } from './private/premigration-assessment';
import { TableReviewFunction } from './private/table-review-function';
import { createTaskLeaseTable, RunLeaseStates } from './private/task-lease';
import { reportError, requireDurationInRange } from './private/validation';

/** Settings of the orchestration state machine. */
export interface OrchestrationOptions {
  /**
   * How long the state machine waits between two looks at the replication task.
   * At least 38 seconds (two intervals must hold the retries of a throttled DMS call, so that a run reports its
   * outcome before its timeout), and timeout / pollInterval may be at most 600 (the polls of one run must fit in an
   * execution's history).
   * @default Duration.minutes(5)
   */
  readonly pollInterval?: Duration;

  /**
   * How long one migration run may take; when it is reached the run ends with the verdict of its last look.
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;

  /**
   * How long the execution logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Whether tables DMS cannot validate (ValidationState `No primary key` or `Not enabled`) are accepted. When false,
   * a run with such tables fails with reason TABLES_NOT_VALIDATABLE and names them; when true, the run can succeed
   * and the outcome still lists them (`tablesWithoutValidation`). A task with validation off for every table is
   * not affected: it succeeds with reason VALIDATION_NOT_ENABLED once loaded.
   * @default false
   */
  readonly acceptTablesWithoutValidation?: boolean;

  /**
   * The DMS premigration assessment that gates the first full load: before the first start of the task (status
   * `ready`) a run assesses the source and ends SOURCE_NOT_READY, naming the failed assessments, when one fails.
   * @default - enabled with the MySQL assessments of the task's migration type, when there is a report bucket
   */
  readonly premigrationAssessment?: PremigrationAssessmentOptions;
}

/** Props of {@link Orchestration}. */
export interface OrchestrationProps extends OrchestrationOptions {
  /** The DMS task to start and watch. */
  readonly replicationTask: dms.CfnReplicationTask;
  /** The task's migration type ('full-load', 'cdc' or 'full-load-and-cdc'), which decides when a run is complete. */
  readonly migrationType: string;
  /** Receives the outcome of every run (message attribute `migrationOutcome` SUCCEEDED, FAILED or INTERRUPTED). */
  readonly notificationTopic: sns.ITopic;
  /**
   * The key the notification topic is encrypted with; publishing needs it.
   * @default - the topic is not encrypted with a customer-managed key
   */
  readonly notificationTopicKey?: kms.IKey;
  /**
   * The customer-managed key that encrypts this concern's log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The bucket that receives each run's migration report (`reports/migrations/<execution name>.json`) and the
   * statistics of every table it was built from (`reports/migrations/<execution name>/tables.json`).
   * The state machine and its table review may write under `reports/migrations/` only.
   * @default - no report is written, and tables seen validated at one poll are not remembered at the next
   */
  readonly reportBucket?: s3.IBucket;
  /**
   * The pipeline name that the run's audit event (`Migration Outcome`) carries, so the pipeline's audit rule picks it up.
   * @default 'migration-pipeline'
   */
  readonly pipelineName?: string;
  /**
   * The replication task's lease table, shared with whatever else acts on the task (the stop guard, remediation):
   * a run holds the lease while it starts and watches the task, and runs that start meanwhile join it.
   * @default - a lease table of this orchestration's own
   */
  readonly taskLease?: dynamodb.ITable;
}

/** Where the migration reports are written in the report bucket. */
export const MIGRATION_REPORT_PREFIX = 'reports/migrations/';

/**
 * The most polls one run may make: timeout / pollInterval. An execution fails once its history reaches 25,000
 * events (Step Functions service quotas); one poll costs at most 36 events with every retry taken (18 without), so
 * 600 polls stay under 22,000 events. test/orchestration-quotas.test.ts recomputes this from the definition.
 */
export const MAX_POLLS_PER_RUN = 600;

// Retry lists, by integration. Names follow "Handling errors" of "AWS SDK service integrations" (Step Functions
// Developer Guide): `<PascalCase service>.<error name>` with an `Exception` suffix added when the API's own name has
// none. DMS throttling is one of its common errors (DMS API Reference, "Common Errors"); SNS names are from the
// Errors section of Publish (SNS API Reference). States.Timeout is possible because every task sets TimeoutSeconds.
// Faults that retrying cannot fix (ResourceNotFoundFault, InvalidResourceStateFault, AccessDeniedFault) are caught,
// not retried. Lambda's transient errors are the ones the Step Functions guide ("Handling transient Lambda service
// exceptions") says to retry. test/orchestration-errors.test.ts checks every name against this reference.
const DMS_TRANSIENT_ERRORS = ['DatabaseMigration.ThrottlingException', 'States.Timeout'];
/** How a DMS call of the state machine is retried: waits of 5, 10, 20 and 40 seconds between its 5 attempts. */
const DMS_RETRY = { interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 };
const SNS_TRANSIENT_ERRORS = ['SNS.ThrottledException', 'SNS.KMSThrottlingException', 'SNS.InternalErrorException', 'States.Timeout'];
const S3_TRANSIENT_ERRORS = ['States.Timeout'];
const LAMBDA_TRANSIENT_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];
/** How long one AWS call of the state machine may take before it counts as timed out (States.Timeout). */
const TASK_TIMEOUT = Duration.minutes(1);
/** How long one table review may take (the function's own timeout is 5 minutes). */
const REVIEW_TIMEOUT = Duration.minutes(6);
// The pipeline's own event source (the audit rule of the monitoring concern matches it and the pipeline name).
const AUDIT_EVENT_SOURCE = 'migration.pipeline';

/**
 * The state machine that runs a migration: it starts the DMS task the right way for its state (start, resume, or
 * nothing when already running; never while a deployment holds it stopped), polls it until the load is complete,
 * then has the table-review function judge the task's tables after each poll until the verdict is settled or the
 * time budget is spent. Every run, whatever ends it, writes its report, sends one `Migration Outcome` event and
 * publishes one notification.
 */
export class Orchestration extends Construct {
  /** The migration state machine. */
  public readonly stateMachine: sfn.IStateMachine;
  /** The execution log group (level ALL). */
  public readonly logGroup: logs.ILogGroup;
  /** Reviews the task's tables after each poll (pages DescribeTableStatistics, writes the per-table report). */
  public readonly tableReviewFunction: lambda.IFunction;

  private readonly taskArn: string;
  private readonly reportBucket?: s3.IBucket;

  constructor(scope: Construct, id: string, props: OrchestrationProps) {
    super(scope, id);
    const { pollInterval, timeout } = checkedPollSettings(this, props);
    this.taskArn = props.replicationTask.ref;
    this.reportBucket = props.reportBucket;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    // The k-th check follows k waits and sees a count of k - 1. Allowing floor(timeout / interval) - 2 waits
    // leaves room for the last check, the review and the notification, so a run ends with its own verdict
    // before the execution timeout cuts it off.
    const maxPolls = Math.max(1, Math.floor(timeout.toSeconds() / pollInterval.toSeconds()) - 2);

    const stateMachineName = `migration-orchestration-${props.environmentSuffix}`;
    const stack = Stack.of(this);
    const lease = new RunLeaseStates(this, props.taskLease ?? createTaskLeaseTable(this, 'TaskLease'), this.taskArn,
      stack.formatArn({ service: 'states', resource: 'execution', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `${stateMachineName}:*` }),
      props.reportBucket ? { bucket: props.reportBucket, prefix: MIGRATION_REPORT_PREFIX } : undefined);
    // Every outcome passes the lease's release, which lists the files the run covers, before it is announced.
    const announce = lease.release(this.announceOutcome(props.notificationTopic, props.pipelineName ?? 'migration-pipeline'));

    const wait = new sfn.Wait(this, 'WaitForReplication', { time: sfn.WaitTime.duration(pollInterval) });
    const check = this.describeTask('CheckReplication', announce);
    const countPoll = new sfn.Pass(this, 'CountPoll', {
      parameters: { 'count.$': 'States.MathAdd($.polls.count, 1)' },
      resultPath: '$.polls',
    });
    countPoll.next(wait);
    const timedOut = this.failure('MigrationTimedOut', 'MIGRATION_TIMED_OUT',
      `The full load did not complete within ${timeout.toHumanString()}`).next(announce);
    const replicationFailed = this.failure('ReplicationFailed', 'REPLICATION_FAILED',
      'The task failed, stopped, or reports tables in error; see `task`').next(announce);
    const interrupted = this.interruptedForDeployment().next(announce);
    const cutOver = this.heldByCutover(announce);

    this.tableReviewFunction = new TableReviewFunction(this, 'TableReview', {
      functionName: `migration-table-review-${props.environmentSuffix}`,
      replicationTaskArn: this.taskArn,
      migrationType: props.migrationType,
      acceptTablesWithoutValidation: props.acceptTablesWithoutValidation ?? false,
      reportBucket: props.reportBucket,
      reportPrefix: MIGRATION_REPORT_PREFIX,
      logRetention,
      logEncryptionKey: props.logEncryptionKey,
      removalPolicy,
    }).function;
    const review = this.reviewTables(announce);
    review.next(new sfn.Choice(this, 'IsVerdictSettled')
      .when(sfn.Condition.booleanEquals('$.review.settled', true), this.tableVerdict('TableVerdict', announce))
      .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', maxPolls), this.tableVerdict('VerdictAtTimeout', announce))
      .otherwise(countPoll));

    // A stopped task, or one in error, fails the run only if no deployment took the lease in the meantime. Tables in
    // error are reviewed first, so that the outcome names them; the run fails either way.
    const confirmFailure = lease.confirmHold(interrupted, countPoll, new sfn.Choice(this, 'DidTablesError')
      .when(tablesErroredCondition(), this.reviewErroredTables(replicationFailed, announce))
      .otherwise(replicationFailed), announce);
    wait.next(check).next(new sfn.Choice(this, 'IsReplicationComplete')
      .when(failedCondition(), confirmFailure)
      .when(completeCondition(props.migrationType), review)
      .when(sfn.Condition.stringEquals('$.task.Status', 'stopped'), confirmFailure)
      .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', maxPolls), timedOut)
      .otherwise(countPoll));

    // The lease is marked "starting" around the start call, so that a deployment does not stop the task meanwhile.
    const start = lease.beginStart('BeginStartReplication',
      this.startTask('StartReplication', 'start-replication', announce).next(lease.endStart('EndStartReplication', wait)),
      confirmFailure, announce);
    // The first start of the task waits for a premigration assessment of the source (a resume does not assess again).
    const assessment = this.premigrationAssessment(props, announce, pollInterval, timeout);
    const startFromReady = assessment?.gate(start) ?? start;
    // resume-processing reloads the tables a stopped full load had not finished; the task's TargetTablePrepMode
    // (TRUNCATE_BEFORE_LOAD, see dms.ts) empties them first, so no row is loaded twice.
    const resume = lease.beginStart('BeginResumeReplication',
      this.startTask('ResumeReplication', 'resume-processing', announce).next(lease.endStart('EndResumeReplication', wait)),
      confirmFailure, announce);
    const describeAndStart = this.describeTask('DescribeTask', announce)
      .next(new sfn.Choice(this, 'HowToStart')
        .when(sfn.Condition.stringEquals('$.task.Status', 'ready'), startFromReady)
        .when(sfn.Condition.or(
          sfn.Condition.stringEquals('$.task.Status', 'stopped'),
          sfn.Condition.stringEquals('$.task.Status', 'failed'),
        ), resume)
        // Already running (or busy starting/stopping/modifying): just watch it.
        .otherwise(wait));
    const leaseContended = this.failure('LeaseContended', 'LEASE_CONTENDED',
      'The task\'s lease stayed held by a remediation or a hand-over; start the run again').next(announce);
    const leaseUnavailable = this.failure('LeaseUnavailable', 'LEASE_UNAVAILABLE',
      'The task\'s lease could not be read or written; the error is in `error`').next(announce);
    // One run at a time holds the task's lease; a run that finds another run holding it joins that run and ends.
    const definition = this.initialise()
      .next(this.nameRunFile(lease.acquire(describeAndStart, interrupted, cutOver, leaseContended, leaseUnavailable)));

    this.logGroup = createLogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/migration-orchestration-${props.environmentSuffix}`,
      retention: logRetention,
      encryptionKey: props.logEncryptionKey,
      removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // SNS encrypts with the topic's key on behalf of the publisher, so the publisher needs the key too.
    props.notificationTopicKey?.grant(this.stateMachine, 'kms:GenerateDataKey', 'kms:Decrypt');
    assessment?.grantPassRole(this.stateMachine);
    expectWildcards(this.stateMachine, [{
      finding: /^Resource::\*$/,
      reason: 'Only X-Ray, CloudWatch Logs delivery and dms:DescribeReplicationTasks, which support no resource-level permissions',
    }, {
      finding: /^Resource::arn:<AWS::Partition>:dms:.*:assessment-run:\*$/,
      reason: 'Reads the premigration assessment runs of the task, whose ARNs DMS assigns when a run starts',
    }, {
      finding: /^Resource::.*reports\/migrations\/\*>?$/,
      reason: 'Reports are written under reports/migrations/ of the data bucket, one object per run',
    }, {
      finding: /^Resource::arn:<AWS::Partition>:states:[^:]+:(?:<AWS::AccountId>|\d{12}):execution:[^:]+:\*$/,
      reason: 'Reads the state of the run that holds the task\'s lease: an execution of this state machine',
    }, {
      finding: /^Resource::<OrchestrationTableReviewFunction[0-9A-F]+\.Arn>:\*$/,
      reason: 'Invokes the table-review function (any version), the LambdaInvoke task\'s standard grant',
    }]);
    acknowledge(this.stateMachine, 'NIST.800.53.R5-IAMNoInlinePolicy',
      'The role policy belongs to this state machine and lists the DMS, Lambda, S3, EventBridge and SNS calls of its tasks only');
  }

  /**
   * The run's state lives in `polls`, `task`, `assessment`, `error` and `outcome` from the start, so every path can
   * announce.
   */
  private initialise(): sfn.Pass {
    return new sfn.Pass(this, 'Initialise', {
      parameters: {
        'polls': { count: 0 },
        'leaseAttempts': { count: 0 },
        'lease': {},
        'task': { Status: 'NOT_DESCRIBED' },
        'assessment': 'NOT_RUN',
        'error': {},
        'outcome': this.outcome({
          status: 'FAILED',
          reason: 'REPLICATION_FAILED',
          error: 'MigrationFailed',
          message: 'The replication task could not be described, started or watched; the error is in `error`',
        }, false),
        'request.$': '$',
      },
    });
  }

  /**
   * `$.run`: this execution's ARN and the file it covers: the input's `key` (the validated file), or the execution's
   * name for an input without one.
   */
  private nameRunFile(next: sfn.IChainable): sfn.IChainable {
    const named = (id: string, file: string) => new sfn.Pass(this, id, {
      parameters: { 'holder.$': '$$.Execution.Id', 'file.$': file },
      resultPath: '$.run',
    }).next(next);
    return new sfn.Choice(this, 'HasRunFile')
      .when(sfn.Condition.isString('$.request.key'), named('RunFileIsKey', '$.request.key'))
      .otherwise(named('RunFileIsExecutionName', '$$.Execution.Name'));
  }

  /**
   * An outcome: the verdict's fields plus where the run and its report are, and the premigration assessment the run
   * made (`NOT_RUN` when it started no assessment), warnings included.
   */
  private outcome(fields: Record<string, unknown>, withAssessment = true): Record<string, unknown> {
    return {
      ...fields,
      ...(withAssessment ? { 'premigrationAssessment.$': '$.assessment' } : {}),
      'execution.$': '$$.Execution.Id',
      'replicationTaskArn': this.taskArn,
      'report': this.reportBucket ? {
        'bucket': this.reportBucket.bucketName,
        'key.$': `States.Format('${MIGRATION_REPORT_PREFIX}{}.json', $$.Execution.Name)`,
      } : 'NOT_WRITTEN',
    };
  }

  private failure(id: string, reason: string, message: string): sfn.Pass {
    return new sfn.Pass(this, id, {
      parameters: this.outcome({ status: 'FAILED', reason, error: 'MigrationFailed', message }),
      resultPath: '$.outcome',
    });
  }

  /** The premigration assessment of the first start, when enabled; its results go to the report bucket. */
  private premigrationAssessment(props: OrchestrationProps, announce: sfn.IChainable, pollInterval: Duration, runTimeout: Duration,
  ): PremigrationAssessment | undefined {
    const options = props.premigrationAssessment ?? {};
    if (!(options.enabled ?? this.reportBucket !== undefined)) {
      return undefined;
    }
    if (!this.reportBucket) {
      reportError(this, 'orchestration.premigrationAssessment.enabled: received true without a report bucket; expected a reportBucket '
        + '(the assessment writes its results there) or enabled: false.');
      return undefined;
    }
    return new PremigrationAssessment(this, 'PremigrationAssessment', {
      ...options,
      taskArn: this.taskArn,
      migrationType: props.migrationType,
      resultBucket: this.reportBucket,
      transientErrors: DMS_TRANSIENT_ERRORS,
      callTimeout: TASK_TIMEOUT,
      pollInterval,
      runTimeout,
      failure: (id, fields) => new sfn.Pass(this, id, {
        parameters: this.outcome({ status: 'FAILED', error: 'MigrationFailed', ...fields }),
        resultPath: '$.outcome',
      }).next(announce),
    });
  }

  private interruptedForDeployment(): sfn.Pass {
    return new sfn.Pass(this, 'InterruptedForDeployment', {
      parameters: this.outcome({
        'status': 'INTERRUPTED',
        'reason': 'INTERRUPTED_FOR_DEPLOYMENT',
        'error': 'None',
        'message': 'A deployment holds the task\'s lease; the run left the task to it. The deployment resumes the task '
          + 'if it was running, and the next validated file starts a new run',
        'lease.$': '$.lease',
      }),
      resultPath: '$.outcome',
    });
  }

  /**
   * A cutover holds the task: while it runs the task is the cutover's, and once it completed the target is the
   * applications' database, so no run may start the task again (deleting the lease item undoes that; see the README).
   * The run ends INTERRUPTED, as for a deployment: its file passed validation and is listed in the outcome.
   */
  private heldByCutover(announce: sfn.IChainable): sfn.IChainable {
    const ended = (id: string, reason: string, message: string) => new sfn.Pass(this, id, {
      parameters: this.outcome({ 'status': 'INTERRUPTED', reason, 'error': 'None', message, 'lease.$': '$.lease' }),
      resultPath: '$.outcome',
    }).next(announce);
    return new sfn.Choice(this, 'IsCutoverComplete')
      .when(sfn.Condition.and(
        sfn.Condition.isPresent('$.lease.Item.phase.S'),
        sfn.Condition.stringEquals('$.lease.Item.phase.S', CUTOVER_COMPLETE_PHASE),
      ), ended('CutOver', 'CUT_OVER', 'The migration was cut over: the applications use the target now, so the run left the '
        + 'task stopped. To migrate again, delete the task\'s lease item (see the README)'))
      .otherwise(ended('CutoverInProgress', 'CUTOVER_IN_PROGRESS', 'A cutover holds the task; the run left the task to it'));
  }

  /** The table-review function: its fixed-size summary goes to `$.review`; its failure ends the run, saying so. */
  private reviewTables(announce: sfn.IChainable): tasks.LambdaInvoke {
    const reviewFailed = this.failure('TableReviewFailed', 'TABLE_REVIEW_FAILED',
      'The task\'s tables could not be reviewed (statistics not readable or report not written); the error is in `error`')
      .next(announce);
    const review = this.invokeTableReview('ReviewTables');
    review.addCatch(reviewFailed, { resultPath: '$.error' });
    return review;
  }

  /** One call of the table-review function for this run and poll, with Lambda's transient errors retried. */
  private invokeTableReview(id: string): tasks.LambdaInvoke {
    const review = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: this.tableReviewFunction,
      payload: sfn.TaskInput.fromObject({ 'execution.$': '$$.Execution.Name', 'review.$': '$.polls.count' }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.review',
      taskTimeout: sfn.Timeout.duration(REVIEW_TIMEOUT),
    });
    review.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 2, backoffRate: 2 });
    return review;
  }

  /**
   * Reviews the tables of a task that reports tables in error, so that the failed outcome names them (the review's
   * fixed-size summary: at most 10 problem tables, the per-table report in S3). The run fails whatever the review
   * finds; if the review itself fails, the outcome is `unreviewed` (the task's own failure, without the tables).
   */
  private reviewErroredTables(unreviewed: sfn.IChainable, announce: sfn.IChainable): sfn.IChainable {
    const review = this.invokeTableReview('ReviewErroredTables');
    review.addCatch(unreviewed, { resultPath: '$.reviewError' });
    return review.next(new sfn.Pass(this, 'TablesErrored', {
      parameters: this.outcome({
        'status': 'FAILED',
        'reason': 'REPLICATION_FAILED',
        'error': 'MigrationFailed',
        'message': 'The task reports tables in error; the tables are in `problemTables` and `tableReport`, the task in `task`',
        'tables.$': '$.review.tables',
        'problemTables.$': '$.review.problemTables',
        'tableReport.$': '$.review.tableReport',
      }),
      resultPath: '$.outcome',
    })).next(announce);
  }

  private tableVerdict(id: string, announce: sfn.IChainable): sfn.IChainable {
    return new sfn.Pass(this, id, {
      parameters: this.outcome({
        'status.$': '$.review.status',
        'reason.$': '$.review.reason',
        'error.$': '$.review.error',
        'message.$': '$.review.message',
        'tables.$': '$.review.tables',
        'problemTables.$': '$.review.problemTables',
        'tablesWithoutValidation.$': '$.review.tablesWithoutValidation',
        'tableReport.$': '$.review.tableReport',
      }),
      resultPath: '$.outcome',
    }).next(announce);
  }

  /** Writes the report, sends the audit event, then notifies by the outcome's status. */
  private announceOutcome(topic: sns.ITopic, pipelineName: string): sfn.IChainable {
    // The execution fails with the outcome's error name (MigrationValidationFailed or MigrationFailed) and the
    // outcome as JSON for its cause, so whoever reads the failed execution (remediation) sees which tables failed.
    const failed = (failId: string) => new sfn.Fail(this, failId, {
      errorPath: '$.outcome.error',
      causePath: 'States.JsonToString($.outcome)',
    });
    const notifyFailure = this.publish('NotifyFailure', topic, 'FAILED');
    notifyFailure.addCatch(failed('FailureNotificationFailed'), { resultPath: '$.error' });
    notifyFailure.next(failed('MigrationFailed'));
    const notifySuccess = this.publish('NotifySuccess', topic, 'SUCCEEDED');
    notifySuccess.addCatch(new sfn.Fail(this, 'NotificationFailed', {
      error: 'NotificationFailed', cause: 'The migration succeeded but its notification could not be published',
    }), { resultPath: '$.error' });
    notifySuccess.next(new sfn.Succeed(this, 'MigrationSucceeded', { outputPath: '$.outcome' }));
    // A planned stop is not a failure: the execution succeeds (no failure alarm, no redrive) with this outcome.
    const notifyInterrupted = this.publish('NotifyInterrupted', topic, 'INTERRUPTED');
    notifyInterrupted.addCatch(new sfn.Fail(this, 'InterruptionNotificationFailed', {
      error: 'NotificationFailed', cause: 'The run was interrupted (a deployment or a cutover holds the task) but its notification could not be published',
    }), { resultPath: '$.error' });
    notifyInterrupted.next(new sfn.Succeed(this, 'MigrationInterrupted', { outputPath: '$.outcome' }));

    const byStatus = new sfn.Choice(this, 'ByOutcome')
      .when(sfn.Condition.stringEquals('$.outcome.status', 'SUCCEEDED'), notifySuccess)
      .when(sfn.Condition.stringEquals('$.outcome.status', 'INTERRUPTED'), notifyInterrupted)
      .otherwise(notifyFailure);
    const audit = new tasks.EventBridgePutEvents(this, 'PublishOutcomeEvent', {
      entries: [{
        source: AUDIT_EVENT_SOURCE,
        detailType: 'Migration Outcome',
        detail: sfn.TaskInput.fromObject({
          'pipeline': pipelineName,
          'execution.$': '$$.Execution.Id',
          'outcome.$': '$.outcome',
        }),
      }],
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    // The audit trail is best effort: a lost audit event must not change or hide the outcome.
    audit.addCatch(byStatus, { resultPath: '$.auditError' });
    audit.next(byStatus);
    if (!this.reportBucket) {
      return audit;
    }
    // Without its report a run has no proof, so it cannot succeed; the verdict is kept in the outcome.
    const reportNotWritten = new sfn.Pass(this, 'ReportNotWritten', {
      parameters: {
        'status': 'FAILED',
        'reason': 'REPORT_NOT_WRITTEN',
        'error': 'MigrationFailed',
        'message': 'The migration report could not be written; the run\'s verdict is in `verdict`, the error in `reportError`',
        'execution.$': '$$.Execution.Id',
        'replicationTaskArn': this.taskArn,
        'report': 'NOT_WRITTEN',
        'verdict.$': '$.outcome',
        'reportError.$': '$.reportError',
      },
      resultPath: '$.outcome',
    }).next(audit);
    const write = new tasks.CallAwsService(this, 'WriteReport', {
      service: 's3',
      action: 'putObject',
      iamAction: 's3:PutObject',
      parameters: {
        'Bucket': this.reportBucket.bucketName,
        'Key.$': '$.outcome.report.key',
        'Body.$': 'States.JsonToString($.outcome)',
        'ContentType': 'application/json',
      },
      iamResources: [this.reportBucket.arnForObjects(`${MIGRATION_REPORT_PREFIX}*`)],
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    write.addRetry({ errors: S3_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    write.addCatch(reportNotWritten, { resultPath: '$.reportError' });
    return write.next(audit);
  }

  private describeTask(id: string, onError: sfn.IChainable): tasks.CallAwsService {
    return this.dmsCall(id, 'describeReplicationTasks', 'dms:DescribeReplicationTasks', {
      Filters: [{ Name: 'replication-task-arn', Values: [this.taskArn] }],
      WithoutSettings: true,
    }, onError, {
      // DescribeReplicationTasks does not support resource-level permissions.
      iamResources: ['*'],
      // Only the fields a run routes on and reports: the task's table mappings and settings (hundreds of KB for a task
      // that names thousands of tables) never enter the state. A filter yields a list, empty when the field is absent
      // (a task that never stopped has no StopReason; Paths, Step Functions Developer Guide).
      resultSelector: {
        'Status.$': '$.ReplicationTasks[0].Status',
        'Task': {
          'ReplicationTaskArn.$': '$.ReplicationTasks[0].ReplicationTaskArn',
          'Status.$': '$.ReplicationTasks[0].Status',
          'MigrationType.$': '$.ReplicationTasks[0].MigrationType',
          'StopReason.$': '$.ReplicationTasks[?(@.StopReason)].StopReason',
          'ReplicationTaskStats.$': '$.ReplicationTasks[?(@.ReplicationTaskStats)].ReplicationTaskStats',
        },
      },
      resultPath: '$.task',
    });
  }

  private startTask(id: string, startType: string, onError: sfn.IChainable): tasks.CallAwsService {
    return this.dmsCall(id, 'startReplicationTask', 'dms:StartReplicationTask', {
      ReplicationTaskArn: this.taskArn,
      StartReplicationTaskType: startType,
    }, onError, { iamResources: [this.taskArn], resultPath: sfn.JsonPath.DISCARD });
  }

  private dmsCall(id: string, action: string, iamAction: string, parameters: Record<string, unknown>, onError: sfn.IChainable,
    options: { iamResources: string[]; resultSelector?: Record<string, unknown>; resultPath: string }): tasks.CallAwsService {
    // The SDK integration is named `databasemigration`; its IAM prefix is `dms`.
    const call = new tasks.CallAwsService(this, id, {
      service: 'databasemigration',
      action,
      iamAction,
      parameters,
      iamResources: options.iamResources,
      resultSelector: options.resultSelector,
      resultPath: options.resultPath,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    call.addRetry({ errors: DMS_TRANSIENT_ERRORS, ...DMS_RETRY });
    call.addCatch(onError, { resultPath: '$.error' });
    return call;
  }

  private publish(id: string, topic: sns.ITopic, outcome: string): tasks.SnsPublish {
    const publish = new tasks.SnsPublish(this, id, {
      topic,
      subject: `Migration ${outcome}`,
      message: sfn.TaskInput.fromObject({
        'migrationOutcome': outcome,
        'execution.$': '$$.Execution.Id',
        'stateMachine.$': '$$.StateMachine.Id',
        'replicationTaskArn': this.taskArn,
        'region': Stack.of(this).region,
        'input.$': '$$.Execution.Input',
        'outcome.$': '$.outcome',
        'task.$': '$.task',
        'error.$': '$.error',
      }),
      messageAttributes: { migrationOutcome: { value: outcome } },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    publish.addRetry({ errors: SNS_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    return publish;
  }
}

/** The waits between the attempts of one DMS call when every retry is taken (Retry's IntervalSeconds × BackoffRate^n). */
function dmsRetryWaitSeconds(): number {
  let total = 0;
  for (let retry = 0; retry < DMS_RETRY.maxAttempts; retry++) {
    total += DMS_RETRY.interval.toSeconds() * DMS_RETRY.backoffRate ** retry;
  }
  return total;
}

/**
 * The shortest poll interval. The poll loop counts polls, not time: a run may make floor(timeout / interval) - 2
 * polls, which leaves two intervals of the timeout for the last look at the task, the review and the notification.
 * The state machine's own timeout (TimeoutSeconds, "State machine structure", Step Functions Developer Guide) ends
 * the execution with States.Timeout and runs no further state, so the run would end without reporting its outcome.
 * Those two intervals must therefore hold at least the retry waits of one throttled DMS call (ThrottlingException,
 * "Common Errors", AWS DMS API Reference; the retrier's IntervalSeconds, BackoffRate and MaxAttempts, "Handling
 * errors in Step Functions workflows"): 75 seconds, so 38 seconds per interval. A 5-second interval with a
 * 30-minute timeout leaves 10 seconds, and also calls DMS (and reviews every table) 360 times a run.
 */
export const MIN_POLL_INTERVAL_SECONDS = Math.ceil(dmsRetryWaitSeconds() / 2);

/**
 * The poll interval and timeout, checked: invalid values are reported and the defaults stand in, so that the poll
 * count can still be computed. The ratio is capped so that the polls of one run fit in an execution's history.
 */
function checkedPollSettings(scope: Construct, props: OrchestrationOptions): { pollInterval: Duration; timeout: Duration } {
  const defaults = { pollInterval: Duration.minutes(5), timeout: Duration.hours(2) };
  let pollInterval = props.pollInterval ?? defaults.pollInterval;
  let timeout = props.timeout ?? defaults.timeout;
  if (!requireDurationInRange(scope, 'orchestration.pollInterval', pollInterval, Duration.seconds(1), Duration.hours(1))) {
    pollInterval = defaults.pollInterval;
  }
  if (!requireDurationInRange(scope, 'orchestration.timeout', timeout, Duration.minutes(1), Duration.days(365))) {
    timeout = defaults.timeout;
  }
  if (pollInterval.isUnresolved() || timeout.isUnresolved()) {
    return { pollInterval, timeout };
  }
  if (pollInterval.toSeconds() >= timeout.toSeconds()) {
    reportError(scope, `orchestration.pollInterval: received ${pollInterval.toHumanString()}; expected less than the timeout (${timeout.toHumanString()}).`);
    return defaults;
  }
  if (pollInterval.toSeconds() < MIN_POLL_INTERVAL_SECONDS) {
    reportError(scope, `orchestration.pollInterval: received ${pollInterval.toHumanString()}; expected at least ${MIN_POLL_INTERVAL_SECONDS} seconds: `
      + 'a run keeps two poll intervals of its timeout for its last look and its verdict, and one throttled DMS call waits '
      + `${dmsRetryWaitSeconds()} seconds between its retries, so a shorter interval lets the execution timeout end the run before it reports.`);
    return defaults;
  }
  const polls = Math.floor(timeout.toSeconds() / pollInterval.toSeconds());
  if (polls > MAX_POLLS_PER_RUN) {
    const shortest = Math.ceil(timeout.toSeconds() / MAX_POLLS_PER_RUN);
    reportError(scope, `orchestration.pollInterval: received ${pollInterval.toHumanString()} with a timeout of ${timeout.toHumanString()} `
      + `(${polls} polls); expected at most ${MAX_POLLS_PER_RUN} polls per run, so that a run stays within the 25,000 events of an `
      + `execution's history: use a pollInterval of at least ${shortest} seconds or a shorter timeout.`);
    return defaults;
  }
  return { pollInterval, timeout };
}

/** A failed task, or any table in error. */
function failedCondition(): sfn.Condition {
  return sfn.Condition.or(sfn.Condition.stringEquals('$.task.Status', 'failed'), tablesErroredCondition());
}

function tablesErroredCondition(): sfn.Condition {
  return sfn.Condition.and(
    sfn.Condition.isPresent('$.task.Task.ReplicationTaskStats[0].TablesErrored'),
    sfn.Condition.numberGreaterThan('$.task.Task.ReplicationTaskStats[0].TablesErrored', 0),
  );
}

/**
 * When the tables can be reviewed depends on the migration type: a full-load-and-cdc task keeps running (CDC) once
 * the full load reaches 100 %; a full-load task stops with FULL_LOAD_ONLY_FINISHED; a cdc task once running.
 */
function completeCondition(migrationType: string): sfn.Condition {
  const running = sfn.Condition.stringEquals('$.task.Status', 'running');
  const fullLoadDone = sfn.Condition.and(
    sfn.Condition.isPresent('$.task.Task.ReplicationTaskStats[0].FullLoadProgressPercent'),
    sfn.Condition.numberGreaterThanEquals('$.task.Task.ReplicationTaskStats[0].FullLoadProgressPercent', 100),
  );
  switch (migrationType) {
    case 'full-load':
      return sfn.Condition.and(
        sfn.Condition.stringEquals('$.task.Status', 'stopped'),
        sfn.Condition.isPresent('$.task.Task.StopReason[0]'),
        sfn.Condition.stringMatches('$.task.Task.StopReason[0]', '*FULL_LOAD_ONLY_FINISHED*'),
      );
    case 'cdc':
      return running;
    default:
      return sfn.Condition.and(running, fullLoadDone);
  }
}
