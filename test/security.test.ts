import { describe, test, expect } from '@jest/globals';
import { App, PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { TapStack } from '../integ/tap-stack';
import { MigrationPipeline } from '../src';

/** Every finding of a pack as `rule  construct-path`, so a failure shows exactly what is new. */
function findings(report: PolicyValidationPluginReport): string[] {
  return report.violations.flatMap((violation) => violation.violatingResources.map((resource) =>
    `${violation.ruleName}  ${(resource as { constructPath?: string }).constructPath ?? resource.resourceLogicalId}`));
}

/** Every acknowledgement as `rule  construct-path` with its reason (the last metadata entry of a construct holds them all). */
function acknowledgements(app: App): Array<[string, string]> {
  return app.node.findAll().flatMap((construct) => {
    const entries = construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
    const latest = (entries.pop()?.data ?? {}) as Record<string, string>;
    return Object.entries(latest).map(([rule, reason]): [string, string] => [`${rule}  ${construct.node.path}`, reason]);
  });
}


describe('cdk-nag on the example app', () => {
  const app = new App();
  new TapStack(app, 'TapStack');
  // Synthesis first: construct validations (which compute the wildcard acknowledgements) run during it.
  app.synth();

  test.each([
    ['AwsSolutions', new AwsSolutionsChecks()],
    ['NIST 800-53 rev 5', new NIST80053R5Checks()],
  ])('%s: no unacknowledged finding', (_name, pack) => {
    expect(findings(pack.validateScope(app))).toEqual([]);
  });

  test('every acknowledgement carries a reason', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const [, reason] of acks) {
      expect(reason.length).toBeGreaterThan(30);
    }
  });

  test('the acknowledgements stay the reviewed ones', () => {
    // A new acknowledgement is a security decision: this list changes only with the README's Security section.
    const pairs = acknowledgements(app).map(([entry]) => entry).sort().map((entry) => entry.split('  '));
    expect(pairs).toHaveLength(174);
    expect(pairs).toEqual(REVIEWED_ACKNOWLEDGEMENTS);
  });
});

describe('cdk-nag in an app whose stack names its account and region', () => {
  // CDK then writes the account and region into ARNs instead of <AWS::AccountId> and <AWS::Region>, and the wildcard
  // findings read `arn:<AWS::Partition>:logs:us-west-2:123456789012:log-group:/aws-glue/*`.
  const app = new App();
  const stack = new Stack(app, 'Team', { env: { account: '123456789012', region: 'us-west-2' } });
  new MigrationPipeline(stack, 'Pipeline', { environmentSuffix: 'prod', network: { availabilityZones: ['us-west-2a', 'us-west-2b'] } });
  app.synth();

  test.each([
    ['AwsSolutions', new AwsSolutionsChecks()],
    ['NIST 800-53 rev 5', new NIST80053R5Checks()],
  ])('%s: no unacknowledged finding', (_name, pack) => {
    expect(findings(pack.validateScope(app))).toEqual([]);
  });
});

