#!/usr/bin/env python3
"""Writes the canonical-hash fixtures under ../tests/data/canonical/ and their expected
lines and hashes (computed by the Python implementation xtask/peer/canonical.py) to
../tests/data/canonical/expected.json. The Rust test `canonical_fixtures` reads the files
with the `parquet` / arrow IPC readers and must produce the same lines and hashes.

Run from the repository root with a Python that has xtask/peer/requirements.txt
installed (the peer venv):
    target/peer-venv/bin/python delta-test/scripts/gen_canonical_fixtures.py
"""
import datetime as dt
import json
import math
import pathlib
import sys
from decimal import Decimal as D

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "tests" / "data" / "canonical"
PEER = HERE.parent.parent / "xtask" / "peer"
sys.path.insert(0, str(PEER))
import canonical  # noqa: E402  (xtask/peer/canonical.py)

UTC = dt.timezone.utc

# Strings that stress escaping and byte-order sorting: every control char, quote,
# backslash, DEL (raw in Python), U+2028, BMP above U+E000 vs non-BMP (emoji).
TRICKY = [
    "",
    "plain",
    'quote " and backslash \\ and slash /',
    "".join(chr(c) for c in range(0x00, 0x20)),
    "del \x7f nbsp \u00a0 ls \u2028 ps \u2029",
    "héllo wörld ß Ω",
    "\ue000 private use",
    "\uffff last bmp",
    "\U0001f600 emoji \U0001f9d1\u200d\U0001f680",
    "\ud7ff before surrogates",
    "日本語",
]


def primitives():
    n = len(TRICKY) + 2
    def col(vals, typ):
        vals = list(vals)[:n] + [None] * (n - len(vals))
        return pa.array(vals, typ)
    floats = [0.0, -0.0, 1.5, -2.25, math.nan, math.inf, -math.inf, 5e-324, 1e300, 0.1, 3.4028234663852886e38]
    return pa.table({
        "b": col([True, False, None, True], pa.bool_()),
        "i8": col([-128, 127, 0, -1], pa.int8()),
        "i16": col([-32768, 32767, 0, -1], pa.int16()),
        "i32": col([-2**31, 2**31 - 1, 0, -1], pa.int32()),
        "i64": col([-2**63, 2**63 - 1, 0, -1], pa.int64()),
        "u8": col([0, 255, 1], pa.uint8()),
        "u16": col([0, 65535, 1], pa.uint16()),
        "u32": col([0, 2**32 - 1, 1], pa.uint32()),
        "u64": col([0, 2**64 - 1, 2**63, 1], pa.uint64()),
        "f16": col([0.0, -0.0, 1.5, -2.25, math.nan, math.inf, -math.inf, 6e-8, 65504.0, 0.1], pa.float16()),
        "f32": col(floats, pa.float32()),
        "f64": col(floats, pa.float64()),
        "s": col(TRICKY, pa.string()),
        "ls": col(list(reversed(TRICKY)), pa.large_string()),
        "sv": col(TRICKY[3:] + TRICKY[:3], pa.string_view()),
        "bin": col([b"", b"\x00\xff", b"abc", bytes(range(256))], pa.binary()),
        "lbin": col([b"\x01", b"", b"\xde\xad\xbe\xef"], pa.large_binary()),
        "bv": col([b"\x10\x20", b"", b"view bytes longer than twelve"], pa.binary_view()),
        "fsb": col([b"\x00\x01\x02", b"abc", b"\xff\xfe\xfd"], pa.binary(3)),
        # keys whose order differs between UTF-16 and code points
        "\U0001f600key": col([1, 2], pa.int8()),
        "\uff5ekey": col([3], pa.int8()),
        "a b": col([4], pa.int8()),
    })


def decimals():
    return pa.table({
        "d32": pa.array([D("1.50"), D("-0.07"), D("0.00"), D("9999999.99"), D("-9999999.99"), None], pa.decimal32(9, 2)),
        "d64": pa.array([D("0.0005"), D("-0.0005"), D("12345678901234.5678"), D("-1.0000"), D("0"), None], pa.decimal64(18, 4)),
        "d128_0": pa.array([D("3"), D("-3"), D("0"), D("9" * 38), D("-" + "9" * 38), None], pa.decimal128(38, 0)),
        "d128_38": pa.array([D("0." + "9" * 38), D("-0." + "0" * 37 + "1"), D("0"), D("0.5"), None, D("-0.5")], pa.decimal128(38, 38)),
        "d128_10": pa.array([D("1234567890123456789012345678.0123456789"), D("-0.0000000001"), D("-1.1"), D("10"), None, D("0")], pa.decimal128(38, 10)),
        "d256": pa.array([D("1" * 56 + "." + "2" * 20), D("-0." + "0" * 19 + "7"), D("0"), None, D("-" + "9" * 56 + "." + "9" * 20), D("1")], pa.decimal256(76, 20)),
        "d5_1": pa.array([D("-0.1"), D("-1.0"), D("0.1"), D("1234.5"), None, D("-9999.9")], pa.decimal128(5, 1)),
    })


