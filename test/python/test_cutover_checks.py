"""The cutover's database checks, executed against two real MariaDB servers (a source and a target).

The credentials reach the checks only through Secrets Manager (moto), as in the function: a user with SELECT only
on each server, over TCP. The apply exceptions table is created with the columns the DMS User Guide lists for
`awsdms_apply_exceptions` ("Control tables"), in the default control schema of a MySQL-compatible target.
"""

import json
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

import cutover_checks
from mariadb_server import mariadb_servers  # noqa: F401 - the fixture

USER = "cutover_check"
PASSWORD = "Ch3ck-only"  # a test server's password, reachable on 127.0.0.1 only
CUTOVER_STARTED = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)


def _with_reader(server):
    server.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'",
                   f"GRANT SELECT ON *.* TO '{USER}'@'127.0.0.1'")
    return server


@pytest.fixture(scope="module")
def servers(mariadb_servers):  # noqa: F811 - the fixture of mariadb_server
    source = _with_reader(mariadb_servers.start("source"))
    target = _with_reader(mariadb_servers.start("target"))
    for server in (source, target):
        server.execute("CREATE DATABASE shop",
                       "CREATE TABLE shop.events (kind VARCHAR(20), amount DECIMAL(10,2), note TEXT NULL)",
                       "CREATE TABLE shop.readings (sensor INT, value DOUBLE)")
    target.execute("CREATE DATABASE awsdms_control",
                   "CREATE TABLE awsdms_control.awsdms_apply_exceptions (TASK_NAME VARCHAR(128) NOT NULL, "
                   "TABLE_OWNER VARCHAR(128) NOT NULL, TABLE_NAME VARCHAR(128) NOT NULL, "
                   "ERROR_TIME TIMESTAMP NOT NULL, STATEMENT TEXT NOT NULL, ERROR TEXT NOT NULL)")
    return source, target


@pytest.fixture
def connections(servers):
    """Connections made by the checks from the secrets' fields, as the function makes them."""
    source, target = servers
    for server in servers:
        server.execute("DELETE FROM shop.events", "DELETE FROM shop.readings")
    target.execute("DELETE FROM awsdms_control.awsdms_apply_exceptions")
    opened = _connect_through_secrets(servers)
    yield opened
    for connection in opened:
        connection.close()


def _connect_through_secrets(servers):
    with mock_aws():
        client = boto3.client("secretsmanager")
        arns = [client.create_secret(Name=f"secret-{server.name}", SecretString=json.dumps(
            {"username": USER, "password": PASSWORD, "host": "127.0.0.1", "port": server.port}))["ARN"]
            for server in servers]
        return [cutover_checks.connect(cutover_checks.read_secret(client, arn)) for arn in arns]


def _exception_at(target, when):
    target.execute("INSERT INTO awsdms_control.awsdms_apply_exceptions VALUES ('task', 'shop', 'events', "
                   f"'{when:%Y-%m-%d %H:%M:%S}', 'INSERT INTO shop.events ...', 'Duplicate entry')")


def _same_rows(servers, *statements):
    for server in servers:
        server.execute(*statements)


# ----- apply exceptions -----
def test_an_empty_exceptions_table_passes(connections):
    _, target = connections
    found = cutover_checks.apply_exceptions_since(target, CUTOVER_STARTED)
    assert (found["tableFound"], found["count"], found["examples"]) == (True, 0, [])


def test_an_exception_after_the_start_is_found_with_its_table(servers, connections):
    _exception_at(servers[1], CUTOVER_STARTED + timedelta(seconds=1))
    found = cutover_checks.apply_exceptions_since(connections[1], CUTOVER_STARTED)
    assert found["count"] == 1
    assert (found["examples"][0]["table"], found["examples"][0]["error"]) == ("events", "Duplicate entry")
    summary = cutover_checks.summarize([], found, require_equality=True)
    assert summary["passed"] is False
    assert summary["reasons"] == ["1 apply exception(s) since 2026-12-07T02:00:00Z"]


def test_an_exception_before_the_start_does_not_count(servers, connections):
    _exception_at(servers[1], CUTOVER_STARTED - timedelta(seconds=1))
    assert cutover_checks.apply_exceptions_since(connections[1], CUTOVER_STARTED)["count"] == 0


def test_a_start_in_another_time_zone_is_the_same_instant(servers, connections):
    _exception_at(servers[1], CUTOVER_STARTED + timedelta(minutes=30))
    one_hour_east = CUTOVER_STARTED.astimezone(timezone(timedelta(hours=1)))  # 03:00+01:00 == 02:00Z
    found = cutover_checks.apply_exceptions_since(connections[1], one_hour_east)
    assert (found["count"], found["since"]) == (1, "2026-12-07T02:00:00Z")  # the reason names the instant in UTC


