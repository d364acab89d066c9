"""The source readiness check (tools/source-readiness/check_source.py) against a real MariaDB server.

One server for the module, set up ready for DMS (binary log on, ROW, FULL, 48 h retention, a DMS user with
REPLICATION CLIENT / REPLICATION SLAVE / SELECT, InnoDB tables with keys); each test puts it into one failing state,
runs the check as the DMS user over TCP, and the fixture puts it back. MariaDB 10.11 is newer than the DMS User
Guide's list of MariaDB sources, so the ready state runs with --allow-unlisted-version (its own test shows the
version finding). server_id cannot be 0 on MariaDB (it clamps to 1), so that finding is shown on MySQL 8.0 facts.
"""

import io
import json
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from mariadb_server import REPO_ROOT, mariadb_servers  # noqa: F401 - the fixture

sys.path.insert(0, str(REPO_ROOT / "tools" / "source-readiness"))
import check_source  # noqa: E402

DMS_USER = "dms_user"
DMS_PASSWORD = "s3cret-Pw-7f1c"  # a distinctive value, so a leak into the output is found
READY_SETTINGS = (
    "SET GLOBAL binlog_format = 'ROW'", "SET GLOBAL binlog_row_image = 'FULL'",
    "SET GLOBAL binlog_expire_logs_seconds = 172800", "SET GLOBAL log_bin_compress = OFF",
)
READY_OPTIONS = ["--log-bin", "--binlog-format=ROW", "--binlog-row-image=FULL", "--server-id=11",
                 "--binlog-expire-logs-seconds=172800"]


def _create_ready_source(server):
    server.execute(
        "CREATE DATABASE sales", "CREATE DATABASE crm",
        "CREATE TABLE sales.orders (id INT PRIMARY KEY, amount DECIMAL(10, 2)) ENGINE=InnoDB",
        "CREATE TABLE sales.order_lines (order_id INT NOT NULL, line INT NOT NULL, UNIQUE KEY (order_id, line)) ENGINE=InnoDB",
        "CREATE TABLE crm.customers (id INT PRIMARY KEY, name VARCHAR(64)) ENGINE=InnoDB",
        f"CREATE USER '{DMS_USER}'@'127.0.0.1' IDENTIFIED BY '{DMS_PASSWORD}'",
        f"GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO '{DMS_USER}'@'127.0.0.1'",
        f"GRANT SELECT ON sales.* TO '{DMS_USER}'@'127.0.0.1'",
        f"GRANT SELECT ON crm.* TO '{DMS_USER}'@'127.0.0.1'",
    )


def _restore_ready(server):
    if server.execute("SELECT @@log_bin") != ((1,),):
        server.restart(READY_OPTIONS)
    server.execute(
        *READY_SETTINGS,
        "DROP TABLE IF EXISTS sales.no_key", "DROP TABLE IF EXISTS sales.legacy",
        f"GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO '{DMS_USER}'@'127.0.0.1'",
        f"GRANT SELECT ON sales.* TO '{DMS_USER}'@'127.0.0.1'",
    )


@pytest.fixture(scope="module")
def ready_server(mariadb_servers):  # noqa: F811 - the fixture of mariadb_server
    server = mariadb_servers.start("source", READY_OPTIONS)
    _create_ready_source(server)
    return server


@pytest.fixture
def source(ready_server):
    """The server, ready; each test changes one thing, and it is ready again afterwards."""
    _restore_ready(ready_server)
    yield ready_server
    _restore_ready(ready_server)


def run_check(server, *extra, migration_type="full-load-and-cdc", accept_version=True):
    arguments = ["--host", "127.0.0.1", "--port", str(server.port), "--user", DMS_USER, "--schemas", "sales,crm",
                 "--migration-type", migration_type, *(["--allow-unlisted-version"] if accept_version else []), *extra]
    out = io.StringIO()
    status = check_source.main(arguments, environ={"SOURCE_DB_PASSWORD": DMS_PASSWORD}, out=out)
    return status, out.getvalue()


def verdicts(output, migration_type="full-load-and-cdc"):
    """The checks the report calls blocking for the migration type, from its last line."""
    last = output.strip().splitlines()[-1]
    assert last.startswith(f"{migration_type}: "), output
    return [] if last.endswith(": ready") else last.split("NOT READY, ", 1)[1].split(", ")


# ------------------------------------------------------------------------------------------------------------------
# The ready state, and each blocking finding alone
# ------------------------------------------------------------------------------------------------------------------
def test_a_ready_source_passes_for_every_migration_type(source):
    for migration_type in check_source.MIGRATION_TYPES:
        status, output = run_check(source, migration_type=migration_type)
        assert (status, verdicts(output, migration_type)) == (0, []), output
    assert "binlog_expire_logs_seconds = 48 h" in output
    assert "REPLICATION CLIENT and REPLICATION SLAVE" in output


