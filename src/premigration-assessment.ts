import { Duration } from 'aws-cdk-lib';

/**
 * The DMS premigration assessment that gates the first full load of the task.
 *
 * Before a migration run starts the task for the first time (status `ready`), it starts a premigration assessment
 * run of the chosen individual assessments, waits for it, and ends with reason SOURCE_NOT_READY, naming each
 * failed assessment and where its results are, when one fails. Runs that resume a stopped or failed task do not
 * assess again.
 * @see https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.AssessmentReport.html
 */
export interface PremigrationAssessmentOptions {
  /**
   * Whether the first start of the task waits for a passed premigration assessment.
   * @default true when the orchestration has a report bucket (the results are written there); otherwise false
   */
  readonly enabled?: boolean;

  /**
   * The individual assessments to run: API keys of the DMS User Guide's "MySQL assessments" (for example
   * `mysql-check-binlog-format`), passed as StartReplicationTaskAssessmentRun's `IncludeOnly`.
   * @default - the source assessments that apply to the task's migration type: for every type
   * mysql-check-select-privileges, mysql-check-supported-version and mysql-check-table-storage-engine; for cdc and
   * full-load-and-cdc also mysql-check-binlog-enabled, mysql-check-binlog-format, mysql-check-binlog-image,
   * mysql-check-server-id, mysql-check-replication-privileges, mysql-check-expire-logs-days,
   * mysql-check-binlog-compression and mysql-check-database-role
   * @see https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.AssessmentReport.MySQL.html
   */
  readonly assessments?: string[];

  /**
   * How long a run waits for the assessment before it ends with reason PREMIGRATION_ASSESSMENT_TIMED_OUT. The run
   * looks every 30 seconds. The wait is part of the run's time budget (`orchestration.timeout`): a first start
   * charges it to the replication polls, so at most timeout minus three poll intervals. From 1 to 60 minutes.
   * @default - 30 minutes, or a quarter of `orchestration.timeout` when that is shorter than 2 hours (at least 1 minute)
   */
  readonly timeout?: Duration;
}
