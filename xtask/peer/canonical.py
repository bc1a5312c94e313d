#!/usr/bin/env python3
"""The canonical content hash of a table: the form in which every reader's view of a
table is compared (specified in the corpus README, section "Canonical content hash").

    canonical.py TABLE [--version N]

As a program: reads TABLE (at version N, default the latest) with delta-rs's plain
pyarrow path and prints {"version", "num_rows", "hash"} as one JSON line.
As a module: `canonical_lines(table)` gives the sorted canonical JSON line of every row,
`canonical_hash(table)` the lowercase hex SHA-256 of those lines joined by "\\n".
A table is a pyarrow Table or RecordBatch, or anything pyarrow.table() accepts (an
arro3 table, a stream).

Values, column by column: null -> null; booleans and integers of any width as JSON;
floats of every width widened to f64 and written "f64:<16 hex digits of the bits>",
"NaN" for every NaN; decimals as text with exactly `scale` fraction digits (computed
from the unscaled integer, so no decimal context is involved; a negative scale gives
an integer); strings as JSON strings; binary as lowercase hex; dates as "YYYY-MM-DD";
timestamps of any unit and zone as integer microseconds since the epoch (nanoseconds
floor-divided); structs as objects; lists as arrays; maps as arrays of [key, value]
pairs sorted by their JSON text. Dictionary-encoded columns count as their values.
Any other Arrow type raises UnsupportedType, naming the column and the type.
Exit status 0 printed, 1 the table cannot be read or hashed (on stderr), 2 bad usage.
"""
import argparse
import hashlib
import json
import os
import struct
import sys

import pyarrow as pa
import pyarrow.types as pat

# how many microseconds one tick of a timestamp unit is ("ns" is divided instead)
MICROS_PER_TICK = {"s": 1_000_000, "ms": 1_000, "us": 1}
MILLIS_PER_DAY = 86_400_000


class UnsupportedType(TypeError):
    """A column (or a field inside one) whose Arrow type has no canonical form."""


def dumps(value):
    """Compact JSON with sorted keys and raw (unescaped) non-ASCII text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_lines(table):
    """The canonical JSON line of every row of `table`, sorted by their UTF-8 bytes."""
    table = as_table(table)
    names = table.column_names
    check_unique(names, "")
    columns = [column_values(table.column(i), name) for i, name in enumerate(names)]
    if columns:
        lines = [dumps(dict(zip(names, row))) for row in zip(*columns)]
    else:
        lines = ["{}"] * table.num_rows
    return sorted(lines, key=lambda line: line.encode("utf-8"))


def canonical_hash(table):
    """Lowercase hex SHA-256 of the canonical lines joined by "\\n" (no trailing newline)."""
    text = "\n".join(canonical_lines(table))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def as_table(table):
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    return pa.table(table)


def check_unique(names, path):
    seen = set()
    for name in names:
        if name in seen:
            where = f"{path}.{name}" if path else name
            raise ValueError(f"canonical form: name `{where}` appears more than once, so rows have no JSON object form")
        seen.add(name)


def column_values(column, path):
    """The normalised values of a ChunkedArray (or Array), in row order."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    values = []
    for chunk in chunks:
        values.extend(array_values(chunk, path))
    return values


