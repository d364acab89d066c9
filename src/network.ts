import { ArnFormat, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, exemptFromGuard } from './private/acknowledgements';
import { denyGrantsExceptForAwsServices } from './private/key-policies';
import { cidrsOverlap, reportError, requireIntegerInRange, requireIpv4Cidr, requireThat } from './private/validation';

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
   * How many Availability Zones the new VPC spans (Aurora needs two). With `availabilityZones`, the VPC
   * uses the first `maxAzs` of them.
   * @default 2, or the number of `availabilityZones` when they are given
   */
  readonly maxAzs?: number;

  /**
   * The Availability Zones of the new VPC, e.g. ['us-west-2a', 'us-west-2b']. Naming them lets a MigrationPipeline in
   * a stack with a concrete account and region synthesize without AWS credentials: otherwise CDK looks the zones up
   * in the account.
   * At least two, all in the stack's region.
   * @default - the first `maxAzs` zones of the stack's region (looked up when the stack's account and region are concrete)
   */
  readonly availabilityZones?: string[];

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

/**
 * The on-premises network that the replication instance and the DataSync agent reach through a VPN or Direct Connect.
 * Giving it scopes their outbound rules to these ranges and ports.
 */
export interface OnPremisesNetworkOptions {
  /**
   * The on-premises IPv4 ranges that hold the source database and the file shares, e.g. ['192.168.0.0/16']. None may
   * overlap the VPC's range (the routes back would be ambiguous); an overlap is refused at synth.
   */
  readonly cidrs: string[];

  /**
   * The TCP ports of the file shares the DataSync agent reads: NFS 2049 and SMB 445 ("Network requirements for
   * DataSync", DataSync User Guide); add 139 for older SMB servers, 8020 and 9866 for HDFS, 443 or 80 for object storage.
   * @default [2049, 445]
   * @see https://docs.aws.amazon.com/datasync/latest/userguide/datasync-network.html
   */
  readonly fileSharePorts?: number[];
}

/** The file-share ports the DataSync agent reaches on premises by default: NFS and SMB. */
const DEFAULT_FILE_SHARE_PORTS = [2049, 445];

/** Props of {@link Network}. */
export interface NetworkProps extends NetworkOptions {
  /**
   * The on-premises network: when given, the DataSync agent's outbound traffic is limited to HTTPS (the DataSync
   * service) and the file-share ports of these ranges, and a VPC range overlapping them is refused.
   * @default - the agent may reach any address (its security group allows all outbound traffic)
   */
  readonly onPremises?: OnPremisesNetworkOptions;
  /**
   * Whether the DataSync agent's security group is created.
   * @default true
   */
  readonly dataSyncAgent?: boolean;
  /**
   * What happens to the log encryption key and the flow-log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const SUBNET_GROUPS = 3;
const DEFAULT_CIDR = '10.0.0.0/16';
/** An Availability Zone name such as us-west-2a or us-gov-west-1b (checked when the stack's region is not known). */
const AZ_NAME_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/;

/**
 * The VPC (public, private-with-egress and isolated subnets) and one security group per kind of workload.
 * Security groups start closed; the concerns that consume a service open exactly the port they need.
 */
export class Network extends Construct {
  /** The VPC every component runs in. */
  public readonly vpc: ec2.IVpc;
  /** Aurora's security group (no egress; ingress 3306 is opened by its consumers). */
  public readonly dbSecurityGroup: ec2.ISecurityGroup;
  /** The DMS replication instance's security group (egress is opened by the replication for the ports it uses). */
  public readonly dmsSecurityGroup: ec2.ISecurityGroup;
  /** The OpenSearch domain's security group (no egress; ingress 443 is opened by its writers). */
  public readonly openSearchSecurityGroup: ec2.ISecurityGroup;
  /** The pipeline functions' security group (egress HTTPS only). */
  public readonly lambdaSecurityGroup: ec2.ISecurityGroup;
  /**
   * The DataSync agent's security group (ingress 80 only from the activation function); absent when the pipeline has
   * no agent.
   */
  public readonly dataSyncSecurityGroup?: ec2.ISecurityGroup;
  /** The well-formed on-premises ranges that egress rules are scoped to; absent when no on-premises network is given. */
  public readonly onPremisesCidrs?: string[];
  /**
   * The customer-managed key (rotating) that encrypts every log group of the pipeline. It lives here because the
   * network is the first stack every other one depends on.
   */
  public readonly logEncryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logEncryptionKey = this.createLogEncryptionKey(removalPolicy);
    this.vpc = props.vpc && this.validateExistingVpc(props) ? props.vpc : this.createVpc(props.vpc ? {} : props, removalPolicy);

