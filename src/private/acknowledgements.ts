import { AspectPriority, Aspects, CfnResource, IAspect, Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/*
 * Acknowledgements of security-scanner findings (cdk-nag rule ids). Each one is attached to one construct and
 * one rule, with a reason that names the control that compensates; a finding without one fails the tests.
 */

/**
 * Acknowledges one rule on one construct (and the CloudFormation resources below it), in the metadata that
 * `Validations.of(scope).acknowledge()` writes and validation plugins read. It is written directly because
 * finding ids such as `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:...]` contain '::' more than once,
 * which `acknowledge()` reserves for its prefix.
 */
export function acknowledge(scope: IConstruct, ruleId: string, reason: string): void {
  const key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;
  const latest = scope.node.metadata.filter((entry) => entry.type === key).pop()?.data ?? {};
  scope.node.addMetadata(key, { ...latest, [ruleId]: reason });
}

/** Acknowledges several rules on one construct, each with its own reason. */
export function acknowledgeAll(scope: IConstruct, reasons: Record<string, string>): void {
  for (const [ruleId, reason] of Object.entries(reasons)) {
    acknowledge(scope, ruleId, reason);
  }
}

/** The expected wildcards of each scope, for the cdk-nag 2 suppressions (see CdkNagV2Suppressions). */
const expectedWildcards = new WeakMap<IConstruct, ExpectedWildcard[]>();

/** A wildcard that a policy is expected to hold, and why it is as narrow as the service allows. */
export interface ExpectedWildcard {
  /** Matches the finding as the scanner writes it, e.g. `Action::s3:GetObject*` or `Resource::<DataBucket.Arn>/incoming/*`. */
  readonly finding: RegExp;
  readonly reason: string;
}

/**
 * Acknowledges the wildcard-permission findings (AwsSolutions-IAM5) of the policies below `scope`, but only those
 * that match an expected wildcard: a new wildcard still fails the scan. The findings name resolved references
 * (`<LogicalId.Arn>`, or the parameter a nested stack receives), which exist only once the app is prepared, so
 * they are computed in a construct validation, which runs after preparation and before the validation plugins.
 */
export function expectWildcards(scope: IConstruct, expected: ExpectedWildcard[]): void {
  expectedWildcards.set(scope, [...(expectedWildcards.get(scope) ?? []), ...expected]);
  scope.node.addValidation({
    validate(): string[] {
      for (const policy of scope.node.findAll().filter((c): c is CfnPolicy => c instanceof CfnPolicy)) {
        for (const finding of wildcardFindings(policy)) {
          const match = expected.find((e) => e.finding.test(finding));
          if (match) {
            acknowledge(policy, `AwsSolutions-IAM5[${finding}]`, match.reason);
          }
        }
      }
      return [];
    },
  });
}

/** The wildcard findings of one policy, written as the scanner writes them. */
function wildcardFindings(policy: CfnPolicy): string[] {
  const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: any[] };
  const findings = new Set<string>();
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') {
      continue;
    }
    for (const action of [statement.Action].flat()) {
      if (typeof action === 'string' && action.includes('*')) {
        findings.add(`Action::${action}`);
      }
    }
    for (const resource of [statement.Resource].flat()) {
      const flat = flattenReference(resource);
      if (flat.includes('*')) {
        findings.add(`Resource::${flat}`);
      }
    }
  }
  return [...findings];
}

/** Writes a CloudFormation reference as a flat string: Ref -> `<Id>`, GetAtt -> `<Id.Attr>`, Join -> joined. */
function flattenReference(node: any): string {
  if (node === undefined) {
    return '';
  }
  if (typeof node === 'string') {
    return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  }
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'];
    return items.map(flattenReference).join(delimiter);
  }
  if (node['Fn::Sub']) {
    return flattenReference(node['Fn::Sub']);
  }
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) {
    return flattenReference(node['Fn::ImportValue']);
  }
  if (node.Ref) {
    return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(node);
}

/** The resource metadata key under which Control Tower guard-rule exemptions are recorded, rule name -> reason. */
export const GUARD_EXEMPTIONS_METADATA = 'cdk-migration-pipeline:guard-exemptions';

/**
 * Exempts one CloudFormation resource from one Control Tower guard rule, with the reason, in the resource's
 * template metadata; the guard check of the test command accepts a failure only where such an exemption stands.
 */
export function exemptFromGuard(scope: IConstruct, ruleName: string, reason: string): void {
  const resource = CfnResource.isCfnResource(scope) ? scope : scope.node.defaultChild;
  if (!resource || !CfnResource.isCfnResource(resource)) {
    throw new Error(`exemptFromGuard: ${scope.node.path} has no CloudFormation resource`);
  }
  const current = (resource.getMetadata(GUARD_EXEMPTIONS_METADATA) ?? {}) as Record<string, string>;
  resource.addMetadata(GUARD_EXEMPTIONS_METADATA, { ...current, [ruleName]: reason });
}

/** True when `consumer` sits in another stack than `producer`, so the template shows only a parameter. */
export function isCrossStack(consumer: IConstruct, producer: IConstruct): boolean {
  return Stack.of(consumer) !== Stack.of(producer);
}

