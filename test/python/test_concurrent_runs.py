"""A burst of validated files: many executions of the migration state machine at once, one replication task.

DataSync delivers files in batches and SNS fans the validation results out together, so many executions start
within moments. The harness (test_state_machine.Harness) enforces DMS's task state rules (dms_state_rules.py: a
second start of a running task is refused with InvalidResourceStateFault, as DMS refuses it) and applies DynamoDB's
conditional writes atomically. The worst interleaving is forced with a barrier, not with timing: every execution
reaches the task's lease before any of them may write it, and the run that gets the lease starts the task only once
every other run has joined it (or, with the lease broken, once every run has described the task).
"""

import json
import threading
import time

import pytest
from moto.core.exceptions import JsonRESTError
from moto.dynamodb import models as dynamodb_models

from test_state_machine import (  # noqa: F401 - pytest fixtures are found through the import
    DATA_BUCKET, LEASE_TABLE, RUN_INPUT, Harness, dms_task_properties, harness, orchestration_template,
)

BARRIER_SECONDS = 600


def start_burst(harness, files):
    """Starts one execution per file, as the Step Functions trigger does (named after the file)."""
    arns = []
    for number in range(files):
        run_input = {**RUN_INPUT, "key": f"incoming/sales/batch-{number:04d}.csv"}
        arns.append(harness.sfn.start_execution(stateMachineArn=harness.state_machine_arn, name=f"burst-{number:04d}",
                                                input=json.dumps(run_input))["executionArn"])
    return arns


def covered_files(harness, outcome):
    """The files an outcome covers: the sample it names, then one record per file past it (src/private/task-lease.ts)."""
    keys = [item["Key"] for page in harness.s3.get_paginator("list_objects_v2").paginate(
        Bucket=DATA_BUCKET, Prefix=outcome["filesPastSample"]["prefix"]) for item in page.get("Contents", [])]
    recorded = [json.loads(harness.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read())["file"] for key in keys]
    assert len(outcome["files"]) + len(recorded) == outcome["fileCount"]
    return outcome["files"] + recorded


def wait_for(harness, arns, deadline_seconds):
    deadline = time.monotonic() + deadline_seconds
    while True:
        executions = [harness.sfn.describe_execution(executionArn=arn) for arn in arns]
        if all(e["status"] != "RUNNING" for e in executions):
            return executions
        assert time.monotonic() < deadline, "executions still RUNNING"
        time.sleep(0.2)


def is_lease_acquisition(table_name, update):
    """A run's first write of the lease (AcquireLease): of a run's writes, the only one conditioned on no lease."""
    return table_name == LEASE_TABLE and "attribute_not_exists" in (update.get("condition_expression") or "")


def hold_every_run_at_the_lease(harness, monkeypatch, files):
    """No execution writes the lease before all of them are about to (the first write of each: AcquireLease)."""
    barrier = threading.Barrier(files, timeout=BARRIER_SECONDS)
    arrived = set()
    original = dynamodb_models.DynamoDBBackend.update_item

    def update_item(self, table_name, key, *args, **kwargs):
        holder = (kwargs.get("expression_attribute_values") or {}).get(":me", {}).get("S")
        if is_lease_acquisition(table_name, kwargs) and holder not in arrived:
            arrived.add(holder)
            barrier.wait()
        return original(self, table_name, key, *args, **kwargs)
    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "update_item", update_item)
    # The wait happens inside the lease's first write, so that call must not time out meanwhile: on the template's
    # one-minute TimeoutSeconds, moto would end it with States.Timeout while the held write still applies later, an
    # effect of the harness's wait (test_a_lease_write_whose_answer_was_lost_counts_its_file_once covers the case).
    harness.definition["States"]["AcquireLease"]["TimeoutSeconds"] = BARRIER_SECONDS + 60


