import { Duration, Fn, Names } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PipelineAlarms, ResolvedAlarmThresholds } from './private/monitoring-alarms';
import { PipelineMetrics } from './private/pipeline-metrics';
import { requireDurationInRange, requireIntegerInRange } from './private/validation';
import { INCOMING_PREFIX } from './storage';

/** The thresholds of the pipeline's alarms; the defaults are the values the pipeline has always used. */
export interface AlarmThresholds {
  /**
   * How far DMS change capture may lag (reading from the source, or applying to Aurora) before an alarm fires.
   * @default Duration.seconds(600)
   */
  readonly cdcLatency?: Duration;

  /**
   * For how many consecutive 5-minute periods the CDC latency must exceed `cdcLatency` (short spikes are normal
   * during a full load).
   * @default 3
   */
  readonly cdcLatencyEvaluationPeriods?: number;

  /**
   * How many errors of one pipeline function within 5 minutes raise an alarm.
   * @default 1
   */
  readonly functionErrors?: number;

  /**
   * How many messages waiting in one dead-letter queue raise an alarm.
   * @default 1
   */
  readonly deadLetterMessages?: number;

  /**
   * How many failed (or, separately, timed-out) migration executions within 5 minutes raise an alarm.
   * @default 1
   */
  readonly failedMigrations?: number;

  /**
   * How many failed Glue validation tasks within 5 minutes raise an alarm.
   * @default 1
   */
  readonly glueFailedTasks?: number;

  /**
   * The share of the audit domain's volume, in percent, below which free storage raises an alarm.
   * @default 25
   */
  readonly openSearchFreeStoragePercent?: number;
}

/** Props of {@link Monitoring}. */
export interface MonitoringProps {
  /** Receives every failure event. */
  readonly remediationFunction: lambda.IFunction;
  /** The Glue validation job's name. */
  readonly glueJobName: string;
  /** The DMS replication task. */
  readonly replicationTask: dms.CfnReplicationTask;
  /** The migration state machine. */
  readonly stateMachine: sfn.IStateMachine;
  /** The pipeline's buckets whose object deletions are watched. */
  readonly watchedBuckets: s3.IBucket[];
  /** Keeps events EventBridge could not deliver to the remediation function. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The stream that writes audit events into OpenSearch. */
  readonly auditDeliveryStream: firehose.IDeliveryStream;
  /** Receives the alarms. */
  readonly alarmTopic: sns.ITopic;
  /** The pipeline's functions whose errors raise an alarm, by a readable name. */
  readonly functions: { [name: string]: lambda.IFunction };
  /** The dead-letter queues whose messages raise an alarm, by a readable name (this construct's own target DLQ is added). */
  readonly deadLetterQueues: { [name: string]: sqs.IQueue };
  /** The DMS replication instance identifier (metric dimension). */
  readonly replicationInstanceIdentifier: string;
  /** The audit domain. */
  readonly openSearchDomain: opensearch.IDomain;
  /** The audit domain's volume size in GiB. */
  readonly openSearchVolumeSize: number;
  /** The audit delivery stream's name. */
  readonly auditDeliveryStreamName: string;
  /**
   * How far DMS change capture may lag before an alarm fires (`alarmThresholds.cdcLatency` wins when both are given).
   * @default Duration.minutes(10)
   */
  readonly cdcLatencyThreshold?: Duration;
  /**
   * The alarms' thresholds.
   * @default - the defaults of {@link AlarmThresholds}
   */
  readonly alarmThresholds?: AlarmThresholds;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * The name the pipeline's own audit events carry.
   * @default 'migration-pipeline'
   */
  readonly pipelineName?: string;
}

/** The source of the pipeline's own events (validation results, remediation actions). */
export const PIPELINE_EVENT_SOURCE = 'migration.pipeline';

// EventBridge retries a failed delivery with backoff for up to a day, then keeps the event in the DLQ.
const TARGET_RETRY_ATTEMPTS = 8;
const TARGET_MAX_EVENT_AGE = Duration.hours(24);

