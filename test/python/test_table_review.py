"""table_review: the verdict and the summary size, on table statistics shaped as the DMS API Reference documents them
("TableStatistics" data type). The function is also executed inside the state machine runs of
test_state_machine_validation.py; these tests cover the sizes and migration types those runs do not reach."""

import json

import pytest

import table_review
from test_state_machine import table_statistics

NAME_LIMIT = 64


def reviewed(tables, migration_type="full-load-and-cdc", remembered=()):
    return [table_review.review_table(t, set(remembered), migration_type) for t in tables]


def long_name(i):
    return f"t_{i:05d}_".ljust(NAME_LIMIT, "x")


def worst_tables(count=5000):
    """Every table a problem, names at the limit and every text field long: the largest summary possible."""
    tables = []
    for i in range(count):
        table = table_statistics(long_name(i).replace("t_", "s_"), long_name(i),
                                 validation_state="Mismatched records", failed=10**12, pending=10**12,
                                 suspended=10**12, rows=10**15)
        table["ValidationStateDetails"] = "x" * 1000
        tables.append(table)
    return tables


def test_the_summary_stays_small_for_5000_problem_tables_with_64_character_names():
    summary = table_review.decide(reviewed(worst_tables()), "full-load-and-cdc", accept_without_validation=False)

    assert summary["tables"]["mismatched"] == 5000
    assert len(summary["problemTables"]) == 10
    # The state machine keeps this summary (plus the task and the run's input): far below 256 KiB.
    assert len(json.dumps(summary).encode()) < 8 * 1024  # 4,651 bytes measured


def test_the_names_of_5000_tables_without_validation_stay_bounded_in_the_message():
    tables = [table_statistics("s" * NAME_LIMIT, long_name(i), validation_state="No primary key") for i in range(5000)]
    tables.append(table_statistics("s" * NAME_LIMIT, "validated", validation_state="Validated"))

    summary = table_review.decide(reviewed(tables), "full-load-and-cdc", accept_without_validation=False)

    assert summary["reason"] == "TABLES_NOT_VALIDATABLE"
    assert summary["message"].count("(No primary key)") == 10
    assert "and 4990 more (see the table report)" in summary["message"]
    assert len(summary["tablesWithoutValidation"]) == 10
    assert len(json.dumps(summary).encode()) < 8 * 1024


def test_a_full_load_task_succeeds_as_validated_once_every_table_is():
    summary = table_review.decide(reviewed([table_statistics("a", "b")], "full-load"), "full-load", False)
    assert (summary["status"], summary["reason"], summary["settled"]) == ("SUCCEEDED", "VALIDATED", True)


def test_tables_still_loading_keep_the_verdict_open():
    tables = [table_statistics("a", "b"), table_statistics("a", "c", table_state="Full load",
                                                           validation_state="Pending validation")]
    summary = table_review.decide(reviewed(tables), "full-load-and-cdc", False)
    assert (summary["reason"], summary["settled"]) == ("VALIDATION_PENDING", False)
    assert summary["tables"]["loading"] == 1
    assert "loading still running" in summary["message"]


def test_a_table_validated_earlier_in_the_run_but_mismatched_now_fails():
    # Verification is remembered, a failure is never forgiven by it.
    tables = [table_statistics("a", "b", validation_state="Mismatched records", failed=1)]
    summary = table_review.decide(reviewed(tables, remembered={"a.b"}), "full-load-and-cdc", False)
    assert summary["reason"] == "VALIDATION_FAILED"


def test_a_table_pending_before_it_was_ever_validated_is_not_verified():
    tables = [table_statistics("a", "b", validation_state="Pending records", pending=3)]
    [table] = reviewed(tables, remembered={"a.other"})
    assert (table["class"], table["verified"]) == ("validationPending", False)


def test_table_all_and_table_updates_count_as_replicating_only_for_a_cdc_task():
    tables = [table_statistics("a", "b", table_state="Table all")]
    assert reviewed(tables, "cdc")[0]["class"] == "validated"
    assert reviewed(tables, "full-load-and-cdc")[0]["class"] == "loading"


