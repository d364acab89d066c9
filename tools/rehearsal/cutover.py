"""The cutover of the rehearsal: once a migration run succeeded, the assembly's cutover state machine ends it.

The operator's part is played as the README's runbook says: the applications stopped writing to the source, then a
StartExecution of the state machine named by the stack's CutoverStateMachineArn output. Everything else is the
assembly's own: the state machine's definition (its Wait states shortened, see pipeline.shorten_waits), the settle
function and the table review run in this process with their inline code, and the database checks function runs its
deployed code asset (the handler and the PyMySQL it bundles) in this process against two real MariaDB servers, a
source and a target (test/python/mariadb_server.py), reached with the connection fields of the templates' two
secrets: the DMS source secret (the operator fills in the source's host, user and password) and the Aurora secret
(its attachment fills in the host and port).

What DMS would do beside it is played here, as its guides document it:
- the full load left the same rows on both servers, and DMS keeps `awsdms_apply_exceptions` in the target's
  control schema `awsdms_control` (DMS User Guide, "Control tables");
- DMS publishes the task's CDCLatencySource, CDCLatencyTarget and CDCIncomingChanges every minute in the AWS/DMS
  namespace, with the dimensions ReplicationInstanceIdentifier (the template's instance) and ReplicationTaskIdentifier
  (the last part of the task's ARN) (DMS User Guide, "Replication task metrics"); moto publishes nothing, so the
  scenario's minutes are put into moto's CloudWatch before the cutover starts;
- when the task stops, DMS sends its REPLICATION_TASK_STOPPED event (pipeline.py sends it; moto sends none).
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import boto3

from assembly import REGION, WiringError

CONTROL_SCHEMA = "awsdms_control"
# The columns of awsdms_apply_exceptions (DMS User Guide, "Control tables" > "Apply exceptions").
APPLY_EXCEPTIONS_DDL = (f"CREATE TABLE {CONTROL_SCHEMA}.awsdms_apply_exceptions (TASK_NAME VARCHAR(128) NOT NULL, "
                        "TABLE_OWNER VARCHAR(128) NOT NULL, TABLE_NAME VARCHAR(128) NOT NULL, "
                        "ERROR_TIME TIMESTAMP NOT NULL, STATEMENT TEXT NOT NULL, ERROR TEXT NOT NULL)")
# The tables of the DMS scenario, with the rows the full load copied to both sides.
TABLES = (
    ("CREATE TABLE sales.orders (order_id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2))",
     "INSERT INTO sales.orders VALUES (1, 'alice', 10.50), (2, 'bob', 7.25)"),
    ("CREATE TABLE sales.customers (customer_id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)",
     "INSERT INTO sales.customers VALUES (1, 'alice'), (2, 'bob')"),
)
# The orders of TABLES as a file, the one a rehearsal with a cutover migrates first.
ORDERS_CSV = b"order_id,customer,amount\n1,alice,10.50\n2,bob,7.25\n"
METRIC_MINUTES = 10


@dataclass(frozen=True)
class Minute:
    """One minute of the task's CDC metrics, as DMS publishes them."""
    latency_source: float
    latency_target: float
    incoming_changes: float


QUIET = Minute(latency_source=1, latency_target=2, incoming_changes=0)
BUSY = Minute(latency_source=1, latency_target=45, incoming_changes=120)

# What the writes to the source and DMS did before the operator started the cutover.
SCENARIOS = {
    # CDC applied everything and the target recorded no exception since the writes stopped: the task is stopped.
    "completed": {"metrics": QUIET, "new_exception": False},
    # DMS could not apply one change after the writes stopped: the cutover aborts and the task keeps running.
    "aborted-by-exception": {"metrics": QUIET, "new_exception": True},
    # The applications still write: CDC never settles within the wait, the cutover aborts.
    "aborted-by-latency": {"metrics": BUSY, "new_exception": False},
}
# An exception DMS recorded long before the writes stopped, before the operator's `exceptionsSince`: not looked at.
OLD_EXCEPTION_AGE = timedelta(hours=3)
# The operator stops the applications' writes this long before starting the cutover.
WRITES_STOPPED_AGO = timedelta(minutes=2)


