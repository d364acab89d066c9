"""The permissions of the rehearsal's joints, read from the templates and checked as AWS would check them.

Two kinds of permission stand between the stages:

* A rule or a topic invokes a function only if the function's resource policy lets it: an AWS::Lambda::Permission
  of the assembly for lambda:InvokeFunction, with the service's principal (events.amazonaws.com,
  sns.amazonaws.com) and the rule's or topic's ARN as SourceArn (Lambda Developer Guide, "Using resource-based
  policies in Lambda"; EventBridge User Guide, "Using resource-based policies for Amazon EventBridge"; SNS: "Invoking
  Lambda functions using Amazon SNS notifications"). `LambdaPermissions.missing()` says which permission is absent.

* Every AWS call a function, the Glue job or a state machine makes is made with its role. `CallRecorder` records
  each call made through botocore while a caller acts (the functions and the Glue script run in this process; the
  state machines' tasks run in moto's execution threads), and `CallEvaluator` maps each call to the IAM action(s),
  resource ARN and condition keys the Service Authorization Reference gives for it, then evaluates them all in one
  batch with the IAM policy simulator (tools/rehearsal/simulate-calls.js, @cloud-copilot/iam-simulate) against the
  caller role's policies in the templates and, where the call needs it, the resource's policy (bucket, topic, key,
  queue). AWS-managed policies are not available offline: a call must be allowed by the template's own statements.
  Calls that also need a KMS key (publishing to an encrypted topic) are evaluated for the key as well, with the key
  policy (KMS Developer Guide, "Key policies"; SNS Developer Guide, "Encryption at rest").

A call the templates would deny is reported with the statement that would allow it.
"""

import json
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

import botocore.client

from assembly import ACCOUNT, REGION, WiringError

SIMULATOR = Path(__file__).resolve().parent / "simulate-calls.js"


# Lambda permissions ---------------------------------------------------------------------------------------------------

class LambdaPermissions:
    """Who may invoke which function, from the assembly's AWS::Lambda::Permission resources."""

    def __init__(self, assembly):
        self.grants = []
        for stack, logical_id, resource in assembly.resources("AWS::Lambda::Permission"):
            properties = assembly.resolve(stack, resource["Properties"])
            self.grants.append({"id": f"{stack.name}/{logical_id}", **properties})

    def missing(self, function_arn, function_name, principal, source_arn):
        """None if a permission lets `principal` invoke the function on behalf of `source_arn`; else what is missing."""
        for grant in self.grants:
            if grant.get("Action") not in ("lambda:InvokeFunction", "lambda:*"):
                continue
            if grant.get("FunctionName") not in (function_arn, function_name):
                continue
            if grant.get("Principal") != principal:
                continue
            if grant.get("SourceArn", source_arn) != source_arn:
                continue
            return None
        return (f"no AWS::Lambda::Permission lets {principal} invoke {function_name} from {source_arn}: missing "
                f'{{"Action": "lambda:InvokeFunction", "FunctionName": "{function_arn}", "Principal": "{principal}", '
                f'"SourceArn": "{source_arn}"}}')


# Recording calls ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Caller:
    """Who makes a call: a function, the Glue job or the state machine, and the role it makes it with."""
    kind: str
    name: str
    role_arn: str


@dataclass
class Call:
    caller: Caller
    service: str
    operation: str
    params: dict


@dataclass(frozen=True)
class HandledCall:
    """A call a service (moto, in this process) is handling: a thread it starts meanwhile works for that call."""
    service: str
    operation: str
    params: dict = field(hash=False, compare=False)


