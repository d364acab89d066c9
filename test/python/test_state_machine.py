"""Runs the synthesized migration state machine in moto's Step Functions interpreter against moto DMS and SNS.

The definition is the one in cdk.out (OrchestrationStack), with only its parameters filled in (the ARNs of a
DMS task and an SNS topic created in moto) and the poll interval shortened so the Wait state does not sleep.
The DMS task's state between polls is driven through moto's DMS backend. moto has no DescribeTableStatistics:
the harness answers it from `Harness.tables`, shaped as the DMS API Reference documents the response
(TableStatistics list, Marker/MaxRecords paging). moto runs Lambda code in Docker only: the harness runs the
table-review function (src/runtime/table_review.py) in process when the state machine invokes it. Every run is
checked against the Step Functions quotas (state size, history length).
"""

import base64
import datetime
import functools
import importlib
import json
import os
import re
import sys
import time
from unittest import mock

import boto3
import pytest
from antlr4 import CommonTokenStream, InputStream
from moto import mock_aws
from moto.dms import models as dms_models
from moto.dynamodb import models as dynamodb_models
from moto.dms import responses as dms_responses
from moto.dms.exceptions import DmsClientError, ResourceNotFoundFault
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client as sfn_boto_client
from moto.stepfunctions.parser.asl.utils import json_path as sfn_json_path
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

import dms_task_guard
import table_review
from dms_assessment_fake import fake_premigration_assessments
from dms_state_rules import allow_concurrent_executions, atomic_dynamodb_writes, enforce_dms_task_state_rules
from pipeline_helpers import add_dms_tagging, drain_queue, run_invokes_in_process
from template_loader import Resolver, load_template, resources_of_type, the_resource

ACCOUNT = "123456789012"
REGION = "us-west-2"
EXECUTION_DEADLINE_SECONDS = 30

# CDK names of the Orchestration stack's two parameters (see template_loader for how fragments are matched).
TASK_PARAMETER = "DmsReplicationTask"
TOPIC_PARAMETER = "MessagingValidationTopic"
BUCKET_PARAMETER = "StorageDataBucket"
REVIEW_FUNCTION = "TableReviewFunction"
# The migration state machine's logical ID fragment (the stack also holds the cutover state machine).
MIGRATION_STATE_MACHINE = "OrchestrationStateMachine"
ASSESSMENT_ROLE = "PremigrationAssessmentServiceRole"
ASSESSMENT_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/migration-premigration-assessment"
LEASE_PARAMETER = "DmsTaskLease"
LEASE_TABLE = "migration-task-lease"
DATA_BUCKET = "migration-data-dev"
REVIEW_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:migration-table-review-dev"
# Step Functions quotas (Step Functions Developer Guide, "Service quotas"): the state passed between states is at
# most 256 KiB, and an execution whose history reaches 25,000 events fails.
STATE_LIMIT_BYTES = 256 * 1024
HISTORY_LIMIT_EVENTS = 25_000

# What the example app synthesizes: orchestration.pollInterval = 5 minutes, orchestration.timeout = 2 hours.
TEMPLATE_POLL_SECONDS = 300
TEMPLATE_ASSESSMENT_POLL_SECONDS = 30
# The premigration assessment's longest wait (61 looks x 30 s) is charged to the first start's replication polls.
TEMPLATE_ASSESSMENT_CHARGED_POLLS = 7
TEMPLATE_TIMEOUT_SECONDS = 7200
TEMPLATE_MAX_POLLS = 22
LEASE_RETRY_SECONDS = 10  # src/private/task-lease.ts: how long a run waits before it tries the lease again  # floor(timeout / pollInterval) - 2: one interval of margin before TimeoutSeconds

RUN_INPUT = {"trigger": "validation-passed", "bucket": "fake-data-bucket", "key": "incoming/sales/orders.csv"}

# Once the load is complete the table-review function judges the tables; every run ends by announcing its outcome.
REVIEW_PATH = ["ReviewTables", "IsVerdictSettled"]
# Every outcome first releases the task's lease and lists the files the run covers.
ANNOUNCE_PATH = ["ReleaseLease", "ListCoveredFiles", "CountCoveredFiles", "PointToFileRecords", "WriteReport",
                 "PublishOutcomeEvent", "ByOutcome"]
VALIDATED_PATH = [*REVIEW_PATH, "TableVerdict", *ANNOUNCE_PATH, "NotifySuccess", "MigrationSucceeded"]
FAILURE_END = [*ANNOUNCE_PATH, "NotifyFailure", "MigrationFailed"]

START_PATH = ["Initialise", "HasRunFile", "RunFileIsKey", "AcquireLease", "DescribeTask", "HowToStart"]
# The first start of a ready task waits for a premigration assessment that passes (test_premigration_assessment.py).
ASSESSMENT_PATH = ["StartPremigrationAssessment", "WaitForPremigrationAssessment", "CheckPremigrationAssessment",
                   "IsPremigrationAssessmentDone"]
ASSESSED = [*ASSESSMENT_PATH, "ChargePremigrationAssessmentTime"]
STARTED = ["BeginStartReplication", "StartReplication", "EndStartReplication"]
RESUMED = ["BeginResumeReplication", "ResumeReplication", "EndResumeReplication"]
POLL_AFTER_START = ["WaitForReplication", "CheckReplication", "IsReplicationComplete"]
HAPPY_START_PATH = [*START_PATH, *ASSESSED, *STARTED, *POLL_AFTER_START, *VALIDATED_PATH]
RESUME_PATH = [*START_PATH, *RESUMED, *POLL_AFTER_START, *VALIDATED_PATH]
# A stopped task or tables in error fail a run only while the run still holds the task's lease.
CONFIRMED_FAILURE = ["ConfirmLease", "IsLeaseStillHeld", "DidTablesError", "ReplicationFailed"]
DEPLOYMENT_MARKER = "migration-pipeline:stopped-for-deployment"  # the stop guard's tag (src/private/dms-task-guard.ts)


# --------------------------------------------------------------------------------------------------------------
# The synthesized template
# --------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def orchestration_template():
    return load_template("OrchestrationStack")


@pytest.fixture(scope="module")
def dms_task_properties():
    return the_resource(load_template("DMSStack"), "AWS::DMS::ReplicationTask")["Properties"]


def resolver_for(template, task_arn, topic_arn, bucket=DATA_BUCKET):
    return Resolver(template, {TASK_PARAMETER: task_arn, TOPIC_PARAMETER: topic_arn, BUCKET_PARAMETER: bucket,
                               REVIEW_FUNCTION: REVIEW_FUNCTION_ARN, ASSESSMENT_ROLE: ASSESSMENT_ROLE_ARN,
                               LEASE_PARAMETER: LEASE_TABLE})


def resolve_definition(template, task_arn, topic_arn, bucket=DATA_BUCKET):
    state_machine = the_resource(template, "AWS::StepFunctions::StateMachine", MIGRATION_STATE_MACHINE)
    return json.loads(resolver_for(template, task_arn, topic_arn, bucket).resolve(
        state_machine["Properties"]["DefinitionString"]))


def review_function_environment(template, task_arn, topic_arn):
    """The table-review function's environment as synthesized, with the task and bucket filled in."""
    [function] = [f for lid, f in resources_of_type(template, "AWS::Lambda::Function").items() if REVIEW_FUNCTION in lid]
    return resolver_for(template, task_arn, topic_arn).resolve(function["Properties"]["Environment"]["Variables"])


