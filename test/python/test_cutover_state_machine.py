"""Runs the synthesized cutover state machine in moto's interpreter, with its functions executed for real.

The definition is the one in cdk.out (OrchestrationStack, CutoverStateMachine) with its parameters filled in and its
two Wait states shortened. Around it: the migration harness of test_state_machine.py (moto DMS task, SNS topic, S3
bucket, lease table, audit rule, DescribeTableStatistics as the DMS API Reference documents it, the table review run
in process), plus the cutover's own functions run in process when the state machine invokes them: the settle poll
(src/runtime/cutover_settle.py) against moto CloudWatch, where the tests publish the task's CDC metrics as DMS does,
and the database checks (src/runtime/cutover_checks.py) against two real MariaDB servers, reached through moto
Secrets Manager secrets as in the function. The stop guard's lease code (dms_task_guard.TaskLease) plays the
deployment where one takes part.
"""

import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from unittest import mock

import boto3
import pytest

import cutover_checks
import cutover_settle
import dms_task_guard
from mariadb_server import mariadb_servers  # noqa: F401 - the fixture
from pipeline_helpers import run_invokes_in_process, schema_validator
from template_loader import Resolver, resources_of_type, the_resource
from test_state_machine import (  # noqa: F401 - fixtures
    ACCOUNT, BUCKET_PARAMETER, DATA_BUCKET, LEASE_PARAMETER, LEASE_TABLE, REGION, REVIEW_FUNCTION, REVIEW_FUNCTION_ARN,
    RUN_INPUT, TASK_PARAMETER, TOPIC_PARAMETER, Run, dms_task_properties, harness, orchestration_template, table_statistics,
)

SETTLE_FUNCTION = "CutoverSettleFunction"
CHECKS_FUNCTION = "CutoverChecksFunction"
SETTLE_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:migration-cutover-settle-dev"
CHECKS_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:migration-cutover-checks-dev"
SOURCE_SECRET = "DmsSourceSecret"
TARGET_SECRET = "AuroraClusterSecretAttachment"
# What the example synthesizes (CutoverOptions defaults): a look a minute for an hour, 5 settled minutes, 10 s.
TEMPLATE_SETTLE_SECONDS = 60
TEMPLATE_STOP_POLL_SECONDS = 15
MAX_LOOKS = 60
SETTLED_SAMPLES = 5
MAX_LATENCY_SECONDS = 10
USER, PASSWORD = "cutover_check", "Ch3ck-only"  # test servers' reader, reachable on 127.0.0.1 only

COMPLETE_END = ["MarkCutoverComplete", "CutoverCompleted", "WriteCutoverCompleteReport", "PublishCutoverCompleteEvent",
                "NotifyCutoverComplete", "CutoverSucceeded"]
ABORTED_END = ["ReleaseCutoverLease", "WriteCutoverAbortedReport", "PublishCutoverAbortedEvent", "NotifyCutoverAborted",
               "CutoverFailed"]


@pytest.fixture(scope="module")
def databases(mariadb_servers):  # noqa: F811 - the fixture of mariadb_server
    """The source and the target, each with a no-key table and a reader; the target with DMS's exceptions table."""
    source, target = mariadb_servers.start("cutover-source"), mariadb_servers.start("cutover-target")
    for server in (source, target):
        server.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'",
                       f"GRANT SELECT ON *.* TO '{USER}'@'127.0.0.1'",
                       "CREATE DATABASE shop", "CREATE TABLE shop.events (kind VARCHAR(20), amount DECIMAL(10,2))")
    # The columns the DMS User Guide lists for awsdms_apply_exceptions ("Control tables").
    target.execute("CREATE DATABASE awsdms_control",
                   "CREATE TABLE awsdms_control.awsdms_apply_exceptions (TASK_NAME VARCHAR(128) NOT NULL, "
                   "TABLE_OWNER VARCHAR(128) NOT NULL, TABLE_NAME VARCHAR(128) NOT NULL, "
                   "ERROR_TIME TIMESTAMP NOT NULL, STATEMENT TEXT NOT NULL, ERROR TEXT NOT NULL)")
    return source, target


@pytest.fixture
def cutover(harness, orchestration_template, databases, monkeypatch):
    source, target = databases
    for server in databases:
        server.execute("DELETE FROM shop.events", "INSERT INTO shop.events VALUES ('sale', 1.50), ('refund', 2.00)")
    target.execute("DELETE FROM awsdms_control.awsdms_apply_exceptions")
    return CutoverHarness(harness, orchestration_template, databases, monkeypatch)


