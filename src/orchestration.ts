import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, expectWildcards } from './private/acknowledgements';
import { DMS_TABLE_STATES, DMS_VALIDATION_STATES } from './private/dms-table-statistics';
import { createLogGroup } from './private/log-groups';
import { reportError, requireDurationInRange } from './private/validation';

/** Settings of the orchestration state machine. */
export interface OrchestrationOptions {
  /**
   * How long the state machine waits between two looks at the replication task.
   * @default Duration.minutes(5)
   */
  readonly pollInterval?: Duration;

  /**
   * How long one migration run may take; when it is reached the run takes the failure path.
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;

  /**
   * How long the execution logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Props of {@link Orchestration}. */
export interface OrchestrationProps extends OrchestrationOptions {
  /** The DMS task to start and watch. */
  readonly replicationTask: dms.CfnReplicationTask;
  /** The task's migration type ('full-load', 'cdc' or 'full-load-and-cdc'), which decides when a run is complete. */
  readonly migrationType: string;
  /** Receives the outcome of every run (message attribute `migrationOutcome` SUCCEEDED/FAILED). */
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
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The bucket that receives each run's migration report (`reports/migrations/<execution name>.json`) and the
   * table statistics it was built from (`reports/migrations/<execution name>/tables-<page>.json`).
   * The state machine may write under `reports/migrations/` only.
   * @default - no report is written; the notification still carries the per-table summary
   */
  readonly reportBucket?: s3.IBucket;
  /**
   * The pipeline name that the run's audit event (`Migration Outcome`) carries, so the pipeline's audit rule picks it up.
   * @default 'migration-pipeline'
   */
  readonly pipelineName?: string;
}

/** Where the migration reports are written in the report bucket. */
export const MIGRATION_REPORT_PREFIX = 'reports/migrations/';

// Retry lists, by integration. Names follow "Handling errors" of "AWS SDK service integrations" (Step Functions
// Developer Guide): `<PascalCase service>.<error name>` with an `Exception` suffix added when the API's own name has
// none. DMS throttling is one of its common errors (DMS API Reference, "Common Errors"); SNS names are from the
// Errors section of Publish (SNS API Reference). States.Timeout is possible because every task sets TimeoutSeconds.
// Faults that retrying cannot fix (ResourceNotFoundFault, InvalidResourceStateFault, AccessDeniedFault) are caught,
// not retried. test/orchestration-errors.test.ts checks every name against this reference.
const DMS_TRANSIENT_ERRORS = ['DatabaseMigration.ThrottlingException', 'States.Timeout'];
const SNS_TRANSIENT_ERRORS = ['SNS.ThrottledException', 'SNS.KMSThrottlingException', 'SNS.InternalErrorException', 'States.Timeout'];
const S3_TRANSIENT_ERRORS = ['States.Timeout'];
/** How long one AWS call of the state machine may take before it counts as timed out (States.Timeout). */
const TASK_TIMEOUT = Duration.minutes(1);

// DescribeTableStatistics returns 100 tables a page by default (at most 500). One page of TableStatistics is a few
// hundred bytes a table, so 100 keeps the page, the running totals and the bounded problem list far below the 256 KB
// state limit. Only running totals and a bounded list of problem tables stay in the state between pages; each page
// itself goes to the report bucket, which is where the per-table detail of thousands of tables lives.
const TABLE_PAGE_SIZE = 100;
// The outcome lists at most 2 x PROBLEM_TABLES_KEPT problem tables: the first ones found and the first ones of the
// last page read (JSONPath can slice each list, not a concatenation, so the bound is per list).
const PROBLEM_TABLES_KEPT = 5;
// The pipeline's own event source (the audit rule of the monitoring concern matches it and the pipeline name).
const AUDIT_EVENT_SOURCE = 'migration.pipeline';

/** The verdicts a run can end with once the task's tables were read. */
interface Verdict {
  readonly id: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly reason: string;
  /** The error name the execution fails with; remediation tells validation failures apart by it. */
  readonly error: string;
  readonly message: string;
  readonly listProblemTables: boolean;
}

/**
 * The state machine that runs a migration: it starts the DMS task the right way for its state
 * (start, resume, or nothing when already running), polls it until the load is complete, fails, or the
 * time budget is spent, then reads the task's table statistics (every page) until load and data validation have
 * settled for every table, writes the migration report, and publishes the outcome that the tables decide.
 */
export class Orchestration extends Construct {
  /** The migration state machine. */
  public readonly stateMachine: sfn.IStateMachine;
  /** The execution log group (level ALL). */
  public readonly logGroup: logs.ILogGroup;

