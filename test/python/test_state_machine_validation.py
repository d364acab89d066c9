"""The migration outcome is decided by the task's tables (DMS DescribeTableStatistics), run in moto's interpreter.

Table statistics are shaped as the AWS DMS API Reference documents them ("DescribeTableStatistics",
"TableStatistics" data type: ValidationState and TableState values); the harness in test_state_machine answers the
call from `harness.tables`, honouring Marker and MaxRecords.
"""

import json

from moto.dms.exceptions import InvalidResourceStateFault
from moto.s3 import models as s3_models
from moto.s3.exceptions import S3ClientError

from pipeline_helpers import schema_validator
from test_state_machine import (  # noqa: F401 - pytest fixtures are found through the import
    ANNOUNCE_PATH, DATA_BUCKET, assert_notification, dms_task_properties, harness,
    orchestration_template, table_statistics,
)

PAGE_SIZE = 100


class AccessDeniedByBucketPolicy(S3ClientError):
    def __init__(self):
        super().__init__("AccessDenied", "Access Denied")  # what the state machine asks for (MaxRecords): the DMS default


def judge_rule(harness, next_state):
    [rule] = [r for r in harness.definition["States"]["JudgeTables"]["Choices"] if r.get("Next") == next_state]
    return rule


def failure_of(run):
    [failed] = [e["executionFailedEventDetails"] for e in run.events if e["type"] == "ExecutionFailed"]
    return failed["error"], json.loads(failed["cause"])


def the_audit_event(harness):
    [event] = harness.audit_events()
    errors = [error.message for error in schema_validator().iter_errors(event)]
    assert errors == [], errors  # src/runtime/pipeline_event.schema.json, "Migration Outcome"
    assert event["source"] == "migration.pipeline"
    assert event["detail-type"] == "Migration Outcome"
    return event["detail"]


def test_a_every_table_validated_succeeds_with_a_report(harness):
    run = harness.run(name="run-validated")

    assert run.status == "SUCCEEDED"
    assert run.path[-6:] == ["TablesValidated", *ANNOUNCE_PATH, "NotifySuccess", "MigrationSucceeded"]
    assert harness.table_statistics_calls == [{"MaxRecords": PAGE_SIZE, "Marker": None}]

    message = assert_notification(run, harness, "SUCCEEDED", "running")
    outcome = message["outcome"]
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["reason"] == "VALIDATED"
    assert outcome["tables"] == {"tables": 3, "loaded": 3, "loading": 0, "loadFailed": 0, "validated": 3,
                                 "validationNotEnabled": 0, "validationPending": 0, "mismatched": 0,
                                 "suspended": 0, "notValidatable": 0}
    assert outcome["problemTables"] == []
    assert outcome["report"] == {"bucket": DATA_BUCKET, "key": "reports/migrations/run-validated.json",
                                 "tablePages": {"prefix": "reports/migrations/run-validated/", "count": 1}}
    # The execution's output is the outcome; the report is the same document.
    assert json.loads(run.execution["output"]) == outcome
    assert harness.report("run-validated") == outcome
    assert harness.report_keys() == ["reports/migrations/run-validated.json",
                                     "reports/migrations/run-validated/tables-0.json"]
    page = json.loads(harness.s3.get_object(Bucket=DATA_BUCKET,
                                            Key="reports/migrations/run-validated/tables-0.json")["Body"].read())
    assert [t["TableName"] for t in page] == ["orders", "customers", "invoices"]
    assert the_audit_event(harness) == {"pipeline": "migration-pipeline-dev", "execution": run.execution["executionArn"],
                                        "outcome": outcome}


