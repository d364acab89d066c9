import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeAll, exemptFromGuard, expectWildcards } from './private/acknowledgements';
import { createLogGroup } from './private/log-groups';
import { readRuntimeSource } from './private/runtime-code';

/** Which account-level prerequisites the pipeline creates when they are missing. */
export interface AccountPrerequisitesOptions {
  /**
   * Create `dms-vpc-role` and `dms-cloudwatch-logs-role` when the account does not have them.
   * @default true
   */
  readonly createDmsRoles?: boolean;

  /**
   * Create the OpenSearch service-linked role when the account does not have it.
   * @default true
   */
  readonly createOpenSearchServiceLinkedRole?: boolean;
}

/** Props of {@link AccountPrerequisites}. */
export interface AccountPrerequisitesProps extends AccountPrerequisitesOptions {
  /** The key of the function's log group. @default - CloudWatch Logs' own encryption */
  readonly logEncryptionKey?: kms.IKey;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /** What happens to the function's log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** How long the function's logs are kept. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

const DMS_ROLES = ['dms-vpc-role', 'dms-cloudwatch-logs-role'];
const DMS_MANAGED_POLICIES = ['AmazonDMSVPCManagementRole', 'AmazonDMSCloudWatchLogsRole'];

/**
 * Makes a first deployment work whether or not the account already has the roles DMS (fixed names) and a VPC
 * OpenSearch domain (service-linked) need: a custom resource creates only what is missing and waits until IAM
 * returns the new roles (bounded, then a settle period). The roles are shared by every pipeline and DMS task in
 * the account, so deleting the stack never deletes them: they stay behind as account-level settings.
 */
export class AccountPrerequisites extends Construct {
  /** The custom resource; stacks that need the roles depend on it. */
  public readonly resource: CustomResource;
  /** The function behind it. */
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: AccountPrerequisitesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.function = new lambda.Function(this, 'Function', {
      functionName: `migration-prerequisites-${props.environmentSuffix}`,
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: 'index.handler',
      code: lambda.Code.fromInline(readRuntimeSource('account_prerequisites.py')),
      // Polling and settling stop after 90 s and keep 20 s for the answer (account_prerequisites.py), inside this.
      timeout: Duration.minutes(2),
      memorySize: 256,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: createLogGroup(this, 'Logs', {
        logGroupName: `/aws/lambda/migration-prerequisites-${props.environmentSuffix}`,
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        encryptionKey: props.logEncryptionKey,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      }),
    });
    this.grantRoleManagement(stack);
    this.acknowledgeFindings();

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::MigrationAccountPrerequisites',
      properties: {
        CreateDmsRoles: String(props.createDmsRoles ?? true),
        CreateOpenSearchServiceLinkedRole: String(props.createOpenSearchServiceLinkedRole ?? true),
        PropagationWaitSeconds: '10',
      },
    });
  }

  /** Only the three fixed roles, and only the two DMS managed policies on them; no delete permission at all. */
  private grantRoleManagement(stack: Stack): void {
    const roleArn = (name: string) => stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: name });
    const dmsRoles = DMS_ROLES.map(roleArn);
    const openSearchRole = roleArn('aws-service-role/opensearchservice.amazonaws.com/*');
    const allow = (actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      this.function.addToRolePolicy(new iam.PolicyStatement({ actions, resources, conditions }));
    allow(['iam:GetRole'], [...dmsRoles, openSearchRole]);
    allow(['iam:CreateRole', 'iam:ListAttachedRolePolicies'], dmsRoles);
    allow(['iam:AttachRolePolicy'], dmsRoles, {
      ArnEquals: { 'iam:PolicyARN': DMS_MANAGED_POLICIES.map((p) => `arn:${stack.partition}:iam::aws:policy/service-role/${p}`) },
    });
    allow(['iam:CreateServiceLinkedRole'], [openSearchRole], { StringEquals: { 'iam:AWSServiceName': 'opensearchservice.amazonaws.com' } });
    // Nothing here deletes or detaches: the roles are shared by the whole account and outlive the stack.
  }

  private acknowledgeFindings(): void {
    const reason = 'Runs only while CloudFormation deploys, to create missing account-level roles';
    expectWildcards(this.function, [
      { finding: /^Resource::\*$/, reason: 'Only X-Ray trace upload, which supports no resource-level permissions' },
      {
        finding: /^Resource::arn:<AWS::Partition>:iam::(?:<AWS::AccountId>|\d{12}):role\/aws-service-role\/opensearchservice\.amazonaws\.com\/\*$/,
        reason: 'The OpenSearch service-linked role path; its exact name is chosen by the service',
      },
    ]);
    acknowledgeAll(this.function, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}; AWS-managed log-writing policy`,
      'AwsSolutions-L1': 'Python 3.12, the runtime of the pipeline\'s other functions; the code runs unchanged on later versions',
      'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation per stack operation`,
      'NIST.800.53.R5-LambdaDLQ': `${reason}: CloudFormation waits for its answer and fails the deployment otherwise`,
      'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it calls only the global IAM and CloudFormation APIs`,
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The policy belongs to this one function and allows only the three fixed roles and two managed policies',
    });
    exemptFromGuard(this.function, 'lambda_inside_vpc_check', `${reason}: it calls only the global IAM and CloudFormation APIs`);
  }
}