def array_values(arr, path):
    """One normalised Python value (None for null) per element of `arr`."""
    t = arr.type
    if pat.is_null(t):
        return [None] * len(arr)
    if pat.is_dictionary(t):
        return array_values(arr.dictionary_decode(), path)
    if pat.is_boolean(t) or pat.is_integer(t):
        return arr.to_pylist()
    if pat.is_floating(t):
        return [None if v is None else float_text(v) for v in arr.to_pylist()]
    if pat.is_decimal(t):
        return decimal_values(arr)
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return arr.to_pylist()
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_binary_view(t) or pat.is_fixed_size_binary(t):
        return [None if v is None else v.hex() for v in arr.to_pylist()]
    if pat.is_date32(t):
        return [None if v is None else date_text(v) for v in arr.cast(pa.int32()).to_pylist()]
    if pat.is_date64(t):
        return [None if v is None else date_text(v // MILLIS_PER_DAY) for v in arr.cast(pa.int64()).to_pylist()]
    if pat.is_timestamp(t):
        return timestamp_values(arr)
    if pat.is_struct(t):
        return struct_values(arr, path)
    if pat.is_map(t):
        return map_values(arr, path)
    if pat.is_list(t) or pat.is_large_list(t):
        offsets = arr.offsets.to_pylist()
        spans = [(offsets[i], offsets[i + 1]) for i in range(len(arr))]
        return list_values(arr, spans, path)
    if pat.is_list_view(t) or pat.is_large_list_view(t):
        spans = [(o, o + s) for o, s in zip(arr.offsets.to_pylist(), arr.sizes.to_pylist())]
        return list_values(arr, spans, path)
    if pat.is_fixed_size_list(t):
        size = t.list_size
        # .values is the whole child, not adjusted for this array's offset
        spans = [((arr.offset + i) * size, (arr.offset + i + 1) * size) for i in range(len(arr))]
        return list_values(arr, spans, path)
    raise UnsupportedType(f"canonical form: column `{path}` has Arrow type {t}, which has no canonical form")


def float_text(v):
    """A float of any width as "f64:<big-endian hex of its f64 bits>", or "NaN"."""
    if v != v:
        return "NaN"
    return "f64:" + struct.pack(">d", float(v)).hex()


def decimal_values(arr):
    """Exact decimal text from the unscaled two's-complement integers in the data buffer."""
    width = arr.type.byte_width
    scale = arr.type.scale
    valid = arr.is_valid().to_pylist()
    if not valid:
        return []
    data = memoryview(arr.buffers()[1])
    out = []
    for i, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        start = (arr.offset + i) * width
        unscaled = int.from_bytes(data[start:start + width], "little", signed=True)
        out.append(decimal_text(unscaled, scale))
    return out


def decimal_text(unscaled, scale):
    """unscaled * 10**-scale with exactly `scale` fraction digits, no exponent."""
    sign = "-" if unscaled < 0 else ""
    digits = str(abs(unscaled))
    if scale > 0:
        digits = digits.rjust(scale + 1, "0")
        return f"{sign}{digits[:-scale]}.{digits[-scale:]}"
    if unscaled == 0:
        return "0"
    return sign + digits + "0" * -scale


def date_text(days):
    """Days since 1970-01-01 as "YYYY-MM-DD" (proleptic Gregorian; a year outside
    0..9999 gets a sign and at least four digits, ISO 8601's expanded form)."""
    # civil-from-days, with eras of 400 years (146097 days) starting on March 1st
    z = days + 719_468
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153  # 0 = March
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    if 0 <= year <= 9999:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{year:+05d}-{month:02d}-{day:02d}"


def timestamp_values(arr):
    """Microseconds since the epoch (the stored value is UTC for zoned timestamps)."""
    ticks = arr.cast(pa.int64()).to_pylist()
    unit = arr.type.unit
    if unit == "ns":
        return [None if v is None else v // 1000 for v in ticks]
    factor = MICROS_PER_TICK[unit]
    return [None if v is None else v * factor for v in ticks]


def struct_values(arr, path):
    t = arr.type
    names = [t.field(i).name for i in range(t.num_fields)]
    check_unique(names, path)
    # StructArray.field() is adjusted for the array's offset; parent nulls are applied below
    children = [array_values(arr.field(i), f"{path}.{name}") for i, name in enumerate(names)]
    valid = arr.is_valid().to_pylist()
    out = []
    for i, ok in enumerate(valid):
        out.append({name: child[i] for name, child in zip(names, children)} if ok else None)
    return out


def list_values(arr, spans, path):
    """Each valid element as the list of its items' values; `spans` index into arr.values."""
    items = array_values(arr.values, f"{path}[]")
    valid = arr.is_valid().to_pylist()
    return [items[start:end] if ok else None for ok, (start, end) in zip(valid, spans)]


def map_values(arr, path):
    """Each valid map as its [key, value] pairs, sorted by the pair's canonical JSON text."""
    entries = arr.values
    keys = array_values(entries.field(0), f"{path}{{key}}")
    items = array_values(entries.field(1), f"{path}{{value}}")
    pairs = [[k, v] for k, v in zip(keys, items)]
    offsets = arr.offsets.to_pylist()
    valid = arr.is_valid().to_pylist()
    out = []
    for i, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        # str order is code point order, which is UTF-8 byte order
        out.append(sorted(pairs[offsets[i]:offsets[i + 1]], key=dumps))
    return out


def read_version(table, version):
    """The table (at `version`, or the latest) through delta-rs's plain pyarrow path."""
    from deltalake import DeltaTable

    dt = DeltaTable(table, version=version)
    return dt.version(), dt.to_pyarrow_table()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--version", type=int, help="the version to read (default: the latest)")
    args = ap.parse_args(argv)
    try:
        version, t = read_version(args.table, args.version)
        out = dict(version=version, num_rows=t.num_rows, hash=canonical_hash(t))
    except Exception as err:
        print(f"{args.table}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    rc = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # deltalake 1.6 + pyarrow 26 can abort in interpreter teardown
