"""remediation: every self-healing path, its bound, its idempotency and its alerts, against moto.

moto gaps worked around here (each with botocore's Stubber, for those calls only):
  * DMS AddTagsToResource is not implemented (moto raises NotImplementedError).
  * DMS DescribeReplicationTasks never reports a "failed" status, a StopReason or a
    LastFailureMessage, so the task's state is stubbed; ListTagsForResource and
    StartReplicationTask still run against moto's task.
  * Step Functions RedriveExecution is not implemented, and DescribeExecution has no
    redriveCount/redriveStatus and cannot report a FAILED execution with an error, so both
    calls are stubbed.
"""

import datetime
import hashlib
import json

import boto3
import pytest
from botocore.exceptions import ClientError

import remediation
from pipeline_helpers import ACCOUNT, REGION, PartiallyStubbedClient, json_logs, load_event

BUCKET = "migration-pipeline-data-123456789012-us-west-2"
FAILED_KEY = "incoming/sales/2024-06-01/orders batch 2.csv"
QUARANTINE_KEY = "quarantine/sales/2024-06-01/orders batch 2.csv"
REPORT_KEY = "reports/sales/2024-06-01/orders batch 2.csv.json"
JOB_NAME = "migration-pipeline-validation"
SAMPLE_RUN_ID = load_event("glue-job-failed.json")["detail"]["jobRunId"]
EXECUTION_ARN = load_event("sfn-execution-failed.json")["detail"]["executionArn"]
STATE_MACHINE_ARN = load_event("sfn-execution-failed.json")["detail"]["stateMachineArn"]
TAG = "migration-pipeline:auto-resumes"


@pytest.fixture
def pipeline(aws, alerts, audit_events, monkeypatch):
    """The remediation function's environment: alert topic and versioned data bucket in moto."""
    monkeypatch.setenv("ALERT_TOPIC_ARN", alerts.topic_arn)
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def only(items):
    assert len(items) == 1, items
    return items[0]


# --- Glue -------------------------------------------------------------------------------------

def test_failed_glue_run_is_alerted_and_never_restarted(pipeline, alerts, audit_events):
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(Name=JOB_NAME, Role="arn:aws:iam::123456789012:role/glue",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/validate.py"})

    result = remediation.handler(load_event("glue-job-failed.json"), None)

    alert = only(alerts.read())
    assert alert["subject"] == f"[migration-pipeline] Glue validation FAILED: {JOB_NAME}"
    assert alert["severity"] == "ERROR"
    message = alert["message"]
    assert message["what"] == "Glue validation job run failed"
    assert message["where"] == {"service": "glue", "resource": JOB_NAME, "region": REGION, "account": ACCOUNT}
    assert message["ids"] == {"jobRunId": SAMPLE_RUN_ID}
    assert message["consoleUrl"] == (f"https://us-west-2.console.aws.amazon.com/gluestudio/home?region=us-west-2"
                                     f"#/job/{JOB_NAME}/run/{SAMPLE_RUN_ID}")
    assert message["actionTaken"].startswith("None.")
    assert "re-upload" in message["nextStep"]
    assert "AccessDenied" in message["details"]["error"]
    assert glue.get_job_runs(JobName=JOB_NAME)["JobRuns"] == []  # nothing was restarted
    audit = only(audit_events.read())["detail"]
    assert (audit["trigger"], audit["action"], audit["outcome"], audit["alerted"]) == \
        ("GLUE_JOB_STATE_CHANGE", "ALERT_ONLY", "SUCCEEDED", True)
    assert result == audit


def test_glue_alert_names_the_object_the_run_was_validating(pipeline, alerts):
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(Name=JOB_NAME, Role="arn:aws:iam::123456789012:role/glue",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/validate.py"})
    run_id = glue.start_job_run(JobName=JOB_NAME, Arguments={
        "--source_bucket": BUCKET, "--source_key": FAILED_KEY, "--source_version": "v1"})["JobRunId"]
    event = load_event("glue-job-timeout.json")
    event["detail"]["jobRunId"] = run_id

    remediation.handler(event, None)

    alert = only(alerts.read())
    assert alert["subject"] == f"[migration-pipeline] Glue validation TIMEOUT: {JOB_NAME}"
    assert alert["message"]["details"]["sourceObject"] == {"bucket": BUCKET, "key": FAILED_KEY, "version": "v1"}


@pytest.mark.parametrize("state", ["ERROR", "EXPIRED", "STOPPED"])
def test_every_other_terminal_glue_state_is_alerted_too(pipeline, alerts, audit_events, state):
    # Glue API, JobRunState: ERROR (a trigger ran a deleted job), EXPIRED (a queued run never got resources),
    # STOPPED (someone stopped the run); each leaves the file unvalidated.
    event = load_event("glue-job-failed.json")
    event["detail"]["state"] = state

    remediation.handler(event, None)

    alert = only(alerts.read())
    assert alert["subject"] == f"[migration-pipeline] Glue validation {state}: {JOB_NAME}"
    assert alert["message"]["what"] == f"Glue validation job run {state.lower()}"
    assert only(audit_events.read())["detail"]["action"] == "ALERT_ONLY"


def test_succeeded_glue_run_needs_nothing(pipeline, alerts, audit_events):
    result = remediation.handler(load_event("glue-job-succeeded.json"), None)

    assert result["outcome"] == "IGNORED"
    assert alerts.read() == []
    assert audit_events.read() == []


# --- DMS --------------------------------------------------------------------------------------

def create_dms_task(resume_count=None):
    tags = [{"Key": TAG, "Value": str(resume_count)}] if resume_count is not None else []
    return boto3.client("dms", region_name=REGION).create_replication_task(
        ReplicationTaskIdentifier="migration-pipeline-full-load",
        SourceEndpointArn=f"arn:aws:dms:{REGION}:{ACCOUNT}:endpoint:SOURCE",
        TargetEndpointArn=f"arn:aws:dms:{REGION}:{ACCOUNT}:endpoint:AURORA",
        ReplicationInstanceArn=f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:INSTANCE",
        MigrationType="full-load", TableMappings="{}", Tags=tags,
    )["ReplicationTask"]["ReplicationTaskArn"]


def moto_task_status(task_arn):
    tasks = boto3.client("dms", region_name=REGION).describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}])["ReplicationTasks"]
    return tasks[0]["Status"]


