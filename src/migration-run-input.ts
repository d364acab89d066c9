/*
 * The input of one run of the migration state machine, as JSON. These interfaces document it (they appear in
 * API.md); no construct takes them as props. test/python/test_migration_run_input.py fails when the Step Functions
 * trigger or the validation job sends other fields than the ones listed here.
 */

/**
 * The input of one migration run (`MigrationPipeline.stateMachine`), a JSON object with these fields, as the
 * Step Functions trigger function starts it for every file that passed validation. The execution is named after
 * the object version, so a redelivered validation result cannot start a second run.
 *
 * The state machine keeps the input as it is (under `request`) and passes it to the outcome notification; it
 * drives the pipeline's one DMS task whatever the input. To re-run a migration, start an execution with the input
 * of an earlier one (`aws stepfunctions start-execution --state-machine-arn <StateMachineArn> --input file://input.json`).
 *
 * Example:
 * `{"bucket": "my-data-bucket", "key": "incoming/orders.csv", "versionId": "3HL4kqtJlcpXroDTDmJ",
 * "reportKey": "reports/orders.csv.json", "validation": {"outcome": "PASSED", ...}}`
 */
export interface MigrationRunInput {
  /** The data bucket's name. */
  readonly bucket: string;
  /** The key of the file that passed validation, under `incoming/`. */
  readonly key: string;
  /**
   * The version of the file that was validated (JSON `null` in an unversioned bucket).
   * @default - null
   */
  readonly versionId?: string;
  /** The key of the validation report, under `reports/` (the file's key below `incoming/`, plus `.json`). */
  readonly reportKey: string;
  /** The validation job's result, as it was published to the validation topic. */
  readonly validation: ValidationResultMessage;
}

/**
 * The message the validation job publishes to the validation topic for each file (the topic's subscribers receive
 * it as the SNS message body; its `outcome`, `objectKey` and `bucket` are also message attributes for filtering).
 */
export interface ValidationResultMessage {
  /** 'PASSED' or 'FAILED'. */
  readonly outcome: string;
  /** The data bucket's name. */
  readonly bucket: string;
  /** The file's key, under `incoming/`. */
  readonly key: string;
  /**
   * The version of the file that was validated (JSON `null` in an unversioned bucket).
   * @default - null
   */
  readonly versionId?: string;
  /** The key of the validation report, under `reports/`. */
  readonly reportKey: string;
  /**
   * How many rows the file has (JSON `null` when it could not be read).
   * @default - null
   */
  readonly rowCount?: number;
  /** What failed, one sentence per rule; empty when the file passed. */
  readonly findings: string[];
  /** The Glue job run that validated the file. */
  readonly jobRunId: string;
}