def start_once_every_run_has_joined(harness, files):
    """The run that holds the lease starts the task only once the other runs have all joined it (or ended)."""
    def wait_for_the_others(task_arn, start_type):
        deadline = time.monotonic() + BARRIER_SECONDS
        while int(harness.lease()["fileCount"]["N"]) < files and time.monotonic() < deadline:
            time.sleep(0.05)
    harness.before_start = wait_for_the_others
    # The wait happens inside the start call, so the call must not time out meanwhile: on the template's one-minute
    # TimeoutSeconds, moto would end it with States.Timeout and the retry would start the task a second time, an
    # effect of the harness's wait, not of the burst.
    for name in ("StartReplication", "ResumeReplication"):
        assert harness.definition["States"][name]["TimeoutSeconds"] == 60
        harness.definition["States"][name]["TimeoutSeconds"] = BARRIER_SECONDS + 60


@pytest.mark.parametrize("files", [8, 200])
def test_a_burst_of_validated_files_starts_the_task_once_and_every_file_is_in_exactly_one_outcome(
        harness, monkeypatch, files):
    harness.task.status = "stopped"
    hold_every_run_at_the_lease(harness, monkeypatch, files)
    start_once_every_run_has_joined(harness, files)

    executions = wait_for(harness, start_burst(harness, files), deadline_seconds=60 + files * 3)

    # Exactly one start (a resume: the task had run before), none refused.
    assert harness.start_calls == [(harness.task_arn, "resume-processing")]
    assert harness.task.status == "running"
    assert [e["status"] for e in executions] == ["SUCCEEDED"] * files
    outputs = [json.loads(e["output"]) for e in executions]
    holders = [o for o in outputs if o.get("status") != "JOINED"]
    joined = [o for o in outputs if o.get("status") == "JOINED"]
    # One run holds the task and announces; every other run joined it and announces nothing.
    assert len(holders) == 1 and holders[0]["status"] == "SUCCEEDED"
    assert {o["run"] for o in joined} == {holders[0]["execution"]}
    notifications = harness.read_notifications()
    assert len(notifications) == len(holders)
    assert [json.loads(n["Message"])["migrationOutcome"] for n in notifications] == ["SUCCEEDED"]
    # Every validated file is listed in exactly one outcome.
    listed = [key for o in holders for key in covered_files(harness, o)]
    assert sorted(listed) == sorted(f"incoming/sales/batch-{n:04d}.csv" for n in range(files))
    assert len(set(listed)) == len(listed)
    assert harness.lease() is None  # released


def test_a_lease_write_whose_answer_was_lost_counts_its_file_once(harness, monkeypatch):
    """DynamoDB may apply a write and still answer with a server error (Error handling with DynamoDB, DynamoDB
    Developer Guide: with a 5xx error "the request may or may not have succeeded"); the retry's condition then fails
    on the run's own lease. The run keeps that lease as it is: its file is listed and counted once."""
    harness.task.status = "running"
    original = dynamodb_models.DynamoDBBackend.update_item
    lost = []

    def update_item(self, table_name, key, *args, **kwargs):
        result = original(self, table_name, key, *args, **kwargs)
        if is_lease_acquisition(table_name, kwargs) and not lost:
            lost.append(key)
            raise JsonRESTError("InternalServerError", "Internal server error")
        return result
    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "update_item", update_item)

    run = harness.run(name="answer-lost")

    assert lost and run.status == "SUCCEEDED"
    # The write applied, its answer failed; the retry of the same write found the lease taken (by this run).
    assert [e["error"] for e in run.failed_tasks()] == ["DynamoDb.InternalServerErrorException",
                                                        "DynamoDb.ConditionalCheckFailedException"]
    assert run.count("AcquireLease") == 1 and run.count("KeepOwnLease") == 1
    outcome = json.loads(run.execution["output"])
    assert (outcome["files"], outcome["fileCount"]) == ([RUN_INPUT["key"]], 1)
    assert harness.lease() is None  # released


def test_runs_after_the_holder_ended_are_runs_of_their_own(harness):
    """Files validated after a run ended start a new run, which lists only them."""
    harness.task.status = "running"
    first = harness.run(name="first")
    second = harness.run(name="second")

    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert json.loads(first.execution["output"])["files"] == [RUN_INPUT["key"]]
    assert json.loads(second.execution["output"])["files"] == [RUN_INPUT["key"]]
    assert harness.start_calls == []


LONG_KEY_BYTES = 1024  # S3's longest object key


def long_key(number):
    head = f"incoming/sales/{number:05d}-"
    return head + "k" * (LONG_KEY_BYTES - len(head) - len(".csv")) + ".csv"