def timeout_choice(definition):
    """The IsReplicationComplete rule that sends the run to MigrationTimedOut."""
    rules = [rule for rule in definition["States"]["IsReplicationComplete"]["Choices"]
             if rule.get("Next") == "MigrationTimedOut"]
    assert len(rules) == 1, rules
    assert rules[0]["Variable"] == "$.polls.count"
    return rules[0]


def test_template_poll_settings(orchestration_template):
    definition = resolve_definition(orchestration_template, "arn:aws:dms:us-west-2:123456789012:task:T",
                                    "arn:aws:sns:us-west-2:123456789012:t")
    assert definition["StartAt"] == "Initialise"
    assert definition["TimeoutSeconds"] == TEMPLATE_TIMEOUT_SECONDS
    assert definition["States"]["WaitForReplication"] == {"Type": "Wait", "Seconds": TEMPLATE_POLL_SECONDS,
                                                          "Next": "CheckReplication"}
    assert timeout_choice(definition)["NumericGreaterThanEquals"] == TEMPLATE_MAX_POLLS
    # Every Task state retries and routes any other error to the outcome's announcement (report, audit event,
    # notification), or, for the notifications themselves, to a Fail state.
    tasks = {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}
    # The lease's own states (src/private/task-lease.ts) route a failed condition on; test_concurrent_runs.py runs them.
    lease_tasks = {"AcquireLease", "ReadLease", "DescribeHoldingRun", "JoinRun", "CountJoinedFile", "RecordJoinedFile",
                   "TakeOverLease", "ConfirmLease",
                   "BeginStartReplication", "BeginResumeReplication", "EndStartReplication", "EndResumeReplication",
                   "ReleaseLease", "ReclaimFiles"}
    assert sorted(set(tasks) - lease_tasks) == ["CheckPremigrationAssessment", "CheckReplication", "DescribeTask",
                                                "ListFailedPremigrationAssessments", "NotifyFailure",
                                                "NotifyInterrupted", "NotifySuccess", "PublishOutcomeEvent",
                                                "ResumeReplication", "ReviewErroredTables", "ReviewTables",
                                                "StartPremigrationAssessment",
                                                "StartReplication", "WriteReport"]
    assert lease_tasks <= set(tasks)
    for name, state in tasks.items():
        # The audit event is best effort: no retry, and a failure goes on to the notification.
        assert state.get("Retry") or name in ("PublishOutcomeEvent", "ReclaimFiles"), name
        assert state["TimeoutSeconds"] == (360 if name in ("ReviewTables", "ReviewErroredTables") else 60), name
        # Every error ends in a catcher for any error (States.ALL), after the lease's own condition failures.
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name
        if name in lease_tasks:
            continue
        assert [c["ErrorEquals"] for c in state["Catch"]] == [["States.ALL"]], name
        expected = {"NotifySuccess": "NotificationFailed",
                    "NotifyFailure": "FailureNotificationFailed",
                    "NotifyInterrupted": "InterruptionNotificationFailed",
                    "WriteReport": "ReportNotWritten",
                    "ReviewTables": "TableReviewFailed",
                    # Tables in error fail the run; a review that fails leaves the task's own failure.
                    "ReviewErroredTables": "ReplicationFailed",
                    "StartPremigrationAssessment": "PremigrationAssessmentNotStarted",
                    "CheckPremigrationAssessment": "PremigrationAssessmentNotStarted",
                    "ListFailedPremigrationAssessments": "SourceNotReadyUnnamed",
                    "PublishOutcomeEvent": "ByOutcome"}.get(name, "ReleaseLease")
        assert state["Catch"][0]["Next"] == expected, name
    # The failure paths that are not Task errors announce too, after the lease is released.
    for name in ("ReplicationFailed", "MigrationTimedOut", "TableReviewFailed", "InterruptedForDeployment",
                 "TableVerdict", "VerdictAtTimeout", "LeaseContended", "LeaseUnavailable",
                 "PremigrationAssessmentNotStarted", "SourceNotReady", "SourceNotReadyUnnamed",
                 "PremigrationAssessmentError", "PremigrationAssessmentTimedOut"):
        assert definition["States"][name]["Next"] == "ReleaseLease", name
    assert definition["States"]["ListCoveredFiles"]["Next"] == "CountCoveredFiles"
    assert definition["States"]["CountCoveredFiles"]["Next"] == "PointToFileRecords"
    assert definition["States"]["PointToFileRecords"]["Next"] == "WriteReport"
    assert definition["States"]["ReportNotWritten"]["Next"] == "PublishOutcomeEvent"


def test_timeout_path_runs_one_interval_before_the_execution_timeout(orchestration_template):
    definition = resolve_definition(orchestration_template, "arn:aws:dms:us-west-2:123456789012:task:T",
                                    "arn:aws:sns:us-west-2:123456789012:t")
    wait = definition["States"]["WaitForReplication"]["Seconds"]
    max_polls = timeout_choice(definition)["NumericGreaterThanEquals"]
    # The check that sees polls.count == N comes after N + 1 waits (Initialise sets 0, CountPoll adds 1 per loop).
    waited_before_timeout_path = (max_polls + 1) * wait
    assert waited_before_timeout_path <= definition["TimeoutSeconds"] - wait
    # A first start waits for the premigration assessment first (at most its timeout, plus the start call), and
    # begins with that wait charged: its replication polls end as early before the execution timeout.
    charged = definition["States"]["ChargePremigrationAssessmentTime"]["Parameters"]["count"]
    looks = [rule for rule in definition["States"]["IsPremigrationAssessmentDone"]["Choices"] if "And" in rule]
    [limit] = [term["NumericGreaterThanEquals"] for term in looks[0]["And"] if "NumericGreaterThanEquals" in term]
    assessment_wait = (limit + 1) * definition["States"]["WaitForPremigrationAssessment"]["Seconds"]
    assert assessment_wait <= charged * wait
    assert assessment_wait + (max_polls - charged + 1) * wait <= definition["TimeoutSeconds"] - wait


# --------------------------------------------------------------------------------------------------------------
# The moto harness
# --------------------------------------------------------------------------------------------------------------

class AccessDeniedFault(DmsClientError):
    def __init__(self):
        super().__init__("AccessDeniedFault", "User is not authorized to perform dms:DescribeReplicationTasks")