class CutoverDatabases:
    """The source and the target of the rehearsal: two MariaDB servers with the rows the full load copied, each
    reached with its secret's user and password over TCP, as the checks function reaches Aurora and the source."""

    def __init__(self, servers, pipeline):
        self.source = servers.start("source")
        self.target = servers.start("target")
        client = boto3.client("secretsmanager", region_name=REGION)
        self.source_secret = pipeline.assembly.output("SourceSecretArn")
        self.target_secret = pipeline.assembly.output("AuroraSecretArn")
        for server, secret, privileges in ((self.source, self.source_secret, "SELECT"),
                                           (self.target, self.target_secret, "ALL PRIVILEGES")):
            if secret not in pipeline.secrets:
                raise WiringError(f"the output names secret {secret}, which is no secret of the templates")
            fields = json.loads(client.get_secret_value(SecretId=secret)["SecretString"])
            fields.update(host="127.0.0.1", port=server.port)
            client.put_secret_value(SecretId=secret, SecretString=json.dumps(fields))
            server.execute(f"CREATE USER '{fields['username']}'@'127.0.0.1' IDENTIFIED BY '{fields['password']}'",
                           f"GRANT {privileges} ON *.* TO '{fields['username']}'@'127.0.0.1'")
            server.execute("CREATE DATABASE sales", *[statement for pair in TABLES for statement in pair])
        self.target.execute(f"CREATE DATABASE {CONTROL_SCHEMA}", APPLY_EXCEPTIONS_DDL)

    def record_apply_exception(self, when, table, statement):
        """A change DMS could not apply on the target, as DMS records it."""
        self.target.execute(
            f"INSERT INTO {CONTROL_SCHEMA}.awsdms_apply_exceptions VALUES ('migration-task', 'sales', '{table}', "
            f"'{when.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}', '{statement}', "
            "'RetCode: SQL_ERROR SqlState: 23000 NativeError: 1452 Message: Cannot add or update a child row')")


def publish_cdc_metrics(pipeline, minute, minutes=METRIC_MINUTES):
    """The last `minutes` minutes of the task's CDC metrics, under the dimensions DMS uses."""
    [task_arn] = pipeline.dms.task_arns
    [(stack, _, instance)] = pipeline.assembly.resources("AWS::DMS::ReplicationInstance")
    identifier = pipeline.assembly.resolve(stack, instance["Properties"])["ReplicationInstanceIdentifier"]
    dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": identifier},
                  {"Name": "ReplicationTaskIdentifier", "Value": task_arn.split(":")[-1]}]
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for age in range(minutes, 0, -1):
        cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": now - timedelta(minutes=age), "Value": value}
            for name, value in (("CDCLatencySource", minute.latency_source),
                                ("CDCLatencyTarget", minute.latency_target),
                                ("CDCIncomingChanges", minute.incoming_changes))])


def rehearse_cutover(pipeline, databases, scenario="completed"):
    """Plays the scenario, starts the cutover as the operator does and pumps the pipeline until it is over.

    The operator says when the applications stopped writing (`exceptionsSince`): an exception DMS recorded after
    that time means a change is missing on the target. Returns the cutover's execution."""
    if scenario not in SCENARIOS:
        raise WiringError(f"no cutover scenario {scenario!r}; the scenarios are {sorted(SCENARIOS)}")
    plan = SCENARIOS[scenario]
    now = datetime.now(timezone.utc)
    writes_stopped = now - WRITES_STOPPED_AGO
    databases.record_apply_exception(now - OLD_EXCEPTION_AGE, "customers",
                                     "INSERT INTO sales.customers VALUES (3, ''carol'')")
    if plan["new_exception"]:
        databases.record_apply_exception(now - WRITES_STOPPED_AGO / 2, "orders",
                                         "UPDATE sales.orders SET amount = 12.00 WHERE order_id = 3")
    publish_cdc_metrics(pipeline, plan["metrics"])
    state_machine = pipeline.assembly.output("CutoverStateMachineArn")
    if state_machine not in pipeline.state_machines:
        raise WiringError(f"the CutoverStateMachineArn output names {state_machine}, which is no state machine of the "
                          "assembly")
    cutover_input = {"exceptionsSince": writes_stopped.strftime("%Y-%m-%dT%H:%M:%SZ")}
    started = pipeline.sfn.start_execution(stateMachineArn=state_machine, name=f"rehearsal-{scenario}",
                                           input=json.dumps(cutover_input))
    pipeline.hop("operator StartExecution", {"stateMachineArn": state_machine, "input": cutover_input},
                 {"executionArn": started["executionArn"]})
    result = pipeline.pump()
    [execution] = [e for e in result.executions if e["executionArn"] == started["executionArn"]]
    return execution


def cutover_outcome(execution):
    """The outcome of a cutover execution: its output when it completed, its failure's cause when it aborted."""
    return json.loads(execution.get("output") or execution.get("cause") or "{}")
