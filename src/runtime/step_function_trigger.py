"""Start the migration state machine for each object that passed validation.

Invoked by an SNS subscription on the validation topic (filter policy outcome=PASSED).
Runs inline as index.handler, so it only uses the standard library and boto3.

Environment:
  STATE_MACHINE_ARN  migration state machine (required)
  AUDIT_EVENT_BUS    event bus for audit events (default "default")
  PIPELINE_NAME      pipeline name used in audit events (default "migration-pipeline")
"""

import hashlib
import json
import os
import re
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HANDLER_NAME = "step-function-trigger"
AUDIT_SOURCE = "migration.pipeline"
AUDIT_DETAIL_TYPE = "Migration Execution Started"

# SNS messages are at most 256 KB; anything bigger did not come from the validation topic.
MAX_MESSAGE_BYTES = 256 * 1024
# Step Functions execution names: at most 80 characters; we keep to the characters that
# CloudWatch Logs also accepts.
MAX_EXECUTION_NAME_LENGTH = 80
DIGEST_LENGTH = 16
NOT_ALLOWED_IN_NAME = re.compile(r"[^A-Za-z0-9_-]+")

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
_clients = {}


class InvalidEventError(ValueError):
    """The message can never succeed; raising sends it to the dead-letter queue after Lambda's retries."""


@dataclass(frozen=True)
class Settings:
    state_machine_arn: str
    audit_event_bus: str
    pipeline_name: str


def handler(event, context):
    settings = load_settings()
    return [handle_record(record, settings) for record in sns_records(event)]


def load_settings():
    state_machine_arn = os.environ.get("STATE_MACHINE_ARN")
    if not state_machine_arn:
        # A deployment mistake, not a bad message: fail loudly on every invocation.
        raise RuntimeError("environment variable STATE_MACHINE_ARN is not set")
    return Settings(
        state_machine_arn=state_machine_arn,
        audit_event_bus=os.environ.get("AUDIT_EVENT_BUS") or "default",
        pipeline_name=os.environ.get("PIPELINE_NAME") or "migration-pipeline",
    )


def sns_records(event):
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        reject("expected an SNS event with a non-empty Records list")
    for record in records:
        if not isinstance(record, dict) or record.get("EventSource") != "aws:sns":
            reject("record is not an SNS record",
                   eventSource=record.get("EventSource") if isinstance(record, dict) else None)
    return records


def handle_record(record, settings):
    sns = record.get("Sns") if isinstance(record.get("Sns"), dict) else {}
    message = parse_validation_message(sns.get("Message"), sns.get("MessageId"))
    if message.get("outcome") != "PASSED":
        # The subscription filter should have dropped it; nothing to migrate.
        log("INFO", "ignoring validation result that did not pass",
            outcome=message.get("outcome"), messageId=sns.get("MessageId"))
        return {"ignored": True, "outcome": message.get("outcome")}

    bucket, key, version_id, report_key = required_object_fields(message, sns.get("MessageId"))
    name = execution_name(bucket, key, version_id, message.get("jobRunId"))
    execution_input = {
        "bucket": bucket,
        "key": key,
        "versionId": version_id,
        "reportKey": report_key,
        "validation": message,
    }
    execution_arn, duplicate = start_execution(settings.state_machine_arn, name, execution_input)

    log("INFO", "duplicate message; migration already started" if duplicate else "migration started",
        executionName=name, executionArn=execution_arn, bucket=bucket, key=key, versionId=version_id)
    emit_audit_event(settings, {
        "pipeline": settings.pipeline_name,
        "action": "START_MIGRATION",
        "outcome": "ALREADY_STARTED" if duplicate else "STARTED",
        "bucket": bucket,
        "key": key,
        "versionId": version_id,
        "reportKey": report_key,
        "stateMachineArn": settings.state_machine_arn,
        "executionName": name,
        "executionArn": execution_arn,
    })
    return {"executionArn": execution_arn, "executionName": name, "duplicate": duplicate}


def parse_validation_message(raw_message, message_id):
    if not isinstance(raw_message, str) or not raw_message:
        reject("SNS record has no Message", messageId=message_id)
    size = len(raw_message.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        reject("SNS message is larger than 256 KB", messageId=message_id, sizeBytes=size)
    try:
        message = json.loads(raw_message)
    except json.JSONDecodeError as error:
        reject("SNS message is not JSON", messageId=message_id, error=str(error))
    if not isinstance(message, dict):
        reject("SNS message is not a JSON object", messageId=message_id)
    return message


def required_object_fields(message, message_id):
    bucket, key = message.get("bucket"), message.get("key")
    version_id, report_key = message.get("versionId"), message.get("reportKey")
    for field, value in (("bucket", bucket), ("key", key), ("reportKey", report_key)):
        if not isinstance(value, str) or not value:
            reject(f"validation message has no {field}", messageId=message_id)
    if version_id is not None and (not isinstance(version_id, str) or not version_id):
        reject("validation message has an invalid versionId", messageId=message_id)
    return bucket, key, version_id, report_key


def execution_name(bucket, key, version_id, job_run_id=None):
    """A stable name per object version, so a redelivered message cannot start a second run.

    Without a version id (unversioned bucket) the validation run id stands in for it: a
    redelivered message keeps its run id, while a re-upload of the same key gets a new run.
    """
    version = version_id or f"run:{job_run_id or ''}"
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version}".encode("utf-8")).hexdigest()[:DIGEST_LENGTH]
    readable_length = MAX_EXECUTION_NAME_LENGTH - DIGEST_LENGTH - 1
    readable = NOT_ALLOWED_IN_NAME.sub("-", key).strip("-_")[:readable_length].rstrip("-_") or "object"
    return f"{readable}-{digest}"


def start_execution(state_machine_arn, name, execution_input):
    """Return (executionArn, duplicate)."""
    try:
        response = aws_client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn,
            name=name,
            # Sorted keys keep the input byte-identical across redeliveries, which is what lets
            # Step Functions answer a repeat of a running execution with the same execution.
            input=json.dumps(execution_input, sort_keys=True),
        )
        return response["executionArn"], False
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        if code == "ExecutionAlreadyExists":
            return execution_arn_for(state_machine_arn, name), True
        # Throttling and service errors: re-raise so Lambda retries, then the DLQ keeps the message.
        log("ERROR", "could not start the migration execution", errorCode=code,
            executionName=name, error=str(error))
        raise


def execution_arn_for(state_machine_arn, name):
    # arn:<partition>:states:<region>:<account>:stateMachine:<sm> -> ...:execution:<sm>:<name>
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def reject(reason, **fields):
    log("ERROR", f"rejected event: {reason}", **fields)
    raise InvalidEventError(reason)


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
