import { describe, test, expect, beforeAll } from '@jest/globals';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { NESTED_STACK_NAMES, PipelineFixture, synthPipeline } from './pipeline-fixture';

// One synthesis for the whole file: every describe block reads the same templates.
let fx: PipelineFixture;
beforeAll(() => {
  fx = synthPipeline({ messaging: { notificationEmail: 'ops@example.com' } });
});

function resourcesOf(template: Template, type: string): Record<string, any> {
  return template.findResources(type);
}

function onlyResource(template: Template, type: string): any {
  const found = Object.values(resourcesOf(template, type));
  expect(found).toHaveLength(1);
  return found[0];
}

describe('MigrationPipeline', () => {
  test('places each concern in its own nested stack, named as in the spec', () => {
    expect(Object.keys(fx.pipeline.nestedStacks).sort()).toEqual([...NESTED_STACK_NAMES].sort());
    fx.root.resourceCountIs('AWS::CloudFormation::Stack', 11);
  });

  test('realises the explicit stack dependencies of the spec', () => {
    const stacks = fx.root.findResources('AWS::CloudFormation::Stack');
    const idOf = (name: string) => Object.keys(stacks).find((id) => id.includes(`${name}NestedStackResource`))!;
    const dependsOn = (name: string) => (stacks[idOf(name)].DependsOn ?? []) as string[];
    expect(dependsOn('StorageStack')).toContain(idOf('NetworkStack'));
    expect(dependsOn('DatabaseStack')).toContain(idOf('NetworkStack'));
    expect(dependsOn('GlueStack')).toContain(idOf('StorageStack'));
    expect(dependsOn('MessagingStack')).toContain(idOf('GlueStack'));
    expect(dependsOn('DMSStack')).toEqual(expect.arrayContaining([idOf('NetworkStack'), idOf('DatabaseStack')]));
  });

  test('keeps OpenSearch and Aurora independent, so they are created in parallel', () => {
    const stacks = fx.root.findResources('AWS::CloudFormation::Stack');
    const logging = Object.entries(stacks).find(([id]) => id.includes('LoggingStackNestedStackResource'))![1];
    const text = JSON.stringify(logging);
    expect(text).not.toMatch(/DatabaseStack|DMSStack/);
  });
});

describe('NetworkStack', () => {
  test('creates a VPC over 2 AZs with one NAT gateway and public, private-with-egress and isolated subnets', () => {
    const t = fx.nested('NetworkStack');
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    t.resourceCountIs('AWS::EC2::Subnet', 6);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    const subnetTypes = Object.values(resourcesOf(t, 'AWS::EC2::Subnet'))
      .map((s: any) => s.Properties.Tags.find((tag: any) => tag.Key === 'aws-cdk:subnet-type').Value).sort();
    expect(subnetTypes).toEqual(['Isolated', 'Isolated', 'Private', 'Private', 'Public', 'Public']);
  });

  test('creates the five security groups of the spec', () => {
    const descriptions = Object.values(resourcesOf(fx.nested('NetworkStack'), 'AWS::EC2::SecurityGroup'))
      .map((sg: any) => sg.Properties.GroupDescription as string);
    for (const workload of ['Aurora', 'DMS', 'OpenSearch', 'Pipeline functions', 'DataSync']) {
      expect(descriptions.filter((d) => d.startsWith(workload))).toHaveLength(1);
    }
  });

  test('logs flows and keeps S3 traffic on a gateway endpoint', () => {
    const t = fx.nested('NetworkStack');
    t.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
    const endpoint = onlyResource(t, 'AWS::EC2::VPCEndpoint');
    expect(endpoint.Properties.VpcEndpointType).toBe('Gateway');
    expect(endpoint.Properties.ServiceName).toEqual({ 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] });
  });

  test('opens Aurora 3306 only to DMS', () => {
    const ingress = Object.values(resourcesOf(fx.nested('NetworkStack'), 'AWS::EC2::SecurityGroupIngress')) as any[];
    const to3306 = ingress.filter((r) => r.Properties.FromPort === 3306);
    expect(to3306).toHaveLength(1);
    expect(JSON.stringify(to3306[0].Properties.SourceSecurityGroupId)).toContain('DmsSecurityGroup');
  });
});

