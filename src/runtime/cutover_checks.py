"""The database checks of a cutover, run against the source and the target (Aurora) with their own credentials.

Two checks the DMS APIs cannot answer:
- Apply exceptions: DMS writes every change it could not apply on the target into `awsdms_apply_exceptions`, a
  control table in the target's control schema (DMS User Guide, "Control tables" and "Target metadata task
  settings": `ControlSchema`; a MySQL-compatible target without one uses `awsdms_control`). A row newer than the
  given time means a change of the source is missing on the target, so the cutover must not proceed.
- Reconciliation of the tables DMS cannot validate (no primary key, or validation off for the task): the row counts
  of source and target, and, where every column's value has one exact text form, an order-independent checksum
  (the sum of each row's CRC32). A sum, not a bitwise XOR: duplicate rows (possible without a key) would cancel out
  under XOR. Tables with floating-point, spatial or JSON columns are counted only: their text form can differ between
  engines for the same value (a MariaDB JSON column keeps the text as written, MySQL's normalizes it), which would
  report a difference that is not one. TIMESTAMP values are read in UTC on both sides (the session's time zone).

Credentials come only from Secrets Manager (the DMS source secret and the Aurora secret: `username`, `password`,
`host`, `port`); the function's environment names the secrets, never their contents.

The report stays bounded for thousands of tables: the handler writes every table's result to S3 and returns a
summary with at most MAX_LISTED differences. PyMySQL is not part of Lambda's Python runtime; the construct bundles
the pinned version from requirements-dev.txt into the function's code at synthesis.
"""

import json
import os
import time
from datetime import datetime, timezone

import boto3

try:  # the tests and the bundled function have it; the import error is raised where a connection is made
    import pymysql
except ImportError:  # pragma: no cover - reached only in a function built without its bundle
    pymysql = None

DEFAULT_CONTROL_SCHEMA = "awsdms_control"
APPLY_EXCEPTIONS_TABLE = "awsdms_apply_exceptions"
MAX_LISTED = 50
MAX_EXCEPTION_EXAMPLES = 10
MAX_STATEMENT_CHARS = 500
CONNECT_TIMEOUT_SECONDS = 10
# Time kept back from the function's own timeout to write the details to S3 and answer.
RESERVED_SECONDS = 60
# Types whose text form is not one exact value across MySQL-compatible engines (see the module comment).
UNCHECKSUMMABLE_TYPES = frozenset({
    "float", "double", "real", "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
    "multipolygon", "geometrycollection", "json",
})


# ----- connections -----
def read_secret(secrets_client, secret_id):
    """The connection fields of a DMS or Aurora secret; a missing field is named, its value never."""
    fields = json.loads(secrets_client.get_secret_value(SecretId=secret_id)["SecretString"])
    missing = [name for name in ("username", "password", "host", "port") if name not in fields]
    if missing:
        raise ValueError(f"secret {secret_id} lacks {', '.join(missing)}")
    return fields


def connect(secret):
    if pymysql is None:
        raise RuntimeError("PyMySQL is not in the function's code; the construct bundles it at synthesis")
    return pymysql.connect(host=secret["host"], port=int(secret["port"]), user=secret["username"],
                           password=secret["password"], connect_timeout=CONNECT_TIMEOUT_SECONDS,
                           autocommit=True, charset="utf8mb4",
                           # ERROR_TIME is compared in UTC, whatever the server's time zone
                           init_command="SET time_zone = '+00:00'")


def quote(identifier):
    """A MySQL identifier in backticks (a backtick inside is doubled)."""
    return "`" + identifier.replace("`", "``") + "`"


def _rows(connection, statement, arguments=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, arguments)
        return cursor.fetchall()


