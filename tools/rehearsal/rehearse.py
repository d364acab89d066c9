"""Rehearse a migration locally: one file through every stage of a synthesized pipeline, in moto and local Spark.

    .venv/bin/python tools/rehearsal/rehearse.py [--cdk-out cdk.out] [--stack TapStack]
        [--key incoming/rehearsal/<file name>] [--dms validated|table-error|source-not-ready] FILE

Reads the cloud assembly in --cdk-out (run `npx cdk synth` first), brings the stack's pipeline up in moto, puts
FILE under the key, and prints each hop with what went in and what came out, then the verdict.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(Path(__file__).resolve().parent), str(REPO_ROOT / "test" / "python"), str(REPO_ROOT / "src" / "runtime")]

# Fake credentials before any client exists: the rehearsal can never reach an account.
os.environ.update({"AWS_DEFAULT_REGION": "us-west-2", "AWS_ACCESS_KEY_ID": "rehearsal",
                   "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_SESSION_TOKEN": "rehearsal"})
os.environ.pop("AWS_PROFILE", None)

import pytest  # noqa: E402  (its MonkeyPatch undoes the moto adjustments when the rehearsal ends)
from moto import mock_aws  # noqa: E402

import local_glue  # noqa: E402
from pipeline import Pipeline  # noqa: E402

MAIN_STAGES = ("S3 ", "rule ", "Glue ", "SNS ", "Step Functions ")


def shorten(value, limit=200):
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + " ..."


def print_hop(stage, went_in, came_out):
    if stage.startswith("rule ") and isinstance(came_out, dict) and "documents" in came_out:
        documents = came_out["documents"]
        print(f"  audit  {stage}: {went_in.get('detail-type')} -> "
              f"{len(documents)} document(s), {[d['result'] for d in documents]}")
        return
    print(f"- {stage}\n    in:  {shorten(went_in)}\n    out: {shorten(came_out)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--cdk-out", type=Path, default=REPO_ROOT / "cdk.out")
    parser.add_argument("--stack", default="TapStack")
    parser.add_argument("--key", help="object key (default incoming/rehearsal/<file name>)")
    parser.add_argument("--dms", default="validated", choices=["validated", "table-error", "source-not-ready"],
                        help="what DMS reports for the tables once the task runs")
    args = parser.parse_args(argv)
    key = args.key or f"incoming/rehearsal/{args.file.name}"
    print(f"rehearsing {args.file} as {key} through stack {args.stack} of {args.cdk_out}")

    with tempfile.TemporaryDirectory(prefix="rehearsal-spark-") as copies, \
            pytest.MonkeyPatch.context() as patcher, \
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        spark = local_glue.LocalSpark.start(Path(copies))
        try:
            pipeline = Pipeline(args.cdk_out, args.stack, spark, args.dms, patcher, on_hop=print_hop)
            result = pipeline.rehearse(key, args.file.read_bytes())
            summary = result.summary()
        finally:
            spark.stop()
    print(f"verdict: validation {summary['validation']}, migration {summary['migration']}")
    for execution in result.executions:
        # The outcome is the execution's output, or its failure cause (the state machine's Fail states).
        outcome = json.loads(execution.get("output") or execution.get("cause") or "{}")
        print(f"outcome: {outcome.get('reason')}: {outcome.get('message')}")
    print(f"reports: {summary['reports']}")
    if summary["errors"]:
        print(f"errors: {shorten(summary['errors'], 2000)}")
    return 0 if summary["migration"] == ["SUCCEEDED"] and not summary["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
