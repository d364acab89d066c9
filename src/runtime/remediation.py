"""Bounded, idempotent self-healing for the migration pipeline; everything else becomes an alert.

Invoked asynchronously by EventBridge rules (Glue job, DMS task and Step Functions failures,
S3 object deletions) and by an SNS subscription on the validation topic (outcome=FAILED).
Runs inline as index.handler, so it only uses the standard library and boto3.

What it does:
  Glue job FAILED/TIMEOUT/ERROR/EXPIRED/STOPPED
                                   alert only; validation runs are never restarted automatically
  DMS task failed/stopped on error resume once ("resume-processing"), counted in a tag on the task
  Step Functions FAILED/TIMED_OUT  redrive once when the failure looks transient, else alert
  Step Functions MigrationValidationFailed
                                   alert with the tables that failed DMS data validation; never resume the
                                   DMS task nor redrive (a mismatch needs a person, not a retry)
  Step Functions ABORTED           alert only (someone or something stopped it on purpose)
  S3 Object Deleted                alert (data-loss guard), unless it is our own quarantine move
  Validation FAILED (SNS)          move the object to the quarantine prefix, keep the report, alert

Environment:
  ALERT_TOPIC_ARN    SNS topic for alerts (required)
  DATA_BUCKET        the pipeline's data bucket (required)
  QUARANTINE_PREFIX  default "quarantine/"
  INCOMING_PREFIX    default "incoming/"
  MAX_DMS_RESUMES    automatic resumes allowed per DMS task (default 1)
  MAX_REDRIVES       automatic redrives allowed per execution (default 1)
  AUDIT_EVENT_BUS    event bus for audit events (default "default")
  PIPELINE_NAME      pipeline name used in alerts and audit events (default "migration-pipeline")
"""

import datetime
import hashlib
import json
import os
import urllib.parse
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

HANDLER_NAME = "remediation"
AUDIT_SOURCE = "migration.pipeline"
AUDIT_DETAIL_TYPE = "Remediation Action"

MAX_EVENT_BYTES = 256 * 1024  # the EventBridge and SNS limit; larger input is not theirs
MAX_TEXT_CHARS = 2000  # keeps alert messages readable (Step Functions causes can be 32 KB)
MAX_SUBJECT_CHARS = 99  # SNS subjects must be ASCII and shorter than 100 characters

# The resume counter lives on the task itself, so it survives retries and redeliveries.
RESUME_COUNT_TAG = "migration-pipeline:auto-resumes"
# The replication task's lease (src/private/task-lease.ts documents its attributes): remediation resumes a task only
# when it can take the lease, or marks the start window of the run that holds it; never while a deployment or a
# cutover holds it (a completed cutover holds it for good).
LEASE_TABLE_ENV = "LEASE_TABLE_NAME"
REMEDIATION_HOLD_SECONDS = 300
# Recorded on quarantined copies so the deletion guard can recognise our own move.
QUARANTINE_VERSION_METADATA = "quarantined-from-version"
UNVERSIONED = "null"  # what S3 itself calls the version of an object in an unversioned bucket

# DescribeReplicationTasks reports StopReason as "Stop Reason <NAME>" (older tasks used
# "STOP_REASON_<NAME>"); we compare the bare <NAME>.
DMS_ERROR_STOP_REASONS = {"RECOVERABLE_ERROR", "FATAL_ERROR", "STOPPED_DUE_TO_LOW_MEMORY", "STOPPED_DUE_TO_LOW_DISK"}
DMS_NORMAL_STOP_REASONS = {
    "NORMAL",  # includes a stop requested by a user
    "FULL_LOAD_ONLY_FINISHED",
    "FULL_LOAD_COMPLETED",
    "STOPPED_AFTER_FULL_LOAD",
    "STOPPED_AFTER_CACHED_EVENTS",
    "CACHED_CHANGES_APPLIED",
    "CACHED_CHANGES_NOT_APPLIED",
    "STOPPED_AFTER_DDL_APPLY",
    "STOPPED_AT_SERVER_TIME",
    "SERVER_TIME",
    "STOPPED_AT_COMMIT_TIME",
    "RECONFIGURATION_RESTART",  # DMS restarts the task itself
    "RECYCLE_TASK",
}
DMS_ACTIVE_STATUSES = {"starting", "running", "resuming"}

# Step Functions failures worth one redrive: the service or a dependency was briefly unavailable
# or throttled us. Matched on the last dotted part, so "Lambda.ServiceException" and SDK
# integration errors such as "Glue.ThrottlingException" both count. States.Timeout (a task
# exceeding its own TimeoutSeconds) is deliberately absent: it usually means stuck work.
TRANSIENT_ERROR_NAMES = {
    "ServiceException",  # Lambda.ServiceException
    "AWSLambdaException",
    "SdkClientException",
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ServiceUnavailableException",
}
# States.TaskFailed is transient only when its cause says we were throttled.
THROTTLING_MARKERS = ("throttl", "rate exceeded", "too many requests", "toomanyrequests", "slow down")
SFN_ACTIVE_STATUSES = {"RUNNING", "PENDING_REDRIVE", "SUCCEEDED"}
# The error the migration state machine fails with when DMS data validation found tables that differ; its cause is
# the run's outcome as JSON (reason, table totals, up to ten problem tables, where the report is).
VALIDATION_FAILED_ERROR = "MigrationValidationFailed"
# Every terminal JobRunState but SUCCEEDED (Glue API); the failure rule of src/monitoring.ts matches the same list.
GLUE_FAILURE_STATES = ("FAILED", "TIMEOUT", "ERROR", "EXPIRED", "STOPPED")
MAX_ALERTED_TABLES = 10

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
_clients = {}


