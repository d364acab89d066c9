import { CfnMapping, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeAll, exemptFromGuard, expectWildcards } from './private/acknowledgements';
import { acknowledgeAutoDeleteProvider, bucketRemoval } from './private/bucket-retention';
import { createLogGroup } from './private/log-groups';
import { readRuntimeSource } from './private/runtime-code';
import { requireIntegerInRange, requireMatch } from './private/validation';

/** Settings of the OpenSearch audit domain and its delivery stream. */
export interface LoggingOptions {
  /**
   * The OpenSearch engine version.
   * @default opensearch.EngineVersion.OPENSEARCH_2_11
   */
  readonly engineVersion?: opensearch.EngineVersion;

  /**
   * The data node instance type.
   * @default 't3.small.search'
   */
  readonly dataNodeInstanceType?: string;

  /**
   * How many data nodes the domain has (more than one spreads them over two AZs).
   * @default 1
   */
  readonly dataNodes?: number;

  /**
   * The EBS volume size of each data node, in GiB (gp3).
   * @default 20
   */
  readonly volumeSize?: number;

  /**
   * A principal (for example an operator role) allowed to read and manage the audit indices.
   * @default - only the delivery stream's role can reach the domain
   */
  readonly adminPrincipal?: iam.IPrincipal;

  /**
   * The prefix of the daily audit indices (`<prefix>-YYYY-MM-DD`).
   * @default 'migration-audit'
   */
  readonly indexName?: string;

  /**
   * How long OpenSearch's own logs (slow search, slow index, application), the envelope function's logs and the
   * delivery stream's error logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Props of {@link AuditLogging}. */
export interface AuditLoggingProps extends LoggingOptions {
  /** The VPC; the domain and the delivery stream's interfaces live in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The domain's security group; 443 is opened only to the delivery stream. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * The customer-managed key that encrypts this concern's log groups.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * What happens to the domain, backup bucket and logs when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The OpenSearch audit domain in a private subnet and the managed path that fills it: Amazon Data Firehose
 * (VPC delivery, daily indices) with every document that fails delivery backed up to S3. A transformation function
 * turns each event into a flat envelope with fixed field types (the event's `detail` as one JSON string,
 * `detail_json`), so events of different shapes never conflict in an index's dynamic mapping. The domain's policy
 * names the delivery role and the optional admin principal only. The EventBridge rules that feed the stream
 * belong to {@link Monitoring}, so this stack does not wait for the database or replication stacks.
 */
export class AuditLogging extends Construct {
  /** The audit domain. */
  public readonly openSearchDomain: opensearch.IDomain;
  /** The delivery stream that writes audit events into the domain. */
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  /** The EBS volume size of each data node, in GiB. */
  public readonly volumeSize: number;
  /** The delivery stream's name. */
  public readonly deliveryStreamName: string;
  /** The delivery stream as an interface, for rule targets. */
  public readonly auditDeliveryStream: firehose.IDeliveryStream;
  /** The role the delivery stream writes with. */
  public readonly deliveryRole: iam.IRole;
  /** Receives every document the stream could not index. */
  public readonly backupBucket: s3.IBucket;
  /** Turns each audit event into the envelope that is indexed (Firehose data transformation). */
  public readonly transformFunction: lambda.IFunction;

  constructor(scope: Construct, id: string, props: AuditLoggingProps) {
    super(scope, id);
    const dataNodes = props.dataNodes ?? 1;
    const volumeSize = props.volumeSize ?? 20;
    const requestedInstanceType = props.dataNodeInstanceType ?? 't3.small.search';
    const indexName = props.indexName ?? 'migration-audit';
    requireIntegerInRange(this, 'logging.dataNodes', dataNodes, 1, 80);
    requireIntegerInRange(this, 'logging.volumeSize', volumeSize, 10, 3584);
    // OpenSearch's construct rejects other types while it is built; the default stands in so the other props are checked.
    const instanceType = requireMatch(this, 'logging.dataNodeInstanceType', requestedInstanceType, /^[a-z0-9]+\.[0-9]*[a-z]+\.search$/,
      "an OpenSearch instance type such as 't3.small.search'") ? requestedInstanceType : 't3.small.search';
    requireMatch(this, 'logging.indexName', indexName, /^[a-z0-9][a-z0-9_-]{0,62}$/, 'a lower-case index name');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.volumeSize = volumeSize;
    this.deliveryStreamName = `migration-audit-${props.environmentSuffix}`;

    const deliverySecurityGroup = new ec2.SecurityGroup(this, 'DeliverySecurityGroup', {
      vpc: props.vpc,
      description: 'Audit delivery stream: writes to the OpenSearch domain over HTTPS',
      allowAllOutbound: false,
    });
    deliverySecurityGroup.connections.allowTo(props.securityGroup, ec2.Port.tcp(443), 'Firehose delivery to OpenSearch');

    this.deliveryRole = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Delivers the pipeline audit events to OpenSearch and failed documents to S3',
    });

