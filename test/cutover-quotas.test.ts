/**
 * A cutover stays within the Step Functions quotas whatever its props allow ("Step Functions service quotas", Step
 * Functions Developer Guide: an execution fails once its history reaches 25,000 events). Its only long loop is the
 * wait for CDC to settle, at most MAX_SETTLE_LOOKS looks; the bound counts every look as the worst one (the metrics
 * settled, the verdict still pending, so the tables are reviewed too), every retry taken, the stop loop in full and
 * every other state once. A state costs its Entered and Exited events; a Task state adds Scheduled, Started and
 * Succeeded, and three more events per retry. The state size is measured in moto with 5,000 tables of
 * 64-character names (test/python/test_cutover_state_machine.py).
 */
import { describe, expect, test } from '@jest/globals';
import { Duration } from 'aws-cdk-lib';
import { synthPipeline, validateWith } from './pipeline-fixture';
import { MAX_SETTLE_LOOKS } from '../src/cutover';

const HISTORY_QUOTA = 25_000;
const SETTLE_LOOP = ['WaitForSettle', 'SampleCdcMetrics', 'IsCdcSettled', 'ReviewTablesBeforeStop', 'DoesVerdictAllowCutover', 'CountSettleLook'];
const STOP_LOOP = ['WaitForTaskStop', 'DescribeTaskForStop', 'IsTaskStopped', 'CountStopLook'];

// The most looks the props allow: one a minute for MAX_SETTLE_LOOKS minutes.
const worst = synthPipeline({ cutover: { settleInterval: Duration.minutes(1), settleTimeout: Duration.minutes(MAX_SETTLE_LOOKS) } });
const [stateMachine] = Object.values(worst.nested('OrchestrationStack').toJSON().Resources as Record<string, any>)
  .filter((r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties.StateMachineName.startsWith('migration-cutover-'));
const body = stateMachine.Properties.DefinitionString;
const states: Record<string, any> = JSON.parse((body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('')).States;

function worstEvents(state: any): number {
  if (state.Type !== 'Task') {
    return 2;
  }
  const retries = (state.Retry ?? []).reduce((sum: number, r: any) => sum + (r.MaxAttempts ?? 3), 0);
  return 5 + 3 * retries;
}

function limitOf(variable: string): number {
  const limits = new Set(Object.values(states).flatMap((s: any) => s.Choices ?? [])
    .filter((rule: any) => rule.Variable === variable).map((rule: any) => rule.NumericGreaterThanEquals));
  expect(limits.size).toBe(1);
  return [...limits][0] as number;
}

describe('the history of one cutover stays under 25,000 events', () => {
  test('the loops are the ones the bound is computed for', () => {
    expect(states.WaitForSettle.Next).toBe('SampleCdcMetrics');
    expect(states.IsCdcSettled.Choices[0].Next).toBe('ReviewTablesBeforeStop');
    expect(states.DoesVerdictAllowCutover.Default).toBe('CountSettleLook');
    expect(states.CountSettleLook.Next).toBe('WaitForSettle');
    expect(states.WaitForTaskStop.Next).toBe('DescribeTaskForStop');
    expect(states.CountStopLook.Next).toBe('WaitForTaskStop');
  });

  test('the worst cutover: every look with a review, every stop look, every other state once, every retry taken', () => {
    expect(limitOf('$.looks.count')).toBe(MAX_SETTLE_LOOKS);
    const perLook = SETTLE_LOOP.reduce((sum, name) => sum + worstEvents(states[name]), 0);
    const perStopLook = STOP_LOOP.reduce((sum, name) => sum + worstEvents(states[name]), 0);
    const loops = new Set([...SETTLE_LOOP, ...STOP_LOOP]);
    const once = Object.entries(states).filter(([name]) => !loops.has(name)).reduce((sum, [, state]) => sum + worstEvents(state), 0);
    const worstHistory = (MAX_SETTLE_LOOKS + 1) * perLook + (limitOf('$.stopLooks.count') + 1) * perStopLook + once + 2;
    expect(perLook).toBe(30);
    expect(worstHistory).toBeLessThan(HISTORY_QUOTA);
  });

  test('more looks than that are refused at synth, with the fix', () => {
    expect(() => validateWith({ cutover: { settleInterval: Duration.minutes(1), settleTimeout: Duration.minutes(MAX_SETTLE_LOOKS + 1) } }))
      .toThrow(/cutover\.settleTimeout \(settle_timeout\): received 10 hours 1 minute with a settleInterval of 1 minute \(601 looks\); expected at most 600 looks.*settleInterval of at least 61 seconds/);
  });
});
