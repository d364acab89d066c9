import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, expectWildcards } from './acknowledgements';
import { requireDurationInRange, requireThat } from './validation';
import { PremigrationAssessmentOptions } from '../premigration-assessment';

/** Individual assessments that apply to every migration type (DMS User Guide, "MySQL assessments"). */
export const ASSESSMENTS_FOR_EVERY_MIGRATION_TYPE: readonly string[] = [
  'mysql-check-select-privileges',
  'mysql-check-supported-version',
  'mysql-check-table-storage-engine',
];

/** Individual assessments of the binary log and of replication: they apply to cdc and full-load-and-cdc only. */
export const ASSESSMENTS_FOR_CHANGE_CAPTURE: readonly string[] = [
  'mysql-check-binlog-enabled',
  'mysql-check-binlog-format',
  'mysql-check-binlog-image',
  'mysql-check-server-id',
  'mysql-check-replication-privileges',
  'mysql-check-expire-logs-days',
  'mysql-check-binlog-compression',
  'mysql-check-database-role',
];

/** Where the assessment results are written in the report bucket, one folder per migration run. */
export const ASSESSMENT_RESULT_PREFIX = 'reports/premigration-assessments/';
/** How long the run waits between two looks at the assessment run. */
export const ASSESSMENT_POLL_INTERVAL = Duration.seconds(30);
/** The longest assessment wait the props allow: 120 looks, whose history events fit beside the replication polls. */
export const MAX_ASSESSMENT_TIMEOUT = Duration.minutes(60);
const DEFAULT_TIMEOUT = Duration.minutes(30);
// DescribeReplicationTaskIndividualAssessments returns at most 100 records a page (DMS API Reference, MaxRecords).
const MAX_ASSESSMENTS = 100;
const ASSESSMENT_KEY = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Assessment run statuses while DMS is still working (DMS API Reference, ReplicationTaskAssessmentRun). */
const IN_PROGRESS = ['starting', 'provisioning', 'running'];
/** Ends the first start goes on from: every assessment passed, or some warned (or all were skipped). */
const STARTABLE = ['passed', 'warning'];

/** The default assessments for a migration type. */
export function defaultAssessments(migrationType: string): string[] {
  const changeCapture = migrationType === 'full-load' ? [] : ASSESSMENTS_FOR_CHANGE_CAPTURE;
  return [...ASSESSMENTS_FOR_EVERY_MIGRATION_TYPE, ...changeCapture];
}

/** Builds a failure outcome state of the orchestration: the run ends FAILED with this reason, announced. */
export type FailureBuilder = (id: string, fields: Record<string, unknown>) => sfn.IChainable;

/** Props of {@link PremigrationAssessment}. */
export interface PremigrationAssessmentProps extends PremigrationAssessmentOptions {
  /** The task to assess. */
  readonly taskArn: string;
  /** The task's migration type, which decides the default assessments. */
  readonly migrationType: string;
  /** Where DMS writes the results (under reports/premigration-assessments/<execution name>/). */
  readonly resultBucket: s3.IBucket;
  /** Retry list of the DMS calls. */
  readonly transientErrors: string[];
  /** How long one AWS call may take. */
  readonly callTimeout: Duration;
  /** The interval between two looks at the replication task (orchestration.pollInterval). */
  readonly pollInterval: Duration;
  /** The time budget of one migration run (orchestration.timeout), which the assessment's wait is part of. */
  readonly runTimeout: Duration;
  /** Builds the failure outcomes (SOURCE_NOT_READY, PREMIGRATION_ASSESSMENT_ERROR, ..._TIMED_OUT). */
  readonly failure: FailureBuilder;
}

/**
 * The premigration assessment before the first start of the task: starts an assessment run of the chosen MySQL
 * assessments, waits for it within a bounded number of looks, and goes on to the start only when it passed or
 * warned. `$.assessment` holds the run as DMS describes it (statuses, statistics, result location), so the run's
 * report records warnings too.
 */