def temporal():
    return pa.table({
        "d32": pa.array([dt.date(1970, 1, 1), dt.date(1969, 12, 31), dt.date(1900, 2, 28), dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29), None], pa.date32()),
        "ts_s": pa.array([0, -1, 1_700_000_000, -62_135_596_800, 253_402_300_799, None, 1], pa.timestamp("s")),
        "ts_ms": pa.array([0, -1, 1_700_000_000_123, -1001, None, 1, 999], pa.timestamp("ms")),
        "ts_us": pa.array([0, -1, 1_700_000_000_123_456, None, 2**62, -2**62, 1], pa.timestamp("us")),
        "ts_ns": pa.array([0, -1, -1000, -1001, 999, 1_700_000_000_123_456_789, None], pa.timestamp("ns")),
        "ts_s_tz": pa.array([0, -1, 1_700_000_000, None, 1, 2, 3], pa.timestamp("s", tz="+05:30")),
        "ts_ms_tz": pa.array([0, -1, 1_700_000_000_123, None, 1, 2, 3], pa.timestamp("ms", tz="America/New_York")),
        "ts_us_tz": pa.array([0, -1, 1_700_000_000_123_456, None, 1, 2, 3], pa.timestamp("us", tz="UTC")),
        "ts_ns_tz": pa.array([0, -1, -999, 1_700_000_000_123_456_789, None, -2**63 + 1, 2**63 - 1], pa.timestamp("ns", tz="Europe/Berlin")),
    })


def nested():
    # Nested timestamps of unit ns must be whole microseconds here: without pandas,
    # pyarrow cannot turn sub-microsecond nested ns values into Python objects.
    point = pa.struct([("x", pa.int32()), ("y", pa.float64()), ("name", pa.string())])
    deep = pa.struct([
        ("inner", pa.struct([("ts", pa.timestamp("us", tz="UTC")), ("d", pa.date32()), ("z", pa.decimal128(10, 3))])),
        ("tags", pa.list_(pa.string())),
        ("\u00e9", pa.bool_()),
        ("B", pa.int64()),
        ("a", pa.int64()),
    ])
    ts_ns = pa.timestamp("ns")
    rows = 6
    t = pa.table({
        "pt": pa.array([{"x": 1, "y": -0.0, "name": "a"}, None, {"x": None, "y": math.nan, "name": "\n"}, {"x": 3, "y": 2.5, "name": "\U0001f600"}, {"x": 0, "y": 0.0, "name": ""}, {"x": 1, "y": -0.0, "name": "a"}], point),
        "deep": pa.array([
            {"inner": {"ts": dt.datetime(2020, 1, 1, 12, 0, 0, 123456, tzinfo=UTC), "d": dt.date(1960, 5, 5), "z": D("-0.001")}, "tags": ["x", None, "y"], "\u00e9": True, "B": 1, "a": 2},
            {"inner": None, "tags": [], "\u00e9": None, "B": None, "a": None},
            {"inner": {"ts": dt.datetime(1900, 1, 1, tzinfo=UTC), "d": None, "z": D("1234567.000")}, "tags": None, "\u00e9": False, "B": -1, "a": 0},
            None,
            {"inner": {"ts": None, "d": dt.date(2100, 1, 1), "z": None}, "tags": ["\u00e9", "e"], "\u00e9": True, "B": 5, "a": 6},
            {"inner": {"ts": dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "d": dt.date(1970, 1, 1), "z": D("0")}, "tags": [""], "\u00e9": True, "B": 0, "a": 0},
        ], deep),
        "li": pa.array([[1, 2, 3], [], None, [None, -1], [2**40], [0]], pa.list_(pa.int64())),
        "lls": pa.array([["b", "a"], None, [], ["\u0000"], ["x" * 50], [None]], pa.large_list(pa.string())),
        "fsl": pa.array([[1.0, -0.0], [math.nan, None], None, [1e-300, 2.0], [0.0, 0.0], [3.0, 4.0]], pa.list_(pa.float32(), 2)),
        "lts": pa.array([[0, -1000, 1_000_000_000], None, [], [None], [-86_400_000_000_000], [123_000]], pa.list_(ts_ns)),
        "lst": pa.array([[{"x": 1, "y": 1.0, "name": "p"}, None], [], None, [{"x": None, "y": None, "name": None}], [{"x": 2, "y": -1.0, "name": "q"}], []], pa.list_(point)),
        "ll": pa.array([[[1], [2, 3]], [[]], None, [None, [4]], [], [[5, 6, 7]]], pa.list_(pa.list_(pa.int16()))),
        "m": pa.array([
            [("b", 1), ("a", 2), ("aa", None), ("\u00e9", 3), ("B", 4)],
            [],
            None,
            [("z", -1)],
            [("\U0001f600", 1), ("\uff5e", 2), ("a", 10), ("a", 9)],
            [("k", 0)],
        ], pa.map_(pa.string(), pa.int32())),
        "mts": pa.array([
            [(2, {"ts": dt.datetime(2001, 1, 1, tzinfo=UTC), "n": 1}), (10, {"ts": None, "n": None}), (-1, None)],
            None,
            [],
            [(1, {"ts": dt.datetime(1950, 6, 1, 1, 2, 3, tzinfo=UTC), "n": 7})],
            [(0, {"ts": dt.datetime(1970, 1, 1, tzinfo=UTC), "n": 0})],
            [(3, None)],
        ], pa.map_(pa.int64(), pa.struct([("ts", pa.timestamp("ms", tz="Asia/Tokyo")), ("n", pa.int8())]))),
        "mlist": pa.array([
            [("k", [1, 2]), ("j", None), ("i", [])],
            [("only", [None])],
            None,
            [],
            [("x", [3])],
            [("x", [2]), ("x", [10])],
        ], pa.map_(pa.string(), pa.list_(pa.int32()))),
    })
    assert t.num_rows == rows
    return t