class InvalidEventError(ValueError):
    """The event can never succeed; raising sends it to the dead-letter queue after Lambda's retries."""


@dataclass(frozen=True)
class Settings:
    alert_topic_arn: str
    data_bucket: str
    quarantine_prefix: str
    incoming_prefix: str
    max_dms_resumes: int
    max_redrives: int
    audit_event_bus: str
    pipeline_name: str
    region: str


@dataclass(frozen=True)
class Where:
    """Which resource an alert or audit event is about."""
    service: str
    resource: str
    region: str
    account: str


def handler(event, context):
    settings = load_settings()
    reject_oversized(event)
    if not isinstance(event, dict):
        reject(f"expected a JSON object, got {type(event).__name__}")
    if "Records" in event:
        return [handle_validation_record(record, settings) for record in sns_records(event)]

    route = EVENT_ROUTES.get((event.get("source"), event.get("detail-type")))
    if route is None:
        reject("no remediation for this event", source=event.get("source"), detailType=event.get("detail-type"))
    if not isinstance(event.get("detail"), dict):
        reject("event has no detail object", eventId=event.get("id"))
    return route(event, event["detail"], settings)


def load_settings():
    return Settings(
        alert_topic_arn=required_env("ALERT_TOPIC_ARN"),
        data_bucket=required_env("DATA_BUCKET"),
        quarantine_prefix=os.environ.get("QUARANTINE_PREFIX") or "quarantine/",
        incoming_prefix=os.environ.get("INCOMING_PREFIX") or "incoming/",
        max_dms_resumes=non_negative_int_env("MAX_DMS_RESUMES", 1),
        max_redrives=non_negative_int_env("MAX_REDRIVES", 1),
        audit_event_bus=os.environ.get("AUDIT_EVENT_BUS") or "default",
        pipeline_name=os.environ.get("PIPELINE_NAME") or "migration-pipeline",
        region=current_region(),
    )


def required_env(name):
    value = os.environ.get(name)
    if not value:
        # A deployment mistake, not a bad event: fail loudly on every invocation.
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def non_negative_int_env(name, default):
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit():
        raise RuntimeError(f"environment variable {name} must be a non-negative integer, got {raw!r}")
    return int(raw)


# --- Glue -------------------------------------------------------------------------------------

def handle_glue_job_state_change(event, detail, settings):
    state = detail.get("state")
    if state not in GLUE_FAILURE_STATES:
        return ignore("GLUE_JOB_STATE_CHANGE", f"Glue job state {state} needs no remediation", detail.get("jobName"))
    job_name, run_id = detail.get("jobName"), detail.get("jobRunId")
    if not job_name or not run_id:
        reject("Glue event has no jobName or jobRunId", eventId=event.get("id"))

    where = where_from_event(event, "glue", job_name, settings)
    source = source_object_of_run(job_name, run_id)
    publish_alert(
        settings,
        subject=f"Glue validation {state}: {job_name}",
        severity="ERROR",
        what=f"Glue validation job run {state.lower()}",
        where=where,
        ids={"jobRunId": run_id},
        console_url=glue_run_url(where.region, job_name, run_id),
        action_taken="None. Validation runs are never restarted automatically.",
        next_step="Read the run's error and logs, fix the cause, then re-upload the object to incoming/ "
                  "to validate it again.",
        details={"error": detail.get("message"), "sourceObject": source},
    )
    return record_action(settings, "GLUE_JOB_STATE_CHANGE", "ALERT_ONLY", "SUCCEEDED", where,
                         reason=f"Glue job run {state}", alerted=True, ids={"jobRunId": run_id})


def source_object_of_run(job_name, run_id):
    """Best effort: name the object the failed run was validating, so the alert is actionable."""
    try:
        run = aws_client("glue").get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    except (ClientError, BotoCoreError) as error:
        log("WARN", "could not read the failed job run", jobName=job_name, jobRunId=run_id, error=str(error))
        return None
    arguments = run.get("Arguments") or {}
    if "--source_key" not in arguments:
        return None
    return {"bucket": arguments.get("--source_bucket"), "key": arguments.get("--source_key"),
            "version": arguments.get("--source_version")}


# --- DMS --------------------------------------------------------------------------------------

