/**
 * The table-review function the migration state machine calls (src/runtime/table_review.py, executed in
 * test/python/test_state_machine_validation.py): what its environment says, and what it may do.
 */
import { describe, test, expect } from '@jest/globals';
import { synthPipeline } from './pipeline-fixture';

function reviewFunction(fx: ReturnType<typeof synthPipeline>): any {
  const functions = Object.values(fx.nested('OrchestrationStack').findResources('AWS::Lambda::Function')) as any[];
  const found = functions.filter((f) => f.Properties.FunctionName === 'migration-table-review-dev');
  expect(found).toHaveLength(1);
  return found[0];
}

describe('table-review function', () => {
  test('by default, tables DMS cannot validate fail the run; the migration type and the report prefix are passed on', () => {
    const env = reviewFunction(synthPipeline()).Properties.Environment.Variables;
    expect(env.ACCEPT_TABLES_WITHOUT_VALIDATION).toBe('false');
    expect(env.MIGRATION_TYPE).toBe('full-load-and-cdc');
    expect(env.REPORT_PREFIX).toBe('reports/migrations/');
    expect(JSON.stringify(env.REPORT_BUCKET)).toMatch(/StorageDataBucket/);
    expect(JSON.stringify(env.REPLICATION_TASK_ARN)).toMatch(/DmsReplicationTask/);
  });

  test('orchestration.acceptTablesWithoutValidation and dms.migrationType reach it', () => {
    const fn = reviewFunction(synthPipeline({ orchestration: { acceptTablesWithoutValidation: true }, dms: { migrationType: 'cdc' } }));
    expect(fn.Properties.Environment.Variables.ACCEPT_TABLES_WITHOUT_VALIDATION).toBe('true');
    expect(fn.Properties.Environment.Variables.MIGRATION_TYPE).toBe('cdc');
  });

  test('its timeout (5 minutes) is shorter than the state machine gives it (6 minutes)', () => {
    const fx = synthPipeline();
    expect(reviewFunction(fx).Properties.Timeout).toBe(300);
    const [sm] = Object.values(fx.nested('OrchestrationStack').findResources('AWS::StepFunctions::StateMachine')) as any[];
    const parts = sm.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
    expect(definition.States.ReviewTables.TimeoutSeconds).toBe(360);
  });
});
