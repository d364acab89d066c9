"""The AWS Control Tower proactive controls (the cfn-guard rules shipped in @cdklabs/cdk-validator-cfnguard),
run with the package's own cfn-guard binary over every synthesized template, nested ones included.

A failure is accepted only where the failing resource carries an exemption for that rule, with a reason,
in its template metadata (written by the library next to the resource)."""
import json
import platform
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from template_loader import cdk_out_dir

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
RULES = PACKAGE / "rules" / "control-tower" / "cfn-guard"
EXEMPTIONS = "cdk-migration-pipeline:guard-exemptions"


def guard_binary() -> Path:
    arch = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[platform.machine()]
    return PACKAGE / "bin" / "ubuntu" / arch / "cfn-guard"


def templates() -> list[Path]:
    return sorted(Path(cdk_out_dir()).glob("*.template.json"))


def resource_types(paths: list[Path]) -> set[str]:
    return {resource["Type"] for path in paths for resource in json.loads(path.read_text())["Resources"].values()}


def applicable_rule_files(paths: list[Path]) -> list[Path]:
    """The rule files that can apply: each Control Tower rule file is written for the resource types it names, and
    cfn-guard skips a file whose types the template lacks, so leaving those out changes no result (it saves time).
    A rule file naming no resource type is always kept."""
    present = resource_types(paths)
    kept = []
    for rule_file in sorted(RULES.rglob("*.guard")):
        named = set(re.findall(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+", rule_file.read_text()))
        if not named or named & present:
            kept.append(rule_file)
    return kept


def run_guard_once(paths: list[Path], rule_files: list[Path]) -> list[dict]:
    """One cfn-guard run; its JSON output is a stream of one document per (template, rule file)."""
    args = [str(guard_binary()), "validate", "--output-format", "json", "--show-summary", "none"]
    for rule_file in rule_files:
        args += ["--rules", str(rule_file)]
    for path in paths:
        args += ["--data", str(path)]
    completed = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    # Exit code 19 means "some rule failed"; anything else but 0 is a broken run.
    assert completed.returncode in (0, 19), completed.stderr[-2000:]
    decoder, text, position, documents = json.JSONDecoder(), completed.stdout, 0, []
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
    return documents


def run_guard(paths: list[Path]) -> list[dict]:
    """cfn-guard over every template, in two processes side by side (each template is evaluated on its own)."""
    rule_files = applicable_rule_files(paths)
    halves = [paths[0::2], paths[1::2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [document for documents in pool.map(lambda half: run_guard_once(half, rule_files), halves)
                for document in documents]


def failures(documents: list[dict]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(template file, rule name, logical ids of the failing resources) for every non-compliant result."""
    found = []
    for document in documents:
        for result in document["not_compliant"]:
            ids = tuple(sorted(set(re.findall(r'"/Resources/([^/"\[]+)', json.dumps(result)))))
            found.append((Path(document["name"]).name, result["Rule"]["name"], ids))
    return found


@pytest.fixture(scope="module")
def guard_results():
    paths = templates()
    assert len(paths) == 12, [p.name for p in paths]
    documents = run_guard(paths)
    return paths, documents, failures(documents)


def exemption(template: Path, logical_id: str, rule: str) -> str | None:
    resource = json.loads(template.read_text())["Resources"][logical_id]
    return resource.get("Metadata", {}).get(EXEMPTIONS, {}).get(rule)


def test_the_rule_filter_keeps_every_rule_the_templates_are_exempted_from():
    """Each rule an exemption names (buckets, log groups, keys, ...) must still be evaluated after the filter."""
    paths = templates()
    kept_text = "".join(path.read_text() for path in applicable_rule_files(paths))
    exempted = {rule for path in paths for resource in json.loads(path.read_text())["Resources"].values()
                for rule in resource.get("Metadata", {}).get(EXEMPTIONS, {})}
    assert exempted and all(f"rule {rule}" in kept_text for rule in exempted), exempted
    assert len(applicable_rule_files(paths)) < len(list(RULES.rglob("*.guard")))


def test_every_template_was_evaluated(guard_results):
    paths, documents, _ = guard_results
    evaluated = {Path(d["name"]).name for d in documents}
    assert evaluated == {p.name for p in paths}


def test_every_failure_is_on_a_named_resource_with_an_exemption(guard_results):
    paths, _, found = guard_results
    by_name = {p.name: p for p in paths}
    unexplained = []
    for template, rule, ids in found:
        if not ids:
            unexplained.append((template, rule, "no resource named"))
            continue
        for logical_id in ids:
            reason = exemption(by_name[template], logical_id, rule)
            if not reason or len(reason) < 30:
                unexplained.append((template, rule, logical_id))
    assert unexplained == []


def test_exemptions_are_few_and_counted(guard_results):
    """Exempted (resource, rule) pairs; the README's Security section lists them. A new one is a security decision."""
    _, _, found = guard_results
    pairs = {(template, rule, logical_id) for template, rule, ids in found for logical_id in ids}
    assert len(pairs) == REVIEWED_EXEMPTIONS


def test_no_exemption_is_stale(guard_results):
    """Every exemption in the templates matches a real failure, so none outlives its reason."""
    paths, _, found = guard_results
    failing = {(template, rule, logical_id) for template, rule, ids in found for logical_id in ids}
    stale = []
    for path in paths:
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            for rule in resource.get("Metadata", {}).get(EXEMPTIONS, {}):
                if (path.name, rule, logical_id) not in failing:
                    stale.append((path.name, rule, logical_id))
    assert stale == []


REVIEWED_EXEMPTIONS = 57
