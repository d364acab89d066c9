/**
 * Every physical name the library writes into its templates is one the service accepts, for the shortest and the
 * longest environment suffix. The names are found by walking every template for name properties, so a new named
 * resource fails this test until its service's rule is added to NAME_RULES below (with the document it comes from).
 */
import { describe, test, expect } from '@jest/globals';
import { buildPipeline, NESTED_STACK_NAMES, synthesizeWith, synthPipeline, validatePipeline } from './pipeline-fixture';

interface NameRule {
  /** The AWS document and the rule as it states it. */
  readonly doc: string;
  readonly min: number;
  readonly max: number;
  /** The characters (and their arrangement) the service accepts. */
  readonly pattern: RegExp;
}

// Letters, digits and hyphens; a letter first; no '--'; no trailing '-' (the RDS and DMS identifier rule).
const RDS_DMS_IDENTIFIER = /^[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$/;
// AWS Glue API, "Single-line string pattern": any characters but line breaks.
const GLUE_SINGLE_LINE = /^[^\r\n]*$/;
const LOG_GROUP: NameRule = {
  doc: 'CloudWatch Logs CreateLogGroup API: logGroupName — 1–512 characters: a-z, A-Z, 0-9, _ - / . #',
  min: 1,
  max: 512,
  pattern: /^[.\-_/#A-Za-z0-9]+$/,
};
const LAMBDA_FUNCTION: NameRule = {
  doc: 'Lambda CreateFunction API: FunctionName — a function name of 1–64 letters, numbers, hyphens or underscores',
  min: 1,
  max: 64,
  pattern: /^[A-Za-z0-9_-]+$/,
};
const IAM_POLICY_NAME: NameRule = {
  doc: 'IAM PutRolePolicy API: PolicyName — 1–128 characters of [\\w+=,.@-]',
  min: 1,
  max: 128,
  pattern: /^[\w+=,.@-]+$/,
};
const GLUE_NAME = (what: string): NameRule => ({
  doc: `AWS Glue API, ${what}: Name — UTF-8 string of 1–255 bytes matching the Single-line string pattern`,
  min: 1,
  max: 255,
  pattern: GLUE_SINGLE_LINE,
});

/** The documented rule of each name property, keyed `<resource type> <property path>`. */
const NAME_RULES: Record<string, NameRule> = {
  'AWS::RDS::DBCluster DBClusterIdentifier': {
    doc: 'RDS CreateDBCluster API: DBClusterIdentifier — 1–63 letters, numbers or hyphens; first character a letter; no two consecutive hyphens; not ending with a hyphen',
    min: 1,
    max: 63,
    pattern: RDS_DMS_IDENTIFIER,
  },
  'AWS::RDS::DBCluster DatabaseName': {
    doc: 'RDS CreateDBCluster API: DatabaseName — up to 64 alphanumeric characters (Aurora MySQL: a letter first, then letters, digits or underscores)',
    min: 1,
    max: 64,
    pattern: /^[A-Za-z][A-Za-z0-9_]*$/,
  },
  'AWS::DMS::ReplicationInstance ReplicationInstanceIdentifier': {
    doc: 'DMS CreateReplicationInstance API: ReplicationInstanceIdentifier — 1–63 alphanumeric characters or hyphens; first character a letter; '
      + 'cannot end with a hyphen or contain two consecutive hyphens',
    min: 1,
    max: 63,
    pattern: RDS_DMS_IDENTIFIER,
  },
  'AWS::DMS::ReplicationSubnetGroup ReplicationSubnetGroupIdentifier': {
    doc: 'DMS CreateReplicationSubnetGroup API: ReplicationSubnetGroupIdentifier — no more than 255 letters, numbers, periods, underscores, spaces or hyphens; not "default"',
    min: 1,
    max: 255,
    pattern: /^(?!default$)[A-Za-z0-9._ -]+$/,
  },
  'AWS::DMS::Endpoint EndpointIdentifier': {
    doc: 'DMS CreateEndpoint API: EndpointIdentifier — begins with a letter; only ASCII letters, digits and hyphens; cannot end with a hyphen '
      + 'or contain two consecutive hyphens (no length given: held to the 255 of the other DMS identifiers)',
    min: 1,
    max: 255,
    pattern: RDS_DMS_IDENTIFIER,
  },
  'AWS::DMS::ReplicationTask ReplicationTaskIdentifier': {
    doc: 'DMS CreateReplicationTask API: ReplicationTaskIdentifier — 1–255 alphanumeric characters or hyphens; first character a letter; '
      + 'cannot end with a hyphen or contain two consecutive hyphens',
    min: 1,
    max: 255,
    pattern: RDS_DMS_IDENTIFIER,
  },
  'AWS::OpenSearchService::Domain DomainName': {
    doc: 'OpenSearch Service CreateDomain API: DomainName — 3–28 characters; a lower-case letter first, then lower-case letters, digits or hyphens',
    min: 3,
    max: 28,
    pattern: /^[a-z][a-z0-9-]+$/,
  },
  'AWS::Glue::Job Name': GLUE_NAME('Job structure'),
  'AWS::Glue::SecurityConfiguration Name': GLUE_NAME('SecurityConfiguration structure'),
  'AWS::Glue::Database DatabaseInput.Name': {
    doc: 'AWS Glue API, DatabaseInput: Name — 1–255 bytes, Single-line string pattern; Athena "Name databases, tables, and columns": '
      + 'only lower-case letters, numbers and underscores',
    min: 1,
    max: 255,
    pattern: /^[a-z0-9_]+$/,
  },
  'AWS::Lambda::Function FunctionName': LAMBDA_FUNCTION,
  'AWS::Logs::LogGroup LogGroupName': LOG_GROUP,
  'AWS::Logs::ResourcePolicy PolicyName': {
    doc: 'CloudWatch Logs PutResourcePolicy API: policyName — no pattern documented; held to the log-group characters, 1–255',
    min: 1,
    max: 255,
    pattern: /^[.\-_/#A-Za-z0-9]+$/,
  },
  'AWS::StepFunctions::StateMachine StateMachineName': {
    doc: 'Step Functions CreateStateMachine API: name — 1–80 characters; for CloudWatch logging only 0-9, A-Z, a-z, - and _',
    min: 1,
    max: 80,
    pattern: /^[A-Za-z0-9_-]+$/,
  },
  'AWS::SNS::Topic TopicName': {
    doc: 'SNS CreateTopic API: Name — up to 256 characters: upper- and lower-case ASCII letters, numbers, underscores and hyphens',
    min: 1,
    max: 256,
    pattern: /^[A-Za-z0-9_-]+$/,
  },
  'AWS::SNS::Topic DisplayName': {
    doc: 'SNS SetTopicAttributes API: DisplayName — up to 100 characters, including hyphens, underscores, spaces and tabs',
    min: 1,
    max: 100,
    pattern: /^[A-Za-z0-9_ \t-]+$/,
  },
  'AWS::SQS::Queue QueueName': {
    doc: 'SQS CreateQueue API: QueueName — up to 80 characters: alphanumeric characters, hyphens and underscores',
    min: 1,
    max: 80,
    pattern: /^[A-Za-z0-9_-]+$/,
  },
  'AWS::Events::Rule Name': {
    doc: 'EventBridge PutRule API: Name — 1–64 characters of [.\\-_A-Za-z0-9]',
    min: 1,
    max: 64,
    pattern: /^[.\-_A-Za-z0-9]+$/,
  },
  'AWS::KinesisFirehose::DeliveryStream DeliveryStreamName': {
    doc: 'Firehose CreateDeliveryStream API: DeliveryStreamName — 1–64 characters of [a-zA-Z0-9_.-]',
    min: 1,
    max: 64,
    pattern: /^[a-zA-Z0-9_.-]+$/,
  },
  'AWS::KinesisFirehose::DeliveryStream AmazonopensearchserviceDestinationConfiguration.IndexName': {
    doc: 'Firehose AmazonopensearchserviceDestinationConfiguration: IndexName — 1–80 characters; OpenSearch index names are lower case, '
      + 'without spaces, and do not start with _ or -',
    min: 1,
    max: 80,
    pattern: /^[a-z0-9][a-z0-9._-]*$/,
  },
  'AWS::SecretsManager::Secret Name': {
    doc: 'Secrets Manager CreateSecret API: Name — 1–512 characters: ASCII letters, numbers and /_+=.@-',
    min: 1,
    max: 512,
    pattern: /^[A-Za-z0-9/_+=.@-]+$/,
  },
  'AWS::CloudWatch::Dashboard DashboardName': {
    doc: 'CloudWatch PutDashboard API: DashboardName — up to 255 characters: alphanumerics, dash and underscore',
    min: 1,
    max: 255,
    pattern: /^[A-Za-z0-9_-]+$/,
  },
  'AWS::IAM::Policy PolicyName': IAM_POLICY_NAME,
  'AWS::IAM::Role Policies[].PolicyName': IAM_POLICY_NAME,
  'Custom::DataSyncAgentActivation AgentName': {
    doc: 'DataSync CreateAgent API: AgentName — up to 256 characters of ^[a-zA-Z0-9\\s+=._:@/-]+$',
    min: 1,
    max: 256,
    pattern: /^[a-zA-Z0-9\s+=._:@/-]+$/,
  },
  'Custom::DmsTaskStopGuard ReplicationTaskIdentifier': {
    doc: 'DMS CreateReplicationTask API: ReplicationTaskIdentifier (the guard names the task it stops) — same rule as the task',
    min: 1,
    max: 255,
    pattern: RDS_DMS_IDENTIFIER,
  },
  '* Tags[Name]': {
    doc: 'EC2 Tag and IAM Tag API references: Value — up to 256 characters; IAM allows letters, digits, spaces and _.:/=+-@',
    min: 0,
    max: 256,
    pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u,
  },
};

/** Name-like properties that are not names the library gives a resource (values chosen by AWS, enums, paths). */
const NOT_RESOURCE_NAMES: Record<string, string> = {
  'AWS::CloudWatch::Alarm MetricName': 'the metric name the service publishes',
  'AWS::CloudWatch::Alarm Dimensions[].Name': 'a dimension name the service publishes',
  'AWS::DMS::Endpoint EngineName': 'an engine enum value',
  'AWS::Glue::Job Command.Name': 'the job command enum (glueetl)',
  'AWS::EC2::Instance BlockDeviceMappings[].DeviceName': 'a block device path',
  'AWS::EC2::VPCEndpoint ServiceName': 'the AWS service endpoint name',
  'AWS::DynamoDB::Table AttributeDefinitions[].AttributeName': 'an item attribute of the table (the lease\'s key, `task`)',
  'AWS::DynamoDB::Table KeySchema[].AttributeName': 'an item attribute of the table (the lease\'s key, `task`)',
};

// Policy documents and event patterns hold condition keys and matched values, not resource names.
const SKIPPED_KEYS = new Set(['PolicyDocument', 'AssumeRolePolicyDocument', 'KeyPolicy', 'EventPattern', 'Parameters']);
const NAME_KEY = /(Name|Identifier)$/;
const REFERENCE = (value: any) => typeof value === 'object' && value !== null && ('Ref' in value || 'Fn::GetAtt' in value || 'Fn::ImportValue' in value);

interface FoundName {
  readonly where: string;
  readonly rule: string;
  readonly value: unknown;
}

/** Every name-like property of every resource of the templates, with the key of its rule. */
function collectNames(templates: Record<string, any>): FoundName[] {
  const found: FoundName[] = [];
  for (const [stackName, template] of Object.entries(templates)) {
    for (const [logicalId, resource] of Object.entries<any>(template.Resources ?? {})) {
      const visit = (node: any, path: string) => {
        if (Array.isArray(node)) {
          node.forEach((item) => visit(item, `${path}[]`));
          return;
        }
        if (typeof node !== 'object' || node === null) {
          return;
        }
        for (const [key, value] of Object.entries<any>(node)) {
          const keyPath = path ? `${path}.${key}` : key;
          if (SKIPPED_KEYS.has(key)) {
            continue;
          }
          if (key === 'Tags' && Array.isArray(value)) {
            value.filter((tag) => tag.Key === 'Name').forEach((tag) =>
              found.push({ where: `${stackName}/${logicalId} Tags[Name]`, rule: '* Tags[Name]', value: tag.Value }));
            continue;
          }
          if (NAME_KEY.test(key) && (typeof value === 'string' || (typeof value === 'object' && !Array.isArray(value) && value !== null))) {
            if (!REFERENCE(value)) {
              found.push({ where: `${stackName}/${logicalId} ${keyPath}`, rule: `${resource.Type} ${keyPath.replace(/\[\]/g, '[]')}`, value });
            }
            continue;
          }
          visit(value, keyPath);
        }
      };
      visit(resource.Properties ?? {}, '');
    }
  }
  return found;
}

/** Why `value` breaks `rule`, or undefined when it follows it. */
function breach(rule: NameRule, value: unknown): string | undefined {
  if (typeof value !== 'string') {
    return `is computed (${JSON.stringify(value)}) and cannot be checked: build it from literals`;
  }
  if (value.length < rule.min || value.length > rule.max) {
    return `'${value}' has ${value.length} characters; expected ${rule.min}–${rule.max}`;
  }
  return rule.pattern.test(value) ? undefined : `'${value}' does not match ${rule.pattern}`;
}

function templatesOf(suffix: string): Record<string, any> {
  const fixture = synthPipeline({ environmentSuffix: suffix });
  const templates: Record<string, any> = { root: fixture.root.toJSON() };
  for (const name of NESTED_STACK_NAMES) {
    templates[name] = fixture.nested(name).toJSON();
  }
  return templates;
}

describe.each([
  ['the shortest suffix', 'a'],
  ['the longest suffix, with inner hyphens', 'a1-b2-c3-d45'],
])('physical names with %s (%s)', (_label, suffix) => {
  const names = collectNames(templatesOf(suffix));

  test('every name property has a documented rule', () => {
    const unknown = names.filter((n) => !NAME_RULES[n.rule] && !NOT_RESOURCE_NAMES[n.rule]).map((n) => `${n.rule} (${n.where})`);
    expect(unknown).toEqual([]);
  });

  test('every name follows its service\'s documented rule', () => {
    const broken = names
      .filter((n) => NAME_RULES[n.rule])
      .map((n) => ({ n, why: breach(NAME_RULES[n.rule], n.value) }))
      .filter(({ why }) => why !== undefined)
      .map(({ n, why }) => `${n.where}: ${why} — ${NAME_RULES[n.rule].doc}`);
    expect(broken).toEqual([]);
  });

  test('the walk reaches every rule and the names carry the suffix', () => {
    // Guards against a walk that silently finds nothing: each rule is exercised, and the suffix is in the names.
    expect(new Set(names.map((n) => n.rule))).toEqual(new Set([...Object.keys(NAME_RULES), ...Object.keys(NOT_RESOURCE_NAMES)]));
    expect(names.filter((n) => typeof n.value === 'string' && n.value.includes(suffix)).length).toBeGreaterThanOrEqual(25);
  });
});

describe('the rule table itself can fail', () => {
  test.each([
    ['AWS::RDS::DBCluster DBClusterIdentifier', 'migration-aurora-a--b'],
    ['AWS::RDS::DBCluster DBClusterIdentifier', 'migration-aurora-'],
    ['AWS::RDS::DBCluster DBClusterIdentifier', '1migration'],
    ['AWS::DMS::ReplicationTask ReplicationTaskIdentifier', 'migration-task-a--b'],
    ['AWS::OpenSearchService::Domain DomainName', 'migration-audit-abcdefghijklm'],
    ['AWS::Glue::Database DatabaseInput.Name', 'migration-catalog'],
  ])('%s rejects %s', (rule, value) => {
    expect(breach(NAME_RULES[rule], value)).toBeDefined();
  });
});

describe('the environment suffix validator (names end in it, see above)', () => {
  test.each(['a--b', 'ab-', '-ab', 'UPPER', 'abcdefghijklm', 'a_b', ''])('fails when the suffix is %p', (suffix) => {
    expect(() => synthesizeWith({ environmentSuffix: suffix })).toThrow(
      new RegExp(`environmentSuffix \\(environment_suffix\\): received '${suffix}'; expected 1-12 lower-case letters, digits or single inner hyphens`));
  });

  test.each(['a', 'a1-b2-c3-d45', 'dev', 'prod', 'team-a'])('accepts %p', (suffix) => {
    const pipeline = buildPipeline({ environmentSuffix: suffix });
    // A rejected suffix is reported by the construct validations (and replaced by 'dev'), so they must run clean.
    expect(() => validatePipeline(pipeline)).not.toThrow();
    expect(pipeline.environmentSuffix).toBe(suffix);
  });
});