  private readonly taskArn: string;
  private readonly reportBucket?: s3.IBucket;

  constructor(scope: Construct, id: string, props: OrchestrationProps) {
    super(scope, id);
    // Invalid values are reported and the defaults stand in, so that the poll count below can be computed.
    let pollInterval = props.pollInterval ?? Duration.minutes(5);
    let timeout = props.timeout ?? Duration.hours(2);
    if (!requireDurationInRange(this, 'orchestration.pollInterval', pollInterval, Duration.seconds(1), Duration.hours(1))) {
      pollInterval = Duration.minutes(5);
    }
    if (!requireDurationInRange(this, 'orchestration.timeout', timeout, Duration.minutes(1), Duration.days(365))) {
      timeout = Duration.hours(2);
    }
    if (!pollInterval.isUnresolved() && !timeout.isUnresolved() && pollInterval.toSeconds() >= timeout.toSeconds()) {
      reportError(this, `orchestration.pollInterval: received ${pollInterval.toHumanString()}; expected less than the timeout (${timeout.toHumanString()}).`);
      [pollInterval, timeout] = [Duration.minutes(5), Duration.hours(2)];
    }
    this.taskArn = props.replicationTask.ref;
    this.reportBucket = props.reportBucket;

    // The k-th check follows k waits and sees a count of k - 1. Allowing floor(timeout / interval) - 1 waits
    // leaves one interval for the last check and the notification, so a run that does not complete ends in the
    // failure path (with a notification) before the hard timeout cuts it off.
    const maxPolls = Math.max(1, Math.floor(timeout.toSeconds() / pollInterval.toSeconds()) - 2);

    // The execution fails with the outcome's error name (MigrationValidationFailed or MigrationFailed) and the
    // outcome as JSON for its cause, so whoever reads the failed execution (remediation) sees which tables failed.
    const failed = (failId: string) => new sfn.Fail(this, failId, {
      errorPath: '$.outcome.error',
      causePath: 'States.JsonToString($.outcome)',
    });
    const notifyFailure = this.publish('NotifyFailure', props.notificationTopic, 'FAILED').next(failed('MigrationFailed'));
    const notifySuccess = this.publish('NotifySuccess', props.notificationTopic, 'SUCCEEDED')
      .next(new sfn.Succeed(this, 'MigrationSucceeded', { outputPath: '$.outcome' }));
    (notifySuccess.startState as tasks.SnsPublish).addCatch(new sfn.Fail(this, 'NotificationFailed', {
      error: 'NotificationFailed', cause: 'The migration succeeded but its notification could not be published',
    }), { resultPath: '$.error' });
    (notifyFailure.startState as tasks.SnsPublish).addCatch(failed('FailureNotificationFailed'), { resultPath: '$.error' });

    const wait = new sfn.Wait(this, 'WaitForReplication', { time: sfn.WaitTime.duration(pollInterval) });
    const check = this.describeTask('CheckReplication', notifyFailure);
    const countPoll = new sfn.Pass(this, 'CountPoll', {
      parameters: { 'count.$': 'States.MathAdd($.polls.count, 1)' },
      resultPath: '$.polls',
    });
    countPoll.next(wait);
    const timedOut = new sfn.Pass(this, 'MigrationTimedOut', {
      parameters: { Error: 'MigrationTimedOut', Cause: `The replication did not complete within ${timeout.toHumanString()}` },
      resultPath: '$.error',
    }).next(notifyFailure);
    const replicationFailed = new sfn.Pass(this, 'ReplicationFailed', {
      parameters: { 'Error': 'ReplicationFailed', 'Cause.$': 'States.Format(\'Task status {}\', $.task.Status)' },
      resultPath: '$.error',
    }).next(notifyFailure);

    const announce = this.announceOutcome(notifySuccess, notifyFailure, props.pipelineName ?? 'migration-pipeline');
    const judge = this.judgeTables(maxPolls, timeout, announce, countPoll);
    const reviewTables = this.reviewTables(judge, notifyFailure);

    wait.next(check).next(new sfn.Choice(this, 'IsReplicationComplete')
      .when(failedCondition(), replicationFailed)
      .when(completeCondition(props.migrationType), reviewTables)
      .when(sfn.Condition.stringEquals('$.task.Status', 'stopped'), replicationFailed)
      .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', maxPolls), timedOut)
      .otherwise(countPoll));

    const start = this.startTask('StartReplication', 'start-replication', notifyFailure).next(wait);
    const resume = this.startTask('ResumeReplication', 'resume-processing', notifyFailure).next(wait);
    // The run's state lives in `polls`, `task`, `error` and `outcome` from the start, so a notification and the Fail
    // state can always read them; the execution input stays available as $$.Execution.Input.
    const definition = new sfn.Pass(this, 'Initialise', {
      parameters: {
        'polls': { count: 0 },
        'task': { Status: 'NOT_DESCRIBED' },
        'error': {},
        'outcome': {
          status: 'FAILED',
          reason: 'REPLICATION_FAILED',
          error: 'MigrationFailed',
          message: 'The replication failed or timed out; see the execution history',
        },
        'request.$': '$',
      },
    })
      .next(this.describeTask('DescribeTask', notifyFailure))
      .next(new sfn.Choice(this, 'HowToStart')
        .when(sfn.Condition.stringEquals('$.task.Status', 'ready'), start)
        .when(sfn.Condition.or(
          sfn.Condition.stringEquals('$.task.Status', 'stopped'),
          sfn.Condition.stringEquals('$.task.Status', 'failed'),
        ), resume)
        // Already running (or busy starting/modifying): just watch it.
        .otherwise(wait));

    this.logGroup = createLogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/migration-orchestration-${props.environmentSuffix}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `migration-orchestration-${props.environmentSuffix}`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // SNS encrypts with the topic's key on behalf of the publisher, so the publisher needs the key too.
    props.notificationTopicKey?.grant(this.stateMachine, 'kms:GenerateDataKey', 'kms:Decrypt');
    expectWildcards(this.stateMachine, [{
      finding: /^Resource::\*$/,
      reason: 'Only X-Ray, CloudWatch Logs delivery and dms:DescribeReplicationTasks, which support no resource-level permissions',
    }, {
      finding: /^Resource::.*reports\/migrations\/\*>?$/,
      reason: 'Reports are written under reports/migrations/ of the data bucket, one object per run and table page',
    }]);
    acknowledge(this.stateMachine, 'NIST.800.53.R5-IAMNoInlinePolicy',
      'The role policy belongs to this state machine and lists the DMS, S3, EventBridge and SNS calls of its tasks only');
  }

