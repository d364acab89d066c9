import { describe, test, expect } from '@jest/globals';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { MigrationPipeline } from '../src';
import { defaultPipeline, PipelineFixture, synthPipeline, validateWith } from './pipeline-fixture';
import { allResources } from './template-resources';

/** Every template of a synthesized pipeline: the root's, then each nested stack's. */
function allTemplates(fixture: PipelineFixture): any[] {
  return [fixture.root.toJSON(), ...Object.values(fixture.pipeline.nestedStacks).map((stack) => Template.fromStack(stack).toJSON())];
}

function resourcesOfType(template: Template, type: string): any[] {
  return Object.values(template.findResources(type));
}

/** The replication instance's outbound rules (inline in its security group, which the network stack holds). */
function dmsEgress(fixture: PipelineFixture): any[] {
  return resourcesOfType(fixture.nested('NetworkStack'), 'AWS::EC2::SecurityGroup')
    .find((g) => g.Properties.GroupDescription.startsWith('DMS')).Properties.SecurityGroupEgress;
}

describe('secret rotation', () => {
  const fixture = synthPipeline({ database: { enableSecretRotation: true } });

  test('the network stack takes nothing from the database stack, so the two do not depend on each other', () => {
    const resources = fixture.root.toJSON().Resources as Record<string, any>;
    const [networkId] = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::CloudFormation::Stack' && id.includes('NetworkStack'))!;
    const [databaseId] = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::CloudFormation::Stack' && id.includes('DatabaseStack'))!;
    expect(JSON.stringify(resources[networkId])).not.toContain(databaseId);
    expect(JSON.stringify(resources[databaseId])).toContain(networkId);
  });

  test('the cluster admits the rotation function on 3306 through a rule in the database stack', () => {
    const database = fixture.nested('DatabaseStack');
    database.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 3306,
      ToPort: 3306,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('RotationSecurityGroup'), 'GroupId'] },
    });
    database.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
    const networkIngress = resourcesOfType(fixture.nested('NetworkStack'), 'AWS::EC2::SecurityGroupIngress');
    expect(networkIngress.map((rule) => rule.Properties.Description)).toEqual(['DMS replication to Aurora']);
  });
});

describe('a source secret of your own', () => {
  const stack = new Stack(new App(), 'SecretStack', { env: { region: 'us-west-2' } });
  const sourceSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Source', 'corp/mysql');

  test.each([
    ['sourceHostname', { sourceHostname: 'db.corp' }, /dms.sourceSecret \(source_secret\): received together with dms.sourceHostname; expected one or the other/],
    ['sourceDatabaseName', { sourceDatabaseName: 'sales' }, /dms.sourceSecret \(source_secret\): received together with dms.sourceDatabaseName;/],
    ['both', { sourceHostname: 'db.corp', sourceDatabaseName: 'sales' }, /received together with dms.sourceHostname and dms.sourceDatabaseName/],
  ])('fails when given together with %s', (_name, dms, message) => {
    expect(() => validateWith({ dms: { sourceSecret, ...dms } })).toThrow(message);
  });

  test('is used as it is, and the output says so instead of asking to fill it in', () => {
    const fixture = synthPipeline({ dms: { sourceSecret: secretsmanager.Secret.fromSecretNameV2(new Stack(), 'S', 'corp/mysql'), sourcePort: 3307 } });
    expect(resourcesOfType(fixture.nested('DMSStack'), 'AWS::SecretsManager::Secret')).toEqual([]);
    const outputs = fixture.pipeline.addOperatorOutputs();
    expect(outputs.SourceSecretArn.description).toBe('The on-premises MySQL secret given as dms.sourceSecret; DMS reads username, password, host and port from it');
    expect(synthPipeline().pipeline.addOperatorOutputs().SourceSecretArn.description).toMatch(/^Fill in the on-premises MySQL username and password/);
  });
});

