"""Glue 4.0 validation job for one file that landed under the pipeline's incoming prefix.

The job profiles the file, checks the profile against the configured rules and
records the verdict three ways:

* a JSON report in the source bucket (``<report_prefix><key relative to the incoming prefix>.json``),
* an SNS message that the migration workflow reacts to,
* a custom EventBridge event for the audit trail (best effort, never fatal),
* one data point of the CloudWatch metric ``MigrationPipeline/FilesValidated`` with the
  dimensions ``Pipeline`` and ``Outcome`` (best effort, never fatal).

Only ``start_glue_job()`` imports awsglue, which exists only in Glue; the tests
replace it with a local Spark session and run ``main()`` as it is. The rules
and the AWS side-effects need no Spark at all.

The tests check the Spark profiler against a pure-Python reference profiler
(test/python/reference_profiler.py) on generated files: both give the same
profile, or both refuse the file with the same finding. Two files are refused
on principle rather than read as Spark would read them: a CSV or JSON file that
is not valid UTF-8 (Spark would replace each bad byte with U+FFFD and pass it),
and a unique key holding a map (Spark cannot compare maps).
"""

import json
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Optional

LOGGER = logging.getLogger("validate")

PASSED = "PASSED"
FAILED = "FAILED"

EVENT_SOURCE = "migration.pipeline"
EVENT_DETAIL_TYPE = "Validation Result"

# The library's metric*() methods, alarms and dashboard read this metric; the job role may publish to this
# namespace only (condition cloudwatch:namespace).
METRIC_NAMESPACE = "MigrationPipeline"
METRIC_NAME = "FilesValidated"

REQUIRED_ARGUMENTS = [
    "JOB_NAME",
    "source_bucket",
    "source_key",
    "source_version",
    "validation_topic_arn",
    "report_prefix",
]

# getResolvedOptions cannot express optional arguments, so these are read from
# sys.argv by read_optional_arguments(). An absent or empty value means the default.
OPTIONAL_DEFAULTS = {
    "expected_columns": "",
    "required_columns": "",
    "unique_key_columns": "",
    "min_rows": "",
    "audit_event_bus": "default",
    "pipeline_name": "migration-pipeline",
    "incoming_prefix": "incoming/",
}

FORMATS_BY_EXTENSION = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
}

# Values that mean "no version" when the bucket is not versioned.
NO_VERSION_VALUES = {"", "null", "none"}


class ValidationStop(Exception):
    """A problem with the file itself; its message is used as the finding as is."""


@dataclass(frozen=True)
class Rules:
    expected_columns: tuple = ()
    required_columns: tuple = ()
    unique_key_columns: tuple = ()
    min_rows: Optional[int] = None

    def as_dict(self) -> dict:
        return {
            "expectedColumns": list(self.expected_columns),
            "requiredColumns": list(self.required_columns),
            "uniqueKeyColumns": list(self.unique_key_columns),
            "minRows": self.min_rows,
        }


@dataclass(frozen=True)
class Source:
    bucket: str
    key: str
    version_id: Optional[str] = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Result:
    outcome: str
    findings: tuple
    row_count: Optional[int]


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


def read_optional_arguments(argv: list, defaults: dict = OPTIONAL_DEFAULTS) -> dict:
    """Read ``--name value`` or ``--name=value`` pairs for the names in ``defaults``."""
    values = dict(defaults)
    for index, token in enumerate(argv):
        if not token.startswith("--"):
            continue
        name, has_inline_value, inline_value = token[2:].partition("=")
        if name not in defaults:
            continue
        if has_inline_value:
            value = inline_value
        elif index + 1 < len(argv) and not argv[index + 1].startswith("--"):
            value = argv[index + 1]
        else:
            value = ""
        values[name] = value.strip() or defaults[name]
    return values


def parse_column_list(value: Optional[str]) -> tuple:
    """'id, name,,email' -> ('id', 'name', 'email'); an empty value turns the rule off."""
    if not value:
        return ()
    return tuple(column.strip() for column in value.split(",") if column.strip())


def parse_min_rows(value: Optional[str]) -> Optional[int]:
    if value is None or not value.strip():
        return None
    try:
        min_rows = int(value.strip())
    except ValueError:
        raise ValueError(f"--min_rows must be a whole number, got {value!r}") from None
    if min_rows < 0:
        raise ValueError(f"--min_rows must not be negative, got {min_rows}")
    return min_rows


