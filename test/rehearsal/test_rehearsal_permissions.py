"""The rehearsal checks the permissions of every joint, and the monitoring rules that no file path reaches.

Each AWS::Lambda::Permission of the example is removed in turn from a scratch copy of the assembly, and the work
that crosses its joint (an S3 upload, an event of the service a monitoring rule watches, a validation verdict on
the topic) is sent through: the rehearsal then fails, names the permission that is missing, and the function does
not run. Statements of the roles are removed the same way, one call each, and the rehearsal names the statement.
With the assembly as synthesized, the DMS-failure and S3-deletion rules take their events to the remediation
function, which acts on them with its own role's permissions.

The events sent on the bus are the ones the services send, as their guides document them (test/events/*.json:
DMS User Guide, "Working with Amazon EventBridge events and notifications"; S3 User Guide, "EventBridge message
structure"; Glue and Step Functions status changes), with this rehearsal's resource names.
"""

import copy
import json
import shutil

import boto3
import pytest
from moto.dms import models as dms_models

import hops
from assembly import ACCOUNT, REGION, Assembly
from conftest import REPO_ROOT

EVENTS = REPO_ROOT / "test" / "events"
VALID_CSV = b"order_id,customer,amount\n1,alice,10.50\n2,bob,7.25\n"


@pytest.fixture
def scratch_copy(example, tmp_path):
    copy_dir = tmp_path / "cdk.out"
    shutil.copytree(example, copy_dir, ignore=shutil.ignore_patterns("asset.*"))
    for asset in example.glob("asset.*"):
        (copy_dir / asset.name).symlink_to(asset)
    return copy_dir


def failures(result):
    """(functions that failed, denials): what every rehearsal test checks."""
    return result.failed_functions(), result.denials()


def alerts(result):
    return [message.get("Subject") for message in result.published.get("migration-alerts-dev", [])]


# --------------------------------------------------------------------------------------------------------------
# Work that crosses each joint
# --------------------------------------------------------------------------------------------------------------

def event_from(name, **detail):
    event = json.loads((EVENTS / name).read_text())
    event["detail"].update(detail)
    return event


def send(event, resources=None):
    hops.put_event(event["source"], event["detail-type"], event["detail"],
                   resources=event["resources"] if resources is None else resources)


def fail_the_dms_task(pipeline):
    """DMS stops the task with a fatal error and sends its event; moto has no task failures, so the task's state is
    set as DMS reports a failed task (Status "failed", a StopReason) and the event is the documented one."""
    [task_arn] = pipeline.dms.task_arns
    task = dms_models.dms_backends[ACCOUNT][REGION].replication_tasks[task_arn]
    task.status = "failed"
    task.stop_reason = "Stop Reason FATAL_ERROR"
    send(event_from("dms-task-failed.json"), resources=[task_arn])
    return task_arn


def delete_a_report(pipeline):
    """Someone deletes an object of the data bucket: S3 sends Object Deleted itself (moto emits it)."""
    bucket = pipeline.data_bucket()
    pipeline.s3.put_object(Bucket=bucket, Key="reports/sales/orders.csv.json", Body=b"{}")
    pipeline.s3.delete_object(Bucket=bucket, Key="reports/sales/orders.csv.json")


def upload_a_file(pipeline):
    pipeline.upload("incoming/sales/orders.csv", VALID_CSV)


def fail_a_glue_run(pipeline):
    send(event_from("glue-job-failed.json", jobName="migration-validation-dev"))


def fail_an_execution(pipeline):
    state_machine_arn = pipeline.assembly.output("StateMachineArn")
    assert state_machine_arn in pipeline.state_machines
    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + ":rehearsal-run"
    send(event_from("sfn-execution-failed.json", stateMachineArn=state_machine_arn, executionArn=execution_arn),
         resources=[execution_arn])


