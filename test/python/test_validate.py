"""Tests for the Glue validation script (src/runtime/validate.py); the job tests run main() in local Spark."""

import json
import logging
import os
import sys
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "src", "runtime"))

import reference_profiler  # noqa: E402
import validate  # noqa: E402
from local_glue import run_glue_main  # noqa: E402
from validate import FAILED, PASSED, Rules, Source  # noqa: E402

REGION = "us-west-2"
BUCKET = "landing-bucket"
CHECKED_AT = datetime(2024, 5, 17, 8, 30, 0, tzinfo=timezone.utc)


def write_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path.read_bytes()


def profile_of(**overrides):
    profile = {"format": "csv", "rowCount": 3, "columns": ["id", "name"], "nullCounts": {}, "duplicateCount": None}
    profile.update(overrides)
    return profile


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


def test_optional_arguments_default_when_absent():
    values = validate.read_optional_arguments(["script.py", "--JOB_NAME", "validate"])
    assert values == {
        "expected_columns": "", "required_columns": "", "unique_key_columns": "", "min_rows": "",
        "audit_event_bus": "default", "pipeline_name": "migration-pipeline", "incoming_prefix": "incoming/",
    }


def test_optional_arguments_read_separate_inline_and_empty_values():
    argv = [
        "script.py",
        "--expected_columns", "id, name ,email",
        "--min_rows=5",
        "--required_columns", "",
        "--unique_key_columns",
        "--audit_event_bus", "",
        "--pipeline_name", "orders",
    ]
    values = validate.read_optional_arguments(argv)
    assert values["expected_columns"] == "id, name ,email"
    assert values["min_rows"] == "5"
    assert values["required_columns"] == ""
    assert values["unique_key_columns"] == ""
    assert values["audit_event_bus"] == "default"
    assert values["pipeline_name"] == "orders"
    assert values["incoming_prefix"] == "incoming/"


def test_rules_from_arguments_turn_empty_rules_off():
    rules = validate.rules_from_arguments({"expected_columns": "id,,name ", "required_columns": "", "min_rows": ""})
    assert rules == Rules(expected_columns=("id", "name"), required_columns=(), unique_key_columns=(), min_rows=None)


@pytest.mark.parametrize("value, message", [("ten", "whole number"), ("-1", "must not be negative")])
def test_min_rows_rejects_bad_values(value, message):
    with pytest.raises(ValueError, match=message):
        validate.parse_min_rows(value)


@pytest.mark.parametrize("value, expected", [("3Lg.x_1", "3Lg.x_1"), ("", None), ("null", None), ("None", None)])
def test_normalize_version_id(value, expected):
    assert validate.normalize_version_id(value) == expected


def test_region_from_arn():
    assert validate.region_from_arn("arn:aws:sns:eu-central-1:123456789012:validation") == "eu-central-1"
    assert validate.region_from_arn("not-an-arn") is None


# --------------------------------------------------------------------------
# Formats and profiling
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, expected",
    [
        ("incoming/a.csv", "csv"),
        ("incoming/A.CSV", "csv"),
        ("incoming/b.Json", "json"),
        ("incoming/c.jsonl", "json"),
        ("incoming/d.PARQUET", "parquet"),
        ("incoming/e.xlsx", None),
        ("incoming/noextension", None),
        ("incoming/trap.csv.gz", None),
    ],
)
def test_file_format_of(key, expected):
    assert validate.file_format_of(key) == expected


def test_csv_profile(tmp_path):
    data = write_file(tmp_path, "orders.csv", 'id,name,region\n1,Ann,eu\n2,,us\n2,"Lee, Bo",us\n\n3, ,eu\n')
    rules = Rules(required_columns=("name", "absent"), unique_key_columns=("id",))
    profile = reference_profiler.profile_bytes(data, "csv", rules)
    assert profile == {
        "format": "csv",
        "rowCount": 4,
        "columns": ["id", "name", "region"],
        "nullCounts": {"name": 2},
        "duplicateCount": 1,
    }


def test_csv_profile_of_header_only_and_empty_files(tmp_path):
    header_only = write_file(tmp_path, "header.csv", "id,name\n")
    empty = write_file(tmp_path, "empty.csv", "")
    assert reference_profiler.profile_bytes(header_only, "csv", Rules())["rowCount"] == 0
    assert reference_profiler.profile_bytes(header_only, "csv", Rules())["columns"] == ["id", "name"]
    assert reference_profiler.profile_bytes(empty, "csv", Rules())["columns"] == []


