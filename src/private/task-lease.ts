import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeAll } from './acknowledgements';

/**
 * The replication task's lease: one DynamoDB item per task (partition key `task`, the task's ARN) that says who may
 * act on the task. Every holder writes it with a conditional write, which DynamoDB applies atomically, so two actors
 * can never both hold it. Its attributes (src/runtime/dms_task_guard.py and remediation.py spell the same names):
 *
 * - `holder`: a migration run's or a cutover's execution ARN, `deployment:<request>` (the stop guard) or
 *   `remediation:<request>`;
 * - `kind`: `run`, `deployment`, `remediation` or `cutover`;
 * - `grant`: when the current holder got it (ISO 8601); changes on every hand-over, so a holder can tell a lease
 *   handed back to it from one it never lost;
 * - `expiresAt` (deployment and remediation only): after it anyone may take the lease. A run's hold ends with its
 *   execution instead: a run that finds the lease held by an execution that no longer runs takes it over;
 * - `files`: the keys of the first FILE_SAMPLE_SIZE files the holding run covers (its own and those of the runs that
 *   joined it). A key may be 1,024 bytes and a run may cover thousands of files, more than an item (400 KB), a state
 *   or an SNS message (256 KiB) holds, so the list stops there; `fileCount` counts every file covered, and each file
 *   past the sample is recorded as its own object under the report bucket's `<batch>/files/` (see FILE_RECORD_PREFIX);
 * - `batch`: the execution name of the run that began this list of files; it moves with the files when a run takes
 *   the lease over, and names where the files past the sample are recorded;
 * - `phase`, `phaseSince`: `starting` while a run starts the task (a deployment waits for that to end); for a
 *   cutover `checking`, then `stopping`, then `complete`: a completed cutover keeps its item for good, so that no
 *   run, remediation or deployment starts the task again (src/private/cutover-lease.ts);
 * - `previousHolder`, `resumeAfter`: the run a deployment took the lease from, and whether the task ran before.
 */
export const LEASE_KEY = 'task';
/** The lease's `kind` while a cutover holds the task, and for good once it completed. */
export const CUTOVER_KIND = 'cutover';

/** How long a run waits between two tries to get a lease held by a remediation or being handed over. */
const LEASE_RETRY_WAIT = Duration.seconds(10);
/** After this many tries a run gives up (LEASE_CONTENDED): about 5 minutes of waiting. */
export const MAX_LEASE_ATTEMPTS = 30;
const DYNAMODB_TRANSIENT_ERRORS = [
  'DynamoDb.ProvisionedThroughputExceededException', 'DynamoDb.ThrottlingException', 'DynamoDb.RequestLimitExceededException',
  'DynamoDb.InternalServerErrorException', 'States.Timeout',
];
const CONDITION_FAILED = 'DynamoDb.ConditionalCheckFailedException';
const TASK_TIMEOUT = Duration.minutes(1);
/**
 * How many file keys the lease, a run's state and its outcome name at most: 25 keys of 1,024 bytes stay far below
 * DynamoDB's item (400 KB) and Step Functions' state and SNS's message (256 KiB) limits, whatever the burst.
 */
export const FILE_SAMPLE_SIZE = 25;
const S3_TRANSIENT_ERRORS = ['States.Timeout'];

/** Where the files past the sample are recorded: one object per file, under the report bucket. */
export interface FileRecords {
  readonly bucket: s3.IBucket;
  /** The report prefix (ends with `/`): records go to `<prefix><batch>/files/<execution name>.json`. */
  readonly prefix: string;
}

/**
 * The lease table of one replication task. It holds only who acts on the task now, which no one needs once the
 * stack is gone, so it is deleted with the stack whatever the pipeline's removal policy.
 */
export function createTaskLeaseTable(scope: Construct, id: string): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: LEASE_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  acknowledgeAll(table, {
    'NIST.800.53.R5-DynamoDBInBackupPlan': 'Holds one short-lived lease item per task, nothing to restore from a backup plan',
  });
  return table;
}

