"""One poll of the cutover's wait, against moto's CloudWatch (PutMetricData, then the handler's GetMetricData).

The metrics are published as DMS publishes them: namespace AWS/DMS, dimensions ReplicationInstanceIdentifier (the
instance's identifier) and ReplicationTaskIdentifier (the task's resource id, the ARN's last part), once a minute.
"""

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

import cutover_settle

TASK_ARN = "arn:aws:dms:us-west-2:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
INSTANCE = "migration-instance-dev"


@pytest.fixture
def cloudwatch(monkeypatch):
    monkeypatch.setenv("REPLICATION_TASK_ARN", TASK_ARN)
    monkeypatch.setenv("REPLICATION_INSTANCE_ID", INSTANCE)
    with mock_aws():
        yield boto3.client("cloudwatch")


def publish(cloudwatch, minutes_ago, source, target, incoming, task_dimension="ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    """One minute of the three metrics; None leaves a metric without data for that minute."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": INSTANCE},
                  {"Name": "ReplicationTaskIdentifier", "Value": task_dimension}]
    data = [{"MetricName": name, "Dimensions": dimensions, "Timestamp": now - timedelta(minutes=minutes_ago),
             "Value": value} for name, value in (("CDCLatencySource", source), ("CDCLatencyTarget", target),
                                                  ("CDCIncomingChanges", incoming)) if value is not None]
    cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=data)


def poll(threshold=30, samples=3):
    return cutover_settle.handler({"thresholdSeconds": threshold, "samples": samples}, None)


def test_three_quiet_minutes_settle(cloudwatch):
    for minute in (3, 2, 1):
        publish(cloudwatch, minute, source=1, target=2, incoming=0)
    answer = poll()
    assert (answer["settled"], answer["settledSamples"]) == (True, 3)
    assert (answer["latencySource"], answer["latencyTarget"], answer["incomingChanges"]) == (1, 2, 0)


def test_a_target_latency_above_the_threshold_does_not_settle(cloudwatch):
    for minute in (3, 2, 1):
        publish(cloudwatch, minute, source=1, target=120, incoming=0)
    answer = poll()
    assert (answer["settled"], answer["settledSamples"], answer["latencyTarget"]) == (False, 0, 120)


def test_changes_still_incoming_in_the_newest_minute_do_not_settle(cloudwatch):
    for minute in (3, 2):
        publish(cloudwatch, minute, source=1, target=1, incoming=0)
    publish(cloudwatch, 1, source=1, target=1, incoming=4)
    assert poll()["settledSamples"] == 0


def test_only_consecutive_newest_minutes_count(cloudwatch):
    publish(cloudwatch, 3, source=1, target=1, incoming=0)
    publish(cloudwatch, 2, source=45, target=1, incoming=0)
    publish(cloudwatch, 1, source=1, target=1, incoming=0)
    answer = poll()
    assert (answer["settled"], answer["settledSamples"]) == (False, 1)


def test_a_minute_without_a_metric_is_not_a_settled_sample(cloudwatch):
    publish(cloudwatch, 3, source=1, target=1, incoming=0)
    publish(cloudwatch, 2, source=1, target=1, incoming=0)
    publish(cloudwatch, 1, source=1, target=1, incoming=None)
    assert poll()["settledSamples"] == 0


def test_metrics_of_the_friendly_task_identifier_are_not_the_task(cloudwatch):
    for minute in (3, 2, 1):
        publish(cloudwatch, minute, source=1, target=1, incoming=0, task_dimension="migration-task-dev")
    answer = poll()
    assert (answer["settled"], answer["latencyTarget"]) == (False, None)