describe('StorageStack', () => {
  test('data and script buckets are versioned, S3-encrypted, private, SSL-only and expire old versions after 90 days', () => {
    const t = fx.nested('StorageStack');
    const buckets = resourcesOf(t, 'AWS::S3::Bucket');
    const dataAndScript = Object.entries(buckets).filter(([id]) => /DataBucket|ScriptBucket/.test(id)).map(([, b]) => b);
    expect(dataAndScript).toHaveLength(2);
    for (const bucket of dataAndScript) {
      expect(bucket.Properties).toMatchObject({
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: { Rules: [expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' })] },
        LoggingConfiguration: expect.objectContaining({ DestinationBucketName: expect.anything() }),
      });
    }
  });

  test('the data bucket sends its events to EventBridge, not to Lambda', () => {
    // Through CDK's notifications resource (eventBridgeEnabled), which keeps EventBridge on beside user notifications.
    const t = fx.nested('StorageStack');
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: Match.stringLikeRegexp('^StorageDataBucket') },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    expect(JSON.stringify(t.toJSON())).not.toContain('LambdaConfigurations');
  });

  test('every bucket policy denies requests without TLS', () => {
    const policies = Object.values(resourcesOf(fx.nested('StorageStack'), 'AWS::S3::BucketPolicy')) as any[];
    expect(policies).toHaveLength(3);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
        Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }));
    }
  });
});

describe('DatabaseStack', () => {
  test('Aurora MySQL 3.09.0, encrypted, IAM auth, 7-day backups, the four log exports, in isolated subnets', () => {
    const t = fx.nested('DatabaseStack');
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-mysql',
      EngineVersion: '8.0.mysql_aurora.3.09.0',
      StorageEncrypted: true,
      EnableIAMDatabaseAuthentication: true,
      BackupRetentionPeriod: 7,
      EnableCloudwatchLogsExports: ['error', 'general', 'slowquery', 'audit'],
      DeletionProtection: false,
    });
    const subnetGroup = onlyResource(t, 'AWS::RDS::DBSubnetGroup');
    expect(JSON.stringify(subnetGroup.Properties.SubnetIds)).toMatch(/Isolated/);
  });

  test('a writer and a reader, r6g.large, not public, in different AZs', () => {
    const instances = Object.values(resourcesOf(fx.nested('DatabaseStack'), 'AWS::RDS::DBInstance')) as any[];
    expect(instances).toHaveLength(2);
    for (const instance of instances) {
      expect(instance.Properties).toMatchObject({ DBInstanceClass: 'db.r6g.large', PubliclyAccessible: false });
    }
    expect(JSON.stringify(instances[0].Properties.AvailabilityZone)).not.toEqual(JSON.stringify(instances[1].Properties.AvailabilityZone));
  });

  test('credentials are generated into Secrets Manager; no password in the template', () => {
    const t = fx.nested('DatabaseStack');
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }),
    });
    const cluster = onlyResource(t, 'AWS::RDS::DBCluster');
    expect(JSON.stringify(cluster.Properties.MasterUserPassword)).toContain('resolve:secretsmanager');
  });

  test('the parameter group turns on the logs that are exported', () => {
    fx.nested('DatabaseStack').hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Parameters: Match.objectLike({
        server_audit_logging: '1',
        server_audit_events: 'CONNECT,QUERY_DCL,QUERY_DDL',
        general_log: '1',
        slow_query_log: '1',
      }),
    });
  });
});

