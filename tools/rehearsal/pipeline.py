"""The synthesized pipeline brought up in moto from its cloud assembly, and one file taken through it.

Every resource a stage hands work to is created from the templates: buckets (with their EventBridge switch), every
EventBridge rule with its own pattern, every Lambda subscription of every topic with its own filter policy, the
Glue jobs with their default arguments, the DMS tasks and the state machines with their definitions. Work then
flows by ARN alone: a rule's target ARN names the function or delivery stream that gets the event, a
subscription's endpoint names the function, the job run that a function started names the job whose script runs.
The rehearsal pumps these hand-overs until nothing is left to do, and records each one as a hop.
"""

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime

import boto3

import hops
from assembly import REGION, Assembly, WiringError
from dms_simulation import DmsSimulation
from glue_run import run_glue_script
from permissions import Caller, CallEvaluator, CallRecorder, LambdaPermissions
from pipeline_helpers import run_invokes_in_process

MAX_ROUNDS = 20
EXECUTION_DEADLINE_SECONDS = 60


@dataclass
class Hop:
    stage: str
    went_in: object
    came_out: object


@dataclass
class Rehearsal:
    hops: list = field(default_factory=list)
    executions: list = field(default_factory=list)
    job_runs: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    invocations: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    published: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    cutover_state_machine: str | None = None

    def record(self, stage, went_in, came_out):
        self.hops.append(Hop(stage, went_in, came_out))

    def calls_of(self, function_name):
        return self.invocations.get(function_name, [])

    def failed_functions(self):
        """The functions whose code raised, in the order they failed."""
        return [error["function"] for error in self.errors if "function" in error]

    def denials(self):
        """What the templates would have denied: a missing AWS::Lambda::Permission or role statement, each named."""
        return [error["denied"] for error in self.errors if "denied" in error]

    def summary(self):
        """The verdict: the validation outcome(s), the migration status(es), where the reports are, what broke."""
        verdicts = [json.loads(m["Message"]).get("outcome") for messages in self.published.values()
                    for m in messages if m.get("MessageAttributes", {}).get("outcome")]
        return {
            "validation": verdicts,
            "migration": [execution["status"] for execution in self.executions
                          if execution["stateMachineArn"] != self.cutover_state_machine],
            "cutover": [execution["status"] for execution in self.executions
                        if execution["stateMachineArn"] == self.cutover_state_machine],
            "reports": [hop.came_out["report"] for hop in self.hops if hop.stage.startswith("Step Functions")],
            "errors": self.errors,
        }