def stub_dms(*operations):
    dms = PartiallyStubbedClient("dms", ("describe_replication_tasks",) + operations)
    remediation._clients["dms"] = dms
    return dms


def expect_describe(dms, task_arn, status, stop_reason=None):
    task = {"ReplicationTaskArn": task_arn, "ReplicationTaskIdentifier": "migration-pipeline-full-load",
            "Status": status, "LastFailureMessage": "Last Error ODBC general error. Task error notification received"}
    if stop_reason:
        task["StopReason"] = stop_reason
    dms.stubber.add_response(
        "describe_replication_tasks", {"ReplicationTasks": [task]},
        {"Filters": [{"Name": "replication-task-arn", "Values": [task_arn]}], "WithoutSettings": True})


def dms_event(name, task_arn):
    event = load_event(name)
    event["resources"] = [task_arn]
    return event


def test_failed_dms_task_is_counted_then_resumed(pipeline, alerts, audit_events):
    task_arn = create_dms_task()
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "failed", "Stop Reason FATAL_ERROR")
    dms.stubber.add_response("add_tags_to_resource", {},
                             {"ResourceArn": task_arn, "Tags": [{"Key": TAG, "Value": "1"}]})

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    # The attempt is recorded on the task before the resume is requested.
    assert dms.calls == ["describe_replication_tasks", "list_tags_for_resource", "add_tags_to_resource",
                         "start_replication_task"]
    assert moto_task_status(task_arn) == "running"
    dms.stubber.assert_no_pending_responses()
    alert = only(alerts.read())
    assert alert["severity"] == "INFO"
    assert alert["subject"] == "[migration-pipeline] DMS task auto-resumed: migration-pipeline-full-load"
    assert alert["message"]["where"] == {"service": "dms", "resource": task_arn, "region": REGION, "account": ACCOUNT}
    assert alert["message"]["consoleUrl"] == ("https://us-west-2.console.aws.amazon.com/dms/v2/home?region=us-west-2"
                                              "#taskDetails/migration-pipeline-full-load")
    assert alert["message"]["ids"] == {"replicationTaskArn": task_arn, "eventType": "REPLICATION_TASK_FAILED"}
    assert "1 of 1" in alert["message"]["actionTaken"]
    audit = only(audit_events.read())["detail"]
    assert (audit["action"], audit["outcome"], audit["resource"]) == ("RESUME_DMS_TASK", "SUCCEEDED", task_arn)
    assert result == audit


def test_task_stopped_on_a_recoverable_error_is_resumed(pipeline, alerts):
    task_arn = create_dms_task()
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "stopped", "Stop Reason RECOVERABLE_ERROR")
    dms.stubber.add_response("add_tags_to_resource", {},
                             {"ResourceArn": task_arn, "Tags": [{"Key": TAG, "Value": "1"}]})

    result = remediation.handler(dms_event("dms-task-stopped-error.json", task_arn), None)

    assert result["action"] == "RESUME_DMS_TASK"
    assert moto_task_status(task_arn) == "running"


def test_second_dms_failure_only_alerts(pipeline, alerts, audit_events):
    task_arn = create_dms_task(resume_count=1)  # one automatic resume already happened
    dms = stub_dms("add_tags_to_resource")  # nothing queued: any tag write would fail the test
    expect_describe(dms, task_arn, "failed", "Stop Reason FATAL_ERROR")

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert dms.calls == ["describe_replication_tasks", "list_tags_for_resource"]
    assert moto_task_status(task_arn) == "creating"  # never started
    alert = only(alerts.read())
    assert alert["severity"] == "ERROR"
    assert alert["subject"] == "[migration-pipeline] DMS task failed again: migration-pipeline-full-load"
    assert "already resumed automatically 1 time(s) (limit 1)" in alert["message"]["actionTaken"]
    assert TAG in alert["message"]["nextStep"]
    assert (result["action"], result["outcome"], result["alerted"]) == ("ALERT_ONLY", "SUCCEEDED", True)
    assert only(audit_events.read())["detail"] == result