describe('GlueStack', () => {
  test('a Glue 4.0 Python 3 job with bookmarks, metrics, continuous logs, 60 minutes and 2 retries', () => {
    fx.nested('GlueStack').hasResourceProperties('AWS::Glue::Job', {
      Name: 'migration-validation-dev',
      GlueVersion: '4.0',
      Command: { Name: 'glueetl', PythonVersion: '3', ScriptLocation: Match.anyValue() },
      Timeout: 60,
      MaxRetries: 2,
      ExecutionProperty: { MaxConcurrentRuns: 10 },
      DefaultArguments: Match.objectLike({
        '--job-bookmark-option': 'job-bookmark-enable',
        '--enable-metrics': 'true',
        '--enable-continuous-cloudwatch-log': 'true',
      }),
    });
  });

  test('the job runs the script deployed to scripts/validate.py of the script bucket', () => {
    const t = fx.nested('GlueStack');
    const job = onlyResource(t, 'AWS::Glue::Job');
    expect(JSON.stringify(job.Properties.Command.ScriptLocation)).toContain('/scripts/validate.py');
    t.hasResourceProperties('Custom::CDKBucketDeployment', { DestinationBucketKeyPrefix: 'scripts/', Prune: false });
  });

  test('the job role has AWSGlueServiceRole and a catalog database exists', () => {
    const t = fx.nested('GlueStack');
    t.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSGlueServiceRole']] }],
    });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'migration_catalog_dev', Description: Match.anyValue() } });
  });
});

describe('MessagingStack', () => {
  test('topics are encrypted with a rotating customer key; the e-mail subscribes to both', () => {
    const t = fx.nested('MessagingStack');
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.resourceCountIs('AWS::SNS::Topic', 2);
    t.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'migration-validation-dev', KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'migration-alerts-dev', KmsMasterKeyId: Match.anyValue() });
    const emails = Object.values(resourcesOf(t, 'AWS::SNS::Subscription')).filter((s: any) => s.Properties.Protocol === 'email');
    expect(emails.map((s: any) => s.Properties.Endpoint)).toEqual(['ops@example.com', 'ops@example.com']);
  });

  test('the dead-letter queue is KMS-encrypted and keeps messages 14 days', () => {
    fx.nested('MessagingStack').hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'migration-dlq-dev',
      KmsMasterKeyId: Match.anyValue(),
      MessageRetentionPeriod: 1209600,
    });
  });

  test('the Glue job role may publish validation results', () => {
    fx.nested('MessagingStack').hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Effect: 'Allow' })]) },
      Roles: [Match.objectLike({ Ref: Match.stringLikeRegexp('GlueJobRole') })],
    });
  });
});

describe('DMSStack', () => {
  test('a dms.t3.medium instance in private subnets, explicitly not public', () => {
    const t = fx.nested('DMSStack');
    t.hasResourceProperties('AWS::DMS::ReplicationInstance', {
      ReplicationInstanceClass: 'dms.t3.medium',
      PubliclyAccessible: false,
      MultiAZ: false,
    });
    const subnetGroup = onlyResource(t, 'AWS::DMS::ReplicationSubnetGroup');
    expect(JSON.stringify(subnetGroup.Properties.SubnetIds)).toMatch(/Private/);
    expect(JSON.stringify(subnetGroup.Properties.SubnetIds)).not.toMatch(/Public|Isolated/);
  });

  test('source MySQL and target Aurora endpoints read their credentials from Secrets Manager', () => {
    const t = fx.nested('DMSStack');
    t.hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'source',
      EngineName: 'mysql',
      MySqlSettings: { SecretsManagerSecretId: Match.anyValue(), SecretsManagerAccessRoleArn: Match.anyValue() },
    });
    t.hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'target',
      EngineName: 'aurora',
      SslMode: 'require',
      MySqlSettings: { SecretsManagerSecretId: Match.anyValue(), SecretsManagerAccessRoleArn: Match.anyValue() },
    });
    for (const endpoint of Object.values(resourcesOf(t, 'AWS::DMS::Endpoint')) as any[]) {
      expect(endpoint.Properties.Password).toBeUndefined();
    }
  });

  test('the source secret carries the on-premises host and port, and a generated placeholder password', () => {
    const secret = onlyResource(fx.nested('DMSStack'), 'AWS::SecretsManager::Secret');
    expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate)).toEqual({
      username: 'migration_user', host: 'on-premise-db.example.com', port: 3306,
    });
    expect(secret.Properties.GenerateSecretString.GenerateStringKey).toBe('password');
  });

  test('a full-load-and-cdc task over every user schema, without the MySQL system schemas', () => {
    const task = onlyResource(fx.nested('DMSStack'), 'AWS::DMS::ReplicationTask');
    expect(task.Properties.MigrationType).toBe('full-load-and-cdc');
    const rules = JSON.parse(task.Properties.TableMappings).rules;
    expect(rules[0]).toMatchObject({ 'rule-action': 'include', 'object-locator': { 'schema-name': '%', 'table-name': '%' } });
    const excluded = rules.filter((r: any) => r['rule-action'] === 'exclude').map((r: any) => r['object-locator']['schema-name']);
    expect(excluded.sort()).toEqual(['information_schema', 'mysql', 'performance_schema', 'sys']);
    expect(JSON.parse(task.Properties.ReplicationTaskSettings).Logging.EnableLogging).toBe(true);
  });

  test('DMS reads secrets through a role trusted by its regional service principal', () => {
    fx.nested('DMSStack').hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'dms.us-west-2.amazonaws.com' } })] },
    });
  });
});