def test_b_one_mismatched_table_fails_the_run_naming_it(harness):
    harness.tables[1] = table_statistics("sales", "customers", validation_state="Mismatched records",
                                         failed=12, pending=3, suspended=1)

    run = harness.run(name="run-mismatch")

    assert run.status == "FAILED"
    assert "TablesFailedValidation" in run.path
    assert run.path[-2:] == ["NotifyFailure", "MigrationFailed"]
    error, cause = failure_of(run)
    # Remediation tells a validation failure apart by this error name (see test_remediation_validation.py).
    assert error == "MigrationValidationFailed"
    assert cause["reason"] == "VALIDATION_FAILED"
    [problem] = cause["problemTables"]
    assert (problem["SchemaName"], problem["TableName"]) == ("sales", "customers")
    assert (problem["ValidationFailedRecords"], problem["ValidationPendingRecords"],
            problem["ValidationSuspendedRecords"], problem["FullLoadRows"], problem["Inserts"]) == (12, 3, 1, 1000, 0)
    assert problem["ValidationState"] == "Mismatched records"
    assert problem["TableState"] == "Table completed"

    message = assert_notification(run, harness, "FAILED", "running")
    assert message["outcome"] == cause
    assert message["outcome"]["tables"]["mismatched"] == 1
    assert message["outcome"]["tables"]["validated"] == 2
    assert harness.report("run-mismatch") == cause
    assert the_audit_event(harness)["outcome"] == cause
    # The state machine reports; it never stops or resumes the task over a validation failure.
    assert harness.task.status == "running"
    assert len(harness.start_calls) == 1


def test_c_validation_still_pending_at_the_budget_fails_as_pending(harness):
    max_polls = 2
    rule = judge_rule(harness, "ValidationStillPending")
    assert rule["Variable"] == "$.polls.count"
    rule["NumericGreaterThanEquals"] = max_polls  # fewer loops; the rule itself is the synthesized one
    harness.tables[2] = table_statistics("sales", "invoices", validation_state="Pending records", pending=250)

    run = harness.run(name="run-pending")

    assert run.status == "FAILED"
    # One review per poll until the budget: the review is read again after each wait.
    assert run.count("StartTableReview") == max_polls + 1
    assert run.count("JudgeTables") == max_polls + 1
    assert run.count("CountPoll") == max_polls
    assert "ValidationStillPending" in run.path
    assert "NotifySuccess" not in run.path
    error, cause = failure_of(run)
    assert error == "MigrationFailed"
    assert cause["reason"] == "VALIDATION_PENDING"
    assert cause["tables"]["validationPending"] == 1
    assert [t["TableName"] for t in cause["problemTables"]] == ["invoices"]
    assert cause["problemTables"][0]["ValidationPendingRecords"] == 250
    message = assert_notification(run, harness, "FAILED", "running")
    assert message["outcome"]["reason"] == "VALIDATION_PENDING"
    assert the_audit_event(harness)["outcome"] == cause


def test_c_validation_that_settles_while_waiting_succeeds(harness):
    harness.tables[0] = table_statistics("sales", "orders", validation_state="Pending validation")

    def settle(call, tables):
        if call == 2:  # the second review
            tables[0] = table_statistics("sales", "orders")
    harness.before_table_statistics = settle

    run = harness.run(name="run-settles")

    assert run.status == "SUCCEEDED"
    assert run.count("StartTableReview") == 2
    assert run.count("CountPoll") == 1
    assert harness.report("run-settles")["reason"] == "VALIDATED"


def test_d_three_pages_are_read_and_totalled(harness):
    # 250 tables: pages of 100, 100 and 50. Two mismatched tables on page 1, one on page 3; one table failed to load.
    harness.tables = [table_statistics("app", f"t{i:03d}") for i in range(250)]
    for i in (3, 40, 230):
        harness.tables[i] = table_statistics("app", f"t{i:03d}", validation_state="Mismatched records", failed=1)
    harness.tables[120] = table_statistics("app", "t120", table_state="Table error", validation_state="Table error")

    run = harness.run(name="run-pages")

    assert [call["Marker"] is None for call in harness.table_statistics_calls] == [True, False, False]
    assert all(call["MaxRecords"] == PAGE_SIZE for call in harness.table_statistics_calls)
    assert run.path.count("ReadFirstTablePage") == 1
    assert run.path.count("ReadNextTablePage") == 2
    assert run.count("CountTablePage") == 3
    assert run.status == "FAILED"
    error, cause = failure_of(run)
    # A table that failed to load is decided before validation.
    assert (error, cause["reason"]) == ("MigrationFailed", "TABLES_NOT_LOADED")
    assert cause["tables"] == {"tables": 250, "loaded": 249, "loading": 0, "loadFailed": 1, "validated": 246,
                               "validationNotEnabled": 0, "validationPending": 0, "mismatched": 3,
                               "suspended": 0, "notValidatable": 1}
    assert cause["report"]["tablePages"]["count"] == 3
    assert sorted(t["TableName"] for t in cause["problemTables"]) == ["t003", "t040", "t120", "t230"]
    assert harness.report_keys() == ["reports/migrations/run-pages.json"] + [
        f"reports/migrations/run-pages/tables-{page}.json" for page in range(3)]
    last_page = json.loads(harness.s3.get_object(
        Bucket=DATA_BUCKET, Key="reports/migrations/run-pages/tables-2.json")["Body"].read())
    assert len(last_page) == 50
    assert the_audit_event(harness)["outcome"]["tables"]["tables"] == 250


