#!/usr/bin/env python3
"""The inputs and delta-rs template tables of the benchmark (BENCHMARKS.md, "Data").

    bench_data.py --scale small|full --out DATA

Writes DATA/input/{base,commits,concurrent,merge_source}.parquet, the delta-rs tables
DATA/template/{base,sorted50,small200,log_cp,log_nocp} and, last, DATA/manifest.json
with every parameter the harnesses read. Every column is drawn from
numpy.random.default_rng([SEED, stream]), so the scale fixes the rows. When
DATA/manifest.json already names this scale and GENERATOR_VERSION, nothing is done;
otherwise the inputs and templates are written anew.
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEED = 20261124
# Raise when the rows or templates written change: older data is then written again.
GENERATOR_VERSION = 1

# n: rows of the big table; c2: W2 commits; c11: W11 commits per worker;
# c3 / c3b: commits of log_cp / log_nocp; w6_version: the version W6 opens.
SCALES = {
    "small": dict(n=100_000, c2=20, c11=5, c3=200, c3b=100, w6_version=100),
    "full": dict(n=5_000_000, c2=200, c11=25, c3=2000, c3b=1000, w6_version=1000),
}
BATCH_ROWS = 1000  # rows of a W2 or W11 commit
LOG_ROWS = 10  # rows of a log_cp / log_nocp commit
WORKERS = 4  # W11 writer processes
SORTED_PARTS = 50  # appends of template/sorted50
SMALL_PARTS = 200  # appends of template/small200
W2_FIRST_ID = 1_000_000_000
W11_FIRST_ID = 2_000_000_000
CATEGORIES = [f"cat_{i:02d}" for i in range(20)]
EPOCH_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
ALPHANUMERIC = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)

# The RNG streams, one per thing drawn.
BASE_STREAM, COMMITS_STREAM, CONCURRENT_STREAM, MERGE_PICK_STREAM, MERGE_NEW_STREAM = 1, 2, 3, 4, 5

SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("key", pa.string()),
    ("category", pa.string()),
    ("value", pa.float64()),
    ("qty", pa.int32()),
    ("ts", pa.timestamp("us", tz="UTC")),
    ("day", pa.date32()),
    ("payload", pa.string()),
])


def progress(message):
    print(f"bench_data {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def strings(chars, width):
    """Fixed-width strings from a flat uint8 array of characters."""
    count = len(chars) // width
    offsets = np.arange(count + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])


def rows(ids, stream):
    """The bench rows of these ids, drawn from one RNG stream, column by column."""
    count = len(ids)
    rng = np.random.default_rng([SEED, stream])
    key = strings(HEX[rng.integers(0, len(HEX), count * 16, dtype=np.uint8)], 16)
    category = pc.take(pa.array(CATEGORIES), pa.array(rng.integers(0, 20, count, dtype=np.int32)))
    value = np.round(rng.standard_normal(count) * 100.0, 4)
    qty = rng.integers(0, 1000, count, dtype=np.int32)
    ts = EPOCH_US + ids * 1_000_000 + rng.integers(0, 1_000_000, count)
    day = (ts // 86_400_000_000).astype(np.int32)
    payload = strings(
        ALPHANUMERIC[rng.integers(0, len(ALPHANUMERIC), count * 40, dtype=np.uint8)], 40)
    columns = [ids, key, category, value, qty, ts, day, payload]
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, SCHEMA)], schema=SCHEMA)


def id_range(first, count):
    return first + np.arange(count, dtype=np.int64)


def merge_source(base, n):
    """n/10 distinct existing ids with value + 1000 and n/10 new ids from n, shuffled."""
    size = n // 5
    matched = size // 2
    rng = np.random.default_rng([SEED, MERGE_PICK_STREAM])
    picked = base.take(np.sort(rng.choice(n, matched, replace=False)))
    at = picked.schema.get_field_index("value")
    picked = picked.set_column(at, SCHEMA.field("value"), pc.add(picked["value"], 1000.0))
    fresh = rows(id_range(n, size - matched), MERGE_NEW_STREAM)
    both = pa.concat_tables([picked, fresh])
    return both.take(rng.permutation(both.num_rows))


def write_inputs(folder, p):
    """The four input files; returns the base table, which the templates are made of."""
    n = p["n"]
    base = rows(id_range(0, n), BASE_STREAM)
    pq.write_table(base, os.path.join(folder, "base.parquet"), row_group_size=1_000_000)
    commits = rows(id_range(W2_FIRST_ID, p["c2"] * BATCH_ROWS), COMMITS_STREAM)
    pq.write_table(commits, os.path.join(folder, "commits.parquet"))
    concurrent = rows(id_range(W11_FIRST_ID, WORKERS * p["c11"] * BATCH_ROWS), CONCURRENT_STREAM)
    pq.write_table(concurrent, os.path.join(folder, "concurrent.parquet"))
    pq.write_table(merge_source(base, n), os.path.join(folder, "merge_source.parquet"))
    return base


def appends(path, base, parts, part_rows, hooks=None):
    """base rows [i * part_rows, (i + 1) * part_rows) for i < parts, one append commit
    each, through one open table handle after the first."""
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(path, base.slice(0, part_rows), mode="append",
                    post_commithook_properties=hooks)
    table = DeltaTable(path)
    for i in range(1, parts):
        write_deltalake(table, base.slice(i * part_rows, part_rows), mode="append",
                        post_commithook_properties=hooks)


def write_templates(folder, p, base):
    """The delta-rs tables, each written with delta-rs's default options."""
    from deltalake import PostCommitHookProperties, write_deltalake

    n = p["n"]
    write_deltalake(os.path.join(folder, "base"), base, mode="append")
    progress("template/base")
    appends(os.path.join(folder, "sorted50"), base, SORTED_PARTS, n // SORTED_PARTS)
    progress("template/sorted50")
    appends(os.path.join(folder, "small200"), base, SMALL_PARTS, n // SMALL_PARTS)
    progress("template/small200")
    # delta-rs's default post-commit hook checkpoints versions 99, 199, ...
    appends(os.path.join(folder, "log_cp"), base, p["c3"], LOG_ROWS)
    progress("template/log_cp")
    appends(os.path.join(folder, "log_nocp"), base, p["c3b"], LOG_ROWS,
            PostCommitHookProperties(create_checkpoint=False))
    progress("template/log_nocp")


def manifest(scale, p):
    import deltalake

    n = p["n"]
    w5_lo = int(n * 0.37)
    return dict(
        scale=scale,
        seed=SEED,
        generator_version=GENERATOR_VERSION,
        batch_rows=BATCH_ROWS,
        log_rows=LOG_ROWS,
        w11_workers=WORKERS,
        categories=CATEGORIES,
        **p,
        w5_lo=w5_lo,
        w5_hi=w5_lo + 10_000,
        w8_categories=["cat_03", "cat_11"],
        w9_category="cat_07",
        w10_target_size=256 * 1024 * 1024,
        generator_versions=dict(numpy=np.__version__, pyarrow=pa.__version__,
                                deltalake=deltalake.__version__,
                                python=sys.version.split()[0]),
    )


def up_to_date(path, scale):
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return False
    return old.get("scale") == scale and old.get("generator_version") == GENERATOR_VERSION


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=sorted(SCALES), required=True)
    ap.add_argument("--out", required=True, help="the data directory")
    args = ap.parse_args()
    manifest_path = os.path.join(args.out, "manifest.json")
    if up_to_date(manifest_path, args.scale):
        progress(f"{args.out} holds the {args.scale} data already")
        return 0
    p = SCALES[args.scale]
    # the manifest goes first and comes back last, so a partial directory is never taken
    # for a finished one
    if os.path.exists(manifest_path):
        os.remove(manifest_path)
    folders = {name: os.path.join(args.out, name) for name in ("input", "template")}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
    began = time.perf_counter()
    base = write_inputs(folders["input"], p)
    progress(f"inputs ({time.perf_counter() - began:.1f} s)")
    write_templates(folders["template"], p, base)
    with open(manifest_path, "w") as f:
        json.dump(manifest(args.scale, p), f, indent=1)
    progress(f"{args.scale} data in {args.out} ({time.perf_counter() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