# ----- apply exceptions -----
def apply_exceptions_since(target, since, control_schema=DEFAULT_CONTROL_SCHEMA):
    """The exceptions DMS recorded at or after `since` (a UTC datetime): a count and a few examples.

    A control schema without the table means DMS has recorded no exception there yet ("tableFound": false).
    `since` comes back to the second, for the reason a team reads.
    """
    since_utc = since.astimezone(timezone.utc)
    since_text = f"{since_utc:%Y-%m-%dT%H:%M:%SZ}"
    found = _rows(target, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                  (control_schema, APPLY_EXCEPTIONS_TABLE))[0][0]
    if not found:
        return {"tableFound": False, "since": since_text, "count": 0, "examples": []}
    table = f"{quote(control_schema)}.{quote(APPLY_EXCEPTIONS_TABLE)}"
    naive_since = since_utc.replace(tzinfo=None)
    count = _rows(target, f"SELECT COUNT(*) FROM {table} WHERE ERROR_TIME >= %s", (naive_since,))[0][0]
    examples = _rows(target, f"SELECT TASK_NAME, TABLE_OWNER, TABLE_NAME, ERROR_TIME, LEFT(STATEMENT, %s), "
                             f"LEFT(ERROR, %s) FROM {table} WHERE ERROR_TIME >= %s ORDER BY ERROR_TIME LIMIT %s",
                     (MAX_STATEMENT_CHARS, MAX_STATEMENT_CHARS, naive_since, MAX_EXCEPTION_EXAMPLES))
    return {"tableFound": True, "since": since_text, "count": count, "examples": [
        {"task": task, "schema": schema, "table": name, "time": str(time), "statement": statement, "error": error}
        for task, schema, name, time, statement, error in examples]}