class Pipeline:
    def __init__(self, cdk_out, stack_name, spark, dms_scenario, patcher, on_hop=None):
        self.assembly = Assembly(cdk_out, stack_name)
        self.spark = spark
        self.on_hop = on_hop
        self.result = Rehearsal(cutover_state_machine=self._cutover_state_machine())
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.glue = boto3.client("glue", region_name=REGION)
        self.dms = DmsSimulation(self.assembly, dms_scenario, patcher)
        self.secrets = self._create_secrets()
        self.lambda_permissions = LambdaPermissions(self.assembly)
        self.evaluator = CallEvaluator(self.assembly)
        self.machine_callers = self._state_machine_callers()
        self.recorder = CallRecorder(execution_caller=self._execution_caller)
        self.recorder.install(patcher)
        hops.send_delete_marker_events(patcher)
        self._create_buckets()
        self._create_topics()
        self._create_tables()
        self.functions = self._functions()
        self._run_invoked_functions_in_process(patcher)
        self.rules = [hops.RuleTap(self.assembly, *hit) for hit in self.assembly.resources("AWS::Events::Rule")]
        self.subscriptions = [hops.SubscriptionTap(self.assembly, *hit)
                              for hit in self.assembly.resources("AWS::SNS::Subscription")
                              if hit[2]["Properties"].get("Protocol") == "lambda"]
        self.jobs = self._create_glue_jobs()
        self.state_machines = self._create_state_machines()
        self.topic_taps = {arn: hops.TopicTap(arn) for arn in self._topic_arns}
        self._seen_runs = set()
        self._seen_executions = set()

    # Bringing it up --------------------------------------------------------------------------------------------

    def _create_buckets(self):
        switched_on = set()
        for stack, _, resource in self.assembly.resources("Custom::S3BucketNotifications"):
            properties = self.assembly.resolve(stack, resource["Properties"])
            if "EventBridgeConfiguration" in properties.get("NotificationConfiguration", {}):
                switched_on.add(properties["BucketName"])
        for stack, logical_id, resource in self.assembly.resources("AWS::S3::Bucket"):
            name = self.assembly.ref(stack, logical_id)
            properties = self.assembly.resolve(stack, resource.get("Properties", {}))
            self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            if name in switched_on:
                self.s3.put_bucket_notification_configuration(
                    Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}})

    def _create_secrets(self):
        """The templates' secrets, as CloudFormation creates them: the SecretStringTemplate with a generated password
        under GenerateStringKey (Secrets Manager secret resource reference); a SecretTargetAttachment adds the
        database's connection fields (engine, host, port, dbClusterIdentifier) and its Ref is the secret's ARN.
        moto names each secret's ARN (a random suffix): the assembly is given them. {ARN: secret name}."""
        client = boto3.client("secretsmanager", region_name=REGION)
        created = {}
        for stack, logical_id, resource in self.assembly.resources("AWS::SecretsManager::Secret"):
            properties = {key: self.assembly.resolve(stack, value) for key, value in resource.get("Properties", {}).items()
                          if key in ("Name", "GenerateSecretString")}
            generate = properties.get("GenerateSecretString", {})
            fields = json.loads(generate.get("SecretStringTemplate", "{}"))
            if "GenerateStringKey" in generate:
                fields[generate["GenerateStringKey"]] = secrets.token_hex(16)
            name = properties.get("Name") or f"{stack.name[:20]}-{logical_id}"
            arn = client.create_secret(Name=name, SecretString=json.dumps(fields))["ARN"]
            self.assembly.set_physical(stack, logical_id, ref=arn)
            created[arn] = name
        for stack, logical_id, resource in self.assembly.resources("AWS::SecretsManager::SecretTargetAttachment"):
            properties = self.assembly.resolve(stack, resource["Properties"])
            arn = properties["SecretId"]
            self.assembly.set_physical(stack, logical_id, ref=arn)
            fields = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
            fields.update(engine="mysql", host=f"{properties['TargetId']}.cluster.{REGION}.rds.amazonaws.com",
                          port=3306, dbClusterIdentifier=properties["TargetId"])
            client.put_secret_value(SecretId=arn, SecretString=json.dumps(fields))
        return created

    def _create_topics(self):
        sns = boto3.client("sns", region_name=REGION)
        self._topic_arns = []
        for stack, logical_id, _ in self.assembly.resources("AWS::SNS::Topic"):
            arn = self.assembly.ref(stack, logical_id)
            sns.create_topic(Name=arn.rsplit(":", 1)[1])
            self._topic_arns.append(arn)

    def _functions(self):
        functions = {}
        for stack, logical_id, resource in self.assembly.resources("AWS::Lambda::Function"):
            if hops.Function.runnable(resource) and self._asset_staged(resource):
                functions[self.assembly.attribute(stack, logical_id, "Arn")] = hops.Function(
                    self.assembly, stack, logical_id, resource)
        return functions

    def _asset_staged(self, resource):
        """Inline code, or a code asset staged in cdk.out as a directory (the CDK's own handlers are zipped)."""
        key = resource["Properties"]["Code"].get("S3Key")
        return key is None or (self.assembly.cdk_out / f"asset.{key.split('.', 1)[0]}").is_dir()

    def _run_invoked_functions_in_process(self, patcher):
        """A function of the assembly invoked through the Lambda API (a state machine's task) runs its own code here."""
        def handler_of(function):
            def handle(event):
                self.result.invocations.setdefault(function.name, []).append(event)
                with self.recorder.acting_as(Caller("function", function.name, function.role_arn)):
                    return function.invoke(event)
            return handle

        handlers = {}
        for arn, function in self.functions.items():
            handlers[arn] = handlers[function.name] = handler_of(function)
        run_invokes_in_process(patcher, handlers)

    def _create_glue_jobs(self):
        jobs = {}
        for stack, logical_id, resource in self.assembly.resources("AWS::Glue::Job"):
            properties = self.assembly.resolve(stack, resource["Properties"])
            name = properties["Name"]
            self.glue.create_job(Name=name, Role=properties["Role"], Command=properties["Command"],
                                 DefaultArguments=properties.get("DefaultArguments", {}),
                                 ExecutionProperty=properties.get("ExecutionProperty", {}))
            jobs[name] = {"properties": properties, "script": glue_script(self.assembly, properties)}
        return jobs

    def _create_tables(self):
        """The DynamoDB tables (the replication task's lease), with the key schema of the template."""
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for stack, logical_id, resource in self.assembly.resources("AWS::DynamoDB::Table"):
            properties = self.assembly.resolve(stack, resource["Properties"])
            dynamodb.create_table(TableName=self.assembly.ref(stack, logical_id), BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=properties["AttributeDefinitions"], KeySchema=properties["KeySchema"])

    def _create_state_machines(self):
        machines = {}
        for stack, logical_id, resource in self.assembly.resources("AWS::StepFunctions::StateMachine"):
            properties = self.assembly.resolve(stack, resource["Properties"])
            definition = json.loads(properties["DefinitionString"])
            shorten_waits(definition)
            arn = self.sfn.create_state_machine(
                name=properties["StateMachineName"], definition=json.dumps(definition),
                roleArn=properties["RoleArn"])["stateMachineArn"]
            if arn != self.assembly.ref(stack, logical_id):
                raise WiringError(f"state machine ARN {arn} differs from the template's {self.assembly.ref(stack, logical_id)}")
            machines[arn] = definition
        return machines

    # Running ---------------------------------------------------------------------------------------------------

    def hop(self, stage, went_in, came_out):
        self.result.record(stage, went_in, came_out)
        if self.on_hop:
            self.on_hop(stage, went_in, came_out)

    def _cutover_state_machine(self):
        """The state machine an operator starts to cut over (the stack's CutoverStateMachineArn output), if any."""
        outputs = self.assembly.root.template.get("Outputs", {})
        return self.assembly.output("CutoverStateMachineArn") if "CutoverStateMachineArn" in outputs else None

    def _state_machine_callers(self):
        """{state machine ARN: its caller}: each state machine's tasks make their calls with its own role."""
        callers = {}
        for stack, logical_id, resource in self.assembly.resources("AWS::StepFunctions::StateMachine"):
            properties = self.assembly.resolve(stack, resource["Properties"])
            callers[self.assembly.ref(stack, logical_id)] = Caller("state machine", properties["StateMachineName"],
                                                                   properties["RoleArn"])
        return callers

    def _execution_caller(self, handled):
        """The state machine whose execution a StartExecution or RedriveExecution call runs (moto runs it in a thread
        it starts while handling the call), or None for any other call."""
        if handled.service != "stepfunctions":
            return None
        if handled.operation == "StartExecution":
            return self.machine_callers.get(handled.params.get("stateMachineArn"))
        if handled.operation == "RedriveExecution":
            return self.machine_callers.get(state_machine_of(handled.params.get("executionArn", "")))
        return None

    def _glue_caller(self, job_name):
        role = self.jobs[job_name]["properties"]["Role"]
        if not role.startswith("arn:"):  # the job names its role by name
            stack, logical_id, _ = self.assembly.by_physical("AWS::IAM::Role", role)
            role = self.assembly.attribute(stack, logical_id, "Arn")
        return Caller("Glue job", job_name, role)

    def _check_calls(self):
        """Every call recorded since the last check, evaluated against the templates' policies; denials are errors."""
        calls = self.recorder.take()
        self.result.calls.extend(calls)
        for denial in self.evaluator.denials(calls):
            if denial not in self.result.errors:
                self.result.errors.append(denial)

    def rehearse(self, key, body):
        self.upload(key, body)
        return self.pump()

    def upload(self, key, body):
        answer = self.s3.put_object(Bucket=self.data_bucket(), Key=key, Body=body)
        self.hop("S3 PutObject", {"bucket": self.data_bucket(), "key": key, "bytes": len(body)},
                 {"versionId": answer.get("VersionId"), "eventBridge": "Object Created"})
        return answer.get("VersionId")

    def data_bucket(self):
        """The bucket the rules watch for arriving files: the one named by the aws.s3 Object Created rule that
        invokes a function."""
        names = {name for rule in self.rules
                 if rule.pattern.get("source") == ["aws.s3"] and "Object Created" in rule.pattern.get("detail-type", [])
                 and rule.target["Arn"] in self.functions
                 for name in rule.pattern.get("detail", {}).get("bucket", {}).get("name", [])}
        if len(names) != 1:
            raise WiringError(f"expected one bucket watched by an Object Created rule with a function target: {names}")
        return next(iter(names))

    def redeliver_last_object_event(self):
        """EventBridge delivers at least once: hand the last delivered Object Created event to its target again."""
        for stage, went_in, _ in reversed([(h.stage, h.went_in, h.came_out) for h in self.result.hops]):
            rule = next((r for r in self.rules if stage == f"rule {r.name}" and r.target["Arn"] in self.functions), None)
            if rule and isinstance(went_in, dict) and went_in.get("detail-type") == "Object Created":
                self._deliver_rule_target(rule, went_in, redelivery=True)
                return
        raise WiringError("no Object Created event was delivered to a function")

    def pump(self):
        for _ in range(MAX_ROUNDS):
            if not self._one_round():
                self._check_calls()
                return self.result
        raise WiringError(f"the pipeline was still busy after {MAX_ROUNDS} rounds")

    def _one_round(self):
        busy = False
        for rule in self.rules:
            for delivered in rule.deliveries():
                busy = True
                self._deliver_rule_target(rule, delivered)
        for subscription in self.subscriptions:
            for event in subscription.lambda_events():
                busy = True
                function = self._function(subscription.endpoint, f"subscription on {subscription.topic_arn}")
                answer = self._invoke(function, event, "sns.amazonaws.com", subscription.topic_arn)
                self.hop(f"SNS {subscription.topic_arn.rsplit(':', 1)[1]} -> {function.name}",
                         json.loads(event["Records"][0]["Sns"]["Message"]), answer)
        busy |= self._run_new_glue_runs()
        busy |= self._send_dms_task_stops()
        busy |= self._finish_executions()
        for arn, tap in self.topic_taps.items():
            self.result.published.setdefault(arn.rsplit(":", 1)[1], []).extend(tap.messages())
        return busy

    def _deliver_rule_target(self, rule, delivered, redelivery=False):
        target_arn = rule.target["Arn"]
        stage = f"rule {rule.name}"
        if target_arn in self.functions:
            function = self.functions[target_arn]
            answer = self._invoke(function, delivered, "events.amazonaws.com", rule.arn)
            self.hop(stage, delivered, {"function": function.name, "redelivery": redelivery, "answer": answer})
        elif ":firehose:" in target_arn:
            # EventBridge puts the event with the role the target names (EventBridge User Guide, "Permissions").
            self.recorder.record(Caller("rule", rule.name, rule.target.get("RoleArn", "(no RoleArn)")), "firehose",
                                 "PutRecord", {"DeliveryStreamName": target_arn})
            documents = self._firehose(target_arn, delivered)
            self.hop(stage, delivered, {"deliveryStream": target_arn, "documents": documents})
        else:
            self.hop(stage, delivered, {"target": target_arn})

    def _function(self, arn, what):
        if arn not in self.functions:
            raise WiringError(f"{what} names {arn}, which is no function of the assembly with inline code")
        return self.functions[arn]

    def _invoke(self, function, event, principal=None, source_arn=None):
        """Runs the function; an error it raises is recorded (Lambda would retry it, then dead-letter the event).

        A service (`principal`, for `source_arn`) invokes it only if a permission of the assembly lets it; if none
        does, the function does not run, as on AWS, and the missing permission is the error."""
        if principal is not None:
            missing = self.lambda_permissions.missing(function.arn, function.name, principal, source_arn)
            if missing:
                denial = {"caller": principal, "denied": missing}
                self.result.errors.append(denial)
                return denial
        self.result.invocations.setdefault(function.name, []).append(event)
        try:
            with self.recorder.acting_as(Caller("function", function.name, function.role_arn)):
                return function.invoke(event)
        except Exception as error:  # noqa: BLE001 - any error of the function's code ends its hop
            failure = {"function": function.name, "error": f"{type(error).__name__}: {error}"}
            self.result.errors.append(failure)
            return failure

    def _firehose(self, stream_arn, event):
        stack, logical_id, resource = self.assembly.by_physical("AWS::KinesisFirehose::DeliveryStream", stream_arn,
                                                                "Arn")
        properties = self.assembly.resolve(stack, resource["Properties"])
        destination = next(value for key, value in properties.items() if key.endswith("DestinationConfiguration"))
        processors = destination.get("ProcessingConfiguration", {}).get("Processors", [])
        lambda_arns = [p["Value"] if "Value" in p else p["ParameterValue"]
                       for processor in processors for p in processor.get("Parameters", [])
                       if p["ParameterName"] == "LambdaArn"]
        if len(lambda_arns) != 1:
            raise WiringError(f"delivery stream {stream_arn} has {len(lambda_arns)} processing functions")
        function = self._function(lambda_arns[0], f"delivery stream {stream_arn}")
        # Firehose invokes its processor with the delivery stream's role (Firehose Developer Guide, "Grant Firehose
        # access to AWS Lambda for data transformation").
        self.recorder.record(Caller("delivery stream", stream_arn, destination["RoleARN"]), "lambda", "Invoke",
                             {"FunctionName": lambda_arns[0]})
        answer = self._invoke(function, hops.firehose_records([event]))
        documents = hops.decoded_records(answer)
        self.result.documents.extend(documents)
        return documents

    def _run_new_glue_runs(self):
        busy = False
        for name, job in self.jobs.items():
            for run in self.glue.get_job_runs(JobName=name)["JobRuns"]:
                if run["Id"] in self._seen_runs:
                    continue
                self._seen_runs.add(run["Id"])
                busy = True
                arguments = {**job["properties"].get("DefaultArguments", {}), **run.get("Arguments", {})}
                caller = self._glue_caller(name)
                outcome = run_glue_script(job["script"], name, run["Id"], arguments, self.spark, self.s3,
                                          acting=lambda: self.recorder.acting_as(caller))
                # Spark reads the object itself (a local copy here, see glue_run.py): the job's role reads it.
                if arguments.get("--source_bucket") and arguments.get("--source_key"):
                    self.recorder.record(caller, "s3", "GetObject", {"Bucket": arguments["--source_bucket"],
                                                                     "Key": arguments["--source_key"]})
                if outcome["state"] != "SUCCEEDED":
                    self.result.errors.append({"jobRun": run["Id"], "error": outcome["message"]})
                self.result.job_runs.append({"jobName": name, "jobRunId": run["Id"], "arguments": arguments,
                                             "outcome": outcome})
                self.hop(f"Glue {name}", run.get("Arguments", {}), outcome)
                hops.put_event("aws.glue", "Glue Job State Change", {
                    "jobName": name, "severity": "INFO" if outcome["state"] == "SUCCEEDED" else "ERROR",
                    "state": outcome["state"], "jobRunId": run["Id"], "message": outcome.get("message", ""),
                })
        return busy

    def _send_dms_task_stops(self):
        """DMS sends REPLICATION_TASK_STOPPED (DMS-EVENT-0079) when a task stops (DMS User Guide, "Working with
        Amazon EventBridge events and notifications"); moto sends none, so it is sent here for every task that
        stopped since the last look. A stop requested with StopReplicationTask has the stop reason NORMAL."""
        stopped = self.dms.newly_stopped()
        for task_arn in stopped:
            detail = {"type": "REPLICATION_TASK", "category": "StateChange", "eventType": "REPLICATION_TASK_STOPPED",
                      "eventId": "DMS-EVENT-0079", "detailMessage": "Stop Reason NORMAL",
                      "resourceLink": f"https://console.aws.amazon.com/dms/v2/home?region={REGION}#taskDetails/"
                                      f"{task_arn.rsplit(':', 1)[1]}"}
            hops.put_event("aws.dms", "DMS Replication Task State Change", detail, resources=[task_arn])
            self.hop("DMS task stopped", {"replicationTaskArn": task_arn}, detail)
        return bool(stopped)

    def _finish_executions(self):
        busy = False
        for arn in self.state_machines:
            for summary in self.sfn.list_executions(stateMachineArn=arn)["executions"]:
                if summary["executionArn"] in self._seen_executions:
                    continue
                self._seen_executions.add(summary["executionArn"])
                busy = True
                execution = self._wait(summary["executionArn"])
                self.result.executions.append(execution)
                self.hop(f"Step Functions {arn.rsplit(':', 1)[1]}", json.loads(execution["input"]),
                         {"status": execution["status"], "error": execution.get("error"),
                          "report": self.report_of(execution)})
                # Step Functions sends this event for every status change (Step Functions Developer Guide,
                # "Step Functions events in EventBridge"); moto sends none, so it is sent here.
                hops.put_event("aws.states", "Step Functions Execution Status Change", {
                    "executionArn": execution["executionArn"], "stateMachineArn": arn, "name": execution["name"],
                    "status": execution["status"], "startDate": epoch_ms(execution["startDate"]),
                    "stopDate": epoch_ms(execution["stopDate"]), "input": execution["input"],
                    "output": execution.get("output"), "error": execution.get("error"),
                    "cause": execution.get("cause"),
                }, resources=[execution["executionArn"]])
        return busy

    def report_of(self, execution):
        """s3://bucket/key of the object the run wrote under its own name (the migration report), if any."""
        found = [f"s3://{bucket['Name']}/{item['Key']}" for bucket in self.s3.list_buckets()["Buckets"]
                 for item in self.s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
                 if execution["name"] in item["Key"]]
        named = [uri for uri in found if uri.endswith(f"/{execution['name']}.json")]
        return named[0] if len(named) == 1 else found[0] if len(found) == 1 else found or None

    def _wait(self, execution_arn):
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        while True:
            execution = self.sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                return execution
            if time.monotonic() > deadline:
                raise WiringError(f"{execution_arn} still RUNNING after {EXECUTION_DEADLINE_SECONDS} s")
            time.sleep(0.1)


