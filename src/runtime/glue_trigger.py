"""Start the Glue validation job for an object that landed under the incoming prefix.

Invoked asynchronously by an EventBridge rule with an S3 "Object Created" event.
Runs inline as index.handler, so it only uses the standard library and boto3.

Environment:
  GLUE_JOB_NAME         name of the Glue validation job (required)
  VALIDATION_TOPIC_ARN  SNS topic the job publishes its verdict to (required)
  REPORT_PREFIX         where the job writes its report (default "reports/")
  INCOMING_PREFIX       prefix this function accepts (default "incoming/")
  AUDIT_EVENT_BUS       event bus for audit events (default "default")
  PIPELINE_NAME         pipeline name used in audit events (default "migration-pipeline")
"""

import datetime
import json
import os
import urllib.parse
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HANDLER_NAME = "glue-trigger"
AUDIT_SOURCE = "migration.pipeline"
AUDIT_DETAIL_TYPE = "Glue Validation Started"

# EventBridge never delivers more than 256 KB; anything bigger is not an S3 event.
MAX_EVENT_BYTES = 256 * 1024
# GetJobRuns lists the newest runs first, at most 200 a page. A run for an object is started after the
# object was created, so the look-back for a redelivered event stops at the first page that reaches back
# before the event's time (less a margin for the clocks of S3 and Glue). With job run queuing a burst of
# files leaves hundreds of runs newer than an early object's, so one page is not enough.
RUNS_PER_PAGE = 200
CLOCK_SKEW = datetime.timedelta(minutes=1)
# Bounds the look-back (and its cost) whatever happens: 50 pages are 10,000 runs.
MAX_PAGES = 50
# A run in one of these states already covers the object, so starting another is waste.
RUN_STATES_THAT_COVER_THE_OBJECT = {"STARTING", "RUNNING", "WAITING", "SUCCEEDED"}
# The arguments that identify which object (and which version of it) a run validates.
IDENTITY_ARGUMENTS = ("--source_bucket", "--source_key", "--source_version")
# Errors that usually clear up on their own; Lambda's async retries give them a second chance. With job
# run queuing on (the default), Glue queues runs beyond MaxConcurrentRuns instead of refusing them.
RETRYABLE_ERROR_CODES = {
    "ConcurrentRunsExceededException",
    "ThrottlingException",
    "OperationTimeoutException",
    "InternalServiceException",
}

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
_clients = {}


class InvalidEventError(ValueError):
    """The event can never succeed; raising sends it to the dead-letter queue after Lambda's retries."""


@dataclass(frozen=True)
class Settings:
    glue_job_name: str
    validation_topic_arn: str
    report_prefix: str
    incoming_prefix: str
    audit_event_bus: str
    pipeline_name: str


@dataclass(frozen=True)
class SourceObject:
    bucket: str
    key: str
    version: str  # the S3 version id, or the ETag when the bucket is not versioned
    created_at: datetime.datetime = None  # the event's time; None when it has none


def handler(event, context):
    settings = load_settings()
    source = parse_object_created_event(event, settings.incoming_prefix)
    if source is None:
        return {"jobRunId": None, "skipped": True}

    arguments = job_arguments(source, settings)
    existing_run = find_run_for_same_object(settings.glue_job_name, arguments, source.created_at)
    if existing_run is not None:
        run_id = existing_run["Id"]
        log("INFO", "validation already started for this object version; skipping redelivered event",
            jobName=settings.glue_job_name, jobRunId=run_id, jobRunState=existing_run.get("JobRunState"),
            bucket=source.bucket, key=source.key, sourceVersion=source.version)
        emit_audit_event(settings, audit_detail(settings, source, run_id, "ALREADY_STARTED"))
        return {"jobRunId": run_id, "skipped": True}

    run_id = start_validation_run(settings.glue_job_name, arguments)
    log("INFO", "validation job started", jobName=settings.glue_job_name, jobRunId=run_id,
        bucket=source.bucket, key=source.key, sourceVersion=source.version)
    emit_audit_event(settings, audit_detail(settings, source, run_id, "STARTED"))
    return {"jobRunId": run_id, "skipped": False}


def load_settings():
    return Settings(
        glue_job_name=required_env("GLUE_JOB_NAME"),
        validation_topic_arn=required_env("VALIDATION_TOPIC_ARN"),
        report_prefix=os.environ.get("REPORT_PREFIX") or "reports/",
        incoming_prefix=os.environ.get("INCOMING_PREFIX") or "incoming/",
        audit_event_bus=os.environ.get("AUDIT_EVENT_BUS") or "default",
        pipeline_name=os.environ.get("PIPELINE_NAME") or "migration-pipeline",
    )


