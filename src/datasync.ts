import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as datasync from 'aws-cdk-lib/aws-datasync';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeAll, exemptCrossStackReference, exemptFromGuard, expectWildcards } from './private/acknowledgements';
import { functionSecurityGroup } from './private/function-security-group';
import { createLogGroup } from './private/log-groups';
import { readRuntimeSource } from './private/runtime-code';
import { requireDurationInRange, requireIntegerInRange, requireMatch, requireThat } from './private/validation';
import { INCOMING_PREFIX } from './storage';

/** The public SSM parameter that holds the current DataSync agent AMI of each region. */
export const DATASYNC_AMI_PARAMETER = '/aws/service/datasync/ami';

// The construct id CDK gives the one function behind every AwsCustomResource of a stack.
const PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/** Settings of the DataSync agent and its activation. */
export interface DataSyncOptions {
  /**
   * Deploy the DataSync agent, its activation and the S3 location (the specification's way for files to arrive).
   * Set it to false when files reach `incoming/` another way (Transfer Family, replication from another account,
   * uploads): `MigrationPipeline` then creates no DataSync stack, agent, security group, activation or location, and
   * leaves out the DataSync outputs and the activation alarm. Read by `MigrationPipeline` only.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The agent's EC2 instance type (DataSync needs at least 4 vCPUs and 16 GiB, which m5.large falls short of
   * for big transfers; m5.large is the spec's size).
   * @default ec2.InstanceType.of(ec2.InstanceClass.M5, ec2.InstanceSize.LARGE)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * A fixed agent AMI, for example 'ami-0f508ba5fd9db6606' in us-west-2. Changing it replaces the agent instance
   * (and activates a new agent), so change it only to move to a newer agent on purpose.
   * @default - the AMI that the public SSM parameter /aws/service/datasync/ami names when the stack is first
   * created, kept on every later deployment
   */
  readonly amiId?: string;

  /**
   * How long the activation waits for the agent to boot before the first attempt (30 s to 5 minutes). The S3
   * location is created after the activation, so this wait also gives the new bucket-access role time to
   * propagate in IAM before DataSync checks that it can assume it.
   * @default Duration.seconds(90)
   */
  readonly activationInitialWait?: Duration;

  /**
   * How long the activation waits between two attempts.
   * @default Duration.seconds(45)
   */
  readonly activationRetryInterval?: Duration;

  /**
   * How many activation attempts are made before the placeholder ARN is returned.
   * @default 10
   */
  readonly activationMaxAttempts?: number;
}

/** Props of {@link DataSyncAgent}. */
export interface DataSyncAgentProps extends DataSyncOptions {
  /** The VPC; the agent runs in a public subnet, the activation function in a private one. */
  readonly vpc: ec2.IVpc;
  /** The agent's security group; port 80 is opened only to the activation function. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The bucket DataSync writes to (under `incoming/`). */
  readonly dataBucket: s3.IBucket;
  /**
   * The customer-managed key that encrypts this concern's log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * How long the activation and AMI-lookup functions' logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the activation function's log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

// Each attempt is an HTTP GET (at most 10 s) and a CreateAgent call.
const HTTP_TIMEOUT_SECONDS = 10;
const ATTEMPT_OVERHEAD_SECONDS = HTTP_TIMEOUT_SECONDS + 20;
// A new IAM role can be refused to the service that assumes it for some seconds after its creation (IAM is
// eventually consistent): CreateLocationS3 then fails with "Unable to assume role".
const IAM_PROPAGATION_SECONDS = 30;

/**
 * A DataSync agent on EC2 in a public subnet, its activation (a custom resource that retries and never fails
 * the stack: when activation does not succeed it returns a placeholder ARN and `ActivationSuccess=false`),
 * and the S3 location DataSync writes to.
 */
export class DataSyncAgent extends Construct {
  /** The agent's EC2 instance. */
  public readonly instance: ec2.IInstance;
  /** The activation custom resource. */
  public readonly activation: CustomResource;
  /** The function behind the activation. */
  public readonly activationFunction: lambda.IFunction;
  /** The agent's ARN, or a placeholder ARN when activation did not succeed. */
  public readonly agentArn: string;
  /** 'true' when the agent was activated, 'false' when it needs manual activation. */
  public readonly activationSuccess: string;
  /** The S3 location for DataSync tasks (`incoming/` of the data bucket). */
  public readonly s3Location: datasync.CfnLocationS3;
  /** The S3 location's ARN (`arn:<partition>:datasync:<region>:<account>:location/loc-...`), for your DataSync tasks' destination. */
  public readonly locationArn: string;
  /** The role DataSync assumes to write to the bucket. */
  public readonly bucketAccessRole: iam.IRole;