describe('DataSync turned off', () => {
  const fixture = synthPipeline({ dataSync: { enabled: false } });
  const templates = allTemplates(fixture);

  test('no DataSync stack, agent, activation, location or agent security group exists', () => {
    expect(Object.keys(fixture.pipeline.nestedStacks)).not.toContain('DataSyncStack');
    expect(Object.keys(fixture.pipeline.nestedStacks)).toHaveLength(10);
    expect(fixture.pipeline.dataSync).toBeUndefined();
    expect(fixture.pipeline.network.dataSyncSecurityGroup).toBeUndefined();
    const types = allResources(fixture).map((r) => r.resource.Type);
    for (const type of ['AWS::EC2::Instance', 'AWS::DataSync::LocationS3', 'Custom::DataSyncAgentActivation', 'Custom::DataSyncAgentImage', 'AWS::EC2::LaunchTemplate']) {
      expect(types).not.toContain(type);
    }
    const securityGroups = resourcesOfType(fixture.nested('NetworkStack'), 'AWS::EC2::SecurityGroup').map((g) => g.Properties.GroupDescription);
    expect(securityGroups.filter((d: string) => d.startsWith('DataSync'))).toEqual([]);
    expect(JSON.stringify(templates)).not.toMatch(/<unresolved>|DataSyncStack/);
  });

  test('monitoring, outputs and the rest still work: no activation alarm, no DataSync outputs', () => {
    expect(Object.keys(fixture.pipeline.monitoring.alarms)).not.toContain('DataSyncActivationErrors');
    expect(Object.keys(fixture.pipeline.monitoring.alarms)).toContain('RemediationErrors');
    const outputs = Object.keys(fixture.pipeline.addOperatorOutputs());
    expect(outputs.filter((o) => o.startsWith('DataSync'))).toEqual([]);
    expect(outputs).toContain('SourceSecretArn');
  });

  test('is on by default (the specification)', () => {
    const defaults = defaultPipeline();
    expect(Object.keys(defaults.pipeline.nestedStacks)).toContain('DataSyncStack');
    expect(Object.keys(defaults.pipeline.monitoring.alarms)).toContain('DataSyncActivationErrors');
  });
});

describe('on-premises network', () => {
  const scoped = synthPipeline({ onPremisesNetwork: { cidrs: ['192.168.0.0/16', '172.20.0.0/24'], fileSharePorts: [2049] }, dms: { sourcePort: 3307 } });

  test('DMS reaches the source port in the on-premises ranges only', () => {
    const toSource = dmsEgress(scoped).filter((rule: any) => rule.FromPort === 3307);
    expect(toSource.map((rule: any) => rule.CidrIp).sort()).toEqual(['172.20.0.0/24', '192.168.0.0/16']);
  });

  test('the agent reaches HTTPS and the file-share ports of the ranges, not everything', () => {
    const agentGroup = resourcesOfType(scoped.nested('NetworkStack'), 'AWS::EC2::SecurityGroup')
      .find((g) => g.Properties.GroupDescription.startsWith('DataSync agent'));
    const rules = agentGroup.Properties.SecurityGroupEgress.map((r: any) => `${r.IpProtocol} ${r.CidrIp} ${r.FromPort}`).sort();
    expect(rules).toEqual(['tcp 0.0.0.0/0 443', 'tcp 172.20.0.0/24 2049', 'tcp 192.168.0.0/16 2049']);
  });

  test('without it, the defaults stay deployable anywhere: DMS to any address on the source port, the agent all outbound', () => {
    const defaults = defaultPipeline();
    expect(dmsEgress(defaults).filter((rule: any) => rule.FromPort === 3306).map((rule: any) => rule.CidrIp)).toEqual(['0.0.0.0/0']);
    defaults.nested('NetworkStack').hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^DataSync agent'),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
    });
  });

  test.each([
    ['a range overlapping the default VPC range', {}, ['10.0.128.0/17'], /onPremisesNetwork.cidrs: received '10.0.128.0\/17', which overlaps the VPC range '10.0.0.0\/16'/],
    ['a range containing the VPC range', { cidr: '172.16.0.0/16' }, ['172.16.0.0/12'], /received '172.16.0.0\/12', which overlaps the VPC range '172.16.0.0\/16'/],
    ['a malformed range', {}, ['192.168.0/16'], /onPremisesNetwork.cidrs: received '192.168.0\/16'; expected an IPv4 CIDR block/],
    ['no range', {}, [], /onPremisesNetwork.cidrs: received an empty list/],
  ])('fails when given %s', (_name, network, cidrs, message) => {
    expect(() => validateWith({ network, onPremisesNetwork: { cidrs } })).toThrow(message);
  });

  test('fails when a file-share port is out of range', () => {
    expect(() => validateWith({ onPremisesNetwork: { cidrs: ['192.168.0.0/16'], fileSharePorts: [0] } }))
      .toThrow(/onPremisesNetwork.fileSharePorts \(file_share_ports\): received 0; expected a whole number from 1 to 65535/);
  });

  test('fails when a range overlaps the range of your own VPC (when it is known at synth)', () => {
    const vpc = ec2.Vpc.fromVpcAttributes(new Stack(new App(), 'Lookup', { env: { region: 'us-west-2' } }), 'Existing', {
      vpcId: 'vpc-0123456789abcdef0',
      vpcCidrBlock: '10.20.0.0/16',
      availabilityZones: ['us-west-2a', 'us-west-2b'],
      publicSubnetIds: ['subnet-0a', 'subnet-0b'],
      privateSubnetIds: ['subnet-1a', 'subnet-1b'],
      isolatedSubnetIds: ['subnet-2a', 'subnet-2b'],
    });
    expect(() => validateWith({ network: { vpc }, onPremisesNetwork: { cidrs: ['10.20.5.0/24'] } }))
      .toThrow(/onPremisesNetwork.cidrs: received '10.20.5.0\/24', which overlaps the VPC range '10.20.0.0\/16'/);
    expect(() => validateWith({ network: { vpc }, onPremisesNetwork: { cidrs: ['10.0.0.0/16'] } })).not.toThrow();
  });

  test('a range next to the VPC range is accepted', () => {
    expect(() => validateWith({ onPremisesNetwork: { cidrs: ['10.1.0.0/16', '9.255.255.0/24'] } })).not.toThrow();
  });
});