def dictionaries():
    s = pa.array(["b", "a", None, "b", "\u00e9", "a", "\U0001f600"]).dictionary_encode()
    i = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2, 0, 2, 1], pa.int8()), pa.array([10, -20, 2**40], pa.int64()))
    return pa.table({
        "ds": s,
        "di": i,
        "nul": pa.nulls(7, pa.null()),
        "plain": pa.array(range(7), pa.int32()),
    })


def empty():
    return pa.table({"a": pa.array([], pa.int32()), "s": pa.array([], pa.string())})


def ipc_extra():
    """Types Parquet cannot carry (or not unchanged): arrow IPC file, two batches."""
    b1 = pa.record_batch({
        "date64": pa.array([0, -1, 86_400_000, -86_400_001, 253_402_214_400_000, None], pa.date64()),
        "ts_s": pa.array([0, -1, 1_700_000_000, None, -62_135_596_800, 5], pa.timestamp("s", tz="+05:00")),
        "neg_scale": pa.array([D("1200"), D("-100"), D("0"), None, D("9900"), D("-9999900")], pa.decimal128(5, -2)),
        "d32_neg": pa.array([D("-0.07"), D("0.00"), D("-1.23"), D("9.99"), None, D("-9.99")], pa.decimal32(3, 2)),
        "lv": pa.array([[1, 2], [], None, [None], [3], [4, 5, 6]], pa.list_view(pa.int32())),
        "nul": pa.nulls(6, pa.null()),
        "sd": pa.array([{"k": "a"}, {"k": None}, None, {"k": "b"}, {"k": "a"}, {"k": "c"}],
                       pa.struct([("k", pa.dictionary(pa.int32(), pa.string()))])),
        "f16": pa.array([1.0, -0.0, math.nan, None, 0.333, 2.0], pa.float16()),
        # the Rust parquet reader cannot read a dictionary of decimals, so it is here
        "dd": pa.DictionaryArray.from_arrays(pa.array([0, 1, 1, 0, None, 0], pa.int16()),
                                             pa.array([D("1.10"), D("-0.05")], pa.decimal128(5, 2))),
    })
    b2 = pa.record_batch({
        "date64": pa.array([1, None, -86_400_000 * 365], pa.date64()),
        "ts_s": pa.array([None, 7, -7], pa.timestamp("s", tz="+05:00")),
        "neg_scale": pa.array([D("100"), D("-200"), None], pa.decimal128(5, -2)),
        "d32_neg": pa.array([D("0.01"), D("-0.01"), None], pa.decimal32(3, 2)),
        "lv": pa.array([[7], None, []], pa.list_view(pa.int32())),
        "nul": pa.nulls(3, pa.null()),
        "sd": pa.array([{"k": "z"}, None, {"k": None}], pa.struct([("k", pa.dictionary(pa.int32(), pa.string()))])),
        "f16": pa.array([65504.0, -65504.0, None], pa.float16()),
        "dd": pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.int16()),
                                             pa.array([D("1.10"), D("-0.05")], pa.decimal128(5, 2))),
    })
    return [b1, b2]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}

    def record(name, written, read_back):
        h_mem = canonical.canonical_hash(written)
        h_file = canonical.canonical_hash(read_back)
        assert h_mem == h_file, f"{name}: hash changed through the file ({h_mem} vs {h_file})"
        lines = canonical.canonical_lines(read_back)
        expected[name] = {"num_rows": read_back.num_rows, "hash": h_file, "lines": lines}
        print(f"{name}: {read_back.num_rows} rows {h_file}")

    for name, make, rg in [
        ("primitives", primitives, 4),
        ("decimals", decimals, 1000),
        ("temporal", temporal, 3),
        ("nested", nested, 2),
        ("dictionaries", dictionaries, 1000),
        ("empty", empty, 1000),
    ]:
        t = make()
        path = OUT / f"{name}.parquet"
        pq.write_table(t, path, row_group_size=rg, compression="snappy")
        record(path.name, t, pq.read_table(path))

    # one dictionary per field for the whole file (IPC files allow no replacement)
    t = pa.Table.from_batches(ipc_extra()).combine_chunks()
    path = OUT / "ipc_extra.arrow"
    with ipc.new_file(path, t.schema) as w:
        for b in t.to_batches(max_chunksize=6):
            w.write_batch(b)
    with ipc.open_file(path) as r:
        record(path.name, t, r.read_all())

    text = json.dumps(expected, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    (OUT / "expected.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