class LambdaContext:
    def get_remaining_time_in_millis(self):
        return 900_000


class CutoverHarness:
    def __init__(self, harness, template, databases, monkeypatch):
        self.harness = harness
        self.task_arn = harness.task_arn
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secret_arns = [secrets.create_secret(Name=f"cutover-{server.name}", SecretString=json.dumps(
            {"username": USER, "password": PASSWORD, "host": "127.0.0.1", "port": server.port}))["ARN"]
            for server in databases]
        self.resolver = Resolver(template, {
            TASK_PARAMETER: self.task_arn, TOPIC_PARAMETER: harness.topic_arn, BUCKET_PARAMETER: DATA_BUCKET,
            REVIEW_FUNCTION: REVIEW_FUNCTION_ARN, LEASE_PARAMETER: LEASE_TABLE, SETTLE_FUNCTION: SETTLE_FUNCTION_ARN,
            CHECKS_FUNCTION: CHECKS_FUNCTION_ARN, SOURCE_SECRET: secret_arns[0], TARGET_SECRET: secret_arns[1],
            "NetworkLogEncryptionKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/log-key",
        })
        resource = the_resource(template, "AWS::StepFunctions::StateMachine", "CutoverStateMachine")
        self.definition = json.loads(self.resolver.resolve(resource["Properties"]["DefinitionString"]))
        self.name = resource["Properties"]["StateMachineName"]
        # The template's waits (checked here), shortened: moto's interpreter really sleeps in Wait states.
        assert self.definition["States"]["WaitForSettle"]["Seconds"] == TEMPLATE_SETTLE_SECONDS
        assert self.definition["States"]["WaitForTaskStop"]["Seconds"] == TEMPLATE_STOP_POLL_SECONDS
        self.definition["States"]["WaitForSettle"]["Seconds"] = 0
        self.definition["States"]["WaitForTaskStop"]["Seconds"] = 0
        self.settle_environment = self.function_environment(template, SETTLE_FUNCTION)
        self.checks_environment = self.function_environment(template, CHECKS_FUNCTION)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        self.checks_calls = []
        self.before_checks_answer = None  # callable() run after the checks, before their answer returns
        run_invokes_in_process(monkeypatch, {SETTLE_FUNCTION_ARN: self.settle, CHECKS_FUNCTION_ARN: self.checks})
        self._arn = None

    def function_environment(self, template, fragment):
        [function] = [f for lid, f in resources_of_type(template, "AWS::Lambda::Function").items() if fragment in lid]
        return self.resolver.resolve(function["Properties"]["Environment"]["Variables"])

    def settle(self, event):
        with mock.patch.dict(os.environ, self.settle_environment):
            return cutover_settle.handler(event, None)

    def checks(self, event):
        self.checks_calls.append(event)
        with mock.patch.dict(os.environ, self.checks_environment):
            answer = cutover_checks.handler(event, LambdaContext())
        if self.before_checks_answer:
            self.before_checks_answer()
        return answer

    # CloudWatch: the task's CDC metrics, one value a minute, as DMS publishes them --------------------------------

    def publish_cdc(self, minutes, latency_source=1.0, latency_target=2.0, incoming=0.0):
        """`minutes` one-minute samples up to the last whole minute, and one more: the poll looks back from its own
        clock, which may have passed into the next minute meanwhile."""
        minutes += 1
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": self.settle_environment["REPLICATION_INSTANCE_ID"]},
                      {"Name": "ReplicationTaskIdentifier", "Value": self.task_arn.split(":")[-1]}]
        for minute in range(1, minutes + 1):
            self.cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=[
                {"MetricName": name, "Dimensions": dimensions, "Timestamp": now - timedelta(minutes=minute), "Value": value}
                for name, value in (("CDCLatencySource", latency_source), ("CDCLatencyTarget", latency_target),
                                    ("CDCIncomingChanges", incoming))])

    # Step Functions ----------------------------------------------------------------------------------------------

    @property
    def state_machine_arn(self):
        if self._arn is None:
            self._arn = self.harness.sfn.create_state_machine(
                name=self.name, definition=json.dumps(self.definition),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/migration-cutover-role")["stateMachineArn"]
        return self._arn

    def run(self, name="cutover-1", cutover_input=None):
        execution_arn = self.harness.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(cutover_input or {}))["executionArn"]
        return self.harness_wait(execution_arn)

    def harness_wait(self, execution_arn, deadline_seconds=120):
        deadline = time.monotonic() + deadline_seconds
        while True:
            execution = self.harness.sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, "cutover still RUNNING"
            time.sleep(0.05)
        events, paging = [], {}
        while True:
            page = self.harness.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **paging)
            events.extend(page["events"])
            if not page.get("nextToken"):
                break
            paging = {"nextToken": page["nextToken"]}
        return Run(execution, events, self.harness.read_notifications())

    def report(self, name):
        body = self.harness.s3.get_object(Bucket=DATA_BUCKET, Key=f"reports/cutovers/{name}.json")["Body"]
        return json.loads(body.read())


