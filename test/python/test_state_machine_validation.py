"""The migration outcome is decided by the task's tables, run in moto's interpreter with the table-review function.

Table statistics are shaped as the AWS DMS API Reference documents them ("DescribeTableStatistics",
"TableStatistics" data type: ValidationState and TableState values); the harness in test_state_machine answers the
call from `harness.tables`, honouring Marker and MaxRecords, and runs src/runtime/table_review.py in process when the
state machine invokes the function. Every case checks the verdict, the report in S3, exactly one notification and
one `Migration Outcome` audit event; every run also stays within both Step Functions quotas (checked in Run).
"""

import json

from moto.dms.exceptions import InvalidResourceStateFault
from moto.s3 import models as s3_models
from moto.s3.exceptions import S3ClientError

from pipeline_helpers import schema_validator
from test_state_machine import (  # noqa: F401 - pytest fixtures are found through the import
    ANNOUNCE_PATH, DATA_BUCKET, FAILURE_END, REVIEW_PATH, TEMPLATE_ASSESSMENT_CHARGED_POLLS, assert_notification,
    dms_task_properties, harness, orchestration_template, table_statistics,
)

# A first start (the harness's task is `ready`) begins its polls with the premigration assessment's wait charged.
FIRST_POLL = TEMPLATE_ASSESSMENT_CHARGED_POLLS

PAGE_SIZE = 500  # the review reads DescribeTableStatistics' largest page (MaxRecords, DMS API Reference)
NAME_LIMIT = 64  # MySQL's identifier length limit, for schema and table names


class AccessDeniedByBucketPolicy(S3ClientError):
    def __init__(self):
        super().__init__("AccessDenied", "Access Denied")


def budget_rule(harness):
    """The IsVerdictSettled rule that ends the run with the last review's verdict once the polls are spent."""
    [rule] = [r for r in harness.definition["States"]["IsVerdictSettled"]["Choices"]
              if r.get("Next") == "VerdictAtTimeout"]
    assert rule["Variable"] == "$.polls.count"
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


def table_report(harness, execution_name):
    body = harness.s3.get_object(Bucket=DATA_BUCKET, Key=f"reports/migrations/{execution_name}/tables.json")["Body"]
    return json.loads(body.read())


def assert_announced(run, harness, status, task_status="running"):
    """One notification, one audit event and the report, all carrying the same outcome; returns it."""
    message = assert_notification(run, harness, status, task_status)
    outcome = message["outcome"]
    assert outcome["status"] == status
    assert harness.report(run.execution["name"]) == outcome
    assert the_audit_event(harness)["outcome"] == outcome
    return outcome


def totals(**counts):
    return {"tables": 0, "loaded": 0, "loading": 0, "loadFailed": 0, "validated": 0, "verified": 0,
            "validationNotEnabled": 0, "validationPending": 0, "mismatched": 0, "suspended": 0,
            "notValidatable": 0, **counts}


def long_name(prefix, i):
    """A name at the 64-character limit, unique by i."""
    name = f"{prefix}_{i:05d}_".ljust(NAME_LIMIT, "x")
    assert len(name) == NAME_LIMIT
    return name


def test_a_every_table_validated_full_load_verified_ready_for_cutover(harness):
    run = harness.run(name="run-validated")

    assert run.status == "SUCCEEDED"
    expected = [*REVIEW_PATH, "TableVerdict", *ANNOUNCE_PATH, "NotifySuccess", "MigrationSucceeded"]
    assert run.path[-len(expected):] == expected
    assert harness.table_statistics_calls == [{"MaxRecords": PAGE_SIZE, "Marker": None}]
    assert harness.review_events == [{"execution": "run-validated", "review": FIRST_POLL}]

    outcome = assert_announced(run, harness, "SUCCEEDED")
    assert outcome["reason"] == "FULL_LOAD_VERIFIED"
    assert outcome["message"].startswith("Full load verified, ready for cutover")
    assert outcome["error"] == "None"
    assert outcome["tables"] == totals(tables=3, loaded=3, validated=3, verified=3)
    assert outcome["problemTables"] == []
    assert outcome["tablesWithoutValidation"] == []
    assert outcome["report"] == {"bucket": DATA_BUCKET, "key": "reports/migrations/run-validated.json"}
    assert outcome["tableReport"] == {"bucket": DATA_BUCKET, "key": "reports/migrations/run-validated/tables.json"}
    assert json.loads(run.execution["output"]) == outcome
    assert harness.report_keys() == ["reports/migrations/run-validated.json",
                                     "reports/migrations/run-validated/tables.json"]
    report = table_report(harness, "run-validated")
    assert [(t["table"], t["class"], t["verified"]) for t in report["tables"]] == [
        ("sales.orders", "validated", True), ("sales.customers", "validated", True),
        ("sales.invoices", "validated", True)]
    assert report["tables"][0]["statistics"]["FullLoadRows"] == 1000


