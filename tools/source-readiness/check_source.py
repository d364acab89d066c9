"""Is a MySQL-compatible source ready for DMS? Connects as the DMS user and reports what to change.

    npx projen check-source -- --host db.example.com --user migration_user --schemas sales,crm
    npx projen check-source -- --secret-id migration-source-dev --schemas sales

The password is never an argument: it comes from the environment variable SOURCE_DB_PASSWORD (or the one named by
--password-env), the Secrets Manager secret the pipeline's source endpoint reads (--secret-id), or a prompt.

For each check it says, for full-load, cdc and full-load-and-cdc, whether the source is ready, and what to change
when not (the prerequisites of the DMS User Guide, "Using a MySQL-compatible database as a source"). Exit status:
0 ready for --migration-type, 1 a blocking finding, 2 the check could not run (connection, arguments).
MySQL 5.7 / 8.0 / 8.4, Aurora MySQL and MariaDB name some settings and privileges differently; both are read.
"""

import argparse
import getpass
import json
import os
import re
import sys
from dataclasses import dataclass, field

MIGRATION_TYPES = ("full-load", "cdc", "full-load-and-cdc")
CDC_TYPES = frozenset({"cdc", "full-load-and-cdc"})
ALL_TYPES = frozenset(MIGRATION_TYPES)
SYSTEM_SCHEMAS = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
DEFAULT_MAX_STOPPED_HOURS = 24
PASSWORD_ENV = "SOURCE_DB_PASSWORD"

# Source versions in the DMS User Guide ("Sources for data migration"): MySQL 5.5, 5.6, 5.7, 8.0 and 8.4; MariaDB
# 10.0.24 and later 10.0, 10.2 to 10.6, and 11.4.3 to 11.4.5.
SUPPORTED_MYSQL_SERIES = ("5.5", "5.6", "5.7", "8.0", "8.4")
SUPPORTED_MARIADB_RANGES = (((10, 0, 24), (10, 0, 999)), ((10, 2, 0), (10, 6, 999)), ((11, 4, 3), (11, 4, 5)))

VARIABLES = (
    "log_bin", "binlog_format", "binlog_row_image", "server_id", "binlog_expire_logs_seconds", "expire_logs_days",
    "binlog_transaction_compression", "log_bin_compress",
)


@dataclass(frozen=True)
class Finding:
    """One check's result. `blocks` lists the migration types for which the source is not ready."""

    check: str
    observed: str
    blocks: frozenset = frozenset()
    fix: str = ""
    warning: bool = False

    def verdict(self, migration_type):
        if migration_type in self.blocks:
            return "BLOCKING"
        return "warning" if self.warning and self.fix else "ok"


@dataclass
class SourceFacts:
    """What the check reads from the server, as the DMS user sees it."""

    version: str
    variables: dict
    grants: list
    schemas: list
    tables: list = field(default_factory=list)  # (schema, table, engine, has_key)
    rds_binlog_retention_hours: object = None


