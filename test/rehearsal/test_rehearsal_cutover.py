"""The example taken through a cutover after a migration run: the cutover state machine of cdk.out in moto, its
settle function and the table review with their inline code, its database checks function with its deployed code
asset against two real MariaDB servers (tools/rehearsal/cutover.py).

A completed cutover stops the task, keeps the lease, writes its report, sends `Cutover Complete` and notifies; the
stop event DMS then sends leaves the task stopped. A change DMS could not apply after the writes stopped, or CDC
that never settles, aborts it: the task keeps running, the lease is released, `Cutover Aborted` is sent. Every call
of the two state machines and of the cutover's functions is checked against the templates' policies, and a
statement removed from a scratch copy is named.
"""

import json

import boto3
import pytest

from assembly import REGION
from cutover import ORDERS_CSV, CutoverDatabases, cutover_outcome, rehearse_cutover
from mariadb_server import running_servers
from test_rehearsal_permissions import scratch_copy, without_statement_granting  # noqa: F401 - a fixture

KEY = "incoming/sales/orders.csv"


@pytest.fixture
def servers():
    with running_servers() as running:
        yield running


def migrate_then_cut_over(pipeline, servers, scenario):
    """A file validated and migrated (the run succeeds), then the cutover of the scenario."""
    result = pipeline.rehearse(KEY, ORDERS_CSV)
    assert result.summary()["migration"] == ["SUCCEEDED"], result.summary()
    execution = rehearse_cutover(pipeline, CutoverDatabases(servers, pipeline), scenario)
    return result, execution


def task_status(pipeline):
    [task] = pipeline.dms.dms.describe_replication_tasks()["ReplicationTasks"]
    return task["Status"]


def lease_item(pipeline):
    [(stack, logical_id, _)] = pipeline.assembly.resources("AWS::DynamoDB::Table")
    [task_arn] = pipeline.dms.task_arns
    return boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=pipeline.assembly.ref(stack, logical_id), Key={"task": {"S": task_arn}}).get("Item")


def stored_report(pipeline, outcome):
    body = pipeline.s3.get_object(Bucket=outcome["report"]["bucket"], Key=outcome["report"]["key"])["Body"].read()
    return json.loads(body)


def cutover_events(result):
    """The cutover's audit events, as the Firehose processor indexed them: (detail-type, pipeline, detail)."""
    return [(d["document"]["detail-type"], d["document"]["pipeline"], json.loads(d["document"]["detail_json"]))
            for d in result.documents
            if d["document"]["source"] == "migration.pipeline" and d["document"]["detail-type"].startswith("Cutover")]


def cutover_notifications(result):
    return [(m.get("Subject"), m["MessageAttributes"]["cutoverOutcome"]["Value"], json.loads(m["Message"]))
            for m in result.published.get("migration-validation-dev", []) if "cutoverOutcome" in m.get("MessageAttributes", {})]


def made(result):
    return {(call.caller.name, call.service, call.operation) for call in result.calls}


def test_a_completed_cutover_stops_the_task_keeps_the_lease_and_reports(bring_up, example, servers):
    pipeline = bring_up(example)
    result, execution = migrate_then_cut_over(pipeline, servers, "completed")

    assert (result.failed_functions(), result.denials()) == ([], [])
    assert execution["status"] == "SUCCEEDED"
    outcome = cutover_outcome(execution)
    assert (outcome["status"], outcome["reason"]) == ("COMPLETE", "CUT_OVER")
    assert result.summary()["cutover"] == ["SUCCEEDED"]
    # The task is stopped and stays so: the cutover keeps the lease, and DMS's stop event leaves remediation idle.
    assert task_status(pipeline) == "stopped"
    lease = lease_item(pipeline)
    assert (lease["kind"]["S"], lease["phase"]["S"], lease["holder"]["S"]) == (
        "cutover", "complete", execution["executionArn"])
    [stop_event] = result.calls_of("migration-remediation-dev")
    assert stop_event["detail"]["eventType"] == "REPLICATION_TASK_STOPPED"
    assert result.published.get("migration-alerts-dev", []) == []
    # The report in S3 is the outcome: CDC settled, the checks passed; the full load's old exception did not count.
    report = stored_report(pipeline, outcome)
    assert report == outcome
    assert outcome["report"]["key"] == f"reports/cutovers/{execution['name']}.json"
    assert (report["cdc"]["settled"], report["cdc"]["settledSamples"], report["cdc"]["latencyTarget"]) == (True, 5, 2)
    assert (report["checks"]["passed"], report["checks"]["applyExceptions"]) == (True, 0)
    assert report["review"]["reason"] == "FULL_LOAD_VERIFIED"
    assert report["task"] == {"Status": "stopped"}
    details = json.loads(pipeline.s3.get_object(Bucket=outcome["report"]["bucket"],
                                                Key=report["checks"]["detailsKey"])["Body"].read())
    assert details["applyExceptions"]["tableFound"] is True
    # One audit event and one notification, both carrying the outcome.
    [(detail_type, pipeline_name, detail)] = cutover_events(result)
    assert (detail_type, pipeline_name) == ("Cutover Complete", "migration-pipeline-dev")
    assert detail["execution"] == execution["executionArn"]
    assert detail["outcome"] == outcome
    [(subject, attribute, message)] = cutover_notifications(result)
    assert (subject, attribute, message["cutoverOutcome"]) == ("Cutover COMPLETE", "COMPLETE", "COMPLETE")
    assert message["outcome"]["reason"] == "CUT_OVER"
    # Each call was made with the role of its caller: the cutover state machine's own, and its two functions'.
    assert made(result) >= {
        ("migration-orchestration-dev", "lambda", "Invoke"),
        ("migration-cutover-dev", "dynamodb", "UpdateItem"),
        ("migration-cutover-dev", "lambda", "Invoke"),
        ("migration-cutover-dev", "dms", "StopReplicationTask"),
        ("migration-cutover-dev", "s3", "PutObject"),
        ("migration-cutover-dev", "events", "PutEvents"),
        ("migration-cutover-dev", "sns", "Publish"),
        ("migration-cutover-settle-dev", "cloudwatch", "GetMetricData"),
        ("migration-cutover-checks-dev", "secretsmanager", "GetSecretValue"),
        ("migration-cutover-checks-dev", "s3", "PutObject"),
    }, sorted(made(result))
    assert ("migration-orchestration-dev", "dms", "StopReplicationTask") not in made(result)


