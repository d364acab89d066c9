"""The harness's DMS task state rules and its second execution of one state machine (dms_state_rules.py)."""

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from dms_state_rules import allow_concurrent_executions, enforce_dms_task_state_rules
from pipeline_helpers import ACCOUNT, REGION


@pytest.fixture
def dms(monkeypatch):
    enforce_dms_task_state_rules(monkeypatch)
    with mock_aws():
        client = boto3.client("dms", region_name=REGION)
        instance = client.create_replication_instance(
            ReplicationInstanceIdentifier="i", ReplicationInstanceClass="dms.t3.medium",
            AllocatedStorage=50)["ReplicationInstance"]["ReplicationInstanceArn"]
        endpoints = [client.create_endpoint(
            EndpointIdentifier=kind, EndpointType=kind, EngineName="mysql", ServerName="db.example.com", Port=3306,
            Username="u", Password="p")["Endpoint"]["EndpointArn"] for kind in ("source", "target")]
        task = client.create_replication_task(
            ReplicationTaskIdentifier="t", SourceEndpointArn=endpoints[0], TargetEndpointArn=endpoints[1],
            ReplicationInstanceArn=instance, MigrationType="full-load-and-cdc",
            TableMappings=json.dumps({"rules": []}))["ReplicationTask"]["ReplicationTaskArn"]
        from moto.dms import models as dms_models
        dms_models.dms_backends[ACCOUNT][REGION].replication_tasks[task].ready()
        yield client, task


def status(client, task):
    return client.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task]}])["ReplicationTasks"][0]["Status"]


def test_a_second_start_of_a_running_task_is_refused_as_dms_refuses_it(dms):
    client, task = dms
    client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    assert status(client, task) == "running"

    with pytest.raises(ClientError) as refused:
        client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="resume-processing")

    assert refused.value.response["Error"]["Code"] == "InvalidResourceStateFault"
    assert status(client, task) == "running"


def test_a_stopped_or_failed_task_can_be_started_again_and_only_a_running_one_stopped(dms):
    client, task = dms
    with pytest.raises(ClientError) as refused:
        client.stop_replication_task(ReplicationTaskArn=task)  # ready: never started
    assert refused.value.response["Error"]["Code"] == "InvalidResourceStateFault"
    client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    client.stop_replication_task(ReplicationTaskArn=task)
    assert status(client, task) == "stopped"
    client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="resume-processing")
    assert status(client, task) == "running"


def test_a_state_machine_runs_a_second_execution(monkeypatch):
    allow_concurrent_executions(monkeypatch)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="two-runs", roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        executions = [sfn.start_execution(stateMachineArn=arn, name=f"run-{n}", input="{}")["executionArn"]
                      for n in range(3)]
        deadline = time.monotonic() + 10
        while any(sfn.describe_execution(executionArn=e)["status"] == "RUNNING" for e in executions):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [sfn.describe_execution(executionArn=e)["status"] for e in executions] == ["SUCCEEDED"] * 3