def test_d_the_problem_list_stays_bounded(harness):
    harness.tables = [table_statistics("app", f"t{i:03d}", validation_state="Mismatched records", failed=1)
                      for i in range(230)]

    run = harness.run(name="run-many-problems")

    _, cause = failure_of(run)
    assert cause["tables"]["mismatched"] == 230
    # At most ten listed: the first five found and the first five of the last page; the rest are in the report's pages.
    assert [t["TableName"] for t in cause["problemTables"]] == [
        "t000", "t001", "t002", "t003", "t004", "t200", "t201", "t202", "t203", "t204"]
    assert len(json.dumps(assert_notification(run, harness, "FAILED", "running"))) < 64 * 1024


def test_e_validation_not_enabled_succeeds_saying_so(harness):
    harness.tables = [table_statistics("sales", name, validation_state="Not enabled")
                      for name in ("orders", "customers")]

    run = harness.run(name="run-no-validation")

    assert run.status == "SUCCEEDED"
    assert "TablesLoadedWithoutValidation" in run.path
    message = assert_notification(run, harness, "SUCCEEDED", "running")
    assert message["outcome"]["reason"] == "VALIDATION_NOT_ENABLED"
    assert "not enabled" in message["outcome"]["message"]
    assert message["outcome"]["tables"]["validationNotEnabled"] == 2
    assert harness.report("run-no-validation")["reason"] == "VALIDATION_NOT_ENABLED"
    assert the_audit_event(harness)["outcome"]["reason"] == "VALIDATION_NOT_ENABLED"


def test_no_tables_fails(harness):
    harness.tables = []

    run = harness.run(name="run-no-tables")

    _, cause = failure_of(run)
    assert cause["reason"] == "NO_TABLES"
    assert cause["tables"]["tables"] == 0


def test_a_report_that_cannot_be_written_fails_the_run(harness, monkeypatch):
    original_put_object = s3_models.S3Backend.put_object

    def put_object(self, bucket_name, key_name, *args, **kwargs):
        if key_name == "reports/migrations/run-no-report.json":
            raise AccessDeniedByBucketPolicy()
        return original_put_object(self, bucket_name, key_name, *args, **kwargs)
    monkeypatch.setattr(s3_models.S3Backend, "put_object", put_object)

    run = harness.run(name="run-no-report")

    assert run.status == "FAILED"
    assert "TablesValidated" in run.path
    assert "ReportNotWritten" in run.path
    _, cause = failure_of(run)
    assert cause["reason"] == "REPORT_NOT_WRITTEN"
    assert cause["verdict"]["reason"] == "VALIDATED"


def test_table_statistics_that_cannot_be_read_fail_the_run_saying_so(harness):
    def deny(call, tables):
        raise InvalidResourceStateFault("Replication task is not in a valid state")
    harness.before_table_statistics = deny

    run = harness.run(name="run-unreadable-tables")

    assert run.path[-4:] == ["ReadFirstTablePage", "TableReviewFailed", "NotifyFailure", "MigrationFailed"]
    error, cause = failure_of(run)
    assert (error, cause["reason"]) == ("MigrationFailed", "TABLE_REVIEW_FAILED")
    message = assert_notification(run, harness, "FAILED", "running")
    assert message["error"]["Error"] == "databasemigration.InvalidResourceStateFaultException"  # moto's spelling