/**
 * The states of a Glue job run that need remediation: every terminal state but SUCCEEDED among the JobRunState
 * values of the Glue API (FAILED, TIMEOUT, ERROR, EXPIRED, STOPPED). A STOPPED run is included: the pipeline never
 * stops a validation run itself, and a stopped run leaves its file unvalidated, so it would never be migrated.
 * STARTING, RUNNING, STOPPING and WAITING are not terminal; a WAITING run that never gets resources ends EXPIRED.
 */
export const GLUE_FAILURE_STATES = ['FAILED', 'TIMEOUT', 'ERROR', 'EXPIRED', 'STOPPED'];
/** The DMS event types that need remediation (as in `detail.eventType` of DMS's EventBridge events). */
export const DMS_FAILURE_EVENT_TYPES = ['REPLICATION_TASK_FAILED', 'REPLICATION_TASK_STOPPED'];
/** The execution statuses that need remediation. */
export const SFN_FAILURE_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'];

/**
 * The four EventBridge rules that send this pipeline's failures to the remediation function
 * (Glue job runs, the DMS task, state machine executions, object deletions in the pipeline's buckets),
 * the audit rules that send every pipeline event to the OpenSearch delivery stream, and the alarms and
 * dashboard of the whole pipeline.
 * Each rule matches this pipeline's resources only, except the DataSync audit rule (its tasks are the operator's).
 */