    this.openSearchDomain = this.createDomain(props, { dataNodes, volumeSize, instanceType, removalPolicy });
    this.restrictDomainAccess(`migration-audit-${props.environmentSuffix}`, props.adminPrincipal);

    this.backupBucket = new s3.Bucket(this, 'BackupBucket', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      ...bucketRemoval(removalPolicy),
      // Failed documents are kept a year (re-index them from here), old versions 90 days.
      lifecycleRules: [{ id: 'ExpireFailedDocuments', expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(90) }],
    });
    (this.backupBucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    this.transformFunction = this.createTransformFunction(props, removalPolicy);
    this.deliveryStream = this.createDeliveryStream(props, indexName, deliverySecurityGroup, removalPolicy);
    // When the bucket is emptied on delete, the stream that writes into it is already gone.
    const autoDelete = this.backupBucket.node.tryFindChild('AutoDeleteObjectsCustomResource');
    if (autoDelete) {
      this.deliveryStream.node.addDependency(autoDelete);
    }
    this.auditDeliveryStream = withConnectionsOnDemand(firehose.DeliveryStream.fromDeliveryStreamAttributes(this, 'AuditDeliveryStream', {
      deliveryStreamArn: this.deliveryStream.attrArn,
      deliveryStreamName: this.deliveryStream.ref,
    }));
    this.acknowledgeFindings();
  }