/** The files a run covers, from the lease it released: the sample, the count of all, and where those past it are. */
const COVERED_FILES = {
  'files.$': '$.Attributes.files.L[*].S',
  'count.$': 'States.StringToJson($.Attributes.fileCount.N)',
  'batch.$': '$.Attributes.batch.S',
};

/** Where a run keeps what it knows of the lease in its state. */
export const READ = '$.lease';
const HOLD = '$.hold';

/** The DynamoDB calls on the lease item that the lease chains of a state machine are made of. */
export abstract class LeaseStates {
  constructor(protected readonly scope: Construct, protected readonly table: dynamodb.ITable, protected readonly taskArn: string) {}

  /** Reads the lease (who holds it and in which phase) into `$.lease`, consistently. */
  protected read(id: string): tasks.CallAwsService {
    const call = new tasks.CallAwsService(this.scope, id, {
      service: 'dynamodb',
      action: 'getItem',
      iamAction: 'dynamodb:GetItem',
      parameters: {
        TableName: this.table.tableName,
        Key: this.key(),
        ConsistentRead: true,
        // The files are left out: a state machine routes on who holds the lease, not on what it covers.
        ProjectionExpression: '#holder, #kind, #grant, #expiresAt, #batch, #phase',
        ExpressionAttributeNames: {
          '#holder': 'holder', '#kind': 'kind', '#grant': 'grant', '#expiresAt': 'expiresAt', '#batch': 'batch', '#phase': 'phase',
        },
      },
      iamResources: [this.table.tableArn],
      resultPath: READ,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    call.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2 });
    return call;
  }

  /** One conditional UpdateItem of the lease, with the attribute names its expressions use. */
  protected update(id: string, request: Record<string, unknown>,
    options: { resultSelector?: Record<string, unknown>; resultPath: string }): tasks.CallAwsService {
    const expression = [request.UpdateExpression, request.ConditionExpression].join(' ');
    const names = Object.fromEntries(['task', 'holder', 'kind', 'grant', 'files', 'fileCount', 'batch', 'expiresAt', 'previousHolder',
      'resumeAfter', 'phase', 'phaseSince']
      .filter((name) => new RegExp(`#${name}\\b`).test(expression))
      .map((name) => [`#${name}`, name]));
    const call = new tasks.CallAwsService(this.scope, id, {
      service: 'dynamodb',
      action: 'updateItem',
      iamAction: 'dynamodb:UpdateItem',
      parameters: { TableName: this.table.tableName, Key: this.key(), ExpressionAttributeNames: names, ...request },
      iamResources: [this.table.tableArn],
      resultSelector: options.resultSelector,
      resultPath: options.resultPath,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    call.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2 });
    return call;
  }

