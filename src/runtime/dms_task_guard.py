"""Stop the DMS replication task before CloudFormation modifies or deletes it.

CloudFormation custom resource (Lambda-backed). Runs inline as index.handler, so it only uses the standard
library and boto3, and it answers CloudFormation itself with a PUT to event["ResponseURL"].

A full-load-and-cdc task runs for ever once started, and DMS refuses to modify (ModifyReplicationTask) or delete
(DeleteReplicationTask) a running task. The construct places two of these resources around the task (see
src/private/dms-task-guard.ts for the ordering): one is updated before the task whenever the task, its endpoints
or its instance change, the other is deleted before the task. Either way this function stops the task and waits,
bounded, until DMS reports it stopped; once the update is over it resumes the task if the task ran before.

ResourceProperties (strings, as CloudFormation passes them):
  ReplicationTaskIdentifier  the task to stop
  MaxWaitSeconds             how long to wait for the task to stop (default 600; capped by the function's
                             remaining time, less a reserve for the answer)
  Fingerprint, References    not read here: they change whenever the guarded resources change, which is what
                             makes CloudFormation send the Update

Create: nothing (the task does not run yet). Update: stops the task named by the new and the old properties.
Delete: stops the task. A task that is absent, never started, stopped or failed needs no stop. The answer is
FAILED, with the task's state in the Reason, when the task is not stopped within the wait.

Before it stops a task (or finds it stopped), the guard takes the task's lease (LEASE_TABLE_NAME; its attributes
are documented in src/private/task-lease.ts) and tags the task with MARKER_TAG for the console: a migration run that
finds the lease held by a deployment leaves the task alone and ends "interrupted for deployment" (DMS refuses to
modify a task that runs). A third resource, updated after the guarded resources, has Action=ClearDeploymentMarker:
its Create and Update remove the tag, resume the task if it ran before the stop, and hand the lease back to the run
it was taken from (or release it). A hold that no ClearDeploymentMarker ends (a failed update) expires after
DEPLOYMENT_HOLD_SECONDS.
"""

import json
import os
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

