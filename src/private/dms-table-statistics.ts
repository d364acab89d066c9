/**
 * The states DMS reports per table in DescribeTableStatistics, grouped by what they mean for a migration run.
 *
 * Source: AWS Database Migration Service API Reference, "TableStatistics" data type (fields ValidationState and
 * TableState), and the DMS User Guide, "AWS DMS data validation" > "Replication task statistics".
 * Every value DMS documents appears in exactly one group; a value outside these lists is treated as not settled.
 */
export const DMS_VALIDATION_STATES = {
  /** Every row in the table was compared and matches ("Validated"). */
  validated: ['Validated'],
  /** Validation is switched off for the table in this task. */
  notEnabled: ['Not enabled'],
  /** Validation has not finished: records or the whole table are still waiting, or the table is being prepared. */
  pending: ['Pending records', 'Pending validation', 'Preparing table', 'Pending revalidation'],
  /** Rows differ between source and target. */
  mismatched: ['Mismatched records'],
  /** Rows that could not be compared. */
  suspended: ['Suspended records'],
  /** The table cannot be validated: no primary key, the table is in error (data missing), or an unexpected error. */
  notValidatable: ['No primary key', 'Table error', 'Error'],
} as const;

/**
 * TableState values. 'Table all' and 'Table updates' are listed by the API reference without a meaning; they count as
 * neither loaded nor failed, so a table in either state keeps the run from succeeding until it settles.
 */
export const DMS_TABLE_STATES = {
  /** The full load of the table finished. */
  loaded: ['Table completed'],
  /** The table is queued, loading or reloading. */
  loading: ['Before load', 'Full load', 'Table is being reloaded'],
  /** The table was not (completely) loaded. */
  failed: ['Table error', 'Table cancelled', 'Table does not exist'],
} as const;

/** Every ValidationState value the API reference documents. */
export const DOCUMENTED_VALIDATION_STATES: readonly string[] = Object.values(DMS_VALIDATION_STATES).flat();