def test_csv_with_ragged_record_is_unreadable(tmp_path):
    data = write_file(tmp_path, "ragged.csv", "id,name\n1,Ann\n2,Bo,extra\n")
    with pytest.raises(ValueError, match="CSV record 3 has 3 fields but the header has 2"):
        reference_profiler.profile_bytes(data, "csv", Rules())


def test_json_lines_profile(tmp_path):
    data = write_file(
        tmp_path,
        "events.jsonl",
        '{"id": 1, "name": "Ann"}\n\n{"id": 2, "name": null, "tags": ["a"]}\n{"id": 2, "name": "  "}\n',
    )
    rules = Rules(required_columns=("name",), unique_key_columns=("id",))
    profile = reference_profiler.profile_bytes(data, "json", rules)
    assert profile == {
        "format": "json",
        "rowCount": 3,
        "columns": ["id", "name", "tags"],
        "nullCounts": {"name": 2},
        "duplicateCount": 1,
    }


def test_json_array_profile(tmp_path):
    data = write_file(
        tmp_path,
        "customers.json",
        '\n  [\n  {"id": 1, "address": {"city": "Oslo"}},\n  {"id": 2, "address": {"city": "Oslo"}},\n'
        '  {"id": 3}\n]\n',
    )
    rules = Rules(required_columns=("address",), unique_key_columns=("address",))
    profile = reference_profiler.profile_bytes(data, "json", rules)
    assert profile == {
        "format": "json",
        "rowCount": 3,
        "columns": ["address", "id"],  # in name order, as Spark's schema inference gives them
        "nullCounts": {"address": 1},
        "duplicateCount": 1,
    }


def test_json_record_that_is_not_an_object_is_unreadable(tmp_path):
    data = write_file(tmp_path, "numbers.json", "[1, 2]")
    with pytest.raises(ValueError, match="JSON record 1 is not an object"):
        reference_profiler.profile_bytes(data, "json", Rules())


@pytest.mark.parametrize("head, layout", [(b'\xef\xbb\xbf [{"a": 1}]', "array"), (b'{"a": 1}\n', "lines"), (b"", "lines")])
def test_json_layout(head, layout):
    assert validate.json_layout(head) == layout


def test_pure_profiler_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="cannot read xlsx"):
        reference_profiler.profile_bytes(b"PK", "xlsx", Rules())


# --------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------


def test_expected_columns_rule():
    assert validate.check_expected_columns(profile_of(), ("id", "name")) == []
    assert validate.check_expected_columns(profile_of(), ("id", "email", "phone")) == [
        "Missing expected columns: email, phone"
    ]


def test_required_columns_rule():
    assert validate.check_required_columns(profile_of(nullCounts={"id": 0}), ("id",)) == []
    findings = validate.check_required_columns(profile_of(nullCounts={"id": 1, "name": 2}), ("id", "name", "email"))
    assert findings == [
        "Required column id has 1 null or empty value",
        "Required column name has 2 null or empty values",
        "Required column email is missing",
    ]


def test_unique_key_rule():
    assert validate.check_unique_key(profile_of(duplicateCount=0), ("id",)) == []
    assert validate.check_unique_key(profile_of(duplicateCount=2), ("id", "name")) == [
        "Unique key (id, name) has 2 duplicate rows"
    ]
    assert validate.check_unique_key(profile_of(), ("id", "order_no")) == ["Unique key columns missing: order_no"]
    assert validate.check_unique_key(profile_of(duplicateCount=5), ()) == []


def test_min_rows_rule():
    assert validate.check_min_rows(profile_of(rowCount=3), 3) == []
    assert validate.check_min_rows(profile_of(rowCount=3), None) == []
    assert validate.check_min_rows(profile_of(rowCount=1), 3) == ["File has 1 row; at least 3 required"]


def test_evaluate_passes_when_every_rule_holds():
    rules = Rules(("id", "name"), ("id",), ("id",), 2)
    result = validate.evaluate(profile_of(nullCounts={"id": 0}, duplicateCount=0), rules)
    assert result == validate.Result(outcome=PASSED, findings=(), row_count=3)