def handle_dms_task_state_change(event, detail, settings):
    event_type = detail.get("eventType")
    if event_type not in ("REPLICATION_TASK_FAILED", "REPLICATION_TASK_STOPPED"):
        return ignore("DMS_TASK_STATE_CHANGE", f"DMS event {event_type} needs no remediation", first_resource(event))
    task_arn = first_resource(event)
    if not task_arn or ":dms:" not in task_arn:
        reject("DMS event has no replication task ARN in resources", eventId=event.get("id"))

    where = where_from_event(event, "dms", task_arn, settings)
    task = describe_replication_task(task_arn)
    if task is None:
        return alert_dms(settings, where, None, detail, "task not found",
                         "The replication task no longer exists; nothing was resumed.", outcome="FAILED")

    verdict = dms_stop_verdict(task, detail)
    if verdict == "active":
        return record_action(settings, "DMS_TASK_STATE_CHANGE", "NO_ACTION", "ALREADY_DONE", where,
                             reason=f"task is already {task.get('Status')}", alerted=False,
                             ids=dms_ids(task_arn, event_type))
    if verdict == "normal":
        stop_reason = task.get("StopReason") or detail.get("detailMessage")
        log("INFO", "DMS task stopped normally; nothing to do", taskArn=task_arn, stopReason=stop_reason)
        return record_action(settings, "DMS_TASK_STATE_CHANGE", "NO_ACTION", "SUCCEEDED", where,
                             reason=f"normal stop: {stop_reason}", alerted=False,
                             ids=dms_ids(task_arn, event_type))
    if verdict == "unknown":
        return alert_dms(settings, where, task, detail, "stopped for an unrecognised reason",
                         "None. The stop reason is not a known error, so the task was left stopped.")

    resumes_so_far = read_resume_count(task_arn, settings.max_dms_resumes)
    if resumes_so_far >= settings.max_dms_resumes:
        return alert_dms(settings, where, task, detail, "failed again",
                         f"None. The task was already resumed automatically {resumes_so_far} time(s) "
                         f"(limit {settings.max_dms_resumes}).")

    release = hold_task_for_resume(task_arn)
    if release is None:
        return alert_dms(settings, where, task, detail, "held by a deployment or a cutover",
                         "None. A deployment holds the task (it stops the task to update it and resumes it after), "
                         "or a cutover does (it stops the task for good), so it was left to them.")
    try:
        # Count the attempt before making it: if we crash after resuming, a retry must not resume again.
        write_resume_count(task_arn, resumes_so_far + 1)
        return resume_dms_task(settings, where, task, detail, resumes_so_far + 1)
    finally:
        release()


def hold_task_for_resume(task_arn):
    """Takes the task's lease for the resume (or marks the start window of the migration run holding it); returns
    how to give it back, or None when a deployment or a cutover holds the task."""
    table = os.environ.get(LEASE_TABLE_ENV)
    if not table:
        return lambda: None
    dynamodb = aws_client("dynamodb")
    key = {"task": {"S": task_arn}}
    me = f"remediation:{hashlib.sha256(os.urandom(16)).hexdigest()[:16]}"
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        dynamodb.update_item(
            TableName=table, Key=key,
            UpdateExpression="SET #holder = :me, #kind = :remediation, #grant = :now, #expiresAt = :expires",
            ConditionExpression="attribute_not_exists(#task) OR #expiresAt < :now",
            ExpressionAttributeNames={"#task": "task", "#holder": "holder", "#kind": "kind", "#grant": "grant",
                                      "#expiresAt": "expiresAt"},
            ExpressionAttributeValues={":me": {"S": me}, ":remediation": {"S": "remediation"}, ":now": {"S": iso(now)},
                                       ":expires": {"S": iso(now + datetime.timedelta(seconds=REMEDIATION_HOLD_SECONDS))}})
        return lambda: release_quietly(lambda: dynamodb.delete_item(
            TableName=table, Key=key, ConditionExpression="#holder = :me",
            ExpressionAttributeNames={"#holder": "holder"}, ExpressionAttributeValues={":me": {"S": me}}))
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
    try:
        # A migration run holds the task: resume it on the run's behalf, inside a start window a deployment waits for.
        held = dynamodb.update_item(
            TableName=table, Key=key, UpdateExpression="SET #phase = :starting, #phaseSince = :now",
            ConditionExpression="#kind = :run", ReturnValues="ALL_NEW",
            ExpressionAttributeNames={"#phase": "phase", "#phaseSince": "phaseSince", "#kind": "kind"},
            ExpressionAttributeValues={":starting": {"S": "starting"}, ":now": {"S": iso(now)}, ":run": {"S": "run"}})
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        return None
    run = held["Attributes"]["holder"]["S"]
    return lambda: release_quietly(lambda: dynamodb.update_item(
        TableName=table, Key=key, UpdateExpression="SET #phase = :watching", ConditionExpression="#holder = :run",
        ExpressionAttributeNames={"#phase": "phase", "#holder": "holder"},
        ExpressionAttributeValues={":watching": {"S": "watching"}, ":run": {"S": run}}))


def release_quietly(release):
    """A hold not given back ends by itself (its expiry, or the run's next look); the resume's outcome stands."""
    try:
        release()
    except (ClientError, BotoCoreError) as error:
        log("WARN", "the task's lease was not given back", error=str(error))


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def describe_replication_task(task_arn):
    try:
        response = aws_client("dms").describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}], WithoutSettings=True)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundFault":
            return None
        raise
    tasks = response.get("ReplicationTasks") or []
    return tasks[0] if tasks else None


def dms_stop_verdict(task, detail):
    """Classify the task as 'error' (resume), 'normal' (ignore), 'active' (already resumed) or 'unknown'."""
    status = (task.get("Status") or "").lower()
    if status in DMS_ACTIVE_STATUSES:
        return "active"
    if status == "failed":
        return "error"
    if status != "stopped":
        return "unknown"
    reason = normalise_stop_reason(task.get("StopReason") or detail.get("detailMessage") or "")
    if reason in DMS_ERROR_STOP_REASONS:
        return "error"
    if reason in DMS_NORMAL_STOP_REASONS:
        return "normal"
    return "unknown"


