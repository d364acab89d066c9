"""The audit envelope: every event the audit rules forward indexes into one daily index without a mapping conflict.

All audit events share one index per day, whose mapping OpenSearch builds dynamically from the documents
(OpenSearch documentation, "Dynamic mapping" under Mappings and field types, and "Date detection"). A field gets
its type from the first document that has it; a later document whose value cannot be indexed as that type is
rejected. `dynamic_types` below applies the documented rules for an index created without a mapping:

  JSON null            no field
  true / false         boolean
  integer              long
  floating point       float
  string               date when it matches a date detection format (date_detection is on, and
                       dynamic_date_formats defaults to strict_date_optional_time and
                       "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"); otherwise text with a keyword sub-field
                       (numeric_detection is off by default)
  object               object, with its fields mapped the same way
  array                the type of its elements

The test runs the real processor (src/runtime/audit_envelope.py) over every event shape the audit rules
forward - AWS's documented events for S3, Glue, DMS, Step Functions and DataSync (the samples in test/events and
test/python/events) and the pipeline's own events as its real handlers emit them (run against moto) - and fails
on any field path that gets two types in one index. It also shows that the raw events do conflict, so the
check can fail.

The Firehose record contract is the one of the Amazon Data Firehose Developer Guide, "Required parameters for
data transformation" (recordId, result Ok/Dropped/ProcessingFailed, base64 data) and "Handle failure in data
transformation" (records answered ProcessingFailed go to the S3 bucket's processing-failed folder).
"""

import ast
import base64
import copy
import json
import re

import boto3
import pytest

import audit_envelope
import glue_trigger
import reference_profiler
import remediation
import step_function_trigger
import validate
from pipeline_helpers import ACCOUNT, EVENTS_DIR, REGION, RUNTIME_DIR, AlertCapture, AuditCapture, load_event
from template_loader import load_template, resources_of_type

PYTHON_EVENTS_DIR = EVENTS_DIR.parent / "python" / "events"
BUCKET = "migration-pipeline-data-123456789012-us-west-2"
JOB_NAME = "migration-pipeline-validation"

# The AWS events the audit rules forward (Glue, DMS, Step Functions, DataSync, S3); the sns-* samples are SNS
# deliveries to Lambda, not EventBridge events.
AWS_SAMPLES = sorted(path.name for path in EVENTS_DIR.glob("*.json") if not path.name.startswith("sns-"))


# --------------------------------------------------------------------------------------------------------------
# OpenSearch's dynamic mapping, as documented
# --------------------------------------------------------------------------------------------------------------

# strict_date_optional_time: a year (4 or more digits) at least, then optional month, day, time and offset.
STRICT_DATE_OPTIONAL_TIME = re.compile(
    r"^[+-]?\d{4,10}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$")
SLASHED_DATE = re.compile(r"^\d{4}/\d{2}/\d{2}( \d{2}:\d{2}:\d{2})? [+-]\d{4}$")


def detected_as_date(text):
    return bool(STRICT_DATE_OPTIONAL_TIME.match(text) or SLASHED_DATE.match(text))


def dynamic_types(value, path="", found=None):
    """{field path: type} that dynamic mapping gives one document's fields."""
    found = {} if found is None else found
    if value is None:
        return found
    if isinstance(value, bool):
        found[path] = "boolean"
    elif isinstance(value, int):
        found[path] = "long"
    elif isinstance(value, float):
        found[path] = "float"
    elif isinstance(value, str):
        found[path] = "date" if detected_as_date(value) else "text"
    elif isinstance(value, dict):
        if path:
            found[path] = "object"
        for name, item in value.items():
            dynamic_types(item, f"{path}.{name}" if path else name, found)
    elif isinstance(value, list):
        for item in value:
            dynamic_types(item, path, found)
    else:
        raise TypeError(f"not JSON: {value!r}")
    return found


