import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeAll, exemptFromGuard, expectWildcards } from './acknowledgements';
import { createLogGroup } from './log-groups';
import { readRuntimeSource } from './runtime-code';

/** Props of {@link TableReviewFunction}. */
export interface TableReviewFunctionProps {
  readonly functionName: string;
  /** The ARN of the task whose tables are reviewed. */
  readonly replicationTaskArn: string;
  readonly migrationType: string;
  readonly acceptTablesWithoutValidation: boolean;
  /** Receives the per-table report under `reportPrefix`; without it nothing is written or remembered. */
  readonly reportBucket?: s3.IBucket;
  readonly reportPrefix: string;
  readonly logRetention: logs.RetentionDays;
  readonly logEncryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The function the migration state machine calls to review the task's tables (src/runtime/table_review.py): it
 * pages DescribeTableStatistics, writes every table to the report bucket and returns a summary of fixed size, so
 * the state machine's state does not grow with the number of tables.
 */
export class TableReviewFunction extends Construct {
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: TableReviewFunctionProps) {
    super(scope, id);
    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: 'index.handler',
      code: lambda.Code.fromInline(readRuntimeSource('table_review.py')),
      // 5,000 tables are 10 pages of 500; five minutes leave room for DMS throttling and the SDK's retries.
      timeout: Duration.minutes(5),
      memorySize: 512,
      tracing: lambda.Tracing.ACTIVE,
      description: 'Reviews the DMS task\'s table statistics for the migration state machine',
      environment: {
        REPLICATION_TASK_ARN: props.replicationTaskArn,
        MIGRATION_TYPE: props.migrationType,
        ACCEPT_TABLES_WITHOUT_VALIDATION: String(props.acceptTablesWithoutValidation),
        REPORT_PREFIX: props.reportPrefix,
        ...(props.reportBucket ? { REPORT_BUCKET: props.reportBucket.bucketName } : {}),
      },
      logGroup: createLogGroup(this, 'Logs', {
        logGroupName: `/aws/lambda/${props.functionName}`,
        retention: props.logRetention,
        encryptionKey: props.logEncryptionKey,
        removalPolicy: props.removalPolicy,
      }),
    });
    // DescribeTableStatistics supports resource-level permissions on the task.
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['dms:DescribeTableStatistics'],
      resources: [props.replicationTaskArn],
    }));
    // The previous review's report is read back (tables already verified during the run) and replaced. Listing,
    // limited to the prefix, lets a missing report read as NoSuchKey rather than AccessDenied (S3 GetObject).
    if (props.reportBucket) {
      this.function.addToRolePolicy(new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.reportBucket.arnForObjects(`${props.reportPrefix}*`)],
      }));
      this.function.addToRolePolicy(new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.reportBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${props.reportPrefix}*`] } },
      }));
    }
    this.acknowledgeFindings(props.reportPrefix);
  }

  private acknowledgeFindings(reportPrefix: string): void {
    const reason = 'Called synchronously by the migration state machine, once per poll after the load';
    expectWildcards(this.function, [
      { finding: /^Resource::\*$/, reason: 'Only X-Ray trace upload, which supports no resource-level permissions' },
      { finding: new RegExp(`^Resource::.*${reportPrefix.replace(/\//g, '\\/')}\\*>?$`), reason: `The run reports under ${reportPrefix} only` },
    ]);
    acknowledgeAll(this.function, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}; AWS-managed log-writing policy`,
      'AwsSolutions-L1': 'Python 3.12, the runtime of the pipeline\'s other functions; the code runs unchanged on later versions',
      'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation at a time per run`,
      'NIST.800.53.R5-LambdaDLQ': `${reason}: the state machine receives every error and ends the run with a report and a notification`,
      'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it calls only the DMS and S3 APIs`,
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The policy belongs to this one function and allows only reading the task\'s table statistics and the run reports',
    });
    exemptFromGuard(this.function, 'lambda_inside_vpc_check', `${reason}: it calls only the DMS and S3 APIs`);
  }
}