describe('LambdaStack', () => {
  test('three Python 3.12 functions in private subnets, with a 1-minute timeout', () => {
    const functions = Object.values(resourcesOf(fx.nested('LambdaStack'), 'AWS::Lambda::Function')) as any[];
    expect(functions.map((f) => f.Properties.FunctionName).sort()).toEqual([
      'migration-glue-trigger-dev', 'migration-remediation-dev', 'migration-sfn-trigger-dev',
    ]);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'python3.12',
        Handler: 'index.handler',
        Timeout: 60,
        TracingConfig: { Mode: 'Active' },
        DeadLetterConfig: { TargetArn: { Ref: expect.stringMatching(/MessagingDeadLetterQueue[0-9A-F]{8}Arn$/) } },
      });
      expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/Private/);
      expect(typeof fn.Properties.Code.ZipFile).toBe('string');
    }
  });

  test('the remediation function reads its topic from the environment', () => {
    fx.nested('LambdaStack').hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'migration-remediation-dev',
      Environment: { Variables: Match.objectLike({ ALERT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('MessagingAlertTopic[0-9A-F]{8}Ref$') } }) },
    });
  });

  test('the Step Functions trigger gets the state machine ARN from its environment', () => {
    fx.nested('LambdaStack').hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'migration-sfn-trigger-dev',
      Environment: { Variables: Match.objectLike({ STATE_MACHINE_ARN: { Ref: Match.stringLikeRegexp('OrchestrationStateMachine[0-9A-F]{8}Ref$') } }) },
    });
  });

  test('validation results fan out by outcome: PASSED to the trigger, FAILED to remediation', () => {
    const subs = Object.values(resourcesOf(fx.nested('LambdaStack'), 'AWS::SNS::Subscription')) as any[];
    const policies = subs.map((s) => s.Properties.FilterPolicy.outcome[0]).sort();
    expect(policies).toEqual(['FAILED', 'PASSED']);
  });

  test('asynchronous invocations retry twice, then go to the dead-letter queue', () => {
    const configs = Object.values(resourcesOf(fx.nested('LambdaStack'), 'AWS::Lambda::EventInvokeConfig')) as any[];
    expect(configs).toHaveLength(3);
    for (const config of configs) {
      expect(config.Properties.MaximumRetryAttempts).toBe(2);
    }
  });
});