# ---- Every class, verdict and message, on small literal inputs (pure: no AWS, no moto) ----

def stats(name, table_state="Table completed", validation_state="Validated", **records):
    return table_statistics("s", name, table_state=table_state, validation_state=validation_state, **records)


def totals(**counts):
    """The summary's totals: every count zero unless named."""
    expected = {"tables": 0, "loaded": 0, "loading": 0, "loadFailed": 0, "validated": 0, "verified": 0,
                "validationNotEnabled": 0, "validationPending": 0, "mismatched": 0, "suspended": 0,
                "notValidatable": 0}
    expected.update(counts)
    return expected


def listed(table):
    """A problem table as the summary lists it (the fields the DMS API Reference names, nothing else)."""
    return {"SchemaName": table["SchemaName"], "TableName": table["TableName"], "TableState": table["TableState"],
            "ValidationState": table["ValidationState"],
            "ValidationFailedRecords": table["ValidationFailedRecords"],
            "ValidationPendingRecords": table["ValidationPendingRecords"],
            "ValidationSuspendedRecords": table["ValidationSuspendedRecords"],
            "FullLoadRows": table["FullLoadRows"], "Inserts": table["Inserts"]}


PENDING_TEXT = "; this is the verdict if the run's time budget ends now"


@pytest.mark.parametrize("table_state, validation_state, records, expected_class", [
    ("Table error", "Validated", {}, "loadFailed"),
    ("Table cancelled", "Pending records", {}, "loadFailed"),
    ("Table does not exist", "Not enabled", {}, "loadFailed"),
    ("Table completed", "Error", {}, "loadFailed"),
    ("Table completed", "Table error", {}, "loadFailed"),
    ("Table completed", "Mismatched records", {}, "mismatched"),
    ("Table completed", "Pending records", {"failed": 1}, "mismatched"),
    ("Table completed", "Suspended records", {}, "suspended"),
    ("Table completed", "Pending records", {"suspended": 1}, "suspended"),
    ("Full load", "Pending records", {}, "loading"),
    ("Before load", "Validated", {}, "loading"),
    ("Table completed", "Not enabled", {}, "validationNotEnabled"),
    ("Table completed", "No primary key", {}, "notValidatable"),
    ("Table completed", "Validated", {}, "validated"),
    ("Table completed", "Pending records", {"pending": 4}, "validationPending"),
    ("Table completed", "Pending validation", {}, "validationPending"),
])
def test_each_documented_state_falls_in_its_class(table_state, validation_state, records, expected_class):
    table = stats("t", table_state, validation_state, **records)
    assert table_review.review_table(table, set(), "full-load-and-cdc") == {
        "table": "s.t", "class": expected_class, "verified": expected_class == "validated", "statistics": table}


def test_missing_record_counts_read_as_zero():
    table = {"SchemaName": "s", "TableName": "t", "TableState": "Table completed", "ValidationState": "Validated",
             "ValidationFailedRecords": None}
    assert table_review.review_table(table, set(), "full-load")["class"] == "validated"


def test_only_a_pending_table_is_verified_by_an_earlier_review():
    remembered = {"s.pending", "s.mismatched", "s.suspended", "s.loading", "s.off"}
    tables = [stats("pending", validation_state="Pending records"),
              stats("mismatched", validation_state="Mismatched records"),
              stats("suspended", validation_state="Pending records", suspended=2),
              stats("loading", "Full load", "Pending records"), stats("off", validation_state="Not enabled"),
              stats("other", validation_state="Pending records")]
    assert [(t["table"], t["verified"]) for t in reviewed(tables, remembered=remembered)] == [
        ("s.pending", True), ("s.mismatched", False), ("s.suspended", False), ("s.loading", False),
        ("s.off", False), ("s.other", False)]