def test_binary_logging_off_blocks_change_capture_only(source):
    source.restart([option for option in READY_OPTIONS if option != "--log-bin"])
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["log_bin"]), output
    assert "log_bin" in output and "restart the server" in output
    assert run_check(source, migration_type="full-load")[0] == 0


def test_statement_or_mixed_binlog_format_blocks(source):
    source.execute("SET GLOBAL binlog_format = 'MIXED'")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["binlog_format"]), output
    assert "binlog_format=ROW" in output
    assert run_check(source, migration_type="cdc")[0] == 1
    assert run_check(source, migration_type="full-load")[0] == 0


def test_a_minimal_row_image_blocks(source):
    source.execute("SET GLOBAL binlog_row_image = 'MINIMAL'")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["binlog_row_image"]), output
    assert "binlog_row_image=FULL" in output


def test_a_retention_shorter_than_the_longest_stop_blocks(source):
    source.execute("SET GLOBAL binlog_expire_logs_seconds = 7200")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["binlog retention"]), output
    assert "binlog_expire_logs_seconds = 2 h" in output
    assert "SET GLOBAL binlog_expire_logs_seconds = 86400" in output
    # 2 hours is enough when the task is never left stopped longer than that.
    assert run_check(source, "--max-stopped-hours", "2")[0] == 0


def test_logs_never_purged_are_a_warning_not_a_block(source):
    source.execute("SET GLOBAL binlog_expire_logs_seconds = 0")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (0, []), output
    assert "warning: binlog retention" in output


def test_binlog_compression_blocks(source):
    source.execute("SET GLOBAL log_bin_compress = ON")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["binlog compression"]), output


def test_a_user_without_replication_slave_blocks_change_capture(source):
    source.execute(f"REVOKE REPLICATION SLAVE ON *.* FROM '{DMS_USER}'@'127.0.0.1'")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["replication privileges"]), output
    assert "GRANT REPLICATION SLAVE ON *.*" in output
    assert run_check(source, migration_type="full-load")[0] == 0


def test_a_user_without_replication_client_blocks_change_capture(source):
    # MariaDB 10.5.2+ shows REPLICATION CLIENT as BINLOG MONITOR in SHOW GRANTS; revoking the old name revokes it.
    source.execute(f"REVOKE REPLICATION CLIENT ON *.* FROM '{DMS_USER}'@'127.0.0.1'")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["replication privileges"]), output
    assert "missing REPLICATION CLIENT" in output


def test_a_schema_the_user_cannot_select_blocks_every_migration_type(source):
    source.execute(f"REVOKE SELECT ON sales.* FROM '{DMS_USER}'@'127.0.0.1'")
    for migration_type in check_source.MIGRATION_TYPES:
        status, output = run_check(source, migration_type=migration_type)
        assert (status, verdicts(output, migration_type)) == (1, ["SELECT on migrated schemas"]), output
    assert "missing on sales.*" in output


def test_a_table_without_primary_or_unique_key_blocks_unless_accepted(source):
    source.execute("CREATE TABLE sales.no_key (id INT, note TEXT) ENGINE=InnoDB")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["primary or unique key"]), output
    assert "1 without: sales.no_key\n" in output and "TABLES_NOT_VALIDATABLE" in output
    status, output = run_check(source, "--accept-tables-without-validation")
    assert (status, verdicts(output)) == (0, []), output


def test_a_non_innodb_table_blocks(source):
    source.execute("CREATE TABLE sales.legacy (id INT PRIMARY KEY) ENGINE=MyISAM")
    status, output = run_check(source)
    assert (status, verdicts(output)) == (1, ["storage engine"]), output
    assert "sales.legacy (MyISAM)" in output and "ENGINE=InnoDB" in output


def test_a_server_version_dms_does_not_list_blocks(source):
    status, output = run_check(source, accept_version=False)
    assert (status, verdicts(output)) == (1, ["server version"]), output
    assert "MariaDB 10.11" in output and "--allow-unlisted-version" in output


# ------------------------------------------------------------------------------------------------------------------
# The password, the command line, and what MariaDB cannot be put into
# ------------------------------------------------------------------------------------------------------------------
def test_the_command_reads_the_password_from_the_environment_and_never_prints_it_or_the_grants_hash(source):
    source.execute(f"REVOKE SELECT ON sales.* FROM '{DMS_USER}'@'127.0.0.1'")  # a finding, so fixes are printed
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "source-readiness" / "check_source.py"), "--host", "127.0.0.1",
         "--port", str(source.port), "--user", DMS_USER, "--schemas", "sales,crm", "--allow-unlisted-version", "--json"],
        env={"PATH": "/usr/bin:/bin", "SOURCE_DB_PASSWORD": DMS_PASSWORD}, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    password_hash = source.execute(f"SELECT authentication_string FROM mysql.user WHERE user = '{DMS_USER}'")[0][0]
    for secret in (DMS_PASSWORD, password_hash):
        assert secret not in result.stdout + result.stderr
    assert '"full-load-and-cdc": "BLOCKING"' in result.stdout


