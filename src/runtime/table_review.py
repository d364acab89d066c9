"""Reviews the tables of the DMS replication task once, for the migration state machine.

Invoked synchronously by the migration state machine after each poll once the load is complete. Runs inline as
index.handler, so it only uses the standard library and boto3.

It reads every page of DescribeTableStatistics (DMS API Reference), writes every table's statistics to the report
bucket, and returns a small summary of fixed size: totals by state, at most MAX_LISTED problem tables and at most
MAX_LISTED names of tables DMS cannot validate, the verdict, and whether the verdict is settled. The per-table
detail never enters the state machine's state, so the state stays the same size for 3 tables or 5,000.

Event:  {"execution": "<execution name>", "review": <poll count, 0 for the first review>}
Environment:
  REPLICATION_TASK_ARN   the task whose tables are reviewed (required)
  MIGRATION_TYPE         full-load | cdc | full-load-and-cdc (decides the verdict, see decide())
  REPORT_BUCKET          where the per-table report goes (optional: without it nothing is written or remembered)
  REPORT_PREFIX          default "reports/migrations/"
  ACCEPT_TABLES_WITHOUT_VALIDATION  "true" to accept tables DMS cannot validate (default "false": they fail the run)

Live changes (CDC) move a table from Validated back to a pending state (TableStatistics, ValidationState), so a
full-load-and-cdc run remembers, in the previous review's report, every table it has seen Validated during the run:
a table counts as verified once it was Validated with no failed or suspended records, even if CDC reopened it since.
"""

import json
import os
from datetime import datetime, timezone

import boto3
from botocore.config import Config

HANDLER_NAME = "table-review"
# DescribeTableStatistics returns at most 500 tables a page (MaxRecords, DMS API Reference).
PAGE_SIZE = 500
MAX_LISTED = 10
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})

# Groups of the documented TableState and ValidationState values (DMS API Reference, TableStatistics);
# src/private/dms-table-statistics.ts holds the same lists for the documentation and its tests.
LOADED = {"Table completed"}
# A cdc-only task applies changes to tables it never loaded; the API reference lists these two states without a
# meaning, and a cdc-only task is where they occur, so they count as replicating for that migration type only.
REPLICATING_WITHOUT_LOAD = {"Table all", "Table updates"}
LOAD_FAILED = {"Table error", "Table cancelled", "Table does not exist"}
VALIDATED = {"Validated"}
MISMATCHED = {"Mismatched records"}
SUSPENDED = {"Suspended records"}
CANNOT_VALIDATE = {"No primary key", "Not enabled"}
VALIDATION_ERROR = {"Table error", "Error"}

TOTALS = ("tables", "loaded", "loading", "loadFailed", "validated", "verified", "validationNotEnabled",
          "validationPending", "mismatched", "suspended", "notValidatable")
PROBLEM_FIELDS = ("SchemaName", "TableName", "TableState", "ValidationState", "ValidationFailedRecords",
                  "ValidationPendingRecords", "ValidationSuspendedRecords", "FullLoadRows", "Inserts")

_clients = {}


def handler(event, context):
    settings = read_settings()
    execution = str(event["execution"])
    tables = list(read_table_statistics(_client("dms"), settings["task_arn"]))
    key = f"{settings['prefix']}{execution}/tables.json"
    remembered = remembered_verified(settings["bucket"], key)
    reviewed = [review_table(table, remembered, settings["migration_type"]) for table in tables]
    summary = decide(reviewed, settings["migration_type"], settings["accept_without_validation"])
    summary["tableReport"] = write_report(settings["bucket"], key, execution, event.get("review"), reviewed)
    _log("info", "tables reviewed", execution=execution, reason=summary["reason"], settled=summary["settled"],
         totals=summary["tables"])
    return summary


def read_settings():
    return {
        "task_arn": os.environ["REPLICATION_TASK_ARN"],
        "migration_type": os.environ.get("MIGRATION_TYPE", "full-load-and-cdc"),
        "bucket": os.environ.get("REPORT_BUCKET") or None,
        "prefix": os.environ.get("REPORT_PREFIX", "reports/migrations/"),
        "accept_without_validation": os.environ.get("ACCEPT_TABLES_WITHOUT_VALIDATION", "false") == "true",
    }


def read_table_statistics(dms, task_arn):
    """Every TableStatistics entry of the task, page by page (Marker)."""
    marker = None
    while True:
        request = {"ReplicationTaskArn": task_arn, "MaxRecords": PAGE_SIZE}
        if marker:
            request["Marker"] = marker
        page = dms.describe_table_statistics(**request)
        yield from page.get("TableStatistics", [])
        marker = page.get("Marker")
        if not marker:
            return


def review_table(table, remembered, migration_type):
    """The table's class for the verdict, and whether it has been verified during this run."""
    state, validation = table.get("TableState"), table.get("ValidationState")
    failed = int(table.get("ValidationFailedRecords") or 0)
    suspended = int(table.get("ValidationSuspendedRecords") or 0)
    if state in LOAD_FAILED or validation in VALIDATION_ERROR:
        klass = "loadFailed"
    elif validation in MISMATCHED or failed > 0:
        klass = "mismatched"
    elif validation in SUSPENDED or suspended > 0:
        klass = "suspended"
    elif state not in LOADED and not (migration_type == "cdc" and state in REPLICATING_WITHOUT_LOAD):
        klass = "loading"
    elif validation == "Not enabled":
        klass = "validationNotEnabled"
    elif validation in CANNOT_VALIDATE:
        klass = "notValidatable"
    elif validation in VALIDATED:
        klass = "validated"
    else:
        klass = "validationPending"
    name = table_name(table)
    verified = klass == "validated" or (klass == "validationPending" and name in remembered)
    return {"table": name, "class": klass, "verified": verified, "statistics": table}