def normalise_stop_reason(text):
    """'Stop Reason FATAL_ERROR', 'STOP_REASON_FATAL_ERROR' or a message containing either -> 'FATAL_ERROR'."""
    marker = "Stop Reason "
    if marker in text:
        words = text.split(marker, 1)[1].split()
        text = words[0] if words else ""
    return text.strip().upper().removeprefix("STOP_REASON_")


def read_resume_count(task_arn, limit):
    tags = aws_client("dms").list_tags_for_resource(ResourceArn=task_arn).get("TagList") or []
    value = next((tag.get("Value") for tag in tags if tag.get("Key") == RESUME_COUNT_TAG), "0")
    if not str(value).isdigit():
        # Someone edited the tag by hand; do not guess, stop self-healing and let a human decide.
        log("WARN", "resume counter tag is not a number; treating the limit as reached",
            taskArn=task_arn, tagValue=value)
        return limit
    return int(value)


def write_resume_count(task_arn, count):
    aws_client("dms").add_tags_to_resource(
        ResourceArn=task_arn, Tags=[{"Key": RESUME_COUNT_TAG, "Value": str(count)}])


def resume_dms_task(settings, where, task, detail, attempt):
    task_arn = task["ReplicationTaskArn"]
    try:
        aws_client("dms").start_replication_task(
            ReplicationTaskArn=task_arn, StartReplicationTaskType="resume-processing")
    except ClientError as error:
        if error_code(error) == "InvalidResourceStateFault" and task_is_active(task_arn):
            # A duplicate delivery got there first; the task is already on its way back.
            return record_action(settings, "DMS_TASK_STATE_CHANGE", "RESUME_DMS_TASK", "ALREADY_DONE", where,
                                 reason="task was already resuming", alerted=False,
                                 ids=dms_ids(task_arn, detail.get("eventType")))
        return alert_dms(settings, where, task, detail, "could not be resumed",
                         f"Tried to resume the task (attempt {attempt}) but DMS refused: {error_code(error)}.",
                         outcome="FAILED", action="RESUME_DMS_TASK")

    publish_alert(
        settings,
        subject=f"DMS task auto-resumed: {task.get('ReplicationTaskIdentifier')}",
        severity="INFO",
        what="DMS replication task stopped on an error and was resumed automatically",
        where=where,
        ids=dms_ids(task_arn, detail.get("eventType")),
        console_url=dms_task_url(where.region, task.get("ReplicationTaskIdentifier")),
        action_taken=f"Resumed with resume-processing (automatic resume {attempt} of {settings.max_dms_resumes}).",
        next_step="Nothing now. If the task fails again it will only be reported; check its logs then.",
        details={"status": task.get("Status"), "stopReason": task.get("StopReason"),
                 "lastFailureMessage": task.get("LastFailureMessage"), "eventMessage": detail.get("detailMessage")},
    )
    return record_action(settings, "DMS_TASK_STATE_CHANGE", "RESUME_DMS_TASK", "SUCCEEDED", where,
                         reason=f"automatic resume {attempt} of {settings.max_dms_resumes}", alerted=True,
                         ids=dms_ids(task_arn, detail.get("eventType")))


def task_is_active(task_arn):
    latest = describe_replication_task(task_arn) or {}
    return (latest.get("Status") or "").lower() in DMS_ACTIVE_STATUSES


def alert_dms(settings, where, task, detail, problem, action_taken, outcome="SUCCEEDED", action="ALERT_ONLY"):
    task = task or {}
    identifier = task.get("ReplicationTaskIdentifier") or where.resource.rsplit(":", 1)[-1]
    publish_alert(
        settings,
        subject=f"DMS task {problem}: {identifier}",
        severity="ERROR",
        what=f"DMS replication task {problem}",
        where=where,
        ids=dms_ids(where.resource, detail.get("eventType")),
        console_url=dms_task_url(where.region, identifier),
        action_taken=action_taken,
        next_step="Check the task's CloudWatch logs and table statistics, fix the cause, then resume or "
                  f"restart the task. Remove the '{RESUME_COUNT_TAG}' tag to re-enable automatic resume.",
        details={"status": task.get("Status"), "stopReason": task.get("StopReason"),
                 "lastFailureMessage": task.get("LastFailureMessage"), "eventMessage": detail.get("detailMessage")},
    )
    return record_action(settings, "DMS_TASK_STATE_CHANGE", action, outcome, where,
                         reason=f"task {problem}", alerted=True, ids=dms_ids(where.resource, detail.get("eventType")))


def dms_ids(task_arn, event_type):
    return {"replicationTaskArn": task_arn, "eventType": event_type}


# --- Step Functions ---------------------------------------------------------------------------