def test_no_tables_fails_the_run():
    assert table_review.decide([], "full-load-and-cdc", False) == {
        "settled": True, "status": "FAILED", "reason": "NO_TABLES",
        "message": "The task reports no tables: check its table mappings", "error": "MigrationFailed",
        "tables": totals(), "problemTables": [], "tablesWithoutValidation": []}


def test_tables_not_loaded_fail_the_run_and_at_most_ten_are_listed():
    failed = [stats(f"e{i:02d}", "Table error") for i in range(11)] + [stats("v", validation_state="Error")]
    tables = [stats("ok")] + failed + [stats("m", validation_state="Mismatched records")]
    assert table_review.decide(reviewed(tables), "full-load-and-cdc", True) == {
        "settled": True, "status": "FAILED", "reason": "TABLES_NOT_LOADED",
        "message": "12 table(s) were not loaded (table error, cancelled or missing)", "error": "MigrationFailed",
        "tables": totals(tables=14, loaded=3, loadFailed=12, validated=1, verified=1, mismatched=1),
        "problemTables": [listed(t) for t in failed[:10]], "tablesWithoutValidation": []}


def test_mismatched_or_suspended_rows_fail_validation_and_only_those_tables_are_listed():
    problems = [stats("m1", validation_state="Mismatched records", failed=3),
                stats("s1", validation_state="Suspended records", suspended=2),
                stats("s2", validation_state="Pending records", suspended=1),
                stats("s3", validation_state="Suspended records", suspended=5)]
    tables = [stats("loading", "Full load", "Pending records"), problems[0], stats("ok"), *problems[1:],
              stats("nopk", validation_state="No primary key")]
    assert table_review.decide(reviewed(tables), "full-load", False) == {
        "settled": True, "status": "FAILED", "reason": "VALIDATION_FAILED",
        "message": "Data validation found rows that differ (1 table(s)) or rows it could not compare (3 table(s))",
        "error": "MigrationValidationFailed",
        "tables": totals(tables=7, loaded=6, loading=1, validated=1, verified=1, mismatched=1, suspended=3,
                         notValidatable=1),
        "problemTables": [listed(t) for t in problems], "tablesWithoutValidation": ["s.nopk (No primary key)"]}


def test_suspended_tables_alone_fail_validation():
    summary = table_review.decide(reviewed([stats("s", validation_state="Suspended records")]), "cdc", False)
    assert (summary["reason"], summary["message"]) == (
        "VALIDATION_FAILED",
        "Data validation found rows that differ (0 table(s)) or rows it could not compare (1 table(s))")


@pytest.mark.parametrize("migration_type, table_state, loaded", [
    ("full-load", "Table completed", 11), ("full-load-and-cdc", "Table completed", 11), ("cdc", "Table all", 0)])
def test_validation_off_for_every_table_succeeds_without_comparing_rows(migration_type, table_state, loaded):
    tables = [stats(f"t{i:02d}", table_state, "Not enabled") for i in range(11)]
    assert table_review.decide(reviewed(tables, migration_type), migration_type, False) == {
        "settled": True, "status": "SUCCEEDED", "reason": "VALIDATION_NOT_ENABLED",
        "message": "Every table was loaded; data validation is not enabled for this task, so no rows were compared",
        "error": "None", "tables": totals(tables=11, loaded=loaded, validationNotEnabled=11),
        "problemTables": [], "tablesWithoutValidation": [f"s.t{i:02d} (Not enabled)" for i in range(10)]}


def test_validation_off_for_every_table_of_a_load_that_has_not_completed_waits():
    # Reviewed as replicating (cdc) but decided for a full load: the load has not completed, so the verdict is open.
    tables = [stats("a", "Table all", "Not enabled"), stats("b", validation_state="Not enabled")]
    summary = table_review.decide(reviewed(tables, "cdc"), "full-load", False)
    assert (summary["status"], summary["reason"], summary["settled"]) == ("FAILED", "VALIDATION_PENDING", False)
    assert summary["message"] == "2 table(s) not verified yet (validation still running)" + PENDING_TEXT
    assert summary["tables"] == totals(tables=2, loaded=1, validationNotEnabled=2)