class Harness:
    """moto DMS task + SNS topic (with an SQS subscriber) + the synthesized state machine."""

    def __init__(self, monkeypatch, template, task_properties):
        self.template = template
        self.dms = boto3.client("dms", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)

        instance_arn = self.dms.create_replication_instance(
            ReplicationInstanceIdentifier="migration-instance-dev", ReplicationInstanceClass="dms.t3.medium",
            AllocatedStorage=50)["ReplicationInstance"]["ReplicationInstanceArn"]
        source_arn = self.dms.create_endpoint(
            EndpointIdentifier="migration-source-dev", EndpointType="source", EngineName="mysql",
            ServerName="on-premise-db.example.com", Port=3306, Username="u", Password="p")["Endpoint"]["EndpointArn"]
        target_arn = self.dms.create_endpoint(
            EndpointIdentifier="migration-target-dev", EndpointType="target", EngineName="aurora",
            ServerName="aurora.example.internal", Port=3306, Username="u", Password="p")["Endpoint"]["EndpointArn"]
        self.task_arn = self.dms.create_replication_task(
            ReplicationTaskIdentifier=task_properties["ReplicationTaskIdentifier"],
            SourceEndpointArn=source_arn, TargetEndpointArn=target_arn, ReplicationInstanceArn=instance_arn,
            MigrationType=task_properties["MigrationType"],
            TableMappings=json.dumps({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1",
                                                 "object-locator": {"schema-name": "%", "table-name": "%"},
                                                 "rule-action": "include"}]}),
            ReplicationTaskSettings=task_properties["ReplicationTaskSettings"],
        )["ReplicationTask"]["ReplicationTaskArn"]
        self.task = dms_models.dms_backends[ACCOUNT][REGION].replication_tasks[self.task_arn]
        self.task.ready()  # moto leaves a new task in "creating"; DMS moves it to "ready" once created.

        self.topic_arn = sns.create_topic(Name="migration-validation-dev")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="migration-outcomes")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "false"})

        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=DATA_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        # The pipeline's audit rule matches the pipeline's own events; here they go to a queue to be read back.
        events = boto3.client("events", region_name=REGION)
        self.audit_queue_url = self.sqs.create_queue(QueueName="migration-audit")["QueueUrl"]
        audit_queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.audit_queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="audit", EventPattern=json.dumps({"source": ["migration.pipeline"]}))
        events.put_targets(Rule="audit", Targets=[{"Id": "queue", "Arn": audit_queue_arn}])

        # The task's lease table, as src/private/task-lease.ts creates it (partition key `task`, on-demand).
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.dynamodb.create_table(TableName=LEASE_TABLE, BillingMode="PAY_PER_REQUEST",
                                   AttributeDefinitions=[{"AttributeName": "task", "AttributeType": "S"}],
                                   KeySchema=[{"AttributeName": "task", "KeyType": "HASH"}])

        self._instrument_dms(monkeypatch)
        self._fake_table_statistics(monkeypatch)
        self.assessments = fake_premigration_assessments(monkeypatch)
        self.review_environment = review_function_environment(template, self.task_arn, self.topic_arn)
        self._run_table_review_in_process(monkeypatch)
        self.definition = resolve_definition(template, self.task_arn, self.topic_arn)
        # The library exposes the Wait as the `orchestration.pollInterval` prop (300 s in the example app, checked
        # in test_template_poll_settings); moto's interpreter really sleeps in Wait states, so shorten it here.
        assert self.definition["States"]["WaitForReplication"]["Seconds"] == TEMPLATE_POLL_SECONDS
        self.definition["States"]["WaitForReplication"]["Seconds"] = 0
        assert self.definition["States"]["WaitForPremigrationAssessment"]["Seconds"] == TEMPLATE_ASSESSMENT_POLL_SECONDS
        self.definition["States"]["WaitForPremigrationAssessment"]["Seconds"] = 0
        assert self.definition["States"]["WaitForLease"]["Seconds"] == LEASE_RETRY_SECONDS
        self.definition["States"]["WaitForLease"]["Seconds"] = 0
        self._state_machine_arn = None

    # DMS ---------------------------------------------------------------------------------------------------------

    def _instrument_dms(self, monkeypatch):
        """Records start calls, lets a test change the task before each describe, and overlays test stats."""
        self.start_calls = []
        self.describe_calls = 0
        self.before_describe = None  # callable(call_number, task) run before describe number call_number (1-based)
        self.before_start = None     # callable(task_arn, start_type) run before a start call reaches the task
        self.before_lease_read = None  # callable(table, keys) run before a GetItem of the lease table
        self.stats = {}              # overrides of ReplicationTaskStats
        self.stop_reason = None

        harness = self
        original_start = dms_responses.DatabaseMigrationServiceResponse.start_replication_task
        original_describe = dms_models.DatabaseMigrationServiceBackend.describe_replication_tasks
        original_to_dict = dms_models.FakeReplicationTask.to_dict

        def start_replication_task(self):
            # moto ignores StartReplicationTaskType; record what the state machine asked for.
            call = (self._get_param("ReplicationTaskArn"), self._get_param("StartReplicationTaskType"))
            harness.start_calls.append(call)
            if harness.before_start:
                harness.before_start(*call)
            return original_start(self)

        def describe_replication_tasks(self, filters, max_records):
            harness.describe_calls += 1
            if harness.before_describe and harness.task_arn in self.replication_tasks:
                harness.before_describe(harness.describe_calls, self.replication_tasks[harness.task_arn])
            tasks = original_describe(self, filters, max_records)
            if not tasks:
                # DMS answers a filter that matches no task with ResourceNotFoundFault; moto returns an empty list.
                raise ResourceNotFoundFault("No Tasks found matching the provided filters")
            return tasks

        def to_dict(task):
            result = original_to_dict(task)
            if task.arn == harness.task_arn:
                result["ReplicationTaskStats"].update(harness.stats)
                if harness.stop_reason:
                    result["StopReason"] = harness.stop_reason
            return result

        monkeypatch.setattr(dms_responses.DatabaseMigrationServiceResponse, "start_replication_task",
                            start_replication_task)
        original_get_item = dynamodb_models.DynamoDBBackend.get_item

        def get_item(self, table_name, keys, *args, **kwargs):
            if harness.before_lease_read and table_name == LEASE_TABLE:
                hook, harness.before_lease_read = harness.before_lease_read, None  # not for the hook's own reads
                hook(table_name, keys)
            return original_get_item(self, table_name, keys, *args, **kwargs)
        monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "get_item", get_item)
        monkeypatch.setattr(dms_models.DatabaseMigrationServiceBackend, "describe_replication_tasks",
                            describe_replication_tasks)
        monkeypatch.setattr(dms_models.FakeReplicationTask, "to_dict", to_dict)

    def _fake_table_statistics(self, monkeypatch):
        """DescribeTableStatistics as the DMS API Reference documents it: ReplicationTaskArn, MaxRecords (default
        100, 20 to 500), an opaque Marker; the answer has ReplicationTaskArn, TableStatistics and a Marker only
        when more records exist. The tables come from `self.tables`; `before_table_statistics(call, tables)` may
        change them before a call."""
        self.tables = [table_statistics("sales", name) for name in ("orders", "customers", "invoices")]
        self.table_statistics_calls = []
        self.before_table_statistics = None
        harness = self

        def describe_table_statistics(self):
            task_arn = self._get_param("ReplicationTaskArn")
            max_records = self._get_param("MaxRecords") or 100
            marker = self._get_param("Marker")
            harness.table_statistics_calls.append({"MaxRecords": max_records, "Marker": marker})
            if harness.before_table_statistics:
                harness.before_table_statistics(len(harness.table_statistics_calls), harness.tables)
            if task_arn not in self.dms_backend.replication_tasks:
                raise ResourceNotFoundFault("Replication Task not found")
            if not 20 <= max_records <= 500:
                raise DmsClientError("InvalidParameterValueException", "MaxRecords must be between 20 and 500")
            start = int(base64.b64decode(marker).decode()) if marker else 0
            page = harness.tables[start:start + max_records]
            answer = {"ReplicationTaskArn": task_arn, "TableStatistics": page}
            if start + max_records < len(harness.tables):
                answer["Marker"] = base64.b64encode(str(start + max_records).encode()).decode()
            return json.dumps(answer)

        monkeypatch.setattr(dms_responses.DatabaseMigrationServiceResponse, "describe_table_statistics",
                            describe_table_statistics, raising=False)

    def _run_table_review_in_process(self, monkeypatch):
        """The table-review function (src/runtime/table_review.py) runs in this process when the state machine
        invokes it, with the environment the template gives the function, against the same moto DMS and S3."""
        self.review_events = []

        def review(event):
            self.review_events.append(event)
            with mock.patch.dict(os.environ, self.review_environment):
                return table_review.handler(event, None)

        run_invokes_in_process(monkeypatch, {REVIEW_FUNCTION_ARN: review, REVIEW_FUNCTION_ARN.rsplit(":", 1)[-1]: review})

    def lease(self):
        """The task's lease item as DynamoDB holds it (None when nobody holds the task)."""
        return self.dynamodb.get_item(TableName=LEASE_TABLE, Key={"task": {"S": self.task_arn}},
                                      ConsistentRead=True).get("Item")

    def report(self, execution_name):
        body = self.s3.get_object(Bucket=DATA_BUCKET, Key=f"reports/migrations/{execution_name}.json")["Body"]
        return json.loads(body.read())

    def report_keys(self):
        listing = self.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="reports/migrations/")
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def audit_events(self):
        return drain_queue(self.audit_queue_url)

    # Step Functions ----------------------------------------------------------------------------------------------

    @property
    def state_machine_arn(self):
        if self._state_machine_arn is None:
            state_machine = the_resource(self.template, "AWS::StepFunctions::StateMachine", MIGRATION_STATE_MACHINE)["Properties"]
            self._state_machine_arn = self.sfn.create_state_machine(
                name=state_machine["StateMachineName"], definition=json.dumps(self.definition),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/migration-orchestration-role")["stateMachineArn"]
        return self._state_machine_arn

    def run(self, name="migration-run-1", deadline_seconds=EXECUTION_DEADLINE_SECONDS):
        # moto limitation: without an explicit name, $$.Execution.Id ends in ":None" (the context object is
        # built before moto generates the name), so the notification's `execution` would not be the real ARN.
        execution_arn = self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                                 input=json.dumps(RUN_INPUT))["executionArn"]
        deadline = time.monotonic() + deadline_seconds
        while True:
            execution = self.sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, f"execution still RUNNING after {deadline_seconds}s"
            time.sleep(0.1)
        events = []
        paging = {}
        while True:
            page = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **paging)
            events.extend(page["events"])
            if not page.get("nextToken"):
                break
            paging = {"nextToken": page["nextToken"]}
        return Run(execution, events, self.read_notifications())

    def read_notifications(self):
        return drain_queue(self.queue_url)


