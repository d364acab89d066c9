"""The services between the pipeline's stages, as the rehearsal plays them in moto.

Each function takes what one stage hands over and returns what the next stage receives, in the shapes the AWS
documentation gives: EventBridge matches with moto's own pattern matcher and then applies the target's input
settings, SNS filters with moto's subscription filter policies and delivers the Lambda "SNS event" record, Lambda
runs the function's own code (its inline ZipFile, from the template) with the function's own environment.
"""

import base64
import importlib.util
import json
import os
import sys
import tempfile
import types
import uuid
from collections import ChainMap
from datetime import datetime, timezone
from pathlib import Path

import boto3
from moto.events.utils import EventTemplateParser

from assembly import ACCOUNT, REGION, WiringError
from pipeline_helpers import create_queue as queue
from pipeline_helpers import drain_queue as drain

# The SQS message SNS delivers (raw delivery off) names two fields differently from the Lambda SNS event
# (Lambda Developer Guide, "Using Lambda with Amazon SNS", example event).
SQS_TO_LAMBDA_SNS_FIELDS = {"SigningCertURL": "SigningCertUrl", "UnsubscribeURL": "UnsubscribeUrl"}


# EventBridge -------------------------------------------------------------------------------------------------------

class RuleTap:
    """A rule of the template, created in moto with its own pattern and bus, whose matches land in a queue.

    `deliveries()` gives what the rule's first target would receive: the matched event after the target's
    Input, InputPath or InputTransformer (EventBridge User Guide, "Transforming target input"; API Reference,
    Target). moto applies none of them to events S3 emits, so they are applied here, by the documented rules.
    """

    def __init__(self, assembly, stack, logical_id, rule):
        properties = assembly.resolve(stack, rule["Properties"])
        self.name = properties.get("Name") or logical_id
        self.arn = assembly.attribute(stack, logical_id, "Arn")
        self.pattern = properties["EventPattern"]
        self.bus = properties.get("EventBusName", "default")
        targets = properties.get("Targets", [])
        if len(targets) != 1:
            raise WiringError(f"rule {self.name} has {len(targets)} targets; the rehearsal follows one")
        self.target = targets[0]
        self.url, arn = queue(f"tap-{uuid.uuid4().hex[:12]}")
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=json.dumps(self.pattern))
        events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[{"Id": "tap", "Arn": arn}])

    def deliveries(self):
        return [target_input(self.target, as_documented(event)) for event in drain(self.url)
                if not tags_event_without_tags(event)]


def tags_event_without_tags(event):
    """moto's S3 also emits "Object Tags Added" for a PutObject that sets no tags; S3 emits it only when tags are
    added (S3 User Guide, "EventBridge event types"). Such events are not passed on."""
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Tags Added":
        return False
    detail = event["detail"]
    s3 = boto3.client("s3", region_name=REGION)
    try:
        tags = s3.get_object_tagging(Bucket=detail["bucket"]["name"], Key=detail["object"]["key"])["TagSet"]
    except s3.exceptions.ClientError:
        return False
    return not tags