def test_the_resume_limit_comes_from_the_environment(pipeline, monkeypatch):
    monkeypatch.setenv("MAX_DMS_RESUMES", "3")
    task_arn = create_dms_task(resume_count=2)
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "failed")
    dms.stubber.add_response("add_tags_to_resource", {},
                             {"ResourceArn": task_arn, "Tags": [{"Key": TAG, "Value": "3"}]})

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert result["reason"] == "automatic resume 3 of 3"
    dms.stubber.assert_no_pending_responses()


def test_a_hand_edited_counter_stops_self_healing(pipeline, alerts, capsys):
    task_arn = create_dms_task(resume_count="lots")
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "failed")

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert result["action"] == "ALERT_ONLY"
    assert moto_task_status(task_arn) == "creating"
    warnings = [line for line in json_logs(capsys.readouterr().out) if line["level"] == "WARN"]
    assert [(w["message"], w["taskArn"], w["tagValue"]) for w in warnings] == [
        ("resume counter tag is not a number; treating the limit as reached", task_arn, "lots")]


@pytest.mark.parametrize("stop_reason", ["Stop Reason FULL_LOAD_ONLY_FINISHED", "STOP_REASON_FULL_LOAD_COMPLETED",
                                         "Stop Reason NORMAL", "Stop Reason STOPPED_AFTER_CACHED_EVENTS"])
def test_a_normal_stop_is_not_an_error(pipeline, alerts, audit_events, stop_reason):
    task_arn = create_dms_task()
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "stopped", stop_reason)

    result = remediation.handler(dms_event("dms-task-stopped-normal.json", task_arn), None)

    assert dms.calls == ["describe_replication_tasks"]
    assert (result["action"], result["outcome"], result["alerted"]) == ("NO_ACTION", "SUCCEEDED", False)
    assert alerts.read() == []
    assert only(audit_events.read())["detail"]["reason"] == f"normal stop: {stop_reason}"


def test_stop_reason_falls_back_to_the_event_message(pipeline, alerts):
    task_arn = create_dms_task()
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "stopped")  # no StopReason reported

    result = remediation.handler(dms_event("dms-task-stopped-normal.json", task_arn), None)

    assert result["action"] == "NO_ACTION"
    assert result["reason"] == "normal stop: Stop Reason FULL_LOAD_ONLY_FINISHED"


def test_an_unrecognised_stop_reason_only_alerts(pipeline, alerts):
    task_arn = create_dms_task()
    dms = stub_dms("add_tags_to_resource")
    expect_describe(dms, task_arn, "stopped", "Stop Reason EXPRESS_LICENSE_LIMITS_REACHED")

    result = remediation.handler(dms_event("dms-task-stopped-error.json", task_arn), None)

    assert dms.calls == ["describe_replication_tasks"]
    assert result["action"] == "ALERT_ONLY"
    assert only(alerts.read())["subject"].startswith("[migration-pipeline] DMS task stopped for an unrecognised")


def test_redelivered_failure_after_the_resume_does_nothing(pipeline, alerts, audit_events):
    task_arn = create_dms_task(resume_count=1)
    dms = stub_dms()
    expect_describe(dms, task_arn, "running")

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert dms.calls == ["describe_replication_tasks"]
    assert (result["action"], result["outcome"]) == ("NO_ACTION", "ALREADY_DONE")
    assert alerts.read() == []


def test_a_refused_resume_is_alerted(pipeline, alerts, audit_events):
    task_arn = create_dms_task()
    dms = stub_dms("add_tags_to_resource", "start_replication_task")
    expect_describe(dms, task_arn, "failed")
    dms.stubber.add_response("add_tags_to_resource", {},
                             {"ResourceArn": task_arn, "Tags": [{"Key": TAG, "Value": "1"}]})
    dms.stubber.add_client_error("start_replication_task", "InvalidResourceStateFault",
                                 "Replication instance is being modified")
    expect_describe(dms, task_arn, "failed")

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert (result["action"], result["outcome"], result["alerted"]) == ("RESUME_DMS_TASK", "FAILED", True)
    alert = only(alerts.read())
    assert "DMS refused: InvalidResourceStateFault" in alert["message"]["actionTaken"]


def test_a_concurrent_duplicate_that_lost_the_race_stays_quiet(pipeline, alerts):
    task_arn = create_dms_task()
    dms = stub_dms("add_tags_to_resource", "start_replication_task")
    expect_describe(dms, task_arn, "failed")
    dms.stubber.add_response("add_tags_to_resource", {},
                             {"ResourceArn": task_arn, "Tags": [{"Key": TAG, "Value": "1"}]})
    dms.stubber.add_client_error("start_replication_task", "InvalidResourceStateFault", "Task is starting")
    expect_describe(dms, task_arn, "starting")

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert (result["action"], result["outcome"], result["alerted"]) == ("RESUME_DMS_TASK", "ALREADY_DONE", False)
    assert alerts.read() == []


