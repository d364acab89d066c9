"""DMS premigration assessment runs for the moto harness, which has none of their operations.

StartReplicationTaskAssessmentRun, DescribeReplicationTaskAssessmentRuns and
DescribeReplicationTaskIndividualAssessments are answered as the DMS API Reference documents them: the request
parameters (ReplicationTaskArn, ServiceAccessRoleArn, ResultLocationBucket, AssessmentRunName required; IncludeOnly
and Exclude not together), the Filters of each Describe (replication-task-assessment-run-arn, replication-task-arn,
replication-instance-arn, status / replication-task-assessment-run-arn, replication-task-arn, status), MaxRecords
(20 to 100, default 100) with an opaque Marker, the ReplicationTaskAssessmentRun and
ReplicationTaskIndividualAssessment shapes, the run statuses (starting, provisioning, running, passed, warning,
failed, error-provisioning, error-executing, cancelling, deleting) and individual statuses (pending, running,
passed, failed, error, skipped, cancelled), and the documented faults: ResourceNotFoundFault (no such task, or no
run matching a filter, as DescribeReplicationTasks answers), InvalidResourceStateFault (a task that is running or
busy), ResourceAlreadyExistsFault (a run name used before for the task), S3ResourceNotFoundFault (no such bucket).

A test scripts what DMS would find: `fake.statuses` is the run's Status at each look after the start (the last one
stays), `fake.failing` the individual assessments that fail when the run ends `failed`.
"""

import base64
import datetime
import json
import uuid

from moto.dms import responses as dms_responses
from moto.dms.exceptions import DmsClientError, ResourceNotFoundFault
from moto.s3.models import s3_backends

ACCOUNT = "123456789012"
IN_PROGRESS = ("starting", "provisioning", "running")
# Task statuses from which DMS starts an assessment run (it assesses a task that is created and not running).
ASSESSABLE_TASK_STATUSES = ("ready", "stopped", "failed")
RUN_FILTERS = ("replication-task-assessment-run-arn", "replication-task-arn", "replication-instance-arn", "status")
INDIVIDUAL_FILTERS = ("replication-task-assessment-run-arn", "replication-task-arn", "status")


class InvalidResourceStateFault(DmsClientError):
    def __init__(self, message):
        super().__init__("InvalidResourceStateFault", message)


class ResourceAlreadyExistsFault(DmsClientError):
    def __init__(self, message):
        super().__init__("ResourceAlreadyExistsFault", message)


class S3ResourceNotFoundFault(DmsClientError):
    def __init__(self, message):
        super().__init__("S3ResourceNotFoundFault", message)


class InvalidParameterValueException(DmsClientError):
    def __init__(self, message):
        super().__init__("InvalidParameterValueException", message)


def _epoch(moment):
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


class AssessmentRun:
    def __init__(self, request, task, statuses, failing):
        self.arn = f"arn:aws:dms:{task.region}:{ACCOUNT}:assessment-run:{uuid.uuid4().hex[:26].upper()}"
        self.request = request
        self.task = task
        self.names = request.get("IncludeOnly") or ["mysql-check-select-privileges"]
        self.status = "starting"
        self.script = list(statuses)
        self.failing = set(failing)
        self.created = datetime.datetime(2026, 12, 1, 12, 0, 0)

    def advance(self):
        """One look: the run moves to the next scripted status (the last one stays)."""
        if self.script:
            self.status = self.script.pop(0)

    def individual_status(self, name):
        if self.status in IN_PROGRESS:
            return "running" if self.status == "running" else "pending"
        if self.status == "failed":
            return "failed" if name in self.failing else "passed"
        if self.status.startswith("error"):
            return "error"
        if self.status == "warning":
            return "skipped"
        return "passed" if self.status == "passed" else "cancelled"

    def statistics(self):
        counts = {"Passed": 0, "Failed": 0, "Error": 0, "Warning": 0, "Cancelled": 0, "Skipped": 0}
        for name in self.names:
            key = self.individual_status(name).capitalize()
            if key in counts:
                counts[key] += 1
        return counts

    def describe(self):
        answer = {
            "ReplicationTaskAssessmentRunArn": self.arn,
            "ReplicationTaskArn": self.task.arn,
            "Status": self.status,
            "ReplicationTaskAssessmentRunCreationDate": _epoch(self.created),
            "AssessmentProgress": {
                "IndividualAssessmentCount": len(self.names),
                "IndividualAssessmentCompletedCount": 0 if self.status in IN_PROGRESS else len(self.names),
            },
            "ServiceAccessRoleArn": self.request["ServiceAccessRoleArn"],
            "ResultLocationBucket": self.request["ResultLocationBucket"],
            "ResultLocationFolder": self.request.get("ResultLocationFolder", ""),
            "ResultEncryptionMode": self.request.get("ResultEncryptionMode", ""),
            "AssessmentRunName": self.request["AssessmentRunName"],
            "IsLatestTaskAssessmentRun": True,
        }
        if self.status not in IN_PROGRESS:
            answer["ResultStatistic"] = self.statistics()
        if self.status == "failed":
            answer["LastFailureMessage"] = f"Individual assessment {sorted(self.failing)[0]} failed"
        return answer

    def individual(self):
        return [{
            "ReplicationTaskIndividualAssessmentArn": f"{self.arn}:individual:{index}",
            "ReplicationTaskAssessmentRunArn": self.arn,
            "IndividualAssessmentName": name,
            "Status": self.individual_status(name),
            "ReplicationTaskIndividualAssessmentStartDate": _epoch(self.created),
        } for index, name in enumerate(self.names)]