/**
 * The guard rules resolve references only within one template: a key, subnet or topic that another nested
 * stack passes in as a parameter reads as unknown. This exempts such a resource, naming what was passed.
 */
export function exemptCrossStackReference(scope: IConstruct, ruleName: string, passedIn: string): void {
  exemptFromGuard(scope, ruleName, `${passedIn} comes from another nested stack as a parameter, which the rule cannot resolve; the unit tests assert it`);
}

/**
 * CDK's bucket-notifications function (one per stack) writes the whole notification configuration of the
 * buckets (EventBridge plus any notification a user adds) while CloudFormation deploys; its role and code are
 * CDK's, and each bucket grants it s3:PutBucketNotification on that bucket alone.
 */
export function acknowledgeBucketNotifications(buckets: IConstruct[]): void {
  const reason = 'CDK\'s deployment-time function that writes the buckets\' notification configuration (EventBridge and user notifications)';
  for (const bucket of buckets) {
    const notifications = bucket.node.tryFindChild('Notifications');
    if (notifications) {
      acknowledge(notifications, 'NIST.800.53.R5-IAMNoInlinePolicy', `${reason}: this policy allows s3:PutBucketNotification on this bucket only`);
    }
    exemptFromGuard(bucket, 's3_event_notifications_enabled_check',
      'EventBridge notifications are written by CDK\'s notifications custom resource (Custom::S3BucketNotifications), which the rule cannot see; the unit tests assert it');
  }
  const handler = buckets.length > 0
    ? Stack.of(buckets[0]).node.children.find((child) => child.node.id.startsWith('BucketNotificationsHandler'))
    : undefined;
  if (handler) {
    acknowledge(handler, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      `${reason}: the AWS-managed policy lets it write its own logs only`);
    exemptFromGuard(handler, 'lambda_inside_vpc_check', `${reason}: it calls only the S3 API and needs nothing in the VPC`);
  }
}

/** The resource metadata key cdk-nag 2.x reads its suppressions from ("Suppressing a rule", cdk-nag 2 README). */
const CDK_NAG_V2_METADATA = 'cdk_nag';

/** One suppression as cdk-nag 2.x reads it from a resource's metadata. */
interface CdkNagV2Suppression {
  readonly id: string;
  readonly reason: string;
  /** Finding ids, or `{ regex: '/pattern/flags' }`, that the suppression is limited to. */
  readonly applies_to?: (string | { regex: string })[];
}

/**
 * Makes the acknowledgements under `root` count with cdk-nag 2.x too. cdk-nag 3 runs as a validation plugin and
 * reads the `Validations` acknowledgements above; cdk-nag 2.x runs as an Aspect (`Aspects.of(app).add(new
 * AwsSolutionsChecks())`) and reads only `cdk_nag.rules_to_suppress` in each CloudFormation resource's metadata,
 * with the finding in `applies_to` rather than in the id. This aspect writes them there, at mutating priority, so that
 * on every resource it runs before any read-only aspect of the app, cdk-nag's included ("Aspects", AWS CDK guide).
 * The wildcards of expectWildcards become regular expressions: they are known at construction, while their findings
 * are computed only after the aspects have run.
 */
export function acknowledgeForCdkNagV2(root: IConstruct): void {
  Aspects.of(root).add(new CdkNagV2Suppressions(root), { priority: AspectPriority.MUTATING });
}

class CdkNagV2Suppressions implements IAspect {
  constructor(private readonly root: IConstruct) {}

  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) {
      return;
    }
    const suppressions = this.scopesOf(node).flatMap(suppressionsOf);
    if (suppressions.length === 0) {
      return;
    }
    const current = (node.getMetadata(CDK_NAG_V2_METADATA)?.rules_to_suppress ?? []) as CdkNagV2Suppression[];
    node.addMetadata(CDK_NAG_V2_METADATA, { rules_to_suppress: [...current, ...suppressions] });
  }

  /** The resource and the constructs above it, up to the root: an acknowledgement covers what is below it. */
  private scopesOf(node: IConstruct): IConstruct[] {
    const scopes = node.node.scopes;
    return scopes.slice(Math.max(0, scopes.indexOf(this.root)));
  }
}

/** The acknowledgements and expected wildcards of one construct, as cdk-nag 2.x suppressions. */
function suppressionsOf(scope: IConstruct): CdkNagV2Suppression[] {
  const acknowledged = (scope.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).pop()?.data
    ?? {}) as Record<string, string>;
  const suppressions: CdkNagV2Suppression[] = Object.entries(acknowledged).map(([ruleId, reason]) => {
    const [, id, finding] = /^([^[]+)(?:\[(.*)\])?$/.exec(ruleId) ?? [ruleId, ruleId];
    return finding === undefined ? { id, reason } : { id, reason, applies_to: [finding] };
  });
  for (const wildcard of expectedWildcards.get(scope) ?? []) {
    suppressions.push({ id: 'AwsSolutions-IAM5', reason: wildcard.reason, applies_to: [{ regex: String(wildcard.finding) }] });
  }
  return suppressions;
}
