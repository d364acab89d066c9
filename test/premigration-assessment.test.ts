/**
 * The premigration assessment props: what each synthesizes (the state machine's assessment states, the role DMS
 * assumes, the pass-role grant) and the synth-time errors of wrong values. The run-time behaviour is executed in moto
 * by test/python/test_premigration_assessment.py.
 */
import { describe, test, expect } from '@jest/globals';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Orchestration, OrchestrationOptions } from '../src/orchestration';

interface Built {
  readonly orchestration: Orchestration;
  readonly template: () => Template;
  readonly states: Record<string, any>;
  readonly timeout: number;
}

function build(options: OrchestrationOptions, migrationType = 'full-load-and-cdc', withBucket = true): Built {
  const stack = new Stack(new App(), 'Assessment', { env: { region: 'us-west-2', account: '123456789012' } });
  const task = new dms.CfnReplicationTask(stack, 'Task', {
    migrationType, replicationInstanceArn: 'i', sourceEndpointArn: 's', targetEndpointArn: 't', tableMappings: '{}',
  });
  const orchestration = new Orchestration(stack, 'Orchestration', {
    ...options,
    replicationTask: task,
    migrationType,
    environmentSuffix: 'a',
    notificationTopic: new sns.Topic(stack, 'Topic'),
    reportBucket: withBucket ? new s3.Bucket(stack, 'Reports') : undefined,
  });
  const body = stack.resolve((orchestration.stateMachine.node.defaultChild as any).definitionString);
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  const definition = JSON.parse(text);
  return { orchestration, template: () => Template.fromStack(stack), states: definition.States, timeout: definition.TimeoutSeconds };
}

/** Every synth-time error of the orchestration and of the constructs inside it. */
const errorsOf = (options: OrchestrationOptions, withBucket = true) => build(options, 'full-load-and-cdc', withBucket).orchestration
  .node.findAll().flatMap((construct) => construct.node.validate()).join('\n');

describe('the premigration assessment before the first start', () => {
  test('by default a ready task is assessed with the MySQL assessments of its migration type', () => {
    const { states, timeout } = build({});
    expect(states.HowToStart.Choices).toContainEqual({ Variable: '$.task.Status', StringEquals: 'ready', Next: 'StartPremigrationAssessment' });
    expect(states.StartPremigrationAssessment.Parameters.IncludeOnly).toHaveLength(11);
    expect(states.StartPremigrationAssessment.Parameters.IncludeOnly).toContain('mysql-check-binlog-format');
    expect(states.WaitForPremigrationAssessment.Seconds).toBe(30);
    // The spec's 2-hour run includes the assessment: its longest wait (61 looks of 30 s) is charged to the first start.
    expect(timeout).toBe(7200);
    expect(states.ChargePremigrationAssessmentTime).toEqual({ Type: 'Pass', ResultPath: '$.polls', Parameters: { count: 7 }, Next: 'BeginStartReplication' });
  });

  test('a full-load task is assessed without the binary log assessments', () => {
    const { states } = build({}, 'full-load');
    expect(states.StartPremigrationAssessment.Parameters.IncludeOnly).toEqual([
      'mysql-check-select-privileges', 'mysql-check-supported-version', 'mysql-check-table-storage-engine',
    ]);
  });

  test('the assessments and the wait can be chosen', () => {
    const { states, timeout } = build({ premigrationAssessment: { assessments: ['mysql-check-pk-validity'], timeout: Duration.minutes(10) } });
    expect(states.StartPremigrationAssessment.Parameters.IncludeOnly).toEqual(['mysql-check-pk-validity']);
    expect(timeout).toBe(7200);
    expect(states.ChargePremigrationAssessmentTime.Parameters.count).toBe(3); // 21 looks x 30 s within 3 x 5 minutes
    const limit = states.IsPremigrationAssessmentDone.Choices.flatMap((rule: any) => rule.And ?? [])
      .find((rule: any) => rule.Variable === '$.assessment.polls.count');
    expect(limit.NumericGreaterThanEquals).toBe(20);
  });

  test('turned off, the first start goes straight to the lease-marked start and no role is created', () => {
    const { states, template, timeout } = build({ premigrationAssessment: { enabled: false } });
    expect(states.HowToStart.Choices).toContainEqual({ Variable: '$.task.Status', StringEquals: 'ready', Next: 'BeginStartReplication' });
    expect(Object.keys(states).filter((name) => name.includes('Premigration'))).toEqual([]);
    expect(timeout).toBe(7200);
    template().resourcePropertiesCountIs('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'dms.amazonaws.com' } })],
      }),
    }, 0);
  });

  test('a short run budget gets a quarter of it for the assessment by default', () => {
    const { states } = build({ pollInterval: Duration.seconds(40), timeout: Duration.minutes(20) });
    const limit = states.IsPremigrationAssessmentDone.Choices.flatMap((rule: any) => rule.And ?? [])
      .find((rule: any) => rule.Variable === '$.assessment.polls.count');
    expect(limit.NumericGreaterThanEquals).toBe(10); // 5 minutes
  });

  test('without a report bucket the assessment is off by default', () => {
    const { states, orchestration } = build({}, 'full-load-and-cdc', false);
    expect(states.StartPremigrationAssessment).toBeUndefined();
    expect(orchestration.node.findAll().flatMap((construct) => construct.node.validate())).toEqual([]);
  });

  test('DMS writes the results with a role of its own, scoped to the results prefix; the state machine may pass it to DMS only', () => {
    const template = build({}).template();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'dms.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        }],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectTagging'],
          Resource: { 'Fn::Join': ['', [Match.anyValue(), '/reports/premigration-assessments/*']] },
        })]),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'iam:PassRole',
          Condition: { StringEquals: { 'iam:PassedToService': 'dms.amazonaws.com' } },
          Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('PremigrationAssessmentServiceRole'), 'Arn'] },
        })]),
      },
    });
  });
});

describe('wrong premigration assessment props', () => {
  test.each([
    [{ assessments: [] }, /premigrationAssessment.assessments: received 0 assessments; expected from 1 to 100/],
    [{ assessments: ['MySQL check'] }, /premigrationAssessment.assessments: received 'MySQL check'; expected an individual assessment's API key/],
    [{ assessments: ['mysql-check-server-id', 'mysql-check-server-id'] }, /premigrationAssessment.assessments: .*expected each assessment once/],
    [{ timeout: Duration.seconds(30) }, /premigrationAssessment.timeout: received 30 seconds; expected from 1 minute to 1 hour/],
    [{ timeout: Duration.minutes(61) }, /premigrationAssessment.timeout: received 1 hour 1 minute; expected from 1 minute to 1 hour/],
  ])('fails when %j', (premigrationAssessment, message) => {
    expect(errorsOf({ premigrationAssessment })).toMatch(message);
  });

  test('fails when the wait leaves less than three poll intervals of the run', () => {
    expect(errorsOf({ timeout: Duration.minutes(40), premigrationAssessment: { timeout: Duration.minutes(30) } }))
      .toMatch(/premigrationAssessment.timeout: received 30 minutes with an orchestration.timeout of 40 minutes and a pollInterval of 5 minutes; expected at most the timeout minus three poll intervals/);
  });

  test('fails when it is turned on without a report bucket', () => {
    expect(errorsOf({ premigrationAssessment: { enabled: true } }, false))
      .toMatch(/premigrationAssessment.enabled: received true without a report bucket; expected a reportBucket/);
  });
});