def test_a_control_schema_without_the_table_reports_it(connections):
    found = cutover_checks.apply_exceptions_since(connections[1], CUTOVER_STARTED, control_schema="shop")
    assert (found["tableFound"], found["since"], found["count"]) == (False, "2026-12-07T02:00:00Z", 0)


# ----- reconciliation -----
def test_a_no_key_table_with_the_same_rows_matches_by_count_and_checksum(servers, connections):
    _same_rows(servers, "INSERT INTO shop.events VALUES ('sale', 10.50, NULL), ('sale', 10.50, NULL), "
                        "('refund', 3.00, 'late')")
    result = cutover_checks.reconcile_table(*connections, "shop", "events")
    assert (result["matches"], result["sourceRows"], result["targetRows"]) == (True, 3, 3)
    assert result["sourceChecksum"] == result["targetChecksum"] != 0


def test_a_no_key_table_with_a_missing_row_differs_in_count(servers, connections):
    _same_rows(servers, "INSERT INTO shop.events VALUES ('sale', 10.50, NULL)")
    servers[0].execute("INSERT INTO shop.events VALUES ('sale', 10.50, NULL)")  # a duplicate never applied
    result = cutover_checks.reconcile_table(*connections, "shop", "events")
    assert (result["matches"], result["sourceRows"], result["targetRows"]) == (False, 2, 1)
    assert result["reason"] == "row counts differ"


def test_same_count_other_values_differ_in_checksum(servers, connections):
    servers[0].execute("INSERT INTO shop.events VALUES ('sale', 10.50, NULL)")
    servers[1].execute("INSERT INTO shop.events VALUES ('sale', 10.51, NULL)")
    result = cutover_checks.reconcile_table(*connections, "shop", "events")
    assert (result["matches"], result["reason"]) == (False, "checksums differ")


def test_null_and_empty_text_are_different_values(servers, connections):
    servers[0].execute("INSERT INTO shop.events VALUES ('sale', 1, NULL)")
    servers[1].execute("INSERT INTO shop.events VALUES ('sale', 1, '')")
    assert cutover_checks.reconcile_table(*connections, "shop", "events")["matches"] is False


def test_a_floating_point_table_is_compared_by_count_only(servers, connections):
    _same_rows(servers, "INSERT INTO shop.readings VALUES (1, 0.1), (2, 0.2)")
    result = cutover_checks.reconcile_table(*connections, "shop", "readings")
    assert (result["matches"], result["checksumSkipped"]) == (True, "inexact column types: value")
    assert "sourceChecksum" not in result


def test_a_table_missing_on_the_target_is_a_difference(servers, connections):
    servers[0].execute("CREATE TABLE IF NOT EXISTS shop.only_source (id INT)")
    result = cutover_checks.reconcile(*connections, [{"schema": "shop", "table": "only_source"}])[0]
    assert (result["matches"], result["reason"]) == (False, "missing on the target or other columns")


def test_differences_fail_the_summary_only_when_equality_is_required(servers, connections):
    servers[0].execute("INSERT INTO shop.events VALUES ('sale', 1, NULL)")
    results = cutover_checks.reconcile(*connections, [{"schema": "shop", "table": "events"}])
    no_exceptions = {"count": 0, "examples": []}
    assert cutover_checks.summarize(results, no_exceptions, require_equality=True)["passed"] is False
    reported = cutover_checks.summarize(results, no_exceptions, require_equality=False)
    assert (reported["passed"], reported["tablesDiffering"]) == (True, 1)