# ----- reconciliation -----
def columns_of(connection, schema, table):
    """(name, data type) of each column, in table order; empty when the table does not exist."""
    return list(_rows(connection, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                                  "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                      (schema, table)))


def checksum_expression(columns):
    """SUM of each row's CRC32 over its columns' text, with a NULL marker per column (CONCAT_WS skips NULLs)."""
    values = ", ".join(f"IFNULL(CAST({quote(name)} AS CHAR), '')" for name, _ in columns)
    nulls = ", ".join(f"ISNULL({quote(name)})" for name, _ in columns)
    return f"COALESCE(SUM(CRC32(CONCAT_WS(CHAR(31), {values}, CONCAT({nulls})))), 0)"


def count_and_checksum(connection, schema, table, columns, with_checksum):
    target = f"{quote(schema)}.{quote(table)}"
    if not with_checksum:
        return _rows(connection, f"SELECT COUNT(*) FROM {target}")[0][0], None
    count, checksum = _rows(connection, f"SELECT COUNT(*), {checksum_expression(columns)} FROM {target}")[0]
    return count, int(checksum)


def reconcile_table(source, target, schema, table):
    """Counts (and a checksum where the columns allow one) of one table on both sides, and whether they agree."""
    columns = columns_of(source, schema, table)
    if not columns:
        return {"schema": schema, "table": table, "matches": False, "reason": "missing on the source"}
    if [name for name, _ in columns_of(target, schema, table)] != [name for name, _ in columns]:
        return {"schema": schema, "table": table, "matches": False, "reason": "missing on the target or other columns"}
    unsummable = sorted(name for name, data_type in columns if data_type.lower() in UNCHECKSUMMABLE_TYPES)
    with_checksum = not unsummable
    source_rows, source_sum = count_and_checksum(source, schema, table, columns, with_checksum)
    target_rows, target_sum = count_and_checksum(target, schema, table, columns, with_checksum)
    result = {"schema": schema, "table": table, "sourceRows": source_rows, "targetRows": target_rows,
              "matches": source_rows == target_rows and source_sum == target_sum}
    if with_checksum:
        result.update(sourceChecksum=source_sum, targetChecksum=target_sum)
    else:
        result["checksumSkipped"] = f"inexact column types: {', '.join(unsummable[:5])}"
    if not result["matches"]:
        result["reason"] = "row counts differ" if source_rows != target_rows else "checksums differ"
    return result


def reconcile(source, target, tables, deadline=None):
    """One result per {"schema", "table"}; a table that cannot be read is a difference with its error.

    Past the `deadline` (time.monotonic()) the remaining tables are differences "not reconciled in time": the checks
    fail closed rather than let the function's timeout end them without an answer.
    """
    results = []
    for entry in tables:
        if deadline is not None and time.monotonic() >= deadline:
            results.append({"schema": entry["schema"], "table": entry["table"], "matches": False,
                            "reason": "not reconciled within the function's time"})
            continue
        try:
            results.append(reconcile_table(source, target, entry["schema"], entry["table"]))
        except pymysql.MySQLError as error:
            results.append({"schema": entry["schema"], "table": entry["table"], "matches": False,
                            "reason": f"error {error.args[0]}: {str(error.args[-1])[:200]}"})
    return results


def summarize(results, exceptions, require_equality, blocking=()):
    """The small answer of the checks: what decides the cutover, and at most MAX_LISTED differences."""
    differences = [result for result in results if not result["matches"]]
    reasons = []
    if blocking:
        reasons.append(f"{len(blocking)} table(s) neither validated nor reconcilable, e.g. "
                       + ", ".join(f"{t['table']} ({t['class']})" for t in blocking[:5]))
    if exceptions["count"]:
        reasons.append(f"{exceptions['count']} apply exception(s) since {exceptions['since']}")
    if differences and require_equality:
        reasons.append(f"{len(differences)} table(s) DMS cannot validate differ between source and target")
    return {"passed": not reasons, "reasons": reasons, "tablesReconciled": len(results),
            "tablesDiffering": len(differences), "differences": differences[:MAX_LISTED],
            "differencesListed": min(len(differences), MAX_LISTED), "applyExceptions": exceptions["count"],
            "applyExceptionExamples": exceptions["examples"], "tablesBlocking": len(blocking)}


# ----- the tables of the last review -----
# The classes of table_review.py: DMS cannot validate these, so the cutover reconciles them itself.
RECONCILED_CLASSES = frozenset({"notValidatable", "validationNotEnabled"})


def plan_from_review(reviewed_tables):
    """(tables to reconcile, tables that block the cutover) from a table review's report.

    A table allows the cutover when DMS validated it (or validated it earlier in the run, "verified") or when DMS
    cannot validate it, which the reconciliation then covers. Any other class (loading, failed, mismatched,
    suspended, validation pending) blocks it: the target does not yet hold what the source holds.
    """
    to_reconcile, blocking = [], []
    for table in reviewed_tables:
        statistics = table.get("statistics", {})
        if table["class"] in RECONCILED_CLASSES:
            to_reconcile.append({"schema": statistics["SchemaName"], "table": statistics["TableName"]})
        elif not (table["class"] == "validated" or table.get("verified")):
            blocking.append({"table": table["table"], "class": table["class"]})
    return to_reconcile, blocking


# ----- the function -----
def _plan(event, s3):
    """From the review's report in S3 (thousands of tables), or tables given inline (no blocking ones)."""
    if "tableReport" in event:
        report = event["tableReport"]
        body = s3.get_object(Bucket=report["bucket"], Key=report["key"])["Body"].read()
        return plan_from_review(json.loads(body)["tables"])
    return event.get("tables", []), []


def handler(event, context):
    """Input: {"cutoverId", "since" (ISO 8601), "tableReport" {"bucket", "key"} or "tables", "requireEquality"}."""
    secrets = boto3.client("secretsmanager")
    s3 = boto3.client("s3")
    since = datetime.fromisoformat(event["since"].replace("Z", "+00:00"))
    tables, blocking = _plan(event, s3)
    source = connect(read_secret(secrets, os.environ["SOURCE_SECRET_ARN"]))
    target = connect(read_secret(secrets, os.environ["TARGET_SECRET_ARN"]))
    try:
        exceptions = apply_exceptions_since(target, since, os.environ.get("CONTROL_SCHEMA", DEFAULT_CONTROL_SCHEMA))
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVED_SECONDS
        results = reconcile(source, target, tables, deadline)
    finally:
        source.close()
        target.close()
    summary = summarize(results, exceptions, bool(event.get("requireEquality", True)), blocking)
    key = f"{os.environ.get('REPORT_PREFIX', 'cutover/')}{event['cutoverId']}/database-checks.json"
    s3.put_object(Bucket=os.environ["REPORT_BUCKET"], Key=key, ContentType="application/json",
                  Body=json.dumps({"summary": summary, "tables": results, "blocking": blocking,
                                   "applyExceptions": exceptions},
                                  default=str).encode())
    return {**summary, "detailsKey": key}
