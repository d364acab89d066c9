import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** Props of {@link functionSecurityGroup}. */
export interface FunctionSecurityGroupProps {
  readonly vpc: ec2.IVpc;
  readonly description: string;
  /** Why the function calls an AWS API over HTTPS (the egress rule's description). */
  readonly httpsPurpose: string;
  /** The one security group the function reaches, and on which port. */
  readonly peer: ec2.ISecurityGroup;
  readonly port: ec2.Port;
  readonly peerPurpose: string;
}

/**
 * The security group of a function in the VPC that calls AWS APIs over HTTPS and reaches one port of one peer. It
 * is created in the caller's scope, and `connections.allowTo` puts the peer's ingress rule there too, so the peer's
 * (network) stack never points back at the caller's stack: that would be a circular dependency between nested stacks.
 */
export function functionSecurityGroup(scope: Construct, id: string, props: FunctionSecurityGroupProps): ec2.SecurityGroup {
  const securityGroup = new ec2.SecurityGroup(scope, id, { vpc: props.vpc, description: props.description, allowAllOutbound: false });
  securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), props.httpsPurpose);
  securityGroup.connections.allowTo(props.peer, props.port, props.peerPurpose);
  return securityGroup;
}