def publish_a_verdict(outcome):
    """The validation job's message for a file (validate.publish_result, as the job publishes it)."""
    def publish(pipeline):
        import validate

        bucket = pipeline.data_bucket()
        key = "incoming/sales/orders.csv"
        version = pipeline.s3.put_object(Bucket=bucket, Key="reports/sales/orders.csv.json", Body=b"{}").get("VersionId")
        message = {"outcome": outcome, "bucket": bucket, "key": key, "versionId": version,
                   "reportKey": "reports/sales/orders.csv.json", "rowCount": 2,
                   "findings": [] if outcome == "PASSED" else ["Required column order_id is missing"],
                   "jobRunId": "jr_rehearsal"}
        validate.publish_result(boto3.client("sns", region_name=REGION),
                                f"arn:aws:sns:{REGION}:{ACCOUNT}:migration-validation-dev", message)
    return publish


# The joint each permission of the example opens, by what invokes the function: the work that crosses it.
CROSSINGS = {
    ("events.amazonaws.com", "migration-incoming-objects-dev"): upload_a_file,
    ("events.amazonaws.com", "migration-glue-failures-dev"): fail_a_glue_run,
    ("events.amazonaws.com", "migration-dms-failures-dev"): fail_the_dms_task,
    ("events.amazonaws.com", "migration-sfn-failures-dev"): fail_an_execution,
    ("events.amazonaws.com", "migration-s3-deletions-dev"): delete_a_report,
    ("sns.amazonaws.com", "migration-sfn-trigger-dev"): publish_a_verdict("PASSED"),
    ("sns.amazonaws.com", "migration-remediation-dev"): publish_a_verdict("FAILED"),
}


def permissions_of(cdk_out):
    """[(permission id, principal, source name, function name)] of every AWS::Lambda::Permission of the assembly."""
    assembly = Assembly(cdk_out, "TapStack")
    found = []
    for stack, logical_id, resource in assembly.resources("AWS::Lambda::Permission"):
        properties = assembly.resolve(stack, resource["Properties"])
        function = properties["FunctionName"].rsplit(":", 1)[1]
        source = properties["SourceArn"].rsplit("/" if ":rule/" in properties["SourceArn"] else ":", 1)[1]
        found.append((logical_id, properties["Principal"], source, function))
    return sorted(found)


def crossing(principal, source, function):
    return CROSSINGS[(principal, source if principal == "events.amazonaws.com" else function)]


PERMISSIONS = permissions_of(REPO_ROOT / "cdk.out") if (REPO_ROOT / "cdk.out" / "manifest.json").is_file() else []


def test_every_permission_of_the_example_opens_a_joint_the_rehearsal_crosses():
    assert len(PERMISSIONS) == 7
    for _, principal, source, function in PERMISSIONS:
        assert crossing(principal, source, function) is not None


def remove_resource(cdk_out, logical_id):
    for path in cdk_out.glob("*.template.json"):
        template = json.loads(path.read_text())
        if logical_id in template.get("Resources", {}):
            del template["Resources"][logical_id]
            path.write_text(json.dumps(template))
            return
    raise AssertionError(f"no resource {logical_id}")


@pytest.mark.parametrize("logical_id, principal, source, function", PERMISSIONS, ids=[p[0][:60] for p in PERMISSIONS])
def test_without_a_lambda_permission_the_rehearsal_fails_and_names_it(logical_id, principal, source, function,
                                                                      bring_up, scratch_copy):
    remove_resource(scratch_copy, logical_id)
    pipeline = bring_up(scratch_copy)
    crossing(principal, source, function)(pipeline)
    result = pipeline.pump()

    failed, denied = failures(result)
    assert failed == []
    assert len(denied) == 1, denied
    assert denied[0].startswith(f"no AWS::Lambda::Permission lets {principal} invoke {function} from ")
    assert source in denied[0]
    assert result.calls_of(function) == []


# --------------------------------------------------------------------------------------------------------------
# The monitoring rules no file path reaches, with every permission in place
# --------------------------------------------------------------------------------------------------------------