describe('OrchestrationStack', () => {
  test('a 2-hour state machine with ALL-level logs and tracing', () => {
    // The migration state machine (the stack also holds the cutover's).
    const [sm] = Object.entries(resourcesOf(fx.nested('OrchestrationStack'), 'AWS::StepFunctions::StateMachine'))
      .filter(([id]) => id.startsWith('OrchestrationStateMachine')).map(([, resource]) => resource);
    expect(sm).toBeDefined();
    expect(sm.Properties).toMatchObject({
      StateMachineName: 'migration-orchestration-dev',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
    });
    const definition = JSON.stringify(sm.Properties.DefinitionString);
    expect(definition).toContain('\\"TimeoutSeconds\\":7200');
    expect(definition).toContain('\\"WaitForReplication\\":{\\"Type\\":\\"Wait\\",\\"Seconds\\":300');
  });

  test('uses the dms IAM prefix for the databasemigration SDK integration', () => {
    const policies = Object.values(fx.nested('OrchestrationStack').findResources('AWS::IAM::Policy')) as any[];
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat()));
    expect(actions).toEqual(expect.arrayContaining(['dms:DescribeReplicationTasks', 'dms:StartReplicationTask',
      'dms:StartReplicationTaskAssessmentRun', 'dms:DescribeTableStatistics']));
    expect(actions.join(' ')).not.toContain('databasemigration:');
  });
});

describe('DataSyncStack', () => {
  test('an m5.large agent in a public subnet, IMDSv2, encrypted volume, AMI from the public SSM parameter (read once)', () => {
    const t = fx.nested('DataSyncStack');
    const instance = onlyResource(t, 'AWS::EC2::Instance');
    expect(instance.Properties.InstanceType).toBe('m5.large');
    expect(JSON.stringify(instance.Properties.NetworkInterfaces ?? instance.Properties.SubnetId)).toMatch(/Public/);
    // The parameter is read by a lookup resource when the stack is created (test/deployment-safety.test.ts).
    expect(JSON.stringify(instance.Properties.ImageId)).toMatch(/"Ref":"DataSyncAgentImage/);
    expect(JSON.stringify(onlyResource(t, 'Custom::DataSyncAgentImage').Properties.Create)).toContain('/aws/service/datasync/ami');
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } } });
    expect(instance.Properties.BlockDeviceMappings[0].Ebs).toMatchObject({ Encrypted: true, VolumeType: 'gp3' });
  });

  test('activation: a Node.js 24 function whose timeout covers the retries, with the spec\'s waits', () => {
    const t = fx.nested('DataSyncStack');
    t.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Timeout: 900, VpcConfig: Match.anyValue() });
    t.hasResourceProperties('Custom::DataSyncAgentActivation', {
      InitialWaitSeconds: '90', RetryIntervalSeconds: '45', MaxAttempts: '10', AgentIp: Match.anyValue(),
    });
  });

  test('the agent admits port 80 only from the activation function', () => {
    const ingress = Object.values(resourcesOf(fx.nested('DataSyncStack'), 'AWS::EC2::SecurityGroupIngress')) as any[];
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties).toMatchObject({ FromPort: 80, ToPort: 80, IpProtocol: 'tcp' });
    expect(JSON.stringify(ingress[0].Properties.SourceSecurityGroupId)).toContain('ActivationSecurityGroup');
  });

  test('an S3 location under incoming/ with bucket- and object-level permissions', () => {
    const t = fx.nested('DataSyncStack');
    t.hasResourceProperties('AWS::DataSync::LocationS3', { Subdirectory: '/incoming/' });
    const statements = Object.values(resourcesOf(t, 'AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:ListBucket', 's3:GetBucketLocation', 's3:PutObject', 's3:GetObject']));
  });
});