def test_a_vanished_dms_task_is_alerted(pipeline, alerts):
    task_arn = f"arn:aws:dms:{REGION}:{ACCOUNT}:task:GONE"
    dms = stub_dms()
    dms.stubber.add_client_error("describe_replication_tasks", "ResourceNotFoundFault", "No tasks found")

    result = remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert (result["action"], result["outcome"]) == ("ALERT_ONLY", "FAILED")
    assert only(alerts.read())["subject"] == "[migration-pipeline] DMS task task not found: GONE"


def test_dms_throttling_is_re_raised_so_lambda_retries(pipeline, alerts):
    task_arn = create_dms_task()
    dms = stub_dms()
    dms.stubber.add_client_error("describe_replication_tasks", "ThrottlingException", "Rate exceeded")

    with pytest.raises(ClientError) as raised:
        remediation.handler(dms_event("dms-task-failed.json", task_arn), None)

    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert alerts.read() == []


def test_a_started_dms_task_needs_nothing(pipeline, alerts):
    dms = stub_dms()

    result = remediation.handler(load_event("dms-task-started.json"), None)

    assert result["outcome"] == "IGNORED"
    assert dms.calls == []
    assert alerts.read() == []


# --- Step Functions ---------------------------------------------------------------------------

def stub_sfn():
    sfn = PartiallyStubbedClient("stepfunctions", ["describe_execution", "redrive_execution"])
    remediation._clients["stepfunctions"] = sfn
    return sfn


def expect_describe_execution(sfn, status, error=None, cause=None, redrive_count=0, redrive_status="REDRIVABLE"):
    response = {"executionArn": EXECUTION_ARN, "stateMachineArn": STATE_MACHINE_ARN, "status": status,
                "startDate": datetime.datetime(2024, 6, 1, 9, 50), "redriveCount": redrive_count,
                "redriveStatus": redrive_status}
    if error:
        response["error"] = error
    if cause:
        response["cause"] = cause
    sfn.stubber.add_response("describe_execution", response, {"executionArn": EXECUTION_ARN})


def expect_redrive(sfn, redrive_count=0):
    token = hashlib.sha256(f"{EXECUTION_ARN}#{redrive_count}".encode()).hexdigest()
    sfn.stubber.add_response("redrive_execution", {"redriveDate": datetime.datetime(2024, 6, 1, 10, 5)},
                             {"executionArn": EXECUTION_ARN, "clientToken": token})


def test_transient_execution_failure_is_redriven_once(pipeline, alerts, audit_events):
    sfn = stub_sfn()
    expect_describe_execution(sfn, "FAILED", "Lambda.ServiceException", "Lambda is unable to process the request")
    expect_redrive(sfn)

    result = remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert sfn.calls == ["describe_execution", "redrive_execution"]
    sfn.stubber.assert_no_pending_responses()
    alert = only(alerts.read())
    assert alert["severity"] == "INFO"
    assert alert["subject"].startswith("[migration-pipeline] Migration execution auto-redriven: incoming-sales")
    assert alert["message"]["consoleUrl"] == ("https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2"
                                              f"#/v2/executions/details/{EXECUTION_ARN}")
    assert alert["message"]["where"]["service"] == "states"
    audit = only(audit_events.read())["detail"]
    assert (audit["trigger"], audit["action"], audit["outcome"]) == \
        ("SFN_EXECUTION_STATUS_CHANGE", "REDRIVE_EXECUTION", "SUCCEEDED")
    assert audit["ids"] == {"executionArn": EXECUTION_ARN}
    assert result == audit


def test_timed_out_execution_is_redriven(pipeline, alerts):
    sfn = stub_sfn()
    expect_describe_execution(sfn, "TIMED_OUT", "States.Timeout")
    expect_redrive(sfn)

    result = remediation.handler(load_event("sfn-execution-timed-out.json"), None)

    assert result["action"] == "REDRIVE_EXECUTION"
    sfn.stubber.assert_no_pending_responses()


def test_second_execution_failure_after_a_redrive_only_alerts(pipeline, alerts, audit_events):
    sfn = stub_sfn()  # no redrive queued: a redrive call would fail the test
    expect_describe_execution(sfn, "FAILED", "Lambda.ServiceException", redrive_count=1)

    result = remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert sfn.calls == ["describe_execution"]
    alert = only(alerts.read())
    assert alert["severity"] == "ERROR"
    assert "already redriven 1 time(s) (limit 1)" in alert["message"]["actionTaken"]
    assert alert["message"]["details"]["redriveCount"] == 1
    assert (result["action"], result["outcome"]) == ("ALERT_ONLY", "SUCCEEDED")