def conflicts(documents):
    """{field path: sorted types} for every path that gets more than one type across the documents."""
    seen = {}
    for document in documents:
        # One document that is inconsistent with itself (an array of mixed types) conflicts as well.
        per_document = {}
        dynamic_types_collect(document, "", per_document)
        for path, types in per_document.items():
            seen.setdefault(path, set()).update(types)
    return {path: sorted(types) for path, types in seen.items() if len(types) > 1}


def dynamic_types_collect(value, path, found):
    """Like dynamic_types, but keeps every type a path gets within the document (arrays can mix them)."""
    if isinstance(value, list):
        for item in value:
            dynamic_types_collect(item, path, found)
    elif isinstance(value, dict):
        if path:
            found.setdefault(path, set()).add("object")
        for name, item in value.items():
            dynamic_types_collect(item, f"{path}.{name}" if path else name, found)
    else:
        for field_path, field_type in dynamic_types(value, path).items():
            found.setdefault(field_path, set()).add(field_type)


def test_the_mapping_rules_follow_the_documented_types():
    document = {"a": "x", "b": 1, "c": 1.5, "d": True, "e": None, "f": {"g": "2024-06-01T09:15:42Z"}, "h": ["y"],
                "i": "2024/06/01 09:15:42 +0000", "j": "123456789012", "k": "2024"}
    assert dynamic_types(document) == {"a": "text", "b": "long", "c": "float", "d": "boolean", "f": "object",
                                       "f.g": "date", "h": "text", "i": "date", "j": "text", "k": "date"}
    assert conflicts([{"bucket": {"name": "b"}}, {"bucket": "b"}]) == {"bucket": ["object", "text"]}
    assert conflicts([{"mixed": [1, "x"]}]) == {"mixed": ["long", "text"]}


# --------------------------------------------------------------------------------------------------------------
# The events the audit rules forward
# --------------------------------------------------------------------------------------------------------------

def datasync_events():
    """DataSync's EventBridge events ("Monitoring events from AWS DataSync", DataSync User Guide): task
    execution, task, agent and location state changes, each with a one-field detail."""
    execution = json.loads((PYTHON_EVENTS_DIR / "datasync-task-execution-state-change.json").read_text())
    task = copy.deepcopy(execution)
    task.update({"detail-type": "DataSync Task State Change", "detail": {"State": "AVAILABLE"},
                 "resources": ["arn:aws:datasync:us-west-2:123456789012:task/task-07d1c4e9a2b3f5e60"]})
    agent = copy.deepcopy(execution)
    agent.update({"detail-type": "DataSync Agent State Change", "detail": {"State": "ONLINE"},
                  "resources": ["arn:aws:datasync:us-west-2:123456789012:agent/agent-0b0addbeef44baca3"]})
    location = copy.deepcopy(execution)
    location.update({"detail-type": "DataSync Location State Change", "detail": {"State": "ADDED"},
                     "resources": ["arn:aws:datasync:us-west-2:123456789012:location/loc-0f01451b140b2af49"]})
    return [execution, task, agent, location]


