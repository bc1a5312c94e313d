#!/usr/bin/env python3
"""Compare a table's content, as other readers see it, with our reader's report.

    check_table.py TABLE --expect FILE --reader R [--reader R ...]
        R: deltalake | querybuilder | polars | manual-cast

FILE is `<table>.ours.json` ({"latest_version", "versions": [{"version", "num_rows",
"hash"}]}). Every reader given must agree with it:
`deltalake` reads every listed version with delta-rs's plain pyarrow path
(DeltaTable(TABLE, version=v).to_pyarrow_table()); `querybuilder` reads every listed
version with delta-rs's DataFusion scan (it applies column mapping, which delta-rs's
pyarrow path does not); `polars` reads the latest version with polars.read_delta;
`manual-cast` (for type-widened tables, which delta-rs and Polars refuse) reads the
Parquet files delta-rs lists for every version with pyarrow and casts them to the table
schema (unpartitioned tables only).
Hashes by canonical.py beside this script.
Exit status 0 equal, 1 a difference (on stderr), 2 bad usage.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canonical import canonical_hash  # noqa: E402


def deltalake_pyarrow(table, version):
    from deltalake import DeltaTable

    t = DeltaTable(table, version=version).to_pyarrow_table()
    return t.num_rows, canonical_hash(t)


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
    parts = [schema.empty_table()]
    for uri in dt.file_uris():
        t = pq.read_table(uri.removeprefix("file://"))
        # each file is cast on its own: files written before and after a widening hold
        # types that cannot be merged with each other (date vs timestamp_ntz)
        columns = [
            t.column(f.name).cast(f.type) if f.name in t.column_names else pa.nulls(t.num_rows, f.type)
            for f in schema
        ]
        parts.append(pa.Table.from_arrays(columns, schema=schema))
    t = pa.concat_tables(parts)
    return t.num_rows, canonical_hash(t)


def polars_latest(table, _version):
    import polars as pl

    t = pl.read_delta(table).to_arrow()
    return t.num_rows, canonical_hash(t)


# name -> (read one version: (table, version) -> (num_rows, hash), reads only the latest)
READERS = {
    "deltalake": (deltalake_pyarrow, False),
    "querybuilder": (querybuilder, False),
    "polars": (polars_latest, True),
    "manual-cast": (manual_cast, False),
}


def check(table, expected, reader):
    """The differences between `reader`'s view of `table` and the report, as messages."""
    read, latest_only = READERS[reader]
    failures = []
    for e in expected["versions"]:
        if latest_only and e["version"] != expected["latest_version"]:
            continue
        try:
            got = read(table, e["version"])
        except Exception as err:  # a reader failure is a difference
            failures.append(f"version {e['version']}: {reader} cannot read it: {type(err).__name__}: {err}")
            continue
        if got != (e["num_rows"], e["hash"]):
            failures.append(
                f"version {e['version']}: ours rows={e['num_rows']} hash={e['hash']}"
                f" / {reader} rows={got[0]} hash={got[1]}"
            )
    return failures


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--reader", choices=list(READERS), action="append", required=True,
                    help="a reader that must agree with the report (repeatable)")
    args = ap.parse_args(argv)
    with open(args.expect) as f:
        expected = json.load(f)
    failures = []
    for reader in dict.fromkeys(args.reader):  # each once, in the order given
        failures.extend(check(args.table, expected, reader))
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    rc = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # deltalake 1.6 + pyarrow 26 can abort in interpreter teardown