def _page(records, max_records, marker):
    if not 20 <= max_records <= 100:
        raise InvalidParameterValueException("MaxRecords must be between 20 and 100")
    start = int(base64.b64decode(marker).decode()) if marker else 0
    page = records[start:start + max_records]
    next_marker = base64.b64encode(str(start + max_records).encode()).decode() if start + max_records < len(records) else None
    return page, next_marker


def _matches(filters, allowed, values_of):
    for entry in filters or []:
        if entry["Name"] not in allowed:
            raise InvalidParameterValueException(f"Invalid filter name: {entry['Name']}")
        if values_of(entry["Name"]) not in entry["Values"]:
            return False
    return True


class AssessmentFake:
    """The assessment runs of moto's DMS backend; see the module's description."""

    def __init__(self):
        self.runs = []
        self.start_requests = []
        self.statuses = ["passed"]
        self.failing = []

    def start(self, backend, request):
        self.start_requests.append(request)
        for required in ("ReplicationTaskArn", "ServiceAccessRoleArn", "ResultLocationBucket", "AssessmentRunName"):
            if not request.get(required):
                raise InvalidParameterValueException(f"{required} is required")
        if request.get("IncludeOnly") and request.get("Exclude"):
            raise InvalidParameterValueException("IncludeOnly and Exclude cannot both be set")
        task = backend.replication_tasks.get(request["ReplicationTaskArn"])
        if task is None:
            raise ResourceNotFoundFault("Replication Task not found")
        if task.status not in ASSESSABLE_TASK_STATUSES:
            raise InvalidResourceStateFault(f"Replication task is in state {task.status}; an assessment run cannot start")
        if any(run.task is task and run.request["AssessmentRunName"] == request["AssessmentRunName"] for run in self.runs):
            raise ResourceAlreadyExistsFault(f"Assessment run {request['AssessmentRunName']} already exists")
        if request["ResultLocationBucket"] not in s3_backends[ACCOUNT]["global"].buckets:
            raise S3ResourceNotFoundFault(f"Bucket {request['ResultLocationBucket']} not found")
        run = AssessmentRun(request, task, self.statuses, self.failing)
        self.runs.append(run)
        return {"ReplicationTaskAssessmentRun": run.describe()}

    def describe_runs(self, request):
        def values_of(run):
            return {"replication-task-assessment-run-arn": run.arn, "replication-task-arn": run.task.arn,
                    "replication-instance-arn": run.task.replication_instance_arn, "status": run.status}.get

        matching = [run for run in self.runs if _matches(request.get("Filters"), RUN_FILTERS, values_of(run))]
        if not matching:
            raise ResourceNotFoundFault("No assessment runs found matching the provided filters")
        for run in matching:
            run.advance()
        page, marker = _page([run.describe() for run in matching], request.get("MaxRecords") or 100, request.get("Marker"))
        return {"ReplicationTaskAssessmentRuns": page, **({"Marker": marker} if marker else {})}

    def describe_individual(self, request):
        records = []
        for run in self.runs:
            for record in run.individual():
                values = {"replication-task-assessment-run-arn": run.arn, "replication-task-arn": run.task.arn,
                          "status": record["Status"]}
                if _matches(request.get("Filters"), INDIVIDUAL_FILTERS, values.get):
                    records.append(record)
        page, marker = _page(records, request.get("MaxRecords") or 100, request.get("Marker"))
        return {"ReplicationTaskIndividualAssessments": page, **({"Marker": marker} if marker else {})}


def fake_premigration_assessments(monkeypatch):
    """Adds the three operations to moto's DMS responses; returns the fake a test scripts."""
    fake = AssessmentFake()

    def start_replication_task_assessment_run(self):
        return json.dumps(fake.start(self.dms_backend, json.loads(self.body)))

    def describe_replication_task_assessment_runs(self):
        return json.dumps(fake.describe_runs(json.loads(self.body or "{}")))

    def describe_replication_task_individual_assessments(self):
        return json.dumps(fake.describe_individual(json.loads(self.body or "{}")))

    for handler in (start_replication_task_assessment_run, describe_replication_task_assessment_runs,
                    describe_replication_task_individual_assessments):
        monkeypatch.setattr(dms_responses.DatabaseMigrationServiceResponse, handler.__name__, handler, raising=False)
    return fake