def handle_execution_status_change(event, detail, settings):
    status = detail.get("status")
    if status not in ("FAILED", "TIMED_OUT", "ABORTED"):
        return ignore("SFN_EXECUTION_STATUS_CHANGE", f"execution status {status} needs no remediation", detail.get("executionArn"))
    execution_arn = detail.get("executionArn")
    if not execution_arn:
        reject("Step Functions event has no executionArn", eventId=event.get("id"))

    where = where_from_event(event, "states", execution_arn, settings)
    if status == "ABORTED":
        return alert_execution(settings, where, detail, "was aborted",
                               "None. An aborted execution was stopped on purpose, so it is not redriven.")

    execution = aws_client("stepfunctions").describe_execution(executionArn=execution_arn)
    current_status = execution.get("status") or status
    if current_status in SFN_ACTIVE_STATUSES:
        return record_action(settings, "SFN_EXECUTION_STATUS_CHANGE", "NO_ACTION", "ALREADY_DONE", where,
                             reason=f"execution is now {current_status}", alerted=False,
                             ids={"executionArn": execution_arn})

    redrive_count = int(execution.get("redriveCount") or 0)
    error = execution.get("error") or detail.get("error")
    cause = execution.get("cause") or detail.get("cause")
    facts = {**detail, "error": error, "cause": cause, "redriveCount": redrive_count}
    if current_status == "FAILED" and error == VALIDATION_FAILED_ERROR:
        return alert_validation_mismatch(settings, where, facts)
    if not is_transient_failure(current_status, error, cause):
        return alert_execution(settings, where, facts, f"{current_status.lower()} ({error})",
                               "None. The failure does not look transient, so the execution was not redriven.")
    if redrive_count >= settings.max_redrives:
        return alert_execution(settings, where, facts, "failed again after a redrive",
                               f"None. The execution was already redriven {redrive_count} time(s) "
                               f"(limit {settings.max_redrives}).")
    if execution.get("redriveStatus") == "NOT_REDRIVABLE":
        return alert_execution(settings, where, facts, "cannot be redriven",
                               f"None. Step Functions says: {execution.get('redriveStatusReason')}.")
    return redrive_execution(settings, where, facts, redrive_count)


def is_transient_failure(status, error, cause):
    if status == "TIMED_OUT":
        return True
    if not error:
        return False
    if error.rsplit(".", 1)[-1] in TRANSIENT_ERROR_NAMES:
        return True
    if error == "States.TaskFailed":
        return any(marker in (cause or "").lower() for marker in THROTTLING_MARKERS)
    return False


def redrive_execution(settings, where, facts, redrive_count):
    execution_arn = where.resource
    # Same token for the same failure: a redelivered event cannot redrive twice.
    token = hashlib.sha256(f"{execution_arn}#{redrive_count}".encode("utf-8")).hexdigest()[:64]
    try:
        aws_client("stepfunctions").redrive_execution(executionArn=execution_arn, clientToken=token)
    except ClientError as error:
        if error_code(error) in ("ThrottlingException", "ServiceUnavailable", "InternalFailure"):
            raise  # Lambda retries with the same client token, so this stays idempotent.
        return alert_execution(settings, where, facts, "could not be redriven",
                               f"Tried to redrive the execution but Step Functions refused: {error_code(error)}.",
                               outcome="FAILED", action="REDRIVE_EXECUTION")

    attempt = redrive_count + 1
    publish_alert(
        settings,
        subject=f"Migration execution auto-redriven: {facts.get('name') or execution_arn.rsplit(':', 1)[-1]}",
        severity="INFO",
        what="Migration execution failed on a transient error and was redriven automatically",
        where=where,
        ids={"executionArn": execution_arn},
        console_url=execution_url(where.region, execution_arn),
        action_taken=f"Redrove the execution from its failed step (automatic redrive {attempt} of "
                     f"{settings.max_redrives}).",
        next_step="Nothing now. If it fails again it will only be reported.",
        details={"error": facts.get("error"), "cause": facts.get("cause")},
    )
    return record_action(settings, "SFN_EXECUTION_STATUS_CHANGE", "REDRIVE_EXECUTION", "SUCCEEDED", where,
                         reason=f"automatic redrive {attempt} of {settings.max_redrives}", alerted=True,
                         ids={"executionArn": execution_arn})


def alert_validation_mismatch(settings, where, facts):
    """DMS data validation found differences: alert with the tables, change nothing (no resume, no redrive)."""
    outcome = parse_outcome(facts.get("cause"))
    tables = [table_summary(table) for table in as_list(outcome.get("problemTables"))[:MAX_ALERTED_TABLES]]
    totals = as_dict(outcome.get("tables"))
    report = as_dict(outcome.get("report"))
    report_url = f"s3://{report['bucket']}/{report['key']}" if report.get("bucket") and report.get("key") else None
    counted = ("mismatched", "suspended", "notValidatable")
    if outcome.get("reason") == "TABLES_NOT_VALIDATABLE":  # tables DMS cannot validate, validation off included
        counted += ("validationNotEnabled",)
    failed_tables = sum(int(totals.get(name) or 0) for name in counted)
    names = ", ".join(table["table"] for table in tables) or "see the report"
    name = facts.get("name") or where.resource.rsplit(":", 1)[-1]
    publish_alert(
        settings,
        subject=f"Migration validation FAILED ({failed_tables} tables): {name}",
        severity="ERROR",
        what="DMS data validation found tables whose rows differ between source and target, or could not be compared",
        where=where,
        ids={"executionArn": where.resource, "replicationTaskArn": outcome.get("replicationTaskArn")},
        console_url=execution_url(where.region, where.resource),
        action_taken="None. A validation mismatch needs a person: the DMS task was not resumed and the execution "
                     "was not redriven.",
        next_step="Read the migration report, look up the failed rows in awsdms_validation_failures_v1 on the target, "
                  "fix the data or the mappings, revalidate the tables (DMS table statistics), then start a new run.",
        details={"tables": tables, "totals": totals, "report": report_url, "message": outcome.get("message"),
                 "cause": None if outcome else facts.get("cause")},
    )
    return record_action(settings, "SFN_EXECUTION_STATUS_CHANGE", "ALERT_ONLY", "SUCCEEDED", where,
                         reason=f"validation mismatch in {failed_tables} table(s): {names}", alerted=True,
                         ids={"executionArn": where.resource, "replicationTaskArn": outcome.get("replicationTaskArn")},
                         reportKey=report.get("key"))