def table_statistics(schema, table, table_state="Table completed", validation_state="Validated", rows=1000,
                     pending=0, failed=0, suspended=0):
    """One TableStatistics entry with the fields of the DMS API Reference (timestamps as epoch seconds)."""
    return {
        "SchemaName": schema, "TableName": table,
        "Inserts": 0, "Deletes": 0, "Updates": 0, "Ddls": 0,
        "AppliedInserts": 0, "AppliedDeletes": 0, "AppliedUpdates": 0, "AppliedDdls": 0,
        "FullLoadRows": rows, "FullLoadCondtnlChkFailedRows": 0, "FullLoadErrorRows": 0,
        "FullLoadStartTime": 1764590000, "FullLoadEndTime": 1764590600, "FullLoadReloaded": False,
        "LastUpdateTime": 1764590600, "TableState": table_state,
        "ValidationPendingRecords": pending, "ValidationFailedRecords": failed,
        "ValidationSuspendedRecords": suspended, "ValidationState": validation_state,
        "ValidationStateDetails": "",
    }


def state_texts(events):
    """Every state input, state output, task parameter and task result in the history (the data the quota limits)."""
    for event in events:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output", "parameters"):
                    if isinstance(details.get(field), str):
                        yield details[field]


class Run:
    def __init__(self, execution, events, notifications):
        self.execution = execution
        self.status = execution["status"]
        self.events = events
        self.path = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
        self.notifications = notifications
        self.history_length = len(events)
        self.largest_state_bytes = max(len(text.encode("utf-8")) for text in state_texts(events))
        # Both quotas hold for every run the tests make.
        assert self.largest_state_bytes < STATE_LIMIT_BYTES, self.largest_state_bytes
        assert self.history_length < HISTORY_LIMIT_EVENTS, self.history_length

    def count(self, state):
        return self.path.count(state)

    def failed_tasks(self):
        return [e["taskFailedEventDetails"] for e in self.events if e["type"] == "TaskFailed"]

    def the_notification(self):
        assert len(self.notifications) == 1, self.notifications
        envelope = self.notifications[0]
        assert envelope["Type"] == "Notification"  # raw delivery is off: the SNS envelope arrives
        return envelope, json.loads(envelope["Message"])


# The interpreter modules that import extract_json by name (moto 5.2).
_EXTRACT_JSON_USERS = (
    "component.common.string.string_expression",
    "component.intrinsic.argument.argument",
    "component.state.choice.comparison.operator.implementations.boolean_equals",
    "component.state.choice.comparison.operator.implementations.numeric",
    "component.state.choice.comparison.operator.implementations.string_operators",
    "component.state.choice.comparison.operator.implementations.timestamp_operators",
    "eval.states",
)
# A JSONPath naming a single node: only `.field` and `[index]` steps (no wildcard, slice, filter or union).
_DEFINITE_PATH = re.compile(r"^\$(?:\.[A-Za-z0-9_-]+|\[\d+\])*$")
# A JSONPath with a filter, or a slice after a wildcard: always a list of the matches.
_INDEFINITE_PATH = re.compile(r"\[\?\(|\[\*\]\[\d*:\d*\]")


def patch_definite_json_paths(monkeypatch):
    """moto 5.2 limitation: its extract_json returns a one-element *list* for a path whose last step follows an
    index (its fix for moto issue 7825), so "$.ReplicationTasks[0].Status" yields ["ready"] instead of "ready"
    and every StringEquals on $.task.Status is false. Step Functions returns the node itself for such a path.
    Route definite paths to a plain single-node lookup; everything else still goes through moto's function."""
    original = sfn_json_path.extract_json

    def extract_json(path, data):
        if _DEFINITE_PATH.match(path):
            matches = sfn_json_path.parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        if _INDEFINITE_PATH.search(path):
            # moto 5.2 raises "could not be found" when a filter matches nothing; Step Functions evaluates such a
            # path with Jayway JsonPath, which returns the list of matches, empty or not (Paths page of the
            # Step Functions Developer Guide: `$.jar[?(@.a >= 5)]` gives a list).
            return [match.value for match in sfn_json_path.parse(path).find(data)]
        return original(path, data)

    for name in _EXTRACT_JSON_USERS:
        module = importlib.import_module(f"moto.stepfunctions.parser.asl.{name}")
        assert module.extract_json is original, name
        monkeypatch.setattr(module, "extract_json", extract_json)


def patch_sdk_timestamps(monkeypatch):
    """moto 5.2 limitation: an aws-sdk task's result is boto3's parsed response, so DMS timestamps reach the
    state data as datetime objects and describe_execution of the finished run fails in json.dumps. Step Functions
    hands JSON to the next state; turn the timestamps into ISO strings."""
    original = StateTaskServiceAwsSdk._eval_service_task

    def as_json(value):
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        raise TypeError(f"unexpected {type(value).__name__} in an aws-sdk result")

    def _eval_service_task(self, env, *args, **kwargs):
        original(self, env, *args, **kwargs)
        env.stack.append(json.loads(json.dumps(env.stack.pop(), default=as_json)))

    monkeypatch.setattr(StateTaskServiceAwsSdk, "_eval_service_task", _eval_service_task)


