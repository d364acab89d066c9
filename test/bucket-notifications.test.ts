import { describe, test, expect } from '@jest/globals';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { buildPipeline } from './pipeline-fixture';

/*
 * "AWS::S3::Bucket NotificationConfiguration", CloudFormation User Guide, and "Using EventBridge" (Amazon S3 User
 * Guide): S3 keeps one notification configuration per bucket, EventBridge included. CDK's notifications custom
 * resource writes that configuration whole, so EventBridge must be part of it, or a notification added with
 * addEventNotification() would switch EventBridge (and with it the whole pipeline) off.
 */
describe('a notification a user adds to the data bucket keeps EventBridge on', () => {
  const pipeline = buildPipeline({});
  const storageStack = pipeline.nestedStacks.StorageStack;
  const queue = new sqs.Queue(storageStack, 'UserQueue', { enforceSSL: true });
  pipeline.storage.dataBucket.addEventNotification(s3.EventType.OBJECT_REMOVED, new s3n.SqsDestination(queue), { prefix: 'archive/' });
  const template = Template.fromStack(storageStack);

  test('the notifications resource of the data bucket holds both EventBridge and the user notification', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: Match.stringLikeRegexp('^StorageDataBucket') },
      NotificationConfiguration: {
        EventBridgeConfiguration: {},
        QueueConfigurations: [Match.objectLike({ Events: ['s3:ObjectRemoved:*'] })],
      },
    });
  });

  test('no bucket sets its notification configuration directly, which the custom resource would overwrite', () => {
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(bucket.Properties.NotificationConfiguration).toBeUndefined();
    }
  });

  test('every bucket of the storage stack sends its events to EventBridge', () => {
    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications'));
    expect(notifications).toHaveLength(3);
    for (const notification of notifications) {
      expect(notification.Properties.NotificationConfiguration.EventBridgeConfiguration).toEqual({});
    }
  });
});