def test_a_higher_redrive_limit_allows_another_redrive(pipeline, monkeypatch):
    monkeypatch.setenv("MAX_REDRIVES", "2")
    sfn = stub_sfn()
    expect_describe_execution(sfn, "FAILED", "Lambda.ServiceException", redrive_count=1)
    expect_redrive(sfn, redrive_count=1)

    result = remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert result["reason"] == "automatic redrive 2 of 2"


def test_non_transient_failure_only_alerts(pipeline, alerts):
    sfn = stub_sfn()
    expect_describe_execution(sfn, "FAILED", "States.Runtime", "An error occurred while executing the state")

    result = remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert sfn.calls == ["describe_execution"]
    alert = only(alerts.read())
    assert alert["subject"].startswith("[migration-pipeline] Migration execution failed (States.Runtime): ")
    assert alert["message"]["details"]["cause"] == "An error occurred while executing the state"
    assert result["action"] == "ALERT_ONLY"


def test_aborted_execution_only_alerts(pipeline, alerts):
    sfn = stub_sfn()

    result = remediation.handler(load_event("sfn-execution-aborted.json"), None)

    assert sfn.calls == []
    assert result["action"] == "ALERT_ONLY"
    assert only(alerts.read())["message"]["what"] == "Migration execution was aborted"


def test_redelivered_failure_after_the_redrive_does_nothing(pipeline, alerts):
    sfn = stub_sfn()
    expect_describe_execution(sfn, "RUNNING", redrive_count=1)

    result = remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert (result["action"], result["outcome"]) == ("NO_ACTION", "ALREADY_DONE")
    assert alerts.read() == []


def test_not_redrivable_execution_only_alerts(pipeline, alerts):
    sfn = stub_sfn()
    expect_describe_execution(sfn, "FAILED", "Lambda.ServiceException", redrive_status="NOT_REDRIVABLE")

    result = remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert sfn.calls == ["describe_execution"]
    assert result["reason"] == "execution cannot be redriven"


def test_a_refused_redrive_is_alerted(pipeline, alerts):
    sfn = stub_sfn()
    expect_describe_execution(sfn, "FAILED", "Lambda.ServiceException")
    sfn.stubber.add_client_error("redrive_execution", "ExecutionNotRedrivable", "Execution is older than 14 days")

    result = remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert (result["action"], result["outcome"]) == ("REDRIVE_EXECUTION", "FAILED")
    assert "ExecutionNotRedrivable" in only(alerts.read())["message"]["actionTaken"]


def test_a_throttled_redrive_is_re_raised_for_a_retry(pipeline, alerts):
    sfn = stub_sfn()
    expect_describe_execution(sfn, "FAILED", "Lambda.ServiceException")
    sfn.stubber.add_client_error("redrive_execution", "ThrottlingException", "Rate exceeded")

    with pytest.raises(ClientError):
        remediation.handler(load_event("sfn-execution-failed.json"), None)

    assert alerts.read() == []


def test_a_succeeded_execution_needs_nothing(pipeline, alerts):
    sfn = stub_sfn()

    assert remediation.handler(load_event("sfn-execution-succeeded.json"), None)["outcome"] == "IGNORED"
    assert sfn.calls == []


@pytest.mark.parametrize("status, error, cause, transient", [
    ("TIMED_OUT", "States.Timeout", None, True),
    ("FAILED", "Lambda.ServiceException", None, True),
    ("FAILED", "Lambda.TooManyRequestsException", None, True),
    ("FAILED", "Glue.ThrottlingException", None, True),
    ("FAILED", "ServiceUnavailable", None, True),
    ("FAILED", "States.TaskFailed", "ThrottlingException: Rate exceeded", True),
    ("FAILED", "States.TaskFailed", "Column customer_id cannot be null", False),
    ("FAILED", "States.Timeout", "Task timed out", False),
    ("FAILED", "States.Runtime", None, False),
    ("FAILED", None, None, False),
])
def test_transient_failure_classification(status, error, cause, transient):
    assert remediation.is_transient_failure(status, error, cause) is transient


# --- S3 deletions -----------------------------------------------------------------------------

def test_deleted_object_is_alerted(pipeline, alerts, audit_events):
    result = remediation.handler(load_event("s3-object-deleted.json"), None)

    alert = only(alerts.read())
    key = "incoming/sales/2024-06-01/orders batch 1.csv"
    assert alert["severity"] == "WARNING"
    assert alert["subject"] == "[migration-pipeline] Object deleted from pipeline bucket: orders batch 1.csv"
    message = alert["message"]
    assert message["where"] == {"service": "s3", "resource": f"{BUCKET}/{key}", "region": REGION, "account": ACCOUNT}
    assert message["details"]["deletionType"] == "Delete Marker Created"
    assert message["consoleUrl"] == (f"https://us-west-2.console.aws.amazon.com/s3/object/{BUCKET}?region=us-west-2"
                                     "&prefix=incoming%2Fsales%2F2024-06-01%2Forders%20batch%201.csv&showversions=true")
    audit = only(audit_events.read())["detail"]
    assert (audit["trigger"], audit["action"], audit["key"]) == ("S3_OBJECT_DELETED", "ALERT_ONLY", key)
    assert result == audit


