"""glue_trigger: S3 Object Created (EventBridge) -> Glue validation job run, executed against moto."""

import datetime
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.moto_api import state_manager

import glue_trigger
from pipeline_helpers import REGION, PartiallyStubbedClient, json_logs, load_event

JOB_NAME = "migration-pipeline-validation"
TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:migration-pipeline-validation"
BUCKET = "migration-pipeline-data-123456789012-us-west-2"
DECODED_KEY = "incoming/sales/2024-06-01/orders batch 1.csv"
VERSION_ID = "Hk3tq8Zr1pXb2GmV.d9yWn4eLc7Jf0Ao"


@pytest.fixture
def glue_job(aws, monkeypatch):
    monkeypatch.setenv("GLUE_JOB_NAME", JOB_NAME)
    monkeypatch.setenv("VALIDATION_TOPIC_ARN", TOPIC_ARN)
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(Name=JOB_NAME, Role="arn:aws:iam::123456789012:role/glue-validation",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/validate.py"},
                    ExecutionProperty={"MaxConcurrentRuns": 1})
    return glue


def job_runs(glue):
    return glue.get_job_runs(JobName=JOB_NAME)["JobRuns"]


def created_event(key="incoming/sales/2024-06-01/orders+batch+1.csv", version_id=VERSION_ID):
    event = load_event("s3-object-created-incoming.json")
    event["detail"]["object"]["key"] = key
    if version_id is None:
        del event["detail"]["object"]["version-id"]
    else:
        event["detail"]["object"]["version-id"] = version_id
    return event


def test_starts_the_validation_job_with_the_decoded_key(glue_job, audit_events):
    result = glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    runs = job_runs(glue_job)
    assert len(runs) == 1
    assert result == {"jobRunId": runs[0]["Id"], "skipped": False}
    assert runs[0]["Arguments"] == {
        "--source_bucket": BUCKET,
        "--source_key": DECODED_KEY,
        "--source_version": VERSION_ID,
        "--validation_topic_arn": TOPIC_ARN,
        "--report_prefix": "reports/",
    }
    [event] = audit_events.read()
    assert event["detail-type"] == "Glue Validation Started"
    assert event["detail"] == {
        "pipeline": "migration-pipeline", "action": "START_VALIDATION", "outcome": "STARTED",
        "bucket": BUCKET, "key": DECODED_KEY, "sourceVersion": VERSION_ID,
        "jobName": JOB_NAME, "jobRunId": runs[0]["Id"],
    }


def test_prefixes_and_pipeline_name_come_from_the_environment(glue_job, audit_events, monkeypatch):
    monkeypatch.setenv("INCOMING_PREFIX", "landing/")
    monkeypatch.setenv("REPORT_PREFIX", "validation-reports/")
    monkeypatch.setenv("PIPELINE_NAME", "orders-migration")

    glue_trigger.handler(created_event(key="landing/orders.csv"), None)

    [run] = job_runs(glue_job)
    assert run["Arguments"]["--source_key"] == "landing/orders.csv"
    assert run["Arguments"]["--report_prefix"] == "validation-reports/"
    assert audit_events.read()[0]["detail"]["pipeline"] == "orders-migration"


def test_falls_back_to_the_etag_when_the_event_has_no_version_id(glue_job):
    glue_trigger.handler(created_event(version_id=None), None)

    [run] = job_runs(glue_job)
    assert run["Arguments"]["--source_version"] == "b1946ac92492d2347c6235b4d2611184"


def test_redelivered_event_does_not_start_a_second_run(glue_job, audit_events):
    event = load_event("s3-object-created-incoming.json")

    first = glue_trigger.handler(event, None)
    second = glue_trigger.handler(event, None)

    assert len(job_runs(glue_job)) == 1
    assert second == {"jobRunId": first["jobRunId"], "skipped": True}
    outcomes = [event["detail"]["outcome"] for event in audit_events.read()]
    assert outcomes == ["STARTED", "ALREADY_STARTED"]


def test_redelivery_while_the_first_run_is_still_starting_is_skipped(glue_job):
    # Keep runs in STARTING so the duplicate check sees an active (not finished) run.
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 1000})
    event = load_event("s3-object-created-incoming.json")

    first = glue_trigger.handler(event, None)
    second = glue_trigger.handler(event, None)

    [run] = job_runs(glue_job)
    assert run["JobRunState"] == "STARTING"
    assert second == {"jobRunId": first["jobRunId"], "skipped": True}


def test_a_new_version_of_the_same_key_is_validated_again(glue_job):
    glue_trigger.handler(created_event(version_id="version-1"), None)
    result = glue_trigger.handler(created_event(version_id="version-2"), None)

    assert result["skipped"] is False
    versions = sorted(run["Arguments"]["--source_version"] for run in job_runs(glue_job))
    assert versions == ["version-1", "version-2"]


def test_a_failed_earlier_run_for_the_same_object_does_not_block_a_new_one(glue_job):
    # moto cannot put a run into FAILED, so GetJobRuns alone is stubbed; StartJobRun still hits moto.
    glue = PartiallyStubbedClient("glue", ["get_job_runs"])
    glue.stubber.add_response("get_job_runs", {"JobRuns": [{
        "Id": "jr_failed", "JobRunState": "FAILED",
        "Arguments": {"--source_bucket": BUCKET, "--source_key": DECODED_KEY, "--source_version": VERSION_ID},
    }]}, {"JobName": JOB_NAME, "MaxResults": 200})
    glue_trigger._clients["glue"] = glue

    result = glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    assert result["skipped"] is False
    assert result["jobRunId"] != "jr_failed"
    assert glue.calls == ["get_job_runs", "start_job_run"]
    assert [run["Id"] for run in job_runs(glue_job)] == [result["jobRunId"]]
    glue.stubber.assert_no_pending_responses()


