"""Runs the Glue script's main() in a local Spark session instead of Glue.

validate.start_glue_job() is the script's only contact with awsglue (which exists only inside Glue);
run_glue_main() replaces it for one call of main() with a function that resolves the arguments, hands over the
local session and records the job's init and commit. Everything else in main() runs as it does in Glue.

Spark reads s3://<bucket>/<key> from a local copy of the object (copy_to_spark): Hadoop's
ViewFileSystemOverloadScheme serves the s3 scheme and mounts each bucket on a local folder, so the script's
reading code, its s3:// paths and their glob escaping are used unchanged. The script's boto3 calls (version
check, JSON head, report, SNS, EventBridge) still go to moto. Spark cannot reach moto's S3 itself: that needs
hadoop-aws and the AWS SDK bundle (about 220 MB more from Maven Central) and a moto server.
"""

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

import validate

# Two cores and small inputs: two shuffle partitions instead of Spark's 200 keep each aggregate cheap.
SPARK_SETTINGS = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    # The test JVM runs small jobs for a few minutes: with the quick JIT compiler only (no optimizing compiler) and
    # the serial garbage collector it uses about a third less CPU for the same tests, in the same wall time.
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # s3://bucket/key -> <copies>/bucket/key (see copy_to_spark).
    "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme",
    "spark.hadoop.fs.viewfs.overload.scheme.target.file.impl": "org.apache.hadoop.fs.LocalFileSystem",
    # A new file system per read, so a bucket mounted after the first read is seen.
    "spark.hadoop.fs.s3.impl.disable.cache": "true",
}


JVM_EXIT_TIMEOUT_SECONDS = 60


@dataclass
class LocalSpark:
    """A local Spark session whose s3:// paths read local copies under `copies`."""

    session: object
    copies: Path

    @classmethod
    def start(cls, copies: Path) -> "LocalSpark":
        from pyspark.sql import SparkSession  # a missing pyspark or Java fails the tests that use Spark

        builder = SparkSession.builder.master("local[2]").appName("validate-tests")
        for name, value in SPARK_SETTINGS.items():
            builder = builder.config(name, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return cls(session, copies)

    def stop(self) -> None:
        """Stops the session and ends its JVM, waiting for it: a JVM left to end with this process is never waited
        for, so its CPU time would be missing from what the test command's steps report."""
        from pyspark import SparkContext

        self.session.stop()
        gateway = SparkContext._gateway
        if gateway is None:
            return
        gateway.shutdown()
        gateway.proc.stdin.close()  # the JVM ends when the pipe from this process closes
        gateway.proc.wait(timeout=JVM_EXIT_TIMEOUT_SECONDS)
        SparkContext._gateway = None
        SparkContext._jvm = None

    def local_path(self, bucket: str, key: str) -> Path:
        return self.copies / bucket / key

    def mount_bucket(self, bucket: str) -> None:
        folder = self.copies / bucket
        folder.mkdir(parents=True, exist_ok=True)
        hadoop = self.session.sparkContext._jsc.hadoopConfiguration()
        hadoop.set(f"fs.viewfs.mounttable.{bucket}.linkFallback", folder.resolve().as_uri())

    def copy_to_spark(self, s3, bucket: str, key: str) -> Path:
        """Copy the object's current version from (moto's) S3 to where Spark reads s3://bucket/key."""
        self.mount_bucket(bucket)
        path = self.local_path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return path

    def write_for_spark(self, bucket: str, key: str, data: bytes) -> Path:
        """Put bytes where Spark reads s3://bucket/key, without S3 (for the profilers alone)."""
        self.mount_bucket(bucket)
        path = self.local_path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@dataclass
class LocalGlueJob:
    """Stands in for awsglue.job.Job: records what main() asked of it."""

    name: str = ""
    arguments: dict = field(default_factory=dict)
    committed: bool = False

    def init(self, name: str, arguments: dict) -> None:
        self.name = name
        self.arguments = arguments

    def commit(self) -> None:
        self.committed = True


def resolve_arguments(argv: list, names: list) -> dict:
    """`--name value` for each name, as awsglue.utils.getResolvedOptions returns them (plus Glue's JOB_RUN_ID).

    A missing name stops with argparse's usage error, as in Glue.
    """
    parser = argparse.ArgumentParser(prog=os.path.basename(argv[0]) if argv else "validate.py")
    for name in names:
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--JOB_RUN_ID")
    known, _ = parser.parse_known_args(argv[1:])
    return {name: value for name, value in vars(known).items() if value is not None}


def run_glue_main(monkeypatch, spark: LocalSpark, argv: list) -> LocalGlueJob:
    """Run validate.main(argv) with the local session in place of Glue's; returns the recorded job."""
    job = LocalGlueJob()

    def start_local_job(job_argv):
        args = resolve_arguments(job_argv, validate.REQUIRED_ARGUMENTS)
        job.init(args["JOB_NAME"], args)
        return args, spark.session, job

    with monkeypatch.context() as patch:
        patch.setattr(validate, "start_glue_job", start_local_job)
        validate.main(argv)
    return job
