"""Every synthesized EventBridge rule, with its pattern resolved to concrete values, run through moto's matcher.

Each rule is put on moto's default bus with an SQS queue as target; sample events (shaped as AWS documents
them, retargeted to the fake bucket names / task ARN / state machine ARN substituted into the templates) are
sent with put_events, and the queues say which rules matched.
"""

import json
import re
from pathlib import Path

import boto3
import pytest
from jsonschema import Draft202012Validator
from moto import mock_aws

from template_loader import (ROOT_STACK, Resolver, UnknownIntrinsic, load_template, nested_stack_names,
                             resources_of_type, the_resource)

ACCOUNT = "123456789012"
REGION = "us-west-2"
HERE = Path(__file__).resolve().parent
EVENT_DIRS = (HERE.parent / "events", HERE / "events")  # the shared samples, then the ones only these tests need

# Fake values for the template parameters / nested-stack outputs the patterns refer to.
DATA_BUCKET = "fake-migration-data-bucket-dev"
SCRIPT_BUCKET = "fake-migration-script-bucket-dev"
OTHER_BUCKET = "someone-elses-bucket"
TASK_ARN = "arn:aws:dms:us-west-2:123456789012:task:FAKEMIGRATIONTASKDEV0000001"
OTHER_TASK_ARN = "arn:aws:dms:us-west-2:123456789012:task:OTHERTEAMTASK00000000000001"
OTHER_STATE_MACHINE_ARN = "arn:aws:states:us-west-2:123456789012:stateMachine:some-other-workflow"

# The rules, by stack and logical ID without its hash.
INCOMING = "TapStack/MigrationPipelineS3ObjectCreatedRule"
GLUE_FAILURE = "MonitoringStack/MonitoringGlueFailureRule"
DMS_FAILURE = "MonitoringStack/MonitoringDmsFailureRule"
SFN_FAILURE = "MonitoringStack/MonitoringStepFunctionsFailureRule"
S3_DELETION = "MonitoringStack/MonitoringS3DeletionRule"
AUDIT_GLUE = "MonitoringStack/MonitoringAuditGlueRule"
AUDIT_DMS = "MonitoringStack/MonitoringAuditDmsRule"
AUDIT_SFN = "MonitoringStack/MonitoringAuditStepFunctionsRule"
AUDIT_DATASYNC = "MonitoringStack/MonitoringAuditDataSyncRule"
AUDIT_S3 = "MonitoringStack/MonitoringAuditS3Rule"
AUDIT_PIPELINE = "MonitoringStack/MonitoringAuditPipelineRule"
ALL_RULES = {INCOMING, GLUE_FAILURE, DMS_FAILURE, SFN_FAILURE, S3_DELETION,
             AUDIT_GLUE, AUDIT_DMS, AUDIT_SFN, AUDIT_DATASYNC, AUDIT_S3, AUDIT_PIPELINE}


# --------------------------------------------------------------------------------------------------------------
# Names the emitters use (read from their own templates, so a rule and its emitter cannot drift apart)
# --------------------------------------------------------------------------------------------------------------

class Names:
    def __init__(self):
        glue_job = the_resource(load_template("GlueStack"), "AWS::Glue::Job")["Properties"]
        self.job = glue_job["Name"]
        self.glue_pipeline = glue_job["DefaultArguments"]["--pipeline_name"]
        lambda_pipeline_names = {
            fn["Properties"]["Environment"]["Variables"]["PIPELINE_NAME"]
            for fn in resources_of_type(load_template("LambdaStack"), "AWS::Lambda::Function").values()
            if "PIPELINE_NAME" in fn["Properties"].get("Environment", {}).get("Variables", {})
        }
        assert len(lambda_pipeline_names) == 1, lambda_pipeline_names
        self.pipeline = lambda_pipeline_names.pop()
        state_machine = the_resource(load_template("OrchestrationStack"), "AWS::StepFunctions::StateMachine", "OrchestrationStateMachine")
        self.state_machine_name = state_machine["Properties"]["StateMachineName"]
        self.state_machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.state_machine_name}"


@pytest.fixture(scope="module")
def names():
    return Names()


# --------------------------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------------------------

def collect_rules(names):
    """{"<stack>/<logical ID without hash>": (stack, logical ID, properties)} of every AWS::Events::Rule."""
    found = {}
    for stack in [ROOT_STACK, *nested_stack_names()]:
        for logical_id, rule in resources_of_type(load_template(stack), "AWS::Events::Rule").items():
            key = f"{stack}/{re.sub(r'[0-9A-F]{8}$', '', logical_id)}"
            assert key not in found, key
            found[key] = (stack, logical_id, rule["Properties"])
    return found


