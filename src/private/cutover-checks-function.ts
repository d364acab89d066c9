import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeAll, exemptFromGuard, expectWildcards } from './acknowledgements';
import { cutoverChecksCode } from './cutover-checks-code';
import { functionSecurityGroup } from './function-security-group';
import { createLogGroup } from './log-groups';

/** Props of {@link CutoverChecksFunction}. */
export interface CutoverChecksFunctionProps {
  readonly functionName: string;
  readonly vpc: ec2.IVpc;
  /** Aurora's security group; the function reaches it on 3306. */
  readonly targetSecurityGroup: ec2.ISecurityGroup;
  /** The source's port, and the ranges it lives in (anywhere when unknown, as for DMS: the host is in the secret). */
  readonly sourcePort: number;
  readonly sourceCidrs?: string[];
  /** The DMS source secret and the Aurora secret (`username`, `password`, `host`, `port`). */
  readonly sourceSecret: secretsmanager.ISecret;
  readonly targetSecret: secretsmanager.ISecret;
  /** The target's control schema (where DMS keeps awsdms_apply_exceptions). */
  readonly controlSchema: string;
  /** Holds the table reviews the checks read (under `reviewPrefix`) and the details they write (`reportPrefix`). */
  readonly reportBucket: s3.IBucket;
  readonly reviewPrefix: string;
  readonly reportPrefix: string;
  readonly logRetention: logs.RetentionDays;
  readonly logEncryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The cutover's database checks (src/runtime/cutover_checks.py): apply exceptions on the target and the
 * reconciliation of the tables DMS cannot validate. It runs in the VPC, beside DMS, because it connects to both
 * databases; it reads their credentials from the two secrets at run time, so only their ARNs are in the template.
 */
export class CutoverChecksFunction extends Construct {
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: CutoverChecksFunctionProps) {
    super(scope, id);
    const securityGroup = functionSecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Cutover checks: Aurora on 3306, the source on its port, AWS APIs over HTTPS',
      httpsPurpose: 'Secrets Manager and S3 APIs over HTTPS',
      peer: props.targetSecurityGroup,
      port: ec2.Port.tcp(3306),
      peerPurpose: 'Cutover checks read the apply exceptions and count the target\'s tables',
    });
    for (const peer of props.sourceCidrs ? props.sourceCidrs.map((cidr) => ec2.Peer.ipv4(cidr)) : [ec2.Peer.anyIpv4()]) {
      securityGroup.addEgressRule(peer, ec2.Port.tcp(props.sourcePort), 'Cutover checks count the source\'s tables');
    }
    const runtime = lambda.Runtime.PYTHON_3_12;
    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      runtime,
      handler: 'index.handler',
      code: cutoverChecksCode(runtime),
      // Lambda's longest: a count and a checksum are full scans; the handler stops reconciling a minute before.
      timeout: Duration.minutes(15),
      memorySize: 512,
      tracing: lambda.Tracing.ACTIVE,
      description: 'Checks apply exceptions and reconciles tables DMS cannot validate, for a cutover',
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      environment: {
        SOURCE_SECRET_ARN: props.sourceSecret.secretArn,
        TARGET_SECRET_ARN: props.targetSecret.secretArn,
        CONTROL_SCHEMA: props.controlSchema,
        REPORT_BUCKET: props.reportBucket.bucketName,
        REPORT_PREFIX: props.reportPrefix,
      },
      logGroup: createLogGroup(this, 'Logs', {
        logGroupName: `/aws/lambda/${props.functionName}`,
        retention: props.logRetention,
        encryptionKey: props.logEncryptionKey,
        removalPolicy: props.removalPolicy,
      }),
    });
    props.sourceSecret.grantRead(this.function);
    props.targetSecret.grantRead(this.function);
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [props.reportBucket.arnForObjects(`${props.reviewPrefix}*`)],
    }));
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject'],
      resources: [props.reportBucket.arnForObjects(`${props.reportPrefix}*`)],
    }));
    this.acknowledgeFindings(props);
  }

  private acknowledgeFindings(props: CutoverChecksFunctionProps): void {
    const reason = 'Called synchronously by the cutover state machine, once per cutover';
    const prefix = (value: string) => value.replace(/\//g, '\\/');
    expectWildcards(this.function, [
      { finding: /^Resource::\*$/, reason: 'Only X-Ray trace upload, which supports no resource-level permissions' },
      { finding: new RegExp(`^Resource::.*${prefix(props.reviewPrefix)}\\*>?$`), reason: `Reads the cutover's table review under ${props.reviewPrefix} only` },
      { finding: new RegExp(`^Resource::.*${prefix(props.reportPrefix)}\\*>?$`), reason: `Writes the cutover's details under ${props.reportPrefix} only` },
    ]);
    acknowledgeAll(this.function, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}; AWS-managed log-writing policy`,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]': `${reason}; AWS-managed policy for the network interfaces of a function in a VPC`,
      'AwsSolutions-L1': 'Python 3.12, the runtime of the pipeline\'s other functions; the code runs unchanged on later versions',
      'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation at a time`,
      'NIST.800.53.R5-LambdaDLQ': `${reason}: the state machine receives every error and aborts the cutover with a report and a notification`,
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The policy belongs to this one function and allows only reading the two secrets, the table review and writing the cutover details',
    });
    exemptFromGuard(this.function, 'lambda_inside_vpc_check',
      'It runs in the private subnets of the pipeline VPC, which reach this nested stack as parameters the rule cannot resolve');
  }
}
