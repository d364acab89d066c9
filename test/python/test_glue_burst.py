"""A burst of 1,000 files: every file is validated exactly once and nothing is parked in the dead-letter queue.

The real glue_trigger handler receives 1,000 S3 "Object Created" events (the documented EventBridge shape, from
test/events) that arrive within one minute, through a model of Lambda's asynchronous invocation: a failed
attempt is retried twice, one and then two minutes later, and then goes to the dead-letter queue ("How Lambda
handles errors and retries with asynchronous invocation", Lambda Developer Guide). Each delivery leaves one audit event.

moto's Glue ignores JobRunQueuingEnabled and lists runs oldest first, so Glue is a fake that follows the
documented behaviour instead ("AWS Glue job run statuses", Glue Developer Guide; GetJobRuns and StartJobRun,
Glue API): at most MaxConcurrentRuns runs are STARTING or RUNNING; beyond that StartJobRun fails with
ConcurrentRunsExceededException, unless job run queuing is on, in which case the run waits (WAITING) and starts
when a slot frees; GetJobRuns lists the newest runs first, at most 200 a page, with a NextToken.
"""

import copy
import datetime
import heapq
import itertools
import json
import random

import pytest
from botocore.exceptions import ClientError

import glue_trigger
from pipeline_helpers import load_event
from template_loader import load_template, the_resource

JOB_NAME = "migration-validation-dev"
TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:migration-validation-dev"
BURST_START = datetime.datetime(2024, 6, 1, 9, 0, tzinfo=datetime.timezone.utc)
FILES = 1000
RUN_DURATION = datetime.timedelta(minutes=5)
# Lambda's asynchronous retries: two more attempts, one minute and then two minutes after the previous one.
LAMBDA_RETRY_DELAYS = (datetime.timedelta(minutes=1), datetime.timedelta(minutes=2))


class Clock:
    def __init__(self, now):
        self.now = now


class FakeGlue:
    """One Glue job's runs, on a simulated clock, as the Glue documentation describes them."""

    def __init__(self, clock, max_concurrent_runs, queuing):
        self.clock = clock
        self.max_concurrent_runs = max_concurrent_runs
        self.queuing = queuing
        self.runs = []  # oldest first
        self.ids = itertools.count(1)

    def _advance(self):
        """Finishes the runs whose time is up and starts queued runs in their order, up to the clock's time."""
        while True:
            running = [run for run in self.runs if run["JobRunState"] == "RUNNING"]
            finished = min((run for run in running if run["_ends"] <= self.clock.now), key=lambda run: run["_ends"], default=None)
            if finished is None:
                return
            finished["JobRunState"] = "SUCCEEDED"
            queued = next((run for run in self.runs if run["JobRunState"] == "WAITING"), None)
            if queued is not None:
                queued["JobRunState"] = "RUNNING"
                queued["_ends"] = finished["_ends"] + RUN_DURATION

    def _active(self):
        return sum(run["JobRunState"] in ("STARTING", "RUNNING") for run in self.runs)

    def start_job_run(self, JobName, Arguments):
        assert JobName == JOB_NAME
        self._advance()
        if self._active() < self.max_concurrent_runs:
            state = "RUNNING"
        elif self.queuing:
            state = "WAITING"
        else:
            raise ClientError({"Error": {"Code": "ConcurrentRunsExceededException",
                                         "Message": f"Concurrent runs exceeded for {JobName}"}}, "StartJobRun")
        run = {"Id": f"jr_{next(self.ids):06d}", "JobName": JobName, "Arguments": dict(Arguments),
               "JobRunState": state, "StartedOn": self.clock.now, "_ends": self.clock.now + RUN_DURATION}
        self.runs.append(run)
        return {"JobRunId": run["Id"]}

    def get_job_runs(self, JobName, MaxResults=100, NextToken=None):
        assert JobName == JOB_NAME and 1 <= MaxResults <= 200
        self._advance()
        newest_first = list(reversed(self.runs))
        start = int(NextToken or 0)
        page = newest_first[start:start + MaxResults]
        response = {"JobRuns": [{k: v for k, v in run.items() if not k.startswith("_")} for run in page]}
        if start + MaxResults < len(newest_first):
            response["NextToken"] = str(start + MaxResults)
        return response

    def states(self):
        self._advance()
        return {run["JobRunState"] for run in self.runs}