def fake_values(names):
    return {
        "StorageDataBucket": DATA_BUCKET,
        "StorageScriptBucket": SCRIPT_BUCKET,
        "DmsReplicationTask": TASK_ARN,
        "OrchestrationStateMachine": names.state_machine_arn,
    }


@pytest.fixture(scope="module")
def rules(names):
    """{rule key: resolved EventPattern}."""
    templates = {}
    resolved = {}
    for key, (stack, _, properties) in collect_rules(names).items():
        template = templates.setdefault(stack, load_template(stack))
        resolved[key] = Resolver(template, fake_values(names)).resolve(properties["EventPattern"])
    return resolved


def test_every_rule_is_found():
    found = collect_rules(Names())
    assert set(found) == ALL_RULES
    per_stack = {}
    for stack, _, _ in found.values():
        per_stack[stack] = per_stack.get(stack, 0) + 1
    assert per_stack == {ROOT_STACK: 1, "MonitoringStack": 10}


def test_every_rule_is_enabled_on_the_default_bus_with_one_target():
    for key, (_, _, properties) in collect_rules(Names()).items():
        assert properties.get("State") == "ENABLED", key
        assert "EventBusName" not in properties, key  # the default bus, where AWS services send their events
        assert len(properties["Targets"]) == 1, key


def test_resolved_patterns_are_concrete(rules, names):
    assert rules[INCOMING] == {"source": ["aws.s3"], "detail-type": ["Object Created"],
                               "detail": {"bucket": {"name": [DATA_BUCKET]},
                                          "object": {"key": [{"prefix": "incoming/"}]}}}
    assert rules[DMS_FAILURE]["resources"] == [TASK_ARN]
    assert rules[AUDIT_DMS]["resources"] == [TASK_ARN]
    assert rules[SFN_FAILURE]["detail"]["stateMachineArn"] == [names.state_machine_arn]
    assert rules[AUDIT_SFN]["detail"]["stateMachineArn"] == [names.state_machine_arn]
    assert rules[S3_DELETION]["detail"] == {"bucket": {"name": [DATA_BUCKET, SCRIPT_BUCKET]},
                                            "object": {"key": [{"anything-but": {"prefix": "incoming/"}}]},
                                            "reason": [{"anything-but": ["Lifecycle Expiration"]}]}
    assert rules[AUDIT_S3]["detail"] == {"bucket": {"name": [DATA_BUCKET, SCRIPT_BUCKET]}}
    assert rules[AUDIT_DATASYNC] == {"source": ["aws.datasync"]}


def test_rules_use_the_names_the_emitters_use(rules, names):
    assert rules[GLUE_FAILURE]["detail"]["jobName"] == [names.job]
    assert rules[AUDIT_GLUE]["detail"]["jobName"] == [names.job]
    assert names.glue_pipeline == names.pipeline
    assert rules[AUDIT_PIPELINE] == {"source": ["migration.pipeline"], "detail": {"pipeline": [names.pipeline]}}


def _bucket_sends_to_eventbridge(storage, fragment):
    [(logical_id, bucket)] = [(lid, b) for lid, b in resources_of_type(storage, "AWS::S3::Bucket").items()
                              if lid.startswith(fragment)]
    on_bucket = bucket["Properties"].get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    if on_bucket.get("EventBridgeEnabled") is True:
        return True
    # The L2 `eventBridgeEnabled` flag writes it through a notifications custom resource instead.
    return any(n["Properties"].get("BucketName") == {"Ref": logical_id}
               and "EventBridgeConfiguration" in n["Properties"].get("NotificationConfiguration", {})
               for n in resources_of_type(storage, "Custom::S3BucketNotifications").values())


@pytest.mark.parametrize("fragment", [
    "StorageDataBucket",
    "StorageScriptBucket",
])
def test_every_bucket_in_an_s3_rule_sends_its_events_to_eventbridge(fragment, rules):
    # The S3 rules name exactly these two buckets (see test_resolved_patterns_are_concrete).
    assert _bucket_sends_to_eventbridge(load_template("StorageStack"), fragment)


# --------------------------------------------------------------------------------------------------------------
# Sample events, retargeted at the fake values
# --------------------------------------------------------------------------------------------------------------

def sample(name):
    for directory in EVENT_DIRS:
        path = directory / name
        if path.is_file():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"sample event {name} not found in {[str(d) for d in EVENT_DIRS]}")


def s3_event(name, bucket=DATA_BUCKET, key=None):
    event = sample(name)
    event["detail"]["bucket"]["name"] = bucket
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    if key is not None:
        event["detail"]["object"]["key"] = key
    return event


