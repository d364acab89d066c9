"""A file taken through every stage of the synthesized example, each hand-over read from the cloud assembly.

tools/rehearsal brings the pipeline up in moto from cdk.out and follows the work by ARN alone: the S3 event
through the rule's own pattern and target, each function's own inline code and environment, the Glue job's
deployed script with its own arguments in a local Spark, the topic's own subscriptions and filter policies, the
state machine's own definition against moto's DMS, the audit rules' patterns into the Firehose processor.
The last tests edit a scratch copy of the assembly at three joints and show that the rehearsal then fails.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO_ROOT
from assembly import Assembly
from pipeline import glue_script

VALID_CSV = b"order_id,customer,amount\n1,alice,10.50\n2,bob,7.25\n"
MISSING_COLUMN_CSV = b"customer,amount\nalice,10.50\n"
KEY = "incoming/sales/orders.csv"
# The pipeline's own events, in the order the stages send them, for a file that is validated and migrated.
PIPELINE_EVENTS_OF_A_MIGRATION = ["Glue Validation Started", "Validation Result", "Migration Execution Started",
                                  "Migration Outcome"]


@pytest.fixture(scope="session")
def example_requiring_order_id(tmp_path_factory):
    """The example app with one Glue rule set through its context: order_id is a required column."""
    out = tmp_path_factory.mktemp("cdk-out-required-columns")
    subprocess.run(["npx", "cdk", "synth", "--quiet", "-c", "requiredColumns=order_id", "-o", str(out)],
                   cwd=REPO_ROOT, check=True, env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"})
    return out


@pytest.fixture
def scratch_copy(example, tmp_path):
    copy = tmp_path / "cdk.out"
    shutil.copytree(example, copy)
    return copy


def main_stages(result):
    """The hand-overs of the work itself, without the audit deliveries."""
    return [hop.stage for hop in result.hops if not (isinstance(hop.came_out, dict) and "documents" in hop.came_out)]


def pipeline_event_types(result):
    return [d["document"]["detail-type"] for d in result.documents if d["document"]["source"] == "migration.pipeline"]


def published(result, topic):
    return [(m.get("Subject"), json.loads(m["Message"])) for m in result.published.get(topic, [])]


def test_a_valid_file_is_validated_migrated_and_audited(bring_up, example):
    pipeline = bring_up(example)
    result = pipeline.rehearse(KEY, VALID_CSV)
    bucket = pipeline.data_bucket()

    assert main_stages(result) == [
        "S3 PutObject", "rule migration-incoming-objects-dev", "Glue migration-validation-dev",
        "SNS migration-validation-dev -> migration-sfn-trigger-dev", "Step Functions migration-orchestration-dev"]
    assert result.errors == []
    # The job run got the object from the event, version included, and the topic from the function's environment.
    [run] = result.job_runs
    version = pipeline.s3.head_object(Bucket=bucket, Key=KEY)["VersionId"]
    assert run["arguments"]["--source_bucket"] == bucket
    assert run["arguments"]["--source_key"] == KEY
    assert run["arguments"]["--source_version"] == version
    assert run["arguments"]["--validation_topic_arn"] == "arn:aws:sns:us-west-2:123456789012:migration-validation-dev"
    assert run["outcome"] == {"state": "SUCCEEDED", "committed": True}
    [(subject, verdict)] = [p for p in published(result, "migration-validation-dev") if p[0].startswith("Validation")]
    assert subject == "Validation PASSED"
    assert (verdict["outcome"], verdict["rowCount"], verdict["versionId"]) == ("PASSED", 2, version)
    # The migration ran, wrote its report under its own name and announced the outcome.
    [execution] = result.executions
    assert execution["status"] == "SUCCEEDED"
    report_key = f"reports/migrations/{execution['name']}.json"
    assert result.summary()["reports"] == [f"s3://{bucket}/{report_key}"]
    report = json.loads(pipeline.s3.get_object(Bucket=bucket, Key=report_key)["Body"].read())
    assert (report["status"], report["reason"]) == ("SUCCEEDED", "FULL_LOAD_VERIFIED")
    assert report["execution"] == execution["executionArn"]
    assert report["tables"]["validated"] == 2
    # The task was ready: the run started it only after a premigration assessment that passed.
    assert report["premigrationAssessment"]["latest"]["Status"] == "passed"
    assert [r["AssessmentRunName"] for r in pipeline.dms.assessments.start_requests] == [execution["name"]]
    assert [m["migrationOutcome"] for _, m in published(result, "migration-validation-dev")
            if "migrationOutcome" in m] == ["SUCCEEDED"]
    # Every audit event became an index document.
    assert pipeline_event_types(result) == PIPELINE_EVENTS_OF_A_MIGRATION
    assert {d["result"] for d in result.documents} == {"Ok"}
    assert result.summary()["validation"] == ["PASSED"]
    # Each stage's AWS calls were recorded with the caller whose role makes them, and the templates allow them all.
    made = {(call.caller.name, call.service, call.operation) for call in result.calls}
    assert made >= {
        ("migration-glue-trigger-dev", "glue", "StartJobRun"),
        ("migration-validation-dev", "s3", "GetObject"),
        ("migration-validation-dev", "sns", "Publish"),
        ("migration-sfn-trigger-dev", "stepfunctions", "StartExecution"),
        ("migration-orchestration-dev", "lambda", "Invoke"),
        ("migration-table-review-dev", "dms", "DescribeTableStatistics"),
    }, sorted(made)
    assert result.denials() == []


def test_a_file_without_a_required_column_fails_validation_and_is_quarantined(bring_up, example_requiring_order_id):
    pipeline = bring_up(example_requiring_order_id)
    result = pipeline.rehearse(KEY, MISSING_COLUMN_CSV)
    bucket = pipeline.data_bucket()

    assert main_stages(result)[:4] == [
        "S3 PutObject", "rule migration-incoming-objects-dev", "Glue migration-validation-dev",
        "SNS migration-validation-dev -> migration-remediation-dev"]
    assert (result.failed_functions(), result.denials()) == ([], [])
    assert result.job_runs[0]["arguments"]["--required_columns"] == "order_id"
    assert result.executions == []
    assert result.summary()["validation"] == ["FAILED"]
    [(subject, verdict)] = published(result, "migration-validation-dev")
    assert subject == "Validation FAILED"
    assert verdict["findings"] == ["Required column order_id is missing"]
    # Remediation moved the file out of incoming/ and alerted.
    [(subject, alert)] = published(result, "migration-alerts-dev")
    assert subject == "[migration-pipeline-dev] Validation FAILED, object quarantined: orders.csv"
    keys = [item["Key"] for item in pipeline.s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert KEY not in keys
    assert "quarantine/sales/orders.csv" in keys


def test_a_dms_table_error_fails_the_migration_and_reaches_remediation(bring_up, example):
    pipeline = bring_up(example, "table-error")
    result = pipeline.rehearse(KEY, VALID_CSV)

    [execution] = result.executions
    assert (result.failed_functions(), result.denials()) == ([], [])
    assert execution["status"] == "FAILED"
    assert execution["error"] == "MigrationFailed"
    # The execution's status change went through the monitoring rule to the remediation function.
    [event] = result.calls_of("migration-remediation-dev")
    assert (event["source"], event["detail-type"]) == ("aws.states", "Step Functions Execution Status Change")
    assert event["detail"]["status"] == "FAILED"
    assert event["detail"]["executionArn"] == execution["executionArn"]
    [(subject, _)] = published(result, "migration-alerts-dev")
    assert "failed" in subject.lower()
    assert [m["migrationOutcome"] for _, m in published(result, "migration-validation-dev")
            if "migrationOutcome" in m] == ["FAILED"]


def test_a_source_the_assessment_finds_not_ready_is_never_loaded(bring_up, example):
    pipeline = bring_up(example, "source-not-ready")
    result = pipeline.rehearse(KEY, VALID_CSV)

    [execution] = result.executions
    assert (execution["status"], execution["error"]) == ("FAILED", "MigrationFailed")
    outcome = json.loads(execution["cause"])
    assert outcome["reason"] == "SOURCE_NOT_READY"
    assert outcome["failedAssessments"] == ["mysql-check-binlog-format", "mysql-check-replication-privileges"]
    assert f"/reports/premigration-assessments/{execution['name']}/" in outcome["message"]
    [task_arn] = pipeline.dms.task_arns
    assert pipeline.dms.dms.describe_replication_tasks()["ReplicationTasks"][0]["Status"] == "ready"
    assert task_arn == outcome["replicationTaskArn"]


def test_the_same_file_delivered_twice_is_validated_once(bring_up, example):
    pipeline = bring_up(example)
    pipeline.rehearse(KEY, VALID_CSV)
    pipeline.redeliver_last_object_event()
    result = pipeline.pump()

    assert (result.failed_functions(), result.denials()) == ([], [])
    answers = [hop.came_out["answer"] for hop in result.hops if hop.stage == "rule migration-incoming-objects-dev"]
    assert [answer["skipped"] for answer in answers] == [False, True]
    assert answers[0]["jobRunId"] == answers[1]["jobRunId"]
    assert len(result.job_runs) == 1
    assert [execution["status"] for execution in result.executions] == ["SUCCEEDED"]


# --------------------------------------------------------------------------------------------------------------
# Each joint, edited on a scratch copy, breaks the rehearsal
# --------------------------------------------------------------------------------------------------------------

def edit_template(cdk_out, predicate, edit):
    """Applies `edit` to the one resource of the assembly's templates for which `predicate` holds."""
    hits = []
    for path in cdk_out.glob("*.template.json"):
        template = json.loads(path.read_text())
        for logical_id, resource in template.get("Resources", {}).items():
            if predicate(logical_id, resource):
                hits.append((path, template, resource))
    assert len(hits) == 1, [str(path) for path, _, _ in hits]
    path, template, resource = hits[0]
    edit(resource)
    path.write_text(json.dumps(template))


