"""The pure-Python reference profiler that the Glue job's Spark profiler is checked against (tests only).

It reads the whole object into memory with Python's csv and json modules and pyarrow, and gives the profile
validate.profile_dataframe() computes with Spark, or refuses the file with the same finding. Where Python's modules
see a file differently from Spark, this profiler follows Spark, which is what runs in Glue (blank means empty or
spaces only; CSV header names are made unique as Spark makes them; JSON columns come in name order; keys compare
as Spark compares them). Where Spark's reading is wrong, the job refuses the file and so does this profiler: text
that is not UTF-8, and a unique key holding a map.
"""

import csv
import io
import json
import math

import validate
from validate import Rules, Source, ValidationStop


def spark_csv_header(names: list) -> list:
    """The column names Spark gives a CSV header (Spark 3.3 CSVUtils.makeSafeHeader).

    An empty name becomes _c<position>; a name that occurs more than once, ignoring case (Spark's default
    spark.sql.caseSensitive=false), gets its position appended: 'id,name,ID,' -> id0, name, ID2, _c3.
    """
    lowered = [name.lower() for name in names if name]
    repeated = {name for name in lowered if lowered.count(name) > 1}
    return [
        f"_c{position}" if not name else f"{name}{position}" if name.lower() in repeated else name
        for position, name in enumerate(names)
    ]