def test_tables_dms_cannot_validate_fail_the_run_unless_accepted():
    tables = [stats("ok"), stats("nopk", validation_state="No primary key"),
              stats("off", validation_state="Not enabled")]
    assert table_review.decide(reviewed(tables), "full-load-and-cdc", False) == {
        "settled": True, "status": "FAILED", "reason": "TABLES_NOT_VALIDATABLE",
        "message": "DMS cannot validate 2 table(s): s.nopk (No primary key), s.off (Not enabled). Add a primary key "
                   "or enable validation for them, or accept them with orchestration.acceptTablesWithoutValidation",
        "error": "MigrationValidationFailed",
        "tables": totals(tables=3, loaded=3, validated=1, verified=1, validationNotEnabled=1, notValidatable=1),
        "problemTables": [listed(tables[1]), listed(tables[2])],
        "tablesWithoutValidation": ["s.nopk (No primary key)", "s.off (Not enabled)"]}


def test_ten_tables_without_validation_are_all_named_and_the_eleventh_is_counted():
    ten = [stats(f"n{i}", validation_state="No primary key") for i in range(10)]
    names = ", ".join(f"s.n{i} (No primary key)" for i in range(10))
    tail = ". Add a primary key or enable validation for them, or accept them with " \
           "orchestration.acceptTablesWithoutValidation"
    summary = table_review.decide(reviewed(ten), "full-load", False)
    assert summary["message"] == f"DMS cannot validate 10 table(s): {names}{tail}"
    summary = table_review.decide(reviewed(ten + [stats("x", validation_state="No primary key")]), "full-load", False)
    assert summary["message"] == f"DMS cannot validate 11 table(s): {names} and 1 more (see the table report){tail}"
    assert len(summary["problemTables"]) == 10


def test_a_full_load_and_cdc_task_is_verified_with_every_table_validated():
    tables = [stats("a"), stats("b")]
    assert table_review.decide(reviewed(tables), "full-load-and-cdc", False) == {
        "settled": True, "status": "SUCCEEDED", "reason": "FULL_LOAD_VERIFIED",
        "message": "Full load verified, ready for cutover: every table was loaded and validated with no failed or "
                   "suspended records; CDC keeps running, and the CDC latency and validation alarms report its "
                   "health from now on",
        "error": "None", "tables": totals(tables=2, loaded=2, validated=2, verified=2),
        "problemTables": [], "tablesWithoutValidation": []}


def test_a_table_validated_at_an_earlier_review_and_reopened_by_cdc_stays_verified():
    tables = [stats("a"), stats("b", validation_state="Pending records", pending=7)]
    summary = table_review.decide(reviewed(tables, remembered={"s.b"}), "full-load-and-cdc", False)
    assert (summary["status"], summary["reason"], summary["settled"]) == ("SUCCEEDED", "FULL_LOAD_VERIFIED", True)
    assert summary["tables"] == totals(tables=2, loaded=2, validated=1, verified=2, validationPending=1)


def test_accepted_tables_without_validation_are_named_in_the_verdict():
    tables = [stats("a"), stats("nopk", validation_state="No primary key"),
              stats("off", validation_state="Not enabled")]
    assert table_review.decide(reviewed(tables), "full-load-and-cdc", True) == {
        "settled": True, "status": "SUCCEEDED", "reason": "FULL_LOAD_VERIFIED",
        "message": "Full load verified, ready for cutover: every table was loaded and validated with no failed or "
                   "suspended records; 2 table(s) accepted without validation; CDC keeps running, and the CDC "
                   "latency and validation alarms report its health from now on",
        "error": "None",
        "tables": totals(tables=3, loaded=3, validated=1, verified=1, validationNotEnabled=1, notValidatable=1),
        "problemTables": [], "tablesWithoutValidation": ["s.nopk (No primary key)", "s.off (Not enabled)"]}


