import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { exemptCrossStackReference, isCrossStack } from './acknowledgements';

/** Settings of one of the pipeline's log groups. */
export interface PipelineLogGroupProps {
  readonly logGroupName?: string;
  readonly retention: logs.RetentionDays;
  readonly encryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/** A log group with retention and, when given, the pipeline's customer-managed key. */
export function createLogGroup(scope: Construct, id: string, props: PipelineLogGroupProps): logs.LogGroup {
  const logGroup = new logs.LogGroup(scope, id, props);
  if (props.encryptionKey && isCrossStack(logGroup, props.encryptionKey)) {
    exemptCrossStackReference(logGroup, 'cloudwatch_log_group_encrypted_check', 'KmsKeyId (the pipeline log key)');
  }
  return logGroup;
}