def parse_outcome(cause):
    """The state machine's outcome from the execution's cause (JSON); {} when the cause is not that JSON."""
    try:
        outcome = json.loads(cause or "")
    except (TypeError, ValueError):
        log("WARN", "execution cause is not the migration outcome JSON", cause=(cause or "")[:200])
        return {}
    return outcome if isinstance(outcome, dict) else {}


def table_summary(table):
    table = as_dict(table)
    return {
        "table": f"{table.get('SchemaName')}.{table.get('TableName')}",
        "validationState": table.get("ValidationState"),
        "tableState": table.get("TableState"),
        "validationFailedRecords": table.get("ValidationFailedRecords"),
        "validationSuspendedRecords": table.get("ValidationSuspendedRecords"),
        "validationPendingRecords": table.get("ValidationPendingRecords"),
        "fullLoadRows": table.get("FullLoadRows"),
        "inserts": table.get("Inserts"),
    }


def as_list(value):
    return value if isinstance(value, list) else []


def alert_execution(settings, where, facts, problem, action_taken, outcome="SUCCEEDED", action="ALERT_ONLY"):
    name = facts.get("name") or where.resource.rsplit(":", 1)[-1]
    publish_alert(
        settings,
        subject=f"Migration execution {problem}: {name}",
        severity="ERROR",
        what=f"Migration execution {problem}",
        where=where,
        ids={"executionArn": where.resource},
        console_url=execution_url(where.region, where.resource),
        action_taken=action_taken,
        next_step="Open the execution, read the failed step's error, fix the cause, then redrive the "
                  "execution (or re-upload the object to start over).",
        details={"status": facts.get("status"), "error": facts.get("error"), "cause": facts.get("cause"),
                 "redriveCount": facts.get("redriveCount")},
    )
    return record_action(settings, "SFN_EXECUTION_STATUS_CHANGE", action, outcome, where,
                         reason=f"execution {problem}", alerted=True, ids={"executionArn": where.resource})


# --- S3 deletions -----------------------------------------------------------------------------

def handle_object_deleted(event, detail, settings):
    bucket = as_dict(detail.get("bucket")).get("name")
    s3_object = as_dict(detail.get("object"))
    if not bucket or not s3_object.get("key"):
        reject("S3 event has no bucket name or object key", eventId=event.get("id"))
    key = urllib.parse.unquote_plus(s3_object["key"])
    version_id = s3_object.get("version-id")
    where = where_from_event(event, "s3", f"{bucket}/{key}", settings)
    object_fields = {"bucket": bucket, "key": key, "versionId": version_id}

    if deletion_was_quarantine_move(settings, bucket, key, version_id):
        log("INFO", "deletion was our own quarantine move", bucket=bucket, key=key, versionId=version_id)
        return record_action(settings, "S3_OBJECT_DELETED", "NO_ACTION", "SUCCEEDED", where,
                             reason="object was moved to quarantine by this pipeline", alerted=False,
                             ids={"versionId": version_id}, **object_fields)

    deletion_type = detail.get("deletion-type")
    publish_alert(
        settings,
        subject=f"Object deleted from pipeline bucket: {file_name(key)}",
        severity="WARNING",
        what=f"An object was deleted from a pipeline bucket ({deletion_type})",
        where=where,
        ids={"versionId": version_id, "requestId": detail.get("request-id")},
        console_url=s3_object_url(where.region, bucket, key, show_versions=True),
        action_taken="None. Deletions are reported, never reversed automatically.",
        next_step="Confirm the deletion was intended. If not, restore the previous version "
                  "(remove the delete marker) and check who deleted it in CloudTrail.",
        details={"deletionType": deletion_type, "requester": detail.get("requester"),
                 "sourceIpAddress": detail.get("source-ip-address"), "reason": detail.get("reason")},
    )
    return record_action(settings, "S3_OBJECT_DELETED", "ALERT_ONLY", "SUCCEEDED", where,
                         reason=f"object deleted ({deletion_type})", alerted=True,
                         ids={"versionId": version_id}, **object_fields)


def deletion_was_quarantine_move(settings, bucket, key, version_id):
    if bucket != settings.data_bucket or not key.startswith(settings.incoming_prefix):
        return False
    quarantine_head = head_object(bucket, quarantine_key_for(key, settings))
    if quarantine_head is None:
        return False
    recorded = (quarantine_head.get("Metadata") or {}).get(QUARANTINE_VERSION_METADATA)
    return recorded == (version_id or UNVERSIONED)


# --- Validation FAILED (SNS) ------------------------------------------------------------------

def sns_records(event):
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        reject("expected an SNS event with a non-empty Records list")
    for record in records:
        if not isinstance(record, dict) or record.get("EventSource") != "aws:sns" \
                or not isinstance(record.get("Sns"), dict):
            reject("record is not an SNS record")
    return records


