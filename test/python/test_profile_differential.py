"""Generated files, read by the Glue job's Spark profiler and by the reference profiler: both give the same profile
and verdict, or both refuse the file.

Hypothesis generates CSV, JSON Lines, JSON arrays and Parquet files along the dimensions where Spark's readers and
Python's differ: encodings and byte-order marks, quoting and escapes, line endings, header names and their case,
duplicate keys, empty and null values at every depth, numeric edge values (NaN, -0.0, infinities, 64-bit limits),
nested and map types. The rules (expected, required and unique-key columns, a minimum row count) are drawn from the
generated column names, so every rule meets both present and absent columns.

The run is bounded and reproducible: a fixed number of examples per format, derandomized (the same examples on
every run), no example database. Spark runs in the one local session of the test process (conftest.local_spark).

Classes of disagreement the generator found, and how each was decided (the corpus in test_spark_profile.py holds a
hand-written case of each):
- text that is not UTF-8 (Latin-1, UTF-16): Spark replaced each bad byte with U+FFFD and passed the file, Python
  refused it. Both refuse it now, with a finding that says so (validate.require_utf8).
- NaN and -0.0 in a unique key: Spark counts every NaN as one value and -0.0 as 0.0; Python's NaN is unequal to
  itself. The reference now compares keys as Spark does.
- a unique key holding a map (Parquet): Spark cannot compare maps, and the file was reported unreadable; Python
  counted its duplicates. Both refuse it now with a finding that names the column.
- a JSON field that only ever holds empty objects (or arrays of them): Spark's schema inference drops it, Python
  kept it as a column. A field with no value in any record carries no data; the reference follows Spark's inference
  (reference_profiler._kept).
A run of 60 examples per format (240 files) found no other class.
"""

import io
import itertools
import json

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

import reference_profiler
import validate
from pipeline_helpers import REGION
from validate import Rules, Source

BUCKET = "landing-bucket"
EXAMPLES = 10
BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_keys = itertools.count()


@pytest.fixture(scope="module")
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def verdicts(s3, spark, data: bytes, extension: str, rules: Rules):
    """(Spark's (profile, result), the reference's (profile, result)) for one file."""
    source = Source(BUCKET, f"incoming/generated/{next(_keys)}{extension}")
    s3.put_object(Bucket=BUCKET, Key=source.key, Body=data)
    spark.copy_to_spark(s3, BUCKET, source.key)

    def spark_profiler(source_to_read, file_format, rules_to_check):
        df = validate.read_dataframe(spark.session, s3, source_to_read, file_format)
        return validate.profile_dataframe(df, file_format, rules_to_check)

    def python_profiler(source_to_read, file_format, rules_to_check):
        return reference_profiler.profile_object(s3, source_to_read, file_format, rules_to_check)

    return validate.validate_source(source, rules, spark_profiler), validate.validate_source(source, rules, python_profiler)


def assert_same_verdict(spark, python, data):
    (spark_profile, spark_result), (python_profile, python_result) = spark, python
    shown = data if len(data) < 2000 else data[:2000] + b"..."
    if spark_profile is None or python_profile is None:
        # Both refuse the file; a read error's text differs by reader, the job's own refusals must not.
        assert (spark_profile, python_profile) == (None, None), (shown, spark, python)
        own = [finding for finding in spark_result.findings + python_result.findings if " Could not read " not in
               f" {finding}"]
        if own:
            assert spark_result.findings == python_result.findings, (shown, spark, python)
        return
    assert spark_profile == python_profile, (shown, spark, python)
    assert (spark_result.outcome, spark_result.findings) == (python_result.outcome, python_result.findings), shown


# --------------------------------------------------------------------------
# Rules drawn from the columns
# --------------------------------------------------------------------------


@st.composite
def rules_for(draw, names):
    """Rules over the generated names plus one that no file has."""
    pool = sorted(set(names)) + ["absent"]
    some = st.lists(st.sampled_from(pool), max_size=2, unique=True).map(tuple)
    return Rules(
        expected_columns=draw(some),
        required_columns=draw(some),
        unique_key_columns=draw(some),
        min_rows=draw(st.none() | st.integers(0, 4)),
    )


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------

HEADER_NAMES = ["id", "ID", "Id", "name", "name ", "", "a b", "x.y", "é"]
CELLS = ["", " ", "\t", "1", "01", "1.0", "-0", "NaN", "null", "a,b", 'say "hi"', '"', 'a "b", c', "line\nbreak",
         "cr\r\nlf", "é", "\ufffd", "😀", "\u00a0"]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16"]


