/**
 * Reads every identity policy out of synthesized CloudFormation templates and replaces the CloudFormation
 * references in them by fixed fake values, so the policies can be checked against the IAM reference data
 * and fed to a policy simulator. Used by iam.test.ts.
 *
 * The resolver is deliberately small and strict: it knows a handful of intrinsics, the pseudo parameters,
 * the roles and the resources listed in FAKE_RESOURCES, and throws on everything else, so a new kind of
 * reference shows up as an error instead of being silently mistranslated.
 */

export const PARTITION = 'aws';
export const REGION = 'us-west-2';
export const ACCOUNT = '123456789012';

/** A CloudFormation template as JSON (only the parts read here). */
export interface TemplateJson {
  readonly Resources?: Record<string, { readonly Type: string; readonly Properties?: Record<string, any> }>;
  readonly Parameters?: Record<string, unknown>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

/** A policy statement after resolution: only plain strings left. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: PolicyStatement[];
}

/** One identity policy of a role, named after where it was found (`Stack/LogicalId[/PolicyName]`). */
export interface NamedPolicy {
  readonly name: string;
  readonly policy: PolicyDocument;
}

/** A role with the identity policies that apply to it. */
export interface RolePolicies {
  /** The fake ARN of the role, e.g. arn:aws:iam::123456789012:role/GlueJobRole. */
  readonly arn: string;
  /** Where the role is defined: `Stack/LogicalId`. */
  readonly where: string;
  /** Inline policies, and AWS::IAM::Policy resources attached to the role (from any stack). */
  readonly policies: NamedPolicy[];
  /** ARNs of the AWS-managed policies attached to the role (their documents are not available here). */
  readonly awsManagedPolicies: string[];
}

// --- Fake values ------------------------------------------------------------------------------

function arn(service: string, resource: string): string {
  return `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${resource}`;
}

const bucket = (name: string) => ({ Ref: name, Arn: `arn:${PARTITION}:s3:::${name}` });
const topic = (name: string) => ({ Ref: arn('sns', name), TopicName: name });
const queue = (name: string) => ({ Arn: arn('sqs', name), QueueName: name });
const key = (id: string) => ({ Ref: id, Arn: arn('kms', `key/${id}`) });
const secret = (name: string) => ({ Ref: arn('secretsmanager', `secret:${name}`) });
const logGroup = (name: string) => ({ Ref: name, Arn: arn('logs', `log-group:${name}:*`) });
const role = (name: string) => ({ Ref: name, Arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}` });

/**
 * The fake attributes of every resource an identity policy refers to, by CDK name: the logical id without
 * its 8-character hash, which is the same whether the policy sits in the resource's own stack
 * (`StorageDataBucketB1B922FA`) or reaches it through a nested-stack parameter
 * (`referenceto...OutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn`).
 * Roles in their own stack need no entry: they are named after their CDK name (see roleAttribute).
 */
const FAKE_RESOURCES: Record<string, Record<string, string>> = {
  StorageDataBucket: bucket('data-bucket'),
  StorageScriptBucket: bucket('script-bucket'),
  StorageAccessLogsBucket: bucket('access-logs-bucket'),
  LoggingBackupBucket: bucket('audit-backup-bucket'),
  MessagingValidationTopic: topic('migration-validation-dev'),
  MessagingAlertTopic: topic('migration-alerts-dev'),
  MessagingDeadLetterQueue: queue('migration-dlq-dev'),
  MessagingKey: key('11111111-2222-3333-4444-555555555555'),
  NetworkLogEncryptionKey: key('66666666-7777-8888-9999-000000000000'),
  NetworkFlowLogs: logGroup('migration-flow-logs'),
  NetworkVpc: { Ref: 'vpc-0123456789abcdef0', DefaultSecurityGroup: 'sg-0123456789abcdef0' },
  DmsReplicationTask: { Ref: arn('dms', 'task:MIGRATIONTASKDEV') },
  DmsTaskLease: { Ref: 'migration-task-lease', Arn: arn('dynamodb', 'table/migration-task-lease') },
  DmsSourceSecret: secret('migration-dms-source-dev-AbCdEf'),
  DatabaseAuroraClusterSecretAttachment: secret('migration-aurora-dev-GhIjKl'),
  OrchestrationStateMachine: { Ref: arn('states', 'stateMachine:migration-orchestration-dev') },
  OrchestrationTableReviewFunction: { Ref: 'migration-table-review-dev', Arn: arn('lambda', 'function:migration-table-review-dev') },
  CutoverStateMachine: { Ref: arn('states', 'stateMachine:migration-cutover-dev') },
  CutoverSettleFunction: { Ref: 'migration-cutover-settle-dev', Arn: arn('lambda', 'function:migration-cutover-settle-dev') },
  CutoverChecksFunction: { Ref: 'migration-cutover-checks-dev', Arn: arn('lambda', 'function:migration-cutover-checks-dev') },
  LoggingDomain: { Ref: 'migration-audit-dev', Arn: arn('es', 'domain/migration-audit-dev') },
  LoggingDeliveryStream: { Arn: arn('firehose', 'deliverystream/migration-audit-dev') },
  LoggingDeliveryLogs: logGroup('migration-audit-delivery'),
  LoggingTransformFunction: { Ref: 'migration-audit-envelope-dev', Arn: arn('lambda', 'function:migration-audit-envelope-dev') },
  // MessagingStack attaches a policy to the Glue job role of GlueStack.
  GlueJobRole: role('GlueJobRole'),
};

/** The fake value of one attribute (`Ref`, `Arn`, ...) of a resource, by CDK name; throws when unknown. */
export function fakeAttribute(name: string, attribute: string): string {
  const value = FAKE_RESOURCES[name]?.[attribute];
  if (value === undefined) {
    throw new Error(`No fake value for ${name}.${attribute}: add it to FAKE_RESOURCES`);
  }
  return value;
}

function roleAttribute(name: string, attribute: string): string {
  const value = (role(name) as Record<string, string>)[attribute];
  if (value === undefined) {
    throw new Error(`No fake value for role ${name}.${attribute}`);
  }
  return value;
}

/** `StorageDataBucketB1B922FA` -> `StorageDataBucket`. */
export function cdkName(logicalId: string): string {
  if (!/^[A-Za-z0-9]+[0-9A-F]{8}$/.test(logicalId)) {
    throw new Error(`${logicalId} does not end with a CDK hash`);
  }
  return logicalId.slice(0, -8);
}

function fakeStackId(stackName: string): string {
  return arn('cloudformation', `stack/${stackName}/00000000-0000-0000-0000-000000000000`);
}

// --- The resolver -----------------------------------------------------------------------------

/**
 * Resolves the intrinsics of one template. `stackName` is the spec name of the nested stack (or the root
 * stack's name) and `nestedStackNames` the names a cross-stack parameter may point at.
 */
export class TemplateResolver {
  /** The cross-stack parameters this resolver has translated, so a test can check them against the producers. */
  public readonly parametersUsed = new Set<string>();
  private readonly crossStackParameter: RegExp;

  constructor(public readonly stackName: string, public readonly template: TemplateJson, nestedStackNames: readonly string[]) {
    // referenceto<producer path>Outputs<root><Producer>Stack<CdkName><hash><Arn|Ref>
    this.crossStackParameter = new RegExp(`^referenceto\\w+?Outputs\\w*?(?:${nestedStackNames.join('|')})(\\w+?)[0-9A-F]{8}(Arn|Ref)$`);
  }

  /** Replaces every intrinsic in `value` (recursively) by its fake value. */
  resolve(value: unknown): unknown {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return value;
    }
    if (Array.isArray(value)) {
      return value.map((item) => this.resolve(item));
    }
    if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      if (entries.length === 1 && (entries[0][0] === 'Ref' || entries[0][0].startsWith('Fn::'))) {
        return this.intrinsic(entries[0][0], entries[0][1]);
      }
      return Object.fromEntries(entries.map(([name, item]) => [name, this.resolve(item)]));
    }
    throw new Error(`${this.stackName}: cannot resolve ${JSON.stringify(value)}`);
  }

  resolveString(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') {
      throw new Error(`${this.stackName}: ${JSON.stringify(value)} does not resolve to a string`);
    }
    return resolved;
  }

  private intrinsic(name: string, args: any): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(args);
      case 'Fn::GetAtt':
        return this.resourceAttribute(args[0], args[1]);
      case 'Fn::Join':
        return (this.resolve(args[1]) as unknown[]).map((part) => this.resolveString(part)).join(args[0]);
      case 'Fn::Split':
        return this.resolveString(args[1]).split(args[0]);
      case 'Fn::Select': {
        const list = this.resolve(args[1]) as unknown[];
        if (!Number.isInteger(args[0]) || args[0] < 0 || args[0] >= list.length) {
          throw new Error(`${this.stackName}: Fn::Select index ${args[0]} out of range of ${JSON.stringify(list)}`);
        }
        return list[args[0]];
      }
      case 'Fn::Sub':
        return this.substitute(args);
      default:
        throw new Error(`${this.stackName}: unsupported intrinsic ${name}`);
    }
  }

  private ref(name: string): string {
    switch (name) {
      case 'AWS::Partition': return PARTITION;
      case 'AWS::Region': return REGION;
      case 'AWS::AccountId': return ACCOUNT;
      case 'AWS::StackId': return fakeStackId(this.stackName);
    }
    if (this.template.Parameters?.[name] !== undefined) {
      return this.parameter(name);
    }
    return this.resourceAttribute(name, 'Ref');
  }

  private resourceAttribute(logicalId: string, attribute: string): string {
    const resource = this.template.Resources?.[logicalId];
    if (!resource) {
      throw new Error(`${this.stackName}: ${logicalId} is neither a resource nor a parameter`);
    }
    return resource.Type === 'AWS::IAM::Role'
      ? roleAttribute(this.roleName(cdkName(logicalId)), attribute)
      : fakeAttribute(cdkName(logicalId), attribute);
  }

  /** CDK's per-stack providers (S3 auto-delete) have the same role id in every stack: their fake names carry the stack. */
  private roleName(name: string): string {
    return /^Custom\w+ProviderRole$/.test(name) ? `${this.stackName}${name}` : name;
  }

  /** A nested-stack parameter that carries another stack's resource: `...Outputs...<CdkName><hash>Arn|Ref`. */
  private parameter(name: string): string {
    const match = this.crossStackParameter.exec(name);
    if (!match) {
      throw new Error(`${this.stackName}: parameter ${name} is not a cross-stack reference this resolver knows`);
    }
    this.parametersUsed.add(name);
    const [, producerCdkName, attribute] = match;
    return fakeAttribute(producerCdkName, attribute);
  }

  /** `Fn::Sub` with a plain string: `${AWS::Region}`, `${LogicalId}` and `${LogicalId.Attribute}`. */
  private substitute(args: unknown): string {
    if (typeof args !== 'string') {
      throw new Error(`${this.stackName}: Fn::Sub with a variable map is not supported`);
    }
    return args.replace(/\$\{([^}]*)\}/g, (_match, variable: string) => {
      if (variable.startsWith('!')) {
        throw new Error(`${this.stackName}: escaped Fn::Sub variables are not supported`);
      }
      const [logicalId, attribute] = variable.split('.');
      return attribute === undefined ? this.ref(logicalId) : this.resourceAttribute(logicalId, attribute);
    });
  }
}

// --- Collecting the policies ------------------------------------------------------------------

/** The role ARN for a role name as it appears in a policy's `Roles` list. */
function roleArnFromName(name: string): string {
  return roleAttribute(name, 'Arn');
}

function resourcesOfType(template: TemplateJson, type: string): Array<[string, Record<string, any>]> {
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => [logicalId, resource.Properties ?? {}]);
}

function resolvedDocument(resolver: TemplateResolver, document: unknown, where: string): PolicyDocument {
  const resolved = resolver.resolve(document) as PolicyDocument;
  for (const statement of resolved.Statement) {
    const keys = Object.keys(statement);
    const unsupported = keys.filter((k) => !['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(k));
    if (unsupported.length > 0 || !statement.Action || !statement.Resource) {
      throw new Error(`${where}: statement uses ${unsupported.join(', ') || 'no Action/Resource'}: ${JSON.stringify(statement)}`);
    }
  }
  return resolved;
}

/**
 * Every role of the given templates (keyed by fake role ARN) with the identity policies that apply to it:
 * its inline `Policies`, every `AWS::IAM::Policy` whose `Roles` names it (in any template) and the
 * AWS-managed policies of its `ManagedPolicyArns`. Throws on users, groups, customer-managed policies and
 * anything the resolver does not know.
 */
export function collectRolePolicies(resolvers: TemplateResolver[]): Map<string, RolePolicies> {
  const roles = new Map<string, RolePolicies>();
  for (const resolver of resolvers) {
    const template = resolver.template;
    if (resourcesOfType(template, 'AWS::IAM::ManagedPolicy').length > 0 || resourcesOfType(template, 'AWS::IAM::User').length > 0) {
      throw new Error(`${resolver.stackName}: customer-managed policies and users are not collected yet`);
    }
    for (const [logicalId, properties] of resourcesOfType(template, 'AWS::IAM::Role')) {
      const where = `${resolver.stackName}/${logicalId}`;
      const roleArn = resolver.resolveString({ 'Fn::GetAtt': [logicalId, 'Arn'] });
      if (roles.has(roleArn)) {
        throw new Error(`${where} and ${roles.get(roleArn)!.where} get the same fake ARN ${roleArn}`);
      }
      const awsManagedPolicies = (properties.ManagedPolicyArns ?? []).map((ref: unknown) => resolver.resolveString(ref));
      const notAwsManaged = awsManagedPolicies.filter((policyArn: string) => !policyArn.startsWith(`arn:${PARTITION}:iam::aws:policy/`));
      if (notAwsManaged.length > 0) {
        throw new Error(`${where}: customer-managed policies are not collected yet: ${notAwsManaged}`);
      }
      const inline = (properties.Policies ?? []).map((inlinePolicy: { PolicyName: string; PolicyDocument: unknown }) => ({
        name: `${where}/${inlinePolicy.PolicyName}`,
        policy: resolvedDocument(resolver, inlinePolicy.PolicyDocument, where),
      }));
      roles.set(roleArn, { arn: roleArn, where, policies: inline, awsManagedPolicies });
    }
  }
  for (const resolver of resolvers) {
    for (const [logicalId, properties] of resourcesOfType(resolver.template, 'AWS::IAM::Policy')) {
      const where = `${resolver.stackName}/${logicalId}`;
      if (properties.Users || properties.Groups || !properties.Roles) {
        throw new Error(`${where}: only policies attached to roles are collected`);
      }
      const policy = resolvedDocument(resolver, properties.PolicyDocument, where);
      for (const roleRef of properties.Roles) {
        const attachedTo = roles.get(roleArnFromName(resolver.resolveString(roleRef)));
        if (!attachedTo) {
          throw new Error(`${where} is attached to a role that is not in the templates: ${JSON.stringify(roleRef)}`);
        }
        attachedTo.policies.push({ name: where, policy });
      }
    }
  }
  return roles;
}

/** The role that a resource of `type` named `name` runs as, found by `roleProperty` (a path into its Properties). */
export function roleOf(resolver: TemplateResolver, type: string, nameProperty: string, name: string, roleProperty: string[]): string {
  const matches = resourcesOfType(resolver.template, type).filter(([, properties]) => properties[nameProperty] === name);
  if (matches.length !== 1) {
    throw new Error(`${resolver.stackName}: expected one ${type} with ${nameProperty} ${name}, found ${matches.length}`);
  }
  const roleRef = roleProperty.reduce((value: any, step) => value?.[step], matches[0][1]);
  if (roleRef === undefined) {
    throw new Error(`${resolver.stackName}: ${type} ${name} has no ${roleProperty.join('.')}`);
  }
  return resolver.resolveString(roleRef);
}

// --- Statements -------------------------------------------------------------------------------

/** A statement with its actions and resources as lists, and the role and policy it came from. */
export interface LocatedStatement {
  readonly role: string;
  readonly policy: string;
  readonly effect: 'Allow' | 'Deny';
  readonly actions: string[];
  readonly resources: string[];
}

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

export function statementsOf(roles: Iterable<RolePolicies>): LocatedStatement[] {
  return [...roles].flatMap((r) => r.policies.flatMap(({ name, policy }) => policy.Statement.map((statement) => ({
    role: r.where,
    policy: name,
    effect: statement.Effect,
    actions: asList(statement.Action),
    resources: asList(statement.Resource),
  }))));
}

/**
 * The key policy of every KMS key, by the key's fake ARN. The simulator needs it: a KMS call is allowed
 * only when the key policy allows it too (here by delegating to the account's IAM policies).
 */
export function keyPolicies(resolvers: TemplateResolver[]): Map<string, unknown> {
  return new Map(resolvers.flatMap((resolver) => resourcesOfType(resolver.template, 'AWS::KMS::Key')
    .map(([logicalId, properties]): [string, unknown] =>
      [resolver.resolveString({ 'Fn::GetAtt': [logicalId, 'Arn'] }), resolver.resolve(properties.KeyPolicy)])));
}
