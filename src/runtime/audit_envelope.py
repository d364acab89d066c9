"""Firehose data transformation for the audit index: each EventBridge event becomes one flat document.

Every audit event goes into one daily index whose mapping OpenSearch creates dynamically from the first
document that has a field. The events disagree on their shapes (`detail.bucket` is an object in S3 events and
a string in the pipeline's own events, and so on), so indexing them as they are lets whichever arrives first
fix a field's type and makes the others fail. This processor writes an envelope whose fields always have the
same type, whatever the event:

  time         the event's time as ISO-8601 UTC (`2024-06-01T09:15:42Z`; the arrival time when the event has
               none or an unreadable one), mapped as a date
  id           the event id (only when it is a UUID)
  source       e.g. `aws.s3`, `migration.pipeline`
  detail-type  e.g. `Object Created`
  account      the 12-digit account id
  region       e.g. `us-west-2`
  resources    list of strings (ARNs)
  pipeline, bucket, key, status
               optional strings read from the event's detail, for filtering
  detail_json  the event's whole `detail`, serialized as one JSON string

Only `detail_json` carries the event-specific structure, and as a string it never reaches the dynamic mapping.
OpenSearch's dynamic mapping takes a string for a date when it matches one of the date detection formats, all
of which begin with a digit (or a sign); so an optional string that begins with one is left out of the
envelope (it is still in `detail_json`), and no string field can be a date in one document and text in another.

Record contract (Amazon Data Firehose Developer Guide, "Required parameters for data transformation"): the
answer has one record per input record, with the same `recordId`, a `result` of `Ok` or `ProcessingFailed`
(never `Dropped`: no audit event is thrown away) and base64 `data`. A record that is not a JSON event is
answered `ProcessingFailed` with its data unchanged, so Firehose writes it to the backup bucket
(`processing-failed/`) instead of losing it.

Runs inline as index.handler: standard library only.
"""

import base64
import binascii
import json
import re
from datetime import datetime, timezone

OK = "Ok"
PROCESSING_FAILED = "ProcessingFailed"

# Every dynamic date detection format (strict_date_optional_time, yyyy/MM/dd ...) starts like this.
COULD_BE_A_DATE = re.compile(r"^[+-]?[0-9]")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# The detail fields the optional `status` is read from, first match wins: Glue (`state`), Step Functions
# (`status`), DataSync (`State`), the pipeline's own events (`outcome`), DMS (`eventType`).
STATUS_FIELDS = ("state", "status", "State", "outcome", "eventType")


class NotAnEvent(ValueError):
    """The record's data is not an EventBridge event this processor can index."""


def handler(event, context):
    records = [transform_record(record) for record in event.get("records", [])]
    failed = sum(1 for record in records if record["result"] != OK)
    if failed:
        _log("warning", "records sent to the backup bucket", failed=failed, total=len(records))
    return {"records": records}


def transform_record(record):
    """One Firehose record in, one answer out; never raises."""
    record_id = record.get("recordId")
    data = record.get("data", "")
    try:
        envelope = to_envelope(decode(data), record.get("approximateArrivalTimestamp"))
    except NotAnEvent as err:
        _log("warning", "record is not an indexable event", record_id=record_id, reason=str(err))
        return {"recordId": record_id, "result": PROCESSING_FAILED, "data": data}
    encoded = base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode("utf-8")).decode("ascii")
    return {"recordId": record_id, "result": OK, "data": encoded}


def decode(data):
    try:
        event = json.loads(base64.b64decode(data, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, TypeError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise NotAnEvent(f"not base64-encoded UTF-8 JSON: {err}") from err
    if not isinstance(event, dict):
        raise NotAnEvent(f"a JSON {type(event).__name__}, not an object")
    return event


def to_envelope(event, arrival_millis=None):
    """The flat document for one EventBridge event (raises NotAnEvent for anything else)."""
    source = _keyword(event.get("source"))
    detail_type = _keyword(event.get("detail-type"))
    detail = event.get("detail", {})
    if source is None or detail_type is None:
        raise NotAnEvent("no source or detail-type string")
    if not isinstance(detail, dict):
        raise NotAnEvent(f"detail is a JSON {type(detail).__name__}, not an object")
    envelope = {
        "time": _timestamp(event.get("time"), arrival_millis),
        "id": _matching(event.get("id"), UUID),
        "source": source,
        "detail-type": detail_type,
        "account": _matching(event.get("account"), ACCOUNT_ID),
        "region": _keyword(event.get("region")),
        "resources": [value for value in map(_keyword, _as_list(event.get("resources"))) if value is not None],
        "pipeline": _keyword(detail.get("pipeline")),
        # The pipeline's events carry `bucket` and `key` strings; S3's carry `bucket.name` and `object.key`.
        "bucket": _keyword(_string_or_field(detail.get("bucket"), "name")),
        "key": _keyword(_string_or_field(detail.get("key"), None) or _string_or_field(detail.get("object"), "key")),
        "status": next((value for value in map(_keyword, (detail.get(f) for f in STATUS_FIELDS)) if value), None),
        "detail_json": json.dumps(detail, sort_keys=True, separators=(",", ":")),
    }
    return {name: value for name, value in envelope.items() if value is not None}


def _keyword(value):
    """A non-empty string that no date detection format can match, else None."""
    if isinstance(value, str) and value and not COULD_BE_A_DATE.match(value):
        return value
    return None


def _matching(value, pattern):
    return value if isinstance(value, str) and pattern.match(value) else None


def _string_or_field(value, name):
    """`value` when it is a string, its field `name` when it is an object, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and name:
        return value.get(name)
    return None


def _as_list(value):
    return value if isinstance(value, list) else []


def _timestamp(value, arrival_millis):
    """ISO-8601 UTC with seconds and a Z, so every document's `time` parses as the same date format."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(arrival_millis, (int, float)) and not isinstance(arrival_millis, bool):
        return datetime.fromtimestamp(arrival_millis / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log(level, message, **fields):
    print(json.dumps({"level": level, "handler": "audit-envelope", "message": message, **fields}, default=str))