# The task's lease (src/private/task-lease.ts documents its attributes): the guard holds it from before the stop
# until the update is over, so that no migration run or remediation starts the task meanwhile.
LEASE_TABLE_ENV = "LEASE_TABLE_NAME"
# A deployment's hold ends by itself after this long, so a failed or rolled-back update, whose AfterUpdate never
# runs, cannot keep the task stopped for ever: the next run takes the lease over and resumes the task.
DEPLOYMENT_HOLD_SECONDS = 2 * 3600
# A run marks the lease "starting" around its StartReplicationTask call; the guard waits for that window to close,
# or treats it as abandoned after this long.
START_WINDOW_SECONDS = 300
# States from which DMS lets a task be started (StartReplicationTask, DMS API Reference).
STARTABLE = {"ready", "stopped", "failed"}

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
        holder = f"deployment:{event.get('RequestId', marker)}"
        states = {identifier: hold_and_stop(_client("dms"), identifier, deadline, marker, holder)
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
            _log("info", "deployment marker removed", task=identifier)
            lease = TaskLease.of(task, holder=None)
            if lease:
                lease.end_deployment(dms, describe(dms, identifier))
    except Exception as err:  # every failure is answered; CloudFormation would otherwise wait an hour
        reason = f"The deployment marker could not be removed from the DMS replication task: {err}"
        _log("error", reason)
        return send_response(event, "FAILED", physical_id, reason=_with_log_stream(reason, context))
    return send_response(event, "SUCCESS", physical_id)


def hold_and_stop(dms, identifier, deadline, marker, holder):
    """Takes the task's lease for the deployment, then stops the task; the lease records whether it ran."""
    task = describe(dms, identifier) if os.environ.get(LEASE_TABLE_ENV) else None
    lease = TaskLease.of(task, holder)
    held = lease.take_for_deployment(deadline) if lease else False
    status = stop_and_wait(dms, identifier, deadline, marker)
    if held and task and task["Status"] in ("running", "starting"):
        lease.note_resume_after()
    return status


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


class TaskLease:
    """The task's lease item, written only with conditional writes (DynamoDB applies each one atomically)."""

    def __init__(self, table, task_arn, holder):
        self.table = table
        self.key = {"task": {"S": task_arn}}
        self.holder = holder

    @classmethod
    def of(cls, task, holder):
        table = os.environ.get(LEASE_TABLE_ENV)
        if not table or not task:
            return None
        return cls(table, task["ReplicationTaskArn"], holder)

    def read(self):
        return _client("dynamodb").get_item(TableName=self.table, Key=self.key, ConsistentRead=True).get("Item")

    def take_for_deployment(self, deadline):
        """Takes the lease from whoever holds it (a run keeps its files and gets it back after the update), but not
        from a run that is starting the task right now: that start ends within seconds. A completed cutover keeps
        the lease (False): the task stays stopped for good, so the update needs no hold and nothing to resume."""
        while True:
            item = self.read()
            if cut_over(item):
                _log("info", "the migration was cut over; the task stays stopped and the lease with the cutover")
                return False
            if not starting_now(item):
                try:
                    self._write_deployment_hold(item)
                    _log("info", "task lease taken for the deployment", previous=_s(item, "holder"))
                    return True
                except ClientError as err:
                    if err.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                        raise
                    continue  # someone wrote the lease meanwhile: read it again
            if monotonic() >= deadline:
                raise StillRunning(f"a migration run kept starting the task ({_s(item, 'holder')}) until the end of the wait")
            sleep(POLL_SECONDS)

    def _write_deployment_hold(self, item):
        now = datetime.now(timezone.utc)
        values = {":me": {"S": self.holder}, ":deployment": {"S": "deployment"}, ":now": {"S": iso(now)},
                  ":expires": {"S": iso(now.timestamp() + DEPLOYMENT_HOLD_SECONDS)}}
        update = "SET #holder = :me, #kind = :deployment, #grant = :now, #expiresAt = :expires"
        previous = _s(item, "holder") if _s(item, "kind") == "run" else _s(item, "previousHolder")
        if previous:
            update += ", #previousHolder = :previous"
            values[":previous"] = {"S": previous}
        if item is None:
            condition = "attribute_not_exists(#task)"
        else:
            condition = "#grant = :observed"
            values[":observed"] = {"S": _s(item, "grant") or ""}
        _client("dynamodb").update_item(
            TableName=self.table, Key=self.key, UpdateExpression=update + " REMOVE #phase, #phaseSince",
            ConditionExpression=condition, ExpressionAttributeValues=values,
            ExpressionAttributeNames={f"#{name}": name for name in (
                "task", "holder", "kind", "grant", "expiresAt", "previousHolder", "phase", "phaseSince")
                if f"#{name}" in update + condition + " REMOVE #phase, #phaseSince"})

    def note_resume_after(self):
        _client("dynamodb").update_item(
            TableName=self.table, Key=self.key, UpdateExpression="SET #resumeAfter = :yes",
            ConditionExpression="#holder = :me", ExpressionAttributeNames={"#resumeAfter": "resumeAfter", "#holder": "holder"},
            ExpressionAttributeValues={":yes": {"BOOL": True}, ":me": {"S": self.holder}})

    def end_deployment(self, dms, task):
        """After the update: resumes the task if it ran before, then hands the lease back to the run it was taken
        from (which goes on watching the task) or deletes it."""
        for _ in range(5):
            item = self.read()
            if _s(item, "kind") != "deployment":
                return
            if item.get("resumeAfter", {}).get("BOOL") and task and task["Status"] in STARTABLE:
                dms.start_replication_task(ReplicationTaskArn=task["ReplicationTaskArn"],
                                           StartReplicationTaskType="resume-processing")
                _log("info", "task resumed after the deployment", task=task["ReplicationTaskIdentifier"])
                task = None  # resumed once, whatever happens to the lease write below
            try:
                self._hand_back(item)
                return
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise

    def _hand_back(self, item):
        observed = {":observed": {"S": _s(item, "grant") or ""}}
        previous = _s(item, "previousHolder")
        if not previous:
            _client("dynamodb").delete_item(TableName=self.table, Key=self.key, ConditionExpression="#grant = :observed",
                                            ExpressionAttributeNames={"#grant": "grant"}, ExpressionAttributeValues=observed)
            _log("info", "task lease released after the deployment")
            return
        _client("dynamodb").update_item(
            TableName=self.table, Key=self.key,
            UpdateExpression="SET #holder = :previous, #kind = :run, #grant = :now REMOVE #expiresAt, #previousHolder, #resumeAfter",
            ConditionExpression="#grant = :observed",
            ExpressionAttributeNames={f"#{n}": n for n in ("holder", "kind", "grant", "expiresAt", "previousHolder", "resumeAfter")},
            ExpressionAttributeValues={**observed, ":previous": {"S": previous}, ":run": {"S": "run"},
                                       ":now": {"S": iso(datetime.now(timezone.utc))}})
        _log("info", "task lease handed back to the migration run", run=previous)


def cut_over(item):
    """A cutover completed (src/private/cutover-lease.ts): the target is the applications' database now."""
    return _s(item, "kind") == "cutover" and _s(item, "phase") == "complete"


def starting_now(item):
    """A run is between its "starting" mark and the end of its StartReplicationTask call (and not for too long)."""
    if _s(item, "kind") != "run" or _s(item, "phase") != "starting":
        return False
    since = _s(item, "phaseSince")
    try:
        started = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return False
    return datetime.now(timezone.utc).timestamp() - started < START_WINDOW_SECONDS


def iso(moment):
    """ISO 8601 in UTC with milliseconds, as Step Functions writes `$$.State.EnteredTime`."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _s(item, name):
    return ((item or {}).get(name) or {}).get("S")


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
