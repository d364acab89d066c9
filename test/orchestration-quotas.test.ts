/**
 * A migration run stays within the Step Functions quotas whatever the props allow ("Step Functions service quotas",
 * Step Functions Developer Guide: an execution fails once its history reaches 25,000 events; a state's input or
 * output is at most 256 KiB).
 *
 * The history bound is computed from the synthesized definition for the worst configuration the props accept (the
 * most polls per run, MAX_POLLS_PER_RUN) with every retry taken: each poll costs the events of the states of the
 * poll loop, every other state is counted once. A state costs its Entered and Exited events; a Task state adds
 * Scheduled, Started and Succeeded, and three more events (Scheduled, Started, Failed or TimedOut) per retry
 * ("Handling errors", Step Functions Developer Guide: a retrier's MaxAttempts defaults to 3).
 * The state size is measured in moto with 5,000 tables of 64-character names (test_state_machine_validation.py).
 */
import { describe, test, expect } from '@jest/globals';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { MAX_POLLS_PER_RUN, MIN_POLL_INTERVAL_SECONDS, Orchestration, OrchestrationOptions } from '../src/orchestration';

const HISTORY_QUOTA = 25_000;
/** The states one poll goes through, in order, when the tables are reviewed after each wait. */
const POLL_LOOP = ['WaitForReplication', 'CheckReplication', 'IsReplicationComplete', 'ReviewTables', 'IsVerdictSettled', 'CountPoll'];
/** The states one look at the premigration assessment goes through, before the first start. */
const ASSESSMENT_LOOP = ['WaitForPremigrationAssessment', 'CheckPremigrationAssessment', 'IsPremigrationAssessmentDone', 'CountPremigrationAssessmentPoll'];

function definitionFor(options: OrchestrationOptions, migrationType = 'full-load-and-cdc'): { States: Record<string, any> } {
  const stack = new Stack(new App(), 'Quotas', { env: { region: 'us-west-2', account: '123456789012' } });
  const task = new dms.CfnReplicationTask(stack, 'Task', {
    migrationType,
    replicationInstanceArn: 'arn:aws:dms:us-west-2:123456789012:rep:I',
    sourceEndpointArn: 'arn:aws:dms:us-west-2:123456789012:endpoint:S',
    targetEndpointArn: 'arn:aws:dms:us-west-2:123456789012:endpoint:T',
    tableMappings: '{"rules":[]}',
  });
  const orchestration = new Orchestration(stack, 'Orchestration', {
    ...options,
    replicationTask: task,
    migrationType,
    environmentSuffix: 'q',
    notificationTopic: new sns.Topic(stack, 'Topic'),
    reportBucket: new s3.Bucket(stack, 'Reports'),
  });
  const errors = orchestration.node.validate();
  expect(errors).toEqual([]);
  const body = Stack.of(orchestration).resolve((orchestration.stateMachine.node.defaultChild as any).definitionString);
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text);
}

/** The most history events one visit of the state can add, every retry taken. */
function worstEvents(state: any): number {
  if (state.Type !== 'Task') {
    return 2;
  }
  const retries = (state.Retry ?? []).reduce((sum: number, r: any) => sum + (r.MaxAttempts ?? 3), 0);
  return 5 + 3 * retries;
}

function maxPollsOf(definition: { States: Record<string, any> }): number {
  const budgetRules = Object.values(definition.States).flatMap((s: any) => s.Choices ?? [])
    .filter((rule: any) => rule.Variable === '$.polls.count');
  const limits = new Set(budgetRules.map((rule: any) => rule.NumericGreaterThanEquals));
  expect(limits.size).toBe(1);
  return [...limits][0] as number;
}

