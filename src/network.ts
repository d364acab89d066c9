import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, exemptFromGuard } from './private/acknowledgements';
import { denyGrantsExceptForAwsServices } from './private/key-policies';
import { requireIntegerInRange, requireMatch } from './private/validation';

/** Settings of the pipeline's network. */
export interface NetworkOptions {
  /**
   * An existing VPC to deploy into instead of creating one. It needs public, private-with-egress
   * and isolated subnets in at least two Availability Zones. Cannot be combined with the VPC settings below.
   * @default - a new VPC is created
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The VPC's address range.
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;

  /**
   * How many Availability Zones the new VPC spans (Aurora needs two).
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * How many NAT gateways the new VPC gets (one per AZ removes the single point of failure).
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * The size of each subnet, as a prefix length.
   * @default 24
   */
  readonly subnetCidrMask?: number;

  /**
   * How long VPC flow logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/** Props of {@link Network}. */
export interface NetworkProps extends NetworkOptions {
  /**
   * What happens to the log encryption key and the flow-log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const SUBNET_GROUPS = 3;

/**
 * The VPC (public, private-with-egress and isolated subnets) and one security group per kind of workload.
 * Security groups start closed; the concerns that consume a service open exactly the port they need.
 */
export class Network extends Construct {
  /** The VPC every component runs in. */
  public readonly vpc: ec2.IVpc;
  /** Aurora's security group (no egress; ingress 3306 is opened by its consumers). */
  public readonly dbSecurityGroup: ec2.SecurityGroup;
  /** The DMS replication instance's security group (egress is opened by the replication for the ports it uses). */
  public readonly dmsSecurityGroup: ec2.SecurityGroup;
  /** The OpenSearch domain's security group (no egress; ingress 443 is opened by its writers). */
  public readonly openSearchSecurityGroup: ec2.SecurityGroup;
  /** The pipeline functions' security group (egress HTTPS only). */
  public readonly lambdaSecurityGroup: ec2.SecurityGroup;
  /** The DataSync agent's security group (ingress 80 only from the activation function). */
  public readonly dataSyncSecurityGroup: ec2.SecurityGroup;
  /**
   * The customer-managed key (rotating) that encrypts every log group of the pipeline. It lives here because the
   * network is the first stack every other one depends on.
   */
  public readonly logEncryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logEncryptionKey = this.createLogEncryptionKey(removalPolicy);
    this.vpc = props.vpc ? validateExistingVpc(props) : this.createVpc(props, removalPolicy);

    this.dbSecurityGroup = this.securityGroup('DbSecurityGroup', 'Aurora MySQL cluster', false);
    this.dmsSecurityGroup = this.securityGroup('DmsSecurityGroup', 'DMS replication instance: reaches the on-premises source and Aurora', false);
    this.openSearchSecurityGroup = this.securityGroup('OpenSearchSecurityGroup', 'OpenSearch audit domain', false);
    this.lambdaSecurityGroup = this.securityGroup('LambdaSecurityGroup', 'Pipeline functions: call AWS APIs over HTTPS', false);
    this.lambdaSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs over HTTPS');
    this.dataSyncSecurityGroup = this.securityGroup('DataSyncSecurityGroup', 'DataSync agent: reaches AWS and the on-premises file shares', true);
  }