export class PremigrationAssessment extends Construct {
  /** The role DMS assumes to write the results to the bucket. */
  public readonly serviceRole: iam.IRole;
  /** The assessments each run includes. */
  public readonly assessments: string[];
  /** How long a run waits for the assessment. */
  public readonly timeout: Duration;
  private readonly props: PremigrationAssessmentProps;

  constructor(scope: Construct, id: string, props: PremigrationAssessmentProps) {
    super(scope, id);
    this.props = props;
    this.assessments = checkedAssessments(this, props.assessments ?? defaultAssessments(props.migrationType));
    this.timeout = checkedTimeout(this, props.timeout ?? defaultTimeout(props.runTimeout), props.runTimeout, props.pollInterval);
    this.serviceRole = this.createServiceRole();
  }

  /** The most looks at the assessment run one migration run makes. */
  public get maxPolls(): number {
    return Math.max(1, Math.floor(this.timeout.toSeconds() / ASSESSMENT_POLL_INTERVAL.toSeconds()));
  }

  /** The replication polls the assessment's longest wait (every look's Wait state) takes from the run's budget. */
  public get chargedPolls(): number {
    const longestWait = (this.maxPolls + 1) * ASSESSMENT_POLL_INTERVAL.toSeconds();
    return Math.ceil(longestWait / this.props.pollInterval.toSeconds());
  }

  /** The chain that assesses, then goes on to `start` (the first StartReplicationTask) or fails the run. */
  public gate(start: sfn.IChainable): sfn.IChainable {
    const notStarted = this.props.failure('PremigrationAssessmentNotStarted', {
      reason: 'PREMIGRATION_ASSESSMENT_ERROR',
      message: 'The premigration assessment could not be started or read; the error is in `error`',
    });
    const run = this.startRun(notStarted);
    const wait = new sfn.Wait(this, 'WaitForPremigrationAssessment', { time: sfn.WaitTime.duration(ASSESSMENT_POLL_INTERVAL) });
    const check = this.describeRun(notStarted);
    const count = new sfn.Pass(this, 'CountPremigrationAssessmentPoll', {
      parameters: { 'count.$': 'States.MathAdd($.assessment.polls.count, 1)' },
      resultPath: '$.assessment.polls',
    });
    const status = '$.assessment.latest.Status';
    // The run's time budget (orchestration.timeout) covers the assessment: its longest wait is charged to the
    // replication polls before the first start, so the run still ends with its own verdict before the execution's
    // timeout. A resume, which does not assess, keeps every poll.
    const charge = new sfn.Pass(this, 'ChargePremigrationAssessmentTime', {
      parameters: { count: this.chargedPolls },
      resultPath: '$.polls',
    });
    run.next(wait).next(check).next(new sfn.Choice(this, 'IsPremigrationAssessmentDone')
      .when(sfn.Condition.or(...STARTABLE.map((s) => sfn.Condition.stringEquals(status, s))), charge.next(start))
      .when(sfn.Condition.stringEquals(status, 'failed'), this.nameFailedAssessments())
      .when(sfn.Condition.and(
        sfn.Condition.or(...IN_PROGRESS.map((s) => sfn.Condition.stringEquals(status, s))),
        sfn.Condition.numberGreaterThanEquals('$.assessment.polls.count', this.maxPolls),
      ), this.props.failure('PremigrationAssessmentTimedOut', {
        reason: 'PREMIGRATION_ASSESSMENT_TIMED_OUT',
        message: `The premigration assessment did not end within ${this.timeout.toHumanString()}; the task was not started`,
      }))
      .when(sfn.Condition.or(...IN_PROGRESS.map((s) => sfn.Condition.stringEquals(status, s))), count.next(wait))
      // error-provisioning, error-executing, cancelling, deleting, invalid state, or any status DMS adds later.
      .otherwise(this.props.failure('PremigrationAssessmentError', {
        'reason': 'PREMIGRATION_ASSESSMENT_ERROR',
        'message.$': `States.Format('The premigration assessment ended {}, without a verdict; the task was not started. Results: ${this.resultLocation()}', ${status}, $$.Execution.Name)`,
      })));
    return run;
  }

