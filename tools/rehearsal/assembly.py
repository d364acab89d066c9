"""A synthesized cloud assembly (cdk.out) read as the rehearsal needs it: the root stack, its nested stacks, and
the values CloudFormation would give each Ref and Fn::GetAtt once deployed.

Nothing about the pipeline's wiring is written here: every bucket name, rule pattern, target, environment
variable, job argument and subscription filter is read from the templates and resolved the way CloudFormation
resolves it, across nested stack parameters and outputs. Physical names follow each resource type's documented
Ref and Fn::GetAtt return values (CloudFormation User Guide, resource type reference); a resource whose name the
template leaves to CloudFormation gets a name made from its logical ID. A value the rehearsal creates in moto
under a name it cannot choose (a DMS task's ARN) is supplied with `Assembly.set_physical`.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ACCOUNT = "123456789012"
REGION = "us-west-2"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}


class WiringError(Exception):
    """The assembly lacks something a hop needs, or uses an intrinsic this reader does not know."""


@dataclass
class Stack:
    """One template of the assembly; `parent` and `resource_id` locate the nested stack resource that makes it."""
    name: str
    template: dict
    parent: "Stack | None" = None
    resource_id: str | None = None
    physical: dict = field(default_factory=dict)

    @property
    def resources(self):
        return self.template.get("Resources", {})


class Assembly:
    def __init__(self, cdk_out, stack_name):
        self.cdk_out = Path(cdk_out)
        manifest = json.loads((self.cdk_out / "manifest.json").read_text())
        artifact = manifest.get("artifacts", {}).get(stack_name)
        if not artifact or artifact.get("type") != "aws:cloudformation:stack":
            stacks = sorted(name for name, a in manifest.get("artifacts", {}).items()
                            if a.get("type") == "aws:cloudformation:stack")
            raise WiringError(f"no stack {stack_name!r} in {self.cdk_out}; its stacks are {stacks}")
        self.root = self._load(stack_name, artifact["properties"]["templateFile"])
        self.stacks = [self.root]
        self._add_nested(self.root)

    def _load(self, name, file_name, parent=None, resource_id=None):
        template = json.loads((self.cdk_out / file_name).read_text())
        return Stack(name, template, parent, resource_id)

    def _add_nested(self, stack):
        for logical_id, resource in stack.resources.items():
            if resource["Type"] != "AWS::CloudFormation::Stack":
                continue
            file_name = resource.get("Metadata", {}).get("aws:asset:path")
            if not file_name:
                raise WiringError(f"nested stack {logical_id} has no aws:asset:path metadata")
            nested = self._load(logical_id, file_name, stack, logical_id)
            self.stacks.append(nested)
            self._add_nested(nested)

    # Finding resources -----------------------------------------------------------------------------------------

    def resources(self, resource_type):
        """[(stack, logical ID, resource)] of every resource of that type in every template."""
        return [(stack, logical_id, resource) for stack in self.stacks
                for logical_id, resource in stack.resources.items() if resource["Type"] == resource_type]

    def one(self, resource_type, where=lambda stack, logical_id, resource: True, what=None):
        found = [hit for hit in self.resources(resource_type) if where(*hit)]
        if len(found) != 1:
            names = [f"{stack.name}/{logical_id}" for stack, logical_id, _ in found]
            raise WiringError(f"expected one {what or resource_type}, found {len(found)}: {names}")
        return found[0]

    def by_physical(self, resource_type, value, attribute="Ref"):
        """The resource of that type whose deployed Ref (or attribute) equals `value`."""
        return self.one(resource_type, lambda s, lid, r: self.attribute(s, lid, attribute) == value,
                        what=f"{resource_type} with {attribute} {value!r}")

    def output(self, name):
        """The deployed value of one of the root stack's outputs (the operator outputs the README refers to)."""
        outputs = self.root.template.get("Outputs", {})
        if name not in outputs:
            raise WiringError(f"the stack has no output {name!r}; its outputs are {sorted(outputs)}")
        return self.resolve(self.root, outputs[name]["Value"])

    # Deployed values -------------------------------------------------------------------------------------------

    def set_physical(self, stack, logical_id, ref=None, **attributes):
        """Pins the deployed values of a resource that the rehearsal created in moto under a name of moto's."""
        stack.physical[logical_id] = {"Ref": ref, **attributes}

    def resolve(self, stack, node):
        if isinstance(node, list):
            return [value for value in (self.resolve(stack, item) for item in node) if value is not None]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, argument), = node.items()
            if key == "Ref":
                return self.ref(stack, argument)
            if key.startswith("Fn::"):
                return self._intrinsic(stack, key, argument)
        return {key: value for key, value in ((k, self.resolve(stack, v)) for k, v in node.items())
                if value is not None}

    def ref(self, stack, name):
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in stack.template.get("Parameters", {}):
            return self._parameter(stack, name)
        if name in stack.resources:
            return self.attribute(stack, name, "Ref")
        raise WiringError(f"{stack.name}: Ref to unknown {name!r}")

    def _parameter(self, stack, name):
        if stack.parent is None:
            default = stack.template["Parameters"][name].get("Default")
            if default is None:
                raise WiringError(f"root parameter {name} has no default")
            return default
        passed = stack.parent.resources[stack.resource_id]["Properties"].get("Parameters", {})
        if name not in passed:
            raise WiringError(f"{stack.name}: parameter {name} is not passed by its parent")
        return self.resolve(stack.parent, passed[name])

    def attribute(self, stack, logical_id, attribute):
        pinned = stack.physical.get(logical_id, {})
        if pinned.get(attribute) is not None:
            return pinned[attribute]
        resource = stack.resources[logical_id]
        if resource["Type"] == "AWS::CloudFormation::Stack" and attribute.startswith("Outputs."):
            nested = next(s for s in self.stacks if s.parent is stack and s.resource_id == logical_id)
            output = attribute.split(".", 1)[1]
            return self.resolve(nested, nested.template["Outputs"][output]["Value"])
        name = self._name(stack, logical_id, resource)
        return physical_value(resource["Type"], name, attribute, logical_id)

    def _name(self, stack, logical_id, resource):
        name_property = NAME_PROPERTIES.get(resource["Type"])
        properties = resource.get("Properties", {})
        if name_property and name_property in properties:
            return self.resolve(stack, properties[name_property])
        # CloudFormation makes up a name from the stack and logical IDs; lower case suits every type's rules.
        return re.sub(r"[^a-z0-9-]", "", f"{stack.name[:20]}-{logical_id}".lower())[:63]

    def _intrinsic(self, stack, key, argument):
        if key == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.attribute(stack, logical_id, self.resolve(stack, attribute))
        if key == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(str(item) for item in self.resolve(stack, items))
        if key == "Fn::Select":
            index, items = self.resolve(stack, argument)
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, source = argument
            return self.resolve(stack, source).split(delimiter)
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0],
                                                                                 self.resolve(stack, argument[1]))
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub_variable(stack, m.group(1), variables), text)
        raise WiringError(f"{stack.name}: {key} is not supported by the rehearsal")

    def _sub_variable(self, stack, name, variables):
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return str(self.attribute(stack, logical_id, attribute))
        return str(self.ref(stack, name))

    # Assets ----------------------------------------------------------------------------------------------------

    def asset_dir(self, object_key):
        """The staged directory of a file asset, from its object key in the assets bucket (`<hash>.zip`)."""
        asset_hash = object_key.split(".", 1)[0]
        path = self.cdk_out / f"asset.{asset_hash}"
        if not path.is_dir():
            raise WiringError(f"asset {object_key} is not staged as a directory in {self.cdk_out}")
        return path


# The property that names a resource, where the template may set it (Ref and Fn::GetAtt build on it).
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Glue::Job": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::IAM::Role": "RoleName",
    "AWS::DMS::ReplicationTask": "ReplicationTaskIdentifier",
}


def physical_value(resource_type, name, attribute, logical_id):
    """Ref and Fn::GetAtt values as the CloudFormation resource type reference documents them."""
    arn = {
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
        "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}",
        "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
        "AWS::KinesisFirehose::DeliveryStream": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
    }.get(resource_type, f"arn:aws:fake:{REGION}:{ACCOUNT}:{logical_id}")
    refs = {
        "AWS::SNS::Topic": arn,  # Ref of a topic is its ARN
        "AWS::SQS::Queue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",  # Ref of a queue is its URL
        "AWS::StepFunctions::StateMachine": arn,
        "AWS::Events::EventBus": name,
    }
    if attribute == "Ref":
        return refs.get(resource_type, name)
    if attribute == "Arn":
        return arn
    if attribute in ("Name", "TopicName", "QueueName", "StateMachineName"):
        return name
    return f"{logical_id}.{attribute}"