  /** Deletes the lease if this execution holds it. */
  protected deleteIfHeld(id: string, resultSelector?: Record<string, unknown>, resultPath: string = sfn.JsonPath.DISCARD): tasks.CallAwsService {
    const call = new tasks.CallAwsService(this.scope, id, {
      service: 'dynamodb',
      action: 'deleteItem',
      iamAction: 'dynamodb:DeleteItem',
      parameters: {
        TableName: this.table.tableName,
        Key: this.key(),
        ConditionExpression: '#holder = :me',
        ExpressionAttributeNames: { '#holder': 'holder' },
        ExpressionAttributeValues: { ':me': { 'S.$': '$$.Execution.Id' } },
        ReturnValues: 'ALL_OLD',
      },
      iamResources: [this.table.tableArn],
      resultSelector,
      resultPath,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    call.addRetry({ errors: DYNAMODB_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2 });
    return call;
  }

  protected key(): Record<string, unknown> {
    return { [LEASE_KEY]: { S: this.taskArn } };
  }
}

/** The lease chains of the migration state machine (Orchestration). */
export class RunLeaseStates extends LeaseStates {
  constructor(scope: Construct, table: dynamodb.ITable, taskArn: string,
    private readonly executionsArn: string, private readonly fileRecords?: FileRecords) {
    super(scope, table, taskArn);
  }

  /**
   * Gets the lease for this run, then goes on to `held`. A run that finds another run holding it adds its file to
   * that run's list and ends (`joined`); a deployment's hold ends the run (`interrupted`), and so does a cutover's
   * (`cutOver`: in progress or complete, the task is no longer the runs'); any other failure goes to `failed` with the
   * error in `$.error`.
   */
  public acquire(held: sfn.IChainable, interrupted: sfn.IChainable, cutOver: sfn.IChainable, contended: sfn.IChainable,
    failed: sfn.IChainable): sfn.IChainable {
    const { entry: retry, then: tryAgain } = this.retryLater(contended);
    const takeOver = this.update('TakeOverLease', {
      UpdateExpression: 'SET #holder = :me, #kind = :run, #grant = :now, #files = list_append(if_not_exists(#files, :none), :mine), '
        + '#batch = if_not_exists(#batch, :myName) ADD #fileCount :one REMOVE #expiresAt, #previousHolder, #resumeAfter, #phase',
      ConditionExpression: '#holder = :observed',
      ExpressionAttributeValues: {
        ':me': { 'S.$': '$$.Execution.Id' },
        ':run': { S: 'run' },
        ':now': { 'S.$': '$$.State.EnteredTime' },
        ':none': { L: [] },
        ':mine': { L: [{ 'S.$': '$.run.file' }] },
        ':myName': { 'S.$': '$$.Execution.Name' },
        ':one': { N: '1' },
        ':observed': { 'S.$': `${READ}.Item.holder.S` },
      },
      ReturnValues: 'UPDATED_NEW',
    }, { resultSelector: { 'grant.$': '$.Attributes.grant.S' }, resultPath: HOLD });
    takeOver.addCatch(retry, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
    takeOver.addCatch(failed, { resultPath: '$.error' });
    takeOver.next(held);

    const joinedEnd = new sfn.Succeed(this.scope, 'JoinedRun', { outputPath: '$.joined' });
    // Past the sample the run's file is only counted in the lease; its record (when there is a report bucket) names it.
    // A join or a count that DynamoDB applied but answered with a server error is applied again by the retry: the
    // file is then listed twice, never lost (DynamoDB has no idempotent UpdateItem).
    const count = this.update('CountJoinedFile', {
      UpdateExpression: 'ADD #fileCount :one',
      ConditionExpression: '#kind = :run AND #batch = :batch',
      ExpressionAttributeValues: { ':one': { N: '1' }, ':run': { S: 'run' }, ':batch': { 'S.$': `${READ}.Item.batch.S` } },
    }, { resultPath: sfn.JsonPath.DISCARD });
    count.addCatch(retry, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
    count.addCatch(failed, { resultPath: '$.error' });
    count.next(joinedEnd);
    const pastSample = this.recordFile(count, failed);

    const join = this.update('JoinRun', {
      UpdateExpression: 'SET #files = list_append(#files, :mine) ADD #fileCount :one',
      ConditionExpression: '#holder = :observed AND #kind = :run AND size(#files) < :sample',
      ExpressionAttributeValues: {
        ':mine': { L: [{ 'S.$': '$.run.file' }] },
        ':observed': { 'S.$': `${READ}.Item.holder.S` },
        ':run': { S: 'run' },
        ':one': { N: '1' },
        ':sample': { N: String(FILE_SAMPLE_SIZE) },
      },
    }, { resultPath: sfn.JsonPath.DISCARD });
    // Refused: the sample is full, or the lease changed hands (then the count's condition refuses too, and it retries).
    join.addCatch(pastSample, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
    join.addCatch(failed, { resultPath: '$.error' });
    join.next(joinedEnd);

    const holderRun = new tasks.CallAwsService(this.scope, 'DescribeHoldingRun', {
      service: 'sfn',
      action: 'describeExecution',
      iamAction: 'states:DescribeExecution',
      parameters: { 'ExecutionArn.$': `${READ}.Item.holder.S` },
      iamResources: [this.executionsArn],
      resultSelector: { 'status.$': '$.Status' },
      resultPath: '$.holdingRun',
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    holderRun.addRetry({ errors: ['Sfn.ThrottlingException', 'States.Timeout'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    holderRun.addCatch(takeOver, { errors: ['Sfn.ExecutionDoesNotExistException'], resultPath: '$.leaseError' });
    holderRun.addCatch(failed, { resultPath: '$.error' });
    const joined = new sfn.Pass(this.scope, 'NoteJoinedRun', {
      parameters: {
        'status': 'JOINED',
        'message': 'Another run of this task was in progress: its outcome lists this run\'s file',
        'run.$': `${READ}.Item.holder.S`,
        'file.$': '$.run.file',
      },
      resultPath: '$.joined',
    }).next(join);
    holderRun.next(new sfn.Choice(this.scope, 'IsHoldingRunAlive')
      .when(sfn.Condition.stringEquals('$.holdingRun.status', 'RUNNING'), joined)
      .otherwise(takeOver));

    const keepOwn = new sfn.Pass(this.scope, 'KeepOwnLease', {
      parameters: { 'grant.$': `${READ}.Item.grant.S` },
      resultPath: HOLD,
    }).next(held);

    const read = this.read('ReadLease');
    read.addCatch(failed, { resultPath: '$.error' });
    read.next(new sfn.Pass(this.scope, 'ReadClock', { parameters: { 'now.$': '$$.State.EnteredTime' }, resultPath: '$.clock' }))
      .next(new sfn.Choice(this.scope, 'WhoHoldsTheTask')
        .when(sfn.Condition.isNotPresent(`${READ}.Item`), retry)
        // This very execution holds it already: its first write applied but the answer was lost (a timeout or a
        // server error, then the retry's condition failed), or it was redriven after it failed before releasing.
        // Its file is counted already, so it keeps the lease as it is.
        .when(sfn.Condition.stringEqualsJsonPath(`${READ}.Item.holder.S`, '$.run.holder'), keepOwn)
        .when(sfn.Condition.and(
          sfn.Condition.isPresent(`${READ}.Item.expiresAt.S`),
          sfn.Condition.timestampLessThanJsonPath(`${READ}.Item.expiresAt.S`, '$.clock.now'),
        ), takeOver)
        .when(sfn.Condition.stringEquals(`${READ}.Item.kind.S`, 'run'), holderRun)
        .when(sfn.Condition.stringEquals(`${READ}.Item.kind.S`, 'deployment'), interrupted)
        .when(sfn.Condition.stringEquals(`${READ}.Item.kind.S`, CUTOVER_KIND), cutOver)
        .otherwise(retry));

    const acquire = this.update('AcquireLease', {
      UpdateExpression: 'SET #holder = :me, #kind = :run, #grant = :now, #files = :mine, #fileCount = :one, #batch = :myName',
      ConditionExpression: 'attribute_not_exists(#task)',
      ExpressionAttributeValues: {
        ':me': { 'S.$': '$$.Execution.Id' },
        ':one': { N: '1' },
        ':myName': { 'S.$': '$$.Execution.Name' },
        ':run': { S: 'run' },
        ':now': { 'S.$': '$$.State.EnteredTime' },
        ':mine': { L: [{ 'S.$': '$.run.file' }] },
      },
      ReturnValues: 'UPDATED_NEW',
    }, { resultSelector: { 'grant.$': '$.Attributes.grant.S' }, resultPath: HOLD });
    acquire.addCatch(read, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
    acquire.addCatch(failed, { resultPath: '$.error' });
    acquire.next(held);
    tryAgain.next(acquire);
    return acquire;
  }

  /**
   * Marks the start window, so that a deployment does not take the lease (and stop the task) while this run starts
   * it; a run that no longer holds the lease goes to `lost` instead of starting the task.
   */
  public beginStart(id: string, start: sfn.IChainable, lost: sfn.IChainable, failed: sfn.IChainable): sfn.IChainable {
    return this.setPhase(id, 'starting', lost, failed).next(start);
  }

  /** Ends the start window (a run that lost the lease meanwhile finds out at its next look). */
  public endStart(id: string, next: sfn.IChainable): sfn.IChainable {
    const end = this.setPhase(id, 'watching');
    end.addCatch(next, { resultPath: '$.leaseError' });
    return end.next(next);
  }

  /**
   * Before a run fails for a stopped task or tables in error: if a deployment took the lease, the run was interrupted
   * (`interrupted`); if the lease was handed back to it since its last look, it looks again (`lookAgain`);
   * otherwise the failure is the task's own (`confirmed`).
   */
  public confirmHold(interrupted: sfn.IChainable, lookAgain: sfn.IChainable, confirmed: sfn.IChainable, failed: sfn.IChainable): sfn.IChainable {
    const read = this.read('ConfirmLease');
    read.addCatch(failed, { resultPath: '$.error' });
    const adopt = new sfn.Pass(this.scope, 'LeaseHandedBack', {
      parameters: { 'grant.$': `${READ}.Item.grant.S` },
      resultPath: HOLD,
    }).next(lookAgain);
    return read.next(new sfn.Choice(this.scope, 'IsLeaseStillHeld')
      .when(sfn.Condition.or(
        sfn.Condition.isNotPresent(`${READ}.Item.holder.S`),
        sfn.Condition.not(sfn.Condition.stringEqualsJsonPath(`${READ}.Item.holder.S`, '$.run.holder')),
      ), interrupted)
      .when(sfn.Condition.stringEqualsJsonPath(`${READ}.Item.grant.S`, `${HOLD}.grant`), confirmed)
      .otherwise(adopt));
  }

  /**
   * Releases the lease (only if this run holds it) and puts the files the run covers in `$.outcome.files`: those
   * of the lease it held, or, when a deployment took it over, those the deployment kept for it; a run that never
   * held the lease covers its own file. Then goes on to `next`, whatever happened.
   */
  public release(next: sfn.IChainable): sfn.IChainable {
    const listed = new sfn.Pass(this.scope, 'ListCoveredFiles', { inputPath: '$.covered.files', resultPath: '$.outcome.files' });
    listed.next(new sfn.Pass(this.scope, 'CountCoveredFiles', { inputPath: '$.covered.count', resultPath: '$.outcome.fileCount' }))
      .next(this.fileRecords ? new sfn.Pass(this.scope, 'PointToFileRecords', {
        parameters: {
          'bucket': this.fileRecords.bucket.bucketName,
          'prefix.$': `States.Format('${this.fileRecords.prefix}{}/files/', $.covered.batch)`,
        },
        resultPath: '$.outcome.filesPastSample',
      }).next(next) : next);
    const addFiles = listed;
    const ownFile = new sfn.Pass(this.scope, 'CoverOwnFile', {
      parameters: { 'files.$': 'States.Array($.run.file)', 'count': 1, 'batch.$': '$$.Execution.Name' },
      resultPath: '$.covered',
    }).next(addFiles);
    // A run that held the lease and finds its files taken by the run that took over after a deployment: they are
    // listed there, not here.
    const none = new sfn.Pass(this.scope, 'FilesCoveredElsewhere', {
      parameters: { 'files': [], 'count': 0, 'batch.$': '$$.Execution.Name' },
      resultPath: '$.covered',
    }).next(addFiles);
    const noFiles = new sfn.Choice(this.scope, 'DidRunHoldLease')
      .when(sfn.Condition.isPresent(`${HOLD}.grant`), none)
      .otherwise(ownFile);

    const reclaim = this.update('ReclaimFiles', {
      UpdateExpression: 'SET #grant = :now REMOVE #files, #fileCount, #batch, #previousHolder',
      ConditionExpression: '#previousHolder = :me AND attribute_exists(#files)',
      ExpressionAttributeValues: { ':me': { 'S.$': '$$.Execution.Id' }, ':now': { 'S.$': '$$.State.EnteredTime' } },
      ReturnValues: 'UPDATED_OLD',
    }, { resultSelector: COVERED_FILES, resultPath: '$.covered' });
    reclaim.addCatch(noFiles, { resultPath: '$.leaseError' });
    reclaim.next(addFiles);

    const release = this.deleteIfHeld('ReleaseLease', COVERED_FILES, '$.covered');
    release.addCatch(reclaim, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
    // Not released (DynamoDB unavailable): the hold ends with this execution, and the next run takes it over.
    release.addCatch(noFiles, { resultPath: '$.leaseError' });
    release.next(addFiles);
    return release;
  }

  /** Waits, then tries again (`then`), until MAX_LEASE_ATTEMPTS tries are spent (`contended`). */
  private retryLater(contended: sfn.IChainable): { readonly entry: sfn.Choice; readonly then: sfn.Pass } {
    const then = new sfn.Pass(this.scope, 'CountLeaseAttempt', {
      parameters: { 'count.$': 'States.MathAdd($.leaseAttempts.count, 1)' },
      resultPath: '$.leaseAttempts',
    });
    const wait = new sfn.Wait(this.scope, 'WaitForLease', { time: sfn.WaitTime.duration(LEASE_RETRY_WAIT) });
    const entry = new sfn.Choice(this.scope, 'MayTryLeaseAgain')
      .when(sfn.Condition.numberGreaterThanEquals('$.leaseAttempts.count', MAX_LEASE_ATTEMPTS), contended)
      .otherwise(wait.next(then));
    return { entry, then };
  }

  /**
   * Records a joining run's file past the sample as its own object under the batch's prefix, then goes on to `next`
   * (which counts it). Written before the count, so a file is never counted without its record; a run whose record
   * cannot be written goes to `failed`, and its own outcome lists its file.
   */
  private recordFile(next: sfn.IChainable, failed: sfn.IChainable): sfn.IChainable {
    if (!this.fileRecords) {
      return next;
    }
    const write = new tasks.CallAwsService(this.scope, 'RecordJoinedFile', {
      service: 's3',
      action: 'putObject',
      iamAction: 's3:PutObject',
      parameters: {
        'Bucket': this.fileRecords.bucket.bucketName,
        'Key.$': `States.Format('${this.fileRecords.prefix}{}/files/{}.json', ${READ}.Item.batch.S, $$.Execution.Name)`,
        'Body.$': 'States.JsonToString($.joined)',
        'ContentType': 'application/json',
      },
      iamResources: [this.fileRecords.bucket.arnForObjects(`${this.fileRecords.prefix}*`)],
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
    });
    write.addRetry({ errors: S3_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    write.addCatch(failed, { resultPath: '$.error' });
    return write.next(next);
  }

  private setPhase(id: string, phase: string, lost?: sfn.IChainable, failed?: sfn.IChainable): tasks.CallAwsService {
    const call = this.update(id, {
      UpdateExpression: 'SET #phase = :phase, #phaseSince = :now',
      ConditionExpression: '#holder = :me',
      ExpressionAttributeValues: {
        ':phase': { S: phase }, ':now': { 'S.$': '$$.State.EnteredTime' }, ':me': { 'S.$': '$$.Execution.Id' },
      },
    }, { resultPath: sfn.JsonPath.DISCARD });
    if (lost && failed) {
      call.addCatch(lost, { errors: [CONDITION_FAILED], resultPath: '$.leaseError' });
      call.addCatch(failed, { resultPath: '$.error' });
    }
    return call;
  }
}