  /**
   * Reads every page of the task's table statistics, keeping running totals per state group and a bounded list of
   * problem tables (any table not validated) in `$.review`, and saves each page to the report bucket.
   */
  private reviewTables(next: sfn.IChainable, notifyFailure: sfn.IChainable): sfn.IChainable {
    // A table page that cannot be read or saved leaves the run without proof: it fails, saying so.
    const onError = new sfn.Pass(this, 'TableReviewFailed', {
      parameters: {
        status: 'FAILED',
        reason: 'TABLE_REVIEW_FAILED',
        error: 'MigrationFailed',
        message: 'The task\'s table statistics could not be read or saved; the error is in `error`',
      },
      resultPath: '$.outcome',
    }).next(notifyFailure);
    const startReview = new sfn.Pass(this, 'StartTableReview', {
      parameters: { pages: 0, totals: emptyTotals(), problems: [] },
      resultPath: '$.review',
    });
    const readFirst = this.readTablePage('ReadFirstTablePage', {}, onError);
    const readNext = this.readTablePage('ReadNextTablePage', { 'Marker.$': '$.page.Marker' }, onError);
    // Field names are plain paths with filters (the Paths page of the Step Functions Developer Guide shows filter
    // expressions); each projects the field it filters on, so the lists stay small whatever the table names are.
    const classify = new sfn.Pass(this, 'ClassifyTablePage', {
      parameters: {
        ...classificationPaths(),
        'kept.$': `$.review.problems[*][0:${PROBLEM_TABLES_KEPT}]`,
        'problems.$': '$.page.TableStatistics[?(@.ValidationState != \'Validated\')]',
      },
      resultPath: '$.page.classified',
    });
    const count = new sfn.Pass(this, 'CountTablePage', {
      parameters: {
        'pages.$': 'States.MathAdd($.review.pages, 1)',
        'totals': countedTotals(),
        'problems.$': 'States.Array($.page.classified.kept, $.page.classified.problems)',
      },
      resultPath: '$.review',
    });
    // The last page is dropped from the state once counted; the report bucket has it.
    const forgetPage = new sfn.Pass(this, 'ForgetTablePage', { result: sfn.Result.fromObject({}), resultPath: '$.page' });
    const morePages = new sfn.Choice(this, 'MoreTablePages')
      .when(sfn.Condition.isPresent('$.page.Marker'), readNext)
      .otherwise(forgetPage.next(next));

    classify.next(count).next(morePages);
    const save = this.saveTablePage(onError);
    save?.next(classify);
    readFirst.next(save ?? classify);
    readNext.next(save ?? classify);
    return startReview.next(readFirst);
  }