def glue_script(assembly, job_properties):
    """The script file a Glue job runs: the deployed copy at its ScriptLocation, from the bucket deployment that
    puts it there (its source asset is staged in cdk.out)."""
    location = job_properties["Command"]["ScriptLocation"]
    bucket, _, key = location.removeprefix("s3://").partition("/")
    for stack, _, resource in assembly.resources("Custom::CDKBucketDeployment"):
        properties = assembly.resolve(stack, resource["Properties"])
        if properties.get("DestinationBucketName") != bucket:
            continue
        prefix = properties.get("DestinationBucketKeyPrefix", "")
        for object_key in properties.get("SourceObjectKeys", []):
            candidate = assembly.asset_dir(object_key) / key.removeprefix(prefix)
            if key.startswith(prefix) and candidate.is_file():
                return candidate
    raise WiringError(f"no bucket deployment puts the Glue script {location}")


def shorten_waits(definition):
    """moto's interpreter really sleeps in Wait states: the rehearsal does not wait out poll intervals."""
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Wait" and "Seconds" in state:
            state["Seconds"] = 0
        for branch in state.get("Branches", []):
            shorten_waits(branch)
        if "Iterator" in state:
            shorten_waits(state["Iterator"])
        if "ItemProcessor" in state:
            shorten_waits(state["ItemProcessor"])


def state_machine_of(execution_arn):
    """arn:aws:states:<region>:<account>:execution:<machine>:<name> -> the state machine's ARN."""
    return execution_arn.replace(":execution:", ":stateMachine:", 1).rsplit(":", 1)[0]


def epoch_ms(value):
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else value
