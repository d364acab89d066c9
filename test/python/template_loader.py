"""Reads the synthesized templates in cdk.out and turns the parts the Python tests need into plain values.

Only a handful of CloudFormation intrinsics are understood (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split,
Fn::Sub and the AWS:: pseudo parameters). Anything else raises UnknownIntrinsic, so a template change that
introduces a new construct makes the tests fail loudly instead of comparing against an unresolved object.

Values for parameters and resources are supplied by the caller as a dict of *fragments*: a fragment is a piece
of a CDK-generated name (for example "DmsReplicationTask"), and exactly one fragment must occur in the name
being resolved. The names looked up are
  - the parameter name, for a Ref to a template parameter (nested stacks get their inputs this way);
  - the logical ID, for a Ref to a resource of the same template;
  - "<logical ID>.<attribute>", for Fn::GetAtt (a nested stack output is "<stack ID>.Outputs.<output name>").
No match, or more than one, raises, so a renamed construct cannot be resolved to the wrong fake value.
"""

import json
import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOT_STACK = "TapStack"

PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-west-2",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


class UnknownIntrinsic(Exception):
    """The template uses an intrinsic (or refers to a name) this loader was not told about."""


def cdk_out_dir():
    return Path(os.environ.get("CDK_OUT") or REPO_ROOT / "cdk.out")


def template_path(stack):
    """The template file of the root stack ("TapStack") or of a nested stack by its id, e.g. "MonitoringStack"."""
    out = cdk_out_dir()
    if stack == ROOT_STACK:
        path = out / f"{ROOT_STACK}.template.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; run `npx cdk synth --quiet` first")
        return path
    # Nested templates are named TapStackMigrationPipeline<Stack id><8 hex digits of hash>.nested.template.json.
    pattern = re.compile(rf"^{ROOT_STACK}MigrationPipeline{re.escape(stack)}[0-9A-F]{{8}}\.nested\.template\.json$")
    matches = sorted(p for p in out.glob("*.nested.template.json") if pattern.match(p.name))
    if len(matches) != 1:
        raise FileNotFoundError(
            f"expected exactly one nested template for {stack} in {out}, found {[m.name for m in matches]}")
    return matches[0]


def nested_stack_names():
    """The ids of every nested stack in cdk.out (e.g. ["DMSStack", "DataSyncStack", ...])."""
    pattern = re.compile(rf"^{ROOT_STACK}MigrationPipeline(\w+Stack)[0-9A-F]{{8}}\.nested\.template\.json$")
    names = []
    for path in sorted(cdk_out_dir().glob("*.nested.template.json")):
        match = pattern.match(path.name)
        if not match:
            raise FileNotFoundError(f"unexpected nested template name {path.name}")
        names.append(match.group(1))
    return names


def load_template(stack):
    return json.loads(template_path(stack).read_text())


def resources_of_type(template, resource_type):
    """{logical ID: resource} of every resource of that type."""
    return {lid: res for lid, res in template.get("Resources", {}).items() if res["Type"] == resource_type}


def the_resource(template, resource_type, containing=""):
    """The one resource of that type (whose logical ID contains `containing`); raises when there is none or several."""
    found = {lid: res for lid, res in resources_of_type(template, resource_type).items() if containing in lid}
    if len(found) != 1:
        raise AssertionError(f"expected exactly one {resource_type}, found {sorted(found)}")
    return next(iter(found.values()))


class Resolver:
    """Resolves intrinsics of one template, with caller-supplied values for its parameters and resources."""

    def __init__(self, template, values):
        self.parameters = set(template.get("Parameters", {}))
        self.resources = template.get("Resources", {})
        self.values = dict(values)

    def resolve(self, node):
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self._ref(arg)
            if key.startswith("Fn::") or key == "Condition":
                handler = self._INTRINSICS.get(key)
                if handler is None:
                    raise UnknownIntrinsic(f"{key} is not supported by template_loader: {json.dumps(node)[:200]}")
                return handler(self, arg)
        return {key: self.resolve(value) for key, value in node.items()}

    def _lookup(self, name):
        hits = [fragment for fragment in self.values if fragment in name]
        if len(hits) != 1:
            raise UnknownIntrinsic(
                f"{name!r} matches {len(hits)} of the supplied fragments {sorted(self.values)} (need exactly 1)")
        return self.values[hits[0]]

    def _ref(self, name):
        if not isinstance(name, str):
            raise UnknownIntrinsic(f"Ref of a non-string: {name!r}")
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name.startswith("AWS::"):
            raise UnknownIntrinsic(f"pseudo parameter {name} is not supported")
        if name in self.parameters or name in self.resources:
            return self._lookup(name)
        raise UnknownIntrinsic(f"Ref to {name!r}, which is neither a parameter nor a resource of the template")

    def _get_att(self, arg):
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        logical_id, attribute = arg
        attribute = self.resolve(attribute)
        if logical_id not in self.resources:
            raise UnknownIntrinsic(f"Fn::GetAtt of {logical_id!r}, which is not a resource of the template")
        return self._lookup(f"{logical_id}.{attribute}")

    def _join(self, arg):
        delimiter, items = arg
        parts = self.resolve(items)
        if not all(isinstance(part, str) for part in parts):
            raise UnknownIntrinsic(f"Fn::Join of non-strings: {parts!r}")
        return delimiter.join(parts)

    def _select(self, arg):
        index, items = self.resolve(arg)
        return items[int(index)]

    def _split(self, arg):
        delimiter, source = arg
        return self.resolve(source).split(delimiter)

    def _sub(self, arg):
        if isinstance(arg, str):
            text, variables = arg, {}
        else:
            text, variables = arg[0], self.resolve(arg[1])

        def replace(match):
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stands for the text ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return variables[name]
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self._get_att(name.split(".", 1))
            return self._ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    _INTRINSICS = {
        "Fn::GetAtt": _get_att,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::Sub": _sub,
    }