@dataclass
class CallRecorder:
    """Records every botocore call made while a caller acts; calls of the rehearsal's own set-up are not recorded.

    Each thread keeps a stack of what it is doing: a caller's code (acting_as) or a service handling a call. A thread
    started by a caller's code (boto3's managed transfers copy with a pool of threads) acts for that caller. A thread
    started by a service while it handles a call acts for the state machine that call starts, if it starts one:
    moto runs an execution, and the service integrations of its tasks, in a thread it starts on StartExecution (or
    RedriveExecution); `execution_caller(handled_call)` names that state machine's caller, or None for any other
    call. Any other thread acts for the caller of the thread that started it.
    """
    execution_caller: Callable[[HandledCall], Caller | None] = lambda handled: None
    calls: list = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)

    def _frames(self):
        if not hasattr(self._local, "frames"):
            self._local.frames = []
        return self._local.frames

    def install(self, patcher):
        recorder = self
        original_call = botocore.client.BaseClient._make_api_call
        original_start = threading.Thread.start

        def make_api_call(client, operation_name, api_params):
            caller = recorder.current()
            service = client.meta.service_model.service_name
            if caller is not None:
                recorder.calls.append(Call(caller, service, operation_name, dict(api_params)))
            frames = recorder._frames()
            frames.append(HandledCall(service, operation_name, dict(api_params)))
            try:
                return original_call(client, operation_name, api_params)
            finally:
                frames.pop()

        def start(thread):
            frames = recorder._frames()
            top = frames[-1] if frames else None
            if isinstance(top, HandledCall):
                thread.rehearsal_caller = recorder.execution_caller(top) or recorder.current()
            elif top is not None or threading.current_thread() is not threading.main_thread():
                thread.rehearsal_caller = recorder.current()
            return original_start(thread)

        patcher.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
        patcher.setattr(threading.Thread, "start", start)

    def current(self):
        frames = self._frames()
        callers = [frame for frame in frames if isinstance(frame, Caller)]
        if callers:
            return callers[-1]
        thread = threading.current_thread()
        if thread is threading.main_thread():
            return None
        return getattr(thread, "rehearsal_caller", None)

    @contextmanager
    def acting_as(self, caller):
        frames = self._frames()
        frames.append(caller)
        try:
            yield
        finally:
            frames.pop()

    def record(self, caller, service, operation, params):
        """A call made outside botocore (Spark reading the object the job validates)."""
        self.calls.append(Call(caller, service, operation, params))

    def take(self):
        calls, self.calls = self.calls, []
        return calls


# What each call asks of IAM -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: tuple = ()  # ((key, value), ...)


def s3_object(bucket, key):
    return f"arn:aws:s3:::{bucket}/{key}"


def copy_source(params):
    source = params["CopySource"]
    if isinstance(source, dict):
        return source["Bucket"], source["Key"], source.get("VersionId")
    path, _, query = source.partition("?versionId=")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    return bucket, key, query or None


SECURE = (("aws:SecureTransport", "true"),)