def patch_sdk_member_names(monkeypatch):
    """moto 5.2 limitation: its aws-sdk tasks pass the parameters to boto3 as written and hand boto3's answer on as
    is (its member-name normalisation is a stub). Step Functions writes and reads every SDK integration's members in
    PascalCase ("AWS SDK service integrations", Step Functions Developer Guide), which is the APIs' own case for DMS
    and DynamoDB but not for Step Functions' own API (executionArn, status): turn them over for `sfn` calls."""
    original = StateTaskServiceAwsSdk._eval_service_task

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, *args, **kwargs):
        if self._get_boto_service_name() != "stepfunctions":
            return original(self, env, resource_runtime_part, normalised_parameters, *args, **kwargs)
        camel = {key[:1].lower() + key[1:]: value for key, value in normalised_parameters.items()}
        original(self, env, resource_runtime_part, camel, *args, **kwargs)
        answer = env.stack.pop()
        env.stack.append({key[:1].upper() + key[1:]: value for key, value in answer.items()})

    monkeypatch.setattr(StateTaskServiceAwsSdk, "_eval_service_task", _eval_service_task)


def patch_timestamps(monkeypatch):
    """moto 5.2 limitations: `$$.Execution.StartTime` is a datetime, `$$.State.EnteredTime` is Python's isoformat ("...T10:00:00.123456+00:00") where Step
    Functions writes "...T10:00:00.123Z" (Context object, Step Functions Developer Guide), and the Timestamp* Choice
    rules parse only "%Y-%m-%dT%H:%M:%SZ" where Step Functions accepts RFC 3339 timestamps with fractional seconds
    (Choice state, "Choice Rules"). Both as on AWS."""
    from moto.stepfunctions.parser.asl.component.state import state as sfn_state
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import is_operator

    original_state_data = sfn_state.StateData

    def state_data(EnteredTime, Name):  # noqa: N803 - moto's field names
        moment = datetime.datetime.fromisoformat(EnteredTime).astimezone(datetime.timezone.utc)
        return original_state_data(EnteredTime=dms_task_guard.iso(moment), Name=Name)

    def string_to_timestamp(text):
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (AttributeError, TypeError, ValueError):
            return None
        return moment.astimezone(datetime.timezone.utc) if moment.tzinfo and "T" in text else None

    from moto.stepfunctions.parser.backend import execution_worker
    original_execution_data = execution_worker.ExecutionData

    def execution_data(StartTime, **fields):  # noqa: N803 - moto's field names
        # moto 5.2 puts `$$.Execution.StartTime` in as a datetime; Step Functions gives the same ISO 8601 text as
        # `$$.State.EnteredTime` (Context object, Step Functions Developer Guide).
        if isinstance(StartTime, datetime.datetime):
            StartTime = dms_task_guard.iso(StartTime.astimezone(datetime.timezone.utc))
        return original_execution_data(StartTime=StartTime, **fields)

    monkeypatch.setattr(execution_worker, "ExecutionData", execution_data)
    monkeypatch.setattr(sfn_state, "StateData", state_data)
    monkeypatch.setattr(is_operator.IsTimestamp, "string_to_timestamp", staticmethod(string_to_timestamp))


# Test speed only, behaviour unchanged: moto parses a definition twice, once on CreateStateMachine only to validate
# it (the result is dropped) and once per execution to run it. The validation of one definition text always has the
# same outcome, so a definition that passed once is not parsed again for validation; every execution still parses.
_validate_definition_once = functools.lru_cache(maxsize=None)(StepFunctionsParserBackend._validate_definition)


@functools.lru_cache(maxsize=64)
def _syntax_tree(definition):
    """moto's parse of a definition's text (its ANTLR lexer and parser, with its error listener), without the
    preprocessing into evaluation components."""
    errors = asl_parser.SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
    parser.removeErrorListeners()
    parser.addErrorListener(errors)
    tree = parser.state_machine()
    if errors.errors:
        raise asl_parser.ASLParserException(errors=errors.errors)
    return tree


def _parse_definition(definition):
    # A fresh Preprocessor per call: the components it builds keep one execution's state (a Choice, the branch it
    # took), so executions must not share them.
    tree = _syntax_tree(definition)
    return Preprocessor().visit(tree), tree


def parse_each_text_once(monkeypatch):
    """Test speed only, behaviour unchanged: moto lexes and parses a state machine's whole definition with ANTLR's
    pure-Python runtime when each execution starts (three quarters of a 200-execution burst's CPU time). The syntax
    tree of one text is always the same, and the preprocessing reads it without changing it, so each text is parsed
    once; every execution still builds its own evaluation components from it. (JSONPaths are parsed once for every
    test: speedups.py.)"""
    monkeypatch.setattr(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(_parse_definition))


_new_sdk_client = sfn_boto_client.boto_client_for


@functools.lru_cache(maxsize=None)
def _shared_sdk_client(region, service, role_arn):
    return _new_sdk_client(region=region, service=service, state_credentials=StateCredentials(role_arn=role_arn))


def share_sdk_clients(monkeypatch):
    """Test speed only, behaviour unchanged: moto builds a new boto3 client, its class included, for every task
    state it runs. boto3's clients are thread safe, so one client per region, service and role serves every state
    that runs as that role. moto hands every task state credentials: those of the state's `Credentials` field, or else
    the execution's role."""
    def boto_client_for(region, service, state_credentials=None):
        if not isinstance(state_credentials, StateCredentials):
            return _new_sdk_client(region=region, service=service, state_credentials=state_credentials)
        return _shared_sdk_client(region, service, state_credentials.role_arn)

    users = [module for name, module in sys.modules.items() if name.startswith("moto.stepfunctions.parser.")
             and getattr(module, "boto_client_for", None) is _new_sdk_client]
    assert users, "moto's state task modules no longer import boto_client_for"
    for module in users:
        monkeypatch.setattr(module, "boto_client_for", boto_client_for)


@pytest.fixture
def harness(monkeypatch, orchestration_template, dms_task_properties):
    monkeypatch.setattr(StepFunctionsParserBackend, "_validate_definition", staticmethod(_validate_definition_once))
    parse_each_text_once(monkeypatch)
    share_sdk_clients(monkeypatch)
    # moto's interpreter looks the aws-sdk service name up in boto3 as is; the SDK integration
    # `databasemigration` is boto3's `dms`.
    monkeypatch.setitem(StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, "databasemigration", "dms")
    patch_definite_json_paths(monkeypatch)
    patch_sdk_member_names(monkeypatch)
    patch_sdk_timestamps(monkeypatch)
    patch_timestamps(monkeypatch)
    add_dms_tagging(monkeypatch)
    enforce_dms_task_state_rules(monkeypatch)
    allow_concurrent_executions(monkeypatch)
    atomic_dynamodb_writes(monkeypatch)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield Harness(monkeypatch, orchestration_template, dms_task_properties)


def assert_notification(run, harness, outcome, task_status):
    envelope, message = run.the_notification()
    assert envelope["TopicArn"] == harness.topic_arn
    assert envelope["Subject"] == f"Migration {outcome}"
    assert envelope["MessageAttributes"] == {"migrationOutcome": {"Type": "String", "Value": outcome}}
    assert message["migrationOutcome"] == outcome
    assert message["replicationTaskArn"] == harness.task_arn
    assert message["execution"] == run.execution["executionArn"]
    assert message["stateMachine"] == harness.state_machine_arn
    assert message["region"] == REGION
    assert message["input"] == RUN_INPUT
    assert message["task"]["Status"] == task_status
    assert message["task"]["Task"]["ReplicationTaskArn"] == harness.task_arn
    assert message["task"]["Task"]["Status"] == task_status
    return message