    this.dbSecurityGroup = this.securityGroup('DbSecurityGroup', 'Aurora MySQL cluster', false);
    this.dmsSecurityGroup = this.securityGroup('DmsSecurityGroup', 'DMS replication instance: reaches the on-premises source and Aurora', false);
    this.openSearchSecurityGroup = this.securityGroup('OpenSearchSecurityGroup', 'OpenSearch audit domain', false);
    this.lambdaSecurityGroup = this.securityGroup('LambdaSecurityGroup', 'Pipeline functions: call AWS APIs over HTTPS', false);
    this.lambdaSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs over HTTPS');
    const onPremises = props.onPremises && {
      ...props.onPremises,
      cidrs: this.validOnPremisesCidrs(props.onPremises, props.vpc ? this.vpc.vpcCidrBlock : this.validCidrOrUndefined(props)),
    };
    this.onPremisesCidrs = onPremises?.cidrs;
    if (props.dataSyncAgent !== false) {
      this.dataSyncSecurityGroup = this.createDataSyncSecurityGroup(onPremises);
    }
  }

  /**
   * Without the on-premises ranges, the agent may reach any address (today's behaviour: its file shares can be
   * anywhere the routes lead). With them, it reaches DataSync over HTTPS and the file shares on their ports only;
   * DNS and time go to the VPC resolver and the Amazon Time Sync Service, which security groups do not filter.
   */
  private createDataSyncSecurityGroup(onPremises?: OnPremisesNetworkOptions): ec2.SecurityGroup {
    const group = this.securityGroup('DataSyncSecurityGroup', 'DataSync agent: reaches AWS and the on-premises file shares', !onPremises);
    if (onPremises) {
      group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'DataSync service endpoints over HTTPS');
      for (const cidr of onPremises.cidrs) {
        for (const port of onPremises.fileSharePorts ?? DEFAULT_FILE_SHARE_PORTS) {
          group.addEgressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), `On-premises file shares (TCP ${port})`);
        }
      }
    }
    return group;
  }

  /**
   * The well-formed on-premises ranges. Reports malformed ranges and ports, and ranges that overlap the VPC's (when
   * it is known at synth).
   */
  private validOnPremisesCidrs(onPremises: OnPremisesNetworkOptions, vpcCidr: string | undefined): string[] {
    requireThat(this, onPremises.cidrs.length > 0, 'onPremisesNetwork.cidrs: received an empty list; expected at least one IPv4 CIDR block.');
    const valid = onPremises.cidrs.filter((cidr) => requireIpv4Cidr(this, 'onPremisesNetwork.cidrs', cidr));
    for (const port of onPremises.fileSharePorts ?? []) {
      requireIntegerInRange(this, 'onPremisesNetwork.fileSharePorts', port, 1, 65535);
    }
    if (vpcCidr !== undefined && !Token.isUnresolved(vpcCidr)) {
      for (const cidr of valid.filter((c) => !Token.isUnresolved(c) && cidrsOverlap(c, vpcCidr))) {
        reportError(this, `onPremisesNetwork.cidrs: received '${cidr}', which overlaps the VPC range '${vpcCidr}'; ` +
          'expected on-premises ranges outside the VPC (set network.cidr to a free range), because traffic to an overlapping range never leaves the VPC.');
      }
    }
    return valid;
  }

  /** The new VPC's range when it is valid, else undefined (its own error is reported elsewhere). */
  private validCidrOrUndefined(props: NetworkOptions): string | undefined {
    const cidr = props.cidr ?? DEFAULT_CIDR;
    return /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr) ? cidr : undefined;
  }

  private createVpc(props: NetworkOptions, removalPolicy: RemovalPolicy): ec2.Vpc {
    const cidrMask = props.subnetCidrMask ?? 24;
    const zones = this.availabilityZones(props);
    const maxAzs = zones?.length ?? this.validMaxAzs(props.maxAzs ?? 2);
    const natGateways = props.natGateways ?? 1;
    // A value CDK would reject while building the VPC is reported and replaced by the default, so that the
    // remaining props are still checked in the same synthesis.
    const natGatewaysOk = requireIntegerInRange(this, 'network.natGateways', natGateways, 1, maxAzs);
    const cidrMaskOk = requireIntegerInRange(this, 'network.subnetCidrMask', cidrMask, 16, 28);
    const subnetCidrMask = cidrMaskOk ? cidrMask : 24;
    const cidr = this.validCidr(props.cidr ?? DEFAULT_CIDR, subnetCidrMask, maxAzs);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      ...(zones ? { availabilityZones: zones } : { maxAzs }),
      natGateways: natGatewaysOk ? natGateways : 1,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: subnetCidrMask, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: subnetCidrMask },
        { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: subnetCidrMask },
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

  /** `maxAzs` when it is usable, else the default (the error is reported). */
  private validMaxAzs(maxAzs: number): number {
    return requireIntegerInRange(this, 'network.maxAzs', maxAzs, 2, 6) ? maxAzs : 2;
  }

  /**
   * The named zones the VPC uses (the first `maxAzs` of them), or undefined when none are named or they cannot
   * be used (the error is reported). Names are checked against the stack's region when it is concrete.
   */
  private availabilityZones(props: NetworkOptions): string[] | undefined {
    const zones = props.availabilityZones;
    if (zones === undefined) {
      return undefined;
    }
    const wanted = props.maxAzs !== undefined ? this.validMaxAzs(props.maxAzs) : Math.max(zones.length, 2);
    const received = `[${zones.map((zone) => `'${zone}'`).join(', ')}]`;
    const distinct = new Set(zones).size === zones.length;
    const enough = requireThat(this, distinct && zones.length >= wanted,
      `network.availabilityZones: received ${received}; expected at least ${wanted} distinct Availability Zones` +
      (props.maxAzs !== undefined ? ` (network.maxAzs is ${props.maxAzs})` : ' (Aurora needs two)') + '.');
    const region = Stack.of(this).region;
    const regionKnown = !Token.isUnresolved(region);
    const pattern = regionKnown ? new RegExp(`^${region}[a-z]$`) : AZ_NAME_PATTERN;
    const named = requireThat(this, zones.every((zone) => Token.isUnresolved(zone) || pattern.test(zone)),
      `network.availabilityZones: received ${received}; expected Availability Zone names ` +
      (regionKnown ? `of the stack's region ${region}, such as '${region}a'.` : "such as 'us-west-2a'."));
    return enough && named ? zones.slice(0, wanted) : undefined;
  }

  /** `cidr` when it is a usable range for the subnets, else the default (the error is reported). */
  private validCidr(cidr: string, cidrMask: number, maxAzs: number): string {
    if (!requireIpv4Cidr(this, 'network.cidr', cidr)) {
      return DEFAULT_CIDR;
    }
    const prefix = Number(cidr.split('/')[1]);
    const subnetsNeeded = SUBNET_GROUPS * maxAzs;
    const subnetsAvailable = prefix > cidrMask ? 0 : 2 ** (cidrMask - prefix);
    const fits = requireThat(this, subnetsAvailable >= subnetsNeeded,
      `network.cidr: received '${cidr}', which holds ${subnetsAvailable} /${cidrMask} subnets; expected room for ${subnetsNeeded} ` +
      `(${SUBNET_GROUPS} subnet groups x ${maxAzs} AZs): use a larger range or a smaller subnetCidrMask.`);
    return fits ? cidr : DEFAULT_CIDR;
  }

  /**
   * Reports an existing VPC given together with settings for a new one (the settings are ignored), and one without
   * the subnets the pipeline needs; returns false in that case, so that a new VPC stands in while the other props
   * are checked (the synthesis fails either way).
   */
  private validateExistingVpc(props: NetworkOptions): boolean {
    const vpc = props.vpc!;
    const conflicting = (['cidr', 'maxAzs', 'availabilityZones', 'natGateways', 'subnetCidrMask', 'flowLogRetention'] as const)
      .filter((key) => props[key] !== undefined);
    if (conflicting.length > 0) {
      reportError(this,
        `network: received both an existing vpc and VPC settings (${conflicting.join(', ')}); ` +
        'expected either an existing vpc or settings for a new one.');
    }
    return requireThat(this, vpc.isolatedSubnets.length >= 2 && vpc.privateSubnets.length >= 1 && vpc.publicSubnets.length >= 1,
      `network.vpc: received a VPC with ${vpc.publicSubnets.length} public, ${vpc.privateSubnets.length} private-with-egress and ` +
      `${vpc.isolatedSubnets.length} isolated subnets; expected at least 1 public, 1 private-with-egress and 2 isolated subnets.`);
  }

  private securityGroup(id: string, description: string, allowAllOutbound: boolean): ec2.SecurityGroup {
    return new ec2.SecurityGroup(this, id, { vpc: this.vpc, description, allowAllOutbound });
  }
}