def csv_field(value: str, quote: bool) -> str:
    if quote or any(char in value for char in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_files(draw):
    names = draw(st.lists(st.sampled_from(HEADER_NAMES), min_size=1, max_size=4))
    width = len(names)
    rows = draw(st.lists(st.lists(st.sampled_from(CELLS), min_size=width, max_size=width), max_size=5))
    if rows and draw(st.integers(0, 9)) == 0:
        rows[-1] = rows[-1][:-1] if width > 1 else rows[-1] + ["extra"]  # a ragged record
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(csv_field(name, draw(st.booleans())) for name in names)]
    lines += [",".join(csv_field(cell, draw(st.booleans())) for cell in row) for row in rows]
    text = line_end.join(lines) + (line_end if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    return data, draw(rules_for(validate_names_of(names)))


def validate_names_of(names):
    """The names the rules may use: as written and as Spark makes them unique."""
    return list(names) + reference_profiler.spark_csv_header(list(names))


@BOUNDED
@given(generated=csv_files())
def test_csv_files(generated, s3, local_spark):
    data, rules = generated
    spark, python = verdicts(s3, local_spark, data, ".csv", rules)
    assert_same_verdict(spark, python, data)


# --------------------------------------------------------------------------
# JSON Lines and JSON arrays
# --------------------------------------------------------------------------

JSON_NAMES = ["id", "name", "tags", "address", "n"]
SCALARS = {
    "integer": st.sampled_from([0, 1, -1, 2**31, 2**63 - 1, -(2**63)]),
    "double": st.sampled_from([0.0, -0.0, 1.5, 1e308, -1e-308, 2.0]),
    "string": st.sampled_from(["", " ", "1", "a", "é", "\ufffd", "😀", "null", "\t"]),
    "boolean": st.booleans(),
}


def json_values(kind):
    if kind == "object":
        return st.none() | st.dictionaries(st.sampled_from(["city", "zip"]), st.none() | SCALARS["string"], max_size=2)
    if kind == "array":
        return st.none() | st.lists(st.none() | SCALARS["integer"], max_size=3)
    return st.none() | SCALARS[kind]


@st.composite
def json_records(draw):
    kinds = {name: draw(st.sampled_from(["integer", "double", "string", "boolean", "object", "array"]))
             for name in JSON_NAMES}
    records = []
    for _ in range(draw(st.integers(0, 5))):
        present = draw(st.lists(st.sampled_from(JSON_NAMES), min_size=1, max_size=4, unique=True))
        records.append({name: draw(json_values(kinds[name])) for name in present})
    return records


@st.composite
def json_files(draw, layout):
    records = draw(json_records())
    if layout == "lines":
        separator = draw(st.sampled_from(["\n", "\r\n"]))
        text = separator.join(json.dumps(record, ensure_ascii=draw(st.booleans())) for record in records)
        text += separator if draw(st.booleans()) else ""
    else:
        text = draw(st.sampled_from(["", "\n", "  "])) + json.dumps(records, indent=draw(st.sampled_from([None, 2])))
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    return data, draw(rules_for(JSON_NAMES))


@BOUNDED
@given(generated=json_files("lines"))
def test_json_lines_files(generated, s3, local_spark):
    data, rules = generated
    spark, python = verdicts(s3, local_spark, data, ".jsonl", rules)
    assert_same_verdict(spark, python, data)


@BOUNDED
@given(generated=json_files("array"))
def test_json_array_files(generated, s3, local_spark):
    data, rules = generated
    spark, python = verdicts(s3, local_spark, data, ".json", rules)
    assert_same_verdict(spark, python, data)


# --------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------


def parquet_column(draw, pyarrow, kind, rows):
    if kind == "int64":
        values, data_type = st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63)]), pyarrow.int64()
    elif kind == "double":
        values = st.sampled_from([0.0, -0.0, 1.5, float("nan"), float("inf"), float("-inf")])
        data_type = pyarrow.float64()
    elif kind == "string":
        values, data_type = SCALARS["string"], pyarrow.string()
    elif kind == "struct":
        values = st.fixed_dictionaries({"city": st.none() | SCALARS["string"], "zip": st.none() | st.sampled_from([1, 2])})
        data_type = pyarrow.struct([("city", pyarrow.string()), ("zip", pyarrow.int64())])
    elif kind == "list":
        values = st.lists(st.none() | st.sampled_from([1.0, -0.0, 0.0, float("nan")]), max_size=3)
        data_type = pyarrow.list_(pyarrow.float64())
    else:
        values = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from([1, 2])), max_size=2, unique_by=lambda kv: kv[0])
        data_type = pyarrow.map_(pyarrow.string(), pyarrow.int64())
    cells = [draw(st.none() | values) for _ in range(rows)]
    return pyarrow.array(cells, data_type)


@st.composite
def parquet_files(draw):
    import pyarrow
    import pyarrow.parquet

    rows = draw(st.integers(0, 5))
    names = draw(st.lists(st.sampled_from(["id", "score", "name", "address", "values", "attributes"]), min_size=1,
                          max_size=4, unique=True))
    kinds = {name: draw(st.sampled_from(["int64", "double", "string", "struct", "list", "map"])) for name in names}
    table = pyarrow.table({name: parquet_column(draw, pyarrow, kinds[name], rows) for name in names})
    buffer = io.BytesIO()
    pyarrow.parquet.write_table(table, buffer)
    return buffer.getvalue(), draw(rules_for(names))


@BOUNDED
@given(generated=parquet_files())
def test_parquet_files(generated, s3, local_spark):
    data, rules = generated
    spark, python = verdicts(s3, local_spark, data, ".parquet", rules)
    assert_same_verdict(spark, python, data)