describe('MonitoringStack', () => {
  test('four failure rules target the remediation function, each with a DLQ and retries', () => {
    const rules = Object.values(resourcesOf(fx.nested('MonitoringStack'), 'AWS::Events::Rule')) as any[];
    const failureRules = rules.filter((r) => r.Properties.Targets.some((t: any) => JSON.stringify(t.Arn).includes('Remediation')));
    expect(failureRules).toHaveLength(4);
    for (const rule of failureRules) {
      expect(rule.Properties.Targets[0]).toMatchObject({ DeadLetterConfig: { Arn: expect.anything() }, RetryPolicy: { MaximumRetryAttempts: 8 } });
    }
  });

  test('the DMS rule matches what DMS emits: detail-type and detail.eventType', () => {
    fx.nested('MonitoringStack').hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.dms'],
        'detail-type': ['DMS Replication Task State Change'],
        'resources': Match.anyValue(),
        'detail': { eventType: ['REPLICATION_TASK_FAILED', 'REPLICATION_TASK_STOPPED'] },
      },
    });
  });

  test('the Glue and Step Functions rules match the spec\'s failure states', () => {
    const t = fx.nested('MonitoringStack');
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['aws.glue'], 'detail-type': ['Glue Job State Change'], 'detail': { jobName: ['migration-validation-dev'], state: ['FAILED', 'TIMEOUT', 'ERROR', 'EXPIRED', 'STOPPED'] } },
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.states'], detail: Match.objectLike({ status: ['FAILED', 'TIMED_OUT', 'ABORTED'] }) }),
    });
  });

  test('the S3 rule watches only the pipeline\'s own buckets', () => {
    const rule = Object.values(resourcesOf(fx.nested('MonitoringStack'), 'AWS::Events::Rule'))
      .find((r: any) => r.Properties.EventPattern['detail-type']?.[0] === 'Object Deleted') as any;
    const watched = (rule.Properties.EventPattern.detail.bucket.name as any[]).map((name) => name.Ref);
    expect(watched).toHaveLength(2);
    expect(watched[0]).toMatch(/StorageDataBucket[0-9A-F]{8}Ref$/);
    expect(watched[1]).toMatch(/StorageScriptBucket[0-9A-F]{8}Ref$/);
  });
});

describe('LoggingStack', () => {
  test('OpenSearch 2.11, one t3.small.search node, 20 GB gp3, in one private subnet, HTTPS, encrypted, TLS 1.2', () => {
    fx.nested('LoggingStack').hasResourceProperties('AWS::OpenSearchService::Domain', {
      EngineVersion: 'OpenSearch_2.11',
      ClusterConfig: Match.objectLike({ InstanceCount: 1, InstanceType: 't3.small.search', ZoneAwarenessEnabled: false }),
      EBSOptions: { EBSEnabled: true, VolumeSize: 20, VolumeType: 'gp3' },
      DomainEndpointOptions: { EnforceHTTPS: true, TLSSecurityPolicy: 'Policy-Min-TLS-1-2-2019-07' },
      EncryptionAtRestOptions: { Enabled: true },
      NodeToNodeEncryptionOptions: { Enabled: true },
      VPCOptions: { SubnetIds: [Match.objectLike({ Ref: Match.stringLikeRegexp('Private') })], SecurityGroupIds: Match.anyValue() },
    });
  });

  test('slow search, slow index and application logs are published', () => {
    const domain = onlyResource(fx.nested('LoggingStack'), 'AWS::OpenSearchService::Domain');
    expect(Object.keys(domain.Properties.LogPublishingOptions).sort()).toEqual(['ES_APPLICATION_LOGS', 'INDEX_SLOW_LOGS', 'SEARCH_SLOW_LOGS']);
  });

  test('the access policy names principals, never *', () => {
    const domain = onlyResource(fx.nested('LoggingStack'), 'AWS::OpenSearchService::Domain');
    const statements = domain.Properties.AccessPolicies.Statement as any[];
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Principal).not.toEqual('*');
      expect(JSON.stringify(statement.Principal)).not.toContain('"*"');
      expect(JSON.stringify(statement.Principal.AWS)).toContain('DeliveryRole');
    }
  });
});

describe('S3 incoming rule (main stack)', () => {
  test('objects created under incoming/ of the data bucket go to the Glue trigger, with a DLQ', () => {
    const rule = onlyResource(fx.root, 'AWS::Events::Rule');
    expect(rule.Properties.EventPattern).toMatchObject({
      'source': ['aws.s3'],
      'detail-type': ['Object Created'],
      'detail': { bucket: { name: [expect.anything()] }, object: { key: [{ prefix: 'incoming/' }] } },
    });
    expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toContain('LambdaStack');
    expect(rule.Properties.Targets[0].DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [expect.stringMatching(/^PipelineIncomingRuleDeadLetterQueue[0-9A-F]{8}$/), 'Arn'] },
    });
  });
});

