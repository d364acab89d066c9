import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, exemptCrossStackReference, exemptFromGuard, isCrossStack } from './private/acknowledgements';
import { denyGrantsExceptForAwsServices } from './private/key-policies';
import { EMAIL_PATTERN, requireDurationInRange, requireMatch } from './private/validation';

/** Settings of the topics and queues. */
export interface MessagingOptions {
  /**
   * An address subscribed to the validation and alert topics (the subscription must be confirmed from the mail).
   * It is the default of `alarmEmail` and `outcomeEmail`.
   * @default - no e-mail subscription
   */
  readonly notificationEmail?: string;

  /**
   * The address subscribed to the alert topic: alarms and remediation alerts.
   * @default - `notificationEmail`
   */
  readonly alarmEmail?: string;

  /**
   * The address subscribed to the validation topic: validation results and migration outcomes.
   * @default - `notificationEmail`
   */
  readonly outcomeEmail?: string;

  /**
   * How long the dead-letter queues keep failed events.
   * @default Duration.days(14)
   */
  readonly deadLetterRetention?: Duration;
}

/** Props of {@link Messaging}. */
export interface MessagingProps extends MessagingOptions {
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * The role of the Glue validation job, which publishes results to the validation topic.
   * @default - nobody outside this construct is granted publishing
   */
  readonly validationPublisher?: iam.IRole;
  /**
   * What happens to the key and the dead-letter queues when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The validation topic (results of each file, with the e-mail subscription), the alert topic
 * (remediation and alarms), and the dead-letter queue of the pipeline's functions, all encrypted with one
 * customer-managed key that rotates.
 */
export class Messaging extends Construct {
  /** Validation results (attributes `outcome` PASSED/FAILED, `objectKey`, `bucket`) and migration outcomes. */
  public readonly validationTopic: sns.ITopic;
  /** Alerts from the remediation function and the alarms. */
  public readonly alertTopic: sns.ITopic;
  /** Events that the pipeline's functions could not process after their retries. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The key of the topics and queues. */
  public readonly key: kms.IKey;
  /** How long dead-letter queues keep messages. */
  public readonly deadLetterRetention: Duration;
  /** What happens to the key and the dead-letter queues when the stack is deleted. */
  private readonly removalPolicy: RemovalPolicy;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    for (const prop of ['notificationEmail', 'alarmEmail', 'outcomeEmail'] as const) {
      requireMatch(this, `messaging.${prop}`, props[prop], EMAIL_PATTERN, 'an e-mail address such as ops@example.com');
    }
    const requestedRetention = props.deadLetterRetention ?? Duration.days(14);
    // SQS rejects (at construction) a retention outside 1 minute to 14 days; the default stands in.
    this.deadLetterRetention = requireDurationInRange(this, 'messaging.deadLetterRetention', requestedRetention, Duration.minutes(1), Duration.days(14))
      ? requestedRetention : Duration.days(14);

    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const key = new kms.Key(this, 'Key', {
      description: `Encrypts the migration pipeline's topics and queues (${props.environmentSuffix})`,
      enableKeyRotation: true,
      removalPolicy: this.removalPolicy,
    });
    this.key = key;
    this.allowEventBridgeToUseKey();
    this.allowServicesToUseKey(['cloudwatch.amazonaws.com', 'sns.amazonaws.com']);
    denyGrantsExceptForAwsServices(key);

    this.validationTopic = new sns.Topic(this, 'ValidationTopic', {
      topicName: `migration-validation-${props.environmentSuffix}`,
      displayName: 'Migration validation results',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      topicName: `migration-alerts-${props.environmentSuffix}`,
      displayName: 'Migration pipeline alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.deadLetterQueue = this.createDeadLetterQueue(this, 'DeadLetterQueue', `migration-dlq-${props.environmentSuffix}`);

    // Each topic's own address wins over the shared one.
    const outcomeEmail = props.outcomeEmail ?? props.notificationEmail;
    const alarmEmail = props.alarmEmail ?? props.notificationEmail;
    if (outcomeEmail) {
      this.validationTopic.addSubscription(new subscriptions.EmailSubscription(outcomeEmail));
    }
    if (alarmEmail) {
      this.alertTopic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
    }
    if (props.validationPublisher) {
      this.grantValidationPublish(props.validationPublisher);
    }
  }

  /**
   * Creates a dead-letter queue encrypted with this construct's key in `scope`. Concerns that own event
   * rules create their target DLQs next to the rules, so the queue policy never points back at a later stack.
   */
  public createDeadLetterQueue(scope: Construct, id: string, queueName?: string): sqs.Queue {
    const queue = new sqs.Queue(scope, id, {
      queueName,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      retentionPeriod: this.deadLetterRetention,
      enforceSSL: true,
      // Failed events wait here for a replay: kept with the stack's data.
      removalPolicy: this.removalPolicy,
    });
    acknowledge(queue, 'AwsSolutions-SQS3', 'This queue is itself a dead-letter queue; its messages raise an alarm');
    exemptFromGuard(queue, 'sqs_dlq_check', 'This queue is itself a dead-letter queue; its messages raise an alarm');
    if (isCrossStack(queue, this.key)) {
      exemptCrossStackReference(queue, 'sqs_queue_encrypted_check', 'KmsMasterKeyId (the messaging key)');
    }
    return queue;
  }

  /**
   * Lets a role publish validation results. The policy is created here, in the topic's stack, so the
   * publisher's stack does not need to know the topic.
   */
  private grantValidationPublish(role: iam.IRole): void {
    const policy = new iam.Policy(this, 'ValidationPublisherPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.validationTopic.topicArn] }),
        new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.keyArn] }),
      ],
    });
    acknowledge(policy, 'NIST.800.53.R5-IAMNoInlinePolicy', 'Attached to the Glue job role only; allows publishing to the validation topic only');
  }

  /**
   * EventBridge writes undelivered events to the rules' encrypted dead-letter queues with this key. The statement is
   * the one the SQS Developer Guide gives for AWS services that send to encrypted queues ("Configure KMS permissions
   * for AWS services") without conditions: EventBridge does not supply `aws:SourceAccount` / `aws:SourceArn` to KMS
   * (the SNS Developer Guide says so for EventBridge to encrypted topics), so such a condition would make the queues
   * unreachable. Which rule may send is decided by each queue's policy (`sqs:SendMessage` for events.amazonaws.com
   * with `aws:SourceArn` = the rule, as "Using dead-letter queues to process undelivered events" documents).
   */
  private allowEventBridgeToUseKey(): void {
    this.key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowEventBridgeToWriteDeadLetterQueues',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: ['*'],
    }));
  }

  /** CloudWatch (alarm actions) and SNS may encrypt with the key, for this account only. */
  private allowServicesToUseKey(servicePrincipals: string[]): void {
    this.key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowPipelineServicesToEncrypt',
      principals: servicePrincipals.map((p) => new iam.ServicePrincipal(p)),
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
    }));
  }
}