def glue_event(name, job, state=None):
    event = sample(name)
    event["detail"]["jobName"] = job
    if state:
        event["detail"]["state"] = state
    event["detail"]["message"] = event["detail"]["message"].replace("migration-pipeline-validation", job)
    return event


def dms_event(name, task_arn=TASK_ARN):
    event = sample(name)
    event["resources"] = [task_arn]
    return event


def sfn_event(name, state_machine_arn, status=None):
    event = sample(name)
    detail = event["detail"]
    machine_name = state_machine_arn.rsplit(":", 1)[1]
    detail["stateMachineArn"] = state_machine_arn
    detail["executionArn"] = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{detail['name']}"
    event["resources"] = [detail["executionArn"]]
    if status is not None:
        detail["status"] = status
    return event


def pipeline_event(pipeline):
    event = sample("pipeline-validation-result.json")
    event["detail"]["pipeline"] = pipeline
    event["detail"]["bucket"] = DATA_BUCKET
    return event


# --------------------------------------------------------------------------------------------------------------
# moto EventBridge
# --------------------------------------------------------------------------------------------------------------

class Bus:
    """Puts the given rules on moto's default bus, each with its own SQS queue."""

    def __init__(self, patterns):
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queues = {}
        for index, (key, pattern) in enumerate(sorted(patterns.items())):
            url = self.sqs.create_queue(QueueName=f"rule-{index}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            name = f"rule-{index}"
            self.events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
            self.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
            self.queues[key] = url

    def send(self, event):
        """Sends the event; returns {rule key: [delivered events]} of the rules that matched."""
        result = self.events.put_events(Entries=[{
            "Source": event["source"], "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]), "Resources": event["resources"],
        }])
        assert result["FailedEntryCount"] == 0, result
        delivered = {}
        for key, url in self.queues.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0).get("Messages", [])
            if messages:
                delivered[key] = [json.loads(m["Body"]) for m in messages]
        for bodies in delivered.values():
            assert len(bodies) == 1
            assert bodies[0]["source"] == event["source"]
            assert bodies[0]["detail-type"] == event["detail-type"]
            assert bodies[0]["detail"] == event["detail"]
            assert bodies[0]["resources"] == event["resources"]
        return delivered


@pytest.fixture
def bus_for(rules):
    with mock_aws():
        yield lambda *keys: Bus({key: rules[key] for key in keys})


def assert_matches(bus_for, rule, event, expected):
    delivered = bus_for(rule).send(event)
    assert (rule in delivered) is expected, json.dumps(event)[:400]


# --------------------------------------------------------------------------------------------------------------
# One table per rule (the rule alone on the bus)
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build, expected", [
    pytest.param(lambda n: s3_event("s3-object-created-incoming.json"), True, id="object created under incoming/"),
    pytest.param(lambda n: s3_event("s3-object-created-reports.json"), False, id="object created under reports/"),
    pytest.param(lambda n: s3_event("s3-object-created-incoming.json", key="archive/incoming/x.csv"), False,
                 id="incoming/ further down the key"),
    pytest.param(lambda n: s3_event("s3-object-created-incoming.json", bucket=OTHER_BUCKET), False,
                 id="incoming/ object in another bucket"),
    pytest.param(lambda n: s3_event("s3-object-created-incoming.json", bucket=SCRIPT_BUCKET), False,
                 id="incoming/ object in the script bucket"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json"), False, id="object deleted under incoming/"),
])
def test_incoming_object_rule(bus_for, names, build, expected):
    assert_matches(bus_for, INCOMING, build(names), expected)


@pytest.mark.parametrize("build, expected", [
    pytest.param(lambda n: glue_event("glue-job-failed.json", n.job), True, id="FAILED"),
    pytest.param(lambda n: glue_event("glue-job-timeout.json", n.job), True, id="TIMEOUT"),
    # The other terminal non-success JobRunState values of the Glue API.
    pytest.param(lambda n: glue_event("glue-job-failed.json", n.job, state="ERROR"), True, id="ERROR"),
    pytest.param(lambda n: glue_event("glue-job-failed.json", n.job, state="EXPIRED"), True, id="EXPIRED"),
    pytest.param(lambda n: glue_event("glue-job-failed.json", n.job, state="STOPPED"), True, id="STOPPED"),
    pytest.param(lambda n: glue_event("glue-job-failed.json", n.job, state="RUNNING"), False, id="RUNNING"),
    pytest.param(lambda n: glue_event("glue-job-succeeded.json", n.job), False, id="SUCCEEDED"),
    pytest.param(lambda n: glue_event("glue-job-failed.json", "another-teams-job"), False, id="FAILED, other job"),
])
def test_glue_failure_rule(bus_for, names, build, expected):
    assert_matches(bus_for, GLUE_FAILURE, build(names), expected)