def burst_events():
    """1,000 distinct objects created within one minute, each as EventBridge delivers it."""
    template = load_event("s3-object-created-incoming.json")
    events = []
    for i in range(FILES):
        event = copy.deepcopy(template)
        arrived = BURST_START + datetime.timedelta(milliseconds=60 * i)
        event["id"] = f"burst-{i:04d}"
        event["time"] = arrived.strftime("%Y-%m-%dT%H:%M:%SZ")
        event["detail"]["object"]["key"] = f"incoming/burst/file-{i:04d}.csv"
        event["detail"]["object"]["version-id"] = f"v{i:04d}"
        events.append((arrived, event))
    return events


def deliver_asynchronously(clock, deliveries):
    """Lambda's asynchronous invocation of the handler, in time order; returns the events that reached the DLQ."""
    queue = [(at, n, event, 0) for n, (at, event) in enumerate(deliveries)]
    heapq.heapify(queue)
    sequence = itertools.count(len(queue))
    dead_letters = []
    while queue:
        at, _, event, attempt = heapq.heappop(queue)
        clock.now = max(clock.now, at)
        try:
            glue_trigger.handler(event, None)
        except ClientError:
            if attempt < len(LAMBDA_RETRY_DELAYS):
                heapq.heappush(queue, (clock.now + LAMBDA_RETRY_DELAYS[attempt], next(sequence), event, attempt + 1))
            else:
                dead_letters.append(event)
    return dead_letters


class AuditEvents:
    """Records the audit events (moto's EventBridge takes a tenth of a second per event: too slow for thousands)."""

    def __init__(self):
        self.entries = []

    def put_events(self, Entries):
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(len(self.entries))} for _ in Entries]}

    def details(self):
        """The detail of each event, after checking that every event is a "Glue Validation Started" on the default bus."""
        assert {(e["Source"], e["DetailType"], e["EventBusName"]) for e in self.entries} == {
            ("migration.pipeline", "Glue Validation Started", "default")}
        return [json.loads(entry["Detail"]) for entry in self.entries]


@pytest.fixture
def glue_settings(aws, monkeypatch, capsys):
    monkeypatch.setenv("GLUE_JOB_NAME", JOB_NAME)
    monkeypatch.setenv("VALIDATION_TOPIC_ARN", TOPIC_ARN)
    audit = AuditEvents()
    glue_trigger._clients["events"] = audit
    yield audit
    capsys.readouterr()  # 1,000 log lines are not worth printing on failure


def deployed_job():
    """The validation job as the example app deploys it (cdk.out)."""
    return the_resource(load_template("GlueStack"), "AWS::Glue::Job")["Properties"]


def test_the_deployed_job_queues_runs_beyond_its_concurrency():
    # "AWS::Glue::Job", CloudFormation User Guide: JobRunQueuingEnabled; ExecutionProperty.MaxConcurrentRuns.
    job = deployed_job()
    assert job["JobRunQueuingEnabled"] is True
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] == 10


def test_without_queuing_a_burst_ends_in_the_dead_letter_queue(glue_settings):
    # The defect this guards against: the 11th concurrent StartJobRun fails, and Lambda's two retries come
    # long before ten five-minute runs finish.
    clock = Clock(BURST_START)
    glue = FakeGlue(clock, max_concurrent_runs=10, queuing=False)
    glue_trigger._clients["glue"] = glue

    dead_letters = deliver_asynchronously(clock, burst_events())

    assert len(glue.runs) == 10
    assert len(dead_letters) == FILES - 10
    # Only the runs that started are audited; a refused start leaves no audit event.
    assert [detail["outcome"] for detail in glue_settings.details()] == ["STARTED"] * 10