def rules_from_arguments(values: dict) -> Rules:
    return Rules(
        expected_columns=parse_column_list(values.get("expected_columns")),
        required_columns=parse_column_list(values.get("required_columns")),
        unique_key_columns=parse_column_list(values.get("unique_key_columns")),
        min_rows=parse_min_rows(values.get("min_rows")),
    )


def normalize_version_id(value: Optional[str]) -> Optional[str]:
    if value is None or value.strip().lower() in NO_VERSION_VALUES:
        return None
    return value.strip()


def region_from_arn(arn: str) -> Optional[str]:
    """arn:partition:service:REGION:account:resource -> REGION (None if absent)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else None


# --------------------------------------------------------------------------
# File formats and the findings of a file no profile can be made of
# --------------------------------------------------------------------------


def file_format_of(key: str) -> Optional[str]:
    """'csv', 'json' or 'parquet' from the key's extension (any case); None if unsupported."""
    lowered = key.lower()
    for extension, file_format in FORMATS_BY_EXTENSION.items():
        if lowered.endswith(extension):
            return file_format
    return None


def unsupported_format_finding(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    extension = name[name.rfind("."):] if "." in name else "(no extension)"
    supported = ", ".join(FORMATS_BY_EXTENSION)
    return f"Unsupported file type {extension} for {key}: expected one of {supported}"


def json_layout(head: bytes) -> str:
    """'array' when the JSON document is one top-level array, otherwise 'lines' (JSON Lines)."""
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    return "array" if text.startswith("[") else "lines"


def not_utf8_finding(source: "Source") -> str:
    return (
        f"{source.uri} is not valid UTF-8: CSV and JSON files are read as UTF-8 (a byte-order mark is allowed); "
        "convert it (for example with iconv) and upload it again"
    )


def uncomparable_key_finding(column: str) -> str:
    return (
        f"Unique key column {column} holds a map, which Spark cannot compare, so duplicates cannot be counted; "
        "choose key columns without maps"
    )


# --------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def check_expected_columns(profile: dict, expected_columns) -> list:
    missing = [column for column in expected_columns if column not in profile["columns"]]
    if not missing:
        return []
    return [f"Missing expected columns: {', '.join(missing)}"]


def check_required_columns(profile: dict, required_columns) -> list:
    findings = []
    for column in required_columns:
        if column not in profile["columns"]:
            findings.append(f"Required column {column} is missing")
            continue
        blanks = profile["nullCounts"].get(column, 0)
        if blanks:
            findings.append(f"Required column {column} has {_plural(blanks, 'null or empty value')}")
    return findings


def check_unique_key(profile: dict, unique_key_columns) -> list:
    if not unique_key_columns:
        return []
    missing = [column for column in unique_key_columns if column not in profile["columns"]]
    if missing:
        return [f"Unique key columns missing: {', '.join(missing)}"]
    duplicates = profile["duplicateCount"] or 0
    if duplicates:
        key = ", ".join(unique_key_columns)
        return [f"Unique key ({key}) has {_plural(duplicates, 'duplicate row')}"]
    return []


def check_min_rows(profile: dict, min_rows: Optional[int]) -> list:
    if min_rows is None or profile["rowCount"] >= min_rows:
        return []
    return [f"File has {_plural(profile['rowCount'], 'row')}; at least {min_rows} required"]


def evaluate(profile: dict, rules: Rules) -> Result:
    findings = (
        check_expected_columns(profile, rules.expected_columns)
        + check_required_columns(profile, rules.required_columns)
        + check_unique_key(profile, rules.unique_key_columns)
        + check_min_rows(profile, rules.min_rows)
    )
    outcome = FAILED if findings else PASSED
    return Result(outcome=outcome, findings=tuple(findings), row_count=profile["rowCount"])


def failed_result(finding: str) -> Result:
    # The file was never profiled, so there is no row count to report.
    return Result(outcome=FAILED, findings=(finding,), row_count=None)


# A profiler reads the source and returns its profile; main() passes a Spark one.
Profiler = Callable[[Source, str, Rules], dict]


def validate_source(source: Source, rules: Rules, profiler: Profiler) -> tuple:
    """(profile, result) for the source. A file that cannot be read is a FAILED result, not an error."""
    file_format = file_format_of(source.key)
    if file_format is None:
        return None, failed_result(unsupported_format_finding(source.key))
    try:
        profile = profiler(source, file_format, rules)
    except ValidationStop as stop:
        return None, failed_result(str(stop))
    except Exception as error:  # noqa: BLE001 - any read error is reported as the finding
        LOGGER.exception("Could not read %s", source.uri)
        return None, failed_result(f"Could not read {source.uri} as {file_format}: {error_summary(error)}")
    return profile, evaluate(profile, rules)


MAX_ERROR_SUMMARY = 1000


def error_summary(error: Exception) -> str:
    """The error's messages on one line, at most MAX_ERROR_SUMMARY characters, for the report and the SNS message.

    A Spark read error is a Py4J error whose text is the JVM's whole stack trace (tens of kilobytes, with task and
    host details); its summary is the chain of Java causes instead, class and message each, without Spark's
    "Job aborted due to stage failure" wrapper. The log keeps the full trace.
    """
    java_exception = getattr(error, "java_exception", None)
    if java_exception is not None:
        causes = []
        while java_exception is not None:
            message = java_exception.getMessage() or ""
            if not message.startswith("Job aborted due to stage failure"):
                causes.append(f"{java_exception.getClass().getSimpleName()}: {message}")
            java_exception = java_exception.getCause()
        text = "; ".join(causes)
    else:
        text = str(error)
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_SUMMARY else text[: MAX_ERROR_SUMMARY - 3] + "..."


# --------------------------------------------------------------------------
# S3 helpers
# --------------------------------------------------------------------------


def report_key_for(source_key: str, incoming_prefix: str, report_prefix: str) -> str:
    """<report_prefix><key relative to the incoming prefix>.json; keys are used verbatim (no URL encoding)."""
    relative_key = source_key
    if incoming_prefix and source_key.startswith(incoming_prefix):
        relative_key = source_key[len(incoming_prefix):]
    if report_prefix and not report_prefix.endswith("/"):
        report_prefix += "/"
    return f"{report_prefix}{relative_key}.json"


def spark_path(source: Source) -> str:
    """s3:// path for Spark; Hadoop treats * ? [ ] { } and \\ in a path as a glob, so escape them."""
    escaped = "".join("\\" + char if char in "\\*?[]{}" else char for char in source.key)
    return f"s3://{source.bucket}/{escaped}"


# Spark 3.3 reads a multi-line CSV or JSON file through Hadoop's FileInputFormat with the file's own path, which
# takes [ ] { } in it for a pattern even though spark_path() escaped them, and the read fails ("matches 0 files").
MULTI_LINE_PATTERN_CHARACTERS = "[]{}"


def refuse_multi_line_pattern_key(source: Source, file_format: str) -> None:
    """Stop with a finding that says why, instead of Spark's error, for a multi-line file Spark cannot open."""
    if any(char in source.key for char in MULTI_LINE_PATTERN_CHARACTERS):
        raise ValidationStop(
            f"{source.uri} cannot be read as multi-line {file_format}: Spark takes [ ] {{ }} in its key for a "
            "pattern; upload it under a key without them"
        )


def check_source_version(s3, source: Source) -> Optional[str]:
    """Spark always reads the current object; say so if it is no longer the version from the event.

    The version is the object's VersionId, or its ETag when the event came from an unversioned bucket.
    """
    if source.version_id is None:
        return None
    current = s3.head_object(Bucket=source.bucket, Key=source.key)
    current_version = current.get("VersionId")
    if source.version_id in (current_version, current.get("ETag", "").strip('"')):
        return None
    return (
        f"{source.uri} changed after version {source.version_id} arrived "
        f"(current version is {current_version}); the newer version is validated by its own run"
    )


def read_object_head(s3, source: Source, size: int = 4096) -> bytes:
    """The first bytes of the object; an empty object has none (S3 refuses a range on it)."""
    try:
        response = s3.get_object(Bucket=source.bucket, Key=source.key, Range=f"bytes=0-{size - 1}")
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InvalidRange":
            return b""
        raise
    return response["Body"].read()


# --------------------------------------------------------------------------
# Report, message, event
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    topic_arn: str
    report_prefix: str
    incoming_prefix: str = "incoming/"
    event_bus: str = "default"
    pipeline_name: str = "migration-pipeline"


def build_report(source, rules, profile, result, report_key, job_run_id, checked_at) -> dict:
    return {
        "outcome": result.outcome,
        "findings": list(result.findings),
        "rowCount": result.row_count,
        "profile": profile,
        "source": {"bucket": source.bucket, "key": source.key, "versionId": source.version_id},
        "reportKey": report_key,
        "jobRunId": job_run_id,
        "rules": rules.as_dict(),
        "checkedAt": checked_at,
    }


def build_message(source, result, report_key, job_run_id) -> dict:
    return {
        "outcome": result.outcome,
        "bucket": source.bucket,
        "key": source.key,
        "versionId": source.version_id,
        "reportKey": report_key,
        "rowCount": result.row_count,
        "findings": list(result.findings),
        "jobRunId": job_run_id,
    }


def write_report(s3, bucket: str, report_key: str, report: dict) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=report_key,
        Body=json.dumps(report, indent=2).encode("utf-8"),
        ContentType="application/json",
    )


