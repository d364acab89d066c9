/**
 * The cutover workflow's wiring that the moto runs (test/python/test_cutover_state_machine.py, which run the example's
 * definition) do not cover: its grant, the optional switch of the applications' parameter, and a full-load task.
 */
import { describe, expect, test } from '@jest/globals';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { buildPipeline, synthPipeline } from './pipeline-fixture';

function cutoverDefinition(template: Template): { States: Record<string, any> } {
  const [machine] = Object.values(template.toJSON().Resources as Record<string, any>)
    .filter((r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties.StateMachineName.startsWith('migration-cutover-'));
  const body = machine.Properties.DefinitionString;
  return JSON.parse((body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
}

function policyStatements(template: Template): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('the cutover with its switch', () => {
  const fx = synthPipeline({ cutover: { switchParameterName: '/apps/orders/database-host', switchParameterValue: 'orders.cluster.example' } });
  const states = cutoverDefinition(fx.nested('OrchestrationStack')).States;

  test('a completed cutover writes the value into the parameter, after the lease says complete', () => {
    expect(states.MarkCutoverComplete.Next).toBe('SwitchApplications');
    expect(states.SwitchApplications.Parameters).toEqual({ Name: '/apps/orders/database-host', Value: 'orders.cluster.example', Overwrite: true });
    expect(states.SwitchApplications.Next).toBe('CutoverCompleted');
    // A failed switch still completes (the task is stopped) and says so in `switch`.
    expect(states.SwitchApplications.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'SwitchFailed' })]);
  });

  test('the state machine may put that one parameter only', () => {
    const puts = policyStatements(fx.nested('OrchestrationStack')).filter((s) => [s.Action].flat().some((a: string) => a.startsWith('ssm:')));
    expect(puts).toHaveLength(1);
    expect(puts[0].Action).toBe('ssm:PutParameter');
    expect(JSON.stringify(puts[0].Resource)).toContain(':parameter/apps/orders/database-host"');
  });
});

describe('the cutover by default', () => {
  const fx = synthPipeline();
  const states = cutoverDefinition(fx.nested('OrchestrationStack')).States;

  test('changes no parameter and may not', () => {
    expect(states.MarkCutoverComplete.Next).toBe('CutoverCompleted');
    expect(Object.keys(states)).not.toContain('SwitchApplications');
    expect(policyStatements(fx.nested('OrchestrationStack')).flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('ssm:'))).toEqual([]);
  });

  test('grantStartCutover allows starting the cutover state machine only', () => {
    const pipeline = buildPipeline({});
    const stack = Stack.of(pipeline);
    const role = new iam.Role(stack, 'CutoverOperator', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantStartCutover(role);
    const statements = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    const granted = Object.values(statements).filter((p: any) => JSON.stringify(p.Properties.Roles).includes('CutoverOperator'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(granted).toEqual([expect.objectContaining({ Action: 'states:StartExecution' })]);
    expect(JSON.stringify(granted[0].Resource)).toContain('CutoverStateMachine');
    expect(JSON.stringify(granted[0].Resource)).not.toContain('OrchestrationStateMachine');
  });
});

describe('the cutover of a full-load task', () => {
  const states = cutoverDefinition(synthPipeline({ dms: { migrationType: 'full-load' } }).nested('OrchestrationStack')).States;

  test('has no CDC to wait for: it reviews the tables, then checks the databases', () => {
    expect(Object.keys(states)).not.toContain('SampleCdcMetrics');
    expect(states.DoesVerdictForbidCutover.Default).toBe('ReviewTablesBeforeStop');
  });
});