  constructor(scope: Construct, id: string, props: DataSyncAgentProps) {
    super(scope, id);
    requireThat(this, props.enabled !== false,
      'dataSync.enabled: received false for a DataSyncAgent; expected it only in MigrationPipeline props, which then creates no agent.');
    // The activation function receives whole seconds; invalid values are reported and the defaults stand in.
    let initialWait = props.activationInitialWait ?? Duration.seconds(90);
    let retryInterval = props.activationRetryInterval ?? Duration.seconds(45);
    let maxAttempts = props.activationMaxAttempts ?? 10;
    if (!requireDurationInRange(this, 'dataSync.activationInitialWait', initialWait, Duration.seconds(IAM_PROPAGATION_SECONDS), Duration.minutes(5))) {
      initialWait = Duration.seconds(90);
    }
    if (!requireDurationInRange(this, 'dataSync.activationRetryInterval', retryInterval, Duration.seconds(0), Duration.minutes(2))) {
      retryInterval = Duration.seconds(45);
    }
    if (!requireIntegerInRange(this, 'dataSync.activationMaxAttempts', maxAttempts, 1, 20)) {
      maxAttempts = 10;
    }
    requireMatch(this, 'dataSync.amiId', props.amiId, /^ami-[0-9a-f]{8,17}$/, "an AMI id such as 'ami-0f508ba5fd9db6606'");
    const budget = initialWait.toSeconds() + maxAttempts * (retryInterval.toSeconds() + ATTEMPT_OVERHEAD_SECONDS);
    requireThat(this, budget <= Duration.minutes(14).toSeconds(),
      `dataSync.activationMaxAttempts: received ${maxAttempts} attempts ${retryInterval.toHumanString()} apart after ` +
      `${initialWait.toHumanString()}, which needs up to ${budget} s; expected at most 840 s (the activation function runs at most 15 minutes).`);

    this.instance = this.createAgentInstance(props);

    const activationSecurityGroup = functionSecurityGroup(this, 'ActivationSecurityGroup', {
      vpc: props.vpc,
      description: 'DataSync activation function: agent port 80 and AWS APIs over HTTPS',
      httpsPurpose: 'DataSync API over HTTPS',
      peer: props.securityGroup,
      port: ec2.Port.tcp(80),
      peerPurpose: 'Fetch the activation key from the agent',
    });

    const activationFunction = new lambda.Function(this, 'ActivationFunction', {
      functionName: `migration-datasync-activation-${props.environmentSuffix}`,
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(readRuntimeSource('datasync_activation.js')),
      // Covers the whole retry budget, with the function answering CloudFormation before it is cut off.
      timeout: Duration.minutes(15),
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [activationSecurityGroup],
      tracing: lambda.Tracing.ACTIVE,
      logGroup: createLogGroup(this, 'ActivationLogs', {
        logGroupName: `/aws/lambda/migration-datasync-activation-${props.environmentSuffix}`,
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        encryptionKey: props.logEncryptionKey,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      }),
    });
    this.activationFunction = activationFunction;
    const agentName = `migration-agent-${props.environmentSuffix}`;
    this.grantActivation(activationFunction, agentName);

    this.activation = new CustomResource(this, 'AgentActivation', {
      serviceToken: this.activationFunction.functionArn,
      resourceType: 'Custom::DataSyncAgentActivation',
      properties: {
        AgentIp: this.instance.instancePrivateIp,
        AgentName: agentName,
        InitialWaitSeconds: String(initialWait.toSeconds()),
        RetryIntervalSeconds: String(retryInterval.toSeconds()),
        MaxAttempts: String(maxAttempts),
        HttpTimeoutSeconds: String(HTTP_TIMEOUT_SECONDS),
      },
    });
    // The function's network rules must exist before it calls the agent.
    this.activation.node.addDependency(activationSecurityGroup);
    this.agentArn = this.activation.getAttString('AgentArn');
    this.activationSuccess = this.activation.getAttString('ActivationSuccess');

    this.bucketAccessRole = this.createBucketAccessRole(props.dataBucket);
    this.s3Location = new datasync.CfnLocationS3(this, 'S3Location', {
      s3BucketArn: props.dataBucket.bucketArn,
      subdirectory: `/${INCOMING_PREFIX}`,
      s3StorageClass: 'STANDARD',
      s3Config: { bucketAccessRoleArn: this.bucketAccessRole.roleArn },
    });
    // CreateLocationS3 assumes the role and lists the bucket ("Providing DataSync access to S3 buckets", DataSync
    // User Guide). The role and its policy exist before the activation starts, and the location waits for the
    // activation, which first waits at least IAM_PROPAGATION_SECONDS: the role has propagated by then.
    this.activation.node.addDependency(this.bucketAccessRole);
    this.locationArn = this.s3Location.attrLocationArn;
    this.s3Location.node.addDependency(this.bucketAccessRole, this.activation);
    this.acknowledgeFindings();
  }