def test_b_one_mismatched_table_fails_the_run_naming_it(harness):
    harness.tables[1] = table_statistics("sales", "customers", validation_state="Mismatched records",
                                         failed=12, pending=3, suspended=1)

    run = harness.run(name="run-mismatch")

    assert run.status == "FAILED"
    assert run.path[-len(FAILURE_END) - 3:] == [*REVIEW_PATH, "TableVerdict", *FAILURE_END]
    error, cause = failure_of(run)
    # Remediation tells a validation failure apart by this error name (see test_remediation_validation.py).
    assert error == "MigrationValidationFailed"
    assert cause["reason"] == "VALIDATION_FAILED"
    assert cause["problemTables"] == [{
        "SchemaName": "sales", "TableName": "customers", "TableState": "Table completed",
        "ValidationState": "Mismatched records", "ValidationFailedRecords": 12, "ValidationPendingRecords": 3,
        "ValidationSuspendedRecords": 1, "FullLoadRows": 1000, "Inserts": 0}]
    assert cause["tables"] == totals(tables=3, loaded=3, validated=2, verified=2, mismatched=1)
    assert assert_announced(run, harness, "FAILED") == cause
    # The state machine reports; it never stops or resumes the task over a validation failure.
    assert harness.task.status == "running"
    assert len(harness.start_calls) == 1


def test_c_validation_pending_for_ever_ends_with_the_last_verdict_at_the_budget(harness):
    max_polls = 2
    # Fewer loops; the rule itself is the synthesized one.
    budget_rule(harness)["NumericGreaterThanEquals"] = FIRST_POLL + max_polls
    harness.tables[2] = table_statistics("sales", "invoices", validation_state="Pending records", pending=250)

    run = harness.run(name="run-pending")

    assert run.status == "FAILED"
    # One review per poll until the budget: the tables are reviewed again after each wait.
    assert [event["review"] for event in harness.review_events] == [FIRST_POLL, FIRST_POLL + 1, FIRST_POLL + 2]
    assert run.count("CountPoll") == max_polls
    assert run.path[-len(FAILURE_END) - 3:] == [*REVIEW_PATH, "VerdictAtTimeout", *FAILURE_END]
    error, cause = failure_of(run)
    assert (error, cause["reason"]) == ("MigrationFailed", "VALIDATION_PENDING")
    assert cause["tables"]["validationPending"] == 1
    assert [(t["TableName"], t["ValidationPendingRecords"]) for t in cause["problemTables"]] == [("invoices", 250)]
    assert assert_announced(run, harness, "FAILED") == cause


def test_c_validation_that_settles_while_waiting_succeeds(harness):
    harness.tables[0] = table_statistics("sales", "orders", validation_state="Pending validation")

    def settle(call, tables):
        if call == 2:  # the second review
            tables[0] = table_statistics("sales", "orders")
    harness.before_table_statistics = settle

    run = harness.run(name="run-settles")

    assert run.status == "SUCCEEDED"
    assert len(harness.review_events) == 2
    assert run.count("CountPoll") == 1
    assert assert_announced(run, harness, "SUCCEEDED")["reason"] == "FULL_LOAD_VERIFIED"