def test_evaluate_collects_every_failed_rule():
    rules = Rules(("id", "email"), ("name",), ("id",), 10)
    result = validate.evaluate(profile_of(nullCounts={"name": 1}, duplicateCount=1), rules)
    assert result.outcome == FAILED
    assert result.row_count == 3
    assert result.findings == (
        "Missing expected columns: email",
        "Required column name has 1 null or empty value",
        "Unique key (id) has 1 duplicate row",
        "File has 3 rows; at least 10 required",
    )


# --------------------------------------------------------------------------
# validate_source
# --------------------------------------------------------------------------


def test_unknown_extension_fails_without_reading():
    def profiler(*_):
        raise AssertionError("the profiler must not run for an unsupported file")

    profile, result = validate.validate_source(Source(BUCKET, "incoming/data/book.xlsx"), Rules(), profiler)
    assert profile is None
    assert result == validate.Result(
        outcome=FAILED,
        findings=("Unsupported file type .xlsx for incoming/data/book.xlsx: expected one of .csv, .json, .jsonl, .parquet",),
        row_count=None,
    )


def test_unreadable_file_becomes_a_failed_result():
    def profiler(*_):
        raise ValueError("CSV record 3 has 3 fields but the header has 2")

    profile, result = validate.validate_source(Source(BUCKET, "incoming/x.csv"), Rules(), profiler)
    assert profile is None
    assert result.outcome == FAILED
    assert result.row_count is None
    assert result.findings == (
        "Could not read s3://landing-bucket/incoming/x.csv as csv: CSV record 3 has 3 fields but the header has 2",
    )


def test_validation_stop_message_is_the_finding():
    def profiler(*_):
        raise validate.ValidationStop("the object changed")

    _, result = validate.validate_source(Source(BUCKET, "incoming/x.json"), Rules(), profiler)
    assert result.findings == ("the object changed",)


# --------------------------------------------------------------------------
# Keys and paths
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source_key, report_prefix, expected",
    [
        ("incoming/orders.csv", "reports/", "reports/orders.csv.json"),
        ("incoming/2024/05/eu/orders.csv", "reports/", "reports/2024/05/eu/orders.csv.json"),
        ("incoming/Q1 sales+tax #2 (ü)&=?.csv", "reports/", "reports/Q1 sales+tax #2 (ü)&=?.csv.json"),
        ("incoming/a%20b.csv", "validation/reports", "validation/reports/a%20b.csv.json"),
        ("elsewhere/incoming/x.csv", "reports/", "reports/elsewhere/incoming/x.csv.json"),
    ],
)
def test_report_key_for(source_key, report_prefix, expected):
    assert validate.report_key_for(source_key, "incoming/", report_prefix) == expected


def test_spark_path_escapes_glob_characters():
    source = Source(BUCKET, "incoming/run[1]{a}*?.csv")
    assert validate.spark_path(source) == "s3://landing-bucket/incoming/run\\[1\\]\\{a\\}\\*\\?.csv"
    assert validate.spark_path(Source(BUCKET, "incoming/plain name.csv")) == "s3://landing-bucket/incoming/plain name.csv"


# --------------------------------------------------------------------------
# AWS side-effects against moto
# --------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "sns", "sqs", "events", "cloudwatch")}
        clients["s3"].create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield clients


def make_queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def topic_with_queue(aws):
    topic_arn = aws["sns"].create_topic(Name="validation-results")["TopicArn"]
    queue_url, queue_arn = make_queue(aws["sqs"], "validation-results-listener")
    aws["sns"].subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def audit_bus_with_queue(aws, bus_name="audit-bus"):
    aws["events"].create_event_bus(Name=bus_name)
    queue_url, queue_arn = make_queue(aws["sqs"], "audit-listener")
    aws["events"].put_rule(
        Name="validation-results",
        EventBusName=bus_name,
        EventPattern=json.dumps({"source": ["migration.pipeline"], "detail-type": ["Validation Result"]}),
    )
    aws["events"].put_targets(Rule="validation-results", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue_arn}])
    return queue_url


