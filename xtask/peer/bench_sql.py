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
import datetime
import json
import os
import platform
import subprocess
import sys
import time


def status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return None


def read_all_files(path):
    """Read the table once, so every implementation starts from a warm page cache."""
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(1 << 22):
                    pass


def child(table, sql_file):
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable, QueryBuilder

    with open(sql_file) as f:
        sql = f.read()
    rss_before = status_mib("VmRSS")
    reset = True
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        reset = False
    start = time.perf_counter()
    result = pa.table(QueryBuilder().register("t", DeltaTable(table)).execute(sql).read_all())
    seconds = time.perf_counter() - start
    out = dict(
        seconds=seconds,
        rss_before_mib=rss_before,
        op_peak_rss_mib=status_mib("VmHWM") if reset else None,
        rows=result.num_rows,
        extra=dict(
            count=int(pc.sum(result["n"]).as_py()),
            sum_value=float(pc.sum(result["sum_value"]).as_py()),
        ),
    )
    print("RESULT " + json.dumps(out), flush=True)


def parent(args):
    import deltalake

    with open(os.path.join(args.data, "manifest.json")) as f:
        scale = json.load(f)["scale"]
    table = os.path.join(args.data, "template", "base")
    for repeat in range(args.repeat):
        read_all_files(table)
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", table, "--sql", args.sql],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout = proc.stdout.read()
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        record = dict(
            workload="Q1",
            name="sql-filtered-aggregate",
            impl="delta-rs",
            impl_version=f"deltalake {deltalake.__version__}",
            scale=scale,
            repeat=repeat,
            ok=False,
            seconds=None,
            peak_rss_mib=usage.ru_maxrss / 1024.0,
            rows=None,
            files_read=None,
            process_seconds=time.perf_counter() - began,
            extra={},
            utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            host=dict(machine=platform.machine(), cores=os.cpu_count(), os=sys.platform,
                      node=platform.node()),
        )
        lines = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
        if proc.returncode == 0 and lines:
            record.update(json.loads(lines[-1][len("RESULT "):]))
            record["ok"] = True
        else:
            record["error"] = f"exit {proc.returncode}: {stderr.strip()[-400:]}"
        line = json.dumps(record)
        print(line, flush=True)
        with open(args.out, "a") as f:
            f.write(line + "\n")
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