def a_running_task(cutover):
    cutover.harness.task.status = "running"


def outcome_of(run):
    if run.status == "SUCCEEDED":
        return json.loads(run.execution["output"])
    [failed] = [e["executionFailedEventDetails"] for e in run.events if e["type"] == "ExecutionFailed"]
    assert failed["error"] == "CutoverAborted"
    return json.loads(failed["cause"])


def assert_announced(cutover, run, status, name="cutover-1"):
    """The report in S3, one schema-valid audit event and one notification, all with the same outcome."""
    outcome = outcome_of(run)
    assert outcome["status"] == status
    assert cutover.report(name) == outcome
    [event] = [e for e in cutover.harness.audit_events() if e["detail-type"].startswith("Cutover")]
    assert event["detail-type"] == ("Cutover Complete" if status == "COMPLETE" else "Cutover Aborted")
    assert not list(schema_validator().iter_errors(event)), event
    assert event["detail"]["outcome"] == outcome
    assert event["detail"]["pipeline"] == "migration-pipeline-dev"
    [envelope] = run.notifications
    assert envelope["Subject"] == f"Cutover {status}"
    assert envelope["MessageAttributes"] == {"cutoverOutcome": {"Type": "String", "Value": status}}
    assert json.loads(envelope["Message"])["outcome"] == outcome
    return outcome


def assert_aborted_leaving_the_task_running(cutover, run, reason, name="cutover-1"):
    assert run.status == "FAILED"
    assert run.path[-len(ABORTED_END):] == ABORTED_END
    outcome = assert_announced(cutover, run, "ABORTED", name)
    assert outcome["reason"] == reason
    assert cutover.harness.task.status == "running"
    assert run.count("StopReplicationTask") == 0
    return outcome


# ----- a cutover that completes --------------------------------------------------------------------------------

