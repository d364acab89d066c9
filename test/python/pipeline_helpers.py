"""Shared helpers for the runtime tests: sample events, read-back queues, schema, partial stubs."""

import functools
import http.server
import json
import threading
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.stub import Stubber
from jsonschema import Draft202012Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIR = REPO_ROOT / "src" / "runtime"
EVENTS_DIR = REPO_ROOT / "test" / "events"
SCHEMA_PATH = RUNTIME_DIR / "pipeline_event.schema.json"

ACCOUNT = "123456789012"  # moto's default account, also the one in the sample events
REGION = "us-west-2"


def load_event(name):
    return json.loads((EVENTS_DIR / name).read_text())


@functools.lru_cache(maxsize=None)
def schema_validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def create_queue(name):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain_queue(url):
    """Every message body currently in the queue, parsed as JSON."""
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


class AuditCapture:
    """Routes the pipeline's audit events to an SQS queue through a real (moto) EventBridge rule."""

    def __init__(self, bus_name="default"):
        self.url, arn = create_queue(f"audit-{bus_name}")
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="capture-audit", EventBusName=bus_name,
                        EventPattern=json.dumps({"source": ["migration.pipeline"]}))
        events.put_targets(Rule="capture-audit", EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": arn}])
        self._validator = schema_validator()

    def read(self):
        """Events delivered so far; each one is checked against pipeline_event.schema.json."""
        delivered = drain_queue(self.url)
        for event in delivered:
            errors = sorted(self._validator.iter_errors(event), key=lambda error: list(error.path))
            assert not errors, f"audit event violates the schema: {[error.message for error in errors]}\n{event}"
        return delivered


class AlertCapture:
    """An SNS topic with an SQS subscriber, so tests read back exactly what was published."""

    def __init__(self, name="migration-pipeline-alerts"):
        sns = boto3.client("sns", region_name=REGION)
        self.topic_arn = sns.create_topic(Name=name)["TopicArn"]
        self.url, arn = create_queue(f"{name}-reader")
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn)

    def read(self):
        """Published alerts as dicts: subject, severity attribute and the parsed JSON message."""
        return [{
            "subject": body.get("Subject"),
            "severity": body.get("MessageAttributes", {}).get("severity", {}).get("Value"),
            "message": json.loads(body["Message"]),
        } for body in drain_queue(self.url)]


class PartiallyStubbedClient:
    """A moto-backed client whose listed operations go to a botocore Stubber instead.

    A Stubber replaces every call of the client it wraps, so the operations moto cannot
    serve are sent to a second client that the Stubber owns; the rest still hit moto.
    `calls` records the operation names in call order.
    """

    def __init__(self, service, stubbed_operations):
        self._real = boto3.client(service, region_name=REGION)
        self._stubbed = boto3.client(service, region_name=REGION)
        self._stubbed_operations = set(stubbed_operations)
        self.stubber = Stubber(self._stubbed)
        self.stubber.activate()
        self.calls = []

    def __getattr__(self, name):
        target = self._stubbed if name in self._stubbed_operations else self._real
        attribute = getattr(target, name)
        if not callable(attribute):
            return attribute

        def recorded(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)
        return recorded


def json_logs(captured_stdout):
    """The structured log lines a handler printed."""
    return [json.loads(line) for line in captured_stdout.splitlines() if line.startswith("{")]


def add_dms_tagging(monkeypatch):
    """moto 5.2 keeps DMS tags (it answers ListTagsForResource) but has no AddTagsToResource or
    RemoveTagsFromResource; answer them on moto's own tag store, with the request shapes of the DMS API Reference
    (ResourceArn + Tags, ResourceArn + TagKeys; both return an empty object)."""
    from moto.dms import responses as dms_responses

    def add_tags_to_resource(self):
        params = json.loads(self.body)
        self.dms_backend.tagger.tag_resource(params["ResourceArn"], params["Tags"])
        return "{}"

    def remove_tags_from_resource(self):
        params = json.loads(self.body)
        self.dms_backend.tagger.untag_resource_using_names(params["ResourceArn"], params["TagKeys"])
        return "{}"

    monkeypatch.setattr(dms_responses.DatabaseMigrationServiceResponse, "add_tags_to_resource",
                        add_tags_to_resource, raising=False)
    monkeypatch.setattr(dms_responses.DatabaseMigrationServiceResponse, "remove_tags_from_resource",
                        remove_tags_from_resource, raising=False)


def run_invokes_in_process(monkeypatch, handlers):
    """moto runs Lambda code only in Docker, which the tests do not use: an Invoke (a state machine's Task, say) of a
    function named in `handlers` (by name or ARN; value: callable(event) -> answer) runs that callable in this
    process instead. Like Lambda, an error it raises becomes a function error (errorType, errorMessage), which the
    caller sees as the task's error. Other functions go to moto as before."""
    from moto.awslambda import models as lambda_models

    original_invoke = lambda_models.LambdaBackend.invoke

    def invoke(backend, function_name, qualifier, body, headers, response_headers):
        handler = handlers.get(function_name)
        if handler is None:
            return original_invoke(backend, function_name, qualifier, body, headers, response_headers)
        try:
            answer = handler(json.loads(body))
        except Exception as error:  # noqa: BLE001 - Lambda reports any error the same way
            response_headers["x-amz-function-error"] = "Unhandled"
            answer = {"errorType": type(error).__name__, "errorMessage": str(error)}
        payload = json.dumps(answer).encode("utf-8")
        response_headers["Content-Length"] = str(len(payload))
        return payload

    monkeypatch.setattr(lambda_models.LambdaBackend, "invoke", invoke)


class _ResponseUrlHandler(http.server.BaseHTTPRequestHandler):
    """Records every request, whatever its method; answers 500 to the first `server.failures` of them."""

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append({
            "method": self.command, "path": self.path, "content_type": self.headers.get("Content-Type"),
            "content_length": self.headers.get("Content-Length"), "body": self.rfile.read(length),
        })
        failing = len(self.server.received) <= self.server.failures
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = do_GET = _record  # noqa: N815 (http.server naming)

    def log_message(self, *args):
        pass


@contextmanager
def cloudformation_response_url():
    """A local stand-in for the pre-signed S3 URL a custom resource answers CloudFormation on (a PUT of the response
    document with an empty Content-Type: "Custom resource response objects", CloudFormation User Guide). The server
    has `url`, `received` (every request) and `failures` (how many first requests get a 500)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ResponseUrlHandler)
    server.received = []
    server.failures = 0
    server.url = f"http://127.0.0.1:{server.server_address[1]}/cfn-response?X-Amz-Signature=abc123"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def pass_state_machine(monkeypatch, name):
    """A one-state (Pass) state machine in moto, named in the Step Functions trigger's STATE_MACHINE_ARN; returns
    (client, ARN). The trigger's tests look at the executions it starts, not at what they run."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=name,
        definition=json.dumps({"StartAt": "Migrate", "States": {"Migrate": {"Type": "Pass", "End": True}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/migration-state-machine",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return sfn, arn