  private readTablePage(id: string, marker: Record<string, string>, onError: sfn.IChainable): tasks.CallAwsService {
    // DescribeTableStatistics supports resource-level permissions on the task.
    return this.dmsCall(id, 'describeTableStatistics', 'dms:DescribeTableStatistics', {
      ReplicationTaskArn: this.taskArn,
      MaxRecords: TABLE_PAGE_SIZE,
      ...marker,
    }, onError, { iamResources: [this.taskArn], resultPath: '$.page' });
  }

  /** Saves the page as read, before it is counted, as `reports/migrations/<execution>/tables-<page>.json`. */
  private saveTablePage(onError: sfn.IChainable): tasks.CallAwsService | undefined {
    if (!this.reportBucket) {
      return undefined;
    }
    return this.putReportObject('SaveTablePage',
      `States.Format('${MIGRATION_REPORT_PREFIX}{}/tables-{}.json', $$.Execution.Name, $.review.pages)`,
      'States.JsonToString($.page.TableStatistics)', onError);
  }

  /** Decides the run from the totals: a failure is final at once, success needs every table settled. */
  private judgeTables(maxPolls: number, timeout: Duration, next: sfn.IChainable, pollAgain: sfn.IChainable): sfn.Choice {
    const totals = (name: string) => `$.review.totals.${name}`;
    const all = (name: string) => sfn.Condition.numberEqualsJsonPath(totals(name), totals('tables'));
    const any = (name: string) => sfn.Condition.numberGreaterThan(totals(name), 0);
    const verdict = (v: Verdict) => this.verdict(v).next(next);
    return new sfn.Choice(this, 'JudgeTables')
      .when(sfn.Condition.numberEquals(totals('tables'), 0), verdict({
        id: 'NoTables',
        status: 'FAILED',
        reason: 'NO_TABLES',
        error: 'MigrationFailed',
        listProblemTables: false,
        message: 'The task reports no tables: check its table mappings',
      }))
      .when(any('loadFailed'), verdict({
        id: 'TablesNotLoaded',
        status: 'FAILED',
        reason: 'TABLES_NOT_LOADED',
        error: 'MigrationFailed',
        listProblemTables: true,
        message: 'Some tables were not loaded (table error, cancelled or missing)',
      }))
      .when(sfn.Condition.or(any('mismatched'), any('suspended'), any('notValidatable')), verdict({
        id: 'TablesFailedValidation',
        status: 'FAILED',
        reason: 'VALIDATION_FAILED',
        error: 'MigrationValidationFailed',
        listProblemTables: true,
        message: 'Data validation found rows that differ, rows it could not compare, or tables it cannot validate',
      }))
      .when(sfn.Condition.and(all('loaded'), all('validated')), verdict({
        id: 'TablesValidated',
        status: 'SUCCEEDED',
        reason: 'VALIDATED',
        error: 'None',
        listProblemTables: false,
        message: 'Every table was loaded and every row validated',
      }))
      .when(sfn.Condition.and(all('loaded'), all('validationNotEnabled')), verdict({
        id: 'TablesLoadedWithoutValidation',
        status: 'SUCCEEDED',
        reason: 'VALIDATION_NOT_ENABLED',
        error: 'None',
        listProblemTables: false,
        message: 'Every table was loaded; data validation is not enabled for this task, so no rows were compared',
      }))
      .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', maxPolls), verdict({
        id: 'ValidationStillPending',
        status: 'FAILED',
        reason: 'VALIDATION_PENDING',
        error: 'MigrationFailed',
        listProblemTables: true,
        message: `Load or validation had not settled for every table within ${timeout.toHumanString()}`,
      }))
      .otherwise(pollAgain);
  }

  private verdict(v: Verdict): sfn.Pass {
    const report = this.reportBucket ? {
      'bucket': this.reportBucket.bucketName,
      'key.$': `States.Format('${MIGRATION_REPORT_PREFIX}{}.json', $$.Execution.Name)`,
      'tablePages': {
        'prefix.$': `States.Format('${MIGRATION_REPORT_PREFIX}{}/', $$.Execution.Name)`,
        'count.$': '$.review.pages',
      },
    } : 'NOT_WRITTEN';
    return new sfn.Pass(this, v.id, {
      parameters: {
        'status': v.status,
        'reason': v.reason,
        'error': v.error,
        'message': v.message,
        'execution.$': '$$.Execution.Id',
        'replicationTaskArn': this.taskArn,
        'tables.$': '$.review.totals',
        ...(v.listProblemTables
          ? { 'problemTables.$': `$.review.problems[*][0:${PROBLEM_TABLES_KEPT}]` }
          : { problemTables: [] }),
        'report': report,
      },
      resultPath: '$.outcome',
    });
  }

  /** Writes the report, sends the audit event, then notifies by the outcome's status. */
  private announceOutcome(notifySuccess: sfn.IChainable, notifyFailure: sfn.IChainable, pipelineName: string): sfn.IChainable {
    const byStatus = new sfn.Choice(this, 'ByOutcome')
      .when(sfn.Condition.stringEquals('$.outcome.status', 'SUCCEEDED'), notifySuccess)
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
        'message': 'The migration report could not be written; the tables\' verdict is in `verdict`, the error in `reportError`',
        'verdict.$': '$.outcome',
        'reportError.$': '$.reportError',
      },
      resultPath: '$.outcome',
    }).next(notifyFailure);
    const write = this.putReportObject('WriteReport',
      `States.Format('${MIGRATION_REPORT_PREFIX}{}.json', $$.Execution.Name)`, 'States.JsonToString($.outcome)', reportNotWritten,
      '$.reportError');
    return write.next(audit);
  }

  private putReportObject(id: string, keyExpression: string, bodyExpression: string, onError: sfn.IChainable,
    errorPath = '$.error'): tasks.CallAwsService {
    const bucket = this.reportBucket!;
    const call = new tasks.CallAwsService(this, id, {
      service: 's3',
      action: 'putObject',
      iamAction: 's3:PutObject',
      parameters: {
        'Bucket': bucket.bucketName,
        'Key.$': keyExpression,
        'Body.$': bodyExpression,
        'ContentType': 'application/json',
      },
      iamResources: [bucket.arnForObjects(`${MIGRATION_REPORT_PREFIX}*`)],
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    call.addRetry({ errors: S3_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    call.addCatch(onError, { resultPath: errorPath });
    return call;
  }

  private describeTask(id: string, onError: sfn.IChainable): tasks.CallAwsService {
    return this.dmsCall(id, 'describeReplicationTasks', 'dms:DescribeReplicationTasks', {
      Filters: [{ Name: 'replication-task-arn', Values: [this.taskArn] }],
    }, onError, {
      // DescribeReplicationTasks does not support resource-level permissions.
      iamResources: ['*'],
      resultSelector: { 'Status.$': '$.ReplicationTasks[0].Status', 'Task.$': '$.ReplicationTasks[0]' },
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
    call.addRetry({ errors: DMS_TRANSIENT_ERRORS, interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    call.addCatch(onError, { resultPath: '$.error' });
    return call;
  }

  private publish(id: string, topic: sns.ITopic, outcome: string): sfn.Chain {
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
    return sfn.Chain.start(publish);
  }
}

/** The running totals of the table review, by state group (see DMS_VALIDATION_STATES and DMS_TABLE_STATES). */
const TOTAL_GROUPS: Array<[string, 'ValidationState' | 'TableState', readonly string[]]> = [
  ['loaded', 'TableState', DMS_TABLE_STATES.loaded],
  ['loading', 'TableState', DMS_TABLE_STATES.loading],
  ['loadFailed', 'TableState', DMS_TABLE_STATES.failed],
  ['validated', 'ValidationState', DMS_VALIDATION_STATES.validated],
  ['validationNotEnabled', 'ValidationState', DMS_VALIDATION_STATES.notEnabled],
  ['validationPending', 'ValidationState', DMS_VALIDATION_STATES.pending],
  ['mismatched', 'ValidationState', DMS_VALIDATION_STATES.mismatched],
  ['suspended', 'ValidationState', DMS_VALIDATION_STATES.suspended],
  ['notValidatable', 'ValidationState', DMS_VALIDATION_STATES.notValidatable],
];

function emptyTotals(): Record<string, number> {
  return Object.fromEntries([['tables', 0], ...TOTAL_GROUPS.map(([name]) => [name, 0])]);
}

/** One list per documented state value: the page's tables in that state (each entry is the state itself). */
function classificationPaths(): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [name, field, values] of TOTAL_GROUPS) {
    values.forEach((value, i) => {
      paths[`${name}${i}.$`] = `$.page.TableStatistics[?(@.${field} == '${value}')].${field}`;
    });
  }
  return paths;
}

/** Previous total + the length of each list of the group (at most four lists, so eight nested intrinsics). */
function countedTotals(): Record<string, string> {
  const totals: Record<string, string> = {
    'tables.$': 'States.MathAdd($.review.totals.tables, States.ArrayLength($.page.TableStatistics))',
  };
  for (const [name, , values] of TOTAL_GROUPS) {
    totals[`${name}.$`] = values.reduce((sum, _value, i) =>
      `States.MathAdd(${sum}, States.ArrayLength($.page.classified.${name}${i}))`, `$.review.totals.${name}`);
  }
  return totals;
}

/** A failed task, or any table in error. */
function failedCondition(): sfn.Condition {
  return sfn.Condition.or(
    sfn.Condition.stringEquals('$.task.Status', 'failed'),
    sfn.Condition.and(
      sfn.Condition.isPresent('$.task.Task.ReplicationTaskStats.TablesErrored'),
      sfn.Condition.numberGreaterThan('$.task.Task.ReplicationTaskStats.TablesErrored', 0),
    ),
  );
}

/**
 * When a run is complete depends on the migration type: a full-load-and-cdc task keeps running (CDC) once the
 * full load reaches 100 %; a full-load task stops with FULL_LOAD_ONLY_FINISHED; a cdc task is complete once running.
 */
function completeCondition(migrationType: string): sfn.Condition {
  const running = sfn.Condition.stringEquals('$.task.Status', 'running');
  const fullLoadDone = sfn.Condition.and(
    sfn.Condition.isPresent('$.task.Task.ReplicationTaskStats.FullLoadProgressPercent'),
    sfn.Condition.numberGreaterThanEquals('$.task.Task.ReplicationTaskStats.FullLoadProgressPercent', 100),
  );
  switch (migrationType) {
    case 'full-load':
      return sfn.Condition.and(
        sfn.Condition.stringEquals('$.task.Status', 'stopped'),
        sfn.Condition.isPresent('$.task.Task.StopReason'),
        sfn.Condition.stringMatches('$.task.Task.StopReason', '*FULL_LOAD_ONLY_FINISHED*'),
      );
    case 'cdc':
      return running;
    default:
      return sfn.Condition.and(running, fullLoadDone);
  }
}
