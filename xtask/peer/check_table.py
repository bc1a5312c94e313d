#!/usr/bin/env python3
"""Compare a table's content, as another reader sees it, with our reader's report.

    check_table.py TABLE --expect FILE --reader querybuilder|polars|manual-cast

FILE is `<table>.ours.json` ({"latest_version", "versions": [{"version", "num_rows",
"hash"}]}). `querybuilder` reads every listed version with delta-rs's DataFusion scan
(it applies column mapping, which delta-rs's pyarrow path does not); `polars` reads the
latest version with polars.read_delta; `manual-cast` (for type-widened tables, which
delta-rs and Polars refuse) reads the Parquet files delta-rs lists for every version with
pyarrow and casts them to the table schema (unpartitioned tables only).
Hashes by ../shared/peer/canonical.py.
Exit status 0 equal, 1 a difference (on stderr), 2 bad usage.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "peer"))
from canonical import canonical_hash  # noqa: E402


def querybuilder(table, version):
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder

    dt = DeltaTable(table, version=version)
    t = pa.table(QueryBuilder().register("t", dt).execute("select * from t").read_all())
    return t.num_rows, canonical_hash(t)


def manual_cast(table, version):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    dt = DeltaTable(table, version=version)
    schema = pa.schema(dt.schema().to_arrow())
    parts = []
    for uri in dt.file_uris():
        t = pq.read_table(uri.removeprefix("file://"))
        parts.append(t.select([f.name for f in schema if f.name in t.column_names]))
    if not parts:
        return 0, canonical_hash(schema.empty_table())
    t = pa.concat_tables(parts, promote_options="permissive").select(schema.names).cast(schema)
    return t.num_rows, canonical_hash(t)


def polars_latest(table):
    import polars as pl

    t = pl.read_delta(table).to_arrow()
    return t.num_rows, canonical_hash(t)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("table")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--reader", choices=["querybuilder", "polars", "manual-cast"], required=True)
    args = ap.parse_args(argv)
    with open(args.expect) as f:
        expected = json.load(f)
    failures = []
    for e in expected["versions"]:
        if args.reader == "polars" and e["version"] != expected["latest_version"]:
            continue
        try:
            if args.reader == "polars":
                got = polars_latest(args.table)
            elif args.reader == "manual-cast":
                got = manual_cast(args.table, e["version"])
            else:
                got = querybuilder(args.table, e["version"])
        except Exception as err:  # a reader failure is a difference
            failures.append(f"version {e['version']}: {args.reader} cannot read it: {type(err).__name__}: {err}")
            continue
        if got != (e["num_rows"], e["hash"]):
            failures.append(f"version {e['version']}: ours rows={e['num_rows']} hash={e['hash']} / {args.reader} rows={got[0]} hash={got[1]}")
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    rc = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # deltalake 1.6 + pyarrow 26 can abort in interpreter teardown