def test_alert_subjects_stay_ascii_and_short(pipeline, alerts):
    event = load_event("s3-object-deleted.json")
    event["detail"]["object"]["key"] = "incoming/ventes/" + "données-ünïcödé-データ-" * 10 + "fichier.csv"

    remediation.handler(event, None)

    subject = only(alerts.read())["subject"]
    assert len(subject) < 100
    assert subject.isascii()
    assert subject.endswith("...")


# --- Validation FAILED: quarantine -----------------------------------------------------------

def put_failed_object(s3, body=b"id,total\n1,\n"):
    s3.put_object(Bucket=BUCKET, Key=REPORT_KEY, Body=b'{"outcome": "FAILED"}')
    return s3.put_object(Bucket=BUCKET, Key=FAILED_KEY, Body=body, ContentType="text/csv")["VersionId"]


def failed_event(version_id, **changes):
    event = load_event("sns-validation-failed.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(versionId=version_id, **changes)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def versions_of(s3, key):
    return [version["VersionId"] for version in s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
            if version["Key"] == key]


def test_failed_object_is_moved_to_quarantine_and_the_report_kept(pipeline, alerts, audit_events):
    s3 = pipeline
    version_id = put_failed_object(s3)

    [result] = remediation.handler(failed_event(version_id), None)

    assert version_id not in versions_of(s3, FAILED_KEY)
    quarantined = s3.get_object(Bucket=BUCKET, Key=QUARANTINE_KEY)
    assert quarantined["Body"].read() == b"id,total\n1,\n"
    assert quarantined["ContentType"] == "text/csv"
    assert quarantined["Metadata"] == {"quarantined-from-version": version_id}
    assert s3.get_object(Bucket=BUCKET, Key=REPORT_KEY)["Body"].read() == b'{"outcome": "FAILED"}'
    alert = only(alerts.read())
    assert alert["severity"] == "WARNING"
    assert alert["subject"] == "[migration-pipeline] Validation FAILED, object quarantined: orders batch 2.csv"
    assert alert["message"]["actionTaken"] == f"Moved the object to {QUARANTINE_KEY}; the validation report was kept."
    assert alert["message"]["details"]["findings"][0] == "Required column customer_id has 12 null or empty values"
    assert alert["message"]["where"]["account"] == ACCOUNT
    audit = only(audit_events.read())["detail"]
    assert (audit["trigger"], audit["action"], audit["outcome"]) == ("VALIDATION_FAILED", "QUARANTINE_OBJECT", "SUCCEEDED")
    assert (audit["quarantineKey"], audit["reportKey"], audit["versionId"]) == (QUARANTINE_KEY, REPORT_KEY, version_id)
    assert result == audit


def test_redelivered_validation_failure_is_idempotent(pipeline, alerts, audit_events):
    s3 = pipeline
    version_id = put_failed_object(s3)
    event = failed_event(version_id)

    remediation.handler(event, None)
    [second] = remediation.handler(event, None)

    assert (second["action"], second["outcome"]) == ("QUARANTINE_OBJECT", "ALREADY_DONE")
    assert s3.get_object(Bucket=BUCKET, Key=QUARANTINE_KEY)["Body"].read() == b"id,total\n1,\n"
    assert [audit["detail"]["outcome"] for audit in audit_events.read()] == ["SUCCEEDED", "ALREADY_DONE"]


def test_a_corrected_upload_made_meanwhile_is_left_alone(pipeline):
    s3 = pipeline
    failed_version = put_failed_object(s3, body=b"bad")
    s3.put_object(Bucket=BUCKET, Key=FAILED_KEY, Body=b"good")

    remediation.handler(failed_event(failed_version), None)

    assert s3.get_object(Bucket=BUCKET, Key=FAILED_KEY)["Body"].read() == b"good"
    assert s3.get_object(Bucket=BUCKET, Key=QUARANTINE_KEY)["Body"].read() == b"bad"


def test_object_missing_everywhere_is_alerted_as_an_error(pipeline, alerts):
    [result] = remediation.handler(failed_event("version-that-is-gone"), None)

    assert (result["action"], result["outcome"]) == ("QUARANTINE_OBJECT", "FAILED")
    alert = only(alerts.read())
    assert alert["severity"] == "ERROR"
    assert alert["subject"] == "[migration-pipeline] Validation FAILED: orders batch 2.csv"


def test_our_own_quarantine_deletion_does_not_raise_a_data_loss_alert(pipeline, alerts, audit_events):
    s3 = pipeline
    version_id = put_failed_object(s3)
    remediation.handler(failed_event(version_id), None)
    alerts.read()
    audit_events.read()
    deleted = load_event("s3-object-deleted.json")
    deleted["detail"]["object"] = {"key": "incoming/sales/2024-06-01/orders+batch+2.csv", "version-id": version_id,
                                   "sequencer": "00665C8A3F2E1D0C9C"}
    deleted["detail"]["deletion-type"] = "Permanently Deleted"

    result = remediation.handler(deleted, None)

    assert (result["action"], result["alerted"]) == ("NO_ACTION", False)
    assert alerts.read() == []
    assert only(audit_events.read())["detail"]["reason"] == "object was moved to quarantine by this pipeline"


def test_deleting_another_version_of_a_quarantined_key_still_alerts(pipeline, alerts):
    s3 = pipeline
    remediation.handler(failed_event(put_failed_object(s3)), None)
    alerts.read()
    deleted = load_event("s3-object-deleted.json")
    deleted["detail"]["object"]["key"] = "incoming/sales/2024-06-01/orders+batch+2.csv"

    result = remediation.handler(deleted, None)

    assert result["action"] == "ALERT_ONLY"
    assert only(alerts.read())["severity"] == "WARNING"


def test_unversioned_bucket_quarantine_and_deletion_guard(aws, alerts, monkeypatch):
    monkeypatch.setenv("ALERT_TOPIC_ARN", alerts.topic_arn)
    monkeypatch.setenv("DATA_BUCKET", "plain-bucket")
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="plain-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="plain-bucket", Key=FAILED_KEY, Body=b"bad")

    [result] = remediation.handler(failed_event(None, bucket="plain-bucket"), None)

    assert result["outcome"] == "SUCCEEDED"
    assert s3.list_objects_v2(Bucket="plain-bucket", Prefix="incoming/")["KeyCount"] == 0
    assert s3.head_object(Bucket="plain-bucket", Key=QUARANTINE_KEY)["Metadata"] == {"quarantined-from-version": "null"}
    deleted = load_event("s3-object-deleted.json")
    deleted["detail"]["bucket"]["name"] = "plain-bucket"
    deleted["detail"]["object"] = {"key": "incoming/sales/2024-06-01/orders+batch+2.csv", "sequencer": "00665C8A3F"}
    assert remediation.handler(deleted, None)["action"] == "NO_ACTION"


def test_passed_results_are_ignored(pipeline, alerts, audit_events):
    [result] = remediation.handler(load_event("sns-validation-passed.json"), None)

    assert result["outcome"] == "IGNORED"
    assert alerts.read() == []
    assert audit_events.read() == []


@pytest.mark.parametrize("changes, reason", [
    ({"bucket": "somebody-elses-bucket"}, "names a bucket other than the data bucket"),
    ({"key": "reports/sales/orders.csv"}, "outside the incoming prefix"),
    ({"key": "incoming/"}, "outside the incoming prefix"),
    ({"key": None}, "has no bucket or key"),
    ({"versionId": 12}, "invalid versionId"),
])
def test_validation_messages_that_could_move_the_wrong_object_are_rejected(pipeline, changes, reason):
    s3 = pipeline
    version_id = put_failed_object(s3)
    event = failed_event(version_id)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(changes)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)

    with pytest.raises(remediation.InvalidEventError, match=reason):
        remediation.handler(event, None)

    assert versions_of(s3, FAILED_KEY) == [version_id]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="quarantine/")["KeyCount"] == 0


