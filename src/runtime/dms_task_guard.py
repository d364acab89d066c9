"""Stop the DMS replication task before CloudFormation modifies or deletes it.

CloudFormation custom resource (Lambda-backed). Runs inline as index.handler, so it only uses the standard
library and boto3, and it answers CloudFormation itself with a PUT to event["ResponseURL"].

A full-load-and-cdc task runs for ever once started, and DMS refuses to modify (ModifyReplicationTask) or delete
(DeleteReplicationTask) a running task. The construct places two of these resources around the task (see
src/private/dms-task-guard.ts for the ordering): one is updated before the task whenever the task, its endpoints
or its instance change, the other is deleted before the task. Either way this function stops the task and waits,
bounded, until DMS reports it stopped; the migration state machine resumes it on its next run.

ResourceProperties (strings, as CloudFormation passes them):
  ReplicationTaskIdentifier  the task to stop
  MaxWaitSeconds             how long to wait for the task to stop (default 600; capped by the function's
                             remaining time, less a reserve for the answer)
  Fingerprint, References    not read here: they change whenever the guarded resources change, which is what
                             makes CloudFormation send the Update

Create: nothing (the task does not run yet). Update: stops the task named by the new and the old properties.
Delete: stops the task. A task that is absent, never started, stopped or failed needs no stop. The answer is
FAILED, with the task's state in the Reason, when the task is not stopped within the wait.

Before it stops a task (or finds it stopped), the guard tags it with MARKER_TAG: a migration run that finds the
task stopped with this tag leaves it stopped and ends "interrupted for deployment" (DMS refuses to modify a task
that runs). A third resource, updated after the guarded resources, has Action=ClearDeploymentMarker: its Create
and Update remove the tag once CloudFormation has updated them. After a rollback the tag stays on purpose (the
deployment did not finish; see the README's recovery steps).
"""

import json
import time
from datetime import datetime, timezone
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HANDLER_NAME = "dms-task-guard"
DEFAULT_MAX_WAIT_SECONDS = 600.0
POLL_SECONDS = 15.0
# Kept free at the end of the wait, so the answer still reaches CloudFormation before the function times out.
RESPONSE_TIME_RESERVE_SECONDS = 30.0
# States in which DMS lets CloudFormation modify or delete the task.
SETTLED = {"stopped", "ready", "failed", "failed-move", "deleting"}
# States DMS leaves on its own; the guard waits for them to end.
TRANSIENT = {"starting", "stopping", "creating", "modifying", "testing", "moving"}
# src/private/dms-task-guard.ts (DEPLOYMENT_MARKER_TAG) spells the same key.
MARKER_TAG = "migration-pipeline:stopped-for-deployment"
CLEAR_MARKER = "ClearDeploymentMarker"
MAX_REASON_CHARS = 1000
RESPONSE_ATTEMPTS = 3
RESPONSE_TIMEOUT_SECONDS = 15

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

# Swapped by the tests, so that waiting costs no time.
sleep = time.sleep
monotonic = time.monotonic


class StillRunning(Exception):
    """The task did not reach a settled state within the wait."""


def handler(event, context):
    request_type = event.get("RequestType")
    properties = event.get("ResourceProperties") or {}
    physical_id = event.get("PhysicalResourceId") or f"dms-task-guard:{properties.get('ReplicationTaskIdentifier', '')}"
    _log("info", "request received", request_type=request_type, logical_resource_id=event.get("LogicalResourceId"))
    if request_type not in ("Create", "Update", "Delete"):
        return send_response(event, "FAILED", physical_id, reason=f"Unsupported RequestType {request_type!r}")
    if properties.get("Action") == CLEAR_MARKER:
        return clear_marker(event, request_type, properties, physical_id, context)
    if request_type == "Create":
        return send_response(event, "SUCCESS", physical_id)

    identifiers = [properties.get("ReplicationTaskIdentifier")]
    if request_type == "Update":
        identifiers.append((event.get("OldResourceProperties") or {}).get("ReplicationTaskIdentifier"))
    try:
        deadline = monotonic() + wait_budget(properties, context)
        marker = f"{request_type} {datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        states = {identifier: stop_and_wait(_client("dms"), identifier, deadline, marker)
                  for identifier in dict.fromkeys(i for i in identifiers if i)}
    except Exception as err:  # every failure is answered; CloudFormation would otherwise wait an hour
        reason = f"The DMS replication task was not stopped before the {request_type.lower()}: {err}"
        _log("error", reason)
        return send_response(event, "FAILED", physical_id, reason=_with_log_stream(reason, context))
    _log("info", "replication task ready for CloudFormation", states=states)
    return send_response(event, "SUCCESS", physical_id, data={"States": json.dumps(states)})