describe('one log retention setting', () => {
  const fixture = synthPipeline({ logRetention: logs.RetentionDays.TEN_YEARS, functions: { logRetention: logs.RetentionDays.ONE_MONTH } });
  const logGroups = allResources(fixture).filter((r) => r.resource.Type === 'AWS::Logs::LogGroup');

  test('reaches every log group, the deployment-time functions\' included', () => {
    const byName = (fragment: string) => logGroups.filter((g) => JSON.stringify(g.resource.Properties.LogGroupName ?? g.id).includes(fragment));
    for (const fragment of ['migration-prerequisites', 'migration-dms-task-guard', 'migration-datasync-activation', 'AgentImageLogs', 'DeliveryLogs', 'FlowLogs']) {
      const groups = byName(fragment);
      expect([fragment, groups.length > 0]).toEqual([fragment, true]);
      expect([fragment, groups.map((g) => g.resource.Properties.RetentionInDays)]).toEqual([fragment, groups.map(() => 3653)]);
    }
  });

  test('a concern\'s own setting wins for its log groups; every other group has the pipeline\'s', () => {
    const lambdaStackGroups = logGroups.filter((g) => g.stack.endsWith('LambdaStack'));
    expect(lambdaStackGroups.length).toBe(3);
    expect(lambdaStackGroups.map((g) => g.resource.Properties.RetentionInDays)).toEqual([30, 30, 30]);
    const others = logGroups.filter((g) => !g.stack.endsWith('LambdaStack'));
    expect(others.length).toBeGreaterThanOrEqual(15);
    expect(others.filter((g) => g.resource.Properties.RetentionInDays !== 3653).map((g) => g.id)).toEqual([]);
  });
});

describe('notifications and alarm thresholds', () => {
  test('alarms and outcomes go to their own addresses; the shared address is the default of both', () => {
    const separate = synthPipeline({ messaging: { notificationEmail: 'all@example.com', alarmEmail: 'oncall@example.com', outcomeEmail: 'data@example.com' } });
    const subscriptions = resourcesOfType(separate.nested('MessagingStack'), 'AWS::SNS::Subscription')
      .map((s) => `${JSON.stringify(s.Properties.TopicArn.Ref).replace(/[^A-Za-z]/g, '').replace(/[A-F0-9]{8}$/, '')} ${s.Properties.Endpoint}`).sort();
    expect(subscriptions).toEqual([
      expect.stringMatching(/AlertTopic.* oncall@example\.com$/),
      expect.stringMatching(/ValidationTopic.* data@example\.com$/),
    ]);
    const shared = synthPipeline({ messaging: { notificationEmail: 'all@example.com', alarmEmail: 'oncall@example.com' } });
    const endpoints = resourcesOfType(shared.nested('MessagingStack'), 'AWS::SNS::Subscription').map((s) => s.Properties.Endpoint).sort();
    expect(endpoints).toEqual(['all@example.com', 'oncall@example.com']);
  });

  test('fails when an address is malformed', () => {
    expect(() => validateWith({ messaging: { alarmEmail: 'oncall' } })).toThrow(/messaging.alarmEmail \(alarm_email\): received 'oncall'; expected an e-mail address/);
    expect(() => validateWith({ messaging: { outcomeEmail: 'data at example.com' } })).toThrow(/messaging.outcomeEmail \(outcome_email\): received 'data at example.com'/);
  });

  test('today\'s thresholds are the defaults: CDC latency 600 s over 3 periods, one error, a quarter of the audit volume', () => {
    const alarms = defaultPipeline().nested('MonitoringStack');
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CDCLatencySource', Threshold: 600, EvaluationPeriods: 3 });
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Threshold: 1 });
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FreeStorageSpace', Threshold: 5120 });
  });

  test('are props', () => {
    const alarms = synthPipeline({
      alarms: {
        cdcLatency: Duration.minutes(2),
        cdcLatencyEvaluationPeriods: 6,
        functionErrors: 5,
        deadLetterMessages: 10,
        failedMigrations: 2,
        glueFailedTasks: 3,
        openSearchFreeStoragePercent: 10,
      },
    }).nested('MonitoringStack');
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CDCLatencyTarget', Threshold: 120, EvaluationPeriods: 6 });
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Threshold: 5 });
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 10 });
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsFailed', Threshold: 2 });
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'glue.driver.aggregate.numFailedTasks', Threshold: 3 });
    alarms.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FreeStorageSpace', Threshold: 2048 });
  });

  test.each([
    ['a zero error threshold', { functionErrors: 0 }, /alarms.functionErrors \(function_errors\): received 0; expected a whole number from 1/],
    ['a free-storage share of 100 %', { openSearchFreeStoragePercent: 100 }, /alarms.openSearchFreeStoragePercent \(open_search_free_storage_percent\): received 100; expected a whole number from 1 to 99/],
    ['a CDC latency of 2 days', { cdcLatency: Duration.days(2) }, /alarms.cdcLatency \(cdc_latency\): received 2 days; expected from 10 seconds to 1 day/],
  ])('fails when given %s', (_name, alarms, message) => {
    expect(() => validateWith({ alarms })).toThrow(message);
  });
});

