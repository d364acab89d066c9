"""The Glue job's Spark profiler and the pure-Python profiler agree, file by file, on the inputs where Spark's
readers and Python's csv and json modules differ (quoting, BOMs, empty values, header names, ragged records, JSON
layouts, nested values, Parquet, a million rows).

Both run the script's own code on an object in moto's S3: Spark through read_dataframe() and profile_dataframe()
(reading the object's local copy, see local_glue.py), Python through the reference profiler (reference_profiler.py). Each expected profile
and verdict is written out by hand from what the file holds.
"""

import io
from dataclasses import dataclass
from typing import Optional

import boto3
import pytest

import reference_profiler
import validate
from pipeline_helpers import REGION
from validate import FAILED, PASSED, Rules, Source

BUCKET = "landing-bucket"
ID_AND_NAME = Rules(required_columns=("id", "name"), unique_key_columns=("id",))


@dataclass(frozen=True)
class Case:
    name: str
    data: object  # bytes, or a function that makes them (large or binary files)
    rules: Rules
    profile: Optional[dict]  # None: the file cannot be read
    outcome: str
    findings: Optional[tuple] = None  # checked when the file was profiled (a read error's text differs by reader)

    def content(self) -> bytes:
        return self.data() if callable(self.data) else self.data


def profile(file_format, row_count, columns, null_counts=None, duplicate_count=None):
    return {
        "format": file_format,
        "rowCount": row_count,
        "columns": columns,
        "nullCounts": null_counts or {},
        "duplicateCount": duplicate_count,
    }


def nested_parquet() -> bytes:
    """Nulls at every level: a null struct, a struct of nulls, a null list, an empty list, a list holding a null."""
    import pyarrow
    import pyarrow.parquet

    address = pyarrow.struct([("city", pyarrow.string()), ("zip", pyarrow.string())])
    table = pyarrow.table({
        "id": pyarrow.array([1, 2, 3, None, 5], pyarrow.int64()),
        "name": pyarrow.array(["Ann", "", None, "  ", "\t"]),
        "address": pyarrow.array(
            [{"city": "Oslo", "zip": None}, {"city": "Oslo", "zip": None}, None, {"city": None, "zip": None},
             {"city": "Rome", "zip": "00100"}],
            address,
        ),
        "tags": pyarrow.array([["a"], [], None, ["a", None], ["b"]], pyarrow.list_(pyarrow.string())),
    })
    buffer = io.BytesIO()
    pyarrow.parquet.write_table(table, buffer)
    return buffer.getvalue()


def float_key_parquet() -> bytes:
    """A double key holding NaN twice, -0.0 and 0.0: Spark groups every NaN together and -0.0 with 0.0."""
    import pyarrow
    import pyarrow.parquet

    table = pyarrow.table({"key": pyarrow.array([float("nan"), float("nan"), -0.0, 0.0, 1.5, None])})
    buffer = io.BytesIO()
    pyarrow.parquet.write_table(table, buffer)
    return buffer.getvalue()


def map_key_parquet() -> bytes:
    import pyarrow
    import pyarrow.parquet

    attributes = pyarrow.array([[("a", 1)], [("a", 1)], []], pyarrow.map_(pyarrow.string(), pyarrow.int64()))
    table = pyarrow.table({"id": pyarrow.array([1, 2, 3]), "attributes": attributes})
    buffer = io.BytesIO()
    pyarrow.parquet.write_table(table, buffer)
    return buffer.getvalue()


def not_utf8(name):
    return (
        f"s3://landing-bucket/incoming/corpus/{name} is not valid UTF-8: CSV and JSON files are read as UTF-8 (a "
        "byte-order mark is allowed); convert it (for example with iconv) and upload it again",
    )


MILLION = 1_000_000


def million_row_csv() -> bytes:
    """1,000,000 records with a quoted comma each; 10 repeat the previous id and 4 have an empty name."""
    lines = ["id,name,region"]
    for number in range(MILLION):
        record_id = number - 1 if number % 100_000 == 99_999 else number
        name = "" if number % 250_000 == 0 else f"n{number}"
        lines.append(f'{record_id},{name},"eu, {number % 7}"')
    return ("\n".join(lines) + "\n").encode("utf-8")