@pytest.mark.parametrize("build, expected", [
    pytest.param(lambda n: dms_event("dms-task-failed.json"), True, id="REPLICATION_TASK_FAILED"),
    pytest.param(lambda n: dms_event("dms-task-stopped-error.json"), True, id="REPLICATION_TASK_STOPPED (error)"),
    pytest.param(lambda n: dms_event("dms-task-stopped-normal.json"), True, id="REPLICATION_TASK_STOPPED (normal)"),
    pytest.param(lambda n: dms_event("dms-task-started.json"), False, id="REPLICATION_TASK_STARTED"),
    pytest.param(lambda n: dms_event("dms-task-failed.json", OTHER_TASK_ARN), False, id="FAILED, other task"),
])
def test_dms_failure_rule(bus_for, names, build, expected):
    assert_matches(bus_for, DMS_FAILURE, build(names), expected)


@pytest.mark.parametrize("build, expected", [
    pytest.param(lambda n: sfn_event("sfn-execution-failed.json", n.state_machine_arn), True, id="FAILED"),
    pytest.param(lambda n: sfn_event("sfn-execution-timed-out.json", n.state_machine_arn), True, id="TIMED_OUT"),
    pytest.param(lambda n: sfn_event("sfn-execution-aborted.json", n.state_machine_arn), True, id="ABORTED"),
    pytest.param(lambda n: sfn_event("sfn-execution-succeeded.json", n.state_machine_arn), False, id="SUCCEEDED"),
    pytest.param(lambda n: sfn_event("sfn-execution-succeeded.json", n.state_machine_arn, status="RUNNING"), False,
                 id="RUNNING"),
    pytest.param(lambda n: sfn_event("sfn-execution-failed.json", OTHER_STATE_MACHINE_ARN), False,
                 id="FAILED, other state machine"),
])
def test_step_functions_failure_rule(bus_for, names, build, expected):
    assert_matches(bus_for, SFN_FAILURE, build(names), expected)