# ----- the function: secrets named by the environment, details in S3, a bounded answer -----
def test_the_handler_reads_the_secrets_and_writes_every_table_to_s3(servers, monkeypatch):
    source, target = servers
    _same_rows(servers, "DELETE FROM shop.events", "INSERT INTO shop.events VALUES ('sale', 1, NULL)")
    target.execute("DELETE FROM awsdms_control.awsdms_apply_exceptions")
    with mock_aws():
        secrets = boto3.client("secretsmanager")
        for server, variable in ((source, "SOURCE_SECRET_ARN"), (target, "TARGET_SECRET_ARN")):
            monkeypatch.setenv(variable, secrets.create_secret(Name=f"handler-{server.name}", SecretString=json.dumps(
                {"username": USER, "password": PASSWORD, "host": "127.0.0.1", "port": server.port}))["ARN"])
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        monkeypatch.setenv("REPORT_BUCKET", "reports")
        review = {"tables": [  # a table review's report (table_review.py), as the cutover's last review writes it
            reviewed("shop", "events", "notValidatable"), reviewed("shop", "absent", "validationNotEnabled"),
            reviewed("shop", "orders", "validated"), reviewed("shop", "lines", "validationPending", verified=True),
            reviewed("shop", "carts", "loading")]}
        s3.put_object(Bucket="reports", Key="reports/migrations/c1/tables.json", Body=json.dumps(review).encode())
        answer = cutover_checks.handler({"cutoverId": "c1", "since": "2026-12-07T02:00:00Z", "requireEquality": True,
                                         "tableReport": {"bucket": "reports", "key": "reports/migrations/c1/tables.json"}},
                                        LambdaContext(remaining_seconds=900))
        details = json.loads(s3.get_object(Bucket="reports", Key=answer["detailsKey"])["Body"].read())
    assert answer["detailsKey"] == "cutover/c1/database-checks.json"
    assert (answer["passed"], answer["tablesReconciled"], answer["tablesDiffering"], answer["tablesBlocking"]) == (
        False, 2, 1, 1)
    assert answer["reasons"][0] == "1 table(s) neither validated nor reconcilable, e.g. shop.carts (loading)"
    assert [(row["table"], row["matches"]) for row in details["tables"]] == [("events", True), ("absent", False)]


class LambdaContext:
    """The one method of Lambda's context object the handler calls (Python Lambda developer guide, "context")."""

    def __init__(self, remaining_seconds):
        self.remaining_seconds = remaining_seconds

    def get_remaining_time_in_millis(self):
        return int(self.remaining_seconds * 1000)


def test_tables_past_the_deadline_are_differences_not_silence(servers, connections):
    _same_rows(servers, "INSERT INTO shop.events VALUES ('sale', 1, NULL)")
    tables = [{"schema": "shop", "table": "events"}, {"schema": "shop", "table": "readings"}]
    results = cutover_checks.reconcile(*connections, tables, deadline=time.monotonic() - 1)
    assert [(row["matches"], row["reason"]) for row in results] == [
        (False, "not reconciled within the function's time")] * 2


def reviewed(schema, table, klass, verified=False):
    return {"table": f"{schema}.{table}", "class": klass, "verified": verified,
            "statistics": {"SchemaName": schema, "TableName": table}}


def test_the_answer_for_5000_differing_tables_stays_small():
    long_name = "t" * 64
    results = [{"schema": long_name, "table": f"{long_name[:58]}{index:06d}", "sourceRows": 10**9,
                "targetRows": 10**9 - 1, "matches": False, "reason": "row counts differ"} for index in range(5000)]
    examples = [{"task": "t" * 128, "schema": "s" * 64, "table": "x" * 64, "time": "2026-12-07 02:00:00",
                 "statement": "S" * 500, "error": "E" * 500}] * cutover_checks.MAX_EXCEPTION_EXAMPLES
    blocking = [{"table": f"{long_name}.{row['table']}", "class": "validationPending"} for row in results]
    summary = cutover_checks.summarize(results, {"since": "2026-12-07T02:00:00Z", "count": 7, "examples": examples}, True,
                                     blocking)
    size = len(json.dumps({**summary, "detailsKey": "cutover/" + "c" * 80 + "/database-checks.json"}).encode())
    assert (summary["tablesDiffering"], summary["differencesListed"], summary["tablesBlocking"]) == (5000, 50, 5000)
    assert size < 32 * 1024, size  # measured 27 KiB: under an eighth of the 256 KiB a state may hold, whatever the number of tables


def test_timestamps_compare_as_the_same_instant_whatever_the_server_time_zone(servers):
    source, target = servers
    for server in servers:
        server.execute("CREATE TABLE IF NOT EXISTS shop.visits (at TIMESTAMP NULL)", "DELETE FROM shop.visits",
                       "INSERT INTO shop.visits VALUES (FROM_UNIXTIME(1796608800))")
    source.execute("SET GLOBAL time_zone = '+05:00'")  # a source server in another zone than the target
    try:
        opened = _connect_through_secrets(servers)  # sessions begun after the change
        try:
            assert cutover_checks.reconcile_table(*opened, "shop", "visits")["matches"] is True
        finally:
            for connection in opened:
                connection.close()
    finally:
        source.execute("SET GLOBAL time_zone = 'SYSTEM'")