# ----------------------------------------------------------------------------------------------------------------
# Reading the server
# ----------------------------------------------------------------------------------------------------------------
def query(connection, sql, args=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def read_variables(connection):
    placeholders = ", ".join(["%s"] * len(VARIABLES))
    rows = query(connection, f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({placeholders})", VARIABLES)
    return {name.lower(): value for name, value in rows}


def read_grants(connection):
    return [row[0] for row in query(connection, "SHOW GRANTS FOR CURRENT_USER()")]


def visible_schemas(connection):
    return [row[0] for row in query(connection, "SHOW DATABASES") if row[0].lower() not in SYSTEM_SCHEMAS]


def read_tables(connection, schemas):
    """Base tables of the schemas, with their engine and whether a primary key or unique key identifies a row."""
    if not schemas:
        return []
    placeholders = ", ".join(["%s"] * len(schemas))
    tables = query(connection, "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE FROM information_schema.TABLES "
                               f"WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ({placeholders}) "
                               "ORDER BY TABLE_SCHEMA, TABLE_NAME", schemas)
    # Unique indexes (the primary key is one) from STATISTICS: MariaDB shows TABLE_CONSTRAINTS only to users with more
    # than SELECT on the table, MySQL shows both.
    keyed = set(query(connection, "SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME FROM information_schema.STATISTICS "
                                  f"WHERE NON_UNIQUE = 0 AND TABLE_SCHEMA IN ({placeholders})", schemas))
    return [(schema, table, engine, (schema, table) in keyed) for schema, table, engine in tables]


def read_rds_binlog_retention(connection):
    """Amazon RDS and Aurora keep binary logs for `binlog retention hours`, not for the expire variables."""
    try:
        rows = query(connection, "CALL mysql.rds_show_configuration")
    except Exception:  # noqa: BLE001 - not RDS or Aurora: the procedure does not exist
        return None
    for row in rows:
        if row[0] == "binlog retention hours":
            return row[1]
    return None


def read_facts(connection, schemas=None):
    version = query(connection, "SELECT VERSION()")[0][0]
    chosen = list(schemas) if schemas else visible_schemas(connection)
    return SourceFacts(
        version=version, variables=read_variables(connection), grants=read_grants(connection), schemas=chosen,
        tables=read_tables(connection, chosen), rds_binlog_retention_hours=read_rds_binlog_retention(connection),
    )


# ----------------------------------------------------------------------------------------------------------------
# Judging: one small function per check, each a pure function of the facts
# ----------------------------------------------------------------------------------------------------------------
def is_on(value):
    return str(value).upper() in ("ON", "1", "TRUE")


def check_log_bin(facts, options):
    value = facts.variables.get("log_bin", "OFF")
    if is_on(value):
        return Finding("log_bin", "ON")
    return Finding("log_bin", value, CDC_TYPES,
                   "Turn binary logging on: log_bin (or log-bin=<base name>) in the [mysqld] section of my.cnf, then "
                   "restart the server (log_bin cannot be changed at run time). On RDS: backup retention > 0.")


def check_binlog_format(facts, options):
    value = facts.variables.get("binlog_format", "")
    if value.upper() == "ROW":
        return Finding("binlog_format", value)
    return Finding("binlog_format", value or "(unset)", CDC_TYPES,
                   "Set binlog_format=ROW in my.cnf and SET GLOBAL binlog_format = 'ROW' (sessions opened before keep "
                   "their format: restart the applications' connections). On RDS and Aurora: the parameter group.")


def check_binlog_row_image(facts, options):
    value = facts.variables.get("binlog_row_image", "")
    if value.upper() == "FULL":
        return Finding("binlog_row_image", value)
    return Finding("binlog_row_image", value or "(unset)", CDC_TYPES,
                   "Set binlog_row_image=FULL in my.cnf and SET GLOBAL binlog_row_image = 'FULL'; DMS needs every "
                   "column of a changed row to build the statement on the target.")


def check_server_id(facts, options):
    value = facts.variables.get("server_id", "0")
    if int(value or 0) >= 1:
        return Finding("server_id", value)
    return Finding("server_id", value, CDC_TYPES,
                   "Set server_id to 1 or more (unique among the servers that replicate with it): server_id=<n> in "
                   "my.cnf and SET GLOBAL server_id = <n>.")


def binlog_retention(facts):
    """(seconds or None for 'never purged', the setting that says so) for the server's version."""
    if facts.rds_binlog_retention_hours is not None:
        hours = facts.rds_binlog_retention_hours
        return (None if hours in (None, "NULL", "") else int(hours) * 3600), "binlog retention hours (RDS/Aurora)"
    variables = facts.variables
    # MySQL 8.0+ and MariaDB 10.6.1+ have binlog_expire_logs_seconds; older servers only expire_logs_days.
    if "binlog_expire_logs_seconds" in variables:
        seconds = int(float(variables["binlog_expire_logs_seconds"] or 0))
        setting = "binlog_expire_logs_seconds"
    else:
        seconds = int(float(variables.get("expire_logs_days", 0) or 0) * 86400)
        setting = "expire_logs_days"
    return (seconds or None), setting


def check_binlog_retention(facts, options):
    seconds, setting = binlog_retention(facts)
    needed = options.max_stopped_hours * 3600
    if seconds is None:
        return Finding("binlog retention", f"{setting} = 0 (binary logs are never purged)", frozenset(),
                       "Logs are kept for ever, so CDC can resume after any pause, but they fill the disk: set "
                       f"{setting} to at least {options.max_stopped_hours} hours.", warning=True)
    observed = f"{setting} = {seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= needed:
        return Finding("binlog retention", observed)
    return Finding("binlog retention", observed, CDC_TYPES,
                   f"Keep binary logs for at least {options.max_stopped_hours} hours, the longest the task may stay "
                   "stopped (a deployment holds it stopped until the next migration run resumes it; --max-stopped-hours): "
                   f"{retention_statement(setting, options.max_stopped_hours)} and the same in my.cnf. Logs purged before "
                   "DMS reads them lose changes, and the task must reload every table.")


def retention_statement(setting, hours):
    if setting.startswith("binlog retention hours"):
        return f"CALL mysql.rds_set_configuration('binlog retention hours', {hours})"
    if setting == "expire_logs_days":
        return f"SET GLOBAL expire_logs_days = {-(-hours // 24)}"
    return f"SET GLOBAL binlog_expire_logs_seconds = {hours * 3600}"


def check_binlog_compression(facts, options):
    for name in ("binlog_transaction_compression", "log_bin_compress"):
        if is_on(facts.variables.get(name, "OFF")):
            return Finding("binlog compression", f"{name} = ON", CDC_TYPES,
                           f"DMS cannot read compressed binary log events: SET GLOBAL {name} = OFF and remove it from my.cnf.")
    return Finding("binlog compression", "off")


# ----- privileges ------------------------------------------------------------------------------------------------
GRANT_LINE = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<scope>\S+) TO ", re.IGNORECASE)
# MariaDB 10.5.2 renamed REPLICATION CLIENT to BINLOG MONITOR (the old name is an alias; SHOW GRANTS prints the new one).
REPLICATION_CLIENT = ("REPLICATION CLIENT", "BINLOG MONITOR")
REPLICATION_SLAVE = ("REPLICATION SLAVE", "REPLICATION REPLICA")


def split_privileges(text):
    """'SELECT, INSERT (a, b), BINLOG MONITOR' -> ['SELECT', 'INSERT', 'BINLOG MONITOR'] (column lists dropped)."""
    without_columns = re.sub(r"\([^)]*\)", "", text)
    return [part.strip().upper() for part in without_columns.split(",") if part.strip()]


def parse_grants(lines):
    """[(scope, {privileges})] with scopes like '*.*', 'sales.*', 'sales.orders' (quotes removed)."""
    parsed = []
    for line in lines:
        match = GRANT_LINE.match(line)
        if match is None:  # role grants ('GRANT role TO user') are not followed: grant the DMS user directly
            continue
        scope = match.group("scope").replace("`", "").replace('"', "")
        parsed.append((scope, set(split_privileges(match.group("privileges")))))
    return parsed


def has_any(privileges, names):
    return "ALL PRIVILEGES" in privileges or "ALL" in privileges or any(name in privileges for name in names)


def global_privileges(grants):
    return set().union(*[privileges for scope, privileges in grants if scope == "*.*"])


def check_replication_privileges(facts, options):
    privileges = global_privileges(parse_grants(facts.grants))
    missing = [names[0] for names in (REPLICATION_CLIENT, REPLICATION_SLAVE) if not has_any(privileges, names)]
    if not missing:
        return Finding("replication privileges", "REPLICATION CLIENT and REPLICATION SLAVE on *.*")
    return Finding("replication privileges", "missing " + " and ".join(missing), CDC_TYPES,
                   f"GRANT {', '.join(missing)} ON *.* TO <DMS user>; (global privileges: they cannot be granted per "
                   "schema; on MariaDB 10.5.2+ REPLICATION CLIENT is shown as BINLOG MONITOR).")


def schema_pattern_matches(pattern, schema):
    """Grant scopes may use LIKE wildcards (`sales\\_%`.*); an escaped _ or % is literal."""
    regex = "".join(".*" if part == "%" else "." if part == "_" else re.escape(part[-1])
                    for part in re.findall(r"\\.|%|_|[^\\%_]", pattern))
    return re.fullmatch(regex, schema, re.IGNORECASE) is not None


def can_select(grants, schema, table=None):
    for scope, privileges in grants:
        scope_schema, _, scope_table = scope.partition(".")
        if not has_any(privileges, ("SELECT",)):
            continue
        if scope_schema == "*":
            return True
        if schema_pattern_matches(scope_schema, schema) and scope_table in ("*", table):
            return True
    return False


def check_select_privileges(facts, options):
    grants = parse_grants(facts.grants)
    lacking = []
    for schema in facts.schemas:
        if can_select(grants, schema):
            continue
        tables = [table for table_schema, table, _, _ in facts.tables if table_schema == schema]
        denied = [table for table in tables if not can_select(grants, schema, table)]
        if denied or not tables:
            lacking.append(f"{schema}.{{{', '.join(denied)}}}" if denied else f"{schema}.*")
    if not facts.schemas:
        return Finding("SELECT on migrated schemas", "no schema to migrate is visible to the user", ALL_TYPES,
                       "GRANT SELECT ON <schema>.* TO <DMS user>; for each schema to migrate, and name them with --schemas.")
    if not lacking:
        return Finding("SELECT on migrated schemas", ", ".join(facts.schemas))
    return Finding("SELECT on migrated schemas", "missing on " + ", ".join(lacking), ALL_TYPES,
                   "GRANT SELECT ON <schema>.* TO <DMS user>; for: " + ", ".join(lacking))


# ----- tables ----------------------------------------------------------------------------------------------------
def listed(names, limit=20):
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_keys(facts, options):
    keyless = [f"{schema}.{table}" for schema, table, _, has_key in facts.tables if not has_key]
    if not keyless:
        return Finding("primary or unique key", f"all {len(facts.tables)} tables have one")
    fix = ("Add a primary key (or a unique key on NOT NULL columns) to each: DMS cannot validate their rows, so a "
           "migration run fails them (TABLES_NOT_VALIDATABLE); or accept them unvalidated with "
           "orchestration.acceptTablesWithoutValidation and --accept-tables-without-validation here.")
    if options.accept_tables_without_validation:
        return Finding("primary or unique key", f"{len(keyless)} without: {listed(keyless)} (accepted)", frozenset(), fix,
                       warning=True)
    return Finding("primary or unique key", f"{len(keyless)} without: {listed(keyless)}", ALL_TYPES, fix)


def check_engines(facts, options):
    other = [f"{schema}.{table} ({engine})" for schema, table, engine, _ in facts.tables
             if (engine or "").upper() != "INNODB"]
    if not other:
        return Finding("storage engine", "all InnoDB")
    return Finding("storage engine", f"{len(other)} not InnoDB: {listed(other)}", ALL_TYPES,
                   "Convert them (ALTER TABLE <table> ENGINE=InnoDB) or leave them out of the table mappings: DMS "
                   "creates InnoDB tables on the target and the pipeline truncates them before a load "
                   "(TRUNCATE_BEFORE_LOAD), and non-transactional tables give no consistent point for change capture.")


# ----- version ---------------------------------------------------------------------------------------------------
def version_numbers(version):
    """'10.11.19-MariaDB-0+deb12u1' -> (10, 11, 19); a missing patch number counts as 0."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    return tuple(int(part or 0) for part in match.groups()) if match else (0, 0, 0)


def is_supported_version(version):
    numbers = version_numbers(version)
    if "mariadb" in version.lower():
        return any(low <= numbers <= high for low, high in SUPPORTED_MARIADB_RANGES)
    return f"{numbers[0]}.{numbers[1]}" in SUPPORTED_MYSQL_SERIES


def check_version(facts, options):
    engine = "MariaDB" if "mariadb" in facts.version.lower() else "MySQL"
    if is_supported_version(facts.version):
        return Finding("server version", f"{engine} {facts.version}")
    fix = ("Not in the DMS User Guide's list of MySQL-compatible sources (MySQL 5.5-8.0, 8.4; MariaDB 10.0.24+, "
           "10.2-10.6, 11.4.3-11.4.5). Upgrade or migrate from a supported replica, or, if your replication instance's "
           "engine version lists it in the DMS release notes, rerun with --allow-unlisted-version.")
    if options.allow_unlisted_version:
        return Finding("server version", f"{engine} {facts.version} (unlisted, accepted)", frozenset(), fix, warning=True)
    return Finding("server version", f"{engine} {facts.version}", ALL_TYPES, fix)


CHECKS = (
    check_version, check_log_bin, check_binlog_format, check_binlog_row_image, check_server_id, check_binlog_retention,
    check_binlog_compression, check_replication_privileges, check_select_privileges, check_keys, check_engines,
)


def judge(facts, options):
    return [check(facts, options) for check in CHECKS]


# ----------------------------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------------------------
def render(findings, migration_type):
    lines = ["check                        " + "  ".join(f"{kind:<18}" for kind in MIGRATION_TYPES) + "observed"]
    for finding in findings:
        verdicts = "  ".join(f"{finding.verdict(kind):<18}" for kind in MIGRATION_TYPES)
        lines.append(f"{finding.check:<29}{verdicts}{finding.observed}")
    for finding in findings:
        if finding.verdict(migration_type) != "ok":
            lines.append(f"{finding.verdict(migration_type)}: {finding.check}: {finding.fix}")
    blocking = blocking_findings(findings, migration_type)
    lines.append(f"{migration_type}: " + ("NOT READY, " + ", ".join(f.check for f in blocking) if blocking else "ready"))
    return "\n".join(lines)


def blocking_findings(findings, migration_type):
    return [finding for finding in findings if migration_type in finding.blocks]


# ----------------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------------
def parse_args(argv):
    # No abbreviations: `--password` must not be taken for --password-env (a password never goes on the command line).
    parser = argparse.ArgumentParser(prog="check-source", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--host", help="the source's host (default: the secret's, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="the source's port (default: the secret's, else 3306)")
    parser.add_argument("--user", help="the DMS user (default: the secret's username)")
    parser.add_argument("--secret-id", help="the Secrets Manager secret of the source endpoint (username, password, host, port)")
    parser.add_argument("--password-env", default=PASSWORD_ENV, help=f"environment variable with the password (default {PASSWORD_ENV})")
    parser.add_argument("--schemas", help="comma-separated schemas to migrate (default: every non-system schema the user sees)")
    parser.add_argument("--migration-type", choices=MIGRATION_TYPES, default="full-load-and-cdc",
                        help="the task's migration type; decides the exit status (default full-load-and-cdc)")
    parser.add_argument("--max-stopped-hours", type=int, default=DEFAULT_MAX_STOPPED_HOURS,
                        help=f"the longest the task may stay stopped, which binlog retention must exceed (default {DEFAULT_MAX_STOPPED_HOURS})")
    parser.add_argument("--accept-tables-without-validation", action="store_true",
                        help="tables without a primary or unique key are accepted (orchestration.acceptTablesWithoutValidation)")
    parser.add_argument("--allow-unlisted-version", action="store_true",
                        help="a server version missing from the DMS User Guide's list is a warning, not blocking")
    parser.add_argument("--ssl-ca", help="CA bundle to verify the server's TLS certificate")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    arguments = list(sys.argv[1:] if argv is None else argv)
    options = parser.parse_args(arguments[1:] if arguments[:1] == ["--"] else arguments)  # `projen check-source -- ...`
    if options.max_stopped_hours < 1:
        parser.error(f"--max-stopped-hours: received {options.max_stopped_hours}; expected 1 or more")
    return options


def read_secret(secret_id):
    import boto3  # only when a secret is used; the rest needs no AWS SDK

    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def connection_settings(options, environ, prompt):
    """host, port, user and password from the arguments, the secret, the environment or a prompt (in that order)."""
    secret = read_secret(options.secret_id) if options.secret_id else {}
    password = environ.get(options.password_env) or secret.get("password")
    user = options.user or secret.get("username")
    if not user:
        raise SystemExit("check-source: no user: pass --user or --secret-id")
    if password is None:
        password = prompt(f"password of {user}: ")
    return {"host": options.host or secret.get("host") or "127.0.0.1", "port": int(options.port or secret.get("port") or 3306),
            "user": user, "password": password}


def connect(settings, ssl_ca=None):
    import pymysql

    ssl = {"ca": ssl_ca} if ssl_ca else None
    return pymysql.connect(**settings, ssl=ssl, connect_timeout=10, autocommit=True)


def main(argv=None, environ=None, prompt=getpass.getpass, out=sys.stdout):
    options = parse_args(argv)
    settings = connection_settings(options, os.environ if environ is None else environ, prompt)
    try:
        connection = connect(settings, options.ssl_ca)
    except Exception as error:  # noqa: BLE001 - report and exit 2; the message never carries the password
        print(f"check-source: cannot connect to {settings['host']}:{settings['port']} as {settings['user']}: "
              f"{error.__class__.__name__} {error.args[:1]}", file=out)
        return 2
    with connection:
        schemas = [schema.strip() for schema in options.schemas.split(",") if schema.strip()] if options.schemas else None
        findings = judge(read_facts(connection, schemas), options)
    if options.json:
        print(json.dumps([finding_json(finding) for finding in findings], indent=2), file=out)
    else:
        print(render(findings, options.migration_type), file=out)
    return 1 if blocking_findings(findings, options.migration_type) else 0


def finding_json(finding):
    return {"check": finding.check, "observed": finding.observed, "fix": finding.fix,
            **{kind: finding.verdict(kind) for kind in MIGRATION_TYPES}}


if __name__ == "__main__":
    sys.exit(main())
