"""Remediation and the replication task's lease (src/private/task-lease.ts): a failed task is resumed only when no
deployment holds it. The lease table is a moto DynamoDB table shaped as the construct creates it; the deployment's
hold is written by the stop guard's own code (src/runtime/dms_task_guard.py)."""

import time

import boto3
import pytest

import dms_task_guard
import remediation
from pipeline_helpers import REGION
from test_remediation import (  # noqa: F401 - pytest fixtures are found through the import
    TAG, create_dms_task, dms_event, expect_describe, moto_task_status, only, pipeline, stub_dms,
)

LEASE_TABLE = "migration-task-lease"


@pytest.fixture
def lease(pipeline, monkeypatch):
    monkeypatch.setenv("LEASE_TABLE_NAME", LEASE_TABLE)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName=LEASE_TABLE, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "task", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "task", "KeyType": "HASH"}])
    return lambda task_arn: dynamodb.get_item(TableName=LEASE_TABLE, Key={"task": {"S": task_arn}},
                                              ConsistentRead=True).get("Item")


def failed_task_event(task_arn, resumed):
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "failed", "Stop Reason FATAL_ERROR")
    if resumed:
        dms.stubber.add_response("add_tags_to_resource", {},
                                 {"ResourceArn": task_arn, "Tags": [{"Key": TAG, "Value": "1"}]})
    return dms, dms_event("dms-task-failed.json", task_arn)


def test_a_failure_while_a_deployment_holds_the_task_is_left_to_the_deployment(lease, alerts, audit_events, monkeypatch):
    task_arn = create_dms_task()
    monkeypatch.setenv(dms_task_guard.LEASE_TABLE_ENV, LEASE_TABLE)
    dms_task_guard.TaskLease(LEASE_TABLE, task_arn, "deployment:update-1").take_for_deployment(time.monotonic() + 1)
    dms, event = failed_task_event(task_arn, resumed=False)

    remediation.handler(event, None)

    assert "start_replication_task" not in dms.calls
    assert "add_tags_to_resource" not in dms.calls  # no resume attempt counted
    assert moto_task_status(task_arn) != "running"
    alert = only(alerts.read())
    assert "held by a deployment" in alert["subject"] + alert["message"]["what"]
    assert lease(task_arn)["holder"]["S"] == "deployment:update-1"


def test_a_free_task_is_resumed_under_the_lease_which_is_then_released(lease, alerts):
    task_arn = create_dms_task()
    dms, event = failed_task_event(task_arn, resumed=True)

    result = remediation.handler(event, None)

    assert result["action"] == "RESUME_DMS_TASK"
    assert moto_task_status(task_arn) == "running"
    assert lease(task_arn) is None


def test_a_task_a_run_holds_is_resumed_inside_a_start_window_the_deployment_waits_for(lease, alerts):
    task_arn = create_dms_task()
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=LEASE_TABLE, Item={
        "task": {"S": task_arn}, "holder": {"S": "arn:aws:states:us-west-2:123456789012:execution:m:run-1"},
        "kind": {"S": "run"}, "grant": {"S": "2026-12-01T10:00:00.000Z"}, "files": {"L": []}})
    seen = []
    original_start = remediation.resume_dms_task

    def resume(settings, where, task, detail, attempt):
        seen.append(lease(task_arn)["phase"]["S"])  # the deployment sees the start window while the task starts
        return original_start(settings, where, task, detail, attempt)
    remediation.resume_dms_task = resume
    try:
        _, event = failed_task_event(task_arn, resumed=True)
        result = remediation.handler(event, None)
    finally:
        remediation.resume_dms_task = original_start

    assert result["action"] == "RESUME_DMS_TASK"
    assert seen == ["starting"]
    item = lease(task_arn)
    assert (item["holder"]["S"], item["phase"]["S"]) == ("arn:aws:states:us-west-2:123456789012:execution:m:run-1", "watching")


def test_a_failure_after_a_completed_cutover_is_never_resumed(lease, alerts, audit_events):
    # The lease as the cutover state machine leaves it once it stopped the task (src/private/cutover-lease.ts).
    task_arn = create_dms_task()
    cutover = f"arn:aws:states:{REGION}:123456789012:execution:migration-cutover-dev:cutover-1"
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=LEASE_TABLE, Item={
        "task": {"S": task_arn}, "holder": {"S": cutover}, "kind": {"S": "cutover"},
        "grant": {"S": "2026-12-07T10:00:00.000Z"}, "phase": {"S": "complete"}})
    dms, event = failed_task_event(task_arn, resumed=False)

    remediation.handler(event, None)

    assert "start_replication_task" not in dms.calls
    assert moto_task_status(task_arn) != "running"
    alert = only(alerts.read())
    assert "held by a deployment or a cutover" in alert["subject"] + alert["message"]["what"]
    assert (lease(task_arn)["holder"]["S"], lease(task_arn)["phase"]["S"]) == (cutover, "complete")