def test_concurrent_runs_exceeded_is_logged_and_re_raised(glue_job, capsys):
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 1000})
    glue_job.start_job_run(JobName=JOB_NAME, Arguments={"--source_key": "incoming/another.csv"})

    with pytest.raises(ClientError) as raised:
        glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    assert raised.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    error_logs = [line for line in json_logs(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert error_logs[0]["errorCode"] == "ConcurrentRunsExceededException"
    assert error_logs[0]["retryable"] is True
    assert len(job_runs(glue_job)) == 1


def test_throttling_is_re_raised_so_lambda_retries(glue_job, audit_events):
    # moto never throttles: StartJobRun alone is stubbed with the error.
    glue = PartiallyStubbedClient("glue", ["start_job_run"])
    glue.stubber.add_client_error("start_job_run", service_error_code="ThrottlingException",
                                  service_message="Rate exceeded", http_status_code=400)
    glue_trigger._clients["glue"] = glue

    with pytest.raises(ClientError) as raised:
        glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert audit_events.read() == []


def test_an_unwritable_audit_bus_does_not_fail_the_start(glue_job, monkeypatch, capsys):
    monkeypatch.setenv("AUDIT_EVENT_BUS", "bus-that-does-not-exist")

    result = glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    assert result["skipped"] is False
    assert len(job_runs(glue_job)) == 1
    warnings = [line for line in json_logs(capsys.readouterr().out) if line["level"] == "WARN"]
    assert warnings[0]["message"] == "could not emit audit event"
    assert "bus-that-does-not-exist" in warnings[0]["error"]


def test_audit_events_go_to_the_configured_bus(glue_job, monkeypatch):
    from pipeline_helpers import AuditCapture
    boto3.client("events", region_name=REGION).create_event_bus(Name="pipeline-audit")
    capture = AuditCapture("pipeline-audit")
    monkeypatch.setenv("AUDIT_EVENT_BUS", "pipeline-audit")

    glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    assert [event["detail"]["outcome"] for event in capture.read()] == ["STARTED"]


def test_folder_placeholder_objects_are_skipped(glue_job):
    result = glue_trigger.handler(created_event(key="incoming/sales/2024-06-02/"), None)

    assert result == {"jobRunId": None, "skipped": True}
    assert job_runs(glue_job) == []


def broken(mutate):
    event = load_event("s3-object-created-incoming.json")
    mutate(event)
    return event


@pytest.mark.parametrize("event, reason", [
    (broken(lambda e: e.update(source="aws.glue")), "expected an aws.s3 'Object Created' event"),
    (broken(lambda e: e.update({"detail-type": "Object Deleted"})), "expected an aws.s3 'Object Created' event"),
    (broken(lambda e: e["detail"].pop("bucket")), "event has no detail.bucket.name"),
    (broken(lambda e: e["detail"]["object"].pop("key")), "event has no detail.object.key"),
    (broken(lambda e: e.pop("detail")), "event has no detail.bucket.name"),
    (broken(lambda e: e["detail"]["object"].update(key="reports/orders.csv.json")),
     "object key is outside the incoming prefix"),
    (broken(lambda e: [e["detail"]["object"].pop(field) for field in ("version-id", "etag")]),
     "event has neither detail.object.version-id nor detail.object.etag"),
    (broken(lambda e: e["detail"].update(padding="x" * (256 * 1024))), "event is larger than 256 KB"),
    (["not", "an", "event"], "expected a JSON object, got list"),
])
def test_malformed_events_are_rejected_with_a_value_error(glue_job, audit_events, capsys, event, reason):
    with pytest.raises(glue_trigger.InvalidEventError, match=reason) as raised:
        glue_trigger.handler(event, None)

    assert isinstance(raised.value, ValueError)
    assert job_runs(glue_job) == []
    assert audit_events.read() == []
    [log_line] = json_logs(capsys.readouterr().out)
    assert log_line["level"] == "ERROR"
    assert log_line["message"] == f"rejected event: {reason}"


def test_the_sample_for_the_reports_prefix_is_rejected(glue_job):
    with pytest.raises(ValueError, match="outside the incoming prefix"):
        glue_trigger.handler(load_event("s3-object-created-reports.json"), None)


def test_missing_configuration_fails_loudly(aws):
    with pytest.raises(RuntimeError, match="GLUE_JOB_NAME"):
        glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)


def test_every_log_line_is_one_json_object(glue_job, capsys):
    glue_trigger.handler(load_event("s3-object-created-incoming.json"), None)

    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    parsed = [json.loads(line) for line in lines]
    assert [line["message"] for line in parsed] == ["validation job started"]
    assert parsed[0]["handler"] == "glue-trigger"
    assert parsed[0]["key"] == DECODED_KEY


@pytest.mark.parametrize(("time", "expected"), [
    ("2024-06-01T09:00:00Z", datetime.datetime(2024, 6, 1, 9, 0, tzinfo=datetime.timezone.utc)),
    ("2024-06-01T09:00:00", datetime.datetime(2024, 6, 1, 9, 0, tzinfo=datetime.timezone.utc)),  # no zone: UTC
    ("2024-06-01T11:00:00+02:00", datetime.datetime(2024, 6, 1, 9, 0, tzinfo=datetime.timezone.utc)),
    ("yesterday", None),
    (None, None),
])
def test_the_event_time_is_read_as_an_aware_utc_time(time, expected):
    event = {} if time is None else {"time": time}

    parsed = glue_trigger.event_time(event)

    assert parsed == expected
    assert parsed is None or parsed.utcoffset() is not None