def publish_result(sns, topic_arn: str, message: dict) -> str:
    """Publish the verdict; the attributes let subscribers filter without parsing the body."""
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=f"Validation {message['outcome']}",
        Message=json.dumps(message),
        MessageAttributes={
            "outcome": {"DataType": "String", "StringValue": message["outcome"]},
            "objectKey": {"DataType": "String", "StringValue": message["key"]},
            "bucket": {"DataType": "String", "StringValue": message["bucket"]},
        },
    )
    return response["MessageId"]


def emit_audit_event(events, event_bus: str, detail: dict) -> bool:
    """Best effort: the audit trail must never turn a finished validation into a failed job."""
    try:
        response = events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": EVENT_DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "EventBusName": event_bus,
                }
            ]
        )
    except Exception as error:  # noqa: BLE001 - logged and ignored on purpose
        LOGGER.warning("Could not emit the audit event to bus %s: %s", event_bus, error)
        return False
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        LOGGER.warning(
            "EventBridge rejected the audit event on bus %s: %s %s",
            event_bus,
            entry.get("ErrorCode"),
            entry.get("ErrorMessage"),
        )
        return False
    return True


def publish_metric(cloudwatch, pipeline_name: str, outcome: str) -> bool:
    """Best effort, like the audit event: a lost data point must never fail a finished validation."""
    try:
        cloudwatch.put_metric_data(
            Namespace=METRIC_NAMESPACE,
            MetricData=[
                {
                    "MetricName": METRIC_NAME,
                    "Dimensions": [
                        {"Name": "Pipeline", "Value": pipeline_name},
                        {"Name": "Outcome", "Value": outcome},
                    ],
                    "Value": 1,
                    "Unit": "Count",
                }
            ],
        )
    except Exception as error:  # noqa: BLE001 - logged and ignored on purpose
        LOGGER.warning("Could not publish the %s metric: %s", METRIC_NAME, error)
        return False
    return True


