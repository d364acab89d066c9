import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CUTOVER_KIND, LeaseStates, READ } from './task-lease';

/** The lease's phases while a cutover holds it (src/private/task-lease.ts documents the item). */
export const CUTOVER_CHECKING_PHASE = 'checking';
export const CUTOVER_STOPPING_PHASE = 'stopping';
export const CUTOVER_COMPLETE_PHASE = 'complete';

const CONDITION_FAILED = 'DynamoDb.ConditionalCheckFailedException';
/** A lease released and taken again between two of the cutover's looks is retried this often, then refused. */
export const MAX_CUTOVER_LEASE_ATTEMPTS = 5;

/** Why a cutover could not take the task, for its outcome. */
export interface CutoverLeaseRefusals {
  /** Another actor holds the task now (a run or another cutover that still runs, a deployment, a remediation). */
  readonly held: sfn.IChainable;
  /** An earlier cutover completed: the task stays stopped for good. */
  readonly alreadyCutOver: sfn.IChainable;
  /** The lease changed hands at every look. */
  readonly contended: sfn.IChainable;
  /** DynamoDB (or Step Functions) could not be read or written; the error is in `$.error`. */
  readonly failed: sfn.IChainable;
}

/**
 * The lease chains of the cutover state machine. A cutover takes the task's lease like a migration run, but never
 * waits for it: a run, a deployment or a remediation that holds the task ends the cutover before it checks anything,
 * saying who holds it. Once the task is stopped the lease stays with the cutover, marked complete, so that nothing
 * starts the task again; an aborted cutover releases it.
 */
export class CutoverLeaseStates extends LeaseStates {
  constructor(scope: Construct, table: dynamodb.ITable, taskArn: string, private readonly executionsArns: string[]) {
    super(scope, table, taskArn);
  }