def as_documented(event):
    """moto's S3 puts two fields of its events in other forms than AWS: `time` as epoch seconds and `reason` as the
    event category. The S3 User Guide ("EventBridge message structure") gives an ISO 8601 time and, for Object
    Created, the API call (PutObject, CopyObject, CompleteMultipartUpload) as the reason."""
    if event.get("source") != "aws.s3":
        return event
    documented = dict(event)
    if isinstance(event.get("time"), (int, float)):
        documented["time"] = datetime.fromtimestamp(event["time"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if event.get("detail-type") == "Object Created" and event["detail"].get("reason") == "ObjectCreated":
        documented["detail"] = dict(event["detail"], reason="PutObject")
    return documented


def send_delete_marker_events(patcher):
    """moto's S3 sends Object Deleted only when an object of an unversioned bucket goes; S3 also sends it when a
    DeleteObject without a version ID puts a delete marker on a versioned bucket (S3 User Guide, "EventBridge event
    types" and "EventBridge message structure": reason DeleteObject, deletion-type "Delete Marker Created"). The
    rehearsal sends that event, as documented, to the rules of the default bus."""
    from moto.events.models import events_backends
    from moto.s3.models import S3Backend

    original = S3Backend.delete_object

    def delete_object(backend, bucket_name, key_name, version_id=None, bypass=False):
        answer = original(backend, bucket_name, key_name, version_id, bypass)
        bucket = backend.get_bucket(bucket_name)
        marker_version = answer[1].get("version-id") if isinstance(answer, tuple) and len(answer) > 1 else None
        if version_id is None and bucket.is_versioned and marker_version and \
                bucket.notification_configuration is not None and \
                bucket.notification_configuration.event_bridge is not None:
            event = {
                "version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Deleted", "source": "aws.s3",
                "account": backend.account_id, "time": datetime.now(timezone.utc).timestamp(),  # as moto keeps it
                "region": bucket.region_name, "resources": [bucket.arn],
                "detail": {"version": "0", "bucket": {"name": bucket_name},
                           "object": {"key": key_name, "version-id": marker_version, "sequencer": "617f08299329d189"},
                           "request-id": "N4N7GDK58NMKJ12R", "requester": backend.account_id,
                           "source-ip-address": "10.0.0.1", "reason": "DeleteObject",
                           "deletion-type": "Delete Marker Created"},
            }
            for event_bus in events_backends[backend.account_id][bucket.region_name].event_buses.values():
                for rule in event_bus.rules.values():
                    rule.send_to_targets(event, transform_input=False)
        return answer

    patcher.setattr(S3Backend, "delete_object", delete_object)


def target_input(target, event):
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return json_path_value(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        text = EventTemplateParser.parse(input_template=transformer["InputTemplate"],
                                         input_paths_map=transformer.get("InputPathsMap", {}), event=event)
        return json.loads(text) if isinstance(text, str) else text
    return event


def json_path_value(document, path):
    """A simple EventBridge InputPath ($, $.a.b): the only form the rehearsal needs to follow."""
    if path == "$":
        return document
    if not path.startswith("$."):
        raise WiringError(f"InputPath {path!r} is not of the form $.a.b")
    value = document
    for step in path[2:].split("."):
        if not isinstance(value, dict) or step not in value:
            raise WiringError(f"InputPath {path!r} selects nothing in the event")
        value = value[step]
    return value


def put_event(source, detail_type, detail, resources=(), bus="default"):
    events = boto3.client("events", region_name=REGION)
    answer = events.put_events(Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
                                         "Resources": list(resources), "EventBusName": bus}])
    if answer.get("FailedEntryCount"):
        raise WiringError(f"EventBridge refused the event: {answer}")


# SNS ----------------------------------------------------------------------------------------------------------------

class SubscriptionTap:
    """A subscription of the template, made in moto on its topic with its filter policy, read by a queue."""

    def __init__(self, assembly, stack, logical_id, subscription):
        properties = assembly.resolve(stack, subscription["Properties"])
        self.endpoint = properties["Endpoint"]
        self.topic_arn = properties["TopicArn"]
        self.url, arn = queue(f"sub-{uuid.uuid4().hex[:12]}")
        attributes = {"RawMessageDelivery": "false"}
        for name in ("FilterPolicy", "FilterPolicyScope"):
            if name in properties:
                value = properties[name]
                attributes[name] = json.dumps(value) if isinstance(value, dict) else value
        boto3.client("sns", region_name=REGION).subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn,
                                                          Attributes=attributes)

    def lambda_events(self):
        """Each delivered message as the event SNS gives a subscribed Lambda function (one record per event)."""
        return [{"Records": [{
            "EventVersion": "1.0",
            "EventSubscriptionArn": f"{self.topic_arn}:{uuid.uuid4()}",
            "EventSource": "aws:sns",
            "Sns": {SQS_TO_LAMBDA_SNS_FIELDS.get(key, key): value for key, value in envelope.items()},
        }]} for envelope in drain(self.url)]


class TopicTap:
    """Everything published to a topic, read by an unfiltered queue subscription (the SNS envelope)."""

    def __init__(self, topic_arn):
        self.url, arn = queue(f"topic-{uuid.uuid4().hex[:12]}")
        boto3.client("sns", region_name=REGION).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)

    def messages(self):
        return drain(self.url)