def test_c_cdc_flipping_tables_between_validated_and_pending_still_reach_a_verdict(harness):
    # DMS API Reference, TableStatistics: a Validated table can leave that state when it is updated, so under live
    # changes the tables are never all Validated at one look. Each was Validated at some review of the run.
    looks = {
        1: {"orders": "Validated", "customers": "Pending records", "invoices": "Validated"},
        2: {"orders": "Pending records", "customers": "Validated", "invoices": "Pending records"},
    }

    def cdc_changes(call, tables):
        states = looks.get(call, looks[2])
        tables[:] = [table_statistics("sales", name, validation_state=state,
                                      pending=0 if state == "Validated" else 7)
                     for name, state in states.items()]
    harness.before_table_statistics = cdc_changes

    run = harness.run(name="run-cdc-flips")

    assert run.status == "SUCCEEDED"
    assert len(harness.review_events) == 2
    outcome = assert_announced(run, harness, "SUCCEEDED")
    assert outcome["reason"] == "FULL_LOAD_VERIFIED"
    # At the last look two tables are pending again; all three were verified during the run.
    assert outcome["tables"] == totals(tables=3, loaded=3, validated=1, validationPending=2, verified=3)
    report = table_report(harness, "run-cdc-flips")
    assert [(t["table"], t["class"], t["verified"]) for t in report["tables"]] == [
        ("sales.orders", "validationPending", True), ("sales.customers", "validated", True),
        ("sales.invoices", "validationPending", True)]


def test_d_a_table_error_fails_the_run_as_not_loaded(harness):
    harness.tables[1] = table_statistics("sales", "customers", table_state="Table error", validation_state="Table error")

    run = harness.run(name="run-table-error")

    error, cause = failure_of(run)
    assert (error, cause["reason"]) == ("MigrationFailed", "TABLES_NOT_LOADED")
    assert [t["TableName"] for t in cause["problemTables"]] == ["customers"]
    assert cause["tables"]["loadFailed"] == 1
    assert assert_announced(run, harness, "FAILED") == cause


def test_d_the_problem_list_stays_bounded(harness):
    harness.tables = [table_statistics("app", f"t{i:03d}", validation_state="Mismatched records", failed=1)
                      for i in range(1230)]

    run = harness.run(name="run-many-problems")

    _, cause = failure_of(run)
    assert cause["tables"]["mismatched"] == 1230
    # The first ten are listed; every table is in the table report.
    assert [t["TableName"] for t in cause["problemTables"]] == [f"t{i:03d}" for i in range(10)]
    assert [call["Marker"] is None for call in harness.table_statistics_calls] == [True, False, False]
    assert len(table_report(harness, "run-many-problems")["tables"]) == 1230
    assert len(json.dumps(assert_notification(run, harness, "FAILED", "running"))) < 64 * 1024


def test_e_validation_not_enabled_for_the_task_succeeds_saying_so(harness):
    harness.tables = [table_statistics("sales", name, validation_state="Not enabled")
                      for name in ("orders", "customers")]

    run = harness.run(name="run-no-validation")

    assert run.status == "SUCCEEDED"
    outcome = assert_announced(run, harness, "SUCCEEDED")
    assert outcome["reason"] == "VALIDATION_NOT_ENABLED"
    assert "not enabled" in outcome["message"]
    assert outcome["tables"]["validationNotEnabled"] == 2


MIXED = [("orders", "Validated"), ("audit_log", "No primary key"), ("order_tags", "Not enabled"),
         ("customers", "Validated")]


def test_f_tables_dms_cannot_validate_fail_the_run_by_default_naming_them(harness):
    assert harness.review_environment["ACCEPT_TABLES_WITHOUT_VALIDATION"] == "false"  # the prop's default
    harness.tables = [table_statistics("sales", name, validation_state=state) for name, state in MIXED]

    run = harness.run(name="run-mixed")

    error, cause = failure_of(run)
    assert (error, cause["reason"]) == ("MigrationValidationFailed", "TABLES_NOT_VALIDATABLE")
    assert "sales.audit_log (No primary key)" in cause["message"]
    assert "sales.order_tags (Not enabled)" in cause["message"]
    assert "acceptTablesWithoutValidation" in cause["message"]
    assert cause["tablesWithoutValidation"] == ["sales.audit_log (No primary key)", "sales.order_tags (Not enabled)"]
    assert cause["tables"] == totals(tables=4, loaded=4, validated=2, verified=2, notValidatable=1,
                                     validationNotEnabled=1)
    assert assert_announced(run, harness, "FAILED") == cause