def test_a_failed_dms_task_reaches_remediation_which_resumes_it(bring_up, example):
    pipeline = bring_up(example)
    task_arn = fail_the_dms_task(pipeline)
    result = pipeline.pump()

    assert failures(result) == ([], [])
    [event] = result.calls_of("migration-remediation-dev")
    assert (event["detail-type"], event["resources"]) == ("DMS Replication Task State Change", [task_arn])
    task = pipeline.dms.dms.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}])["ReplicationTasks"][0]
    assert task["Status"] == "running"
    assert len(alerts(result)) == 1
    actions = {(call.caller.name, call.service, call.operation) for call in result.calls}
    assert ("migration-remediation-dev", "dms", "StartReplicationTask") in actions
    assert ("migration-remediation-dev", "sns", "Publish") in actions


def test_an_object_deleted_from_the_data_bucket_reaches_remediation_which_alerts(bring_up, example):
    pipeline = bring_up(example)
    delete_a_report(pipeline)
    result = pipeline.pump()

    assert failures(result) == ([], [])
    [event] = result.calls_of("migration-remediation-dev")
    assert (event["detail-type"], event["detail"]["object"]["key"]) == ("Object Deleted", "reports/sales/orders.csv.json")
    assert alerts(result) == ["[migration-pipeline-dev] Object deleted from pipeline bucket: orders.csv.json"]


# --------------------------------------------------------------------------------------------------------------
# Role statements
# --------------------------------------------------------------------------------------------------------------

def without_statement_granting(cdk_out, role_fragment, action):
    """Removes, from the policies of the one role whose logical ID holds `role_fragment`, the action from every
    statement that grants it (the statement goes when it grants nothing else)."""
    edited = 0
    for path in cdk_out.glob("*.template.json"):
        template = json.loads(path.read_text())
        for resource in template.get("Resources", {}).values():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            roles = json.dumps(resource["Properties"].get("Roles", []))
            if role_fragment not in roles:
                continue
            document = resource["Properties"]["PolicyDocument"]
            kept = []
            for statement in document["Statement"]:
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                if action in actions:
                    edited += 1
                    actions = [a for a in actions if a != action]
                    if not actions:
                        continue
                    statement = copy.deepcopy(statement)
                    statement["Action"] = actions if len(actions) > 1 else actions[0]
                kept.append(statement)
            document["Statement"] = kept
        path.write_text(json.dumps(template))
    assert edited >= 1, f"no statement of {role_fragment} grants {action}"


STATEMENTS = [
    # (role, action, the work that needs it, the caller the rehearsal names)
    ("FunctionsRemediationFunctionServiceRole", "dms:StartReplicationTask", fail_the_dms_task, "migration-remediation-dev"),
    ("FunctionsRemediationFunctionServiceRole", "sns:Publish", delete_a_report, "migration-remediation-dev"),
    ("FunctionsStepFunctionTriggerFunctionServiceRole", "states:StartExecution", publish_a_verdict("PASSED"),
     "migration-sfn-trigger-dev"),
    ("OrchestrationStateMachineRole", "dms:DescribeReplicationTasks", publish_a_verdict("PASSED"),
     "migration-orchestration-dev"),
    ("OrchestrationTableReviewFunctionServiceRole", "dms:DescribeTableStatistics", publish_a_verdict("PASSED"),
     "migration-table-review-dev"),
    ("FunctionsGlueTriggerFunctionServiceRole", "glue:StartJobRun", upload_a_file, "migration-glue-trigger-dev"),
]


@pytest.mark.parametrize("role, action, work, caller", STATEMENTS, ids=[f"{s[3]}-{s[1]}" for s in STATEMENTS])
def test_without_a_statement_a_call_needs_the_rehearsal_fails_and_names_it(role, action, work, caller, bring_up,
                                                                           scratch_copy):
    without_statement_granting(scratch_copy, role, action)
    pipeline = bring_up(scratch_copy)
    work(pipeline)
    result = pipeline.pump()

    _, denied = failures(result)
    named = [text for text in denied if f" {caller} may not {action} on " in text]
    assert named, denied
    assert all('missing statement {"Effect": "Allow", "Action": "' + action + '"' in text for text in named), named