@pytest.mark.parametrize("build, expected", [
    pytest.param(lambda n: s3_event("s3-object-deleted.json", key="reports/sales/orders.csv.json"), True,
                 id="report deleted in the data bucket"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json", key="quarantine/sales/orders.csv"), True,
                 id="quarantined file deleted in the data bucket"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json"), False,
                 id="incoming/ file moved to quarantine by remediation"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json", bucket=SCRIPT_BUCKET, key="scripts/validate.py"), True,
                 id="deleted in the script bucket"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json", bucket=OTHER_BUCKET), False, id="deleted elsewhere"),
    pytest.param(lambda n: s3_event("s3-object-created-incoming.json"), False, id="created in the data bucket"),
])
def test_s3_deletion_rule(bus_for, names, build, expected):
    assert_matches(bus_for, S3_DELETION, build(names), expected)


def test_s3_deletion_rule_ignores_lifecycle_expiry(bus_for):
    # Both buckets expire noncurrent versions by lifecycle; that housekeeping is not data loss.
    event = s3_event("s3-object-deleted.json", key="reports/sales/orders.csv.json")
    event["detail"].update({"reason": "Lifecycle Expiration", "deletion-type": "Permanently Deleted",
                            "requester": "s3.amazonaws.com", "source-ip-address": "s3.amazonaws.com"})
    assert_matches(bus_for, S3_DELETION, event, False)


# --------------------------------------------------------------------------------------------------------------
# All rules on the bus at once: exactly which rules each event reaches
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build, expected", [
    pytest.param(lambda n: glue_event("glue-job-failed.json", n.job), {GLUE_FAILURE, AUDIT_GLUE}, id="glue failed"),
    pytest.param(lambda n: glue_event("glue-job-succeeded.json", n.job), {AUDIT_GLUE}, id="glue succeeded"),
    pytest.param(lambda n: dms_event("dms-task-failed.json"), {DMS_FAILURE, AUDIT_DMS}, id="dms failed"),
    pytest.param(lambda n: dms_event("dms-task-started.json"), {AUDIT_DMS}, id="dms started"),
    pytest.param(lambda n: sfn_event("sfn-execution-failed.json", n.state_machine_arn), {SFN_FAILURE, AUDIT_SFN},
                 id="execution failed"),
    pytest.param(lambda n: sfn_event("sfn-execution-succeeded.json", n.state_machine_arn), {AUDIT_SFN},
                 id="execution succeeded"),
    pytest.param(lambda n: sample("datasync-task-execution-state-change.json"), {AUDIT_DATASYNC},
                 id="datasync execution"),
    pytest.param(lambda n: s3_event("s3-object-created-incoming.json"), {INCOMING, AUDIT_S3}, id="s3 incoming"),
    pytest.param(lambda n: s3_event("s3-object-created-reports.json"), {AUDIT_S3}, id="s3 report written"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json", key="reports/a.csv.json"), {S3_DELETION, AUDIT_S3},
                 id="s3 report deleted"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json"), {AUDIT_S3}, id="s3 incoming file quarantined"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json", bucket=SCRIPT_BUCKET, key="scripts/validate.py"),
                 {S3_DELETION, AUDIT_S3}, id="s3 script deleted"),
    pytest.param(lambda n: pipeline_event(n.pipeline), {AUDIT_PIPELINE}, id="pipeline event"),
    # Unrelated events reach no rule at all.
    pytest.param(lambda n: s3_event("s3-object-created-incoming.json", bucket=OTHER_BUCKET), set(),
                 id="s3 other bucket"),
    pytest.param(lambda n: s3_event("s3-object-deleted.json", bucket=OTHER_BUCKET), set(), id="s3 deleted elsewhere"),
    pytest.param(lambda n: glue_event("glue-job-failed.json", "another-teams-job"), set(), id="glue other job"),
    pytest.param(lambda n: dms_event("dms-task-failed.json", OTHER_TASK_ARN), set(), id="dms other task"),
    pytest.param(lambda n: sfn_event("sfn-execution-failed.json", OTHER_STATE_MACHINE_ARN), set(),
                 id="execution of another state machine"),
    pytest.param(lambda n: sample("ec2-instance-state-change.json"), set(), id="aws.ec2"),
    pytest.param(lambda n: pipeline_event("another-pipeline-prod"), set(), id="pipeline event, other pipeline"),
    pytest.param(lambda n: pipeline_event("migration-pipeline"), set(), id="pipeline event, default name"),
])
def test_which_rules_an_event_reaches(bus_for, names, build, expected):
    event = build(names)
    delivered = bus_for(*sorted(ALL_RULES)).send(event)
    assert set(delivered) == expected


def test_the_pipeline_sample_is_a_valid_audit_event(names):
    schema = json.loads((HERE.parents[1] / "src" / "runtime" / "pipeline_event.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(pipeline_event(names.pipeline))]
    assert errors == []


def test_template_loader_resolves_only_what_it_knows():
    """The intrinsics the patterns may use, on a small hand-written template."""
    template = {"Parameters": {"referencetoXOutputsStorageDataBucketRef": {"Type": "String"}},
                "Resources": {"Queue1234ABCD": {"Type": "AWS::SQS::Queue"}}}
    resolver = Resolver(template, {"StorageDataBucket": DATA_BUCKET, "Queue1234ABCD.Arn": "arn:aws:sqs:q"})
    assert resolver.resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::${referencetoXOutputsStorageDataBucketRef}/*"}) \
        == f"arn:aws:s3:::{DATA_BUCKET}/*"
    assert resolver.resolve({"Fn::Sub": ["${A}.${AWS::URLSuffix}/${!Literal}", {"A": {"Ref": "AWS::Region"}}]}) \
        == "us-west-2.amazonaws.com/${Literal}"
    assert resolver.resolve({"Fn::Sub": "${Queue1234ABCD.Arn}@${AWS::AccountId}"}) == "arn:aws:sqs:q@123456789012"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}) == "b"
    assert resolver.resolve({"Fn::GetAtt": "Queue1234ABCD.Arn"}) == "arn:aws:sqs:q"
    assert resolver.resolve({"k": [{"Fn::Join": ["-", ["x", {"Ref": "AWS::Region"}]]}]}) == {"k": ["x-us-west-2"]}
    for unknown in ({"Ref": "NotInTemplate"}, {"Ref": "AWS::StackName"}, {"Fn::If": ["C", "a", "b"]},
                    {"Fn::ImportValue": "x"}, {"Ref": "Queue1234ABCD"}):
        with pytest.raises(UnknownIntrinsic):
            resolver.resolve(unknown)
    ambiguous = Resolver(template, {"Storage": "a", "DataBucket": "b"})  # two fragments match one name
    with pytest.raises(UnknownIntrinsic):
        ambiguous.resolve({"Ref": "referencetoXOutputsStorageDataBucketRef"})
