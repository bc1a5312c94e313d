#!/usr/bin/env python3
"""Q1 on delta-rs: the SQL of delta-bench/src/q1.sql over template/base through
delta-rs's DataFusion table provider (its QueryBuilder), the delta-rs side of the
workload `cargo xtask bench` runs as Q1.

    bench_sql.py --data DATA --sql FILE --out results.jsonl [--repeat N]

Each repeat is a fresh process. The clock runs around planning, executing and
collecting the query, after imports; `peak_rss_mib` is the high-water RSS of the
whole process as the kernel reports it at exit (wait4), `op_peak_rss_mib` that of the
query alone (the mark is reset before the clock starts). One JSON line per repeat,
in the record format of delta-bench, is appended to the results file.
"""
import argparse
import json
import os
import sys

from benchproc import emit, last_line, measured, record, report, run_child, warm


def child(table, sql_file):
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable, QueryBuilder

    with open(sql_file) as f:
        sql = f.read()
    result, out = measured(
        lambda: pa.table(QueryBuilder().register("t", DeltaTable(table)).execute(sql).read_all()))
    out.update(
        rows=result.num_rows,
        extra=dict(
            count=int(pc.sum(result["n"]).as_py()),
            sum_value=float(pc.sum(result["sum_value"]).as_py()),
        ),
    )
    report(out)


def parent(args):
    import deltalake

    with open(os.path.join(args.data, "manifest.json")) as f:
        scale = json.load(f)["scale"]
    table = os.path.join(args.data, "template", "base")
    for repeat in range(args.repeat):
        warm(table)
        finished = run_child(
            [sys.executable, os.path.abspath(__file__), "--child", table, "--sql", args.sql])
        result = last_line(finished.stdout) if finished.code == 0 else None
        error = None if result is not None else finished.failure()
        emit(record("Q1", "sql-filtered-aggregate", f"deltalake {deltalake.__version__}",
                    scale, repeat, finished, result, error), args.out)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--sql", required=True)
    ap.add_argument("--out")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.sql)
        return 0
    if not args.data or not args.out:
        ap.error("--data and --out are required")
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
