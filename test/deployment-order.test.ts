import { describe, test, expect } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import { NESTED_STACK_NAMES, synthPipeline } from './pipeline-fixture';

/*
 * Resources that publish to a CloudWatch Logs log group through a service principal need the log group's resource
 * policy to exist first, and CloudFormation orders two resources only by a reference or a DependsOn.
 *
 * - AWS::OpenSearchService::Domain LogPublishingOptions: "Monitoring OpenSearch logs with Amazon CloudWatch Logs"
 *   (OpenSearch Service Developer Guide) - es.amazonaws.com needs logs:PutLogEvents and logs:CreateLogStream in the
 *   log group's resource policy, and CreateDomain fails ("The Resource Access Policy specified for the CloudWatch
 *   Logs log group ... does not grant sufficient permissions") when it is missing.
 * - AWS::Route53::HostedZone QueryLoggingConfig: "Logging DNS queries" (Route 53 Developer Guide), route53.amazonaws.com.
 * - AWS::Events::Rule targets that are log groups: "CloudWatch Logs" target, "Using resource-based policies for Amazon
 *   EventBridge" (EventBridge User Guide), events.amazonaws.com / delivery.logs.amazonaws.com.
 */
interface LogPublisher {
  readonly principals: string[];
  logGroupArns(properties: any): unknown[];
}

const PUBLISHERS: Record<string, LogPublisher> = {
  'AWS::OpenSearchService::Domain': {
    principals: ['es.amazonaws.com'],
    logGroupArns: (p) => Object.values(p.LogPublishingOptions ?? {})
      .filter((o: any) => o.Enabled !== false)
      .map((o: any) => o.CloudWatchLogsLogGroupArn),
  },
  'AWS::Route53::HostedZone': {
    principals: ['route53.amazonaws.com'],
    logGroupArns: (p) => (p.QueryLoggingConfig ? [p.QueryLoggingConfig.CloudWatchLogsLogGroupArn] : []),
  },
  'AWS::Events::Rule': {
    principals: ['events.amazonaws.com', 'delivery.logs.amazonaws.com'],
    logGroupArns: (p) => (p.Targets ?? []).map((t: any) => t.Arn).filter((arn: unknown) => JSON.stringify(arn).includes(':logs:')),
  },
};

/** The logical ids a CloudFormation value refers to (Ref and Fn::GetAtt). */
function referencedIds(value: unknown): string[] {
  const json = JSON.stringify(value);
  const ids = [...json.matchAll(/"Ref":"([A-Za-z0-9]+)"/g), ...json.matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)"/g)].map((m) => m[1]);
  return [...new Set(ids)];
}

function dependsOn(resource: any): string[] {
  return [resource.DependsOn ?? []].flat();
}

describe('log publishers are created after the resource policy that lets them write', () => {
  const fx = synthPipeline();
  const templates: Array<[string, Template]> = [['root', fx.root], ...NESTED_STACK_NAMES.map((n) => [n, fx.nested(n)] as [string, Template])];

  test('every publisher depends on a resource policy that grants its service on each of its log groups', () => {
    let checked = 0;
    for (const [stackName, template] of templates) {
      const resources = template.toJSON().Resources ?? {};
      const policies = Object.entries(resources).filter(([, r]: [string, any]) => r.Type === 'AWS::Logs::ResourcePolicy');
      for (const [id, resource] of Object.entries(resources) as Array<[string, any]>) {
        const publisher = PUBLISHERS[resource.Type];
        if (!publisher) {
          continue;
        }
        for (const arn of publisher.logGroupArns(resource.Properties ?? {})) {
          const logGroupIds = referencedIds(arn);
          expect({ publisher: `${stackName}/${id}`, logGroupIds }).toEqual({ publisher: `${stackName}/${id}`, logGroupIds: expect.arrayContaining([expect.any(String)]) });
          const granting = policies.filter(([, policy]: [string, any]) => {
            const document = JSON.stringify(policy.Properties.PolicyDocument);
            return publisher.principals.some((p) => document.includes(p)) && logGroupIds.every((g) => document.includes(`"${g}"`));
          }).map(([policyId]) => policyId);
          expect({ publisher: `${stackName}/${id}`, grantingPolicies: granting.length > 0 }).toEqual({ publisher: `${stackName}/${id}`, grantingPolicies: true });
          expect({ publisher: `${stackName}/${id}`, dependsOnAGrantingPolicy: granting.some((p) => dependsOn(resource).includes(p)) })
            .toEqual({ publisher: `${stackName}/${id}`, dependsOnAGrantingPolicy: true });
          checked += 1;
        }
      }
    }
    // The audit domain publishes slow-search, slow-index and application logs.
    expect(checked).toBeGreaterThanOrEqual(3);
  });
});
