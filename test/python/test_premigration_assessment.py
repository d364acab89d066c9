"""The premigration assessment that gates the first start, executed in moto's Step Functions interpreter.

The state machine is the synthesized one (cdk.out); DMS's assessment runs are answered by dms_assessment_fake (moto
has none of the three operations), scripted per test: a run that passes, warns, fails naming assessments, ends in
an error, or never ends; a task that is not `ready` is resumed or watched without a new assessment.
"""

import json

import pytest

from pipeline_helpers import schema_validator
from test_state_machine import (  # noqa: F401 - pytest fixtures are found through the import
    ASSESSED, ASSESSMENT_PATH, ASSESSMENT_ROLE_ARN, DATA_BUCKET, FAILURE_END, HAPPY_START_PATH, RESUME_PATH, START_PATH, assert_failed,
    dms_task_properties, harness, orchestration_template,
)

# The default assessments of a full-load-and-cdc task (src/private/premigration-assessment.ts), as the DMS User
# Guide's "MySQL assessments" names them.
FULL_LOAD_AND_CDC_ASSESSMENTS = [
    "mysql-check-select-privileges", "mysql-check-supported-version", "mysql-check-table-storage-engine",
    "mysql-check-binlog-enabled", "mysql-check-binlog-format", "mysql-check-binlog-image", "mysql-check-server-id",
    "mysql-check-replication-privileges", "mysql-check-expire-logs-days", "mysql-check-binlog-compression",
    "mysql-check-database-role",
]
TEMPLATE_ASSESSMENT_MAX_POLLS = 60  # 30 minutes / 30 seconds
ANOTHER_LOOK = ["CountPremigrationAssessmentPoll", "WaitForPremigrationAssessment", "CheckPremigrationAssessment",
                "IsPremigrationAssessmentDone"]
SOURCE_NOT_READY_PATH = [*START_PATH, *ASSESSMENT_PATH, *ANOTHER_LOOK, "ListFailedPremigrationAssessments", "SourceNotReady",
                         *FAILURE_END]


def outcome_event(harness):
    """The run's one Migration Outcome audit event, checked against the pipeline's event schema."""
    [event] = [e for e in harness.audit_events() if e["detail-type"] == "Migration Outcome"]
    errors = list(schema_validator().iter_errors(event))
    assert not errors, [error.message for error in errors]
    return event["detail"]["outcome"]


def test_a_passed_assessment_starts_the_first_full_load(harness):
    run = harness.run(name="first-load")

    assert run.status == "SUCCEEDED"
    assert run.path == HAPPY_START_PATH
    [request] = harness.assessments.start_requests
    assert request == {
        "ReplicationTaskArn": harness.task_arn, "ServiceAccessRoleArn": ASSESSMENT_ROLE_ARN,
        "ResultLocationBucket": DATA_BUCKET, "ResultLocationFolder": "reports/premigration-assessments/first-load",
        "ResultEncryptionMode": "SSE_S3", "AssessmentRunName": "first-load", "IncludeOnly": FULL_LOAD_AND_CDC_ASSESSMENTS,
    }
    assert harness.start_calls == [(harness.task_arn, "start-replication")]
    report = harness.report("first-load")
    assert report["premigrationAssessment"]["latest"]["Status"] == "passed"
    assert report["premigrationAssessment"]["latest"]["Run"]["ResultStatistic"]["Passed"] == 11
    assert outcome_event(harness)["reason"] == "FULL_LOAD_VERIFIED"


def test_the_run_waits_while_the_assessment_runs(harness):
    harness.assessments.statuses = ["provisioning", "running", "running", "passed"]

    run = harness.run()

    assert run.status == "SUCCEEDED"
    assert run.count("CheckPremigrationAssessment") == 4
    assert run.count("CountPremigrationAssessmentPoll") == 3
    assert harness.start_calls == [(harness.task_arn, "start-replication")]


def test_a_warning_starts_the_load_and_is_recorded_in_the_report(harness):
    harness.assessments.statuses = ["running", "warning"]

    run = harness.run(name="warned")

    assert run.status == "SUCCEEDED"
    assert harness.start_calls == [(harness.task_arn, "start-replication")]
    assessment = harness.report("warned")["premigrationAssessment"]
    assert assessment["latest"]["Status"] == "warning"
    assert assessment["latest"]["Run"]["ResultStatistic"]["Skipped"] == 11