def required_env(name):
    value = os.environ.get(name)
    if not value:
        # A deployment mistake, not a bad event: fail loudly on every invocation.
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def parse_object_created_event(event, incoming_prefix):
    """Return the object to validate, or None for folder placeholders that hold no data."""
    reject_oversized(event)
    if not isinstance(event, dict):
        reject(f"expected a JSON object, got {type(event).__name__}")
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        reject("expected an aws.s3 'Object Created' event",
               source=event.get("source"), detailType=event.get("detail-type"))

    detail = as_dict(event.get("detail"))
    bucket = as_dict(detail.get("bucket")).get("name")
    s3_object = as_dict(detail.get("object"))
    raw_key = s3_object.get("key")
    if not isinstance(bucket, str) or not bucket:
        reject("event has no detail.bucket.name", eventId=event.get("id"))
    if not isinstance(raw_key, str) or not raw_key:
        reject("event has no detail.object.key", eventId=event.get("id"))

    # S3 URL-encodes keys in its notifications ("my file.csv" arrives as "my+file.csv").
    key = urllib.parse.unquote_plus(raw_key)
    if not key.startswith(incoming_prefix):
        reject("object key is outside the incoming prefix", key=key, incomingPrefix=incoming_prefix)

    version = s3_object.get("version-id") or s3_object.get("etag")
    if not isinstance(version, str) or not version:
        reject("event has neither detail.object.version-id nor detail.object.etag", key=key)

    if key.endswith("/"):
        log("INFO", "ignoring folder placeholder object", bucket=bucket, key=key)
        return None
    return SourceObject(bucket=bucket, key=key, version=version, created_at=event_time(event))


def event_time(event):
    """The event's time as an aware datetime, or None (then the look-back reads one page only)."""
    value = event.get("time")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def reject_oversized(event):
    size = len(json.dumps(event, default=str).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        reject("event is larger than 256 KB", sizeBytes=size)


def reject(reason, **fields):
    log("ERROR", f"rejected event: {reason}", **fields)
    raise InvalidEventError(reason)


def as_dict(value):
    return value if isinstance(value, dict) else {}


def job_arguments(source, settings):
    return {
        "--source_bucket": source.bucket,
        "--source_key": source.key,
        "--source_version": source.version,
        "--validation_topic_arn": settings.validation_topic_arn,
        "--report_prefix": settings.report_prefix,
    }


def find_run_for_same_object(job_name, arguments, created_at):
    """Look for a run of this exact object version (EventBridge and Lambda may deliver an event twice).

    Reads the runs started since the object was created, newest first. Two deliveries handled at the very
    same moment can still both miss each other; EventBridge's at-least-once delivery makes that rare.
    """
    cutoff = created_at - CLOCK_SKEW if created_at else None
    params = {"JobName": job_name, "MaxResults": RUNS_PER_PAGE}
    for _ in range(MAX_PAGES):
        response = call_glue("get_job_runs", **params)
        runs = response.get("JobRuns", [])
        for run in runs:
            run_arguments = run.get("Arguments") or {}
            same_object = all(run_arguments.get(name) == arguments[name] for name in IDENTITY_ARGUMENTS)
            if same_object and run.get("JobRunState") in RUN_STATES_THAT_COVER_THE_OBJECT:
                return run
        next_token = response.get("NextToken")
        if not next_token or cutoff is None or any(started_before(run, cutoff) for run in runs):
            return None
        params["NextToken"] = next_token
    log("WARN", "look-back for an earlier run stopped at its page limit", jobName=job_name, pages=MAX_PAGES)
    return None


def started_before(run, cutoff):
    started = run.get("StartedOn")
    if not isinstance(started, datetime.datetime):
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=datetime.timezone.utc)
    return started < cutoff


def start_validation_run(job_name, arguments):
    return call_glue("start_job_run", JobName=job_name, Arguments=arguments)["JobRunId"]


def call_glue(operation, **params):
    try:
        return getattr(aws_client("glue"), operation)(**params)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        # Re-raise so Lambda retries the event and, if it keeps failing, parks it in the DLQ.
        log("ERROR", f"glue {operation} failed", errorCode=code, retryable=code in RETRYABLE_ERROR_CODES,
            jobName=params.get("JobName"), error=str(error))
        raise


def audit_detail(settings, source, run_id, outcome):
    return {
        "pipeline": settings.pipeline_name,
        "action": "START_VALIDATION",
        "outcome": outcome,
        "bucket": source.bucket,
        "key": source.key,
        "sourceVersion": source.version,
        "jobName": settings.glue_job_name,
        "jobRunId": run_id,
    }


def emit_audit_event(settings, detail):
    """Best effort: a broken audit trail must never undo or block the real work."""
    try:
        response = aws_client("events").put_events(Entries=[{
            "Source": AUDIT_SOURCE,
            "DetailType": AUDIT_DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "EventBusName": settings.audit_event_bus,
        }])
        if response.get("FailedEntryCount"):
            log("WARN", "audit event was rejected", entries=response.get("Entries"))
    except Exception as error:  # noqa: BLE001 - deliberately broad, see docstring
        log("WARN", "could not emit audit event", error=str(error), detailType=AUDIT_DETAIL_TYPE)


def aws_client(service):
    # Created on first use (not at import) so tests can swap or reset them via _clients.
    if service not in _clients:
        region = os.environ.get("AWS_REGION") or boto3.session.Session().region_name
        _clients[service] = boto3.client(service, region_name=region, config=_BOTO_CONFIG)
    return _clients[service]


def log(level, message, **fields):
    print(json.dumps({"level": level, "handler": HANDLER_NAME, "message": message, **fields}, default=str))