def receive_one(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1
    return json.loads(messages[0]["Body"])


def read_json_object(s3, key):
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_write_report_with_url_unsafe_key(aws):
    key = "reports/2024/Q1 sales+tax #2 (ü).csv.json"
    validate.write_report(aws["s3"], BUCKET, key, {"outcome": PASSED, "rowCount": 2})
    stored = aws["s3"].get_object(Bucket=BUCKET, Key=key)
    assert stored["ContentType"] == "application/json"
    assert json.loads(stored["Body"].read()) == {"outcome": PASSED, "rowCount": 2}


def test_publish_result_reaches_a_subscribed_queue(aws):
    topic_arn, queue_url = topic_with_queue(aws)
    message = {
        "outcome": FAILED,
        "bucket": BUCKET,
        "key": "incoming/orders.csv",
        "versionId": "v1",
        "reportKey": "reports/orders.csv.json",
        "rowCount": 4,
        "findings": ["Missing expected columns: email"],
        "jobRunId": "jr_1",
    }
    validate.publish_result(aws["sns"], topic_arn, message)
    envelope = receive_one(aws["sqs"], queue_url)
    assert envelope["Subject"] == "Validation FAILED"
    assert json.loads(envelope["Message"]) == message
    assert envelope["MessageAttributes"] == {
        "outcome": {"Type": "String", "Value": "FAILED"},
        "objectKey": {"Type": "String", "Value": "incoming/orders.csv"},
        "bucket": {"Type": "String", "Value": BUCKET},
    }


def test_emit_audit_event_reaches_a_rule_target(aws):
    queue_url = audit_bus_with_queue(aws)
    detail = {"pipeline": "orders", "outcome": PASSED, "key": "incoming/a.csv"}
    assert validate.emit_audit_event(aws["events"], "audit-bus", detail) is True
    event = receive_one(aws["sqs"], queue_url)
    assert event["source"] == "migration.pipeline"
    assert event["detail-type"] == "Validation Result"
    assert event["detail"] == detail


def test_emit_audit_event_failure_is_logged_not_raised(caplog):
    class BrokenEvents:
        def put_events(self, **_):
            raise RuntimeError("AccessDenied for events:PutEvents")

    with caplog.at_level(logging.WARNING, logger="validate"):
        assert validate.emit_audit_event(BrokenEvents(), "audit-bus", {"outcome": PASSED}) is False
    assert caplog.messages == ["Could not emit the audit event to bus audit-bus: AccessDenied for events:PutEvents"]


def test_emit_audit_event_rejected_entry_is_logged_not_raised(caplog):
    class RejectingEvents:
        def put_events(self, **_):
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "Throttled", "ErrorMessage": "slow down"}]}

    with caplog.at_level(logging.WARNING, logger="validate"):
        assert validate.emit_audit_event(RejectingEvents(), "default", {}) is False
    assert caplog.messages == ["EventBridge rejected the audit event on bus default: Throttled slow down"]


def run_main(aws, local_spark, monkeypatch, key, body, rule_arguments, topic_arn, event_bus="audit-bus",
             source_version=None):
    """Put the file into (moto's) S3 and run the Glue script's main() on it in local Spark, as the trigger starts it:
    the source version of an unversioned object is its ETag (or `source_version`, the version an older event named).
    Returns the job main() initialised and committed."""
    etag = aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')
    local_spark.copy_to_spark(aws["s3"], BUCKET, key)
    monkeypatch.setattr(validate, "datetime", FixedClock)
    argv = [
        "validate.py",
        "--JOB_NAME", "migration-validation-dev",
        "--JOB_RUN_ID", "jr_42",
        "--source_bucket", BUCKET,
        "--source_key", key,
        "--source_version", source_version or etag,
        "--validation_topic_arn", topic_arn,
        "--report_prefix", "reports/",
        "--incoming_prefix", "incoming/",
        "--audit_event_bus", event_bus,
        "--pipeline_name", "orders",
        *rule_arguments,
    ]
    return run_glue_main(monkeypatch, local_spark, argv)


class FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return CHECKED_AT