  /**
   * The envelope processor (src/runtime/audit_envelope.py). Firehose invokes it synchronously and sends the records
   * it cannot transform to the backup bucket, so it needs no dead-letter queue; it calls no AWS API, so no VPC.
   */
  private createTransformFunction(props: AuditLoggingProps, removalPolicy: RemovalPolicy): lambda.Function {
    const functionName = `migration-audit-envelope-${props.environmentSuffix}`;
    const fn = new lambda.Function(this, 'TransformFunction', {
      functionName,
      description: 'Writes each audit event as an envelope with fixed field types before it is indexed',
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: 'index.handler',
      code: lambda.Code.fromInline(readRuntimeSource('audit_envelope.py')),
      // Firehose allows a transformation up to 5 minutes; 1 MB of events takes well under a second.
      timeout: Duration.minutes(1),
      memorySize: 256,
      logGroup: createLogGroup(this, 'TransformLogs', {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        encryptionKey: props.logEncryptionKey,
        removalPolicy,
      }),
    });
    const reason = 'Invoked synchronously by the audit delivery stream only';
    acknowledgeAll(fn, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'AWS-managed log-writing policy; the function writes only to its own KMS-encrypted log group',
      'AwsSolutions-L1': 'Python 3.12, the runtime of the pipeline\'s other functions; the code runs unchanged on later versions',
      'NIST.800.53.R5-LambdaConcurrency': `${reason}; Firehose bounds its own concurrency, and a reservation could throttle delivery`,
      'NIST.800.53.R5-LambdaDLQ': `${reason}: records it cannot transform go to the backup bucket under processing-failed/`,
      'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it only reshapes the records it is given and calls no AWS API`,
    });
    exemptFromGuard(fn, 'lambda_inside_vpc_check', `${reason}: it only reshapes the records it is given and calls no AWS API`);
    return fn;
  }

  private acknowledgeFindings(): void {
    acknowledgeAutoDeleteProvider(Stack.of(this));
    acknowledgeAll(this.openSearchDomain, {
      'AwsSolutions-OS3': 'The domain is reachable only inside the VPC, through a security group that admits the delivery stream alone, and its policy names its principals',
      'AwsSolutions-OS4': 'One data node is the specification\'s size; dedicated masters come with logging.dataNodes > 1 sizing decisions',
      'AwsSolutions-OS7': 'Zone awareness turns on with logging.dataNodes > 1; one node is the specification\'s size',
    });
    acknowledgeAll(this.backupBucket, {
      'AwsSolutions-S1': 'Only the delivery stream writes here (failed documents); its deliveries are logged by Firehose and CloudTrail',
      'NIST.800.53.R5-S3BucketLoggingEnabled': 'Only the delivery stream writes here (failed documents); its deliveries are logged by Firehose and CloudTrail',
      'NIST.800.53.R5-S3DefaultEncryptionKMS': 'SSE-S3, as the pipeline\'s other buckets; access is limited to the delivery role',
      'NIST.800.53.R5-S3BucketReplicationEnabled': 'Versioned; cross-region replication is an account-level choice outside the pipeline',
    });
    expectWildcards(this.deliveryRole, [
      { finding: /^Resource::\*$/, reason: 'Firehose manages its VPC network interfaces; these EC2 calls support no resource-level permissions' },
      { finding: /^Resource::<[^>]*BackupBucket[^>]*>\/\*$/, reason: 'The backup bucket holds only this stream\'s failed documents' },
      {
        finding: /^Resource::arn:<AWS::Partition>:es:[^:]+:(?:<AWS::AccountId>|\d{12}):domain\/migration-audit-[a-z0-9-]+\/\*$|^Resource::<[^>]*Domain[^>]*>\/\*$/,
        reason: 'Index paths of the audit domain: the daily index names are not known in advance',
      },
    ]);
    exemptFromGuard(this.backupBucket, 's3_bucket_default_encryption_kms_check', 'SSE-S3, as the pipeline\'s other buckets; access is limited to the delivery role');
    exemptFromGuard(this.backupBucket, 's3_bucket_logging_enabled_check', 'Only the delivery stream writes here; its deliveries are logged by Firehose and CloudTrail');
    exemptFromGuard(this.backupBucket, 's3_bucket_object_lock_enabled_check', 'Versioned with 90-day noncurrent retention; failed documents are re-indexed and then expire');
    const domainReason = 'A single t3.small.search node is the specification\'s size (logging.dataNodes > 1 adds zone awareness); access is limited by the VPC, '
      + 'a security group that admits only the delivery stream, and a domain policy that names its IAM principals';
    exemptFromGuard(this.openSearchDomain, 'opensearch_data_node_fault_tolerance_check', domainReason);
    exemptFromGuard(this.openSearchDomain, 'opensearch_fine_grained_access_control_enabled_check', domainReason);
    exemptFromGuard(this.openSearchDomain, 'opensearch_audit_logging_enabled_check',
      'OpenSearch audit logs need fine-grained access control; every write to this domain is an audit event already delivered by Firehose and logged by CloudTrail');
    acknowledge(this.deliveryRole, 'NIST.800.53.R5-IAMNoInlinePolicy', 'The policy belongs to the delivery role and lists what Firehose documents for this destination');
    acknowledge(this.auditDeliveryStream, 'NIST.800.53.R5-IAMNoInlinePolicy', 'CDK\'s EventBridge role for the audit rules: firehose:PutRecord(Batch) on this stream only');
  }

  private createDomain(props: AuditLoggingProps, size: { dataNodes: number; volumeSize: number; instanceType: string; removalPolicy: RemovalPolicy }):
  opensearch.Domain {
    const logGroup = (id: string) => createLogGroup(this, id, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: size.removalPolicy,
    });
    const slowSearchLogGroup = logGroup('SlowSearchLogs');
    const slowIndexLogGroup = logGroup('SlowIndexLogs');
    const appLogGroup = logGroup('AppLogs');
    const zoneAware = size.dataNodes > 1;
    const privateSubnets = props.vpc.privateSubnets;

    const domain = new opensearch.Domain(this, 'Domain', {
      domainName: `migration-audit-${props.environmentSuffix}`,
      version: props.engineVersion ?? opensearch.EngineVersion.OPENSEARCH_2_11,
      capacity: { dataNodes: size.dataNodes, dataNodeInstanceType: size.instanceType, multiAzWithStandbyEnabled: false },
      ebs: { volumeSize: size.volumeSize, volumeType: ec2.EbsDeviceVolumeType.GP3 },
      zoneAwareness: zoneAware ? { enabled: true, availabilityZoneCount: 2 } : { enabled: false },
      vpc: props.vpc,
      vpcSubnets: [{ subnets: zoneAware ? privateSubnets.slice(0, 2) : privateSubnets.slice(0, 1) }],
      securityGroups: [props.securityGroup],
      enforceHttps: true,
      tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2,
      encryptionAtRest: { enabled: true },
      nodeToNodeEncryption: true,
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup,
        slowIndexLogEnabled: true,
        slowIndexLogGroup,
        appLogEnabled: true,
        appLogGroup,
      },
      // The log groups' resource policy is written below, without CDK's custom resource.
      suppressLogsResourcePolicy: true,
      // Without it, a new logging.engineVersion replaces the domain and its audit index ("AWS::OpenSearchService::Domain",
      // EngineVersion, CloudFormation Template Reference); with it, the version is upgraded in place.
      enableVersionUpgrade: true,
      removalPolicy: size.removalPolicy,
    });
    const logsPolicy = new logs.CfnResourcePolicy(this, 'DomainLogsPolicy', {
      policyName: `migration-audit-${props.environmentSuffix}-logs`,
      policyDocument: JSON.stringify(new iam.PolicyDocument({
        statements: [new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('es.amazonaws.com')],
          actions: ['logs:PutLogEvents', 'logs:CreateLogStream'],
          resources: [slowSearchLogGroup, slowIndexLogGroup, appLogGroup].map((g) => g.logGroupArn),
        })],
      }).toJSON()),
    });
    // CreateDomain checks that es.amazonaws.com may write to the log groups; nothing else orders the two.
    (domain.node.defaultChild as opensearch.CfnDomain).addDependency(logsPolicy);
    return domain;
  }

  /** Only named principals reach the domain: the delivery role and the optional admin. */
  private restrictDomainAccess(domainName: string, adminPrincipal?: iam.IPrincipal): void {
    // Built from the name: the domain's own ARN attribute cannot appear in its own policy.
    const domainArn = Stack.of(this).formatArn({ service: 'es', resource: 'domain', resourceName: domainName });
    const domainResources = [domainArn, `${domainArn}/*`];
    const statements = [new iam.PolicyStatement({
      principals: [this.deliveryRole],
      actions: ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpPut', 'es:ESHttpHead'],
      resources: domainResources,
    })];
    if (adminPrincipal) {
      statements.push(new iam.PolicyStatement({ principals: [adminPrincipal], actions: ['es:ESHttp*'], resources: domainResources }));
    }
    const cfnDomain = this.openSearchDomain.node.defaultChild as opensearch.CfnDomain;
    cfnDomain.accessPolicies = new iam.PolicyDocument({ statements });
  }

  private createDeliveryStream(props: AuditLoggingProps, indexName: string, securityGroup: ec2.ISecurityGroup, removalPolicy: RemovalPolicy):
  firehose.CfnDeliveryStream {
    const role = this.deliveryRole;
    const deliveryLogs = createLogGroup(this, 'DeliveryLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logEncryptionKey,
      removalPolicy,
    });
    const deliveryLogStream = deliveryLogs.addStream('OpenSearchDelivery');
    const backupLogStream = deliveryLogs.addStream('S3Backup');
    // Log streams default to RETAIN in CDK; they follow their group.
    deliveryLogStream.applyRemovalPolicy(removalPolicy);
    backupLogStream.applyRemovalPolicy(removalPolicy);

    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['es:DescribeDomain', 'es:DescribeDomains', 'es:DescribeDomainConfig', 'es:ESHttpPost', 'es:ESHttpPut', 'es:ESHttpGet'],
      resources: [this.openSearchDomain.domainArn, `${this.openSearchDomain.domainArn}/*`],
    }));
    // The actions Firehose documents for its S3 backup destination.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: [this.backupBucket.bucketArn],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      resources: [this.backupBucket.arnForObjects('*')],
    }));
    deliveryLogs.grantWrite(role);
    // The actions Firehose documents for a Lambda data transformation, on the one function.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
      resources: [this.transformFunction.functionArn],
    }));
    // Firehose creates and removes its network interfaces itself; EC2 offers no narrower resource for these calls.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: [
        'ec2:DescribeVpcs', 'ec2:DescribeVpcAttribute', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces',
        'ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface',
      ],
      resources: ['*'],
    }));

    const stream = new firehose.CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamName: this.deliveryStreamName,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      amazonopensearchserviceDestinationConfiguration: {
        domainArn: this.openSearchDomain.domainArn,
        indexName,
        indexRotationPeriod: 'OneDay',
        roleArn: role.roleArn,
        bufferingHints: { intervalInSeconds: 60, sizeInMBs: 5 },
        retryOptions: { durationInSeconds: 300 },
        processingConfiguration: {
          enabled: true,
          processors: [{
            type: 'Lambda',
            parameters: [
              { parameterName: 'LambdaArn', parameterValue: this.transformFunction.functionArn },
              // 1 MB of events in keeps the envelopes (a little larger) well under Lambda's 6 MB response limit.
              { parameterName: 'BufferSizeInMBs', parameterValue: '1' },
              { parameterName: 'BufferIntervalInSeconds', parameterValue: '60' },
              { parameterName: 'NumberOfRetries', parameterValue: '3' },
            ],
          }],
        },
        s3BackupMode: 'FailedDocumentsOnly',
        s3Configuration: {
          bucketArn: this.backupBucket.bucketArn,
          roleArn: role.roleArn,
          prefix: 'failed-documents/',
          errorOutputPrefix: 'delivery-errors/',
          compressionFormat: 'GZIP',
          bufferingHints: { intervalInSeconds: 300, sizeInMBs: 5 },
          cloudWatchLoggingOptions: { enabled: true, logGroupName: deliveryLogs.logGroupName, logStreamName: backupLogStream.logStreamName },
        },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: deliveryLogs.logGroupName, logStreamName: deliveryLogStream.logStreamName },
        vpcConfiguration: {
          roleArn: role.roleArn,
          securityGroupIds: [securityGroup.securityGroupId],
          subnetIds: props.vpc.privateSubnets.map((s) => s.subnetId),
        },
      },
    });
    // Firehose validates its role when the stream is created.
    stream.node.addDependency(role);
    return stream;
  }
}