def handle_validation_record(record, settings):
    sns = record["Sns"]
    message = parse_validation_message(sns.get("Message"), sns.get("MessageId"))
    if message.get("outcome") != "FAILED":
        log("INFO", "ignoring validation result that did not fail", outcome=message.get("outcome"))
        return ignore("VALIDATION_FAILED", f"validation outcome {message.get('outcome')} needs no remediation",
                      message.get("key"))

    bucket, key, version_id = message.get("bucket"), message.get("key"), message.get("versionId")
    if not isinstance(bucket, str) or not isinstance(key, str) or not key:
        reject("validation message has no bucket or key", messageId=sns.get("MessageId"))
    if version_id is not None and not isinstance(version_id, str):
        reject("validation message has an invalid versionId", messageId=sns.get("MessageId"))
    if bucket != settings.data_bucket:
        # Never move objects in buckets this pipeline does not own.
        reject("validation message names a bucket other than the data bucket", bucket=bucket)
    if not key.startswith(settings.incoming_prefix) or key.endswith("/"):
        reject("validation message names an object outside the incoming prefix", key=key)

    topic_arn = sns.get("TopicArn") or ""
    where = Where("s3", f"{bucket}/{key}", arn_part(topic_arn, 3) or settings.region, arn_part(topic_arn, 4) or "")
    outcome, quarantine_key = quarantine_object(settings, bucket, key, version_id)
    object_fields = {"bucket": bucket, "key": key, "versionId": version_id, "quarantineKey": quarantine_key,
                     "reportKey": message.get("reportKey")}

    moved = outcome in ("SUCCEEDED", "ALREADY_DONE")
    publish_alert(
        settings,
        subject=f"Validation FAILED, object quarantined: {file_name(key)}" if moved
        else f"Validation FAILED: {file_name(key)}",
        severity="WARNING" if moved else "ERROR",
        what="An incoming object failed validation",
        where=where,
        ids={"versionId": version_id, "jobRunId": message.get("jobRunId")},
        console_url=s3_object_url(where.region, bucket, quarantine_key if moved else key),
        action_taken=(f"Moved the object to {quarantine_key}; the validation report was kept."
                      if moved else "None. The object was not found in incoming/ nor in quarantine."),
        next_step="Read the validation report, fix the data at its source, then upload the corrected "
                  "file to incoming/ again.",
        details={"reportKey": message.get("reportKey"), "rowCount": message.get("rowCount"),
                 "findings": (message.get("findings") or [])[:20]},
    )
    return record_action(settings, "VALIDATION_FAILED", "QUARANTINE_OBJECT", outcome, where,
                         reason="validation failed" if moved else "object to quarantine was not found",
                         alerted=True, ids={"jobRunId": message.get("jobRunId")},
                         **object_fields)


def parse_validation_message(raw_message, message_id):
    if not isinstance(raw_message, str) or not raw_message:
        reject("SNS record has no Message", messageId=message_id)
    try:
        message = json.loads(raw_message)
    except json.JSONDecodeError as error:
        reject("SNS message is not JSON", messageId=message_id, error=str(error))
    if not isinstance(message, dict):
        reject("SNS message is not a JSON object", messageId=message_id)
    return message


def quarantine_object(settings, bucket, key, version_id):
    """Move incoming/<rest> to <quarantine>/<rest>; return (outcome, quarantine key).

    Safe to repeat: when the source is already gone but the quarantine copy exists, the move
    happened on an earlier delivery. With a version id only that version is removed, so a
    corrected file uploaded since then under the same key is left alone.
    """
    quarantine_key = quarantine_key_for(key, settings)
    source_head = head_object(bucket, key, version_id)
    if source_head is None:
        if head_object(bucket, quarantine_key) is not None:
            log("INFO", "object already quarantined", bucket=bucket, key=key, quarantineKey=quarantine_key)
            return "ALREADY_DONE", quarantine_key
        log("WARN", "object to quarantine not found", bucket=bucket, key=key, versionId=version_id)
        return "FAILED", quarantine_key

    copy_source = {"Bucket": bucket, "Key": key}
    if version_id:
        copy_source["VersionId"] = version_id
    metadata = {**(source_head.get("Metadata") or {}), QUARANTINE_VERSION_METADATA: version_id or UNVERSIONED}
    extra_args = {"Metadata": metadata, "MetadataDirective": "REPLACE"}
    if source_head.get("ContentType"):
        extra_args["ContentType"] = source_head["ContentType"]
    # The managed copy goes multipart for large objects, so files over CopyObject's 5 GB limit work too.
    aws_client("s3").copy(copy_source, bucket, quarantine_key, ExtraArgs=extra_args)

    delete_params = {"Bucket": bucket, "Key": key}
    if version_id:
        delete_params["VersionId"] = version_id
    aws_client("s3").delete_object(**delete_params)
    log("INFO", "object quarantined", bucket=bucket, key=key, versionId=version_id, quarantineKey=quarantine_key)
    return "SUCCEEDED", quarantine_key


def quarantine_key_for(key, settings):
    return settings.quarantine_prefix + key[len(settings.incoming_prefix):]


def head_object(bucket, key, version_id=None):
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    try:
        return aws_client("s3").head_object(**params)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
            return None
        raise


# --- Alerts, audit, console links -------------------------------------------------------------

