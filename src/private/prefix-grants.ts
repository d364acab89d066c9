import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * Lets a principal write new objects under one prefix of a bucket, and nothing else: no read, no delete, no
 * other prefix. `s3:PutObject` covers single and multipart uploads; `s3:AbortMultipartUpload` lets the
 * uploader clean up a multipart upload it gives up. With a KMS-encrypted bucket, S3 needs the uploader's
 * `kms:GenerateDataKey` (and `kms:Decrypt` for multipart uploads) on the bucket's key.
 */
export function grantPutUnderPrefix(bucket: s3.IBucket, prefix: string, grantee: iam.IGrantable): iam.Grant {
  const grant = grantToIdentity(grantee, ['s3:PutObject', 's3:AbortMultipartUpload'], [bucket.arnForObjects(`${prefix}*`)]);
  bucket.encryptionKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
  return grant;
}

/**
 * Lets a principal list and read the objects under one prefix of a bucket, and nothing else. Listing is limited
 * to the prefix by the `s3:prefix` condition; with a KMS-encrypted bucket, reading needs `kms:Decrypt`.
 */
export function grantReadUnderPrefix(bucket: s3.IBucket, prefix: string, grantee: iam.IGrantable): iam.Grant {
  grantToIdentity(grantee, ['s3:ListBucket'], [bucket.bucketArn], { StringLike: { 's3:prefix': [prefix, `${prefix}*`] } });
  const grant = grantToIdentity(grantee, ['s3:GetObject', 's3:GetObjectVersion'], [bucket.arnForObjects(`${prefix}*`)]);
  bucket.encryptionKey?.grant(grantee, 'kms:Decrypt');
  return grant;
}

/**
 * Adds the statement to the grantee's own policy. The pipeline's bucket policies are not changed, so the grantee
 * must be an identity of the pipeline's account that can hold a policy (a role, user or group).
 */
function grantToIdentity(grantee: iam.IGrantable, actions: string[], resourceArns: string[],
  conditions?: Record<string, Record<string, unknown>>): iam.Grant {
  const grant = iam.Grant.addToPrincipal({ grantee, actions, resourceArns, conditions });
  grant.assertSuccess();
  return grant;
}