def record_result(s3, sns, events, settings: Settings, source, rules, profile, result, job_run_id, now=None,
                  cloudwatch=None) -> str:
    """Write the report, publish the verdict, emit the audit event and count the file; returns the report key."""
    checked_at = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    report_key = report_key_for(source.key, settings.incoming_prefix, settings.report_prefix)
    report = build_report(source, rules, profile, result, report_key, job_run_id, checked_at)
    write_report(s3, source.bucket, report_key, report)
    message = build_message(source, result, report_key, job_run_id)
    publish_result(sns, settings.topic_arn, message)
    emit_audit_event(events, settings.event_bus, {"pipeline": settings.pipeline_name, **message})
    if cloudwatch is not None:
        publish_metric(cloudwatch, settings.pipeline_name, result.outcome)
    LOGGER.info("Validation of %s: %s %s (report %s)", source.uri, result.outcome, list(result.findings), report_key)
    return report_key


# --------------------------------------------------------------------------
# Spark (only used inside Glue)
# --------------------------------------------------------------------------


def _spark_column(name: str):
    from pyspark.sql import functions as F

    # Backticks keep names with dots or spaces from being parsed as nested fields.
    return F.col("`" + name.replace("`", "``") + "`")


def require_utf8(spark, source: Source) -> None:
    """Stop with a finding if the text file is not valid UTF-8.

    Spark's CSV and JSON readers replace each byte that is not UTF-8 with U+FFFD and go on: a Latin-1 file passed,
    its accented letters lost. Spark's text reader keeps each line's bytes as they are; a line whose bytes change
    when decoded and encoded again held bytes that are not UTF-8 (a U+FFFD written as UTF-8 round-trips unchanged).
    """
    from pyspark.sql import functions as F

    raw = spark.read.text(spark_path(source)).select(F.col("value").cast("binary").alias("raw"))
    invalid = raw.where(F.encode(F.decode(F.col("raw"), "UTF-8"), "UTF-8") != F.col("raw"))
    if invalid.limit(1).count():
        raise ValidationStop(not_utf8_finding(source))


def _holds_map(data_type) -> bool:
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(data_type, MapType):
        return True
    if isinstance(data_type, ArrayType):
        return _holds_map(data_type.elementType)
    if isinstance(data_type, StructType):
        return any(_holds_map(field.dataType) for field in data_type.fields)
    return False


