"""One Glue job run of the rehearsal: the job's deployed script, its main() as Glue calls it, in a local Spark.

Glue starts the script with the job's default arguments overlaid by the run's own, each as `--name value`, plus
the reserved JOB_ID, JOB_RUN_ID and JOB_NAME (Glue Developer Guide, "Calling Glue APIs in Python" and "Job
parameters used by Glue"). The script's one contact with awsglue, start_glue_job(), is replaced by the local
session of the test set-up (test/python/local_glue.py); the rest of main() runs as deployed.
"""

import uuid
from contextlib import nullcontext

import boto3

from assembly import REGION
from hops import import_file

import local_glue


def glue_argv(script_name, job_name, run_id, arguments):
    argv = [script_name, "--JOB_ID", "j_rehearsal", "--JOB_RUN_ID", run_id, "--JOB_NAME", job_name]
    for name, value in arguments.items():
        argv += [name, value]
    return argv


def mirror_buckets_for_spark(spark, s3):
    """Spark reads s3:// paths from local copies: give it the current version of every object there is."""
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for item in page.get("Contents", []):
                spark.copy_to_spark(s3, bucket["Name"], item["Key"])


def run_glue_script(script_path, job_name, run_id, arguments, spark, s3=None, acting=nullcontext):
    """Runs the script's main() inside `acting()` (the rehearsal records the job's calls there); returns the run's
    end state as Glue would report it."""
    s3 = s3 or boto3.client("s3", region_name=REGION)
    mirror_buckets_for_spark(spark, s3)
    script = import_file(f"rehearsal_glue_script_{uuid.uuid4().hex[:8]}", script_path)
    job = local_glue.LocalGlueJob()

    def start_local_job(argv):
        args = local_glue.resolve_arguments(argv, script.REQUIRED_ARGUMENTS)
        job.init(args["JOB_NAME"], args)
        return args, spark.session, job

    script.start_glue_job = start_local_job
    try:
        with acting():
            script.main(glue_argv(script_path.name, job_name, run_id, arguments))
    except (Exception, SystemExit) as error:  # argparse's usage error is a SystemExit, as in Glue
        return {"state": "FAILED", "message": f"{type(error).__name__}: {error}"}
    return {"state": "SUCCEEDED", "committed": job.committed}