def test_with_the_deployed_queuing_every_file_of_a_burst_is_validated_exactly_once(glue_settings):
    job = deployed_job()
    clock = Clock(BURST_START)
    glue = FakeGlue(clock, max_concurrent_runs=job["ExecutionProperty"]["MaxConcurrentRuns"],
                    queuing=job["JobRunQueuingEnabled"])
    glue_trigger._clients["glue"] = glue
    events = burst_events()
    # EventBridge delivers at least once: a tenth of the events arrive a second time, some during the burst,
    # some ten minutes later, and some an hour later, when hundreds of newer runs exist.
    rng = random.Random(7)
    redelivered = [(at + rng.choice([datetime.timedelta(seconds=5), datetime.timedelta(minutes=10), datetime.timedelta(hours=1)]), event)
                   for at, event in rng.sample(events, FILES // 10)]

    dead_letters = deliver_asynchronously(clock, events + redelivered)

    assert dead_letters == []
    validated = sorted(run["Arguments"]["--source_key"] for run in glue.runs)
    assert validated == sorted(event["detail"]["object"]["key"] for _, event in events)  # each file once, none twice
    assert {run["Arguments"]["--source_version"] for run in glue.runs} == {f"v{i:04d}" for i in range(FILES)}
    # Queued runs drain ten at a time: after 100 rounds of five minutes every run has finished.
    clock.now = BURST_START + datetime.timedelta(minutes=1) + RUN_DURATION * (FILES // 10 + 1)
    assert glue.states() == {"SUCCEEDED"}
    # One audit event per delivery: STARTED with the new run for each file, ALREADY_STARTED with the same run for
    # each of the 100 redeliveries.
    details = glue_settings.details()
    assert len(details) == FILES + FILES // 10
    run_by_key = {run["Arguments"]["--source_key"]: run["Id"] for run in glue.runs}
    started = [(d["key"], d["jobRunId"]) for d in details if d["outcome"] == "STARTED"]
    already = [(d["key"], d["jobRunId"]) for d in details if d["outcome"] == "ALREADY_STARTED"]
    assert sorted(started) == sorted(run_by_key.items())
    assert len(already) == FILES // 10
    assert sorted(already) == sorted((event["detail"]["object"]["key"], run_by_key[event["detail"]["object"]["key"]])
                                     for _, event in redelivered)
    assert {(d["pipeline"], d["action"], d["jobName"]) for d in details} == {
        ("migration-pipeline", "START_VALIDATION", "migration-validation-dev")}


def test_a_redelivery_long_after_the_burst_finds_the_run_beyond_the_first_page(glue_settings):
    clock = Clock(BURST_START)
    glue = FakeGlue(clock, max_concurrent_runs=10, queuing=True)
    glue_trigger._clients["glue"] = glue
    events = burst_events()
    deliver_asynchronously(clock, events)
    calls = []
    original = glue.get_job_runs
    glue.get_job_runs = lambda **params: calls.append(params) or original(**params)

    result = glue_trigger.handler(events[0][1], None)  # the oldest object: 999 newer runs, five pages of 200

    assert result["skipped"] is True
    assert len(glue.runs) == FILES
    assert [call.get("NextToken") for call in calls] == [None, "200", "400", "600", "800"]


def test_a_first_delivery_reads_only_the_runs_of_the_last_minute(glue_settings):
    # The look-back stops at the first page that reaches back before the event's time less one minute.
    clock = Clock(BURST_START)
    glue = FakeGlue(clock, max_concurrent_runs=10, queuing=True)
    glue_trigger._clients["glue"] = glue
    deliver_asynchronously(clock, burst_events())
    clock.now = BURST_START + datetime.timedelta(minutes=30)
    calls = []
    original = glue.get_job_runs
    glue.get_job_runs = lambda **params: calls.append(params) or original(**params)
    late = burst_events()[0][1]
    late["time"] = "2024-06-01T09:30:00Z"
    late["detail"]["object"]["key"] = "incoming/late.csv"

    result = glue_trigger.handler(late, None)

    assert result["skipped"] is False
    assert len(calls) == 1