def glue_jobs(cdk_out):
    assembly = Assembly(cdk_out, "TapStack")
    return [(stack, logical_id, assembly.resolve(stack, resource["Properties"]))
            for stack, logical_id, resource in assembly.resources("AWS::Glue::Job")]


def is_incoming_rule(logical_id, resource):
    return resource["Type"] == "AWS::Events::Rule" and resource["Properties"].get("Name") == "migration-incoming-objects-dev"


def is_glue_trigger(logical_id, resource):
    return resource["Type"] == "AWS::Lambda::Function" and \
        resource["Properties"].get("FunctionName") == "migration-glue-trigger-dev"


def test_the_rule_passing_only_the_detail_breaks_the_rehearsal(bring_up, scratch_copy):
    edit_template(scratch_copy, is_incoming_rule,
                  lambda rule: rule["Properties"]["Targets"][0].update(InputPath="$.detail"))
    result = bring_up(scratch_copy).rehearse(KEY, VALID_CSV)

    assert result.job_runs == []
    assert result.executions == []
    assert (result.failed_functions(), result.denials()) == (["migration-glue-trigger-dev"], [])


def test_a_renamed_job_argument_breaks_the_rehearsal(bring_up, scratch_copy):
    def rename_source_key(function):
        code = function["Properties"]["Code"]["ZipFile"]
        assert code.count('"--source_key"') >= 1
        function["Properties"]["Code"]["ZipFile"] = code.replace('"--source_key"', '"--source_object_key"')
    edit_template(scratch_copy, is_glue_trigger, rename_source_key)
    result = bring_up(scratch_copy).rehearse(KEY, VALID_CSV)

    [run] = result.job_runs
    assert run["outcome"]["state"] == "FAILED"
    assert (result.failed_functions(), result.denials()) == ([], [])
    assert result.executions == []
    assert result.summary()["validation"] == []


def test_a_changed_validation_message_breaks_the_rehearsal(bring_up, scratch_copy):
    [job] = [properties for _, _, properties in glue_jobs(scratch_copy)]
    script_path = glue_script(Assembly(scratch_copy, "TapStack"), job)
    before, _, message_and_after = script_path.read_text().partition("def build_message(")
    assert '"reportKey": report_key,' in message_and_after
    script_path.write_text(before + "def build_message(" +
                           message_and_after.replace('"reportKey": report_key,', '"report": report_key,', 1))
    result = bring_up(scratch_copy).rehearse(KEY, VALID_CSV)

    assert result.summary()["validation"] == ["PASSED"]
    assert result.executions == []
    [error] = result.errors
    assert (result.failed_functions(), result.denials()) == (["migration-sfn-trigger-dev"], [])
    assert "validation message has no reportKey" in error["error"]