describe('the history of one run stays under 25,000 events', () => {
  // The worst configuration: the most polls per run (pollInterval at its shortest for the timeout).
  const worst = definitionFor({
    pollInterval: Duration.seconds(MIN_POLL_INTERVAL_SECONDS),
    timeout: Duration.seconds(MIN_POLL_INTERVAL_SECONDS * MAX_POLLS_PER_RUN),
  });
  // The longest premigration assessment wait the props allow: 60 minutes, 120 looks 30 seconds apart. Its wait is
  // charged to the first start's polls, so a run never makes both all its polls and all its looks; the bound below
  // counts both in full all the same.
  const longestAssessment = definitionFor({
    pollInterval: Duration.hours(1), timeout: Duration.days(25), premigrationAssessment: { timeout: Duration.minutes(60) },
  });

  test('the poll loop is the one this bound is computed for', () => {
    const next = (name: string) => worst.States[name].Next
      ?? worst.States[name].Choices?.find((c: any) => POLL_LOOP.includes(c.Next))?.Next
      ?? worst.States[name].Default;
    const loop = [POLL_LOOP[0]];
    while (loop.length < POLL_LOOP.length + 1) {
      loop.push(next(loop[loop.length - 1]));
    }
    expect(loop).toEqual([...POLL_LOOP, 'WaitForReplication']);
  });

  test('a poll costs 36 events with every retry, 18 without (18 measured in moto)', () => {
    expect(POLL_LOOP.map((name) => worstEvents(worst.States[name]))).toEqual([2, 17, 2, 11, 2, 2]);
    expect(POLL_LOOP.reduce((sum, name) => sum + worstEvents(worst.States[name]), 0)).toBe(36);
  });

  test('the worst run: every look at the assessment, every poll and every other state once, every retry taken', () => {
    const maxPolls = maxPollsOf(worst);
    expect(maxPolls).toBe(MAX_POLLS_PER_RUN - 2);
    const perPoll = POLL_LOOP.reduce((sum, name) => sum + worstEvents(worst.States[name]), 0);
    const perLook = ASSESSMENT_LOOP.reduce((sum, name) => sum + worstEvents(longestAssessment.States[name]), 0);
    expect(perLook).toBe(23);
    const [lookLimit] = longestAssessment.States.IsPremigrationAssessmentDone.Choices.flatMap((rule: any) => rule.And ?? [])
      .filter((rule: any) => rule.Variable === '$.assessment.polls.count').map((rule: any) => rule.NumericGreaterThanEquals);
    expect(lookLimit).toBe(120);
    const once = Object.entries(longestAssessment.States).filter(([name]) => !POLL_LOOP.includes(name) && !ASSESSMENT_LOOP.includes(name))
      .reduce((sum, [, state]) => sum + worstEvents(state), 0);
    // The check that sees polls.count == maxPolls is the (maxPolls + 1)-th, and so is the look at the assessment
    // that sees its limit; ExecutionStarted and the end event.
    const worstHistory = (maxPolls + 1) * perPoll + (lookLimit + 1) * perLook + once + 2;
    expect(worstHistory).toBe(24_836); // 599 checks x 36 + 121 looks x 23 + 487 for the states outside the loops (the lease's included) + 2
    expect(worstHistory).toBeLessThan(HISTORY_QUOTA);
  });

  test('one more poll per run than the bound is refused at synth', () => {
    const stack = new Stack(new App(), 'TooMany');
    const task = new dms.CfnReplicationTask(stack, 'Task', {
      migrationType: 'cdc', replicationInstanceArn: 'i', sourceEndpointArn: 's', targetEndpointArn: 't', tableMappings: '{}',
    });
    const orchestration = new Orchestration(stack, 'Orchestration', {
      pollInterval: Duration.seconds(MIN_POLL_INTERVAL_SECONDS),
      timeout: Duration.seconds(MIN_POLL_INTERVAL_SECONDS * (MAX_POLLS_PER_RUN + 1)),
      replicationTask: task,
      migrationType: 'cdc',
      environmentSuffix: 'q',
      notificationTopic: new sns.Topic(stack, 'Topic'),
    });
    expect(orchestration.node.validate().join()).toMatch(/601 polls\); expected at most 600 polls per run/);
  });

  test('the longest timeout the props allow is 25 days, at the longest poll interval', () => {
    const definition = definitionFor({ pollInterval: Duration.hours(1), timeout: Duration.days(25) });
    expect(definition.States.WaitForReplication.Seconds).toBe(3600);
    expect(maxPollsOf(definition)).toBe(598);
    expect(definition.States.ChargePremigrationAssessmentTime.Parameters.count).toBe(1);
  });
});

describe('when a cdc task is ready for its review', () => {
  test('as soon as it runs: a cdc task has no full load to wait for', () => {
    const definition = definitionFor({}, 'cdc');
    const [rule] = definition.States.IsReplicationComplete.Choices.filter((c: any) => c.Next === 'ReviewTables');
    expect(rule).toEqual({ Variable: '$.task.Status', StringEquals: 'running', Next: 'ReviewTables' });
  });
});