def wait_budget(properties, context):
    value = properties.get("MaxWaitSeconds", DEFAULT_MAX_WAIT_SECONDS)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"MaxWaitSeconds must be a number of seconds, got {value!r}") from None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        seconds = min(seconds, remaining() / 1000.0 - RESPONSE_TIME_RESERVE_SECONDS)
    return max(0.0, seconds)


def clear_marker(event, request_type, properties, physical_id, context):
    """Removes the deployment marker once CloudFormation has updated the guarded resources; Delete does nothing."""
    identifier = properties.get("ReplicationTaskIdentifier")
    if request_type == "Delete" or not identifier:
        return send_response(event, "SUCCESS", physical_id)
    try:
        dms = _client("dms")
        task = describe(dms, identifier)
        if task:
            dms.remove_tags_from_resource(ResourceArn=task["ReplicationTaskArn"], TagKeys=[MARKER_TAG])
            _log("info", "deployment marker removed; the next migration run resumes the task", task=identifier)
    except Exception as err:  # every failure is answered; CloudFormation would otherwise wait an hour
        reason = f"The deployment marker could not be removed from the DMS replication task: {err}"
        _log("error", reason)
        return send_response(event, "FAILED", physical_id, reason=_with_log_stream(reason, context))
    return send_response(event, "SUCCESS", physical_id)


def stop_and_wait(dms, identifier, deadline, marker):
    """Marks the task, stops it if it runs and waits until it is settled; returns its final state ("absent")."""
    marked = False
    while True:
        task = describe(dms, identifier)
        status = task["Status"] if task else "absent"
        if task and not marked and status != "deleting":
            # Marked before the stop: a run that sees the task stopped also sees why.
            dms.add_tags_to_resource(ResourceArn=task["ReplicationTaskArn"], Tags=[{"Key": MARKER_TAG, "Value": marker}])
            marked = True
        if status == "absent" or status in SETTLED:
            return status
        if status == "running":
            request_stop(dms, task)
        elif status not in TRANSIENT:
            _log("warning", "unknown task state; waiting for it to settle", task=identifier, status=status)
        if monotonic() >= deadline:
            raise StillRunning(
                f"task {identifier} is still {status!r} at the end of the wait; stop it with "
                f"`aws dms stop-replication-task --replication-task-arn {task['ReplicationTaskArn']}` and retry")
        sleep(POLL_SECONDS)


def describe(dms, identifier):
    try:
        tasks = dms.describe_replication_tasks(
            Filters=[{"Name": "replication-task-id", "Values": [identifier]}], WithoutSettings=True,
        ).get("ReplicationTasks", [])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFoundFault":
            return None
        raise
    return tasks[0] if tasks else None


def request_stop(dms, task):
    try:
        dms.stop_replication_task(ReplicationTaskArn=task["ReplicationTaskArn"])
        _log("info", "stop requested", task=task["ReplicationTaskIdentifier"])
    except ClientError as err:
        # The task moved on between describe and stop (e.g. it stopped itself): read its state again.
        if err.response.get("Error", {}).get("Code") != "InvalidResourceStateFault":
            raise
        _log("info", "task changed state before the stop; reading it again", task=task["ReplicationTaskIdentifier"])


def send_response(event, status, physical_id, data=None, reason=None):
    """PUT the response document to the pre-signed ResponseURL; returns the document sent."""
    body = {
        "Status": status,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": data or {},
    }
    if reason:
        body["Reason"] = reason[:MAX_REASON_CHARS]
    payload = json.dumps(body).encode("utf-8")
    url = event.get("ResponseURL") or ""
    if not url.lower().startswith(("https://", "http://")):
        _log("error", "no usable ResponseURL; CloudFormation cannot be answered", status=status)
        return body
    for attempt in range(1, RESPONSE_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=payload, method="PUT",
                                         headers={"Content-Type": "", "Content-Length": str(len(payload))})
        try:
            with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
                _log("info", "response sent", status=status, http_status=response.status)
                return body
        except (urllib.error.URLError, OSError) as err:
            _log("warning", "sending the response failed", attempt=attempt, error=repr(err))
            if attempt < RESPONSE_ATTEMPTS:
                sleep(attempt)
    _log("error", "could not send the response to CloudFormation", status=status)
    return body


def _with_log_stream(reason, context):
    stream = getattr(context, "log_stream_name", None)
    return f"{reason} (CloudWatch log stream {stream})" if stream else reason


def _client(service):
    return boto3.client(service, config=CLIENT_CONFIG)


def _log(level, message, **fields):
    print(json.dumps({"level": level, "handler": HANDLER_NAME, "message": message, **fields}, default=str))
