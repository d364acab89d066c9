import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledgeAll, exemptFromGuard } from './acknowledgements';

/**
 * How a bucket goes with the stack: kept as it is (RETAIN), or emptied of every object version and delete marker
 * and then deleted (DESTROY). CloudFormation cannot delete a bucket that still holds objects, so DESTROY without
 * emptying would leave the stack in DELETE_FAILED.
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html
 */
export function bucketRemoval(removalPolicy: RemovalPolicy): Pick<s3.BucketProps, 'removalPolicy' | 'autoDeleteObjects'> {
  return { removalPolicy, autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY };
}

/**
 * CDK's auto-delete function (one per stack) runs only when CloudFormation deletes a bucket: it denies new
 * writes, then deletes every version. Its S3 permissions come from the buckets' own policies.
 */
export function acknowledgeAutoDeleteProvider(stack: Stack): void {
  const provider = stack.node.tryFindChild('Custom::S3AutoDeleteObjectsCustomResourceProvider');
  if (!provider) {
    return;
  }
  const reason = 'CDK\'s delete-time function that empties this stack\'s buckets when the environment does not retain data';
  acknowledgeAll(provider, {
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}: logs only`,
    'AwsSolutions-L1': `${reason}: CDK chooses and updates its runtime`,
    'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation per bucket deletion`,
    'NIST.800.53.R5-LambdaDLQ': `${reason}: CloudFormation waits for its answer and fails the deletion otherwise`,
    'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it reaches only S3 and needs nothing in the VPC`,
  });
  exemptFromGuard(provider.node.findChild('Handler'), 'lambda_inside_vpc_check', `${reason}: it reaches only S3 and needs nothing in the VPC`);
}
