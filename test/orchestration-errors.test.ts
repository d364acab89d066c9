/**
 * Every error name in the Retry and Catch lists of the migration and cutover state machines is one that can actually occur.
 *
 * - Step Functions Developer Guide, "Handling errors in Step Functions workflows" (States.ALL, States.Timeout; a task
 *   can only time out when it sets TimeoutSeconds) and "Learning to use AWS service SDK integrations" (errors of
 *   an SDK integration are `<ServiceName>.<ErrorName>` in PascalCase, with an `Exception` suffix added when the
 *   API's own name has none: DMS's ResourceNotFoundFault is `DatabaseMigration.ResourceNotFoundFaultException`).
 * - AWS DMS API Reference: Errors of StartReplicationTask (AccessDeniedFault, InvalidResourceStateFault,
 *   ResourceNotFoundFault), DescribeReplicationTasks (ResourceNotFoundFault), DescribeTableStatistics
 *   (InvalidResourceStateFault, ResourceNotFoundFault), and "Common Errors" (ThrottlingException).
 * - Amazon SNS API Reference, Publish, Errors (Throttled, KMSThrottling, InternalError, ...).
 * - Amazon DynamoDB API Reference, UpdateItem / GetItem / DeleteItem, Errors (ConditionalCheckFailedException,
 *   ProvisionedThroughputExceededException, RequestLimitExceeded, InternalServerError) and "Common Errors"
 *   (ThrottlingException); AWS Step Functions API Reference, DescribeExecution, Errors (ExecutionDoesNotExist) and
 *   "Common Errors" (ThrottlingException).
 * - AWS Systems Manager API Reference, PutParameter, Errors (TooManyUpdates), for the cutover's optional switch.
 * - Step Functions Developer Guide, "Handling transient Lambda service exceptions" (Lambda.ServiceException,
 *   Lambda.AWSLambdaException, Lambda.SdkClientException, Lambda.TooManyRequestsException).
 */
import { describe, test, expect } from '@jest/globals';
import { synthPipeline } from './pipeline-fixture';

/** The error names that can occur, by the state machine's resources they come from. */
const KNOWN_ERRORS: Record<string, string> = {
  'States.ALL': 'Step Functions: matches any error',
  'States.Timeout': 'Step Functions: a task ran longer than its TimeoutSeconds',
  'DatabaseMigration.ThrottlingException': 'DMS common error ThrottlingException',
  'DatabaseMigration.AccessDeniedFaultException': 'DMS StartReplicationTask AccessDeniedFault',
  'DatabaseMigration.InvalidResourceStateFaultException': 'DMS StartReplicationTask / DescribeTableStatistics InvalidResourceStateFault',
  'DatabaseMigration.ResourceNotFoundFaultException': 'DMS ResourceNotFoundFault',
  'SNS.ThrottledException': 'SNS Publish Throttled',
  'SNS.KMSThrottlingException': 'SNS Publish KMSThrottling',
  'SNS.InternalErrorException': 'SNS Publish InternalError',
  'Lambda.ServiceException': 'Lambda Invoke: a transient Lambda service error',
  'Lambda.AWSLambdaException': 'Lambda Invoke: a transient Lambda service error',
  'Lambda.SdkClientException': 'Lambda Invoke: a transient client-side error',
  'Lambda.TooManyRequestsException': 'Lambda Invoke: throttled',
  'Ssm.TooManyUpdatesException': 'SSM PutParameter TooManyUpdates',
  'DynamoDb.ConditionalCheckFailedException': 'DynamoDB UpdateItem / DeleteItem: the lease is held by another',
  'DynamoDb.ProvisionedThroughputExceededException': 'DynamoDB: throughput exceeded',
  'DynamoDb.ThrottlingException': 'DynamoDB common error ThrottlingException',
  'DynamoDb.RequestLimitExceededException': 'DynamoDB RequestLimitExceeded',
  'DynamoDb.InternalServerErrorException': 'DynamoDB InternalServerError',
  'Sfn.ExecutionDoesNotExistException': 'Step Functions DescribeExecution ExecutionDoesNotExist',
  'Sfn.ThrottlingException': 'Step Functions common error ThrottlingException',
};

// With the cutover's switch, so that every optional state of both state machines is in the definitions.
const fx = synthPipeline({ cutover: { switchParameterName: '/apps/orders/database-host', switchParameterValue: 'orders.cluster.example' } });
const stateMachines = Object.values(fx.nested('OrchestrationStack').toJSON().Resources as Record<string, any>)
  .filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');

/** A definition with every token replaced by a placeholder (tokens sit inside JSON strings). */
function definition(stateMachine: any): { States: Record<string, any> } {
  const body = stateMachine.Properties.DefinitionString;
  const text = typeof body === 'string' ? body
    : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text);
}

const states = stateMachines.flatMap((stateMachine) => Object.entries(definition(stateMachine).States)
  .map(([name, state]): [string, any] => [`${stateMachine.Properties.StateMachineName}/${name}`, state]));
interface ErrorList { readonly name: string; readonly kind: string; readonly errors: string[] }
const errorLists: ErrorList[] = states.flatMap(([name, state]) => [
  ...(state.Retry ?? []).map((r: any) => ({ name, kind: 'Retry', errors: r.ErrorEquals as string[] })),
  ...(state.Catch ?? []).map((c: any) => ({ name, kind: 'Catch', errors: c.ErrorEquals as string[] })),
]);

describe('Retry and Catch error names of the migration and cutover state machines', () => {
  test('both state machines are read, the cutover with its switch', () => {
    expect(stateMachines.map((m) => m.Properties.StateMachineName).sort()).toEqual(['migration-cutover-dev', 'migration-orchestration-dev']);
    expect(states.map(([name]) => name)).toContain('migration-cutover-dev/SwitchApplications');
  });

  test('the definition has retriers and catchers to check', () => {
    expect(errorLists.filter((l) => l.kind === 'Retry').length).toBeGreaterThanOrEqual(8);
    expect(errorLists.filter((l) => l.kind === 'Catch').length).toBeGreaterThanOrEqual(10);
  });

  test.each(errorLists.flatMap((l) => l.errors.map((error): [string, string, string] => [l.name, l.kind, error])))(
    '%s %s %s is a documented error name', (_state: string, _kind: string, error: string) => {
      expect(Object.keys(KNOWN_ERRORS)).toContain(error);
    });

  test('no DMS fault is spelled as a plain Exception (DMS names its faults ...Fault)', () => {
    const names = errorLists.flatMap((l) => l.errors).filter((e) => e.startsWith('DatabaseMigration.'));
    for (const name of names) {
      expect(name).not.toMatch(/^DatabaseMigration\.(ResourceNotFound|InvalidResourceState|AccessDenied)Exception$/);
    }
  });

  test('States.Timeout is only listed on tasks that set TimeoutSeconds', () => {
    for (const [name, state] of states) {
      const lists = [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap((r: any) => r.ErrorEquals);
      if (lists.includes('States.Timeout')) {
        expect([name, state.TimeoutSeconds]).toEqual([name, expect.any(Number)]);
      }
    }
    const timeoutRetries = states.filter(([, s]) => (s.Retry ?? []).some((r: any) => r.ErrorEquals.includes('States.Timeout')));
    expect(timeoutRetries.length).toBeGreaterThanOrEqual(8);
  });
});