/**
 * The id of the mapping CDK's delivery streams add to their stack (Firehose's public CIDR block per region), as
 * the construct tree stores it ('/' in an id becomes '--').
 */
const FIREHOSE_CIDR_MAPPING_ID = '@aws-cdk--aws-kinesisfirehose.CidrBlocks';

/**
 * CDK's delivery-stream classes build their `connections` (Firehose's public CIDR block) when they are created.
 * In a stack without a concrete region that adds a CfnMapping to the template, which the pipeline never uses
 * (cfn-lint W7001 in every environment-agnostic app). The mapping is removed here and rebuilt only when someone
 * reads `connections`.
 */
function withConnectionsOnDemand(stream: firehose.IDeliveryStream): firehose.IDeliveryStream {
  const stack = Stack.of(stream);
  if (!stack.node.tryRemoveChild(FIREHOSE_CIDR_MAPPING_ID)) {
    return stream;
  }
  let connections: ec2.Connections | undefined;
  Object.defineProperty(stream, 'connections', {
    get: () => connections ??= new ec2.Connections({ peer: ec2.Peer.ipv4(firehoseCidrBlock(stack)) }),
  });
  return stream;
}

/** Firehose's public CIDR block in the stack's region, through the mapping CDK itself would create. */
function firehoseCidrBlock(stack: Stack): string {
  const existing = stack.node.tryFindChild(FIREHOSE_CIDR_MAPPING_ID) as CfnMapping | undefined;
  const mapping = existing ?? new CfnMapping(stack, FIREHOSE_CIDR_MAPPING_ID, {
    mapping: Object.fromEntries(RegionInfo.regions.filter((region) => region.firehoseCidrBlock)
      .map((region) => [region.name, { FirehoseCidrBlock: region.firehoseCidrBlock! }])),
    lazy: true,
  });
  return mapping.findInMap(stack.region, 'FirehoseCidrBlock');
}