def assert_failed(run, reason):
    """A failed run: one ExecutionFailed whose cause is the outcome, announced (report, audit event, notification)."""
    assert run.status == "FAILED"
    failed = [e["executionFailedEventDetails"] for e in run.events if e["type"] == "ExecutionFailed"]
    assert len(failed) == 1
    assert failed[0]["error"] == "MigrationFailed"
    assert json.loads(failed[0]["cause"])["reason"] == reason
    assert run.path[-len(FAILURE_END):] == FAILURE_END


def test_the_task_is_full_load_and_cdc(dms_task_properties):
    # The completion rule tested below (running at 100 %) is the one for this migration type.
    assert dms_task_properties["MigrationType"] == "full-load-and-cdc"


# --------------------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------------------

def test_a_first_run_of_a_ready_task_starts_replication_and_succeeds(harness):
    assert harness.task.status == "ready"

    run = harness.run()

    assert run.status == "SUCCEEDED"
    assert run.path == HAPPY_START_PATH
    assert harness.start_calls == [(harness.task_arn, "start-replication")]
    assert harness.task.status == "running"
    message = assert_notification(run, harness, "SUCCEEDED", "running")
    assert message["task"]["Task"]["ReplicationTaskStats"][0]["FullLoadProgressPercent"] == 100
    assert message["task"]["Task"]["MigrationType"] == "full-load-and-cdc"


def test_b_rerun_of_a_stopped_task_resumes_processing_and_succeeds(harness):
    harness.task.status = "stopped"
    harness.stop_reason = "Stop Reason STOPPED_BY_USER"

    run = harness.run()

    assert run.status == "SUCCEEDED"
    # Nobody else holds the task's lease, so the run resumes it.
    assert run.path == RESUME_PATH
    assert harness.start_calls == [(harness.task_arn, "resume-processing")]
    assert harness.task.status == "running"
    assert_notification(run, harness, "SUCCEEDED", "running")


def test_c_task_already_running_at_100_percent_is_only_watched(harness):
    harness.task.status = "running"

    run = harness.run()

    assert run.status == "SUCCEEDED"
    assert run.path == [*START_PATH, "WaitForReplication", "CheckReplication", "IsReplicationComplete", *VALIDATED_PATH]
    assert harness.start_calls == []
    assert harness.task.status == "running"
    assert_notification(run, harness, "SUCCEEDED", "running")


def test_c_suspended_records_under_live_cdc_fail_the_run_at_the_first_review_without_a_second_look(harness):
    """DMS does not return suspended records to pending by itself (DMS User Guide, "AWS DMS data validation"): a
    second look would see them again, so the run fails at the review that finds them (README, outcome table)."""
    harness.task.status = "running"
    harness.tables[0] = table_statistics("sales", "orders", validation_state="Suspended records", suspended=3)

    run = harness.run()

    assert run.status == "FAILED"
    assert len(harness.review_events) == 1 and run.path.count("ReviewTables") == 1
    assert run.path.count("CheckReplication") == 1
    _, message = run.the_notification()
    outcome = message["outcome"]
    assert (outcome["reason"], outcome["error"]) == ("VALIDATION_FAILED", "MigrationValidationFailed")
    assert [(t["TableName"], t["ValidationSuspendedRecords"]) for t in message["outcome"]["problemTables"]] == [
        ("orders", 3)]
    assert harness.task.status == "running"  # CDC keeps running


def test_d_task_failing_after_start_takes_the_failure_path(harness):
    def fail_after_start(call, task):
        if call == 2:  # CheckReplication
            task.status = "failed"
            harness.stop_reason = "Stop Reason FATAL_ERROR Error Level FATAL"
    harness.before_describe = fail_after_start

    run = harness.run()

    assert_failed(run, "REPLICATION_FAILED")
    assert run.path == [*START_PATH, *ASSESSED, *STARTED, "WaitForReplication", "CheckReplication",
                        "IsReplicationComplete", *CONFIRMED_FAILURE, *FAILURE_END]
    assert harness.start_calls == [(harness.task_arn, "start-replication")]
    assert harness.task.status == "failed"
    message = assert_notification(run, harness, "FAILED", "failed")
    assert message["task"]["Task"]["StopReason"] == ["Stop Reason FATAL_ERROR Error Level FATAL"]


def tables_in_error(harness):
    def tables_errored(call, task):
        if call == 2:
            harness.stats.update({"TablesErrored": 2, "TablesLoaded": 1, "FullLoadProgressPercent": 100})
            harness.tables[:2] = [table_statistics("sales", "orders", table_state="Table error"),
                                  table_statistics("sales", "customers", table_state="Table error")]
    harness.before_describe = tables_errored


def test_e_errored_tables_fail_the_run_although_the_load_reached_100_percent_and_the_outcome_names_them(harness):
    tables_in_error(harness)

    run = harness.run()

    assert_failed(run, "REPLICATION_FAILED")
    assert contains(run.path, ["ConfirmLease", "IsLeaseStillHeld", "DidTablesError", "ReviewErroredTables",
                               "TablesErrored", "ReleaseLease"])
    assert "NotifySuccess" not in run.path and "ReplicationFailed" not in run.path
    assert harness.task.status == "running"  # the state machine reports, it does not stop the task
    message = assert_notification(run, harness, "FAILED", "running")
    assert message["task"]["Task"]["ReplicationTaskStats"][0]["TablesErrored"] == 2
    outcome = message["outcome"]
    assert sorted((t["SchemaName"], t["TableName"], t["TableState"]) for t in outcome["problemTables"]) == [
        ("sales", "customers", "Table error"), ("sales", "orders", "Table error")]
    assert outcome["tables"]["loadFailed"] == 2
    assert outcome["tableReport"]["key"] == "reports/migrations/migration-run-1/tables.json"


def test_e_errored_tables_whose_review_fails_still_fail_the_run(harness):
    tables_in_error(harness)

    def statistics_unreadable(call, tables):
        raise RuntimeError("DescribeTableStatistics unavailable")
    harness.before_table_statistics = statistics_unreadable

    run = harness.run()

    assert_failed(run, "REPLICATION_FAILED")
    assert contains(run.path, ["DidTablesError", "ReviewErroredTables", "ReplicationFailed", "ReleaseLease"])
    message = assert_notification(run, harness, "FAILED", "running")
    assert message["task"]["Task"]["ReplicationTaskStats"][0]["TablesErrored"] == 2


def test_f_progress_never_reaching_100_times_out_with_a_failure_notification(harness):
    # The first start begins with the assessment's wait charged (polls.count 7), then polls twice more.
    assert harness.definition["States"]["ChargePremigrationAssessmentTime"]["Parameters"] == {
        "count": TEMPLATE_ASSESSMENT_CHARGED_POLLS}
    max_polls = 2
    rule = timeout_choice(harness.definition)
    assert rule["NumericGreaterThanEquals"] == TEMPLATE_MAX_POLLS
    rule["NumericGreaterThanEquals"] = TEMPLATE_ASSESSMENT_CHARGED_POLLS + max_polls  # fewer loops; the rule is the synthesized one
    harness.stats.update({"FullLoadProgressPercent": 40, "TablesLoaded": 3, "TablesLoading": 4})

    run = harness.run()

    assert_failed(run, "MIGRATION_TIMED_OUT")
    assert run.count("CheckReplication") == max_polls + 1
    assert run.count("CountPoll") == max_polls
    assert run.count("WaitForReplication") == max_polls + 1
    assert run.path[-len(FAILURE_END) - 1:] == ["MigrationTimedOut", *FAILURE_END]
    assert "ReplicationFailed" not in run.path
    assert harness.start_calls == [(harness.task_arn, "start-replication")]
    assert harness.task.status == "running"
    message = assert_notification(run, harness, "FAILED", "running")
    assert message["task"]["Task"]["ReplicationTaskStats"][0]["FullLoadProgressPercent"] == 40