def publish_alert(settings, subject, severity, what, where, ids, console_url, action_taken, next_step,
                  details=None):
    message = {
        "pipeline": settings.pipeline_name,
        "severity": severity,
        "what": what,
        "where": {"service": where.service, "resource": where.resource, "region": where.region,
                  "account": where.account},
        "ids": {name: value for name, value in ids.items() if value is not None},
        "consoleUrl": console_url,
        "actionTaken": action_taken,
        "nextStep": next_step,
        "details": shorten_texts(details or {}),
    }
    # No try/except: for alert-only paths the alert is the real work, so a failure must be retried.
    aws_client("sns").publish(
        TopicArn=settings.alert_topic_arn,
        Subject=sns_subject(f"[{settings.pipeline_name}] {subject}"),
        Message=json.dumps(message, indent=2, default=str),
        # Lets subscribers filter, e.g. page only on ERROR and e-mail the rest.
        MessageAttributes={"severity": {"DataType": "String", "StringValue": severity}},
    )
    log("INFO", "alert published", severity=severity, what=what, resource=where.resource)


def sns_subject(text):
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    printable = "".join(char if " " <= char <= "~" else " " for char in ascii_text)
    return printable if len(printable) <= MAX_SUBJECT_CHARS else printable[:MAX_SUBJECT_CHARS - 3] + "..."


def file_name(key):
    # Subjects are short; the full key is in the message body.
    return key.rstrip("/").rsplit("/", 1)[-1] or key


def shorten_texts(details):
    return {name: (value[:MAX_TEXT_CHARS] + "...") if isinstance(value, str) and len(value) > MAX_TEXT_CHARS
            else value for name, value in details.items()}


def record_action(settings, trigger, action, outcome, where, reason, alerted, ids, **object_fields):
    """Log the decision, emit the audit event and build the handler's return value."""
    detail = {
        "pipeline": settings.pipeline_name,
        "trigger": trigger,
        "action": action,
        "outcome": outcome,
        "alerted": alerted,
        "resource": where.resource,
        "reason": reason[:MAX_TEXT_CHARS],
        "ids": {name: value for name, value in ids.items() if value is not None},
        **object_fields,
    }
    log("INFO", "remediation decision", **detail)
    emit_audit_event(settings, detail)
    return detail


def ignore(trigger, reason, resource):
    # Known event type in a state that needs nothing (for example a succeeded run): not an error.
    log("INFO", f"ignored: {reason}", trigger=trigger, resource=resource)
    return {"trigger": trigger, "action": "NO_ACTION", "outcome": "IGNORED", "reason": reason}


def emit_audit_event(settings, detail):
    """Best effort: a broken audit trail must never undo or block the real work."""
    try:
        response = aws_client("events").put_events(Entries=[{
            "Source": AUDIT_SOURCE,
            "DetailType": AUDIT_DETAIL_TYPE,
            "Detail": json.dumps(detail, default=str),
            "EventBusName": settings.audit_event_bus,
        }])
        if response.get("FailedEntryCount"):
            log("WARN", "audit event was rejected", entries=response.get("Entries"))
    except Exception as error:  # noqa: BLE001 - deliberately broad, see docstring
        log("WARN", "could not emit audit event", error=str(error), detailType=AUDIT_DETAIL_TYPE)


def console_base(region):
    if region.startswith("cn-"):
        return "https://console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def glue_run_url(region, job_name, run_id):
    return (f"{console_base(region)}/gluestudio/home?region={region}"
            f"#/job/{quote(job_name)}/run/{quote(run_id)}")


def dms_task_url(region, task_identifier):
    return f"{console_base(region)}/dms/v2/home?region={region}#taskDetails/{quote(task_identifier or '')}"


def execution_url(region, execution_arn):
    return f"{console_base(region)}/states/home?region={region}#/v2/executions/details/{execution_arn}"


def s3_object_url(region, bucket, key, show_versions=False):
    url = f"{console_base(region)}/s3/object/{quote(bucket)}?region={region}&prefix={quote(key)}"
    return url + "&showversions=true" if show_versions else url


def quote(text):
    return urllib.parse.quote(text, safe="")


# --- Small helpers ----------------------------------------------------------------------------

def where_from_event(event, service, resource, settings):
    return Where(service, resource, event.get("region") or settings.region, event.get("account") or "")


def first_resource(event):
    resources = event.get("resources")
    return resources[0] if isinstance(resources, list) and resources and isinstance(resources[0], str) else None


def arn_part(arn, index):
    parts = arn.split(":")
    return parts[index] if len(parts) > index else None


def as_dict(value):
    return value if isinstance(value, dict) else {}


def error_code(error):
    return error.response.get("Error", {}).get("Code", "Unknown")


def reject_oversized(event):
    size = len(json.dumps(event, default=str).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        reject("event is larger than 256 KB", sizeBytes=size)


def reject(reason, **fields):
    log("ERROR", f"rejected event: {reason}", **fields)
    raise InvalidEventError(reason)


def current_region():
    return os.environ.get("AWS_REGION") or boto3.session.Session().region_name or ""


def aws_client(service):
    # Created on first use (not at import) so tests can swap or reset them via _clients.
    if service not in _clients:
        _clients[service] = boto3.client(service, region_name=current_region() or None, config=_BOTO_CONFIG)
    return _clients[service]


def log(level, message, **fields):
    print(json.dumps({"level": level, "handler": HANDLER_NAME, "message": message, **fields}, default=str))


EVENT_ROUTES = {
    ("aws.glue", "Glue Job State Change"): handle_glue_job_state_change,
    ("aws.dms", "DMS Replication Task State Change"): handle_dms_task_state_change,
    ("aws.states", "Step Functions Execution Status Change"): handle_execution_status_change,
    ("aws.s3", "Object Deleted"): handle_object_deleted,
}