  /** The Describe calls are allowed on the task and on the assessment runs of this account and region. */
  private describeResources(): string[] {
    const runs = Stack.of(this).formatArn({ service: 'dms', resource: 'assessment-run', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    return [this.props.taskArn, runs];
  }

  private resultLocation(): string {
    return `s3://${this.props.resultBucket.bucketName}/${ASSESSMENT_RESULT_PREFIX}{}/`;
  }

  private startRun(onError: sfn.IChainable): tasks.CallAwsService {
    return this.dmsCall('StartPremigrationAssessment', 'startReplicationTaskAssessmentRun', {
      'ReplicationTaskArn': this.props.taskArn,
      'ServiceAccessRoleArn': this.serviceRole.roleArn,
      'ResultLocationBucket': this.props.resultBucket.bucketName,
      'ResultLocationFolder.$': `States.Format('${ASSESSMENT_RESULT_PREFIX}{}', $$.Execution.Name)`,
      'ResultEncryptionMode': 'SSE_S3',
      'AssessmentRunName.$': '$$.Execution.Name',
      'IncludeOnly': this.assessments,
    }, onError, {
      iamResources: [this.props.taskArn],
      resultSelector: { 'polls': { count: 0 }, 'run.$': '$.ReplicationTaskAssessmentRun' },
      resultPath: '$.assessment',
    });
  }

  private describeRun(onError: sfn.IChainable): tasks.CallAwsService {
    return this.dmsCall('CheckPremigrationAssessment', 'describeReplicationTaskAssessmentRuns', {
      Filters: [{ 'Name': 'replication-task-assessment-run-arn', 'Values.$': 'States.Array($.assessment.run.ReplicationTaskAssessmentRunArn)' }],
    }, onError, {
      iamResources: this.describeResources(),
      // DMS answers a filter that matches no run with ResourceNotFoundFault, so [0] is there when the call succeeds.
      resultSelector: { 'Status.$': '$.ReplicationTaskAssessmentRuns[0].Status', 'Run.$': '$.ReplicationTaskAssessmentRuns[0]' },
      resultPath: '$.assessment.latest',
    });
  }

  /** Reads which individual assessments failed (one page: a run includes at most 100) and ends SOURCE_NOT_READY. */
  private nameFailedAssessments(): sfn.IChainable {
    const location = this.resultLocation();
    const unnamed = this.props.failure('SourceNotReadyUnnamed', {
      'reason': 'SOURCE_NOT_READY',
      'message.$': `States.Format('The premigration assessment failed (its individual results could not be listed; the error is in \`error\`); the task was not started. Results: ${location}', $$.Execution.Name)`,
    });
    const list = this.dmsCall('ListFailedPremigrationAssessments', 'describeReplicationTaskIndividualAssessments', {
      Filters: [{ 'Name': 'replication-task-assessment-run-arn', 'Values.$': 'States.Array($.assessment.run.ReplicationTaskAssessmentRunArn)' }],
      MaxRecords: MAX_ASSESSMENTS,
    }, unnamed, {
      iamResources: this.describeResources(),
      resultSelector: {
        // A filter yields the list of matches, empty when nothing matches (Paths, Step Functions Developer Guide).
        'failed.$': "$.ReplicationTaskIndividualAssessments[?(@.Status == 'failed')].IndividualAssessmentName",
        'error.$': "$.ReplicationTaskIndividualAssessments[?(@.Status == 'error')].IndividualAssessmentName",
      },
      resultPath: '$.assessment.individual',
    });
    return list.next(this.props.failure('SourceNotReady', {
      'reason': 'SOURCE_NOT_READY',
      'message.$': 'States.Format(\'The source is not ready: the premigration assessment failed {} (errors: {}); the task was not started. '
        + `Fix the source (README, "Before the first load") and start a new run. Results: ${location}', `
        + 'States.JsonToString($.assessment.individual.failed), States.JsonToString($.assessment.individual.error), $$.Execution.Name)',
      'failedAssessments.$': '$.assessment.individual.failed',
    }));
  }

  private dmsCall(id: string, action: string, parameters: Record<string, unknown>, onError: sfn.IChainable,
    options: { iamResources: string[]; resultSelector: Record<string, unknown>; resultPath: string }): tasks.CallAwsService {
    const call = new tasks.CallAwsService(this, id, {
      service: 'databasemigration',
      action,
      iamAction: `dms:${action.charAt(0).toUpperCase()}${action.slice(1)}`,
      parameters,
      iamResources: options.iamResources,
      resultSelector: options.resultSelector,
      resultPath: options.resultPath,
      taskTimeout: sfn.Timeout.duration(this.props.callTimeout),
    });
    call.addRetry({ errors: this.props.transientErrors, interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    call.addCatch(onError, { resultPath: '$.error' });
    return call;
  }

  /**
   * The role DMS assumes to write the assessment results (DMS User Guide, "Creating IAM resources" for premigration
   * assessments): objects under the results prefix of the report bucket, and the bucket's listing of that prefix.
   */
  private createServiceRole(): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('dms.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Lets DMS write premigration assessment results under reports/premigration-assessments/',
    });
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectTagging'],
      resources: [this.props.resultBucket.arnForObjects(`${ASSESSMENT_RESULT_PREFIX}*`)],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [this.props.resultBucket.bucketArn],
    }));
    acknowledge(role, 'NIST.800.53.R5-IAMNoInlinePolicy', 'The role policy belongs to this role and lists the assessment results prefix only');
    expectWildcards(role, [{
      finding: /^Resource::.*reports\/premigration-assessments\/\*>?$/,
      reason: 'DMS writes each run\'s results in a folder of its own under reports/premigration-assessments/',
    }]);
    return role;
  }

  /** The state machine starts assessment runs with this role: it may pass the role to DMS only. */
  public grantPassRole(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['iam:PassRole'],
      resourceArns: [this.serviceRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'dms.amazonaws.com' } },
    });
  }
}

