"""dms_task_guard: the custom resource that stops the replication task before CloudFormation changes or deletes it.

DMS refuses to modify a running task ("ModifyReplicationTask", DMS API Reference: "You can't modify the task
endpoints. The task must be stopped before you can modify it.") and to delete one ("DeleteReplicationTask").
Runs against moto's DMS, which starts and stops tasks at once (a thin wrapper makes the task report "stopping" for
a few polls, as DMS does), and moto's DynamoDB for the task's lease; the wait runs on a fake clock.
"""

import json
import re
import time
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws
from moto.dms.models import dms_backends

import dms_task_guard as guard
from pipeline_helpers import add_dms_tagging, cloudformation_response_url

REGION = "us-west-2"
TASK_ID = "migration-task-dev"
STACK_ID = "arn:aws:cloudformation:us-west-2:123456789012:stack/TapStack-DMSStack/5b918d10-cd98-11ea-90d5-0a9cd3354c10"


@pytest.fixture
def dms(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    add_dms_tagging(monkeypatch)
    with mock_aws():
        yield boto3.client("dms", region_name=REGION)


@pytest.fixture
def clock(monkeypatch):
    """A fake clock: sleeping advances it, so a ten-minute wait takes no time."""
    now = {"t": 1000.0, "slept": []}

    def sleep(seconds):
        now["slept"].append(seconds)
        now["t"] += seconds

    monkeypatch.setattr(guard, "sleep", sleep)
    monkeypatch.setattr(guard, "monotonic", lambda: now["t"])
    return now


class SlowToStop:
    """moto's DMS client, except that a stopped task reports 'stopping' for the first `polls` describes."""

    def __init__(self, client, polls):
        self.client = client
        self.polls = polls
        self.calls = []

    def describe_replication_tasks(self, **params):
        self.calls.append("describe_replication_tasks")
        response = self.client.describe_replication_tasks(**params)
        for task in response["ReplicationTasks"]:
            if task["Status"] == "stopped" and self.polls > 0:
                self.polls -= 1
                task["Status"] = "stopping"
        return response

    def stop_replication_task(self, **params):
        self.calls.append("stop_replication_task")
        return self.client.stop_replication_task(**params)

    def start_replication_task(self, **params):
        self.calls.append(f"start_replication_task {params['StartReplicationTaskType']}")
        return self.client.start_replication_task(**params)

    def add_tags_to_resource(self, **params):
        self.calls.append("add_tags_to_resource")
        return self.client.add_tags_to_resource(**params)

    def remove_tags_from_resource(self, **params):
        self.calls.append("remove_tags_from_resource")
        return self.client.remove_tags_from_resource(**params)


def use(monkeypatch, client):
    """The guard's DMS client is `client`; it asks for no other service."""
    def dms_only(service):
        assert service == "dms", service
        return client

    monkeypatch.setattr(guard, "_client", dms_only)
    return client


def create_task(dms, identifier=TASK_ID, running=True):
    arn = dms.create_replication_task(
        ReplicationTaskIdentifier=identifier, MigrationType="full-load-and-cdc",
        SourceEndpointArn="arn:aws:dms:us-west-2:123456789012:endpoint:SOURCE",
        TargetEndpointArn="arn:aws:dms:us-west-2:123456789012:endpoint:TARGET",
        ReplicationInstanceArn="arn:aws:dms:us-west-2:123456789012:rep:INSTANCE",
        TableMappings="{}",
    )["ReplicationTask"]["ReplicationTaskArn"]
    if running:
        dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    return arn


def status(dms, identifier=TASK_ID):
    tasks = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-id", "Values": [identifier]}])["ReplicationTasks"]
    return tasks[0]["Status"]


def marker(dms, identifier=TASK_ID):
    """The deployment marker's value on the task, or None."""
    [task] = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-id", "Values": [identifier]}])["ReplicationTasks"]
    tags = dms.list_tags_for_resource(ResourceArn=task["ReplicationTaskArn"])["TagList"]
    return next((tag["Value"] for tag in tags if tag["Key"] == "migration-pipeline:stopped-for-deployment"), None)


def request(request_type, identifier=TASK_ID, old_identifier=None, max_wait="600", response_url=None):
    event = {
        "RequestType": request_type, "StackId": STACK_ID, "RequestId": "req-1", "LogicalResourceId": "TaskStopGuard",
        "ResourceType": "Custom::DmsTaskStopGuard",
        "ResourceProperties": {"ReplicationTaskIdentifier": identifier, "MaxWaitSeconds": max_wait, "Fingerprint": "abc"},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"dms-task-guard:{identifier}"
    if response_url:
        event["ResponseURL"] = response_url
    if request_type == "Update":
        event["OldResourceProperties"] = {"ReplicationTaskIdentifier": old_identifier or identifier, "Fingerprint": "old"}
    return event


class Context:
    log_stream_name = "2024/06/01/[$LATEST]abc"

    def __init__(self, remaining_ms=900_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def test_create_does_nothing(dms, clock, monkeypatch):
    create_task(dms)
    client = use(monkeypatch, SlowToStop(dms, polls=0))

    answer = guard.handler(request("Create"), Context())

    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "dms-task-guard:migration-task-dev"
    assert client.calls == []
    assert status(dms) == "running"


def test_update_stops_a_running_task_and_waits_until_it_is_stopped(dms, clock, monkeypatch):
    create_task(dms)
    client = use(monkeypatch, SlowToStop(dms, polls=3))

    answer = guard.handler(request("Update"), Context())

    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "dms-task-guard:migration-task-dev"
    assert status(dms) == "stopped"
    # Marked for the deployment before the stop, so a migration run that sees it stopped also sees why.
    assert client.calls == ["describe_replication_tasks", "add_tags_to_resource", "stop_replication_task"] + [
        "describe_replication_tasks"] * 4
    assert marker(dms).startswith("Update 20")
    assert clock["slept"] == [guard.POLL_SECONDS] * 4
    assert answer["Data"] == {"States": '{"migration-task-dev": "stopped"}'}


def test_update_that_renames_the_task_stops_the_old_one(dms, clock, monkeypatch):
    create_task(dms, identifier="migration-task-old")
    use(monkeypatch, dms)

    answer = guard.handler(request("Update", identifier="migration-task-new", old_identifier="migration-task-old"), Context())

    assert answer["Status"] == "SUCCESS"
    assert status(dms, "migration-task-old") == "stopped"
    assert answer["Data"] == {"States": '{"migration-task-new": "absent", "migration-task-old": "stopped"}'}


def test_delete_stops_a_running_task(dms, clock, monkeypatch):
    create_task(dms)
    use(monkeypatch, SlowToStop(dms, polls=1))

    answer = guard.handler(request("Delete"), Context())

    assert answer["Status"] == "SUCCESS"
    assert status(dms) == "stopped"


def test_delete_of_a_task_that_never_ran_or_is_stopped_needs_no_stop(dms, clock, monkeypatch):
    arn = create_task(dms, running=True)
    dms.stop_replication_task(ReplicationTaskArn=arn)
    never_started_arn = create_task(dms, identifier="migration-task-never-started", running=False)
    # DMS moves a created task to "ready"; moto leaves it "creating", so it is moved by hand.
    dms_backends["123456789012"][REGION].replication_tasks[never_started_arn].ready()
    client = use(monkeypatch, SlowToStop(dms, polls=0))

    stopped = guard.handler(request("Delete"), Context())
    never_started = guard.handler(request("Delete", identifier="migration-task-never-started"), Context())

    assert stopped["Status"] == never_started["Status"] == "SUCCESS"
    assert "stop_replication_task" not in client.calls
    assert clock["slept"] == []


def test_delete_of_an_absent_task_succeeds(dms, clock, monkeypatch):
    use(monkeypatch, dms)

    answer = guard.handler(request("Delete"), Context())

    assert answer["Status"] == "SUCCESS"
    assert answer["Data"] == {"States": '{"migration-task-dev": "absent"}'}


def test_a_task_that_does_not_stop_within_the_wait_fails_with_its_state_and_the_manual_command(dms, clock, monkeypatch):
    arn = create_task(dms)
    use(monkeypatch, SlowToStop(dms, polls=10_000))

    answer = guard.handler(request("Update", max_wait="60"), Context())

    assert answer["Status"] == "FAILED"
    assert "task migration-task-dev is still 'stopping' at the end of the wait" in answer["Reason"]
    assert f"aws dms stop-replication-task --replication-task-arn {arn}" in answer["Reason"]
    assert "CloudWatch log stream 2024/06/01/[$LATEST]abc" in answer["Reason"]
    # Bounded: polls every 15 s until the 60 s are used up, then answers.
    assert sum(clock["slept"]) == 60


def test_the_wait_never_outlasts_the_function(dms, clock, monkeypatch):
    create_task(dms)
    use(monkeypatch, SlowToStop(dms, polls=10_000))

    answer = guard.handler(request("Delete", max_wait="600"), Context(remaining_ms=90_000))

    assert answer["Status"] == "FAILED"
    # 90 s left, 30 s kept for the answer: the wait ends after 60 s.
    assert sum(clock["slept"]) == 60


def test_an_unknown_request_type_fails(dms, clock, monkeypatch):
    use(monkeypatch, dms)
    event = request("Delete")
    event["RequestType"] = "Rollback"

    answer = guard.handler(event, Context())

    assert answer["Status"] == "FAILED"
    assert "Unsupported RequestType 'Rollback'" in answer["Reason"]
    assert answer["PhysicalResourceId"] == "dms-task-guard:migration-task-dev"


def test_the_answer_keeps_the_physical_id_cloudformation_sent(dms, clock, monkeypatch):
    """A different physical ID in the answer to an update would make CloudFormation replace the resource (and delete
    the old one): the guard answers with the ID of the request, whatever the task is called now."""
    create_task(dms)
    use(monkeypatch, dms)
    update = request("Update")
    update["PhysicalResourceId"] = "dms-task-guard:first-name"
    clear = clear_request("Update")
    clear["PhysicalResourceId"] = "dms-task-guard:first-name"

    assert guard.handler(update, Context())["PhysicalResourceId"] == "dms-task-guard:first-name"
    assert guard.handler(clear, Context())["PhysicalResourceId"] == "dms-task-guard:first-name"

    create = request("Create")
    del create["ResourceProperties"]["ReplicationTaskIdentifier"]
    assert guard.handler(create, Context())["PhysicalResourceId"] == "dms-task-guard:"
    assert guard.handler(clear_request("Create") | {"ResourceProperties": {"Action": "ClearDeploymentMarker"}},
                         Context())["PhysicalResourceId"] == "dms-task-guard:"


def test_the_marker_names_the_request_and_its_utc_time(dms, clock, monkeypatch):
    create_task(dms)
    use(monkeypatch, dms)

    guard.handler(request("Delete"), Context())

    assert re.fullmatch(r"Delete \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", marker(dms))


def test_a_bad_wait_fails_the_request(dms, clock, monkeypatch):
    create_task(dms)
    use(monkeypatch, dms)

    answer = guard.handler(request("Update", max_wait="ten minutes"), Context())

    assert answer["Status"] == "FAILED"
    assert "MaxWaitSeconds must be a number of seconds, got 'ten minutes'" in answer["Reason"]
    assert status(dms) == "running"


def test_a_stopped_task_is_marked_too_so_no_run_resumes_it_during_the_deployment(dms, clock, monkeypatch):
    arn = create_task(dms)
    dms.stop_replication_task(ReplicationTaskArn=arn)
    client = use(monkeypatch, SlowToStop(dms, polls=0))

    answer = guard.handler(request("Update"), Context())

    assert answer["Status"] == "SUCCESS"
    assert "stop_replication_task" not in client.calls
    assert marker(dms).startswith("Update ")


def clear_request(request_type):
    event = request(request_type)
    event["LogicalResourceId"] = "TaskStopGuardAfterUpdate"
    event["ResourceProperties"]["Action"] = "ClearDeploymentMarker"
    return event


def test_the_resource_updated_after_the_task_removes_the_marker_and_leaves_the_task_stopped(dms, clock, monkeypatch):
    create_task(dms)
    use(monkeypatch, dms)
    guard.handler(request("Update"), Context())
    assert marker(dms) is not None

    answer = guard.handler(clear_request("Update"), Context())

    assert answer["Status"] == "SUCCESS"
    assert marker(dms) is None
    # The next migration run resumes the task; the guard never starts it.
    assert status(dms) == "stopped"


def test_clearing_the_marker_of_an_absent_task_or_on_delete_succeeds(dms, clock, monkeypatch):
    client = use(monkeypatch, SlowToStop(dms, polls=0))

    assert guard.handler(clear_request("Create"), Context())["Status"] == "SUCCESS"
    assert guard.handler(clear_request("Delete"), Context())["Status"] == "SUCCESS"
    assert "remove_tags_from_resource" not in client.calls


def test_deleting_the_clearing_resource_leaves_the_marker_of_a_present_task(dms, clock, monkeypatch):
    """Delete does nothing even with a marked task present: the marker stays until an update clears it."""
    create_task(dms)
    client = use(monkeypatch, SlowToStop(dms, polls=0))
    guard.handler(request("Update"), Context())
    set_by_update = marker(dms)

    answer = guard.handler(clear_request("Delete"), Context())

    assert answer["Status"] == "SUCCESS"
    assert "remove_tags_from_resource" not in client.calls
    assert marker(dms) == set_by_update is not None


def logged(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_the_guard_logs_the_request_and_the_states_it_leaves(dms, clock, monkeypatch, capsys):
    create_task(dms)
    use(monkeypatch, SlowToStop(dms, polls=0))

    guard.handler(request("Update"), Context())

    lines = logged(capsys)
    assert lines[0] == {"level": "info", "handler": "dms-task-guard", "message": "request received",
                        "request_type": "Update", "logical_resource_id": "TaskStopGuard"}
    assert {"level": "info", "handler": "dms-task-guard", "message": "replication task ready for CloudFormation",
            "states": {"migration-task-dev": "stopped"}} in lines


def test_a_failed_stop_is_logged_with_its_reason(dms, clock, monkeypatch, capsys):
    create_task(dms)
    use(monkeypatch, SlowToStop(dms, polls=10_000))

    answer = guard.handler(request("Delete", max_wait="15"), Context())

    assert answer["PhysicalResourceId"] == "dms-task-guard:migration-task-dev"
    errors = [line for line in logged(capsys) if line["level"] == "error"]
    assert errors[0]["handler"] == "dms-task-guard"
    assert errors[0]["message"].startswith("The DMS replication task was not stopped before the delete: ")
    assert answer["Reason"].startswith(errors[0]["message"] + " (CloudWatch log stream 2024/06/01/[$LATEST]abc)")


def test_clearing_the_marker_is_logged_and_a_failure_to_clear_it_is_answered(dms, clock, monkeypatch, capsys):
    create_task(dms)
    use(monkeypatch, dms)
    guard.handler(request("Update"), Context())
    capsys.readouterr()

    assert guard.handler(clear_request("Update"), Context())["PhysicalResourceId"] == "dms-task-guard:migration-task-dev"
    assert {"level": "info", "handler": "dms-task-guard", "task": "migration-task-dev",
            "message": "deployment marker removed"} in logged(capsys)

    class RefusingTags(SlowToStop):
        def remove_tags_from_resource(self, **params):
            raise RuntimeError("AccessDenied: dms:RemoveTagsFromResource")

    use(monkeypatch, RefusingTags(dms, polls=0))
    answer = guard.handler(clear_request("Update"), Context())
    reason = "The deployment marker could not be removed from the DMS replication task: AccessDenied: dms:RemoveTagsFromResource"
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("FAILED", "dms-task-guard:migration-task-dev")
    assert answer["Reason"] == f"{reason} (CloudWatch log stream 2024/06/01/[$LATEST]abc)"
    assert {"level": "error", "handler": "dms-task-guard", "message": reason} in logged(capsys)


@pytest.fixture
def response_url():
    with cloudformation_response_url() as server:
        yield server


def test_the_answer_is_put_to_the_response_url(dms, clock, monkeypatch, response_url):
    use(monkeypatch, dms)

    guard.handler(request("Create", response_url=response_url.url), Context())

    assert len(response_url.received) == 1
    sent = response_url.received[0]
    assert sent["method"] == "PUT"
    assert sent["path"] == "/cfn-response?X-Amz-Signature=abc123"
    assert sent["content_type"] == ""
    assert json.loads(sent["body"]) == {
        "Status": "SUCCESS", "PhysicalResourceId": "dms-task-guard:migration-task-dev", "StackId": STACK_ID,
        "RequestId": "req-1", "LogicalResourceId": "TaskStopGuard", "Data": {},
    }


def test_the_answer_after_a_stop_carries_the_task_states(dms, clock, monkeypatch, response_url):
    create_task(dms)
    use(monkeypatch, dms)

    guard.handler(request("Delete", response_url=response_url.url), Context())

    assert [sent["method"] for sent in response_url.received] == ["PUT"]
    assert json.loads(response_url.received[0]["body"]) == {
        "Status": "SUCCESS", "PhysicalResourceId": "dms-task-guard:migration-task-dev", "StackId": STACK_ID,
        "RequestId": "req-1", "LogicalResourceId": "TaskStopGuard", "Data": {"States": '{"migration-task-dev": "stopped"}'},
    }


def test_a_failed_answer_carries_the_reason_cut_to_1000_characters(dms, clock, monkeypatch, response_url):
    use(monkeypatch, dms)
    event = request("Delete", response_url=response_url.url)
    event["RequestType"] = "Rollback" + "x" * 2000

    guard.handler(event, Context())

    assert len(response_url.received) == 1
    body = json.loads(response_url.received[0]["body"])
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "Unsupported RequestType 'Rollback" + "x" * (1000 - len("Unsupported RequestType 'Rollback"))
    assert len(body["Reason"]) == 1000


def test_a_refused_answer_is_sent_again_after_one_then_two_seconds(dms, clock, monkeypatch, response_url):
    use(monkeypatch, dms)
    response_url.failures = 2

    answer = guard.handler(request("Create", response_url=response_url.url), Context())

    assert [sent["method"] for sent in response_url.received] == ["PUT", "PUT", "PUT"]
    assert len({sent["body"] for sent in response_url.received}) == 1
    assert json.loads(response_url.received[2]["body"]) == answer
    assert clock["slept"] == [1, 2]


def test_the_answer_is_given_up_after_three_attempts(dms, clock, monkeypatch, response_url):
    use(monkeypatch, dms)
    response_url.failures = 10

    answer = guard.handler(request("Create", response_url=response_url.url), Context())

    assert answer["Status"] == "SUCCESS"
    assert [sent["method"] for sent in response_url.received] == ["PUT", "PUT", "PUT"]
    assert clock["slept"] == [1, 2]


@pytest.mark.parametrize(("properties", "context", "seconds"), [
    ({}, None, 600.0),  # the default wait, with no Lambda context to cap it
    ({"MaxWaitSeconds": "120"}, None, 120.0),
    ({"MaxWaitSeconds": "600"}, Context(remaining_ms=90_000), 60.0),  # 90 s left, 30 s kept for the answer
    ({"MaxWaitSeconds": "600"}, Context(remaining_ms=10_000), 0.0),  # never negative
])
def test_the_wait_budget(properties, context, seconds):
    assert guard.wait_budget(properties, context) == seconds


class ScriptedStatuses:
    """A DMS client whose task reports the given statuses, one per describe."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.tags = []

    def add_tags_to_resource(self, ResourceArn, Tags):  # noqa: N803 (boto3's parameter names)
        self.tags.append((ResourceArn, Tags))

    def describe_replication_tasks(self, **params):
        return {"ReplicationTasks": [{"ReplicationTaskIdentifier": TASK_ID, "Status": self.statuses.pop(0),
                                      "ReplicationTaskArn": "arn:aws:dms:us-west-2:123456789012:task:T"}]}


def test_an_unknown_task_state_is_logged_and_waited_out(clock, capsys):
    dms = ScriptedStatuses(["moving-sideways", "stopping", "stopped"])

    state = guard.stop_and_wait(dms, TASK_ID, deadline=clock["t"] + 600, marker="Update 2024-06-01T00:00:00Z")

    assert state == "stopped"
    assert clock["slept"] == [guard.POLL_SECONDS] * 2
    # The task is marked once, before anything else, so a migration run that sees it stopped also sees why.
    assert dms.tags == [("arn:aws:dms:us-west-2:123456789012:task:T",
                         [{"Key": "migration-pipeline:stopped-for-deployment", "Value": "Update 2024-06-01T00:00:00Z"}])]
    warnings = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"warning"' in line]
    assert warnings == [{"level": "warning", "handler": "dms-task-guard", "message": "unknown task state; waiting for it to settle",
                         "task": TASK_ID, "status": "moving-sideways"}]


def test_a_task_being_deleted_is_not_marked(clock):
    # A task in "deleting" takes no new tags, and its deletion needs no marker: the guard leaves it as it is.
    dms = ScriptedStatuses(["deleting"])

    state = guard.stop_and_wait(dms, TASK_ID, deadline=clock["t"] + 600, marker="Delete 2024-06-01T00:00:00Z")

    assert state == "deleting"
    assert dms.tags == []
    assert clock["slept"] == []


# --------------------------------------------------------------------------------------------------------------
# The task's lease (src/private/task-lease.ts documents its attributes), on moto's DynamoDB
# --------------------------------------------------------------------------------------------------------------

LEASE_TABLE = "migration-task-lease"
RUN_ARN = "arn:aws:states:us-west-2:123456789012:execution:migration-pipeline:run-1"


@pytest.fixture
def lease_table(dms, monkeypatch):
    """The lease table, as src/private/task-lease.ts creates it (partition key `task`), named to the guard."""
    monkeypatch.setenv(guard.LEASE_TABLE_ENV, LEASE_TABLE)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName=LEASE_TABLE, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "task", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "task", "KeyType": "HASH"}])
    return dynamodb


def use_with_lease(monkeypatch, client):
    """The guard's DMS client is `client`; its DynamoDB client is moto's."""
    def dms_and_dynamodb(service):
        assert service in ("dms", "dynamodb"), service
        return client if service == "dms" else boto3.client("dynamodb", region_name=REGION)

    monkeypatch.setattr(guard, "_client", dms_and_dynamodb)
    return client


def lease_of(dynamodb, task_arn):
    """The lease item as plain strings and booleans, or None."""
    item = dynamodb.get_item(TableName=LEASE_TABLE, Key={"task": {"S": task_arn}}, ConsistentRead=True).get("Item")
    return None if item is None else {name: next(iter(value.values())) for name, value in item.items()}


def held_by_a_run(dynamodb, task_arn):
    dynamodb.put_item(TableName=LEASE_TABLE, Item={
        "task": {"S": task_arn}, "holder": {"S": RUN_ARN}, "kind": {"S": "run"}, "grant": {"S": "2026-12-01T09:00:00.000Z"},
    })


def test_an_update_holds_the_lease_as_its_request_and_the_clearing_resource_hands_it_back_and_resumes_the_task(
        dms, lease_table, clock, monkeypatch):
    """BeforeUpdate takes the run's lease for `deployment:<RequestId>` and notes that the task ran; AfterUpdate
    (ClearDeploymentMarker) removes the marker, resumes the task and hands the lease back to the run."""
    arn = create_task(dms)
    held_by_a_run(lease_table, arn)
    client = use_with_lease(monkeypatch, SlowToStop(dms, polls=1))

    stopped = guard.handler(request("Update"), Context())

    assert stopped["Status"] == "SUCCESS"
    assert status(dms) == "stopped"
    held = lease_of(lease_table, arn)
    assert (held["holder"], held["kind"], held["previousHolder"], held["resumeAfter"]) == (
        "deployment:req-1", "deployment", RUN_ARN, True)

    cleared = guard.handler(clear_request("Update"), Context())

    assert cleared["Status"] == "SUCCESS"
    assert marker(dms) is None
    # The task ran before the update, so it runs after it, resumed where it stopped.
    assert client.calls[-1] == "start_replication_task resume-processing"
    assert status(dms) == "running"
    handed_back = lease_of(lease_table, arn)
    assert (handed_back["holder"], handed_back["kind"]) == (RUN_ARN, "run")
    assert not {"previousHolder", "resumeAfter", "expiresAt"} & set(handed_back)


def test_clearing_after_an_update_of_a_stopped_task_releases_the_lease_and_leaves_the_task_stopped(
        dms, lease_table, clock, monkeypatch):
    arn = create_task(dms)
    dms.stop_replication_task(ReplicationTaskArn=arn)
    use_with_lease(monkeypatch, dms)

    assert guard.handler(request("Update"), Context())["Status"] == "SUCCESS"
    held = lease_of(lease_table, arn)
    assert (held["holder"], held["kind"]) == ("deployment:req-1", "deployment")
    assert "resumeAfter" not in held and "previousHolder" not in held

    assert guard.handler(clear_request("Update"), Context())["Status"] == "SUCCESS"

    assert lease_of(lease_table, arn) is None
    assert status(dms) == "stopped"
    assert marker(dms) is None


def test_each_update_holds_the_lease_in_the_name_of_its_own_request(dms, lease_table, clock, monkeypatch):
    """CloudFormation gives every request its own RequestId: the hold names it exactly, so a later request's hold is
    told apart from an earlier one's (and from a run's or a remediation's)."""
    arn = create_task(dms)
    use_with_lease(monkeypatch, dms)
    first, second = request("Update"), request("Update")
    first["RequestId"], second["RequestId"] = "5f0c6a5e-0b1d-4e4e-9a77-1f2d3c4b5a69", "Second-Request"

    guard.handler(first, Context())
    assert lease_of(lease_table, arn)["holder"] == "deployment:5f0c6a5e-0b1d-4e4e-9a77-1f2d3c4b5a69"
    guard.handler(second, Context())
    assert lease_of(lease_table, arn)["holder"] == "deployment:Second-Request"


def test_a_request_without_a_request_id_holds_the_lease_in_the_name_of_its_marker(dms, lease_table, clock, monkeypatch):
    """A request with no RequestId still holds the lease under a name of its own (the marker: request type and
    time), never a name every such request would share."""
    arn = create_task(dms)
    use_with_lease(monkeypatch, dms)
    event = request("Delete")
    del event["RequestId"]

    assert guard.handler(event, Context())["Status"] == "SUCCESS"

    holder = lease_of(lease_table, arn)["holder"]
    assert re.fullmatch(r"deployment:Delete \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", holder)
    assert holder == f"deployment:{marker(dms)}"


def test_deleting_the_clearing_resource_leaves_the_lease_and_the_task_to_the_deployment(
        dms, lease_table, clock, monkeypatch):
    """Delete of the ClearDeploymentMarker resource does nothing: no lease hand-back, no resume, no marker removal."""
    arn = create_task(dms)
    held_by_a_run(lease_table, arn)
    use_with_lease(monkeypatch, dms)
    guard.handler(request("Update"), Context())
    held = lease_of(lease_table, arn)

    answer = guard.handler(clear_request("Delete"), Context())

    assert answer["Status"] == "SUCCESS"
    assert lease_of(lease_table, arn) == held
    assert status(dms) == "stopped"
    assert marker(dms) is not None


def test_a_failure_to_hand_the_lease_back_is_answered_failed_with_its_reason(dms, lease_table, clock, monkeypatch):
    create_task(dms)
    use_with_lease(monkeypatch, dms)
    assert guard.handler(request("Update"), Context())["Status"] == "SUCCESS"
    lease_table.delete_table(TableName=LEASE_TABLE)

    answer = guard.handler(clear_request("Update"), Context())

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("The deployment marker could not be removed from the DMS replication task: ")
    assert "ResourceNotFoundException" in answer["Reason"]
    assert answer["Reason"].endswith("(CloudWatch log stream 2024/06/01/[$LATEST]abc)")
    assert status(dms) == "stopped"  # not resumed by a clearing that failed


@pytest.fixture
def local_time_ten_hours_ahead():
    """The process's local time zone is 10 hours ahead of UTC (a POSIX TZ string: no zone files needed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "XST-10")
        time.tzset()
        assert time.localtime().tm_gmtoff == 10 * 3600
        yield
    time.tzset()


def test_the_marker_is_utc_whatever_the_local_time_zone(dms, clock, monkeypatch, local_time_ten_hours_ahead):
    create_task(dms)
    use(monkeypatch, dms)
    before = datetime.now(timezone.utc).replace(microsecond=0)

    guard.handler(request("Update"), Context())

    stamped = datetime.strptime(marker(dms), "Update %Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= stamped <= datetime.now(timezone.utc)