def s3_requests(operation, params):
    """S3 actions of the Service Authorization Reference ("Actions defined by Amazon S3")."""
    bucket = params.get("Bucket")
    versioned = "Version" if params.get("VersionId") else ""
    if operation in ("GetObject", "HeadObject"):
        return [Request(f"s3:GetObject{versioned}", s3_object(bucket, params["Key"]), SECURE)]
    if operation == "GetObjectTagging":
        return [Request(f"s3:GetObject{versioned}Tagging", s3_object(bucket, params["Key"]), SECURE)]
    if operation == "PutObject":
        extra = [Request("s3:PutObjectTagging", s3_object(bucket, params["Key"]), SECURE)] if params.get("Tagging") else []
        return [Request("s3:PutObject", s3_object(bucket, params["Key"]), SECURE)] + extra
    if operation == "CopyObject":
        source_bucket, source_key, source_version = copy_source(params)
        return [Request("s3:GetObjectVersion" if source_version else "s3:GetObject", s3_object(source_bucket, source_key),
                        SECURE),
                Request("s3:PutObject", s3_object(bucket, params["Key"]), SECURE)]
    if operation == "DeleteObject":
        return [Request(f"s3:DeleteObject{versioned}", s3_object(bucket, params["Key"]), SECURE)]
    if operation in ("ListObjectsV2", "ListObjects", "HeadBucket"):
        return [Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", SECURE + (("s3:prefix", params.get("Prefix", "")),))]
    if operation == "ListObjectVersions":
        return [Request("s3:ListBucketVersions", f"arn:aws:s3:::{bucket}",
                        SECURE + (("s3:prefix", params.get("Prefix", "")),))]
    return None


def event_bus_arn(name):
    return name if name.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"


def function_arn(name):
    return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def queue_arn(url):
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


def glue_job(name):
    return f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{name}"


def dynamodb_table(name):
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def filtered_arns(params, *names):
    """The ARNs a DMS Describe* call names in its filters (the resources IAM evaluates it on)."""
    return [value for f in params.get("Filters", []) if f["Name"] in names for value in f["Values"]]


def assessment_run_start(params):
    """StartReplicationTaskAssessmentRun on the task, and passing the assessment's role to DMS."""
    return [Request("dms:StartReplicationTaskAssessmentRun", params["ReplicationTaskArn"]),
            Request("iam:PassRole", params["ServiceAccessRoleArn"], (("iam:PassedToService", "dms.amazonaws.com"),))]


def assessment_reads(action):
    return lambda p: [Request(action, arn) for arn in
                      filtered_arns(p, "replication-task-assessment-run-arn", "replication-task-arn")] or [Request(action, "*")]


# (service, operation) -> the requests IAM evaluates, from the call's parameters.
REQUESTS = {
    ("sns", "Publish"): lambda p: [Request("sns:Publish", p["TopicArn"], SECURE)],
    ("events", "PutEvents"): lambda p: [Request("events:PutEvents", event_bus_arn(bus))
                                        for bus in sorted({e.get("EventBusName", "default") for e in p["Entries"]})],
    ("glue", "StartJobRun"): lambda p: [Request("glue:StartJobRun", glue_job(p["JobName"]))],
    ("glue", "GetJobRuns"): lambda p: [Request("glue:GetJobRuns", glue_job(p["JobName"]))],
    ("glue", "GetJobRun"): lambda p: [Request("glue:GetJobRun", glue_job(p["JobName"]))],
    ("stepfunctions", "StartExecution"): lambda p: [Request("states:StartExecution", p["stateMachineArn"])],
    ("stepfunctions", "DescribeExecution"): lambda p: [Request("states:DescribeExecution", p["executionArn"])],
    ("stepfunctions", "RedriveExecution"): lambda p: [Request("states:RedriveExecution", p["executionArn"])],
    ("stepfunctions", "ListExecutions"): lambda p: [Request("states:ListExecutions", p["stateMachineArn"])],
    ("dms", "DescribeReplicationTasks"): lambda p: [Request("dms:DescribeReplicationTasks", "*")],
    ("dms", "StartReplicationTask"): lambda p: [Request("dms:StartReplicationTask", p["ReplicationTaskArn"])],
    ("dms", "StopReplicationTask"): lambda p: [Request("dms:StopReplicationTask", p["ReplicationTaskArn"])],
    ("dms", "DescribeTableStatistics"): lambda p: [Request("dms:DescribeTableStatistics", p["ReplicationTaskArn"])],
    ("dms", "AddTagsToResource"): lambda p: [Request("dms:AddTagsToResource", p["ResourceArn"])],
    ("dms", "RemoveTagsFromResource"): lambda p: [Request("dms:RemoveTagsFromResource", p["ResourceArn"])],
    ("dms", "ListTagsForResource"): lambda p: [Request("dms:ListTagsForResource", p["ResourceArn"])],
    ("dms", "StartReplicationTaskAssessmentRun"): assessment_run_start,
    ("dms", "DescribeReplicationTaskAssessmentRuns"): assessment_reads("dms:DescribeReplicationTaskAssessmentRuns"),
    ("dms", "DescribeReplicationTaskIndividualAssessments"): assessment_reads("dms:DescribeReplicationTaskIndividualAssessments"),
    **{("dynamodb", operation): (lambda action: lambda p: [Request(action, dynamodb_table(p["TableName"]))])(f"dynamodb:{operation}")
       for operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem")},
    ("cloudwatch", "PutMetricData"): lambda p: [Request("cloudwatch:PutMetricData", "*",
                                                        (("cloudwatch:namespace", p["Namespace"]),))],
    ("cloudwatch", "GetMetricData"): lambda p: [Request("cloudwatch:GetMetricData", "*")],
    ("secretsmanager", "GetSecretValue"): lambda p: [Request("secretsmanager:GetSecretValue", p["SecretId"])],
    ("lambda", "Invoke"): lambda p: [Request("lambda:InvokeFunction", function_arn(p["FunctionName"]))],
    ("sqs", "SendMessage"): lambda p: [Request("sqs:SendMessage", queue_arn(p["QueueUrl"]))],
    ("firehose", "PutRecord"): lambda p: [Request("firehose:PutRecord", p["DeliveryStreamName"])],
    ("firehose", "PutRecordBatch"): lambda p: [Request("firehose:PutRecordBatch", p["DeliveryStreamName"])],
}


def requests_of(call):
    if call.service == "s3":
        found = s3_requests(call.operation, call.params)
    else:
        make = REQUESTS.get((call.service, call.operation))
        found = make(call.params) if make else None
    if found is None:
        raise WiringError(f"{call.caller.name} called {call.service} {call.operation}, which the rehearsal cannot map "
                          "to IAM actions; add it to tools/rehearsal/permissions.py")
    return found


# Policies of the templates --------------------------------------------------------------------------------------------

class TemplatePolicies:
    """Role policies and resource policies of the assembly, resolved to the rehearsal's deployed names."""

    def __init__(self, assembly):
        self.assembly = assembly
        self.roles = {}  # role ARN -> [{"name", "policy"}]
        role_arn_by_name = {}
        for stack, logical_id, resource in assembly.resources("AWS::IAM::Role"):
            arn = assembly.attribute(stack, logical_id, "Arn")
            role_arn_by_name[assembly.ref(stack, logical_id)] = arn
            properties = resource.get("Properties", {})
            self.roles[arn] = [{"name": f"{stack.name}/{logical_id}/{policy['PolicyName']}",
                                "policy": assembly.resolve(stack, policy["PolicyDocument"])}
                               for policy in properties.get("Policies", [])]
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for stack, logical_id, resource in assembly.resources(policy_type):
                properties = resource["Properties"]
                document = assembly.resolve(stack, properties["PolicyDocument"])
                for role_name in assembly.resolve(stack, properties.get("Roles", [])):
                    role_arn = role_arn_by_name.get(role_name, role_name)
                    self.roles.setdefault(role_arn, []).append({"name": f"{stack.name}/{logical_id}", "policy": document})
        self.resource_policies = {}
        self._add_resource_policies("AWS::S3::BucketPolicy", "Bucket", lambda name: f"arn:aws:s3:::{name}")
        self._add_resource_policies("AWS::SNS::TopicPolicy", "Topics", lambda arn: arn)
        self._add_resource_policies("AWS::SQS::QueuePolicy", "Queues", queue_arn)
        self.topic_keys = {}
        for stack, logical_id, resource in assembly.resources("AWS::SNS::Topic"):
            key = resource.get("Properties", {}).get("KmsMasterKeyId")
            if key is not None:
                self.topic_keys[assembly.ref(stack, logical_id)] = assembly.resolve(stack, key)
        for stack, logical_id, resource in assembly.resources("AWS::KMS::Key"):
            self.resource_policies[assembly.attribute(stack, logical_id, "Arn")] = assembly.resolve(
                stack, resource["Properties"]["KeyPolicy"])

    def _add_resource_policies(self, resource_type, targets_property, arn_of):
        for stack, _, resource in self.assembly.resources(resource_type):
            properties = self.assembly.resolve(stack, resource["Properties"])
            targets = properties[targets_property]
            for target in targets if isinstance(targets, list) else [targets]:
                self.resource_policies[arn_of(target)] = properties["PolicyDocument"]

    def resource_policy(self, resource):
        if resource.startswith("arn:aws:s3:::"):
            return self.resource_policies.get(resource.split("/", 1)[0])
        return self.resource_policies.get(resource)

    def role_of(self, role_arn):
        if role_arn not in self.roles:
            raise WiringError(f"role {role_arn} has no policy in the templates")
        return self.roles[role_arn]


def with_key_requests(requests, policies):
    """Publishing to a topic encrypted with a KMS key also needs kms:GenerateDataKey and kms:Decrypt on the key."""
    extra = [Request(action, policies.topic_keys[request.resource])
             for request in requests if request.action == "sns:Publish" and request.resource in policies.topic_keys
             for action in ("kms:GenerateDataKey", "kms:Decrypt")]
    return requests + extra


# Evaluating -----------------------------------------------------------------------------------------------------------

class CallEvaluator:
    def __init__(self, assembly):
        self.policies = TemplatePolicies(assembly)

    def denials(self, calls):
        """[{"caller", "call", "denied"}] for every request of the calls that the templates would deny."""
        checks = []
        for call in calls:
            for request in with_key_requests(requests_of(call), self.policies):
                checks.append((call, request))
        unique = {(call.caller, request): None for call, request in checks}
        keys = list(unique)
        answers = simulate([self._simulation(caller, request) for caller, request in keys])
        denied = []
        for (caller, request), answer in zip(keys, answers):
            if "error" in answer:
                raise WiringError(f"the IAM simulator refused {request.action} on {request.resource} by "
                                  f"{caller.name}: {answer['error']}")
            if answer["decision"] != "Allowed":
                denied.append({"caller": caller.name, "role": caller.role_arn, "request": request.action,
                               "resource": request.resource, "decision": answer["decision"],
                               "denied": missing_statement(caller, request)})
        return denied

    def _simulation(self, caller, request):
        return {
            "principal": caller.role_arn,
            "action": request.action,
            "resource": request.resource,
            "accountId": ACCOUNT,
            "context": dict(request.context),
            "identityPolicies": self.policies.role_of(caller.role_arn),
            **({"resourcePolicy": policy} if (policy := self.policies.resource_policy(request.resource)) else {}),
        }


def missing_statement(caller, request):
    statement = {"Effect": "Allow", "Action": request.action, "Resource": request.resource}
    conditions = [f"{key}={value}" for key, value in request.context if key != "aws:SecureTransport"]
    where = f" (with {', '.join(conditions)})" if conditions else ""
    return (f"{caller.kind} {caller.name} may not {request.action} on {request.resource}{where}: no policy of role "
            f"{caller.role_arn} in the templates allows it; missing statement {json.dumps(statement)}")


def simulate(simulations):
    if not simulations:
        return []
    done = subprocess.run(["node", str(SIMULATOR)], input=json.dumps(simulations), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise WiringError(f"the IAM simulation failed: {done.stderr.strip()}")
    return json.loads(done.stdout)