def test_job_records_a_passed_validation(aws, local_spark, monkeypatch):
    topic_arn, topic_queue = topic_with_queue(aws)
    audit_queue = audit_bus_with_queue(aws)
    rules = ["--expected_columns", "id,name", "--required_columns", "id", "--unique_key_columns", "id", "--min_rows", "2"]
    key = "incoming/eu/orders 2024+1.csv"

    job = run_main(aws, local_spark, monkeypatch, key, b"id,name\n1,Ann\n2,Bo\n", rules, topic_arn)

    assert (job.name, job.committed) == ("migration-validation-dev", True)
    report_key = "reports/eu/orders 2024+1.csv.json"
    assert read_json_object(aws["s3"], report_key) == {
        "outcome": PASSED,
        "findings": [],
        "rowCount": 2,
        "profile": {
            "format": "csv",
            "rowCount": 2,
            "columns": ["id", "name"],
            "nullCounts": {"id": 0},
            "duplicateCount": 0,
        },
        "source": {"bucket": BUCKET, "key": key, "versionId": "25b3fe7336221e6e3bfc6b411642f58e"},
        "reportKey": report_key,
        "jobRunId": "jr_42",
        "rules": {"expectedColumns": ["id", "name"], "requiredColumns": ["id"], "uniqueKeyColumns": ["id"], "minRows": 2},
        "checkedAt": "2024-05-17T08:30:00+00:00",
    }
    message = {
        "outcome": PASSED,
        "bucket": BUCKET,
        "key": key,
        "versionId": "25b3fe7336221e6e3bfc6b411642f58e",
        "reportKey": report_key,
        "rowCount": 2,
        "findings": [],
        "jobRunId": "jr_42",
    }
    envelope = receive_one(aws["sqs"], topic_queue)
    assert envelope["Subject"] == "Validation PASSED"
    assert json.loads(envelope["Message"]) == message
    assert envelope["MessageAttributes"]["objectKey"] == {"Type": "String", "Value": key}
    assert receive_one(aws["sqs"], audit_queue)["detail"] == {"pipeline": "orders", **message}


def test_job_records_an_unreadable_file_as_failed(aws, local_spark, monkeypatch):
    topic_arn, topic_queue = topic_with_queue(aws)

    job = run_main(aws, local_spark, monkeypatch, "incoming/broken.json", b'{"id": 1}\n{"id": \n', [], topic_arn)

    assert job.committed is True
    report = read_json_object(aws["s3"], "reports/broken.json.json")
    assert report["outcome"] == FAILED
    assert report["profile"] is None
    assert report["rowCount"] is None
    assert report["findings"] == [
        "Could not read s3://landing-bucket/incoming/broken.json as json: "
        "SparkException: Malformed records are detected in schema inference. Parse Mode: FAILFAST.; "
        "JsonEOFException: Unexpected end-of-input within/between Object entries at [Source: UNKNOWN; line: 1, column: 8]"
    ]
    envelope = receive_one(aws["sqs"], topic_queue)
    assert envelope["Subject"] == "Validation FAILED"
    assert json.loads(envelope["Message"])["findings"] == report["findings"]
    assert envelope["MessageAttributes"]["outcome"] == {"Type": "String", "Value": "FAILED"}


def test_job_still_reports_when_the_audit_bus_is_missing(aws, local_spark, monkeypatch):
    topic_arn, topic_queue = topic_with_queue(aws)

    run_main(aws, local_spark, monkeypatch, "incoming/tiny.jsonl", b'{"id": 1}\n', ["--min_rows", "5"], topic_arn,
             event_bus="no-such-bus")

    assert read_json_object(aws["s3"], "reports/tiny.jsonl.json")["findings"] == ["File has 1 row; at least 5 required"]
    assert json.loads(receive_one(aws["sqs"], topic_queue)["Message"])["outcome"] == FAILED


def test_job_stops_on_a_file_replaced_after_its_event(aws, local_spark, monkeypatch):
    """The event named the first upload; the object now holds a second one, which its own event validates."""
    topic_arn, topic_queue = topic_with_queue(aws)
    first = aws["s3"].put_object(Bucket=BUCKET, Key="incoming/late.csv", Body=b"id\n1\n")["ETag"].strip('"')

    job = run_main(aws, local_spark, monkeypatch, "incoming/late.csv", b"id\n1\n1\n", ["--min_rows", "1"], topic_arn,
                   source_version=first)

    assert job.committed is True
    report = read_json_object(aws["s3"], "reports/late.csv.json")
    assert (report["outcome"], report["profile"], report["rowCount"]) == (FAILED, None, None)
    assert report["findings"] == [
        f"s3://landing-bucket/incoming/late.csv changed after version {first} arrived "
        "(current version is None); the newer version is validated by its own run"
    ]
    assert json.loads(receive_one(aws["sqs"], topic_queue)["Message"])["findings"] == report["findings"]