def test_f_tables_dms_cannot_validate_are_accepted_and_listed_with_the_prop(harness):
    harness.review_environment["ACCEPT_TABLES_WITHOUT_VALIDATION"] = "true"  # acceptTablesWithoutValidation: true
    harness.tables = [table_statistics("sales", name, validation_state=state) for name, state in MIXED]

    run = harness.run(name="run-mixed-accepted")

    assert run.status == "SUCCEEDED"
    outcome = assert_announced(run, harness, "SUCCEEDED")
    assert outcome["reason"] == "FULL_LOAD_VERIFIED"
    assert "2 table(s) accepted without validation" in outcome["message"]
    assert outcome["tablesWithoutValidation"] == ["sales.audit_log (No primary key)", "sales.order_tags (Not enabled)"]


def test_g_cdc_only_task_reports_replication_without_waiting_for_validation(harness):
    # A cdc task's tables are never loaded: DMS reports them as 'Table all' or 'Table updates' (TableStatistics),
    # and validation covers changed rows only, so pending validation does not hold the verdict.
    # The review runs with the cdc migration type; the definition is the example app's (its IsReplicationComplete
    # rule for cdc is checked in test/orchestration-quotas.test.ts).
    harness.review_environment["MIGRATION_TYPE"] = "cdc"
    harness.tables = [
        table_statistics("sales", "orders", table_state="Table all", validation_state="Pending records", pending=4),
        table_statistics("sales", "customers", table_state="Table updates", validation_state="Validated"),
    ]

    run = harness.run(name="run-cdc-only")

    assert run.status == "SUCCEEDED"
    assert len(harness.review_events) == 1
    outcome = assert_announced(run, harness, "SUCCEEDED")
    assert outcome["reason"] == "CDC_REPLICATING"
    assert "alarms" in outcome["message"]
    assert outcome["tables"] == totals(tables=2, validated=1, validationPending=1, verified=1)


def test_g_cdc_only_task_with_mismatched_rows_fails(harness):
    harness.review_environment["MIGRATION_TYPE"] = "cdc"
    harness.tables = [table_statistics("sales", "orders", table_state="Table updates",
                                       validation_state="Mismatched records", failed=2)]

    run = harness.run(name="run-cdc-mismatch")

    error, cause = failure_of(run)
    assert (error, cause["reason"]) == ("MigrationValidationFailed", "VALIDATION_FAILED")
    assert assert_announced(run, harness, "FAILED") == cause


def test_h_five_thousand_tables_with_64_character_names_stay_within_both_quotas(harness):
    # The issue this guards against: per-table data in the state (256 KiB) and pages re-read per poll (25,000
    # events). Validation stays pending on the last table for every review, until the synthesized budget ends it.
    schema = long_name("schema", 0)
    harness.tables = [table_statistics(schema, long_name("table", i)) for i in range(5000)]
    harness.tables[4999] = table_statistics(schema, long_name("table", 4999), validation_state="Pending records",
                                            pending=10)

    run = harness.run(name="run-5000-tables", deadline_seconds=600)

    assert run.status == "FAILED"
    # The example app's budget: 2 h at 5 min, 22 polls after the first look, of which the first start's
    # premigration assessment takes 7 (its longest wait): 16 reviews.
    assert [event["review"] for event in harness.review_events] == list(range(FIRST_POLL, 23))
    assert len(harness.table_statistics_calls) == 16 * 10  # ten pages of 500 per review
    _, cause = failure_of(run)
    assert cause["reason"] == "VALIDATION_PENDING"
    assert cause["tables"]["tables"] == 5000
    assert cause["tables"]["verified"] == 4999
    assert [t["TableName"] for t in cause["problemTables"]] == [long_name("table", 4999)]
    assert assert_announced(run, harness, "FAILED") == cause
    assert len(table_report(harness, "run-5000-tables")["tables"]) == 5000
    # The state stays small whatever the table count; measured here, limits asserted in Run for every run.
    assert run.largest_state_bytes < 32 * 1024, run.largest_state_bytes
    print(f"5,000 tables, 16 reviews: largest state {run.largest_state_bytes} bytes, "
          f"history {run.history_length} events")