  private createVpc(props: NetworkOptions, removalPolicy: RemovalPolicy): ec2.Vpc {
    const cidr = props.cidr ?? '10.0.0.0/16';
    const maxAzs = props.maxAzs ?? 2;
    const natGateways = props.natGateways ?? 1;
    const cidrMask = props.subnetCidrMask ?? 24;
    requireIntegerInRange('network.maxAzs', maxAzs, 2, 6);
    requireIntegerInRange('network.natGateways', natGateways, 1, maxAzs);
    requireIntegerInRange('network.subnetCidrMask', cidrMask, 16, 28);
    requireCidrFits(cidr, cidrMask, maxAzs);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs,
      natGateways,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask },
        { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask },
      ],
      // The default security group loses its rules, so nothing can rely on it by accident.
      restrictDefaultSecurityGroup: true,
      gatewayEndpoints: {
        // S3 traffic from Glue, DMS and the functions stays on the AWS network and skips the NAT gateway.
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: this.logEncryptionKey,
      // Goes with its key: a kept group whose key is deleted could not be read.
      removalPolicy,
    });
    const flowLog = vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup) });
    acknowledge(flowLog, 'NIST.800.53.R5-IAMNoInlinePolicy', 'CDK\'s flow-log role policy writes to this one log group only');
    const restrictDefaultSgProvider = Stack.of(this).node.children.find((c) => c.node.id.startsWith('Custom::VpcRestrictDefaultSG'));
    if (restrictDefaultSgProvider) {
      exemptFromGuard(restrictDefaultSgProvider.node.findChild('Handler'), 'lambda_inside_vpc_check',
        'CDK\'s deployment-time function that removes the default security group\'s rules; it calls only the EC2 API');
    }
    for (const subnet of vpc.publicSubnets) {
      acknowledge(subnet, 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
        'Public subnets hold only the NAT gateway and the DataSync agent, which reach AWS through the internet gateway; no security group admits traffic from the internet');
    }
    return vpc;
  }

  /** CloudWatch Logs may use the key for this account's log groups in this region only. */
  private createLogEncryptionKey(removalPolicy: RemovalPolicy): kms.Key {
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'LogEncryptionKey', {
      description: 'Encrypts the migration pipeline log groups',
      enableKeyRotation: true,
      removalPolicy,
    });
    denyGrantsExceptForAwsServices(key);
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogs',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }));
    return key;
  }

  private securityGroup(id: string, description: string, allowAllOutbound: boolean): ec2.SecurityGroup {
    return new ec2.SecurityGroup(this, id, { vpc: this.vpc, description, allowAllOutbound });
  }
}

function validateExistingVpc(props: NetworkOptions): ec2.IVpc {
  const vpc = props.vpc!;
  const conflicting = (['cidr', 'maxAzs', 'natGateways', 'subnetCidrMask', 'flowLogRetention'] as const)
    .filter((key) => props[key] !== undefined);
  if (conflicting.length > 0) {
    throw new Error(
      `network: received both an existing vpc and VPC settings (${conflicting.join(', ')}); ` +
      'expected either an existing vpc or settings for a new one.',
    );
  }
  if (vpc.isolatedSubnets.length < 2 || vpc.privateSubnets.length < 1 || vpc.publicSubnets.length < 1) {
    throw new Error(
      `network.vpc: received a VPC with ${vpc.publicSubnets.length} public, ${vpc.privateSubnets.length} private-with-egress and ` +
      `${vpc.isolatedSubnets.length} isolated subnets; expected at least 1 public, 1 private-with-egress and 2 isolated subnets.`,
    );
  }
  return vpc;
}

/** Fails when the VPC range cannot hold one subnet of each group in every AZ. */
function requireCidrFits(cidr: string, cidrMask: number, maxAzs: number): void {
  requireMatch('network.cidr', cidr, /^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/, 'an IPv4 CIDR block such as 10.0.0.0/16');
  const prefix = Number(cidr.split('/')[1]);
  const subnetsNeeded = SUBNET_GROUPS * maxAzs;
  const subnetsAvailable = prefix > cidrMask ? 0 : 2 ** (cidrMask - prefix);
  if (subnetsAvailable < subnetsNeeded) {
    throw new Error(
      `network.cidr: received '${cidr}', which holds ${subnetsAvailable} /${cidrMask} subnets; expected room for ${subnetsNeeded} ` +
      `(${SUBNET_GROUPS} subnet groups x ${maxAzs} AZs): use a larger range or a smaller subnetCidrMask.`,
    );
  }
}