describe('no secret in any template', () => {
  test('no password literal anywhere', () => {
    const all = [fx.root, ...NESTED_STACK_NAMES.map((n) => fx.nested(n))].map((t) => JSON.stringify(t.toJSON())).join('\n');
    expect(all).not.toMatch(/"Password"\s*:\s*"[^"{]/);
    expect(all).not.toMatch(/"MasterUserPassword"\s*:\s*"/);
    expect(all).not.toMatch(/password123|changeme/i);
  });
});

describe('Observability (MonitoringStack)', () => {
  const alarmsOf = () => Object.values(resourcesOf(fx.nested('MonitoringStack'), 'AWS::CloudWatch::Alarm')) as any[];

  test('every alarm notifies the alert topic', () => {
    const alarms = alarmsOf();
    expect(alarms.length).toBeGreaterThanOrEqual(15);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('AlertTopic');
    }
  });

  test.each([
    ['AWS/Lambda', 'Errors', 4],
    ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 3],
    ['AWS/DMS', 'CDCLatencySource', 1],
    ['AWS/DMS', 'CDCLatencyTarget', 1],
    ['Glue', 'glue.driver.aggregate.numFailedTasks', 1],
    ['AWS/States', 'ExecutionsFailed', 1],
    ['AWS/States', 'ExecutionsTimedOut', 1],
    ['AWS/Firehose', 'DeliveryToAmazonOpenSearchService.Success', 1],
    ['AWS/ES', 'ClusterStatus.red', 1],
    ['AWS/ES', 'FreeStorageSpace', 1],
  ])('alarms on %s %s (%i)', (namespace, metricName, count) => {
    const matching = alarmsOf().filter((a) => a.Properties.Namespace === namespace && a.Properties.MetricName === metricName);
    expect(matching).toHaveLength(count);
  });

  test('DMS latency alarms are scoped to this task', () => {
    const latency = alarmsOf().find((a) => a.Properties.MetricName === 'CDCLatencyTarget');
    expect(latency.Properties.Dimensions).toEqual(expect.arrayContaining([
      // DMS names task metrics after the task's resource id, the last part of its ARN (see dms-metric-dimensions.test.ts).
      { Name: 'ReplicationTaskIdentifier', Value: { 'Fn::Select': [6, { 'Fn::Split': [':', expect.anything()] }] } },
      { Name: 'ReplicationInstanceIdentifier', Value: 'migration-instance-dev' },
    ]));
    expect(latency.Properties.Threshold).toBe(600);
  });

  test('a dashboard follows a file from arrival to replication', () => {
    const dashboard = onlyResource(fx.nested('MonitoringStack'), 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of ['1. Files arriving', '2. Validation', '3. Migrations', '4. Replication', '5. Audit delivery']) {
      expect(body).toContain(title);
    }
  });
});

describe('Audit trail (MonitoringStack -> LoggingStack)', () => {
  test('six audit rules feed the Firehose stream, each with a DLQ and retries', () => {
    const rules = Object.values(resourcesOf(fx.nested('MonitoringStack'), 'AWS::Events::Rule')) as any[];
    const audit = rules.filter((r) => r.Properties.Name.startsWith('migration-audit-'));
    expect(audit.map((r) => r.Properties.Name).sort()).toEqual([
      'migration-audit-datasync-dev', 'migration-audit-dms-dev', 'migration-audit-glue-dev',
      'migration-audit-pipeline-dev', 'migration-audit-s3-dev', 'migration-audit-stepfunctions-dev',
    ]);
    for (const rule of audit) {
      expect(rule.Properties.Targets[0]).toMatchObject({
        DeadLetterConfig: { Arn: expect.anything() },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
        RoleArn: expect.anything(),
      });
    }
  });

  test('the delivery stream writes daily indices in the VPC and backs up failed documents', () => {
    fx.nested('LoggingStack').hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'DirectPut',
      AmazonopensearchserviceDestinationConfiguration: Match.objectLike({
        IndexName: 'migration-audit',
        IndexRotationPeriod: 'OneDay',
        S3BackupMode: 'FailedDocumentsOnly',
        RetryOptions: { DurationInSeconds: 300 },
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 },
        VpcConfiguration: Match.objectLike({ SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() }),
      }),
    });
  });

  test('OpenSearch admits 443 only from the delivery stream', () => {
    const ingress = Object.values(resourcesOf(fx.nested('LoggingStack'), 'AWS::EC2::SecurityGroupIngress')) as any[];
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties).toMatchObject({ FromPort: 443, ToPort: 443 });
    expect(JSON.stringify(ingress[0].Properties.SourceSecurityGroupId)).toContain('DeliverySecurityGroup');
  });
});