export class Monitoring extends Construct {
  /** Glue validation runs that ended without success (see GLUE_FAILURE_STATES). */
  public readonly glueFailureRule: events.IRule;
  /** The DMS task failed or stopped. */
  public readonly dmsFailureRule: events.IRule;
  /** Migration executions that failed, timed out or were aborted. */
  public readonly stepFunctionsFailureRule: events.IRule;
  /** Objects deleted from the data or script bucket (a data-loss guard). */
  public readonly s3DeletionRule: events.IRule;
  /** The rules that send audit events to OpenSearch, by kind: Glue, Dms, StepFunctions, DataSync, S3, Pipeline. */
  public readonly auditRules: events.IRule[];
  /** The alarms (to the alert topic), by id. */
  public readonly alarms: { [id: string]: cloudwatch.IAlarm };
  /** The dashboard that follows a file from arrival to replication. */
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly metrics: PipelineMetrics;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const suffix = props.environmentSuffix;
    const glueFailureRule = this.rule('GlueFailureRule', `migration-glue-failures-${suffix}`, 'Glue validation job run ended without success (failed, timed out, error, expired or stopped)', {
      source: ['aws.glue'],
      detailType: ['Glue Job State Change'],
      detail: { jobName: [props.glueJobName], state: GLUE_FAILURE_STATES },
    });
    const dmsFailureRule = this.rule('DmsFailureRule', `migration-dms-failures-${suffix}`, 'DMS replication task failed or stopped', {
      source: ['aws.dms'],
      detailType: ['DMS Replication Task State Change'],
      resources: [props.replicationTask.ref],
      detail: { eventType: DMS_FAILURE_EVENT_TYPES },
    });
    const stepFunctionsFailureRule = this.rule('StepFunctionsFailureRule', `migration-sfn-failures-${suffix}`,
      'Migration execution failed, timed out or was aborted', {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [props.stateMachine.stateMachineArn], status: SFN_FAILURE_STATUSES },
      });
    const s3DeletionRule = this.rule('S3DeletionRule', `migration-s3-deletions-${suffix}`, 'Objects deleted from the pipeline buckets', {
      source: ['aws.s3'],
      detailType: ['Object Deleted'],
      detail: {
        bucket: { name: props.watchedBuckets.map((b) => b.bucketName) },
        // Files under incoming/ leave it when remediation quarantines them, and old versions expire by lifecycle:
        // both are the pipeline's own doing, not data loss.
        object: { key: events.Match.anythingButPrefix(INCOMING_PREFIX) },
        reason: events.Match.anythingBut('Lifecycle Expiration'),
      },
    });

    this.glueFailureRule = glueFailureRule;
    this.dmsFailureRule = dmsFailureRule;
    this.stepFunctionsFailureRule = stepFunctionsFailureRule;
    this.s3DeletionRule = s3DeletionRule;
    for (const rule of [glueFailureRule, dmsFailureRule, stepFunctionsFailureRule, s3DeletionRule]) {
      rule.addTarget(new targets.LambdaFunction(props.remediationFunction, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: TARGET_RETRY_ATTEMPTS,
        maxEventAge: TARGET_MAX_EVENT_AGE,
      }));
    }
    this.auditRules = this.createAuditRules(props);

    this.metrics = new PipelineMetrics({
      pipelineName: props.pipelineName ?? 'migration-pipeline',
      stateMachine: props.stateMachine,
      replicationInstanceIdentifier: props.replicationInstanceIdentifier,
      // The task's Ref is its ARN (arn:<partition>:dms:<region>:<account>:task:<resource id>); DMS names the task's
      // metrics after that resource id.
      replicationTaskResourceId: Fn.select(6, Fn.split(':', props.replicationTask.ref)),
    });
    const observability = new PipelineAlarms(this, 'Alarms', {
      alarmTopic: props.alarmTopic,
      functions: props.functions,
      deadLetterQueues: { ...props.deadLetterQueues, EventTargets: props.deadLetterQueue },
      glueJobName: props.glueJobName,
      stateMachine: props.stateMachine,
      metrics: this.metrics,
      openSearchDomain: props.openSearchDomain,
      openSearchVolumeSize: props.openSearchVolumeSize,
      deliveryStreamName: props.auditDeliveryStreamName,
      thresholds: this.resolveThresholds(props),
      environmentSuffix: props.environmentSuffix,
    });
    this.alarms = observability.alarms;
    this.dashboard = observability.dashboard;
  }

  /**
   * Files that passed validation (namespace `MigrationPipeline`, metric `FilesValidated`, dimensions `Pipeline` and
   * `Outcome=PASSED`, published by the validation job once per file).
   * @default - Sum over 5 minutes
   */
  public metricFilesValidated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.filesValidated('PASSED', props);
  }

  /**
   * Files that failed validation (and were quarantined): `FilesValidated` with `Outcome=FAILED`.
   * @default - Sum over 5 minutes
   */
  public metricFilesFailedValidation(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.filesValidated('FAILED', props);
  }

  /**
   * Migration runs whose outcome was SUCCEEDED (the state machine's `ExecutionsSucceeded`).
   * @default - Sum over 5 minutes
   */
  public metricMigrationsSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.migrationsSucceeded(props);
  }

  /**
   * Migration runs whose outcome was FAILED (the state machine's `ExecutionsFailed`; runs cut off by the hard
   * timeout count as `ExecutionsTimedOut` instead).
   * @default - Sum over 5 minutes
   */
  public metricMigrationsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.migrationsFailed(props);
  }

  /**
   * How late DMS reads changes from the source, in seconds (`AWS/DMS` `CDCLatencySource`, dimensions
   * `ReplicationInstanceIdentifier` and `ReplicationTaskIdentifier` = the task's resource id).
   * @default - Maximum over 5 minutes
   */
  public metricCdcLatencySource(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.dmsTask('CDCLatencySource', props);
  }

  /**
   * How late DMS applies changes to Aurora, in seconds (`AWS/DMS` `CDCLatencyTarget`, same dimensions).
   * @default - Maximum over 5 minutes
   */
  public metricCdcLatencyTarget(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.dmsTask('CDCLatencyTarget', props);
  }

  /** The thresholds with their defaults; a value the alarms cannot use is reported and the default stands in. */
  private resolveThresholds(props: MonitoringProps): ResolvedAlarmThresholds {
    const given = props.alarmThresholds ?? {};
    const count = (prop: keyof AlarmThresholds, fallback: number, max: number) => {
      const value = given[prop] as number | undefined;
      return requireIntegerInRange(this, `alarms.${prop}`, value, 1, max) ? value ?? fallback : fallback;
    };
    const cdcLatency = given.cdcLatency ?? props.cdcLatencyThreshold ?? Duration.seconds(600);
    return {
      cdcLatency: requireDurationInRange(this, 'alarms.cdcLatency', cdcLatency, Duration.seconds(10), Duration.days(1)) ? cdcLatency : Duration.seconds(600),
      // An alarm evaluates at most one day of data: 288 periods of 5 minutes (CloudWatch User Guide, "Alarm evaluation").
      cdcLatencyEvaluationPeriods: count('cdcLatencyEvaluationPeriods', 3, 288),
      functionErrors: count('functionErrors', 1, 1_000_000),
      deadLetterMessages: count('deadLetterMessages', 1, 1_000_000),
      failedMigrations: count('failedMigrations', 1, 1_000_000),
      glueFailedTasks: count('glueFailedTasks', 1, 1_000_000),
      openSearchFreeStoragePercent: count('openSearchFreeStoragePercent', 25, 99),
    };
  }

  private rule(id: string, ruleName: string, description: string, eventPattern: events.EventPattern): events.Rule {
    return new events.Rule(this, id, { ruleName, description, eventPattern });
  }

  /** One audit rule per kind of event, each scoped to this pipeline's resources. */
  private createAuditRules(props: MonitoringProps): events.Rule[] {
    const patterns: Record<string, events.EventPattern> = {
      Glue: { source: ['aws.glue'], detail: { jobName: [props.glueJobName] } },
      Dms: { source: ['aws.dms'], resources: [props.replicationTask.ref] },
      StepFunctions: { source: ['aws.states'], detail: { stateMachineArn: [props.stateMachine.stateMachineArn] } },
      // DataSync tasks are created by operators, outside this library, so every DataSync event of the account is audited.
      DataSync: { source: ['aws.datasync'] },
      S3: { source: ['aws.s3'], detail: { bucket: { name: props.watchedBuckets.map((b) => b.bucketName) } } },
      Pipeline: { source: [PIPELINE_EVENT_SOURCE], detail: { pipeline: [props.pipelineName ?? 'migration-pipeline'] } },
    };
    return Object.entries(patterns).map(([kind, eventPattern]) => {
      const rule = this.rule(`Audit${kind}Rule`, `migration-audit-${kind.toLowerCase()}-${props.environmentSuffix}`,
        `Sends ${kind} events of the migration pipeline to the audit index`, eventPattern);
      rule.addTarget(new TargetWithDeadLetterQueue(new targets.FirehoseDeliveryStream(props.auditDeliveryStream), props.deadLetterQueue));
      return rule;
    });
  }
}

/**
 * Adds a dead-letter queue and a retry policy to a rule target whose CDK class offers neither
 * (the Firehose target), so an event the stream cannot take is kept rather than dropped.
 */
class TargetWithDeadLetterQueue implements events.IRuleTarget {
  constructor(private readonly target: events.IRuleTarget, private readonly queue: sqs.IQueue) {}

  public bind(rule: events.IRuleRef, id?: string): events.RuleTargetConfig {
    this.queue.addToResourcePolicy(new iam.PolicyStatement({
      sid: `AllowEventRule${Names.nodeUniqueId(rule.node)}`,
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [this.queue.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleRef.ruleArn } },
    }));
    return {
      ...this.target.bind(rule, id),
      deadLetterConfig: { arn: this.queue.queueArn },
      retryPolicy: { maximumRetryAttempts: TARGET_RETRY_ATTEMPTS, maximumEventAgeInSeconds: TARGET_MAX_EVENT_AGE.toSeconds() },
    };
  }
}