def item_size(item):
    """An item's size as DynamoDB counts it (Item sizes and formats, DynamoDB Developer Guide): each attribute's
    name plus its value; a string by its UTF-8 bytes, a number by about one byte per two digits, a list or map
    3 bytes plus its elements, each element 1 byte plus its value."""
    def value_size(value):
        (kind, inner), = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return len(inner) // 2 + 1
        if kind == "BOOL":
            return 1
        if kind == "L":
            return 3 + sum(1 + value_size(element) for element in inner)
        raise AssertionError(f"unexpected attribute type {kind}")
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def largest_state(history):
    sizes = [len((e.get("stateEnteredEventDetails") or e.get("stateExitedEventDetails") or {}).get(field, "").encode())
             for e in history for field in ("input", "output")]
    return max(sizes)


def history_of(harness, arn):
    events, paging = [], {}
    while True:
        page = harness.sfn.get_execution_history(executionArn=arn, maxResults=1000, **paging)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        paging = {"nextToken": page["nextToken"]}


JOINED_LONG_KEYS = 100


def test_a_long_run_that_files_keep_joining_loses_none_and_stays_within_every_quota(harness):
    """Files with 1,024-byte keys keep joining a run that holds the task: the lease, the run's state and its
    notification name a bounded sample; every file is in the run's report (the sample or one record per file past
    it), exactly once; the item, state and message stay far below 400 KB and 256 KiB."""
    harness.task.status = "stopped"
    sizes = {"item": 0}
    harness.stats = {"FullLoadProgressPercent": 50}

    def load_completes_once_every_file_has_joined(call, task):
        # Each describe waits (at most 20 s, well within the task's timeout) for the joins; the load completes after.
        deadline = time.monotonic() + 20
        while int(harness.lease()["fileCount"]["N"]) < JOINED_LONG_KEYS + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        if int(harness.lease()["fileCount"]["N"]) == JOINED_LONG_KEYS + 1:
            sizes["item"] = max(sizes["item"], item_size(harness.lease()))
            harness.stats = {"FullLoadProgressPercent": 100}
    harness.before_describe = load_completes_once_every_file_has_joined

    holder = harness.sfn.start_execution(stateMachineArn=harness.state_machine_arn, name="long-holder",
                                         input=json.dumps({**RUN_INPUT, "key": long_key(0)}))["executionArn"]
    while harness.lease() is None:
        time.sleep(0.05)
    joiners = []
    for number in range(1, JOINED_LONG_KEYS + 1):
        joiners.append(harness.sfn.start_execution(
            stateMachineArn=harness.state_machine_arn, name=f"long-{number:05d}",
            input=json.dumps({**RUN_INPUT, "key": long_key(number)}))["executionArn"])
    # A bound for a harness that hangs, not a speed requirement: on a loaded machine the joins take minutes.
    executions = wait_for(harness, [holder] + joiners, deadline_seconds=60 + JOINED_LONG_KEYS * 10)

    assert [e["status"] for e in executions] == ["SUCCEEDED"] * (JOINED_LONG_KEYS + 1)
    outcome = json.loads(executions[0]["output"])
    assert outcome["status"] == "SUCCEEDED" and len(harness.start_calls) == 1
    assert all(json.loads(e["output"])["status"] == "JOINED" for e in executions[1:])
    # The outcome names a bounded sample and counts every file; the records under the report name the rest.
    assert len(outcome["files"]) == 25 and outcome["fileCount"] == JOINED_LONG_KEYS + 1
    listed = covered_files(harness, outcome)
    assert sorted(listed) == sorted(long_key(n) for n in range(JOINED_LONG_KEYS + 1))
    assert len(set(listed)) == len(listed)
    assert harness.report("long-holder")["fileCount"] == JOINED_LONG_KEYS + 1

    (notification,) = harness.read_notifications()
    measured = {"item": sizes["item"],
                "state": max(largest_state(history_of(harness, arn)) for arn in [holder] + joiners),
                "message": len(notification["Message"].encode())}
    print("LARGEST", measured)
    assert measured["item"] < 40_000 and measured["state"] < 64 * 1024 and measured["message"] < 64 * 1024