function checkedAssessments(scope: Construct, assessments: string[]): string[] {
  const prop = 'orchestration.premigrationAssessment.assessments';
  requireThat(scope, assessments.length >= 1 && assessments.length <= MAX_ASSESSMENTS,
    `${prop}: received ${assessments.length} assessments; expected from 1 to ${MAX_ASSESSMENTS} (disable the assessment with enabled: false instead).`);
  for (const key of assessments) {
    requireThat(scope, ASSESSMENT_KEY.test(key),
      `${prop}: received '${key}'; expected an individual assessment's API key, lowercase words joined by '-' (for example 'mysql-check-binlog-format').`);
  }
  requireThat(scope, new Set(assessments).size === assessments.length,
    `${prop}: received [${assessments.join(', ')}]; expected each assessment once.`);
  return assessments;
}

/** 30 minutes, or a quarter of a shorter run's time budget (whole minutes, at least one). */
function defaultTimeout(runTimeout: Duration): Duration {
  const quarter = Math.floor(runTimeout.toSeconds() / 4 / 60);
  return Duration.minutes(Math.min(DEFAULT_TIMEOUT.toMinutes(), Math.max(1, quarter)));
}

function checkedTimeout(scope: Construct, timeout: Duration, runTimeout: Duration, pollInterval: Duration): Duration {
  const prop = 'orchestration.premigrationAssessment.timeout';
  if (!requireDurationInRange(scope, prop, timeout, Duration.minutes(1), MAX_ASSESSMENT_TIMEOUT)) {
    return DEFAULT_TIMEOUT;
  }
  // After the longest assessment wait, the run must keep time for at least a few looks at the replication task.
  const left = runTimeout.toSeconds() - timeout.toSeconds();
  requireThat(scope, left >= 3 * pollInterval.toSeconds(),
    `${prop}: received ${timeout.toHumanString()} with an orchestration.timeout of ${runTimeout.toHumanString()} and a pollInterval of `
    + `${pollInterval.toHumanString()}; expected at most the timeout minus three poll intervals, since the assessment's wait is part of `
    + 'the run\'s time budget.');
  return timeout;
}