CORPUS = [
    Case(
        "quoted.csv",
        b'id,name,note\n1,"Lee, Bo","line one\nline two"\n2,"say ""hi""",x\n\n3,"",\n',
        ID_AND_NAME,
        profile("csv", 3, ["id", "name", "note"], {"id": 0, "name": 1}, 0),
        FAILED,
        ("Required column name has 1 null or empty value",),
    ),
    Case(
        # RFC 4180 section 2.7: a quote inside a quoted field is doubled, also right before the delimiter.
        "doubled-quote-before-comma.csv",
        b'id,name,note\n1,"a ""b"", c",x\n2,"""",y\n3,"x""",""""\n',
        ID_AND_NAME,
        profile("csv", 3, ["id", "name", "note"], {"id": 0, "name": 0}, 0),
        PASSED,
        (),
    ),
    Case(
        "bom-crlf.csv",
        "\ufeffid,name\r\n1,Ann\r\n2,Bo\r\n".encode("utf-8"),
        Rules(expected_columns=("id", "name"), required_columns=("id",), unique_key_columns=("id",), min_rows=2),
        profile("csv", 2, ["id", "name"], {"id": 0}, 0),
        PASSED,
        (),
    ),
    Case(
        "empty-values.csv",
        b'id,name\n1,""\n2,\n3, \n4,\t\n""," "\n,x\n',
        ID_AND_NAME,
        profile("csv", 6, ["id", "name"], {"id": 2, "name": 4}, 1),
        FAILED,
        (
            "Required column id has 2 null or empty values",
            "Required column name has 4 null or empty values",
            "Unique key (id) has 1 duplicate row",
        ),
    ),
    Case(
        "header-only.csv",
        b"id,name\n",
        Rules(expected_columns=("id", "name"), min_rows=1),
        profile("csv", 0, ["id", "name"]),
        FAILED,
        ("File has 0 rows; at least 1 required",),
    ),
    Case(
        "zero-bytes.csv",
        b"",
        Rules(expected_columns=("id",)),
        profile("csv", 0, []),
        FAILED,
        ("Missing expected columns: id",),
    ),
    # Spark's readers replace a byte that is not UTF-8 with U+FFFD and go on; the job refuses the file instead.
    Case("latin-1.csv", "id,name\n1,Jos\xe9\n".encode("latin-1"), ID_AND_NAME, None, FAILED, not_utf8("latin-1.csv")),
    Case("latin-1.jsonl", '{"id": 1, "name": "Jos\xe9"}\n'.encode("latin-1"), ID_AND_NAME, None, FAILED,
         not_utf8("latin-1.jsonl")),
    Case("utf-16.json", '[{"id": 1}]'.encode("utf-16"), Rules(), None, FAILED, not_utf8("utf-16.json")),
    Case(
        "replacement-character.csv",
        "id,name\n1,x\ufffd\n".encode("utf-8"),
        ID_AND_NAME,
        profile("csv", 1, ["id", "name"], {"id": 0, "name": 0}, 0),
        PASSED,
        (),
    ),
    Case("ragged-long.csv", b"id,name\n1,Ann\n2,Bo,extra\n", Rules(), None, FAILED),
    Case("ragged-short.csv", b"id,name\n1,Ann\n3\n", Rules(required_columns=("id",)), None, FAILED),
    Case(
        "duplicate-and-blank-headers.csv",
        b"id,name,ID,,name \n1,Ann,2,,y\n",
        Rules(expected_columns=("id",), required_columns=("id0", "_c3")),
        profile("csv", 1, ["id0", "name", "ID2", "_c3", "name "], {"id0": 0, "_c3": 1}),
        FAILED,
        ("Missing expected columns: id", "Required column _c3 has 1 null or empty value"),
    ),
    Case(
        "lines.jsonl",
        b'{"name": "Ann", "id": 1}\n\n{"id": 2, "name": null, "tags": ["a"]}\n{"id": 2, "name": "  "}\n'
        b'{"id": 3, "name": "\\t"}\n{"id": 4}\n',
        ID_AND_NAME,
        profile("json", 5, ["id", "name", "tags"], {"id": 0, "name": 3}, 1),
        FAILED,
        ("Required column name has 3 null or empty values", "Unique key (id) has 1 duplicate row"),
    ),
    Case(
        "bom-lines.jsonl",
        '\ufeff{"id": 1, "name": "Ann"}\n{"id": 2, "name": "Bo"}\n'.encode("utf-8"),
        ID_AND_NAME,
        profile("json", 2, ["id", "name"], {"id": 0, "name": 0}, 0),
        PASSED,
        (),
    ),
    Case(
        "nested-array.json",
        b'\n  [\n  {"id": 1, "address": {"city": "Oslo"}},\n  {"id": 2, "address": {"city": "Oslo", "zip": null}},\n'
        b'  {"id": 3},\n  {"id": 4, "address": null},\n  {"id": 5, "address": {"city": "Rome", "zip": "00100"}}\n]\n',
        Rules(required_columns=("address",), unique_key_columns=("address",)),
        profile("json", 5, ["address", "id"], {"address": 2}, 2),
        FAILED,
        ("Required column address has 2 null or empty values", "Unique key (address) has 2 duplicate rows"),
    ),
    Case(
        "mixed-kinds.jsonl",
        b'{"id": 1}\n{"id": "1"}\n{"id": true}\n{"id": "true"}\n{"id": 2.5}\n',
        Rules(unique_key_columns=("id",)),
        profile("json", 5, ["id"], {}, 2),
        FAILED,
        ("Unique key (id) has 2 duplicate rows",),
    ),
    Case("not-objects.json", b"[1, 2]", Rules(), None, FAILED),
    Case(
        "nested-nulls.parquet",
        nested_parquet,
        Rules(required_columns=("name", "address", "tags"), unique_key_columns=("address",)),
        profile("parquet", 5, ["id", "name", "address", "tags"], {"name": 3, "address": 1, "tags": 1}, 1),
        FAILED,
        (
            "Required column name has 3 null or empty values",
            "Required column address has 1 null or empty value",
            "Required column tags has 1 null or empty value",
            "Unique key (address) has 1 duplicate row",
        ),
    ),
    Case(
        "float-key.parquet",
        float_key_parquet,
        Rules(unique_key_columns=("key",)),
        profile("parquet", 6, ["key"], {}, 2),
        FAILED,
        ("Unique key (key) has 2 duplicate rows",),
    ),
    Case(
        "map-key.parquet",
        map_key_parquet,
        Rules(required_columns=("attributes",), unique_key_columns=("id", "attributes")),
        None,
        FAILED,
        ("Unique key column attributes holds a map, which Spark cannot compare, so duplicates cannot be counted; "
         "choose key columns without maps",),
    ),
    Case(
        "million-rows.csv",
        million_row_csv,
        Rules(required_columns=("name",), unique_key_columns=("id",), min_rows=MILLION),
        profile("csv", MILLION, ["id", "name", "region"], {"name": 4}, 10),
        FAILED,
        ("Required column name has 4 null or empty values", "Unique key (id) has 10 duplicate rows"),
    ),
]


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_spark_and_python_profilers_agree(case, s3, local_spark):
    source = Source(BUCKET, f"incoming/corpus/{case.name}")
    s3.put_object(Bucket=BUCKET, Key=source.key, Body=case.content())
    local_spark.copy_to_spark(s3, BUCKET, source.key)

    def spark_profiler(source_to_read, file_format, rules):
        df = validate.read_dataframe(local_spark.session, s3, source_to_read, file_format)
        return validate.profile_dataframe(df, file_format, rules)

    def python_profiler(source_to_read, file_format, rules):
        return reference_profiler.profile_object(s3, source_to_read, file_format, rules)

    spark_profile, spark_result = validate.validate_source(source, case.rules, spark_profiler)
    python_profile, python_result = validate.validate_source(source, case.rules, python_profiler)

    assert spark_profile == case.profile
    assert python_profile == case.profile
    assert (spark_result.outcome, python_result.outcome) == (case.outcome, case.outcome)
    if case.findings is not None:
        assert spark_result.findings == python_result.findings == case.findings


