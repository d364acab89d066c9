import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { acknowledgeAll, acknowledgeBucketNotifications, exemptFromGuard } from './private/acknowledgements';
import { acknowledgeAutoDeleteProvider, bucketRemoval } from './private/bucket-retention';
import { requireDurationInRange } from './private/validation';

/** Where new files land in the data bucket; only objects under it are validated. */
export const INCOMING_PREFIX = 'incoming/';
/** Where the validation reports are written in the data bucket. */
export const REPORTS_PREFIX = 'reports/';
/** Where files that failed validation are moved in the data bucket. */
export const QUARANTINE_PREFIX = 'quarantine/';
/** Where the Glue scripts live in the script bucket. */
export const SCRIPTS_PREFIX = 'scripts/';

/** Settings of the pipeline's buckets. */
export interface StorageOptions {
  /**
   * How long previous versions of objects are kept before they are deleted.
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;
}

/** Props of {@link Storage}. */
export interface StorageProps extends StorageOptions {
  /**
   * What happens to the buckets when the stack is deleted: RETAIN keeps them; DESTROY empties them (every
   * version) and deletes them.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The data bucket (files from DataSync land under `incoming/`; S3 sends its events to EventBridge),
 * the script bucket for Glue, and a bucket for the server access logs of both.
 */
export class Storage extends Construct {
  /** Where migrated files land, are validated (`reports/`) and quarantined (`quarantine/`). */
  public readonly dataBucket: s3.IBucket;
  /** Holds the Glue scripts (`scripts/`) and Glue's temporary files. */
  public readonly scriptBucket: s3.IBucket;
  /** Receives the server access logs of the data and script buckets. */
  public readonly accessLogsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    // Log delivery is granted by a bucket policy scoped to the source buckets, not by the legacy log-delivery ACL.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const requested = props.noncurrentVersionExpiration ?? Duration.days(90);
    // S3 lifecycle rules count whole days.
    const noncurrentVersionExpiration = requireDurationInRange(this, 'storage.noncurrentVersionExpiration', requested, Duration.days(1), Duration.days(3650), 'days')
      ? requested : Duration.days(90);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      ...secureBucketDefaults(removalPolicy),
      // Server access logs can only be delivered to a bucket encrypted with SSE-S3.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'ExpireOldAccessLogs', expiration: Duration.days(365), noncurrentVersionExpiration }],
    });

    this.dataBucket = new s3.Bucket(this, 'DataBucket', {
      ...secureBucketDefaults(removalPolicy),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [{ id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration }],
    });

    this.scriptBucket = new s3.Bucket(this, 'ScriptBucket', {
      ...secureBucketDefaults(removalPolicy),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'script-bucket/',
      lifecycleRules: [{ id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration }],
    });

    // The buckets send their events to EventBridge (eventBridgeEnabled in secureBucketDefaults): the pipeline starts
    // from objects created under `incoming/`, and deletions and audit events are watched. CDK's notifications
    // resource writes the bucket's whole notification configuration, EventBridge included, so notifications a user
    // adds with addEventNotification() keep EventBridge on.
    acknowledgeBucketNotifications([this.dataBucket, this.scriptBucket, this.accessLogsBucket]);
    for (const bucket of [this.dataBucket, this.scriptBucket, this.accessLogsBucket]) {
      acknowledgeAll(bucket, {
        'NIST.800.53.R5-S3DefaultEncryptionKMS': 'SSE-S3 is the specification\'s encryption (and the only one server access logs can be delivered to)',
        'NIST.800.53.R5-S3BucketReplicationEnabled': 'Versioning keeps every version; cross-region replication is an account-level choice outside the pipeline',
      });
      exemptFromGuard(bucket, 's3_bucket_default_encryption_kms_check', 'SSE-S3 is the specification\'s encryption (and the only one server access logs can be delivered to)');
      exemptFromGuard(bucket, 's3_bucket_object_lock_enabled_check',
        'Versioning and the 90-day noncurrent retention keep overwritten and deleted objects; object lock would block the pipeline\'s own quarantine moves');
    }
    exemptFromGuard(this.accessLogsBucket, 's3_bucket_logging_enabled_check', 'This bucket receives the access logs; logging it into itself would loop');
    acknowledgeAutoDeleteProvider(Stack.of(this));
  }
}

function secureBucketDefaults(removalPolicy: RemovalPolicy): s3.BucketProps {
  return {
    eventBridgeEnabled: true,
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    ...bucketRemoval(removalPolicy),
  };
}
