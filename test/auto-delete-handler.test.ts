/*
 * What CDK's auto-delete function (the one behind `autoDeleteObjects: true`) does when CloudFormation deletes a
 * bucket, run against aws-sdk-client-mock's S3 client. The pipeline relies on two of its behaviours:
 * - it denies new writes before emptying, so late server access log deliveries ("Amazon S3 server access log
 *   format" / "Enabling Amazon S3 server access logging", Amazon S3 User Guide: delivery is best effort and can
 *   lag) cannot refill a bucket it has emptied;
 * - it deletes every object version and delete marker ("Deleting a bucket" and "Deleting object versions from a
 *   versioning-enabled bucket", Amazon S3 User Guide), which a versioned bucket needs before DeleteBucket.
 */
import * as path from 'node:path';
import { beforeEach, describe, expect, test } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';

// CDK ships the handler as a bundled CommonJS file outside its package exports and without type declarations. It
// requires @aws-sdk/client-s3 (the Lambda runtime provides it); the test requires the same CommonJS build, so the
// class it mocks is the class the handler instantiates.
const HANDLER = path.join(path.dirname(require.resolve('aws-cdk-lib')), 'custom-resource-handlers/dist/aws-s3/auto-delete-objects-handler/index.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { autoDeleteHandler } = require(HANDLER);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const s3Sdk: typeof import('@aws-sdk/client-s3') = require('@aws-sdk/client-s3');

const s3 = mockClient(s3Sdk.S3Client);
let tagged = true;

/** The operations the handler sent, in order, with their inputs ("GetBucketTaggingCommand" -> "getBucketTagging"). */
function calls() {
  return s3.calls().map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: any };
    const name = command.constructor.name.replace(/Command$/, '');
    return { operation: name[0].toLowerCase() + name.slice(1), input: command.input };
  });
}

const deleteEvent = { RequestType: 'Delete', ResourceProperties: { BucketName: 'access-logs-bucket' } };

beforeEach(() => {
  s3.reset();
  tagged = true;
  s3.on(s3Sdk.GetBucketTaggingCommand).callsFake(() => ({ TagSet: tagged ? [{ Key: 'aws-cdk:auto-delete-objects', Value: 'true' }] : [] }));
  s3.on(s3Sdk.GetBucketPolicyCommand).resolves({
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject', Resource: '*' }] }),
  });
  s3.on(s3Sdk.PutBucketPolicyCommand).resolves({});
  s3.on(s3Sdk.DeleteObjectsCommand).resolves({});
  s3.on(s3Sdk.ListObjectVersionsCommand)
    .resolvesOnce({
      IsTruncated: true,
      Versions: [{ Key: 'data-bucket/2026-01-01-00-00-00-A', VersionId: 'v1' }, { Key: 'data-bucket/2026-01-01-00-00-00-A', VersionId: 'v2' }],
      DeleteMarkers: [{ Key: 'script-bucket/old', VersionId: 'm1' }],
    })
    .resolvesOnce({ IsTruncated: false, Versions: [{ Key: 'script-bucket/2026-01-01-00-00-01-B', VersionId: 'v3' }] })
    .resolves({ IsTruncated: false });
});

describe('CDK auto-delete handler on a Delete event', () => {
  test('denies s3:PutObject to every principal before it lists or deletes anything', async () => {
    await autoDeleteHandler(deleteEvent);
    const order = calls().map((c) => c.operation);
    const put = order.indexOf('putBucketPolicy');
    expect(put).toBeGreaterThan(-1);
    expect(put).toBeLessThan(order.indexOf('listObjectVersions'));
    const policy = JSON.parse(calls()[put].input.Policy);
    expect(policy.Statement).toContainEqual({
      Principal: '*', Effect: 'Deny', Action: ['s3:PutObject'], Resource: ['arn:aws:s3:::access-logs-bucket/*'],
    });
  });

  test('deletes every version and delete marker, page after page', async () => {
    await autoDeleteHandler(deleteEvent);
    const deleted = calls().filter((c) => c.operation === 'deleteObjects').flatMap((c) => c.input.Delete.Objects);
    expect(deleted).toEqual([
      { Key: 'data-bucket/2026-01-01-00-00-00-A', VersionId: 'v1' },
      { Key: 'data-bucket/2026-01-01-00-00-00-A', VersionId: 'v2' },
      { Key: 'script-bucket/old', VersionId: 'm1' },
      { Key: 'script-bucket/2026-01-01-00-00-01-B', VersionId: 'v3' },
    ]);
  });

  test('leaves a bucket without the auto-delete tag alone (a retained bucket that left the stack)', async () => {
    tagged = false;
    await autoDeleteHandler(deleteEvent);
    expect(calls().map((c) => c.operation)).toEqual(['getBucketTagging']);
  });
});