def test_the_connection_can_come_from_the_source_endpoints_secret(source):
    # The secret the pipeline's source endpoint reads (username, password, host, port), here in moto's Secrets Manager.
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name="migration-source-dev", SecretString=json.dumps(
            {"username": DMS_USER, "password": DMS_PASSWORD, "host": "127.0.0.1", "port": source.port}))
        out = io.StringIO()
        status = check_source.main(["--secret-id", "migration-source-dev", "--schemas", "sales,crm", "--allow-unlisted-version"],
                                   environ={}, prompt=pytest.fail, out=out)
    assert (status, verdicts(out.getvalue())) == (0, []), out.getvalue()
    assert DMS_PASSWORD not in out.getvalue()


def test_a_wrong_password_exits_2_without_echoing_it(source):
    out = io.StringIO()
    status = check_source.main(["--port", str(source.port), "--user", DMS_USER], environ={"SOURCE_DB_PASSWORD": "wrong-Pw-9"}, out=out)
    assert status == 2
    assert "cannot connect" in out.getvalue() and "wrong-Pw-9" not in out.getvalue()


MYSQL8_READY = check_source.SourceFacts(
    version="8.0.36", schemas=["sales"], tables=[("sales", "orders", "InnoDB", True)],
    variables={"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL", "server_id": "1",
               "binlog_expire_logs_seconds": "2592000", "expire_logs_days": "0", "binlog_transaction_compression": "OFF"},
    grants=["GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `dms`@`%`"],
)


def options(*extra):
    return check_source.parse_args(["--user", "dms", *extra])


def blocking(facts):
    return [finding.check for finding in check_source.blocking_findings(check_source.judge(facts, options()), "cdc")]


def test_mysql_8_facts_as_its_show_grants_and_variables_print_them():
    assert blocking(MYSQL8_READY) == []


def test_server_id_0_blocks_change_capture_on_mysql():
    facts = check_source.SourceFacts(**{**MYSQL8_READY.__dict__, "variables": {**MYSQL8_READY.variables, "server_id": "0"}})
    assert blocking(facts) == ["server_id"]


def test_mysql_5_7_retention_is_read_from_expire_logs_days():
    variables = {key: value for key, value in MYSQL8_READY.variables.items() if key != "binlog_expire_logs_seconds"}
    short = check_source.SourceFacts(**{**MYSQL8_READY.__dict__, "version": "5.7.44-log", "variables": {**variables, "expire_logs_days": "0.5"}})
    assert blocking(short) == ["binlog retention"]
    finding = check_source.check_binlog_retention(short, options())
    assert finding.observed == "expire_logs_days = 12 h 0 min" and "SET GLOBAL expire_logs_days = 1" in finding.fix


def test_aurora_retention_is_read_from_binlog_retention_hours():
    facts = check_source.SourceFacts(**{**MYSQL8_READY.__dict__, "version": "8.0.36", "rds_binlog_retention_hours": "12"})
    finding = check_source.check_binlog_retention(facts, options())
    assert finding.blocks == check_source.CDC_TYPES and "rds_set_configuration('binlog retention hours', 24)" in finding.fix


@pytest.mark.parametrize("version, supported", [
    ("8.0.36", True), ("8.0", True), ("5.7.44-log", True), ("8.4.2", True), ("9.1.0", False), ("5.1.73", False),
    ("10.6.18-MariaDB", True), ("10.0.23-MariaDB", False), ("10.1.48-MariaDB", False), ("10.11.19-MariaDB-0+deb12u1", False),
    ("11.4.4-MariaDB", True), ("11.4.6-MariaDB", False),
])
def test_supported_versions_follow_the_dms_user_guide(version, supported):
    assert check_source.is_supported_version(version) is supported


@pytest.mark.parametrize("grant, covered", [
    ("GRANT SELECT ON `sales`.* TO `dms`@`%`", True),
    ("GRANT ALL PRIVILEGES ON *.* TO `dms`@`%` WITH GRANT OPTION", True),
    ("GRANT SELECT ON `sal%`.* TO `dms`@`%`", True),
    ("GRANT SELECT ON `sales\\_old`.* TO `dms`@`%`", False),
    ("GRANT INSERT ON `sales`.* TO `dms`@`%`", False),
    ("GRANT SELECT (id) ON `sales`.`orders` TO `dms`@`%`", False),
])
def test_schema_select_grants_as_show_grants_prints_them(grant, covered):
    assert check_source.can_select(check_source.parse_grants([grant]), "sales") is covered


def test_the_command_line_takes_no_password():
    with pytest.raises(SystemExit):
        check_source.parse_args(["--user", "dms", "--password", "on-the-command-line"])