def test_h_five_thousand_tables_with_64_character_names_all_validated(harness):
    schema = long_name("schema", 0)
    harness.tables = [table_statistics(schema, long_name("table", i)) for i in range(5000)]

    run = harness.run(name="run-5000-validated", deadline_seconds=120)

    assert run.status == "SUCCEEDED"
    outcome = assert_announced(run, harness, "SUCCEEDED")
    assert outcome["reason"] == "FULL_LOAD_VERIFIED"
    assert outcome["tables"]["verified"] == 5000
    print(f"5,000 tables validated: largest state {run.largest_state_bytes} bytes, history {run.history_length} events")


def test_no_tables_fails(harness):
    harness.tables = []

    run = harness.run(name="run-no-tables")

    _, cause = failure_of(run)
    assert cause["reason"] == "NO_TABLES"
    assert cause["tables"]["tables"] == 0
    assert assert_announced(run, harness, "FAILED") == cause


def test_a_report_that_cannot_be_written_fails_the_run_and_is_still_announced(harness, monkeypatch):
    original_put_object = s3_models.S3Backend.put_object

    def put_object(self, bucket_name, key_name, *args, **kwargs):
        if key_name == "reports/migrations/run-no-report.json":
            raise AccessDeniedByBucketPolicy()
        return original_put_object(self, bucket_name, key_name, *args, **kwargs)
    monkeypatch.setattr(s3_models.S3Backend, "put_object", put_object)

    run = harness.run(name="run-no-report")

    assert run.status == "FAILED"
    assert run.path[-6:] == ["WriteReport", "ReportNotWritten", "PublishOutcomeEvent", "ByOutcome",
                             "NotifyFailure", "MigrationFailed"]
    _, cause = failure_of(run)
    assert cause["reason"] == "REPORT_NOT_WRITTEN"
    assert cause["verdict"]["reason"] == "FULL_LOAD_VERIFIED"
    message = assert_notification(run, harness, "FAILED", "running")
    assert message["outcome"] == cause
    assert the_audit_event(harness)["outcome"] == cause


def test_a_review_that_fails_ends_the_run_with_a_report_an_event_and_a_notification(harness):
    def deny(call, tables):
        raise InvalidResourceStateFault("Replication task is not in a valid state")
    harness.before_table_statistics = deny

    run = harness.run(name="run-unreadable-tables")

    assert run.path[-len(FAILURE_END) - 2:] == ["ReviewTables", "TableReviewFailed", *FAILURE_END]
    error, cause = failure_of(run)
    assert (error, cause["reason"]) == ("MigrationFailed", "TABLE_REVIEW_FAILED")
    message = assert_notification(run, harness, "FAILED", "running")
    assert message["outcome"] == cause
    # The function's error, as Lambda reports an unhandled one (errorType, errorMessage).
    assert message["error"]["Error"] == "InvalidResourceStateFault"
    assert "not in a valid state" in message["error"]["Cause"]
    assert harness.report("run-unreadable-tables") == cause
    assert the_audit_event(harness)["outcome"] == cause


def test_h_one_poll_costs_18_history_events_as_the_quota_bound_assumes(harness):
    # test/orchestration-quotas.test.ts bounds the history with 18 events per poll without retries (36 with every
    # retry); the interpreter's history agrees: the events from one CountPoll to the next are one poll.
    budget_rule(harness)["NumericGreaterThanEquals"] = FIRST_POLL + 3
    harness.tables[2] = table_statistics("sales", "invoices", validation_state="Pending records", pending=250)

    run = harness.run(name="run-three-polls")

    polls = [i for i, e in enumerate(run.events)
             if e["type"] == "PassStateEntered" and e["stateEnteredEventDetails"]["name"] == "CountPoll"]
    assert len(polls) == 3
    assert [b - a for a, b in zip(polls, polls[1:])] == [18, 18]
    assert assert_announced(run, harness, "FAILED")["reason"] == "VALIDATION_PENDING"
