"""DMS in the rehearsal: the template's replication tasks created in moto, and what moto lacks.

The premigration assessment runs of a first start are answered by the test harness's fake
(test/python/dms_assessment_fake.py), scripted by the scenario's `assessment` (statuses and failing assessments).

moto has no DescribeTableStatistics; it is answered here from the scenario's tables, shaped and paged as the DMS
API Reference documents it (ReplicationTaskArn, MaxRecords 20 to 500, an opaque Marker present only when more
records exist). The task's statistics (ReplicationTaskStats) are overlaid with the scenario's. The Step Functions
adjustments are the test set-up's (test/python/test_state_machine.py): the `databasemigration` SDK name mapped to
boto3's `dms`, definite JSONPaths giving the node itself, SDK timestamps as JSON, and DMS's tagging calls; and
those of test/python/dms_state_rules.py: DMS's task state rules, several executions of one state machine, atomic
conditional writes in DynamoDB.
"""

import base64
import json

import boto3
from moto.dms import models as dms_models
from moto.dms import responses as dms_responses
from moto.dms.exceptions import DmsClientError, ResourceNotFoundFault
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)

from assembly import REGION

import test_state_machine as sfn_setup
from dms_assessment_fake import fake_premigration_assessments
from dms_state_rules import allow_concurrent_executions, atomic_dynamodb_writes, enforce_dms_task_state_rules
from pipeline_helpers import add_dms_tagging


table = sfn_setup.table_statistics  # one TableStatistics entry, with the fields of the DMS API Reference

SCENARIOS = {
    # Every table loaded and validated.
    "validated": {"tables": [table("sales", "orders"), table("sales", "customers")],
                  "task_stats": {"FullLoadProgressPercent": 100, "TablesLoaded": 2, "TablesErrored": 0}},
    # One table DMS could not load.
    "table-error": {"tables": [table("sales", "orders"), table("sales", "customers", table_state="Table error",
                                                               validation_state="Error")],
                    "task_stats": {"FullLoadProgressPercent": 100, "TablesLoaded": 1, "TablesErrored": 1}},
    # The premigration assessment of the first start finds the binary log in STATEMENT format and a DMS user
    # without the replication privileges: the task is never started.
    "source-not-ready": {"tables": [table("sales", "orders")],
                         "task_stats": {"FullLoadProgressPercent": 100, "TablesLoaded": 1, "TablesErrored": 0},
                         "assessment": {"statuses": ["running", "failed"],
                                        "failing": ["mysql-check-binlog-format", "mysql-check-replication-privileges"]}},
}


class DmsSimulation:
    def __init__(self, assembly, scenario, patcher):
        self.scenario = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
        self.dms = boto3.client("dms", region_name=REGION)
        self.task_arns = []
        self._statuses = {}
        self._patch(patcher)
        for stack, logical_id, resource in assembly.resources("AWS::DMS::ReplicationTask"):
            arn = self._create_task(assembly.resolve(stack, resource["Properties"]))
            assembly.set_physical(stack, logical_id, ref=arn)
            self.task_arns.append(arn)

    def newly_stopped(self):
        """The tasks whose status became "stopped" since the last call."""
        stopped = []
        for task in self.dms.describe_replication_tasks(WithoutSettings=True)["ReplicationTasks"]:
            arn, status = task["ReplicationTaskArn"], task["Status"]
            if arn in self.task_arns and status == "stopped" and self._statuses.get(arn) != "stopped":
                stopped.append(arn)
            self._statuses[arn] = status
        return stopped

    def _create_task(self, properties):
        identifier = properties["ReplicationTaskIdentifier"]
        instance = self.dms.create_replication_instance(
            ReplicationInstanceIdentifier=f"{identifier}-instance", ReplicationInstanceClass="dms.t3.medium",
            AllocatedStorage=50)["ReplicationInstance"]["ReplicationInstanceArn"]
        endpoints = [self.dms.create_endpoint(
            EndpointIdentifier=f"{identifier}-{kind}", EndpointType=kind, EngineName="mysql",
            ServerName=f"{kind}.example.internal", Port=3306, Username="rehearsal", Password="rehearsal",
        )["Endpoint"]["EndpointArn"] for kind in ("source", "target")]
        arn = self.dms.create_replication_task(
            ReplicationTaskIdentifier=identifier, SourceEndpointArn=endpoints[0], TargetEndpointArn=endpoints[1],
            ReplicationInstanceArn=instance, MigrationType=properties["MigrationType"],
            TableMappings=properties["TableMappings"],
            ReplicationTaskSettings=properties.get("ReplicationTaskSettings", "{}"),
        )["ReplicationTask"]["ReplicationTaskArn"]
        dms_models.dms_backends[arn.split(":")[4]][REGION].replication_tasks[arn].ready()
        return arn

    def _patch(self, patcher):
        simulation = self
        original_to_dict = dms_models.FakeReplicationTask.to_dict

        def to_dict(task):
            answer = original_to_dict(task)
            if task.arn in simulation.task_arns and task.status == "running":
                answer["ReplicationTaskStats"].update(simulation.scenario["task_stats"])
            return answer

        def describe_table_statistics(self):
            task_arn = self._get_param("ReplicationTaskArn")
            max_records = self._get_param("MaxRecords") or 100
            marker = self._get_param("Marker")
            if task_arn not in self.dms_backend.replication_tasks:
                raise ResourceNotFoundFault("Replication Task not found")
            if not 20 <= max_records <= 500:
                raise DmsClientError("InvalidParameterValueException", "MaxRecords must be between 20 and 500")
            start = int(base64.b64decode(marker).decode()) if marker else 0
            tables = simulation.scenario["tables"]
            answer = {"ReplicationTaskArn": task_arn, "TableStatistics": tables[start:start + max_records]}
            if start + max_records < len(tables):
                answer["Marker"] = base64.b64encode(str(start + max_records).encode()).decode()
            return json.dumps(answer)

        patcher.setattr(dms_models.FakeReplicationTask, "to_dict", to_dict)
        patcher.setattr(dms_responses.DatabaseMigrationServiceResponse, "describe_table_statistics",
                        describe_table_statistics, raising=False)
        patcher.setitem(StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, "databasemigration", "dms")
        sfn_setup.parse_each_text_once(patcher)
        sfn_setup.share_sdk_clients(patcher)
        sfn_setup.patch_definite_json_paths(patcher)
        sfn_setup.patch_sdk_timestamps(patcher)
        sfn_setup.patch_sdk_member_names(patcher)
        sfn_setup.patch_timestamps(patcher)
        add_dms_tagging(patcher)
        # DMS's task state rules, more than one execution of a state machine (a run, then a cutover) and DynamoDB's
        # atomic conditional writes: the test harness's closing of three gaps of moto (dms_state_rules.py).
        enforce_dms_task_state_rules(patcher)
        allow_concurrent_executions(patcher)
        atomic_dynamodb_writes(patcher)
        self.assessments = fake_premigration_assessments(patcher)
        assessment = self.scenario.get("assessment", {})
        self.assessments.statuses = assessment.get("statuses", ["passed"])
        self.assessments.failing = assessment.get("failing", [])