def assert_aborted_leaving_the_task_running(pipeline, result, execution, reason):
    assert (result.failed_functions(), result.denials()) == ([], [])
    assert (execution["status"], execution["error"]) == ("FAILED", "CutoverAborted")
    outcome = cutover_outcome(execution)
    assert (outcome["status"], outcome["reason"]) == ("ABORTED", reason)
    assert task_status(pipeline) == "running"
    assert lease_item(pipeline) is None
    assert stored_report(pipeline, outcome) == outcome
    [(detail_type, _, detail)] = cutover_events(result)
    assert (detail_type, detail["outcome"]["reason"]) == ("Cutover Aborted", reason)
    [(subject, attribute, message)] = cutover_notifications(result)
    assert (subject, attribute, message["outcome"]["reason"]) == ("Cutover ABORTED", "ABORTED", reason)
    assert ("migration-cutover-dev", "dms", "StopReplicationTask") not in made(result)
    # The migration state machine's failure rule watches its own executions only: no remediation, no alert.
    assert result.calls_of("migration-remediation-dev") == []
    return outcome


def test_a_change_dms_could_not_apply_after_the_writes_stopped_aborts_the_cutover(bring_up, example, servers):
    pipeline = bring_up(example)
    result, execution = migrate_then_cut_over(pipeline, servers, "aborted-by-exception")

    outcome = assert_aborted_leaving_the_task_running(pipeline, result, execution, "CHECKS_FAILED")
    assert outcome["checks"]["applyExceptions"] == 1
    # The time the operator gave: when the applications stopped writing.
    since = json.loads(execution["input"])["exceptionsSince"]
    assert outcome["checks"]["reasons"] == [f"1 apply exception(s) since {since}"]
    [example_row] = outcome["checks"]["applyExceptionExamples"]
    assert (example_row["schema"], example_row["table"]) == ("sales", "orders")
    assert outcome["cdc"]["settled"] is True


def test_cdc_that_never_settles_aborts_the_cutover_after_its_bounded_wait(bring_up, example, servers):
    pipeline = bring_up(example)
    result, execution = migrate_then_cut_over(pipeline, servers, "aborted-by-latency")

    outcome = assert_aborted_leaving_the_task_running(pipeline, result, execution, "CDC_NOT_SETTLED")
    # The example's wait: a look a minute for an hour.
    assert outcome["looks"] == 60
    assert (outcome["cdc"]["settled"], outcome["cdc"]["latencyTarget"], outcome["cdc"]["incomingChanges"]) == (
        False, 45, 120)
    assert outcome["checks"] == "NOT_RUN"


CUTOVER_STATEMENTS = [
    # (role, action, the caller the rehearsal names)
    ("CutoverStateMachineRole", "dms:StopReplicationTask", "migration-cutover-dev"),
    ("CutoverSettleFunctionServiceRole", "cloudwatch:GetMetricData", "migration-cutover-settle-dev"),
    ("CutoverChecksFunctionServiceRole", "secretsmanager:GetSecretValue", "migration-cutover-checks-dev"),
]


@pytest.mark.parametrize("role, action, caller", CUTOVER_STATEMENTS, ids=[f"{s[2]}-{s[1]}" for s in CUTOVER_STATEMENTS])
def test_without_a_statement_a_cutover_call_needs_the_rehearsal_names_it(role, action, caller, bring_up, scratch_copy,
                                                                         servers):
    without_statement_granting(scratch_copy, role, action)
    pipeline = bring_up(scratch_copy)
    result, _ = migrate_then_cut_over(pipeline, servers, "completed")

    named = [text for text in result.denials() if f" {caller} may not {action} on " in text]
    assert named, result.denials()