def files_validated(cloudwatch, outcome):
    """The Sum of MigrationPipeline/FilesValidated for pipeline 'orders' and one outcome, as CloudWatch reports it."""
    now = datetime.now(timezone.utc)
    datapoints = cloudwatch.get_metric_statistics(
        Namespace="MigrationPipeline",
        MetricName="FilesValidated",
        Dimensions=[{"Name": "Pipeline", "Value": "orders"}, {"Name": "Outcome", "Value": outcome}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(point["Sum"] for point in datapoints)


def test_job_counts_every_file_in_the_files_validated_metric(aws, local_spark, monkeypatch):
    topic_arn, _ = topic_with_queue(aws)
    rules = ["--expected_columns", "id", "--min_rows", "1"]

    run_main(aws, local_spark, monkeypatch, "incoming/good-1.csv", b"id\n1\n", rules, topic_arn)
    run_main(aws, local_spark, monkeypatch, "incoming/good-2.csv", b"id\n2\n", rules, topic_arn)
    run_main(aws, local_spark, monkeypatch, "incoming/bad.csv", b"name\nAnn\n", rules, topic_arn)

    assert files_validated(aws["cloudwatch"], PASSED) == 2
    assert files_validated(aws["cloudwatch"], FAILED) == 1


def test_publish_metric_failure_is_logged_not_raised(caplog):
    class BrokenCloudWatch:
        def put_metric_data(self, **_):
            raise RuntimeError("AccessDenied for cloudwatch:PutMetricData")

    with caplog.at_level(logging.WARNING, logger="validate"):
        assert validate.publish_metric(BrokenCloudWatch(), "orders", PASSED) is False
    assert caplog.messages == ["Could not publish the FilesValidated metric: AccessDenied for cloudwatch:PutMetricData"]


def test_source_version_check_on_a_versioned_bucket(aws):
    s3 = aws["s3"]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=BUCKET, Key="incoming/a.csv", Body=b"id\n1\n")["VersionId"]
    second = s3.put_object(Bucket=BUCKET, Key="incoming/a.csv", Body=b"id\n1\n2\n")["VersionId"]

    assert validate.check_source_version(s3, Source(BUCKET, "incoming/a.csv", second)) is None
    assert validate.check_source_version(s3, Source(BUCKET, "incoming/a.csv", None)) is None
    assert validate.check_source_version(s3, Source(BUCKET, "incoming/a.csv", first)) == (
        f"s3://landing-bucket/incoming/a.csv changed after version {first} arrived "
        f"(current version is {second}); the newer version is validated by its own run"
    )


def test_source_version_check_accepts_the_etag_of_an_unversioned_object(aws):
    etag = aws["s3"].put_object(Bucket=BUCKET, Key="incoming/b.csv", Body=b"id\n1\n")["ETag"].strip('"')

    assert validate.check_source_version(aws["s3"], Source(BUCKET, "incoming/b.csv", etag)) is None
    assert validate.check_source_version(aws["s3"], Source(BUCKET, "incoming/b.csv", "0123abcd")) == (
        "s3://landing-bucket/incoming/b.csv changed after version 0123abcd arrived "
        "(current version is None); the newer version is validated by its own run"
    )


def test_read_object_head(aws):
    aws["s3"].put_object(Bucket=BUCKET, Key="incoming/empty.json", Body=b"")
    aws["s3"].put_object(Bucket=BUCKET, Key="incoming/array.json", Body=b'[{"id": 1}]' + b" " * 10000)
    assert validate.read_object_head(aws["s3"], Source(BUCKET, "incoming/empty.json")) == b""
    head = validate.read_object_head(aws["s3"], Source(BUCKET, "incoming/array.json"))
    assert len(head) == 4096
    assert head.startswith(b'[{"id": 1}]')


def test_min_rows_of_zero_is_accepted():
    assert validate.parse_min_rows("0") == 0


def test_every_missing_required_column_is_reported():
    profile = {"columns": ["id"], "nullCounts": {"id": 0}}

    assert validate.check_required_columns(profile, ("name", "email", "id")) == [
        "Required column name is missing", "Required column email is missing"]


def test_every_missing_unique_key_column_is_named():
    profile = {"columns": ["id"], "nullCounts": {}, "duplicateCount": 0}

    assert validate.check_unique_key(profile, ("region", "id", "day")) == ["Unique key columns missing: region, day"]
