/**
 * The table-review function the migration state machine calls (src/runtime/table_review.py, executed in
 * test/python/test_state_machine_validation.py): what its environment says, and what it may do.
 */
import { describe, test, expect } from '@jest/globals';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { defaultPipeline, PipelineFixture, synthPipeline } from './pipeline-fixture';

function reviewFunction(fx: ReturnType<typeof synthPipeline>): any {
  const functions = Object.values(fx.nested('OrchestrationStack').findResources('AWS::Lambda::Function')) as any[];
  const found = functions.filter((f) => f.Properties.FunctionName === 'migration-table-review-dev');
  expect(found).toHaveLength(1);
  return found[0];
}

/**
 * What a parameter of the orchestration stack is given by the root stack, followed into the DMS stack's output:
 * the expression that output holds in the DMS stack's template.
 */
function dmsValueOfOrchestrationParameter(fx: PipelineFixture, value: any): any {
  const parameter = value.Ref as string;
  const logicalIdOf = (name: 'OrchestrationStack' | 'DMSStack') =>
    Stack.of(fx.pipeline).resolve((fx.pipeline.nestedStacks[name].nestedStackResource as CfnResource).logicalId);
  const given = fx.root.toJSON().Resources[logicalIdOf('OrchestrationStack')].Properties.Parameters[parameter];
  const [stackResource, attribute] = given['Fn::GetAtt'];
  expect(stackResource).toBe(logicalIdOf('DMSStack'));
  return fx.nested('DMSStack').toJSON().Outputs[attribute.replace(/^Outputs\./, '')].Value;
}

describe('table-review function', () => {
  test('by default, tables DMS cannot validate fail the run; the migration type and the report prefix are passed on', () => {
    const env = reviewFunction(defaultPipeline()).Properties.Environment.Variables;
    expect(env.ACCEPT_TABLES_WITHOUT_VALIDATION).toBe('false');
    expect(env.MIGRATION_TYPE).toBe('full-load-and-cdc');
    expect(env.REPORT_PREFIX).toBe('reports/migrations/');
    expect(JSON.stringify(env.REPORT_BUCKET)).toMatch(/StorageDataBucket/);
    expect(JSON.stringify(env.REPLICATION_TASK_ARN)).toMatch(/DmsReplicationTask/);
  });

  test('REPLICATION_TASK_ARN and the describe permission name the task by its ARN (the Ref of AWS::DMS::ReplicationTask)', () => {
    // CloudFormation reference, AWS::DMS::ReplicationTask, Return values: "Ref returns the Amazon Resource Name (ARN)
    // of the replication task"; its ReplicationTaskIdentifier and Id attributes are names, which DescribeTableStatistics
    // refuses.
    const fx = defaultPipeline();
    const fn = reviewFunction(fx);
    const taskIds = Object.keys(fx.nested('DMSStack').findResources('AWS::DMS::ReplicationTask'));
    expect(taskIds).toHaveLength(1);
    expect(dmsValueOfOrchestrationParameter(fx, fn.Properties.Environment.Variables.REPLICATION_TASK_ARN)).toEqual({ Ref: taskIds[0] });

    const role = fn.Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(fx.nested('OrchestrationStack').findResources('AWS::IAM::Policy')) as any[];
    const statements = policies.filter((policy) => policy.Properties.Roles.some((r: any) => r.Ref === role))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const describing = statements.filter((statement) => [statement.Action].flat().includes('dms:DescribeTableStatistics'));
    expect(describing).toHaveLength(1);
    expect(dmsValueOfOrchestrationParameter(fx, describing[0].Resource)).toEqual({ Ref: taskIds[0] });
  });

  test('orchestration.acceptTablesWithoutValidation and dms.migrationType reach it', () => {
    const fn = reviewFunction(synthPipeline({ orchestration: { acceptTablesWithoutValidation: true }, dms: { migrationType: 'cdc' } }));
    expect(fn.Properties.Environment.Variables.ACCEPT_TABLES_WITHOUT_VALIDATION).toBe('true');
    expect(fn.Properties.Environment.Variables.MIGRATION_TYPE).toBe('cdc');
  });

  test('its timeout (5 minutes) is shorter than the state machine gives it (6 minutes)', () => {
    const fx = defaultPipeline();
    expect(reviewFunction(fx).Properties.Timeout).toBe(300);
    const [sm] = Object.values(fx.nested('OrchestrationStack').findResources('AWS::StepFunctions::StateMachine')) as any[];
    const parts = sm.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
    expect(definition.States.ReviewTables.TimeoutSeconds).toBe(360);
  });
});
