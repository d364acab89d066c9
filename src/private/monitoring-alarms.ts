import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PipelineMetrics } from './pipeline-metrics';

/** Every alarm threshold, defaults applied. */
export interface ResolvedAlarmThresholds {
  readonly cdcLatency: Duration;
  readonly cdcLatencyEvaluationPeriods: number;
  readonly functionErrors: number;
  readonly deadLetterMessages: number;
  readonly failedMigrations: number;
  readonly glueFailedTasks: number;
  readonly openSearchFreeStoragePercent: number;
}

/** What the alarms and the dashboard watch. */
export interface PipelineAlarmsProps {
  /** Receives every alarm. */
  readonly alarmTopic: sns.ITopic;
  /** The pipeline's functions, by a readable name. */
  readonly functions: Record<string, lambda.IFunction>;
  /** The dead-letter queues, by a readable name. */
  readonly deadLetterQueues: Record<string, sqs.IQueue>;
  /** The Glue validation job's name. */
  readonly glueJobName: string;
  /** The migration state machine. */
  readonly stateMachine: sfn.IStateMachine;
  /** The pipeline's headline metrics (validation, migration outcomes, DMS), shared with the public `metric*` methods. */
  readonly metrics: PipelineMetrics;
  /** The audit domain. */
  readonly openSearchDomain: opensearch.IDomain;
  /** The audit delivery stream's name. */
  readonly deliveryStreamName: string;
  /** The audit domain's volume size in GiB, to set the free-storage threshold. */
  readonly openSearchVolumeSize: number;
  /** The alarms' thresholds. */
  readonly thresholds: ResolvedAlarmThresholds;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * CloudWatch alarms to the alert topic for everything that needs a person, and a dashboard that follows
 * a file from arrival to replication.
 */
export class PipelineAlarms extends Construct {
  /** Every alarm, by id. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  /** The pipeline dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly alarmAction: actions.SnsAction;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    this.alarmAction = new actions.SnsAction(props.alarmTopic);
    const thresholds = props.thresholds;

    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(`${name}Errors`, `${name} function errors`, fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), thresholds.functionErrors);
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarm(`${name}Messages`, `Events waiting in the ${name} dead-letter queue`,
        queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }), thresholds.deadLetterMessages);
    }

    const dms = (metricName: string) => props.metrics.dmsTask(metricName);
    const cdcLatency = thresholds.cdcLatency.toSeconds();
    const cdcPeriods = thresholds.cdcLatencyEvaluationPeriods;
    this.alarm('DmsCdcLatencySource', `DMS reads changes from the source more than ${cdcLatency} s late`, dms('CDCLatencySource'), cdcLatency, cdcPeriods);
    this.alarm('DmsCdcLatencyTarget', `DMS applies changes to Aurora more than ${cdcLatency} s late`, dms('CDCLatencyTarget'), cdcLatency, cdcPeriods);

    const glueFailedTasks = new cloudwatch.Metric({
      namespace: 'Glue',
      metricName: 'glue.driver.aggregate.numFailedTasks',
      dimensionsMap: { JobName: props.glueJobName, JobRunId: 'ALL', Type: 'count' },
      period: FIVE_MINUTES,
      statistic: 'Sum',
    });
    this.alarm('GlueFailedTasks', 'Glue validation tasks failed', glueFailedTasks, thresholds.glueFailedTasks);

    this.alarm('StateMachineFailed', 'Migration executions failed', props.metrics.migrationsFailed(), thresholds.failedMigrations);
    this.alarm('StateMachineTimedOut', 'Migration executions timed out', props.stateMachine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }), thresholds.failedMigrations);

    const deliverySuccess = new cloudwatch.Metric({
      namespace: 'AWS/Firehose',
      metricName: 'DeliveryToAmazonOpenSearchService.Success',
      dimensionsMap: { DeliveryStreamName: props.deliveryStreamName },
      period: Duration.minutes(15),
      statistic: 'Average',
    });
    this.alarm('AuditDeliveryFailures', 'Audit events failed to reach OpenSearch (they are in the backup bucket)', deliverySuccess, 1,
      1, cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD);

    this.alarm('OpenSearchClusterRed', 'The audit domain is red', props.openSearchDomain.metricClusterStatusRed({ period: Duration.minutes(1) }), 1);
    // Free storage is reported in MiB; alarm when the given share of the volume is left (a quarter by default).
    const lowStorageMiB = Math.floor(props.openSearchVolumeSize * 1024 * thresholds.openSearchFreeStoragePercent / 100);
    this.alarm('OpenSearchFreeStorageLow', `The audit domain has less than ${lowStorageMiB} MiB free`,
      props.openSearchDomain.metricFreeStorageSpace({ period: FIVE_MINUTES, statistic: 'Minimum' }), lowStorageMiB,
      1, cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD);

    this.dashboard = this.createDashboard(props, dms, glueFailedTasks, deliverySuccess);
  }

  private alarm(id: string, description: string, metric: cloudwatch.IMetric, threshold: number, evaluationPeriods = 1,
    comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.alarmAction);
    this.alarms[id] = alarm;
    return alarm;
  }

  /** Left to right: a file arrives and is validated, a migration runs, DMS replicates, events are audited. */
  private createDashboard(props: PipelineAlarmsProps, dms: (metricName: string) => cloudwatch.Metric,
    glueFailedTasks: cloudwatch.IMetric, deliverySuccess: cloudwatch.IMetric): cloudwatch.Dashboard {
    const glueTrigger = Object.values(props.functions)[0];
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `migration-pipeline-${props.environmentSuffix}` });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: '1. Files arriving (Glue trigger invocations)',
        left: [glueTrigger.metricInvocations({ period: FIVE_MINUTES, statistic: 'Sum' })],
      }),
      new cloudwatch.GraphWidget({
        title: '2. Validation (files by outcome; Glue failed tasks)',
        left: [props.metrics.filesValidated('PASSED'), props.metrics.filesValidated('FAILED')],
        right: [glueFailedTasks],
      }),
      new cloudwatch.GraphWidget({
        title: '3. Migrations (executions)',
        left: [
          props.stateMachine.metricStarted({ period: FIVE_MINUTES, statistic: 'Sum' }),
          props.metrics.migrationsSucceeded(),
          props.metrics.migrationsFailed(),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: '4. Replication (DMS)',
        left: [dms('FullLoadThroughputRowsTarget'), dms('CDCThroughputRowsTarget')],
        right: [dms('CDCLatencySource'), dms('CDCLatencyTarget')],
      }),
    );
    // DMS data validation metrics (DMS User Guide, "AWS DMS data validation" > "Replication task statistics with
    // Amazon CloudWatch"): rows that failed, were suspended, or still wait for validation.
    dashboard.addWidgets(new cloudwatch.GraphWidget({
      title: '4b. Data validation (DMS rows)',
      left: [dms('ValidationFailedOverallCount'), dms('ValidationSuspendedOverallCount')],
      right: [dms('ValidationPendingOverallCount')],
      width: 24,
    }));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: '5. Audit delivery to OpenSearch (success ratio)',
        left: [deliverySuccess],
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues (messages waiting)',
        left: Object.values(props.deadLetterQueues).map((q) => q.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES })),
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 12 }),
    );
    return dashboard;
  }
}