@pytest.mark.parametrize(
    "key, body, outcome, findings",
    [
        (
            "incoming/corpus/run[1].csv", b"id\n1\n", FAILED,
            ("s3://landing-bucket/incoming/corpus/run[1].csv cannot be read as multi-line csv: Spark takes [ ] { } in "
             "its key for a pattern; upload it under a key without them",),
        ),
        (
            "incoming/{batch}/rows.json", b'[{"id": 1}]', FAILED,
            ("s3://landing-bucket/incoming/{batch}/rows.json cannot be read as multi-line json: Spark takes [ ] { } in "
             "its key for a pattern; upload it under a key without them",),
        ),
        ("incoming/corpus/run[1] *?.jsonl", b'{"id": 1}\n', PASSED, ()),
        ("incoming/corpus/run*? x.csv", b"id\n1\n", PASSED, ()),
    ],
)
def test_keys_with_pattern_characters(key, body, outcome, findings, s3, local_spark):
    """Escaped, * and ? match themselves; [ ] { } defeat Spark's multi-line readers, and both profilers say so."""
    source = Source(BUCKET, key)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    local_spark.copy_to_spark(s3, BUCKET, key)

    def spark_profiler(source_to_read, file_format, rules):
        df = validate.read_dataframe(local_spark.session, s3, source_to_read, file_format)
        return validate.profile_dataframe(df, file_format, rules)

    def python_profiler(source_to_read, file_format, rules):
        return reference_profiler.profile_object(s3, source_to_read, file_format, rules)

    for profiler in (spark_profiler, python_profiler):
        _, result = validate.validate_source(source, Rules(min_rows=1), profiler)
        assert (result.outcome, result.findings) == (outcome, findings)


def test_spark_read_error_is_one_bounded_line(s3, local_spark):
    source = Source(BUCKET, "incoming/corpus/ragged.csv")
    s3.put_object(Bucket=BUCKET, Key=source.key, Body=b"id,name\n1,Ann\n2,Bo,extra\n")
    local_spark.copy_to_spark(s3, BUCKET, source.key)

    def spark_profiler(source_to_read, file_format, rules):
        df = validate.read_dataframe(local_spark.session, s3, source_to_read, file_format)
        return validate.profile_dataframe(df, file_format, rules)

    _, result = validate.validate_source(source, Rules(), spark_profiler)
    assert result.findings == (
        "Could not read s3://landing-bucket/incoming/corpus/ragged.csv as csv: SparkException: Malformed records are "
        "detected in record parsing. Parse Mode: FAILFAST. To process malformed records as null result, try setting "
        "the option 'mode' as 'PERMISSIVE'.; BadRecordException: java.lang.RuntimeException: Malformed CSV record; "
        "RuntimeException: Malformed CSV record",
    )