def test_a_full_load_task_is_validated_with_every_row_compared():
    assert table_review.decide(reviewed([stats("a")], "full-load"), "full-load", False) == {
        "settled": True, "status": "SUCCEEDED", "reason": "VALIDATED",
        "message": "Every table was loaded and every row validated", "error": "None",
        "tables": totals(tables=1, loaded=1, validated=1, verified=1),
        "problemTables": [], "tablesWithoutValidation": []}
    tables = [stats("a"), stats("nopk", validation_state="No primary key")]
    summary = table_review.decide(reviewed(tables, "full-load"), "full-load", True)
    assert summary["message"] == ("Every table was loaded and every row validated; "
                                  "1 table(s) accepted without validation")


def test_an_accepted_table_without_validation_is_not_awaited_but_a_pending_one_is():
    tables = [stats("nopk", validation_state="No primary key"), stats("p", validation_state="Pending records")]
    summary = table_review.decide(reviewed(tables), "full-load-and-cdc", True)
    assert (summary["status"], summary["reason"], summary["settled"]) == ("FAILED", "VALIDATION_PENDING", False)
    assert summary["message"] == "2 table(s) not verified yet (validation still running)" + PENDING_TEXT


def test_pending_validation_keeps_the_verdict_open_and_lists_the_tables_waited_for():
    waiting = [stats(f"l{i}", "Full load", "Pending records") for i in range(6)] + \
              [stats(f"p{i}", validation_state="Pending records") for i in range(6)]
    tables = [stats("ok"), *waiting]
    assert table_review.decide(reviewed(tables), "full-load-and-cdc", False) == {
        "settled": False, "status": "FAILED", "reason": "VALIDATION_PENDING",
        "message": "12 table(s) not verified yet (loading still running)" + PENDING_TEXT, "error": "MigrationFailed",
        "tables": totals(tables=13, loaded=7, loading=6, validated=1, verified=1, validationPending=6),
        "problemTables": [listed(t) for t in waiting[:10]], "tablesWithoutValidation": []}
    summary = table_review.decide(reviewed([stats("ok"), stats("p", validation_state="Pending records")]), "full-load",
                                  False)
    assert (summary["message"], summary["problemTables"]) == (
        "1 table(s) not verified yet (validation still running)" + PENDING_TEXT,
        [listed(stats("p", validation_state="Pending records"))])


def test_a_cdc_task_succeeds_once_every_table_replicates_without_waiting_for_validation():
    tables = [stats("a", "Table all", "Pending records", pending=9), stats("b", "Table updates", "Validated"),
              stats("c")]
    assert table_review.decide(reviewed(tables, "cdc"), "cdc", False) == {
        "settled": True, "status": "SUCCEEDED", "reason": "CDC_REPLICATING",
        "message": "CDC applies changes to every table and validation found no differences so far; from now on the "
                   "CDC latency and validation alarms report its health",
        "error": "None", "tables": totals(tables=3, loaded=1, validated=2, verified=2, validationPending=1),
        "problemTables": [], "tablesWithoutValidation": []}
    tables.append(stats("nopk", "Table all", "No primary key"))
    summary = table_review.decide(reviewed(tables, "cdc"), "cdc", True)
    assert summary["message"] == ("CDC applies changes to every table and validation found no differences so far; "
                                  "1 table(s) accepted without validation; from now on the CDC latency and "
                                  "validation alarms report its health")


def test_a_cdc_task_waits_for_tables_not_replicating_yet():
    tables = [stats("a", "Table all"), stats("b", "Before load", "Pending records")]
    assert table_review.decide(reviewed(tables, "cdc"), "cdc", False) == {
        "settled": False, "status": "FAILED", "reason": "VALIDATION_PENDING",
        "message": "1 table(s) not verified yet (loading still running)" + PENDING_TEXT, "error": "MigrationFailed",
        "tables": totals(tables=2, loading=1, validated=1, verified=1),
        "problemTables": [listed(tables[1])], "tablesWithoutValidation": []}