# --- Malformed and unexpected events ----------------------------------------------------------

def without(name, *path):
    event = load_event(name)
    target = event
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return event


@pytest.mark.parametrize("event, reason", [
    (load_event("s3-object-created-incoming.json"), "no remediation for this event"),
    ({**load_event("glue-job-failed.json"), "source": "aws.ec2"}, "no remediation for this event"),
    ({"hello": "world"}, "no remediation for this event"),
    (without("glue-job-failed.json", "detail"), "event has no detail object"),
    (without("glue-job-failed.json", "detail", "jobRunId"), "Glue event has no jobName or jobRunId"),
    (without("dms-task-failed.json", "resources", 0), "DMS event has no replication task ARN in resources"),
    (without("sfn-execution-failed.json", "detail", "executionArn"), "Step Functions event has no executionArn"),
    (without("s3-object-deleted.json", "detail", "object", "key"), "S3 event has no bucket name or object key"),
    ({**load_event("glue-job-failed.json"), "padding": "x" * (256 * 1024)}, "event is larger than 256 KB"),
    ("a string", "expected a JSON object, got str"),
    ({"Records": []}, "expected an SNS event with a non-empty Records list"),
    ({"Records": [{"EventSource": "aws:sqs", "body": "{}"}]}, "record is not an SNS record"),
])
def test_malformed_or_unexpected_events_are_rejected(pipeline, alerts, audit_events, capsys, event, reason):
    with pytest.raises(remediation.InvalidEventError, match=reason) as raised:
        remediation.handler(event, None)

    assert isinstance(raised.value, ValueError)
    assert alerts.read() == []
    assert audit_events.read() == []
    assert json_logs(capsys.readouterr().out)[-1]["message"] == f"rejected event: {reason}"


def test_an_undecodable_validation_message_is_rejected(pipeline):
    event = load_event("sns-validation-failed.json")
    event["Records"][0]["Sns"]["Message"] = "{not json"

    with pytest.raises(ValueError, match="SNS message is not JSON"):
        remediation.handler(event, None)