describe('Account prerequisites (main stack)', () => {
  test('a custom resource creates the DMS roles and the OpenSearch service-linked role when missing', () => {
    fx.root.hasResourceProperties('Custom::MigrationAccountPrerequisites', {
      CreateDmsRoles: 'true', CreateOpenSearchServiceLinkedRole: 'true', PropagationWaitSeconds: '10',
    });
    const fn = Object.values(resourcesOf(fx.root, 'AWS::Lambda::Function'))
      .find((f: any) => f.Properties.FunctionName === 'migration-prerequisites-dev') as any;
    expect(fn.Properties.Code.ZipFile).toContain('dms-vpc-role');
  });

  test('the DMS and Logging stacks wait for it; nothing else does', () => {
    const stacks = fx.root.findResources('AWS::CloudFormation::Stack');
    const prerequisite = Object.keys(resourcesOf(fx.root, 'Custom::MigrationAccountPrerequisites'))[0];
    const waiting = Object.entries(stacks).filter(([, s]) => ((s as any).DependsOn ?? []).includes(prerequisite)).map(([id]) => id);
    expect(waiting.map((id) => id.replace(/^Pipeline|NestedStack.*$/g, '')).sort()).toEqual(['DMSStack', 'LoggingStack']);
  });

  test('its role may manage only the three fixed roles and the two DMS managed policies', () => {
    const policies = Object.values(resourcesOf(fx.root, 'AWS::IAM::Policy')) as any[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const attach = statements.find((s: any) => [s.Action].flat().includes('iam:AttachRolePolicy'));
    expect(JSON.stringify(attach.Resource)).toContain('role/dms-vpc-role');
    expect(JSON.stringify(attach.Condition.ArnEquals['iam:PolicyARN'])).toContain('AmazonDMSVPCManagementRole');
    const slr = statements.find((s: any) => [s.Action].flat().includes('iam:CreateServiceLinkedRole'));
    expect(slr.Condition).toEqual({ StringEquals: { 'iam:AWSServiceName': 'opensearchservice.amazonaws.com' } });
  });
});

describe('across every template', () => {
  const all = () => [fx.root, ...NESTED_STACK_NAMES.map((n) => fx.nested(n))];

  test('no security group admits traffic from the internet', () => {
    for (const template of all()) {
      const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')) as any[];
      const inline = groups.flatMap((g) => g.Properties.SecurityGroupIngress ?? []);
      const separate = (Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as any[]).map((r) => r.Properties);
      for (const rule of [...inline, ...separate]) {
        expect(rule.CidrIp).not.toBe('0.0.0.0/0');
        expect(rule.CidrIpv6).not.toBe('::/0');
      }
    }
  });

  test('every EventBridge target has a retry policy and a dead-letter queue', () => {
    const targets = all().flatMap((t) => (Object.values(t.findResources('AWS::Events::Rule')) as any[]).flatMap((r) => r.Properties.Targets));
    expect(targets.length).toBe(11);
    for (const target of targets) {
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 });
      expect(target.DeadLetterConfig.Arn).toBeDefined();
    }
  });

  test('every customer-managed key rotates and every log group has a retention', () => {
    for (const template of all()) {
      for (const key of Object.values(template.findResources('AWS::KMS::Key')) as any[]) {
        expect(key.Properties.EnableKeyRotation).toBe(true);
      }
      for (const group of Object.values(template.findResources('AWS::Logs::LogGroup')) as any[]) {
        expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
      }
    }
  });
});