// Reviewed in the README's Security section, as (rule, construct path), sorted; a new acknowledgement is a security
// decision and changes both.
const REVIEWED_ACKNOWLEDGEMENTS: Array<[string, string]> = [
  ['AwsSolutions-EC29', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/AgentInstance'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSGlueServiceRole]', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/AccountPrerequisites/Function'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/DataSyncStack/AWS679f53fac002430cb0da5b7982bd2287'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/ActivationFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/LambdaStack/Functions/GlueTriggerFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/LambdaStack/Functions/StepFunctionTriggerFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/LoggingStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/LoggingStack/Logging/TransformFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/SettleFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/StorageStack/BucketNotificationsHandler050a0587b7544547bf325f094a3db834'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'TapStack/MigrationPipeline/StorageStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/ActivationFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', 'TapStack/MigrationPipeline/LambdaStack/Functions/GlueTriggerFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', 'TapStack/MigrationPipeline/LambdaStack/Functions/StepFunctionTriggerFunction'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function'],
  ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster'],
  ['AwsSolutions-IAM5[Action::s3:Abort*]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Action::s3:DeleteObject*]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Action::s3:GetBucket*]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Action::s3:GetObject*]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Action::s3:List*]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/AccountPrerequisites/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/ActivationFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/LambdaStack/Functions/GlueTriggerFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/LambdaStack/Functions/StepFunctionTriggerFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/LoggingStack/Logging/DeliveryRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/SettleFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<CutoverChecksFunctionCCB3ADD4.Arn>:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<CutoverSettleFunction95DDE23F.Arn>:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<LoggingBackupBucketAD01764D.Arn>/*]', 'TapStack/MigrationPipeline/LoggingStack/Logging/DeliveryRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<LoggingDomainABCD8B88.Arn>/*]', 'TapStack/MigrationPipeline/LoggingStack/Logging/DeliveryRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<OrchestrationTableReviewFunctionE6C34D81.Arn>:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<OrchestrationTableReviewFunctionE6C34D81.Arn>:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/incoming/*]', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/BucketAccessRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/incoming/*]', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/incoming/*]', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/quarantine/*]', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/reports/*]', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/reports/cutovers/*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/reports/cutovers/*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/reports/migrations/*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/reports/migrations/*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/reports/migrations/*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageDataBucket5F45ECABArn>/reports/premigration-assessments/*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/PremigrationAssessment/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageScriptBucketD6551600Arn>/*]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageScriptBucketD6551600Arn>/scripts/*]', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::<referencetoTapStackMigrationPipelineStorageStackNestedStackStorageStackNestedStackResourceFA4497AFOutputsTapStackMigrationPipelineStorageStackStorageScriptBucketD6551600Arn>/temp/*]', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:datasync:us-west-2:<AWS::AccountId>:agent/*]', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/ActivationFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:us-west-2:<AWS::AccountId>:assessment-run:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:us-west-2:<AWS::AccountId>:task:*]', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/opensearchservice.amazonaws.com/*]', 'TapStack/MigrationPipeline/AccountPrerequisites/Function/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:us-west-2:<AWS::AccountId>:log-group:/aws-glue/*]', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-us-west-2/*]', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:us-west-2:<AWS::AccountId>:execution:migration-cutover-dev:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:us-west-2:<AWS::AccountId>:execution:migration-orchestration-dev:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:us-west-2:<AWS::AccountId>:execution:migration-orchestration-dev:*]', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/StateMachine/Role/DefaultPolicy/Resource'],
  ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:us-west-2:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"referencetoTapStackMigrationPipelineOrchestrationStackNestedStackOrchestrationStackNestedStackResource4C41BF3DOutputsTapStackMigrationPipelineOrchestrationStackOrchestrationStateMachineD7B0AB1ARef"}]}]}:*]', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction/ServiceRole/DefaultPolicy/Resource'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/AccountPrerequisites/Function'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/DataSyncStack/AWS679f53fac002430cb0da5b7982bd2287'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/LambdaStack/Functions/GlueTriggerFunction'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/LambdaStack/Functions/StepFunctionTriggerFunction'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/LoggingStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/LoggingStack/Logging/TransformFunction'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/SettleFunction'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function'],
  ['AwsSolutions-L1', 'TapStack/MigrationPipeline/StorageStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['AwsSolutions-OS3', 'TapStack/MigrationPipeline/LoggingStack/Logging/Domain'],
  ['AwsSolutions-OS4', 'TapStack/MigrationPipeline/LoggingStack/Logging/Domain'],
  ['AwsSolutions-OS7', 'TapStack/MigrationPipeline/LoggingStack/Logging/Domain'],
  ['AwsSolutions-RDS10', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster'],
  ['AwsSolutions-RDS11', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster'],
  ['AwsSolutions-RDS14', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster'],
  ['AwsSolutions-S1', 'TapStack/MigrationPipeline/LoggingStack/Logging/BackupBucket'],
  ['AwsSolutions-SMG4', 'TapStack/MigrationPipeline/DMSStack/Dms/SourceSecret'],
  ['AwsSolutions-SMG4', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster/Secret'],
  ['AwsSolutions-SQS3', 'TapStack/MigrationPipeline/IncomingRuleDeadLetterQueue'],
  ['AwsSolutions-SQS3', 'TapStack/MigrationPipeline/MessagingStack/Messaging/DeadLetterQueue'],
  ['AwsSolutions-SQS3', 'TapStack/MigrationPipeline/MonitoringStack/EventTargetDeadLetterQueue'],
  ['NIST.800.53.R5-DynamoDBInBackupPlan', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskLease'],
  ['NIST.800.53.R5-EC2InstanceNoPublicIp', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/AgentInstance'],
  ['NIST.800.53.R5-EC2InstancesInVPC', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/AgentInstance'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/AccountPrerequisites/Function'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/DMSStack/Dms/SecretsAccessRole'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/ActivationFunction'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/AgentImage'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/BucketAccessRole'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/GlueStack/Glue/JobRole'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/LambdaStack/Functions/GlueTriggerFunction'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/LambdaStack/Functions/StepFunctionTriggerFunction'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/LoggingStack/Logging/AuditDeliveryStream'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/LoggingStack/Logging/DeliveryRole'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/MessagingStack/Messaging/ValidationPublisherPolicy'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/NetworkStack/Network/Vpc/FlowLog'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/SettleFunction'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/StateMachine'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/PremigrationAssessment/ServiceRole'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/StateMachine'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/StorageStack/Storage/AccessLogsBucket/Notifications'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/StorageStack/Storage/DataBucket/Notifications'],
  ['NIST.800.53.R5-IAMNoInlinePolicy', 'TapStack/MigrationPipeline/StorageStack/Storage/ScriptBucket/Notifications'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/AccountPrerequisites/Function'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/DataSyncStack/AWS679f53fac002430cb0da5b7982bd2287'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/ActivationFunction'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/LambdaStack/Functions/GlueTriggerFunction'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/LambdaStack/Functions/RemediationFunction'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/LambdaStack/Functions/StepFunctionTriggerFunction'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/LoggingStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/LoggingStack/Logging/TransformFunction'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/SettleFunction'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function'],
  ['NIST.800.53.R5-LambdaConcurrency', 'TapStack/MigrationPipeline/StorageStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/AccountPrerequisites/Function'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/DataSyncStack/AWS679f53fac002430cb0da5b7982bd2287'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/DataSyncStack/DataSync/ActivationFunction'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/LoggingStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/LoggingStack/Logging/TransformFunction'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/Checks/Function'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/SettleFunction'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function'],
  ['NIST.800.53.R5-LambdaDLQ', 'TapStack/MigrationPipeline/StorageStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/AccountPrerequisites/Function'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/DMSStack/Dms/TaskStopGuard/Function'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/DataSyncStack/AWS679f53fac002430cb0da5b7982bd2287'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/GlueStack/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/LoggingStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/LoggingStack/Logging/TransformFunction'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/OrchestrationStack/Cutover/SettleFunction'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/OrchestrationStack/Orchestration/TableReview/Function'],
  ['NIST.800.53.R5-LambdaInsideVPC', 'TapStack/MigrationPipeline/StorageStack/Custom::S3AutoDeleteObjectsCustomResourceProvider'],
  ['NIST.800.53.R5-RDSInBackupPlan', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster'],
  ['NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster'],
  ['NIST.800.53.R5-S3BucketLoggingEnabled', 'TapStack/MigrationPipeline/LoggingStack/Logging/BackupBucket'],
  ['NIST.800.53.R5-S3BucketReplicationEnabled', 'TapStack/MigrationPipeline/LoggingStack/Logging/BackupBucket'],
  ['NIST.800.53.R5-S3BucketReplicationEnabled', 'TapStack/MigrationPipeline/StorageStack/Storage/AccessLogsBucket'],
  ['NIST.800.53.R5-S3BucketReplicationEnabled', 'TapStack/MigrationPipeline/StorageStack/Storage/DataBucket'],
  ['NIST.800.53.R5-S3BucketReplicationEnabled', 'TapStack/MigrationPipeline/StorageStack/Storage/ScriptBucket'],
  ['NIST.800.53.R5-S3DefaultEncryptionKMS', 'TapStack/MigrationPipeline/LoggingStack/Logging/BackupBucket'],
  ['NIST.800.53.R5-S3DefaultEncryptionKMS', 'TapStack/MigrationPipeline/StorageStack/Storage/AccessLogsBucket'],
  ['NIST.800.53.R5-S3DefaultEncryptionKMS', 'TapStack/MigrationPipeline/StorageStack/Storage/DataBucket'],
  ['NIST.800.53.R5-S3DefaultEncryptionKMS', 'TapStack/MigrationPipeline/StorageStack/Storage/ScriptBucket'],
  ['NIST.800.53.R5-SecretsManagerRotationEnabled', 'TapStack/MigrationPipeline/DMSStack/Dms/SourceSecret'],
  ['NIST.800.53.R5-SecretsManagerRotationEnabled', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster/Secret'],
  ['NIST.800.53.R5-SecretsManagerUsingKMSKey', 'TapStack/MigrationPipeline/DMSStack/Dms/SourceSecret'],
  ['NIST.800.53.R5-SecretsManagerUsingKMSKey', 'TapStack/MigrationPipeline/DatabaseStack/Database/AuroraCluster/Secret'],
  ['NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', 'TapStack/MigrationPipeline/NetworkStack/Network/Vpc/PublicSubnet1'],
  ['NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', 'TapStack/MigrationPipeline/NetworkStack/Network/Vpc/PublicSubnet2'],
];
