import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** The namespace of the metrics the validation job publishes (one data point per validated file). */
export const PIPELINE_METRIC_NAMESPACE = 'MigrationPipeline';
/** The metric the validation job publishes per file, with the dimensions `Pipeline` and `Outcome` (PASSED or FAILED). */
export const FILES_VALIDATED_METRIC = 'FilesValidated';

const FIVE_MINUTES = Duration.minutes(5);

/** What the pipeline's headline metrics are about. */
export interface PipelineMetricsProps {
  /** The name the validation job publishes its metrics under (the `Pipeline` dimension). */
  readonly pipelineName: string;
  /** The migration state machine. */
  readonly stateMachine: sfn.IStateMachine;
  /** The replication instance's identifier: the `ReplicationInstanceIdentifier` dimension. */
  readonly replicationInstanceIdentifier: string;
  /** The replication task's resource id (last part of its ARN): the `ReplicationTaskIdentifier` dimension. */
  readonly replicationTaskResourceId: string;
}

/**
 * The pipeline's metrics, built in one place: the alarms, the dashboard and the public `metric*` methods all
 * take theirs from here, so a metric and the alarm on it never disagree on a dimension.
 */
export class PipelineMetrics {
  constructor(private readonly props: PipelineMetricsProps) {}

  /** Files the validation job checked with the given outcome (PASSED or FAILED): Sum over 5 minutes. */
  public filesValidated(outcome: 'PASSED' | 'FAILED', options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: PIPELINE_METRIC_NAMESPACE,
      metricName: FILES_VALIDATED_METRIC,
      dimensionsMap: { Pipeline: this.props.pipelineName, Outcome: outcome },
      period: FIVE_MINUTES,
      statistic: 'Sum',
      ...options,
    });
  }

  /** Migration runs that succeeded: Sum over 5 minutes. */
  public migrationsSucceeded(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.props.stateMachine.metricSucceeded({ period: FIVE_MINUTES, statistic: 'Sum', ...options });
  }

  /** Migration runs that failed (a FAILED outcome ends the execution as failed): Sum over 5 minutes. */
  public migrationsFailed(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.props.stateMachine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum', ...options });
  }

  /**
   * A DMS task metric. Task metrics carry two dimensions: the instance's friendly identifier and the task's resource
   * id, not its friendly identifier (DMS User Guide, "AWS Database Migration Service metrics" and "Replication task
   * metrics"). Maximum over 5 minutes.
   */
  public dmsTask(metricName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/DMS',
      metricName,
      dimensionsMap: {
        ReplicationInstanceIdentifier: this.props.replicationInstanceIdentifier,
        ReplicationTaskIdentifier: this.props.replicationTaskResourceId,
      },
      period: FIVE_MINUTES,
      statistic: 'Maximum',
      ...options,
    });
  }
}