describe('removal policy with a snapshot choice', () => {
  test('SNAPSHOT takes a final Aurora snapshot and deletes the rest, without deletion protection', () => {
    const fixture = synthPipeline({ removalPolicy: RemovalPolicy.SNAPSHOT });
    expect(fixture.pipeline.retainData).toBe(false);
    const database = fixture.nested('DatabaseStack');
    database.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot', Properties: Match.objectLike({ DeletionProtection: false }) });
    database.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
    fixture.nested('StorageStack').hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  });

  test('RETAIN is retainData: true, DESTROY is retainData: false', () => {
    const retained = synthPipeline({ removalPolicy: RemovalPolicy.RETAIN });
    expect(retained.pipeline.retainData).toBe(true);
    retained.nested('DatabaseStack').hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ DeletionProtection: true }) });
    const destroyed = synthPipeline({ environmentSuffix: 'prod', removalPolicy: RemovalPolicy.DESTROY });
    expect(destroyed.pipeline.retainData).toBe(false);
    destroyed.nested('DatabaseStack').hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete' });
  });

  test.each([
    [RemovalPolicy.SNAPSHOT, true, /retainData \(retain_data\): received true with removalPolicy 'snapshot'; expected only one of them, or retainData false/],
    [RemovalPolicy.RETAIN, false, /retainData \(retain_data\): received false with removalPolicy 'retain'; expected only one of them, or retainData true/],
  ])('fails when removalPolicy %s contradicts retainData %s', (removalPolicy, retainData, message) => {
    expect(() => validateWith({ removalPolicy, retainData })).toThrow(message);
  });

  test('fails for a policy other than RETAIN, SNAPSHOT or DESTROY', () => {
    expect(() => validateWith({ removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE }))
      .toThrow(/removalPolicy \(removal_policy\): received 'retain-on-update-or-delete'; expected RemovalPolicy.RETAIN, RemovalPolicy.SNAPSHOT or RemovalPolicy.DESTROY/);
  });
});

describe('addOperatorOutputs', () => {
  const twoPipelines = () => {
    const stack = new Stack(new App(), 'Twice', { env: { region: 'us-west-2' } });
    const first = new MigrationPipeline(stack, 'First', { environmentSuffix: 'one', dataSync: { enabled: false } });
    const second = new MigrationPipeline(stack, 'Staging', { environmentSuffix: 'two', dataSync: { enabled: false } });
    return { stack, first, second };
  };

  test('two pipelines in one stack: the first keeps the plain names, the second\'s are prefixed with its id', () => {
    const { stack, first, second } = twoPipelines();
    first.addOperatorOutputs();
    second.addOperatorOutputs();
    const outputs = Template.fromStack(stack).toJSON().Outputs;
    expect(outputs.VpcId).toBeDefined();
    expect(outputs.SourceSecretArn).toBeDefined();
    expect(outputs.StagingVpcId).toBeDefined();
    expect(outputs.StagingSourceSecretArn).toBeDefined();
    expect(outputs.StagingReplicationTaskArn.Value).not.toEqual(outputs.ReplicationTaskArn.Value);
  });

  test('fails with a message of ours when called twice for one pipeline, and works with a scope per call', () => {
    const { stack, first, second } = twoPipelines();
    first.addOperatorOutputs();
    second.addOperatorOutputs();
    expect(() => second.addOperatorOutputs()).toThrow(/^addOperatorOutputs: Twice already has StagingVpcId, StagingDataBucketName, .*; expected a scope without these ids/);
    const scope = new Construct(stack, 'SecondOutputs');
    expect(Object.keys(second.addOperatorOutputs(scope))).toContain('VpcId');
    expect(() => first.addOperatorOutputs(scope)).toThrow(/SecondOutputs already has VpcId/);
  });
});