@pytest.fixture
def pipeline_events(aws, monkeypatch):
    """The pipeline's own events, as its handlers put them on the default bus (read back through a moto rule)."""
    audit = AuditCapture()
    alerts = AlertCapture()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})

    # Glue trigger: an object arrived under incoming/.
    monkeypatch.setenv("GLUE_JOB_NAME", JOB_NAME)
    monkeypatch.setenv("VALIDATION_TOPIC_ARN", alerts.topic_arn)
    boto3.client("glue", region_name=REGION).create_job(
        Name=JOB_NAME, Role="arn:aws:iam::123456789012:role/glue-validation",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/validate.py"}, ExecutionProperty={"MaxConcurrentRuns": 5})
    glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    # The Glue job's own audit event, through the script's real record_result (the reference profiler stands in for Spark).
    source = validate.Source(BUCKET, "incoming/sales/2024-06-01/orders batch 2.csv", None)
    s3.put_object(Bucket=BUCKET, Key=source.key, Body=b"id,total\n1,\n")
    settings = validate.Settings(topic_arn=alerts.topic_arn, report_prefix="reports/")
    rules = validate.Rules(("id", "total"), ("total",), ("id",), 1)
    for checked_rules in (rules, validate.Rules(("id",), (), (), 1)):
        profile, result = validate.validate_source(
            source, checked_rules, lambda src, fmt, chk: reference_profiler.profile_object(s3, src, fmt, chk))
        validate.record_result(s3, boto3.client("sns", region_name=REGION), boto3.client("events", region_name=REGION),
                               settings, source, checked_rules, profile, result, "jr_42")

    # Step Functions trigger: a file passed validation.
    state_machine_arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="migration-pipeline-migrate",
        definition=json.dumps({"StartAt": "Migrate", "States": {"Migrate": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/migration-state-machine")["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", state_machine_arn)
    step_function_trigger.handler(load_event("sns-validation-passed.json"), None)

    # Remediation: an object was deleted, and a file failed validation (quarantine).
    monkeypatch.setenv("ALERT_TOPIC_ARN", alerts.topic_arn)
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    remediation.handler(load_event("s3-object-deleted.json"), None)
    failed = load_event("sns-validation-failed.json")
    message = json.loads(failed["Records"][0]["Sns"]["Message"])
    s3.put_object(Bucket=BUCKET, Key=message["reportKey"], Body=b'{"outcome": "FAILED"}')
    version = s3.put_object(Bucket=BUCKET, Key=message["key"], Body=b"id,total\n1,\n")["VersionId"]
    message["versionId"] = version
    failed["Records"][0]["Sns"]["Message"] = json.dumps(message)
    remediation.handler(failed, None)

    events = audit.read()
    for event in events:
        # moto's delivered events lack `account`, which EventBridge always sets ("Amazon EventBridge events",
        # EventBridge User Guide).
        event.setdefault("account", ACCOUNT)
    detail_types = {event["detail-type"] for event in events}
    assert detail_types == {"Glue Validation Started", "Validation Result", "Migration Execution Started",
                            "Remediation Action"}, detail_types
    return events


@pytest.fixture
def forwarded_events(pipeline_events):
    samples = [load_event(name) for name in AWS_SAMPLES]
    samples.append(json.loads((PYTHON_EVENTS_DIR / "pipeline-validation-result.json").read_text()))
    assert {event["source"] for event in samples} == {"aws.s3", "aws.glue", "aws.dms", "aws.states", "migration.pipeline"}
    return samples + datasync_events() + pipeline_events


def date_like_pipeline_event():
    """A legal pipeline event whose bucket, key and outcome-like strings read as dates to date detection."""
    event = json.loads((PYTHON_EVENTS_DIR / "pipeline-validation-result.json").read_text())
    event["detail"].update({"bucket": "2024-06-01", "key": "2024", "outcome": "2024/06/01 00:00:00 +0000"})
    return event


def firehose_input(events):
    return {
        "invocationId": "invocation-1",
        "deliveryStreamArn": "arn:aws:firehose:us-west-2:123456789012:deliverystream/migration-audit-dev",
        "region": REGION,
        "records": [{
            "recordId": f"record-{index}",
            "approximateArrivalTimestamp": 1717233342000,
            "data": base64.b64encode(json.dumps(event).encode("utf-8")).decode("ascii"),
        } for index, event in enumerate(events)],
    }


def indexed_documents(events):
    answer = audit_envelope.handler(firehose_input(events), None)
    assert [record["result"] for record in answer["records"]] == ["Ok"] * len(events)
    return [json.loads(base64.b64decode(record["data"])) for record in answer["records"]]


# --------------------------------------------------------------------------------------------------------------
# The mapping check
# --------------------------------------------------------------------------------------------------------------

def test_raw_events_conflict_in_one_index(forwarded_events):
    # What the stream indexed before the envelope: S3's detail.bucket is an object, the pipeline's a string.
    found = conflicts(forwarded_events)
    assert found["detail.bucket"] == ["object", "text"]
    assert "detail.outcome" in conflicts(forwarded_events + [date_like_pipeline_event()])


def test_enveloped_events_never_conflict(forwarded_events):
    documents = indexed_documents(forwarded_events + [date_like_pipeline_event()])

    assert conflicts(documents) == {}
    # And every document keeps the same few top-level fields with fixed types.
    types = {}
    for document in documents:
        for path, field_type in dynamic_types(document).items():
            types.setdefault(path, set()).add(field_type)
    assert {path: sorted(t) for path, t in types.items()} == {
        "time": ["date"], "id": ["text"], "source": ["text"], "detail-type": ["text"], "account": ["text"],
        "region": ["text"], "resources": ["text"], "pipeline": ["text"], "bucket": ["text"], "key": ["text"],
        "status": ["text"], "detail_json": ["text"],
    }


def test_each_event_order_gives_the_same_mapping(forwarded_events):
    # The first document decides a field's type; the envelope's types do not depend on which comes first.
    documents = indexed_documents(forwarded_events)
    forward = {path: t for document in documents for path, t in dynamic_types(document).items()}
    backward = {path: t for document in reversed(documents) for path, t in dynamic_types(document).items()}
    assert forward == backward


def test_the_envelope_keeps_the_whole_detail_and_the_filter_fields(forwarded_events):
    documents = indexed_documents(forwarded_events)
    for event, document in zip(forwarded_events, documents):
        assert json.loads(document["detail_json"]) == event["detail"]
        assert (document["source"], document["detail-type"], document["account"], document["region"]) == (
            event["source"], event["detail-type"], event["account"], event["region"])
        assert document["resources"] == event["resources"]
    def first(detail_type):
        return next(document for document in documents if document["detail-type"] == detail_type)

    assert (first("Object Created")["bucket"], first("Object Created")["key"]) == (
        BUCKET, "incoming/sales/2024-06-01/orders+batch+1.csv")
    assert (first("Glue Validation Started")["bucket"], first("Glue Validation Started")["pipeline"]) == (
        BUCKET, "migration-pipeline")
    assert first("Glue Job State Change")["status"] in {"FAILED", "SUCCEEDED", "TIMEOUT"}
    assert first("DMS Replication Task State Change")["status"].startswith("REPLICATION_TASK_")
    assert first("DataSync Task Execution State Change")["status"] == "SUCCESS"
    assert first("Remediation Action")["status"] in {"SUCCEEDED", "ALERTED", "ALREADY_DONE", "FAILED", "SKIPPED"}


def test_strings_that_date_detection_would_take_stay_only_in_detail_json():
    [document] = indexed_documents([date_like_pipeline_event()])

    assert "bucket" not in document and "key" not in document and "status" not in document
    assert json.loads(document["detail_json"])["bucket"] == "2024-06-01"
    assert document["pipeline"] == "migration-pipeline"


# --------------------------------------------------------------------------------------------------------------
# The Firehose record contract
# --------------------------------------------------------------------------------------------------------------

def encoded(value):
    return base64.b64encode(value if isinstance(value, bytes) else json.dumps(value).encode("utf-8")).decode("ascii")


def test_ok_records_keep_their_id_and_carry_base64_json():
    event = load_event("glue-job-failed.json")
    answer = audit_envelope.handler({"records": [{"recordId": "49546986683135544286507457936321625675700192471156785154",
                                                  "approximateArrivalTimestamp": 1717233342000, "data": encoded(event)}]}, None)

    [record] = answer["records"]
    assert set(record) == {"recordId", "result", "data"}
    assert record["recordId"] == "49546986683135544286507457936321625675700192471156785154"
    assert record["result"] == "Ok"
    document = json.loads(base64.b64decode(record["data"], validate=True).decode("utf-8"))
    assert document["time"] == event["time"]
    assert json.loads(document["detail_json"]) == event["detail"]


@pytest.mark.parametrize("data", [
    "not base64!",
    encoded(b"\xff\xfe not utf-8"),
    encoded(b"{not json"),
    encoded(["a", "list"]),
    encoded({"detail-type": "Object Created", "detail": {}}),  # no source
    encoded({"source": "aws.s3", "detail-type": "Object Created", "detail": "a string"}),
    encoded({"source": 7, "detail-type": "Object Created", "detail": {}}),
])
def test_records_that_are_not_events_fail_processing_with_their_data_unchanged(data):
    good = encoded(load_event("s3-object-deleted.json"))
    answer = audit_envelope.handler({"records": [
        {"recordId": "a", "approximateArrivalTimestamp": 1, "data": good},
        {"recordId": "b", "approximateArrivalTimestamp": 1, "data": data},
        {"recordId": "c", "approximateArrivalTimestamp": 1, "data": good},
    ]}, None)

    assert [(r["recordId"], r["result"]) for r in answer["records"]] == [("a", "Ok"), ("b", "ProcessingFailed"), ("c", "Ok")]
    # Firehose writes ProcessingFailed records to the backup bucket as they came: nothing is lost.
    assert answer["records"][1]["data"] == data


@pytest.mark.parametrize("time, expected", [
    ("2024-06-01T09:15:42Z", "2024-06-01T09:15:42Z"),
    ("2024-06-01T11:15:42.123+02:00", "2024-06-01T09:15:42Z"),
    ("2024-06-01T09:15:42", "2024-06-01T09:15:42Z"),
    ("yesterday", "2024-06-01T09:15:42Z"),  # unreadable: the arrival time
    (None, "2024-06-01T09:15:42Z"),
])
def test_time_is_always_the_same_date_format(time, expected):
    event = load_event("s3-object-created-incoming.json")
    if time is None:
        del event["time"]
    else:
        event["time"] = time

    assert audit_envelope.to_envelope(event, arrival_millis=1717233342000)["time"] == expected


def test_an_empty_batch_is_answered_with_no_records():
    assert audit_envelope.handler({"records": []}, None) == {"records": []}


def test_processor_file_only_uses_the_standard_library():
    tree = ast.parse((RUNTIME_DIR / "audit_envelope.py").read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules == {"base64", "binascii", "json", "re", "datetime"}


# --------------------------------------------------------------------------------------------------------------
# The synthesized stream runs exactly this processor
# --------------------------------------------------------------------------------------------------------------

def test_the_delivery_stream_transforms_with_this_processor():
    template = load_template("LoggingStack")
    [stream] = resources_of_type(template, "AWS::KinesisFirehose::DeliveryStream").values()
    processing = stream["Properties"]["AmazonopensearchserviceDestinationConfiguration"]["ProcessingConfiguration"]
    assert processing["Enabled"] is True
    [processor] = processing["Processors"]
    assert processor["Type"] == "Lambda"
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    function_id = parameters["LambdaArn"]["Fn::GetAtt"][0]
    # A 1 MB batch keeps the (larger) envelopes under Lambda's 6 MB synchronous response.
    assert (parameters["BufferSizeInMBs"], parameters["BufferIntervalInSeconds"]) == ("1", "60")
    function = template["Resources"][function_id]["Properties"]
    assert function["Code"]["ZipFile"] == (RUNTIME_DIR / "audit_envelope.py").read_text()
    assert function["Handler"] == "index.handler"
    log_group = template["Resources"][function["LoggingConfig"]["LogGroup"]["Ref"]]
    assert "KmsKeyId" in log_group["Properties"]
    policies = [p for p in resources_of_type(template, "AWS::IAM::Policy").values()
                if "DeliveryRole" in json.dumps(p["Properties"]["Roles"])]
    invoke = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]
              if "lambda:InvokeFunction" in s["Action"]]
    assert invoke == [{"Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], "Effect": "Allow",
                       "Resource": {"Fn::GetAtt": [function_id, "Arn"]}}]