def test_a_failed_assessment_ends_source_not_ready_naming_each_failure_and_where_the_results_are(harness):
    harness.assessments.statuses = ["running", "failed"]
    harness.assessments.failing = ["mysql-check-binlog-format", "mysql-check-server-id"]

    run = harness.run(name="not-ready")

    assert_failed(run, "SOURCE_NOT_READY")
    assert run.path == SOURCE_NOT_READY_PATH
    assert harness.start_calls == []
    assert harness.task.status == "ready"
    outcome = harness.report("not-ready")
    assert outcome["failedAssessments"] == ["mysql-check-binlog-format", "mysql-check-server-id"]
    assert '["mysql-check-binlog-format","mysql-check-server-id"]' in outcome["message"]
    assert f"s3://{DATA_BUCKET}/reports/premigration-assessments/not-ready/" in outcome["message"]
    assert outcome["premigrationAssessment"]["latest"]["Run"]["ResultStatistic"] == {
        "Passed": 9, "Failed": 2, "Error": 0, "Warning": 0, "Cancelled": 0, "Skipped": 0}
    assert outcome_event(harness)["reason"] == "SOURCE_NOT_READY"
    _, message = run.the_notification()
    assert message["migrationOutcome"] == "FAILED" and message["outcome"]["reason"] == "SOURCE_NOT_READY"


# The documented run statuses that end without a verdict (DMS API Reference, ReplicationTaskAssessmentRun), and one
# it does not list ("error-provider"): any status other than the in-progress and verdict ones ends the same way.
@pytest.mark.parametrize("status", ["error-provisioning", "error-executing", "cancelling", "deleting", "invalid state",
                                    "error-provider"])
def test_an_assessment_that_ends_in_an_error_fails_the_run_without_starting_the_task(harness, status):
    harness.assessments.statuses = ["provisioning", status]

    run = harness.run(name="assessment-error")

    assert_failed(run, "PREMIGRATION_ASSESSMENT_ERROR")
    assert run.path[-len(FAILURE_END) - 1:] == ["PremigrationAssessmentError", *FAILURE_END]
    assert harness.start_calls == []
    outcome = harness.report("assessment-error")
    assert f"ended {status}, without a verdict" in outcome["message"]
    assert outcome_event(harness)["reason"] == "PREMIGRATION_ASSESSMENT_ERROR"


def test_an_assessment_that_cannot_start_fails_the_run_with_the_fault(harness):
    # An assessment run of this name exists for the task already: StartReplicationTaskAssessmentRun refuses it.
    harness.dms.start_replication_task_assessment_run(
        ReplicationTaskArn=harness.task_arn, ServiceAccessRoleArn=ASSESSMENT_ROLE_ARN, ResultLocationBucket=DATA_BUCKET,
        AssessmentRunName="collides")

    run = harness.run(name="collides")

    assert_failed(run, "PREMIGRATION_ASSESSMENT_ERROR")
    assert run.path == [*START_PATH, "StartPremigrationAssessment", "PremigrationAssessmentNotStarted", *FAILURE_END]
    assert "ResourceAlreadyExistsFault" in json.dumps(run.failed_tasks())
    assert harness.start_calls == []
    assert harness.task.status == "ready"


def test_an_assessment_that_never_ends_times_out_within_the_history_quota(harness):
    harness.assessments.statuses = ["running"]

    run = harness.run(name="never-ends", deadline_seconds=120)

    assert_failed(run, "PREMIGRATION_ASSESSMENT_TIMED_OUT")
    assert run.count("CheckPremigrationAssessment") == TEMPLATE_ASSESSMENT_MAX_POLLS + 1
    assert run.path[-len(FAILURE_END) - 1:] == ["PremigrationAssessmentTimedOut", *FAILURE_END]
    assert harness.start_calls == []
    assert "did not end within 30 minutes" in harness.report("never-ends")["message"]


@pytest.mark.parametrize("status, start", [("stopped", ["resume-processing"]), ("failed", ["resume-processing"]),
                                           ("running", [])])
def test_a_task_that_is_not_ready_is_not_assessed_again(harness, status, start):
    harness.task.status = status

    run = harness.run(name="later-run")

    assert run.status == "SUCCEEDED"
    assert not set(ASSESSED) & set(run.path)
    assert harness.assessments.start_requests == []
    assert [start_type for _, start_type in harness.start_calls] == start
    assert harness.report("later-run")["premigrationAssessment"] == "NOT_RUN"
    if status != "running":
        assert run.path == RESUME_PATH