# --- Configuration, alert and audit plumbing --------------------------------------------------

def test_missing_configuration_fails_loudly(aws):
    with pytest.raises(RuntimeError, match="ALERT_TOPIC_ARN"):
        remediation.handler(load_event("glue-job-failed.json"), None)


def test_a_bad_limit_fails_loudly(pipeline, monkeypatch):
    monkeypatch.setenv("MAX_REDRIVES", "-1")

    with pytest.raises(RuntimeError, match="MAX_REDRIVES must be a non-negative integer"):
        remediation.handler(load_event("glue-job-failed.json"), None)


def test_an_unwritable_audit_bus_does_not_stop_the_alert(pipeline, alerts, monkeypatch, capsys):
    monkeypatch.setenv("AUDIT_EVENT_BUS", "bus-that-does-not-exist")

    result = remediation.handler(load_event("glue-job-failed.json"), None)

    assert result["alerted"] is True
    assert only(alerts.read())["severity"] == "ERROR"
    warnings = [line for line in json_logs(capsys.readouterr().out) if line["level"] == "WARN"]
    assert warnings[-1]["message"] == "could not emit audit event"


def test_an_alert_that_cannot_be_published_is_retried(pipeline, monkeypatch):
    monkeypatch.setenv("ALERT_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic")

    with pytest.raises(ClientError) as raised:
        remediation.handler(load_event("glue-job-failed.json"), None)

    assert raised.value.response["Error"]["Code"] == "NotFound"


@pytest.mark.parametrize("region, expected", [
    ("us-west-2", "https://us-west-2.console.aws.amazon.com/dms/v2/home?region=us-west-2#taskDetails/task-1"),
    ("cn-north-1", "https://console.amazonaws.cn/dms/v2/home?region=cn-north-1#taskDetails/task-1"),
    ("us-gov-west-1", "https://console.amazonaws-us-gov.com/dms/v2/home?region=us-gov-west-1#taskDetails/task-1"),
])
def test_console_links_follow_the_region(region, expected):
    assert remediation.dms_task_url(region, "task-1") == expected


@pytest.mark.parametrize("text, expected", [
    ("Stop Reason FATAL_ERROR", "FATAL_ERROR"),
    ("STOP_REASON_FULL_LOAD_COMPLETED", "FULL_LOAD_COMPLETED"),
    ("Last Error boom Stop Reason RECOVERABLE_ERROR Error Level RECOVERABLE", "RECOVERABLE_ERROR"),
    ("Stop Reason ", ""),
    ("", ""),
])
def test_stop_reasons_are_normalised(text, expected):
    assert remediation.normalise_stop_reason(text) == expected


@pytest.mark.parametrize(("status", "reason", "verdict"), [
    ("running", None, "active"),
    ("failed", None, "error"),
    ("creating", None, "unknown"),
    ("stopped", "Stop Reason FATAL_ERROR", "error"),
    ("stopped", "STOP_REASON_FULL_LOAD_ONLY_FINISHED", "normal"),
    ("stopped", "Stop Reason SOMETHING_NEW", "unknown"),
    ("stopped", None, "unknown"),
])
def test_the_dms_stop_verdicts(status, reason, verdict):
    task = {"Status": status}
    if reason:
        task["StopReason"] = reason

    assert remediation.dms_stop_verdict(task, {}) == verdict


def test_the_first_stop_reason_in_a_message_counts():
    assert remediation.normalise_stop_reason("Stop Reason FATAL_ERROR (earlier: Stop Reason NORMAL)") == "FATAL_ERROR"


@pytest.mark.parametrize(("error", "transient"), [
    ("Lambda.ServiceException", True),
    ("DatabaseMigration.Client.TooManyRequestsException", True),  # matched on the last dotted part only
    ("States.Runtime", False),
])
def test_transient_failures_are_recognised_by_the_last_part_of_the_error_name(error, transient):
    assert remediation.is_transient_failure("FAILED", error, None) is transient


@pytest.mark.parametrize(("cause", "outcome"), [
    ('{"reason": "MISMATCH", "tables": {"total": 3}}', {"reason": "MISMATCH", "tables": {"total": 3}}),
    ("[1, 2]", {}),  # JSON, but not the outcome object
])
def test_the_outcome_is_read_from_the_execution_cause(cause, outcome, capsys):
    assert remediation.parse_outcome(cause) == outcome
    assert json_logs(capsys.readouterr().out) == []


@pytest.mark.parametrize(("cause", "logged_cause"), [
    (None, ""),
    ("States.Timeout " + "x" * 300, ("States.Timeout " + "x" * 300)[:200]),  # the log keeps the first 200 characters
])
def test_a_cause_that_is_not_the_outcome_is_logged_and_read_as_no_outcome(cause, logged_cause, capsys):
    assert remediation.parse_outcome(cause) == {}

    [line] = json_logs(capsys.readouterr().out)
    assert (line["level"], line["message"], line["cause"]) == (
        "WARN", "execution cause is not the migration outcome JSON", logged_cause)
