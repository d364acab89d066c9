/**
 * The API a CDK user expects of an L2-like construct: grant* methods with least-privilege statements, metric*
 * methods that share the monitoring's metrics, resources typed as interfaces, and the names and ARNs of the Glue
 * job, the DMS task and the DataSync location.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { describe, expect, test } from '@jest/globals';
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildPipeline } from './pipeline-fixture';
import { grantPutUnderPrefix, grantReadUnderPrefix } from '../src/private/prefix-grants';

const pipeline = buildPipeline({});
const stack = Stack.of(pipeline);
const uploader = new iam.Role(stack, 'Uploader', { assumedBy: new iam.AccountRootPrincipal() });
const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
const auditor = new iam.Role(stack, 'Auditor', { assumedBy: new iam.AccountRootPrincipal() });
pipeline.grantUpload(uploader);
pipeline.grantStartMigration(operator);
pipeline.grantReadReports(auditor);
const userAlarm = (id: string, metric: cloudwatch.IMetric) => new cloudwatch.Alarm(stack, id, { metric, threshold: 1, evaluationPeriods: 1 });
userAlarm('FilesValidatedAlarm', pipeline.metricFilesValidated());
userAlarm('FilesFailedAlarm', pipeline.metricFilesFailedValidation({ period: Duration.hours(1), statistic: 'Maximum' }));
userAlarm('MigrationsSucceededAlarm', pipeline.metricMigrationsSucceeded());
userAlarm('MigrationsFailedAlarm', pipeline.metricMigrationsFailed());
userAlarm('CdcSourceAlarm', pipeline.metricCdcLatencySource());
userAlarm('CdcTargetAlarm', pipeline.metricCdcLatencyTarget({ period: Duration.minutes(1) }));
for (const [id, value] of Object.entries({
  GlueJobName: pipeline.glueJobName, GlueJobArn: pipeline.glueJobArn, TaskArn: pipeline.replicationTaskArn, LocationArn: pipeline.dataSyncLocationArn ?? 'no DataSync location',
})) {
  new CfnOutput(stack, id, { value });
}
const root = Template.fromStack(stack).toJSON() as { Resources: Record<string, any>; Outputs: Record<string, any> };
type TemplateJson = { Resources: Record<string, any>; Outputs: Record<string, any> };
const nested = (name: string) => Template.fromStack(pipeline.nestedStacks[name]).toJSON() as TemplateJson;

/** The logical id of the nested stack resource of `name` in the root template. */
function nestedStackLogicalId(name: string): string {
  const id = Object.keys(root.Resources).find((key) => root.Resources[key].Type === 'AWS::CloudFormation::Stack' && key.startsWith(`Pipeline${name}`));
  expect(id).toBeDefined();
  return id!;
}

/** What a `{ Fn::GetAtt: [<nested stack>, Outputs.X] }` of the root template stands for inside the nested stack. */
function nestedOutputValue(name: string, value: any): any {
  const [resource, attribute] = value['Fn::GetAtt'];
  expect(resource).toEqual(nestedStackLogicalId(name));
  return nested(name).Outputs[attribute.replace(/^Outputs\./, '')].Value;
}

