import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, expectWildcards } from './private/acknowledgements';
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
}

// Errors worth retrying: throttling and transient client errors of the SDK integrations.
const DMS_TRANSIENT_ERRORS = ['DatabaseMigration.ThrottlingException', 'DatabaseMigration.SdkClientException', 'States.Timeout'];
const SNS_TRANSIENT_ERRORS = ['SNS.ThrottledException', 'SNS.SdkClientException', 'SNS.AmazonSNSException', 'States.Timeout'];

/**
 * The state machine that runs a migration: it starts the DMS task the right way for its state
 * (start, resume, or nothing when already running), polls it until the load is complete, fails, or the
 * time budget is spent, and publishes the outcome.
 */
export class Orchestration extends Construct {
  /** The migration state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The execution log group (level ALL). */
  public readonly logGroup: logs.LogGroup;

  private readonly taskArn: string;

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

    // The k-th check follows k waits and sees a count of k - 1. Allowing floor(timeout / interval) - 1 waits
    // leaves one interval for the last check and the notification, so a run that does not complete ends in the
    // failure path (with a notification) before the hard timeout cuts it off.
    const maxPolls = Math.max(1, Math.floor(timeout.toSeconds() / pollInterval.toSeconds()) - 2);

    const notifyFailure = this.publish('NotifyFailure', props.notificationTopic, 'FAILED')
      .next(new sfn.Fail(this, 'MigrationFailed', { error: 'MigrationFailed', cause: 'The replication failed or timed out; see the execution history' }));
    const notifySuccess = this.publish('NotifySuccess', props.notificationTopic, 'SUCCEEDED')
      .next(new sfn.Succeed(this, 'MigrationSucceeded'));
    (notifySuccess.startState as tasks.SnsPublish).addCatch(new sfn.Fail(this, 'NotificationFailed', {
      error: 'NotificationFailed', cause: 'The migration succeeded but its notification could not be published',
    }), { resultPath: '$.error' });
    (notifyFailure.startState as tasks.SnsPublish).addCatch(new sfn.Fail(this, 'FailureNotificationFailed', {
      error: 'MigrationFailed', cause: 'The migration failed and its notification could not be published',
    }), { resultPath: '$.error' });

    const wait = new sfn.Wait(this, 'WaitForReplication', { time: sfn.WaitTime.duration(pollInterval) });
    const check = this.describeTask('CheckReplication', notifyFailure);
    const countPoll = new sfn.Pass(this, 'CountPoll', {
      parameters: { 'count.$': 'States.MathAdd($.polls.count, 1)' },
      resultPath: '$.polls',
    });
    const timedOut = new sfn.Pass(this, 'MigrationTimedOut', {
      parameters: { Error: 'MigrationTimedOut', Cause: `The replication did not complete within ${timeout.toHumanString()}` },
      resultPath: '$.error',
    }).next(notifyFailure);
    const replicationFailed = new sfn.Pass(this, 'ReplicationFailed', {
      parameters: { 'Error': 'ReplicationFailed', 'Cause.$': 'States.Format(\'Task status {}\', $.task.Status)' },
      resultPath: '$.error',
    }).next(notifyFailure);

    wait.next(check).next(new sfn.Choice(this, 'IsReplicationComplete')
      .when(failedCondition(), replicationFailed)
      .when(completeCondition(props.migrationType), notifySuccess)
      .when(sfn.Condition.stringEquals('$.task.Status', 'stopped'), replicationFailed)
      .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', maxPolls), timedOut)
      .otherwise(countPoll.next(wait)));

    const start = this.startTask('StartReplication', 'start-replication', notifyFailure).next(wait);
    const resume = this.startTask('ResumeReplication', 'resume-processing', notifyFailure).next(wait);
    // The run's state lives in `polls`, `task` and `error` from the start, so a notification can always read them;
    // the execution input stays available as $$.Execution.Input.
    const definition = new sfn.Pass(this, 'Initialise', {
      parameters: { 'polls': { count: 0 }, 'task': { Status: 'NOT_DESCRIBED' }, 'error': {}, 'request.$': '$' },
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
    }]);
    acknowledge(this.stateMachine, 'NIST.800.53.R5-IAMNoInlinePolicy',
      'The role policy belongs to this state machine and lists the DMS and SNS calls of its tasks only');
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
        'task.$': '$.task',
        'error.$': '$.error',
      }),
      messageAttributes: { migrationOutcome: { value: outcome } },
      resultPath: sfn.JsonPath.DISCARD,
    });
    publish.addRetry({ errors: SNS_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    return sfn.Chain.start(publish);
  }
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