  /** Takes the lease for this cutover (phase `checking`), then goes on to `held`; `$.me` holds the execution's ARN. */
  public acquire(held: sfn.IChainable, refusals: CutoverLeaseRefusals): sfn.IChainable {
    const acquire = this.update('AcquireCutoverLease', {
      UpdateExpression: 'SET #holder = :me, #kind = :cutover, #grant = :now, #phase = :checking, #phaseSince = :now',
      ConditionExpression: 'attribute_not_exists(#task)',
      ExpressionAttributeValues: this.holdValues(),
    }, { resultPath: sfn.JsonPath.DISCARD });
    const read = this.read('ReadTaskLease');
    const takeOver = this.update('TakeOverTaskLease', {
      UpdateExpression: 'SET #holder = :me, #kind = :cutover, #grant = :now, #phase = :checking, #phaseSince = :now '
        + 'REMOVE #expiresAt, #previousHolder, #resumeAfter',
      ConditionExpression: '#grant = :observed',
      ExpressionAttributeValues: { ...this.holdValues(), ':observed': { 'S.$': `${READ}.Item.grant.S` } },
    }, { resultPath: sfn.JsonPath.DISCARD });
    const tryAgain = new sfn.Choice(this.scope, 'MayTryCutoverLeaseAgain')
      .when(sfn.Condition.numberGreaterThanEquals('$.leaseAttempts.count', MAX_CUTOVER_LEASE_ATTEMPTS), refusals.contended)
      .otherwise(new sfn.Pass(this.scope, 'CountCutoverLeaseAttempt', {
        parameters: { 'count.$': 'States.MathAdd($.leaseAttempts.count, 1)' },
        resultPath: '$.leaseAttempts',
      }).next(acquire));
    for (const write of [acquire, takeOver]) {
      write.addCatch(write === acquire ? read : tryAgain, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
      write.addCatch(refusals.failed, { resultPath: '$.error' });
      write.next(held);
    }
    read.addCatch(refusals.failed, { resultPath: '$.error' });

    const holder = this.describeHolder(takeOver, refusals);
    read.next(new sfn.Pass(this.scope, 'ReadCutoverClock', { parameters: { 'now.$': '$$.State.EnteredTime' }, resultPath: '$.clock' }))
      .next(new sfn.Choice(this.scope, 'WhoHoldsTheTaskForCutover')
        .when(sfn.Condition.isNotPresent(`${READ}.Item`), tryAgain)
        // This very execution (redriven after it failed before releasing): it holds the task already.
        .when(sfn.Condition.stringEqualsJsonPath(`${READ}.Item.holder.S`, '$.me'), held)
        .when(sfn.Condition.and(
          sfn.Condition.stringEquals(`${READ}.Item.kind.S`, CUTOVER_KIND),
          sfn.Condition.isPresent(`${READ}.Item.phase.S`),
          sfn.Condition.stringEquals(`${READ}.Item.phase.S`, CUTOVER_COMPLETE_PHASE),
        ), refusals.alreadyCutOver)
        .when(sfn.Condition.and(
          sfn.Condition.isPresent(`${READ}.Item.expiresAt.S`),
          sfn.Condition.timestampLessThanJsonPath(`${READ}.Item.expiresAt.S`, '$.clock.now'),
        ), takeOver)
        .when(sfn.Condition.or(
          sfn.Condition.stringEquals(`${READ}.Item.kind.S`, 'run'),
          sfn.Condition.stringEquals(`${READ}.Item.kind.S`, CUTOVER_KIND),
        ), holder)
        .otherwise(refusals.held));
    return acquire;
  }

  /**
   * Moves the lease to `phase`, only while this cutover holds it; a deployment that took the task meanwhile sends the
   * cutover to `lost` (its update stops and resumes the task, which the cutover must then leave alone).
   */
  public markPhase(id: string, phase: string, lost: sfn.IChainable, failed: sfn.IChainable): tasks.CallAwsService {
    const mark = this.update(id, {
      UpdateExpression: 'SET #phase = :phase, #phaseSince = :now',
      ConditionExpression: '#holder = :me',
      ExpressionAttributeValues: { ':phase': { S: phase }, ':now': { 'S.$': '$$.State.EnteredTime' }, ':me': { 'S.$': '$$.Execution.Id' } },
    }, { resultPath: sfn.JsonPath.DISCARD });
    mark.addCatch(lost, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
    mark.addCatch(failed, { resultPath: '$.leaseError' });
    return mark;
  }

  /**
   * Marks the cutover complete for good, once the task is stopped: in the lease this cutover holds, or in a new one
   * when a deployment took the lease during the stop and released it since (its update does not resume a task that
   * was not running). Then goes on to `next` whatever happened: the task is stopped either way.
   */
  public markComplete(next: sfn.IChainable): sfn.IChainable {
    const mark = this.update('MarkCutoverComplete', {
      UpdateExpression: 'SET #holder = :me, #kind = :cutover, #phase = :complete, #phaseSince = :now',
      ConditionExpression: '#holder = :me OR attribute_not_exists(#task)',
      ExpressionAttributeValues: {
        ':me': { 'S.$': '$$.Execution.Id' },
        ':cutover': { S: CUTOVER_KIND },
        ':complete': { S: CUTOVER_COMPLETE_PHASE },
        ':now': { 'S.$': '$$.State.EnteredTime' },
      },
    }, { resultPath: sfn.JsonPath.DISCARD });
    mark.addCatch(next, { resultPath: '$.leaseError' });
    return mark.next(next);
  }

  /** Releases the lease if this cutover holds it, then goes on to `next` whatever happened. */
  public release(next: sfn.IChainable): sfn.IChainable {
    const release = this.deleteIfHeld('ReleaseCutoverLease');
    release.addCatch(next, { resultPath: '$.leaseError' });
    return release.next(next);
  }

  /** A run or a cutover holds the lease until its execution ends: one still running refuses this cutover. */
  private describeHolder(takeOver: sfn.IChainable, refusals: CutoverLeaseRefusals): sfn.IChainable {
    const describe = new tasks.CallAwsService(this.scope, 'DescribeTaskHolder', {
      service: 'sfn',
      action: 'describeExecution',
      iamAction: 'states:DescribeExecution',
      parameters: { 'ExecutionArn.$': `${READ}.Item.holder.S` },
      iamResources: this.executionsArns,
      resultSelector: { 'status.$': '$.Status' },
      resultPath: '$.holdingExecution',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(1)),
    });
    describe.addRetry({ errors: ['Sfn.ThrottlingException', 'States.Timeout'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    describe.addCatch(takeOver, { errors: ['Sfn.ExecutionDoesNotExistException'], resultPath: '$.leaseError' });
    describe.addCatch(refusals.failed, { resultPath: '$.error' });
    return describe.next(new sfn.Choice(this.scope, 'IsTaskHolderRunning')
      .when(sfn.Condition.stringEquals('$.holdingExecution.status', 'RUNNING'), refusals.held)
      .otherwise(takeOver));
  }

  private holdValues(): Record<string, unknown> {
    return {
      ':me': { 'S.$': '$$.Execution.Id' },
      ':cutover': { S: CUTOVER_KIND },
      ':now': { 'S.$': '$$.State.EnteredTime' },
      ':checking': { S: CUTOVER_CHECKING_PHASE },
    };
  }
}
