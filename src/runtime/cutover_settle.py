"""Whether the replication task has caught up with the source: one poll of the cutover's wait.

An operator starts the cutover once the applications stopped writing to the source. From then on the task has only
to apply what it already read. DMS publishes, per minute, CDCLatencySource (seconds between the last event read
and now), CDCLatencyTarget (seconds between the oldest event not yet committed on the target and now) and
CDCIncomingChanges (events read and not yet applied) (DMS User Guide, "AWS Database Migration Service metrics" >
"Replication task metrics"), with the dimensions ReplicationInstanceIdentifier and ReplicationTaskIdentifier, the
latter being the task's resource id (the last part of its ARN).

The task has settled when, for each of the last K one-minute samples, both latencies are at most the threshold and
the incoming changes are 0. A minute for which any of the three has no data is not a settled sample: a task that
stopped publishing has not shown it caught up. The answer is small and of fixed size; the state machine keeps
only the latest one, so the wait's state does not grow with the number of polls.
"""

import os
from datetime import datetime, timedelta, timezone

import boto3

METRICS = {"latencySource": "CDCLatencySource", "latencyTarget": "CDCLatencyTarget", "incoming": "CDCIncomingChanges"}
PERIOD_SECONDS = 60


def task_resource_id(task_arn):
    """The dimension value DMS publishes the task's metrics under: the ARN's last part."""
    return task_arn.split(":")[-1]


def metric_queries(task_arn, instance_identifier):
    dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": instance_identifier},
                  {"Name": "ReplicationTaskIdentifier", "Value": task_resource_id(task_arn)}]
    return [{"Id": query_id.lower(), "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": "AWS/DMS", "MetricName": name, "Dimensions": dimensions},
        "Period": PERIOD_SECONDS, "Stat": "Maximum"}} for query_id, name in METRICS.items()]


def read_series(cloudwatch, task_arn, instance_identifier, end, samples):
    """{query id: {minute: value}} for the last `samples` minutes (plus one, for a minute still being published)."""
    start = end - timedelta(seconds=PERIOD_SECONDS * (samples + 1))
    series = {query_id.lower(): {} for query_id in METRICS}
    paginator = cloudwatch.get_paginator("get_metric_data")
    for page in paginator.paginate(MetricDataQueries=metric_queries(task_arn, instance_identifier),
                                   StartTime=start, EndTime=end, ScanBy="TimestampDescending"):
        for result in page["MetricDataResults"]:
            for timestamp, value in zip(result["Timestamps"], result["Values"]):
                series[result["Id"]][timestamp.astimezone(timezone.utc).replace(second=0, microsecond=0)] = value
    return series


def settled_samples(series, threshold_seconds):
    """How many of the newest minutes, in a row, show both latencies within the threshold and nothing incoming."""
    minutes = sorted(set().union(*series.values()), reverse=True)
    count = 0
    for minute in minutes:
        source, target, incoming = (series[key].get(minute) for key in ("latencysource", "latencytarget", "incoming"))
        if None in (source, target, incoming) or source > threshold_seconds or target > threshold_seconds or incoming != 0:
            break
        count += 1
    return count


def latest(series):
    return {key: (values[max(values)] if values else None) for key, values in series.items()}


def handler(event, _context):
    """Input: {"thresholdSeconds", "samples"}; the task and instance come from the environment."""
    threshold, samples = float(event["thresholdSeconds"]), int(event["samples"])
    end = datetime.now(timezone.utc)
    series = read_series(boto3.client("cloudwatch"), os.environ["REPLICATION_TASK_ARN"],
                         os.environ["REPLICATION_INSTANCE_ID"], end, samples)
    in_a_row = settled_samples(series, threshold)
    seen = latest(series)
    return {"settled": in_a_row >= samples, "settledSamples": in_a_row, "samplesRequired": samples,
            "latencySource": seen["latencysource"], "latencyTarget": seen["latencytarget"],
            "incomingChanges": seen["incoming"], "sampledAt": end.isoformat()}