  private createAgentInstance(props: DataSyncAgentProps): ec2.Instance {
    const imageId = props.amiId ?? this.resolveAmiOnce(props);
    const machineImage: ec2.IMachineImage = {
      getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }),
    };
    const instance = new ec2.Instance(this, 'AgentInstance', {
      instanceName: `migration-datasync-agent-${props.environmentSuffix}`,
      vpc: props.vpc,
      // The agent reaches the DataSync service endpoints through the internet gateway.
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      associatePublicIpAddress: true,
      instanceType: props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.M5, ec2.InstanceSize.LARGE),
      machineImage,
      securityGroup: props.securityGroup,
      detailedMonitoring: true,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(80, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    // IMDSv2 and detailed monitoring come from a launch template of our own, so both are visible to template checks.
    const launchTemplate = new ec2.LaunchTemplate(this, 'AgentLaunchTemplate', { requireImdsv2: true, detailedMonitoring: true });
    (instance.node.defaultChild as ec2.CfnInstance).launchTemplate = {
      launchTemplateId: launchTemplate.launchTemplateId,
      // The first version, not the latest: LaunchTemplate requires replacement (AWS::EC2::Instance, CloudFormation
      // Template Reference), and any change to the template (a tag added to the stack reaches its tag
      // specifications) makes a new latest version, which would replace the agent.
      version: '1',
    };
    return instance;
  }

  /**
   * The AMI the public parameter names when the stack is created. ImageId requires replacement (AWS::EC2::Instance,
   * CloudFormation Template Reference), and a replaced agent is a new, unactivated agent that the S3 location and
   * any task no longer use; a parameter resolved on every deployment would do that whenever AWS publishes a new AMI.
   * The SDK call runs on Create only; on Update the resource keeps its physical id, which is the AMI id its Ref
   * returns ("Custom resources", CloudFormation User Guide), so the instance keeps its image.
   */
  private resolveAmiOnce(props: DataSyncAgentProps): string {
    const stack = Stack.of(this);
    const parameterArn = stack.formatArn({ service: 'ssm', account: '', resource: 'parameter', resourceName: DATASYNC_AMI_PARAMETER.slice(1) });
    const lookup = new cr.AwsCustomResource(this, 'AgentImage', {
      resourceType: 'Custom::DataSyncAgentImage',
      onCreate: {
        service: 'SSM',
        action: 'getParameter',
        parameters: { Name: DATASYNC_AMI_PARAMETER },
        physicalResourceId: cr.PhysicalResourceId.fromResponse('Parameter.Value'),
      },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [parameterArn] }),
      installLatestAwsSdk: false,
      logGroup: createLogGroup(this, 'AgentImageLogs', {
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        encryptionKey: props.logEncryptionKey,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      }),
    });
    this.acknowledgeImageLookup(lookup, props.environmentSuffix);
    return (lookup.node.findChild('Resource') as CustomResource).ref;
  }

  private acknowledgeImageLookup(lookup: cr.AwsCustomResource, environmentSuffix: string): void {
    const reason = `CDK's SDK-call function that reads ${DATASYNC_AMI_PARAMETER} once, when the agent of ${environmentSuffix} is created`;
    const provider = Stack.of(this).node.tryFindChild(PROVIDER_ID);
    if (provider) {
      acknowledgeAll(provider, {
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}: logs only`,
        'AwsSolutions-L1': `${reason}: CDK chooses and updates its runtime`,
        'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation per stack creation`,
        'NIST.800.53.R5-LambdaDLQ': `${reason}: CloudFormation waits for its answer and fails the deployment otherwise`,
        'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it calls only the SSM API and needs nothing in the VPC`,
      });
      exemptFromGuard(provider.node.findChild('Resource'), 'lambda_inside_vpc_check', `${reason}: it calls only the SSM API and needs nothing in the VPC`);
    }
    acknowledge(lookup, 'NIST.800.53.R5-IAMNoInlinePolicy', `${reason}: its policy allows ssm:GetParameter on that one public parameter`);
  }

  private acknowledgeFindings(): void {
    exemptFromGuard(this.instance, 'ec2_instance_no_public_ip_check',
      'The DataSync agent reaches the service endpoints from its public subnet, as the specification places it; its security group admits only port 80 from the activation function');
    exemptFromGuard(this.instance, 'ec2_instance_nitro_encryption_in_transit_check',
      'm5.large is the specification\'s size; DataSync encrypts its own traffic with TLS');
    exemptCrossStackReference(this.activationFunction, 'lambda_inside_vpc_check', 'VpcConfig (private subnets of NetworkStack)');
    acknowledgeAll(this.instance, {
      'AwsSolutions-EC29': 'A single agent, as the specification sizes it; it holds no data (files pass through to S3) and is recreated by the stack',
      'NIST.800.53.R5-EC2InstanceNoPublicIp': 'The DataSync agent reaches the service endpoints from its public subnet, as the specification places it; its security group admits only port 80 from the activation function',
      'NIST.800.53.R5-EC2InstancesInVPC': 'The agent is in the pipeline VPC (its subnet is set on its network interface)',
    });
    expectWildcards(this.activationFunction, [
      { finding: /^Resource::\*$/, reason: 'Only datasync:CreateAgent and X-Ray trace upload, which support no resource-level permissions' },
      { finding: /^Resource::arn:<AWS::Partition>:datasync:[^:]+:(?:<AWS::AccountId>|\d{12}):agent\/\*$/, reason: 'The agent ARN is known only after CreateAgent; describe and delete are limited to agents tagged with this agent\'s name' },
    ]);
    acknowledgeAll(this.activationFunction, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': 'AWS-managed log-writing policy; the function writes only to its own KMS-encrypted log group',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]': 'AWS-managed network-interface policy that every function in a VPC needs; it grants no data access',
      'NIST.800.53.R5-LambdaConcurrency': 'Invoked only by CloudFormation, once per stack operation',
      'NIST.800.53.R5-LambdaDLQ': 'Invoked only by CloudFormation, which waits for its answer; the handler always answers (tested)',
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The role policy belongs to this one function and lists only the DataSync calls its code makes',
    });
    expectWildcards(this.bucketAccessRole, [{
      finding: /^Resource::<[^>]*DataBucket[^>]*>\/incoming\/\*$/,
      reason: 'DataSync writes any file under incoming/ of the data bucket and nowhere else',
    }]);
    acknowledge(this.bucketAccessRole, 'NIST.800.53.R5-IAMNoInlinePolicy', 'The policy belongs to the DataSync location role and covers incoming/ only');
  }

  /**
   * CreateAgent cannot be scoped to a resource. The agent it creates is tagged with its name, and describe and
   * delete are limited to agents carrying that tag, so the function cannot touch another team's agent.
   */
  private grantActivation(fn: lambda.Function, agentName: string): void {
    const agents = Stack.of(this).formatArn({ service: 'datasync', resource: 'agent', resourceName: '*' });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['datasync:CreateAgent'], resources: ['*'] }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['datasync:TagResource'],
      resources: [agents],
      conditions: { StringEquals: { 'aws:RequestTag/Name': agentName } },
    }));
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['datasync:DescribeAgent', 'datasync:DeleteAgent'],
      resources: [agents],
      conditions: { StringEquals: { 'aws:ResourceTag/Name': agentName } },
    }));
  }

  /** DataSync needs bucket-level listing and object-level read/write under `incoming/`. */
  private createBucketAccessRole(bucket: s3.IBucket): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'BucketAccessRole', {
      assumedBy: new iam.ServicePrincipal('datasync.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Lets DataSync write migrated files under incoming/ of the data bucket',
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: [bucket.bucketArn],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: [
        's3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:GetObjectTagging', 's3:GetObjectVersion',
        's3:GetObjectVersionTagging', 's3:ListMultipartUploadParts', 's3:PutObject', 's3:PutObjectTagging',
      ],
      resources: [bucket.arnForObjects(`${INCOMING_PREFIX}*`)],
    }));
    return role;
  }
}