def read_dataframe(spark, s3, source: Source, file_format: str):
    path = spark_path(source)
    if file_format == "csv":
        refuse_multi_line_pattern_key(source, file_format)
        require_utf8(spark, source)
        # With column pruning (Spark's default), the CSV parser reads only the columns a query uses and FAILFAST
        # misses a record with too many or too few fields unless the rules use every column: a ragged file passed.
        spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
        # multiLine allows quoted line breaks; escape='"' reads RFC 4180 doubled quotes.
        return (
            spark.read.option("header", "true")
            .option("mode", "FAILFAST")
            .option("multiLine", "true")
            .option("escape", '"')
            .csv(path)
        )
    if file_format == "json":
        # A top-level array needs multiLine; JSON Lines must not use it (it would stop after one record).
        multi_line = json_layout(read_object_head(s3, source)) == "array"
        if multi_line:
            refuse_multi_line_pattern_key(source, file_format)
        require_utf8(spark, source)
        return spark.read.option("mode", "FAILFAST").option("multiLine", str(multi_line).lower()).json(path)
    return spark.read.parquet(path)


def profile_dataframe(df, file_format: str, rules: Rules) -> dict:
    """Profile with aggregates only; the data never leaves the executors."""
    from pyspark.sql import functions as F

    columns = list(df.columns)
    counts_duplicates = bool(rules.unique_key_columns) and all(column in columns for column in rules.unique_key_columns)
    if counts_duplicates:
        for column in rules.unique_key_columns:
            if _holds_map(df.schema[column].dataType):
                # distinct() would fail with an AnalysisException ("Cannot have map type columns ...").
                raise ValidationStop(uncomparable_key_finding(column))
    present_required = [column for column in rules.required_columns if column in columns]
    aggregates = [F.count(F.lit(1)).alias("row_count")]
    for index, column in enumerate(present_required):
        value = _spark_column(column)
        blank = value.isNull() | (F.trim(value.cast("string")) == "")
        aggregates.append(F.sum(F.when(blank, 1).otherwise(0)).alias(f"blank_{index}"))
    totals = df.agg(*aggregates).first()
    row_count = int(totals["row_count"])
    duplicate_count = None
    if counts_duplicates:
        keys = [_spark_column(column) for column in rules.unique_key_columns]
        duplicate_count = row_count - df.select(*keys).distinct().count()
    return {
        "format": file_format,
        "rowCount": row_count,
        "columns": columns,
        "nullCounts": {column: int(totals[f"blank_{index}"] or 0) for index, column in enumerate(present_required)},
        "duplicateCount": duplicate_count,
    }


def start_glue_job(argv: list) -> tuple:
    """(resolved arguments, Spark session, job) from Glue's runtime.

    The one place that imports awsglue (it exists only inside Glue); tests replace this function with one that
    returns a local Spark session, and main() runs unchanged.
    """
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(argv, REQUIRED_ARGUMENTS)
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    return args, glue_context.spark_session, job


def main(argv=None) -> None:
    import boto3

    logging.basicConfig(level=logging.INFO)
    argv = sys.argv if argv is None else argv
    args, spark, job = start_glue_job(argv)
    options = read_optional_arguments(argv[1:])
    rules = rules_from_arguments(options)
    settings = Settings(
        topic_arn=args["validation_topic_arn"],
        report_prefix=args["report_prefix"],
        incoming_prefix=options["incoming_prefix"],
        event_bus=options["audit_event_bus"],
        pipeline_name=options["pipeline_name"],
    )
    source = Source(args["source_bucket"], args["source_key"], normalize_version_id(args["source_version"]))

    # The topic ARN names the pipeline's region, so the clients need no region setting of their own.
    region = region_from_arn(settings.topic_arn)
    s3 = boto3.client("s3", region_name=region)
    sns = boto3.client("sns", region_name=region)
    events = boto3.client("events", region_name=region)
    cloudwatch = boto3.client("cloudwatch", region_name=region)

    def spark_profiler(source_to_read, file_format, rules_to_check):
        changed = check_source_version(s3, source_to_read)
        if changed:
            raise ValidationStop(changed)
        df = read_dataframe(spark, s3, source_to_read, file_format)
        return profile_dataframe(df, file_format, rules_to_check)

    profile, result = validate_source(source, rules, spark_profiler)
    # JOB_RUN_ID is a reserved argument that Glue always passes and getResolvedOptions always returns.
    record_result(s3, sns, events, settings, source, rules, profile, result, args.get("JOB_RUN_ID") or "", cloudwatch=cloudwatch)
    job.commit()


if __name__ == "__main__":
    main()
