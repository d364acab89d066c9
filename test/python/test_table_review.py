"""table_review: the verdict and the summary size, on table statistics shaped as the DMS API Reference documents them
("TableStatistics" data type). The function is also executed inside the state machine runs of
test_state_machine_validation.py; these tests cover the sizes and migration types those runs do not reach."""

import json

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