def decide(reviewed, migration_type, accept_without_validation):
    """The verdict. `settled` is false while waiting can still change it (load or validation pending)."""
    totals = dict.fromkeys(TOTALS, 0)
    totals["tables"] = len(reviewed)
    for table in reviewed:
        totals[table["class"]] += 1
        totals["verified"] += table["verified"]
    totals["loaded"] = sum(t["statistics"].get("TableState") in LOADED for t in reviewed)
    without_validation = [t for t in reviewed if t["class"] in ("notValidatable", "validationNotEnabled")]

    def verdict(status, reason, message, classes=(), error=None, settled=True):
        problems = [t for t in reviewed if t["class"] in classes]
        return {
            "settled": settled, "status": status, "reason": reason, "message": message,
            "error": error or ("None" if status == "SUCCEEDED" else "MigrationFailed"),
            "tables": totals,
            "problemTables": [compact(t["statistics"]) for t in problems[:MAX_LISTED]],
            "tablesWithoutValidation": [describe_table(t) for t in without_validation[:MAX_LISTED]],
        }

    if not reviewed:
        return verdict("FAILED", "NO_TABLES", "The task reports no tables: check its table mappings")
    if totals["loadFailed"]:
        return verdict("FAILED", "TABLES_NOT_LOADED",
                       f"{totals['loadFailed']} table(s) were not loaded (table error, cancelled or missing)",
                       ("loadFailed",))
    if totals["mismatched"] or totals["suspended"]:
        return verdict("FAILED", "VALIDATION_FAILED",
                       f"Data validation found rows that differ ({totals['mismatched']} table(s)) or rows it could "
                       f"not compare ({totals['suspended']} table(s))",
                       ("mismatched", "suspended"), error="MigrationValidationFailed")
    if totals["validationNotEnabled"] == totals["tables"]:
        return loaded_without_validation(verdict, totals, migration_type)
    if without_validation and not accept_without_validation:
        names = ", ".join(describe_table(t) for t in without_validation[:MAX_LISTED])
        more = len(without_validation) - MAX_LISTED
        return verdict("FAILED", "TABLES_NOT_VALIDATABLE",
                       f"DMS cannot validate {len(without_validation)} table(s): {names}"
                       + (f" and {more} more (see the table report)" if more > 0 else "")
                       + ". Add a primary key or enable validation for them, or accept them with "
                       "orchestration.acceptTablesWithoutValidation",
                       ("notValidatable", "validationNotEnabled"), error="MigrationValidationFailed")
    accepted = f"; {len(without_validation)} table(s) accepted without validation" if without_validation else ""
    if migration_type == "cdc":
        if totals["loading"]:
            return pending(verdict, totals)
        return verdict("SUCCEEDED", "CDC_REPLICATING",
                       "CDC applies changes to every table and validation found no differences so far" + accepted
                       + "; from now on the CDC latency and validation alarms report its health")
    checked = totals["tables"] - len(without_validation)
    if totals["loading"] or totals["verified"] < checked:
        return pending(verdict, totals)
    if migration_type == "full-load":
        return verdict("SUCCEEDED", "VALIDATED", "Every table was loaded and every row validated" + accepted)
    return verdict("SUCCEEDED", "FULL_LOAD_VERIFIED",
                   "Full load verified, ready for cutover: every table was loaded and validated with no failed or "
                   "suspended records" + accepted + "; CDC keeps running, and the CDC latency and validation alarms "
                   "report its health from now on")


def loaded_without_validation(verdict, totals, migration_type):
    if totals["loaded"] < totals["tables"] and migration_type != "cdc":
        return pending(verdict, totals)
    return verdict("SUCCEEDED", "VALIDATION_NOT_ENABLED",
                   "Every table was loaded; data validation is not enabled for this task, so no rows were compared")


def pending(verdict, totals):
    waiting_for = "loading" if totals["loading"] else "validation"
    return verdict("FAILED", "VALIDATION_PENDING",
                   f"{totals['tables'] - totals['verified']} table(s) not verified yet ({waiting_for} still running); "
                   "this is the verdict if the run's time budget ends now",
                   ("loading", "validationPending"), settled=False)


def remembered_verified(bucket, key):
    """The tables an earlier review of this run saw verified (none on the first review or without a bucket)."""
    if not bucket:
        return set()
    s3 = _client("s3")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return set()
    return {table["table"] for table in json.loads(body)["tables"] if table["verified"]}


def write_report(bucket, key, execution, review, reviewed):
    if not bucket:
        return "NOT_WRITTEN"
    document = {
        "execution": execution,
        "review": review,
        "reviewedAt": datetime.now(timezone.utc).isoformat(),
        "tables": reviewed,
    }
    _client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(document, default=str).encode("utf-8"),
                             ContentType="application/json")
    return {"bucket": bucket, "key": key}


def table_name(table):
    return f"{table.get('SchemaName')}.{table.get('TableName')}"


def describe_table(reviewed_table):
    return f"{reviewed_table['table']} ({reviewed_table['statistics'].get('ValidationState')})"


def compact(table):
    return {field: table.get(field) for field in PROBLEM_FIELDS}


def _client(service):
    if service not in _clients:
        _clients[service] = boto3.client(service, config=CLIENT_CONFIG)
    return _clients[service]


def _log(level, message, **fields):
    print(json.dumps({"level": level, "handler": HANDLER_NAME, "message": message, **fields}, default=str))