def parse_csv(data: bytes) -> tuple:
    """(columns, rows) from CSV bytes with a header row; rows are dicts of strings."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    lines = (line for line in reader if line)  # blank lines carry no record
    columns = spark_csv_header(next(lines, []))
    rows = []
    for number, line in enumerate(lines, start=2):
        if len(line) != len(columns):
            raise ValueError(f"CSV record {number} has {len(line)} fields but the header has {len(columns)}")
        rows.append(dict(zip(columns, line)))
    return columns, rows


def parse_json(data: bytes) -> tuple:
    """(columns, rows) from a top-level JSON array or JSON Lines; columns in name order, as Spark infers them."""
    text = data.decode("utf-8-sig")
    if validate.json_layout(data) == "array":
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    shapes = {}
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ValueError(f"JSON record {number} is not an object")
        for name, value in record.items():
            shapes[name] = _merged(shapes.get(name, NULL_SHAPE), _shape(value))
    columns = sorted(name for name, shape in shapes.items() if _kept(shape))
    for record in records:
        for name in list(record):
            if name in columns:
                record[name] = _pruned(record[name], shapes[name])
            else:
                del record[name]
    for column in columns:
        _as_text_when_kinds_mix(records, column)
    return columns, records


# Spark's JSON schema inference (JsonInferSchema): the types of a field's values are merged over every record; a
# struct left with no fields (only {} seen) is dropped, and so is an array of such structs and the field holding
# either, at any depth; a field only ever null is a string column. Shapes: NULL_SHAPE, SCALAR_SHAPE, a dict of field
# shapes (an object) or a one-tuple of the element shape (an array).
NULL_SHAPE = "null"
SCALAR_SHAPE = "scalar"


def _shape(value):
    if value is None:
        return NULL_SHAPE
    if isinstance(value, dict):
        return {name: _shape(item) for name, item in value.items()}
    if isinstance(value, list):
        element = NULL_SHAPE
        for item in value:
            element = _merged(element, _shape(item))
        return (element,)
    return SCALAR_SHAPE


def _merged(left, right):
    if left == NULL_SHAPE:
        return right
    if right == NULL_SHAPE:
        return left
    if isinstance(left, dict) and isinstance(right, dict):
        return {name: _merged(left.get(name, NULL_SHAPE), right.get(name, NULL_SHAPE)) for name in left.keys() | right.keys()}
    if isinstance(left, tuple) and isinstance(right, tuple):
        return (_merged(left[0], right[0]),)
    return SCALAR_SHAPE  # kinds that conflict are read as text


def _kept(shape) -> bool:
    if isinstance(shape, dict):
        return any(_kept(field) for name, field in shape.items() if name)
    if isinstance(shape, tuple):
        return _kept(shape[0])
    return True


def _pruned(value, shape):
    """The value as Spark reads it: without the fields the inferred schema dropped."""
    if isinstance(value, dict) and isinstance(shape, dict):
        return {name: _pruned(item, shape[name]) for name, item in value.items() if name and _kept(shape[name])}
    if isinstance(value, list) and isinstance(shape, tuple):
        return [_pruned(item, shape[0]) for item in value]
    return value


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def _as_text_when_kinds_mix(records: list, column: str) -> None:
    """Spark infers a string column for a field that holds strings, numbers and booleans side by side, and reads
    each value as its JSON text: then {"id": 1} and {"id": "1"} have the same key. Do the same to the records."""
    kinds = {_json_kind(record[column]) for record in records if record.get(column) is not None}
    if len(kinds) < 2 or not kinds <= {"str", "number", "boolean"}:
        return
    for record in records:
        value = record.get(column)
        if value is not None and not isinstance(value, str):
            record[column] = json.dumps(value)


def parse_parquet(data: bytes) -> tuple:
    """(columns, rows) from Parquet bytes; nested values become dicts and lists (needs pyarrow)."""
    import pyarrow.parquet  # imported here: only Parquet files held in memory need it

    table = pyarrow.parquet.read_table(io.BytesIO(data))
    return list(table.column_names), table.to_pylist()


def is_blank(value) -> bool:
    # Spark's trim() removes spaces only, so a tab or a no-break space is a value in both profilers.
    return value is None or (isinstance(value, str) and not value.strip(" "))


def build_profile(file_format: str, columns: list, rows: list, rules: Rules) -> dict:
    """The same profile dict that profile_dataframe() computes with Spark."""
    present_required = [column for column in rules.required_columns if column in columns]
    null_counts = {
        column: sum(1 for row in rows if is_blank(row.get(column))) for column in present_required
    }
    duplicate_count = None
    if rules.unique_key_columns and all(column in columns for column in rules.unique_key_columns):
        keys = {tuple(_hashable(row.get(column)) for column in rules.unique_key_columns) for row in rows}
        duplicate_count = len(rows) - len(keys)
    return {
        "format": file_format,
        "rowCount": len(rows),
        "columns": list(columns),
        "nullCounts": null_counts,
        "duplicateCount": duplicate_count,
    }


def _hashable(value):
    # Nested values (objects, arrays) cannot go into a set as they are. An absent field and a null field are the
    # same to Spark (a struct has every field of its inferred type), so null fields are left out of the key.
    value = _as_spark_compares(value)
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


# Spark's grouping and distinct() normalize floating-point values first (NormalizeFloatingNumbers): every NaN is
# one value, equal to itself, and -0.0 is 0.0, at any depth. Python's NaN is not equal to itself, and json.dumps
# tells -0.0 from 0.0.
NAN = ("NaN",)


def _as_spark_compares(value):
    if isinstance(value, float):
        return NAN if math.isnan(value) else value + 0.0
    if isinstance(value, dict):
        return {key: _as_spark_compares(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_as_spark_compares(item) for item in value]
    return value


PARSERS = {"csv": parse_csv, "json": parse_json, "parquet": parse_parquet}


def profile_bytes(data: bytes, file_format: str, rules: Rules) -> dict:
    """Profile a small CSV, JSON or Parquet file held in memory."""
    if file_format not in PARSERS:
        raise ValueError(f"the pure-Python profiler cannot read {file_format} files")
    columns, rows = PARSERS[file_format](data)
    return build_profile(file_format, columns, rows, rules)


def require_utf8(data: bytes, source: Source) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationStop(validate.not_utf8_finding(source)) from None


def refuse_map_keys(data: bytes, rules: Rules) -> None:
    import pyarrow
    import pyarrow.parquet

    schema = pyarrow.parquet.read_schema(io.BytesIO(data))
    if not rules.unique_key_columns or not all(column in schema.names for column in rules.unique_key_columns):
        return
    for column in rules.unique_key_columns:
        if _holds_map(schema.field(column).type, pyarrow):
            raise ValidationStop(validate.uncomparable_key_finding(column))


def _holds_map(data_type, pyarrow) -> bool:
    types = pyarrow.types
    if types.is_map(data_type):
        return True
    if types.is_list(data_type) or types.is_large_list(data_type):
        return _holds_map(data_type.value_type, pyarrow)
    if types.is_struct(data_type):
        return any(_holds_map(data_type.field(index).type, pyarrow) for index in range(data_type.num_fields))
    return False


def profile_object(s3, source: Source, file_format: str, rules: Rules) -> dict:
    """A validate.Profiler that downloads the current object and profiles it in memory, checking what the job
    checks, in the job's order."""
    data = s3.get_object(Bucket=source.bucket, Key=source.key)["Body"].read()
    if file_format == "csv" or (file_format == "json" and validate.json_layout(data) == "array"):
        validate.refuse_multi_line_pattern_key(source, file_format)
    if file_format in ("csv", "json"):
        require_utf8(data, source)
    if file_format == "parquet":
        refuse_map_keys(data, rules)
    return profile_bytes(data, file_format, rules)