/** The one logical id of a resource of `type` in a nested stack whose id starts with `prefix`. */
function logicalIdIn(name: string, type: string, prefix: string): string {
  const ids = Object.keys(nested(name).Resources).filter((key) => nested(name).Resources[key].Type === type && key.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

function statementsOf(roleLogicalId: string): any[] {
  const policies = Object.values(root.Resources).filter((r) => r.Type === 'AWS::IAM::Policy'
    && r.Properties.Roles.some((ref: any) => ref.Ref === roleLogicalId));
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

const roleId = (role: iam.Role) => stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
const DATA_BUCKET_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineStorageStack'), Match.stringLikeRegexp('^Outputs\\..*DataBucket.*Arn$')] };
const objectsUnder = (prefix: string) => ({ 'Fn::Join': ['', [DATA_BUCKET_ARN, `/${prefix}*`]] });

describe('grant methods', () => {
  test('grantUpload allows writing under incoming/ only', () => {
    expect(statementsOf(roleId(uploader))).toEqual([
      { Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Effect: 'Allow', Resource: expect.anything() },
    ]);
    Template.fromJSON({ Resources: { P: { Type: 'X', Properties: statementsOf(roleId(uploader))[0] } } })
      .hasResourceProperties('X', { Resource: objectsUnder('incoming/') });
  });

  test('grantStartMigration allows states:StartExecution on the migration state machine only', () => {
    const [statement] = statementsOf(roleId(operator));
    expect(statementsOf(roleId(operator))).toHaveLength(1);
    expect(statement.Action).toEqual('states:StartExecution');
    expect(nestedOutputValue('OrchestrationStack', statement.Resource))
      .toEqual({ Ref: logicalIdIn('OrchestrationStack', 'AWS::StepFunctions::StateMachine', 'OrchestrationStateMachine') });
  });

  test('grantReadReports allows listing and reading under reports/ only', () => {
    const statements = statementsOf(roleId(auditor));
    expect(statements).toHaveLength(2);
    Template.fromJSON({ Resources: Object.fromEntries(statements.map((s, i) => [`S${i}`, { Type: 'X', Properties: s }])) }).templateMatches({
      Resources: {
        S0: { Properties: { Action: 's3:ListBucket', Effect: 'Allow', Resource: DATA_BUCKET_ARN, Condition: { StringLike: { 's3:prefix': ['reports/', 'reports/*'] } } } },
        S1: { Properties: { Action: ['s3:GetObject', 's3:GetObjectVersion'], Effect: 'Allow', Resource: objectsUnder('reports/') } },
      },
    });
  });

  test('with a KMS-encrypted bucket, upload and read also get exactly the key actions they need', () => {
    const kmsStack = new Stack(new App(), 'Kms');
    const key = new kms.Key(kmsStack, 'Key');
    const bucket = new s3.Bucket(kmsStack, 'Bucket', { encryptionKey: key });
    const writer = new iam.Role(kmsStack, 'Writer', { assumedBy: new iam.AccountRootPrincipal() });
    const reader = new iam.Role(kmsStack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    grantPutUnderPrefix(bucket, 'incoming/', writer);
    grantReadUnderPrefix(bucket, 'reports/', reader);
    const template = Template.fromStack(kmsStack);
    const keyArn = { 'Fn::GetAtt': [kmsStack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] };
    const bucketArn = { 'Fn::GetAtt': [kmsStack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket), 'Arn'] };
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: kmsStack.getLogicalId(writer.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: {
        Statement: [
          { Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Effect: 'Allow', Resource: { 'Fn::Join': ['', [bucketArn, '/incoming/*']] } },
          { Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Effect: 'Allow', Resource: keyArn },
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: kmsStack.getLogicalId(reader.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: {
        Statement: [
          { Action: 's3:ListBucket', Effect: 'Allow', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': ['reports/', 'reports/*'] } } },
          { Action: ['s3:GetObject', 's3:GetObjectVersion'], Effect: 'Allow', Resource: { 'Fn::Join': ['', [bucketArn, '/reports/*']] } },
          { Action: 'kms:Decrypt', Effect: 'Allow', Resource: keyArn },
        ],
      },
    });
  });

  test('a grantee that cannot hold a policy is refused with an error, not silently ignored', () => {
    const other = buildPipeline({});
    expect(() => other.grantUpload(new iam.AccountPrincipal('210987654321'))).toThrow(/could not be added on either identity or resource policy/);
  });
});

describe('metric methods', () => {
  const alarm = (id: string) =>
    root.Resources[stack.getLogicalId((stack.node.findChild(id) as cloudwatch.Alarm).node.defaultChild as cloudwatch.CfnAlarm)].Properties;

  test('files validated and failed: the validation job\'s FilesValidated metric by outcome', () => {
    expect(alarm('FilesValidatedAlarm')).toMatchObject({
      Namespace: 'MigrationPipeline',
      MetricName: 'FilesValidated',
      Statistic: 'Sum',
      Period: 300,
      Dimensions: [{ Name: 'Outcome', Value: 'PASSED' }, { Name: 'Pipeline', Value: 'migration-pipeline-dev' }],
    });
    // MetricOptions override the defaults.
    expect(alarm('FilesFailedAlarm')).toMatchObject({
      Namespace: 'MigrationPipeline',
      MetricName: 'FilesValidated',
      Statistic: 'Maximum',
      Period: 3600,
      Dimensions: [{ Name: 'Outcome', Value: 'FAILED' }, { Name: 'Pipeline', Value: 'migration-pipeline-dev' }],
    });
  });

  test('the validation job publishes under the namespace the metrics read, and may publish nowhere else', () => {
    const script = readFileSync(join(__dirname, '..', 'src', 'runtime', 'validate.py'), 'utf8');
    expect(script).toMatch(/^METRIC_NAMESPACE = "MigrationPipeline"$/m);
    expect(script).toMatch(/^METRIC_NAME = "FilesValidated"$/m);
    const glue = Template.fromStack(pipeline.nestedStacks.GlueStack);
    glue.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Action: 'cloudwatch:PutMetricData',
          Effect: 'Allow',
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'MigrationPipeline' } },
        }]),
      },
    });
  });

  test('migration outcomes: the state machine\'s executions succeeded and failed', () => {
    for (const [id, metricName] of [['MigrationsSucceededAlarm', 'ExecutionsSucceeded'], ['MigrationsFailedAlarm', 'ExecutionsFailed']]) {
      const properties = alarm(id);
      expect(properties).toMatchObject({ Namespace: 'AWS/States', MetricName: metricName, Statistic: 'Sum', Period: 300 });
      expect(properties.Dimensions).toHaveLength(1);
      expect(properties.Dimensions[0].Name).toEqual('StateMachineArn');
      expect(nestedOutputValue('OrchestrationStack', properties.Dimensions[0].Value))
        .toEqual({ Ref: logicalIdIn('OrchestrationStack', 'AWS::StepFunctions::StateMachine', 'OrchestrationStateMachine') });
    }
  });

  test('CDC latency: the task\'s resource id and the instance identifier, as DMS publishes them', () => {
    const taskRef = { Ref: logicalIdIn('DMSStack', 'AWS::DMS::ReplicationTask', 'DmsReplicationTask') };
    for (const [id, metricName, period] of [['CdcSourceAlarm', 'CDCLatencySource', 300], ['CdcTargetAlarm', 'CDCLatencyTarget', 60]] as const) {
      const properties = alarm(id);
      expect(properties).toMatchObject({ Namespace: 'AWS/DMS', MetricName: metricName, Statistic: 'Maximum', Period: period });
      const dimensions = Object.fromEntries(properties.Dimensions.map((d: any) => [d.Name, d.Value]));
      expect(Object.keys(dimensions).sort()).toEqual(['ReplicationInstanceIdentifier', 'ReplicationTaskIdentifier']);
      expect(dimensions.ReplicationInstanceIdentifier).toEqual('migration-instance-dev');
      const [index, split] = dimensions.ReplicationTaskIdentifier['Fn::Select'];
      expect(index).toEqual(6);
      expect(split['Fn::Split'][0]).toEqual(':');
      expect(nestedOutputValue('DMSStack', split['Fn::Split'][1])).toEqual(taskRef);
    }
  });

  test('the monitoring\'s own alarms and dashboard use the same metrics', () => {
    const monitoring = nested('MonitoringStack');
    const alarms = Object.values(monitoring.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const cdc = alarms.find((a) => a.MetricName === 'CDCLatencySource');
    const failed = alarms.find((a) => a.MetricName === 'ExecutionsFailed');
    const shape = (a: any) => ({
      Namespace: a.Namespace, MetricName: a.MetricName, Statistic: a.Statistic, Period: a.Period, Dimensions: a.Dimensions.map((d: any) => d.Name),
    });
    expect(shape(cdc)).toEqual(shape(alarm('CdcSourceAlarm')));
    expect(shape(failed)).toEqual(shape(alarm('MigrationsFailedAlarm')));
    const dashboard = JSON.stringify(Object.values(monitoring.Resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard').Properties.DashboardBody);
    expect(dashboard).toContain('[\\"MigrationPipeline\\",\\"FilesValidated\\",\\"Outcome\\",\\"PASSED\\",\\"Pipeline\\",\\"migration-pipeline-dev\\"');
    expect(dashboard).toContain('[\\"MigrationPipeline\\",\\"FilesValidated\\",\\"Outcome\\",\\"FAILED\\",\\"Pipeline\\",\\"migration-pipeline-dev\\"');
  });
});

describe('names and ARNs', () => {
  // Formats: the Glue job ARN as the Service Authorization Reference lists it for AWS Glue (resource type `job`:
  // arn:${Partition}:glue:${Region}:${Account}:job/${JobName}); the DMS task's Ref and the DataSync location's
  // LocationArn as the return values of AWS::DMS::ReplicationTask and AWS::DataSync::LocationS3 (CloudFormation
  // Template Reference: "Ref returns the replication task ARN"; "LocationArn: the ARN of the Amazon S3 location").
  test('the Glue job: its name, and arn:<partition>:glue:<region>:<account>:job/<name>', () => {
    expect(root.Outputs.GlueJobName.Value).toEqual('migration-validation-dev');
    expect(root.Outputs.GlueJobArn.Value).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':glue:us-west-2:', { Ref: 'AWS::AccountId' }, ':job/migration-validation-dev']],
    });
    Template.fromStack(pipeline.nestedStacks.GlueStack).hasResourceProperties('AWS::Glue::Job', { Name: 'migration-validation-dev' });
  });

  test('the DMS task: its ARN is its Ref', () => {
    expect(nestedOutputValue('DMSStack', root.Outputs.TaskArn.Value))
      .toEqual({ Ref: logicalIdIn('DMSStack', 'AWS::DMS::ReplicationTask', 'DmsReplicationTask') });
  });

  test('the DataSync location: its LocationArn attribute', () => {
    expect(nestedOutputValue('DataSyncStack', root.Outputs.LocationArn.Value))
      .toEqual({ 'Fn::GetAtt': [logicalIdIn('DataSyncStack', 'AWS::DataSync::LocationS3', 'DataSyncS3Location'), 'LocationArn'] });
  });
});

describe('public fields are typed as interfaces', () => {
  // The declared types, as jsii writes them into the API: a concrete class here would show up as aws-cdk-lib's class.
  const declarations = (file: string) => readFileSync(join(__dirname, '..', 'src', file), 'utf8');
  const CONCRETE = /public readonly \w+\??: (s3\.Bucket|sns\.Topic|sqs\.Queue|kms\.Key|lambda\.Function|sfn\.StateMachine|ec2\.SecurityGroup|ec2\.Instance|ec2\.Vpc|iam\.Role|rds\.DatabaseCluster|rds\.ParameterGroup|opensearch\.Domain|logs\.LogGroup|events\.Rule|cloudwatch\.Alarm)\b/g;
  test.each(['storage.ts', 'messaging.ts', 'orchestration.ts', 'functions.ts', 'datasync.ts', 'network.ts', 'database.ts', 'glue.ts',
    'dms.ts', 'logging.ts', 'monitoring.ts', 'account-prerequisites.ts', 'migration-pipeline.ts'])('%s', (file) => {
    expect([...declarations(file).matchAll(CONCRETE)].map((m) => m[0])).toEqual([]);
  });
});