def test_a_settled_verified_task_is_stopped_reported_and_kept_stopped(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    cutover.harness.tables.append(table_statistics("shop", "events", validation_state="No primary key", rows=2))

    run = cutover.run()

    assert run.status == "SUCCEEDED", run.path
    assert run.path[-len(COMPLETE_END):] == COMPLETE_END
    assert cutover.harness.task.status == "stopped"
    outcome = assert_announced(cutover, run, "COMPLETE")
    assert (outcome["reason"], outcome["cdc"]["settled"], outcome["cdc"]["samplesRequired"]) == ("CUT_OVER", True, SETTLED_SAMPLES)
    assert outcome["cdc"]["settledSamples"] >= SETTLED_SAMPLES
    assert outcome["checks"]["passed"] is True
    assert (outcome["checks"]["tablesReconciled"], outcome["checks"]["applyExceptions"]) == (1, 0)
    assert outcome["review"]["reason"] == "TABLES_NOT_VALIDATABLE"  # accepted here: the checks reconciled it
    details = json.loads(cutover.harness.s3.get_object(Bucket=DATA_BUCKET, Key=outcome["checks"]["detailsKey"])["Body"].read())
    assert [(t["table"], t["sourceRows"], t["targetRows"], t["matches"]) for t in details["tables"]] == [("events", 2, 2, True)]
    # The checks looked for exceptions since the cutover's start, and reconciled what the last review planned.
    [checks] = cutover.checks_calls
    assert checks["since"] == outcome["startedAt"] == outcome["exceptionsSince"]
    assert checks["tableReport"]["key"] == "reports/migrations/cutover-cutover-1/tables.json"
    lease = cutover.harness.lease()
    assert (lease["kind"]["S"], lease["phase"]["S"], lease["holder"]["S"]) == ("cutover", "complete", run.execution["executionArn"])


def test_after_a_cutover_runs_leave_the_task_stopped_and_a_second_cutover_is_refused(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    assert cutover.run().status == "SUCCEEDED"
    cutover.harness.read_notifications()
    cutover.harness.audit_events()

    migration = cutover.harness.run(name="after-cutover")
    assert migration.status == "SUCCEEDED"
    [message] = [json.loads(n["Message"]) for n in migration.notifications]
    assert (message["outcome"]["status"], message["outcome"]["reason"]) == ("INTERRUPTED", "CUT_OVER")
    assert message["outcome"]["files"] == [RUN_INPUT["key"]]
    assert cutover.harness.start_calls == []
    assert cutover.harness.task.status == "stopped"

    again = cutover.run(name="cutover-2")
    outcome = assert_announced(cutover, again, "ABORTED", name="cutover-2")
    assert outcome["reason"] == "ALREADY_CUT_OVER"
    # The refused cutover does not release the completed one's lease.
    assert cutover.harness.lease()["phase"]["S"] == "complete"


def test_a_deployment_after_the_cutover_leaves_the_lease_and_does_not_resume_the_task(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    assert cutover.run().status == "SUCCEEDED"
    before = cutover.harness.lease()

    dms = boto3.client("dms", region_name=REGION)
    with mock.patch.dict(os.environ, {dms_task_guard.LEASE_TABLE_ENV: LEASE_TABLE}):
        dms_task_guard.hold_and_stop(dms, cutover.harness.task.id, dms_task_guard.monotonic() + 5, "Update", "deployment:u1")
        dms_task_guard.TaskLease.of(dms_task_guard.describe(dms, cutover.harness.task.id), None).end_deployment(
            dms, dms_task_guard.describe(dms, cutover.harness.task.id))

    assert cutover.harness.lease() == before
    assert cutover.harness.task.status == "stopped"
    assert cutover.harness.start_calls == []


# ----- cutovers that abort ---------------------------------------------------------------------------------------

def test_latency_that_never_settles_aborts_after_the_bounded_wait(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES + 1, latency_target=MAX_LATENCY_SECONDS + 1)

    run = cutover.run()

    outcome = assert_aborted_leaving_the_task_running(cutover, run, "CDC_NOT_SETTLED")
    assert run.count("SampleCdcMetrics") == MAX_LOOKS + 1  # the first look, then one after each of MAX_LOOKS waits
    assert (outcome["cdc"]["settled"], outcome["cdc"]["latencyTarget"]) == (False, MAX_LATENCY_SECONDS + 1)
    assert cutover.checks_calls == []
    assert cutover.harness.lease() is None


def test_changes_still_coming_in_abort_the_cutover(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES, incoming=3)
    outcome = assert_aborted_leaving_the_task_running(cutover, cutover.run(), "CDC_NOT_SETTLED")
    assert outcome["cdc"]["incomingChanges"] == 3


def test_a_new_apply_exception_aborts_the_cutover(cutover, databases):
    _, target = databases
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    later = datetime.now(timezone.utc) + timedelta(minutes=5)  # after the cutover's start, whatever the clock
    target.execute("INSERT INTO awsdms_control.awsdms_apply_exceptions VALUES ('task', 'shop', 'events', "
                   f"'{later:%Y-%m-%d %H:%M:%S}', 'UPDATE shop.events ...', 'Lock wait timeout exceeded')")

    run = cutover.run()
    outcome = assert_aborted_leaving_the_task_running(cutover, run, "CHECKS_FAILED")
    assert outcome["checks"]["applyExceptions"] == 1
    # Without `exceptionsSince`, the exceptions counted are those since the execution's start.
    started = run.execution["startDate"].astimezone(timezone.utc)
    assert outcome["checks"]["reasons"] == [f"1 apply exception(s) since {started:%Y-%m-%dT%H:%M:%SZ}"]
    assert outcome["checks"]["applyExceptionExamples"][0]["error"] == "Lock wait timeout exceeded"
    assert cutover.harness.lease() is None


def test_an_exception_before_the_given_time_does_not_count_but_one_after_it_does(cutover, databases):
    _, target = databases
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    target.execute("INSERT INTO awsdms_control.awsdms_apply_exceptions VALUES ('task', 'shop', 'events', "
                   "'2026-01-01 10:00:00', 'UPDATE shop.events ...', 'Lock wait timeout exceeded')")
    outcome = assert_aborted_leaving_the_task_running(
        cutover, cutover.run(cutover_input={"exceptionsSince": "2026-01-01T09:00:00Z"}), "CHECKS_FAILED")
    assert outcome["exceptionsSince"] == "2026-01-01T09:00:00Z"
    assert outcome["checks"]["reasons"] == ["1 apply exception(s) since 2026-01-01T09:00:00Z"]
    cutover.harness.read_notifications()
    assert cutover.run(name="cutover-2", cutover_input={"exceptionsSince": "2026-01-01T11:00:00Z"}).status == "SUCCEEDED"


def test_a_no_key_table_whose_counts_differ_aborts_the_cutover(cutover, databases):
    source, _ = databases
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    cutover.harness.tables.append(table_statistics("shop", "events", validation_state="No primary key", rows=3))
    source.execute("INSERT INTO shop.events VALUES ('sale', 9.99)")  # a row the target lacks

    outcome = assert_aborted_leaving_the_task_running(cutover, cutover.run(), "CHECKS_FAILED")
    assert outcome["checks"]["differences"] == [{"schema": "shop", "table": "events", "sourceRows": 3, "targetRows": 2,
                                                 "sourceChecksum": mock.ANY, "targetChecksum": mock.ANY,
                                                 "matches": False, "reason": "row counts differ"}]


def test_a_verdict_that_forbids_a_cutover_aborts_before_any_wait(cutover):
    a_running_task(cutover)
    cutover.harness.tables[0] = table_statistics("sales", "orders", validation_state="Mismatched records", failed=4)
    run = cutover.run()
    outcome = assert_aborted_leaving_the_task_running(cutover, run, "VERDICT_FORBIDS_CUTOVER")
    assert outcome["review"]["reason"] == "VALIDATION_FAILED"
    assert run.count("SampleCdcMetrics") == 0


def test_an_invalid_exceptions_since_is_refused_before_the_task_is_touched(cutover):
    a_running_task(cutover)
    outcome = assert_aborted_leaving_the_task_running(cutover, cutover.run(cutover_input={"exceptionsSince": "yesterday"}),
                                                      "INVALID_INPUT")
    assert outcome["looks"] == 0
    assert cutover.harness.lease() is None


# ----- other actors on the task ----------------------------------------------------------------------------------

def test_a_cutover_started_while_a_migration_run_holds_the_task_is_refused(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    watching, finish = threading.Event(), threading.Event()

    def hold_the_run(call, task):  # the run holds the lease while it watches the task
        watching.set()
        assert finish.wait(60)
    cutover.harness.before_describe = hold_the_run
    migration = cutover.harness.sfn.start_execution(stateMachineArn=cutover.harness.state_machine_arn,
                                                    name="holding-run", input=json.dumps(RUN_INPUT))["executionArn"]
    assert watching.wait(30)
    try:
        outcome = assert_aborted_leaving_the_task_running(cutover, cutover.run(), "TASK_HELD")
        # The run keeps its lease through the refused cutover.
        assert cutover.harness.lease()["holder"]["S"] == migration
    finally:
        cutover.harness.before_describe = None
        finish.set()
        # The run ends within this test, so that nothing of it reaches the next test's moto.
        cutover.harness_wait(migration)
    assert (outcome["lease"]["Item"]["kind"]["S"], outcome["lease"]["Item"]["holder"]["S"]) == ("run", migration)


def test_a_cutover_started_while_a_deployment_holds_the_task_is_refused(cutover):
    a_running_task(cutover)
    dms = boto3.client("dms", region_name=REGION)
    with mock.patch.dict(os.environ, {dms_task_guard.LEASE_TABLE_ENV: LEASE_TABLE}):
        dms_task_guard.TaskLease.of(dms_task_guard.describe(dms, cutover.harness.task.id), "deployment:u1").take_for_deployment(
            dms_task_guard.monotonic() + 5)
    outcome = assert_aborted_leaving_the_task_running(cutover, cutover.run(), "TASK_HELD")
    assert outcome["lease"]["Item"]["kind"]["S"] == "deployment"
    assert cutover.harness.lease()["holder"]["S"] == "deployment:u1"


def test_a_deployment_that_takes_the_task_during_the_checks_aborts_the_cutover_before_the_stop(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    dms = boto3.client("dms", region_name=REGION)

    def deployment_takes_the_task():
        with mock.patch.dict(os.environ, {dms_task_guard.LEASE_TABLE_ENV: LEASE_TABLE}):
            dms_task_guard.TaskLease.of(dms_task_guard.describe(dms, cutover.harness.task.id),
                                        "deployment:u2").take_for_deployment(dms_task_guard.monotonic() + 5)
    cutover.before_checks_answer = deployment_takes_the_task

    outcome = assert_aborted_leaving_the_task_running(cutover, cutover.run(), "TASK_TAKEN")
    assert outcome["checks"]["passed"] is True
    assert cutover.harness.lease()["holder"]["S"] == "deployment:u2"


def test_a_migration_run_started_during_a_cutover_leaves_the_task_to_it(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    outcomes = []

    def run_meanwhile():
        outcomes.append(cutover.harness.run(name="during-cutover"))
    cutover.before_checks_answer = run_meanwhile

    run = cutover.run()

    assert run.status == "SUCCEEDED"
    [message] = [json.loads(n["Message"]) for n in outcomes[0].notifications if "migrationOutcome" in n["Message"]]
    assert (message["outcome"]["status"], message["outcome"]["reason"]) == ("INTERRUPTED", "CUTOVER_IN_PROGRESS")
    assert cutover.harness.start_calls == []


# ----- quotas ------------------------------------------------------------------------------------------------------

def test_the_report_of_5000_tables_with_64_character_names_stays_out_of_the_state(cutover):
    a_running_task(cutover)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    cutover.harness.tables = [table_statistics(f"s{n:04d}".ljust(64, "s"), f"t{n:04d}".ljust(64, "t")) for n in range(5000)]

    run = cutover.run()

    assert run.status == "SUCCEEDED", run.path
    assert run.largest_state_bytes < 64 * 1024  # Run checks 256 KiB; the state stays far below it
    assert outcome_of(run)["review"]["tables"]["tables"] == 5000
    tables = json.loads(cutover.harness.s3.get_object(
        Bucket=DATA_BUCKET, Key=outcome_of(run)["review"]["tableReport"]["key"])["Body"].read())["tables"]
    assert len(tables) == 5000


def test_a_task_that_does_not_run_aborts_the_cutover_at_once(cutover):
    cutover.harness.task.status = "stopped"
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    run = cutover.run()
    assert run.status == "FAILED"
    outcome = assert_announced(cutover, run, "ABORTED")
    assert (outcome["reason"], outcome["task"]["Status"]) == ("TASK_NOT_RUNNING", "stopped")
    assert run.count("CheckVerdict") == 0
    assert cutover.harness.lease() is None


def test_a_whole_deployment_during_the_stop_leaves_the_cutover_complete_and_the_task_stopped(cutover, monkeypatch):
    a_running_task(cutover)
    # The guard's polls between its looks at the stopping task are recorded instead of slept: each look moves the
    # task on by the DMS state rules, not by time.
    polls = []
    monkeypatch.setattr(dms_task_guard, "sleep", polls.append)
    cutover.publish_cdc(minutes=SETTLED_SAMPLES)
    dms = boto3.client("dms", region_name=REGION)

    def deployment_before_the_stop(call, task):
        if call != 2:  # the first look is the cutover's check that the task runs; the second comes before the stop
            return
        cutover.harness.before_describe = None  # the guard's own looks at the task
        with mock.patch.dict(os.environ, {dms_task_guard.LEASE_TABLE_ENV: LEASE_TABLE}):
            dms_task_guard.hold_and_stop(dms, task.id, dms_task_guard.monotonic() + 5, "Update", "deployment:u3")
            lease = dms_task_guard.TaskLease.of(dms_task_guard.describe(dms, task.id), None)
            lease.end_deployment(dms, dms_task_guard.describe(dms, task.id))  # resumes the task it stopped
    cutover.harness.before_describe = deployment_before_the_stop

    run = cutover.run()

    assert run.status == "SUCCEEDED", run.path
    assert polls == [dms_task_guard.POLL_SECONDS]  # one poll: the stop was seen through, not given up at the deadline
    assert cutover.harness.start_calls == [(cutover.task_arn, "resume-processing")]  # the deployment's resume
    assert cutover.harness.task.status == "stopped"
    lease = cutover.harness.lease()
    assert (lease["kind"]["S"], lease["phase"]["S"], lease["holder"]["S"]) == ("cutover", "complete", run.execution["executionArn"])