def test_g_polls_until_the_full_load_completes(harness):
    def progress(call, task):
        harness.stats["FullLoadProgressPercent"] = 40 if call == 2 else 100
    harness.before_describe = progress

    run = harness.run()

    assert run.status == "SUCCEEDED"
    assert run.count("CheckReplication") == 2
    assert run.count("CountPoll") == 1
    assert run.count("WaitForReplication") == 2
    assert "MigrationTimedOut" not in run.path
    assert run.path[-2:] == ["NotifySuccess", "MigrationSucceeded"]
    assert harness.describe_calls == 3  # DescribeTask + 2 x CheckReplication
    assert harness.start_calls == [(harness.task_arn, "start-replication")]
    assert harness.task.status == "running"
    message = assert_notification(run, harness, "SUCCEEDED", "running")
    assert message["task"]["Task"]["ReplicationTaskStats"][0]["FullLoadProgressPercent"] == 100


def test_h_dms_access_denied_while_polling_is_caught_and_notified(harness):
    def deny(call, task):
        if call == 2:
            raise AccessDeniedFault()
    harness.before_describe = deny

    run = harness.run()

    assert_failed(run, "REPLICATION_FAILED")
    assert run.path == [*START_PATH, *ASSESSED, *STARTED, "WaitForReplication", "CheckReplication", *FAILURE_END]
    [failure] = run.failed_tasks()
    # moto spells aws-sdk errors "<integration name>.<error class>Exception" with the lower-case integration name
    # (it only knows the PascalCase prefix of dynamodb and sfn), so the definition's DatabaseMigration.* Retry
    # entries can never match here; this error is not one of them in any case.
    assert failure["error"] == "databasemigration.AccessDeniedFaultException", failure
    assert "not authorized" in failure["cause"]
    assert harness.task.status == "running"
    # $.task is still the first look (before the start), as the failing poll wrote nothing.
    assert_notification(run, harness, "FAILED", "ready")


def test_h_task_deleted_while_polling_is_caught_and_notified(harness):
    def delete_task(call, task):
        if call == 2:
            dms_models.dms_backends[ACCOUNT][REGION].replication_tasks.pop(harness.task_arn)
    harness.before_describe = delete_task

    run = harness.run()

    assert_failed(run, "REPLICATION_FAILED")
    assert run.path[-len(FAILURE_END) - 1:] == ["CheckReplication", *FAILURE_END]
    [failure] = run.failed_tasks()
    assert failure["error"] == "databasemigration.ResourceNotFoundFaultException", failure
    assert harness.task_arn not in dms_models.dms_backends[ACCOUNT][REGION].replication_tasks
    assert_notification(run, harness, "FAILED", "ready")


def test_h_dms_error_on_the_first_describe_is_notified(harness):
    def deny(call, task):
        if call == 1:
            raise AccessDeniedFault()
    harness.before_describe = deny

    run = harness.run()

    assert run.status == "FAILED"
    assert run.path == [*START_PATH[:-1], *FAILURE_END]
    assert harness.start_calls == []
    envelope, message = run.the_notification()
    assert envelope["MessageAttributes"] == {"migrationOutcome": {"Type": "String", "Value": "FAILED"}}
    assert message["migrationOutcome"] == "FAILED"
    assert message["replicationTaskArn"] == harness.task_arn
    # The notification says what went wrong: the caught error, and the task as last seen (not described yet).
    assert "AccessDenied" in message["error"]["Error"]
    assert message["task"] == {"Status": "NOT_DESCRIBED"}


# --------------------------------------------------------------------------------------------------------------
# A deployment in the middle, and a stop during the full load
# --------------------------------------------------------------------------------------------------------------

class Deployment:
    """What the stop guard (src/runtime/dms_task_guard.py, run here as it is) does around an update of the task:
    `begin` is BeforeUpdate (takes the task's lease, tags and stops the task), `end` is AfterUpdate (resumes the task
    if it ran, hands the lease back or releases it)."""

    def __init__(self, harness, monkeypatch, request="update-1"):
        monkeypatch.setenv(dms_task_guard.LEASE_TABLE_ENV, LEASE_TABLE)
        monkeypatch.setattr(dms_task_guard, "sleep", lambda seconds: None)
        self.harness = harness
        self.holder = f"deployment:{request}"
        self.identifier = harness.task.id

    def begin(self):
        deadline = time.monotonic() + 5
        return dms_task_guard.hold_and_stop(harness_dms(), self.identifier, deadline, "Update 2026-12-01T10:00:00Z",
                                            self.holder)

    def end(self):
        dms = harness_dms()
        task = dms_task_guard.describe(dms, self.identifier)
        dms_task_guard.TaskLease.of(task, None).end_deployment(dms, task)


def contains(path, steps):
    """`steps` occur one after the other in `path`."""
    return any(path[i:i + len(steps)] == steps for i in range(len(path)))


def harness_dms():
    return boto3.client("dms", region_name=REGION)


def assert_interrupted(run, harness, task_status):
    assert run.status == "SUCCEEDED"  # a planned stop: no failure alarm, no redrive by remediation
    assert "InterruptedForDeployment" in run.path
    assert run.path[-2:] == ["NotifyInterrupted", "MigrationInterrupted"]
    envelope, message = run.the_notification()
    assert envelope["MessageAttributes"] == {"migrationOutcome": {"Type": "String", "Value": "INTERRUPTED"}}
    outcome = message["outcome"]
    assert (outcome["status"], outcome["reason"], outcome["error"]) == ("INTERRUPTED", "INTERRUPTED_FOR_DEPLOYMENT", "None")
    assert outcome["lease"]["Item"]["kind"]["S"] == "deployment"
    assert outcome["files"] == [RUN_INPUT["key"]]
    assert message["task"]["Status"] == task_status
    assert harness.report(run.execution["name"]) == outcome
    assert json.loads(run.execution["output"]) == outcome
    [event] = drain_queue(harness.audit_queue_url)
    assert event["detail"]["outcome"] == outcome
    return outcome


def test_i_a_task_held_by_a_deployment_is_not_started(harness, monkeypatch):
    # ModifyReplicationTask (DMS API Reference): the task must be stopped before it can be modified.
    harness.task.status = "stopped"
    Deployment(harness, monkeypatch).begin()

    run = harness.run(name="run-during-deployment")

    assert run.path[:8] == ["Initialise", "HasRunFile", "RunFileIsKey", "AcquireLease", "ReadLease", "ReadClock",
                            "WhoHoldsTheTask", "InterruptedForDeployment"]
    assert harness.start_calls == []
    assert harness.task.status == "stopped"
    assert_interrupted(run, harness, "NOT_DESCRIBED")
    assert harness.lease()["holder"]["S"] == "deployment:update-1"  # the run left the deployment's hold alone


