import { describe, test, expect } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import { NESTED_STACK_NAMES, synthPipeline } from './pipeline-fixture';

/*
 * Every EventBridge rule target's dead-letter queue must be writable by EventBridge:
 * - "Using dead-letter queues to process undelivered events in EventBridge" (EventBridge User Guide): the queue
 *   policy allows events.amazonaws.com sqs:SendMessage with the condition aws:SourceArn = the rule's ARN.
 * - "Amazon SQS Key management", section "Configure KMS permissions for AWS services" (SQS Developer Guide): an
 *   encrypted queue that an AWS service sends to needs a customer managed key whose key policy allows the service
 *   principal kms:GenerateDataKey and kms:Decrypt.
 * - "Key management" for Amazon SNS (SNS Developer Guide): aws:SourceAccount and aws:SourceArn in a KMS key policy are
 *   not supported for EventBridge; a statement for events.amazonaws.com under such a condition never matches.
 */
const fx = synthPipeline();
const templates: Array<[string, Template]> = [['root', fx.root], ...NESTED_STACK_NAMES.map((n) => [n, fx.nested(n)] as [string, Template])];

interface DeadLetterTarget { stack: string; ruleId: string; queueId: string; resources: Record<string, any> }

/** Every target of every rule, as "stack/rule/target id", each followed by the queue it dead-letters to (or "none"). */
function everyRuleTarget(): string[] {
  const found: string[] = [];
  for (const [stack, template] of templates) {
    const resources = template.toJSON().Resources ?? {};
    for (const [ruleId, rule] of Object.entries(resources) as Array<[string, any]>) {
      if (rule.Type === 'AWS::Events::Rule') {
        for (const target of rule.Properties.Targets ?? []) {
          const queue = target.DeadLetterConfig?.Arn?.['Fn::GetAtt']?.[0] ?? 'none';
          found.push(`${stack}/${ruleId}/${target.Id} -> ${queue}`);
        }
      }
    }
  }
  return found.sort();
}

function deadLetterTargets(): DeadLetterTarget[] {
  const found: DeadLetterTarget[] = [];
  for (const [stack, template] of templates) {
    const resources = template.toJSON().Resources ?? {};
    for (const [ruleId, rule] of Object.entries(resources) as Array<[string, any]>) {
      if (rule.Type !== 'AWS::Events::Rule') {
        continue;
      }
      for (const target of rule.Properties.Targets ?? []) {
        const arn = target.DeadLetterConfig?.Arn;
        if (arn) {
          // Same-template queues only: a queue passed in from another stack could not carry this rule's ARN.
          expect(arn['Fn::GetAtt']?.[1]).toBe('Arn');
          found.push({ stack, ruleId, queueId: arn['Fn::GetAtt'][0], resources });
        }
      }
    }
  }
  return found;
}

function statements(document: any): any[] {
  return [document.Statement].flat();
}

function principalServices(statement: any): string[] {
  return [statement.Principal?.Service ?? []].flat();
}

describe('EventBridge dead-letter queues', () => {
  const targets = deadLetterTargets();

  test('every rule target has one (the incoming-object rule, four failure rules, six audit rules)', () => {
    expect(targets).toHaveLength(11);
    // Every target, with or without a queue: a new target without one shows up here as "-> none".
    expect(everyRuleTarget()).toEqual([
      'MonitoringStack/MonitoringAuditDataSyncRule46460781/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringAuditDmsRule4038B9AA/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringAuditGlueRuleF5993721/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringAuditPipelineRule37F618D1/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringAuditS3RuleB518538E/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringAuditStepFunctionsRule7837FE41/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringDmsFailureRule3BA5A733/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringGlueFailureRuleA372AE8A/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringS3DeletionRule5EB40ECC/Target0 -> EventTargetDeadLetterQueue8A723225',
      'MonitoringStack/MonitoringStepFunctionsFailureRule38A8944D/Target0 -> EventTargetDeadLetterQueue8A723225',
      'root/PipelineS3ObjectCreatedRule15F9B25C/Target0 -> PipelineIncomingRuleDeadLetterQueueD3628CE0',
    ]);
  });

  test('each queue policy lets events.amazonaws.com send only for the rule that uses it (aws:SourceArn)', () => {
    for (const { stack, ruleId, queueId, resources } of targets) {
      const policies = Object.values(resources).filter((r: any) => r.Type === 'AWS::SQS::QueuePolicy'
        && JSON.stringify(r.Properties.Queues).includes(`"${queueId}"`)) as any[];
      const allows = policies.flatMap((p) => statements(p.Properties.PolicyDocument)).filter((s) => s.Effect === 'Allow'
        && principalServices(s).includes('events.amazonaws.com')
        && [s.Action].flat().includes('sqs:SendMessage')
        && JSON.stringify(s.Condition?.ArnEquals?.['aws:SourceArn']) === JSON.stringify({ 'Fn::GetAtt': [ruleId, 'Arn'] }));
      expect({ stack, ruleId, queueId, allowed: allows.length }).toEqual({ stack, ruleId, queueId, allowed: 1 });
    }
  });

  test('each queue is encrypted with the messaging key, whose policy lets EventBridge use it without unsupported conditions', () => {
    const messaging = fx.nested('MessagingStack').toJSON().Resources;
    const [keyId, key] = Object.entries(messaging).find(([, r]: [string, any]) => r.Type === 'AWS::KMS::Key') as [string, any];
    for (const { queueId, resources } of targets) {
      // The queue names the key through the parameter its nested stack receives, or directly in the same stack.
      expect(JSON.stringify(resources[queueId].Properties.KmsMasterKeyId)).toMatch(new RegExp(`MessagingKey|${keyId}`));
    }
    const forEventBridge = statements(key.Properties.KeyPolicy).filter((s) => principalServices(s).includes('events.amazonaws.com'));
    expect(forEventBridge).toHaveLength(1);
    const [statement] = forEventBridge;
    expect(statement.Effect).toBe('Allow');
    expect([statement.Action].flat()).toEqual(expect.arrayContaining(['kms:GenerateDataKey', 'kms:Decrypt']));
    const conditionKeys = Object.values(statement.Condition ?? {}).flatMap((c: any) => Object.keys(c));
    expect(conditionKeys).not.toContain('aws:SourceAccount');
    expect(conditionKeys).not.toContain('aws:SourceArn');
    // No deny statement takes these actions away from EventBridge.
    const denies = statements(key.Properties.KeyPolicy).filter((s) => s.Effect === 'Deny');
    for (const deny of denies) {
      expect([deny.Action].flat()).not.toEqual(expect.arrayContaining(['kms:GenerateDataKey']));
      expect([deny.Action].flat()).not.toEqual(expect.arrayContaining(['kms:Decrypt']));
    }
  });
});
