"""Rehearse a migration locally: one file through every stage of a synthesized pipeline, in moto and local Spark.

    .venv/bin/python tools/rehearsal/rehearse.py [--cdk-out cdk.out] [--stack TapStack]
        [--key incoming/rehearsal/<file name>] [--dms validated|table-error|source-not-ready]
        [--cutover [completed|aborted-by-exception|aborted-by-latency]] [FILE]

Reads the cloud assembly in --cdk-out (run `npx cdk synth` first), brings the stack's pipeline up in moto, puts
FILE under the key, and prints each hop with what went in and what came out, then the verdict. With --cutover, a
migration run that succeeded is followed by a cutover (tools/rehearsal/cutover.py) against two local MariaDB
servers, and its report is printed; FILE defaults to the orders the full load copied.
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
from cutover import SCENARIOS as CUTOVER_SCENARIOS  # noqa: E402
from cutover import ORDERS_CSV, CutoverDatabases, cutover_outcome, rehearse_cutover  # noqa: E402
from mariadb_server import running_servers  # noqa: E402
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
    parser.add_argument("file", type=Path, nargs="?", help="the file to upload (default with --cutover: orders.csv)")
    parser.add_argument("--cdk-out", type=Path, default=REPO_ROOT / "cdk.out")
    parser.add_argument("--stack", default="TapStack")
    parser.add_argument("--key", help="object key (default incoming/rehearsal/<file name>)")
    parser.add_argument("--dms", default="validated", choices=["validated", "table-error", "source-not-ready"],
                        help="what DMS reports for the tables once the task runs")
    parser.add_argument("--cutover", nargs="?", const="completed", choices=sorted(CUTOVER_SCENARIOS),
                        help="after the migration run, a cutover in this scenario (default completed)")
    args = parser.parse_args(argv)
    if args.file is None and not args.cutover:
        parser.error("FILE is required without --cutover")
    name, body = (args.file.name, args.file.read_bytes()) if args.file else ("orders.csv", ORDERS_CSV)
    key = args.key or f"incoming/rehearsal/{name}"
    print(f"rehearsing {name} as {key} through stack {args.stack} of {args.cdk_out}")

    with tempfile.TemporaryDirectory(prefix="rehearsal-spark-") as copies, \
            pytest.MonkeyPatch.context() as patcher, \
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        spark = local_glue.LocalSpark.start(Path(copies))
        try:
            pipeline = Pipeline(args.cdk_out, args.stack, spark, args.dms, patcher, on_hop=print_hop)
            result = pipeline.rehearse(key, body)
            report = None
            if args.cutover and result.summary()["migration"] == ["SUCCEEDED"]:
                print(f"cutover ({args.cutover}): the applications stopped writing to the source")
                with running_servers() as servers:
                    execution = rehearse_cutover(pipeline, CutoverDatabases(servers, pipeline), args.cutover)
                report = cutover_report(pipeline, execution)
            elif args.cutover:
                print("cutover not started: the migration run did not succeed")
            summary = result.summary()
        finally:
            spark.stop()
    print(f"verdict: validation {summary['validation']}, migration {summary['migration']}, "
          f"cutover {summary['cutover']}")
    for execution in result.executions:
        # The outcome is the execution's output, or its failure cause (the state machine's Fail states).
        outcome = cutover_outcome(execution)
        print(f"outcome: {outcome.get('reason')}: {outcome.get('message')}")
    print(f"reports: {summary['reports']}")
    if report is not None:
        print(f"cutover report:\n{json.dumps(report, indent=2, sort_keys=True)}")
        for document in (d["document"] for d in result.documents):
            if document["source"] == "migration.pipeline" and document["detail-type"].startswith("Cutover "):
                detail = json.loads(document["detail_json"])
                print(f"cutover event: {document['detail-type']} from {document['source']}, detail "
                      f"{shorten({**detail, 'outcome': '<the report>' if detail.get('outcome') == report else detail.get('outcome')})}")
        for message in (m for messages in result.published.values() for m in messages):
            outcome = message.get("MessageAttributes", {}).get("cutoverOutcome")
            if outcome:
                print(f"cutover notification: subject {message.get('Subject')!r}, attribute cutoverOutcome={outcome['Value']}")
    if summary["errors"]:
        print(f"errors: {shorten(summary['errors'], 2000)}")
    expected_cutover = [] if not args.cutover else ["SUCCEEDED" if args.cutover == "completed" else "FAILED"]
    succeeded = summary["migration"] == ["SUCCEEDED"] and summary["cutover"] == expected_cutover
    return 0 if succeeded and not summary["errors"] else 1


def cutover_report(pipeline, execution):
    """The report the cutover wrote to S3 under its own name."""
    location = cutover_outcome(execution).get("report", {})
    if not location.get("bucket") or location.get("key") in (None, "NOT_WRITTEN"):
        return None
    return json.loads(pipeline.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read())


if __name__ == "__main__":
    sys.exit(main())