def test_i_a_run_whose_task_a_deployment_stops_ends_interrupted_and_the_update_resumes_the_task(harness, monkeypatch):
    deployment = Deployment(harness, monkeypatch)

    def deployment_stops_the_task(call, task):
        if call == 2:  # CheckReplication: the guard has taken the lease and stopped the task
            deployment.begin()
    harness.before_describe = deployment_stops_the_task
    harness.stats["FullLoadProgressPercent"] = 40

    run = harness.run(name="run-interrupted")

    assert contains(run.path, ["IsReplicationComplete", "ConfirmLease", "IsLeaseStillHeld", "InterruptedForDeployment"])
    assert "ReplicationFailed" not in run.path
    assert harness.start_calls == [(harness.task_arn, "start-replication")]
    assert_interrupted(run, harness, "stopped")
    # AfterUpdate: the task ran before the update, so it runs again after it, and nobody holds the lease.
    deployment.end()
    assert harness.task.status == "running"
    assert harness.start_calls[-1] == (harness.task_arn, "resume-processing")
    assert harness.lease() is None


def test_i_a_whole_update_between_two_polls_leaves_the_run_to_succeed(harness, monkeypatch):
    deployment = Deployment(harness, monkeypatch)

    def update_between_polls(call, task):
        harness.stats["FullLoadProgressPercent"] = 40 if call == 2 else 100
        if call == 3:  # the whole update happened since the last poll: the task was stopped, updated, resumed
            deployment.begin()
            deployment.end()
    harness.before_describe = update_between_polls

    run = harness.run(name="run-across-update")

    assert run.status == "SUCCEEDED"
    assert harness.start_calls == [(harness.task_arn, "start-replication"), (harness.task_arn, "resume-processing")]
    envelope, message = run.the_notification()
    assert message["outcome"]["files"] == [RUN_INPUT["key"]]
    assert harness.lease() is None


def test_i_a_stopped_task_seen_during_an_update_that_ends_before_the_lease_check_is_looked_at_again(harness, monkeypatch):
    deployment = Deployment(harness, monkeypatch)

    def update_ends_before_the_lease_check(table, keys):
        harness.before_lease_read = None
        deployment.end()  # resumed and handed back before the run reads the lease

    def update_starts(call, task):
        harness.stats["FullLoadProgressPercent"] = 40 if call == 2 else 100
        if call == 2:
            deployment.begin()  # the poll sees the task stopped by the deployment
            harness.before_lease_read = update_ends_before_the_lease_check
    harness.before_describe = update_starts

    run = harness.run(name="run-handed-back")

    assert run.status == "SUCCEEDED"
    assert "LeaseHandedBack" in run.path, run.path
    assert "ReplicationFailed" not in run.path
    assert run.count("CheckReplication") == 2


def test_i_a_run_that_read_the_task_just_before_the_deployment_took_it_does_not_start_it(harness, monkeypatch):
    harness.task.status = "stopped"
    deployment = Deployment(harness, monkeypatch)

    def deployment_takes_the_task(call, task):
        if call == 1:  # the run's DescribeTask answers "stopped"; the guard takes the lease right then
            deployment.begin()
    harness.before_describe = deployment_takes_the_task

    run = harness.run(name="run-raced")

    assert harness.start_calls == []
    assert "BeginResumeReplication" in run.path and "ResumeReplication" not in run.path
    assert_interrupted(run, harness, "stopped")


def test_i_the_deployment_waits_while_a_run_is_starting_the_task(harness, monkeypatch):
    deployment = Deployment(harness, monkeypatch)
    refused = []

    def deployment_arrives_during_the_start(task_arn, start_type):
        monkeypatch.setattr(dms_task_guard, "monotonic", lambda: float("inf"))  # no time left to wait
        try:
            deployment.begin()
        except dms_task_guard.StillRunning as error:
            refused.append(str(error))
        monkeypatch.setattr(dms_task_guard, "monotonic", time.monotonic)
    harness.before_start = deployment_arrives_during_the_start

    run = harness.run(name="run-starting")

    assert len(refused) == 1 and "kept starting the task" in refused[0]
    assert run.status == "SUCCEEDED"


def test_i_a_failed_update_holds_the_task_only_until_its_hold_expires(harness, monkeypatch):
    harness.task.status = "running"
    # The update fails after BeforeUpdate: AfterUpdate never runs, the lease stays with the deployment.
    monkeypatch.setattr(dms_task_guard, "DEPLOYMENT_HOLD_SECONDS", -1)  # ... and its hold has expired
    Deployment(harness, monkeypatch).begin()
    assert harness.task.status == "stopped"
    assert harness.lease()["kind"]["S"] == "deployment"

    run = harness.run(name="run-after-failed-update")

    assert run.status == "SUCCEEDED"
    assert "TakeOverLease" in run.path, (" ".join(run.path), harness.lease())
    assert harness.start_calls == [(harness.task_arn, "resume-processing")]
    assert harness.task.status == "running"
    assert harness.lease() is None


def test_j_a_stop_during_the_full_load_is_resumed_and_truncates_before_reloading(harness, dms_task_properties):
    # StartReplicationTask (DMS API Reference): resume-processing reloads the tables that were partially loaded or
    # not loaded yet. With TargetTablePrepMode DO_NOTHING the partial rows would stay and be loaded again;
    # "Full-load task settings" (DMS User Guide): TRUNCATE_BEFORE_LOAD truncates the data and keeps the table's
    # metadata, so the reload starts from an empty table.
    settings = json.loads(dms_task_properties["ReplicationTaskSettings"])
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "TRUNCATE_BEFORE_LOAD"
    harness.task.status = "stopped"
    harness.stop_reason = "Stop Reason STOPPED_BY_USER"
    progress = iter([40, 100])

    def full_load_progress(call, task):
        if call >= 2:
            harness.stats["FullLoadProgressPercent"] = next(progress, 100)
    harness.before_describe = full_load_progress

    run = harness.run(name="run-resumed")

    # resume-processing, never start-replication or reload-target, on a task that has run before.
    assert harness.start_calls == [(harness.task_arn, "resume-processing")]
    assert run.status == "SUCCEEDED"
    assert run.count("CheckReplication") == 2
    assert_notification(run, harness, "SUCCEEDED", "running")


def test_k_a_task_naming_1000_tables_one_by_one_migrates_and_its_mappings_stay_out_of_the_state(harness):
    # DescribeReplicationTasks may answer with the task's table mappings (moto always does; WithoutSettings is a
    # request DMS may not apply to them): 1,000 explicit selection rules, about 250 KB.
    rules = [{"rule-type": "selection", "rule-id": str(n), "rule-name": f"include-sales-table-{n:04d}",
              "object-locator": {"schema-name": "sales", "table-name": f"customer_order_history_partition_{n:04d}"},
              "rule-action": "include"} for n in range(1, 1001)]
    harness.task.table_mappings = json.dumps({"rules": rules})
    assert 200_000 < len(harness.task.table_mappings) < STATE_LIMIT_BYTES

    run = harness.run(name="run-1000-tables")

    assert run.status == "SUCCEEDED"
    # What the states pass on holds only the fields the run routes on, never the mappings.
    entered = [json.loads(e["stateEnteredEventDetails"]["input"]) for e in run.events if e["type"].endswith("StateEntered")]
    largest = max(len(json.dumps(state)) for state in entered)
    assert largest < 16_000, largest
    assert all("TableMappings" not in json.dumps(state) for state in entered)
    envelope, message = run.the_notification()
    assert "TableMappings" not in envelope["Message"]
    assert len(envelope["Message"].encode()) < 16_000