# Lambda -------------------------------------------------------------------------------------------------------------

class LambdaContext:
    def __init__(self, function_name):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/12/03/[$LATEST]rehearsal"

    def get_remaining_time_in_millis(self):
        return 300_000


class Function:
    """A Lambda function of the template, run in this process with its own handler and environment: its inline code
    (ZipFile), or the code asset it deploys (staged in cdk.out as a directory, its dependencies bundled beside it)."""

    def __init__(self, assembly, stack, logical_id, resource):
        properties = assembly.resolve(stack, resource["Properties"])
        code = properties.get("Code", {})
        self.name = properties.get("FunctionName") or logical_id
        self.arn = assembly.attribute(stack, logical_id, "Arn")
        self.role_arn = properties["Role"]
        self.handler_name = properties["Handler"]
        self.environment = properties.get("Environment", {}).get("Variables", {})
        module_file = self.handler_name.rpartition(".")[0]
        if not Function.runnable(resource):
            raise WiringError(f"function {logical_id} has neither inline code nor a Python code asset to run")
        if code.get("ZipFile"):
            self._code, self._code_dir = code["ZipFile"], None
        else:
            self._code_dir = assembly.asset_dir(code["S3Key"])
            if not (self._code_dir / f"{module_file}.py").is_file():
                raise WiringError(f"function {logical_id}: its asset {code['S3Key']} has no {module_file}.py")
            self._code = (self._code_dir / f"{module_file}.py").read_text()
        self._module = None

    @staticmethod
    def runnable(resource):
        """Whether the rehearsal can run the function: inline code, or a Python code asset."""
        properties = resource["Properties"]
        code = properties.get("Code", {})
        return "ZipFile" in code or ("S3Key" in code and str(properties.get("Runtime", "")).startswith("python"))

    def _load(self):
        module_file, _, function = self.handler_name.rpartition(".")
        if self._code_dir is not None and str(self._code_dir) not in sys.path:
            # The asset's bundled dependencies, after the rehearsal's own (the same pinned versions).
            sys.path.append(str(self._code_dir))
        path = Path(tempfile.mkdtemp(prefix="rehearsal-lambda-")) / f"{module_file}.py"
        path.write_text(self._code)
        module = import_file(f"rehearsal_{self.name.replace('-', '_')}", path)
        module.os = FunctionOs({**self.environment, "AWS_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": self.name})
        return getattr(module, function)

    def invoke(self, event):
        if self._module is None:
            self._module = self._load()
        return self._module(json.loads(json.dumps(event)), LambdaContext(self.name))


class FunctionOs(types.ModuleType):
    """The `os` module as a function's code sees it on Lambda: the process's own, whose environment has the function's
    variables over the process's. The process's environment is left as it is: moto's interpreter runs executions in
    threads of their own, which read it meanwhile (botocore goes through all of it for proxies when it makes a client),
    and a variable removed under such a read failed it; two functions running at once also each see only their own."""

    def __init__(self, variables):
        super().__init__("os")
        self.environ = ChainMap({name: str(value) for name, value in variables.items()}, os.environ)

    def getenv(self, name, default=None):
        return self.environ.get(name, default)

    def __getattr__(self, name):
        return getattr(os, name)


# Firehose -----------------------------------------------------------------------------------------------------------

def firehose_records(events):
    """Records as Firehose hands them to a transformation function (Firehose Developer Guide, "Transform source
    data"): recordId, approximateArrivalTimestamp (ms) and the event's bytes in base64."""
    return {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/rehearsal",
        "region": REGION,
        "records": [{
            "recordId": f"record-{index}",
            "approximateArrivalTimestamp": 1764748800000 + index,
            "data": base64.b64encode(json.dumps(event).encode()).decode(),
        } for index, event in enumerate(events)],
    }


def decoded_records(answer):
    return [{"result": record["result"], "document": json.loads(base64.b64decode(record["data"]))}
            for record in answer["records"]]


def import_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