# ---- The handler: the task's statistics from DMS, the review kept in S3, the verdict logged (moto) ----

@pytest.fixture
def task_with_statistics(aws, monkeypatch):
    """A task in moto's DMS whose DescribeTableStatistics (which moto lacks) answers as the DMS API Reference
    documents it (test_state_machine.Harness._fake_table_statistics), and the report bucket."""
    import types

    import boto3
    from test_state_machine import Harness

    fake = types.SimpleNamespace()
    Harness._fake_table_statistics(fake, monkeypatch)
    arn = boto3.client("dms", region_name="us-west-2").create_replication_task(
        ReplicationTaskIdentifier="migration-task-dev", MigrationType="full-load-and-cdc",
        SourceEndpointArn="arn:aws:dms:us-west-2:123456789012:endpoint:SOURCE",
        TargetEndpointArn="arn:aws:dms:us-west-2:123456789012:endpoint:TARGET",
        ReplicationInstanceArn="arn:aws:dms:us-west-2:123456789012:rep:INSTANCE", TableMappings="{}",
    )["ReplicationTask"]["ReplicationTaskArn"]
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket="reports-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    monkeypatch.setenv("REPLICATION_TASK_ARN", arn)
    monkeypatch.setenv("REPORT_BUCKET", "reports-bucket")
    monkeypatch.setenv("REPORT_PREFIX", "reports/migrations/")
    return fake, s3


def logged_reviews(capsys):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "tables reviewed"]


def test_the_handler_remembers_the_tables_an_earlier_review_verified(task_with_statistics, monkeypatch, capsys):
    fake, s3 = task_with_statistics
    monkeypatch.setenv("MIGRATION_TYPE", "full-load-and-cdc")
    fake.tables = [stats("a"), stats("b", validation_state="Pending records", pending=3)]

    first = table_review.handler({"execution": "run-1", "review": 1}, None)
    fake.tables = [stats("a", validation_state="Pending records", pending=2), stats("b")]  # CDC reopened a
    second = table_review.handler({"execution": "run-1", "review": 2}, None)

    assert (first["status"], first["reason"], first["settled"]) == ("FAILED", "VALIDATION_PENDING", False)
    assert (second["status"], second["reason"], second["settled"]) == ("SUCCEEDED", "FULL_LOAD_VERIFIED", True)
    assert second["tableReport"] == {"bucket": "reports-bucket", "key": "reports/migrations/run-1/tables.json"}
    report = json.loads(s3.get_object(Bucket="reports-bucket", Key="reports/migrations/run-1/tables.json")["Body"].read())
    assert (report["execution"], report["review"]) == ("run-1", 2)
    assert [(table["table"], table["verified"]) for table in report["tables"]] == [("s.a", True), ("s.b", True)]
    assert logged_reviews(capsys) == [
        {"level": "info", "handler": "table-review", "message": "tables reviewed", "execution": "run-1",
         "reason": "VALIDATION_PENDING", "settled": False, "totals": first["tables"]},
        {"level": "info", "handler": "table-review", "message": "tables reviewed", "execution": "run-1",
         "reason": "FULL_LOAD_VERIFIED", "settled": True, "totals": second["tables"]},
    ]


def test_the_handler_reviews_as_the_task_migrates_and_accepts_what_it_is_told_to(task_with_statistics, monkeypatch):
    fake, _ = task_with_statistics
    monkeypatch.setenv("MIGRATION_TYPE", "cdc")
    monkeypatch.setenv("ACCEPT_TABLES_WITHOUT_VALIDATION", "true")
    fake.tables = [stats("a", "Table all", "Pending records", pending=9), stats("nopk", "Table all", "No primary key")]

    summary = table_review.handler({"execution": 42}, None)

    assert (summary["status"], summary["reason"]) == ("SUCCEEDED", "CDC_REPLICATING")
    assert "1 table(s) accepted without validation" in summary["message"]
    assert summary["tableReport"]["key"] == "reports/migrations/42/tables.json"
