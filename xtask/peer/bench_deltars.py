#!/usr/bin/env python3
"""The workloads of BENCHMARKS.md on delta-rs (the Python deltalake package): the reference
side of `cargo xtask bench`.

    bench_deltars.py --data DATA --work SCRATCH --out results.jsonl
                     [--only W1,W4] [--repeat N] [--timeout SECONDS] [--keep]

DATA is what bench_data.py wrote; it is only read. For each repeat and workload a setup
process prepares the table (SCRATCH/<workload> is created empty, copied from a template
or removed; read workloads use the template in place) and reads it once to warm the page
cache; then a fresh process loads the inputs and runs the operation, measured as
benchproc.py says. The parent checks the counts BENCHMARKS.md asks for (a record whose counts
are wrong is not ok), appends one JSON line per run to the results file, echoes it, and
removes SCRATCH/<workload> unless --keep.

W11 runs its workers as processes of their own: each loads its batches and opens the
table, prints READY and waits for GO on stdin; the clock runs from GO until all have
exited, and its peak RSS is the largest of theirs.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from benchproc import emit, last_line, measured, record, report, run_child, warm

HERE = os.path.abspath(__file__)
SETUP_LINE = "SETUP "
WORKER_LINE = "WORKER "
RETRIES = 10  # W11: retries of a failed commit, each on a table opened again

# Each workload's name and how its table is prepared: "absent" (the path must not
# exist), "create" (an empty table with the bench schema), "read" (the template in place)
# or "copy" (a byte-identical copy of the template in SCRATCH).
WORKLOADS = {
    "W1": ("append-large", "absent", None),
    "W2": ("append-small-commits", "create", None),
    "W3": ("snapshot-load", "read", "log_cp"),
    "W3b": ("snapshot-load-nocheckpoint", "read", "log_nocp"),
    "W4": ("full-scan", "read", "base"),
    "W5": ("filtered-scan", "read", "sorted50"),
    "W6": ("time-travel", "read", "log_cp"),
    "W7": ("merge-upsert", "copy", "base"),
    "W8": ("delete-10pct", "copy", "base"),
    "W9": ("update-10pct", "copy", "base"),
    "W10": ("optimize-compact", "copy", "small200"),
    "W11": ("concurrent-appends", "create", None),
}


def load_manifest(data):
    with open(os.path.join(data, "manifest.json")) as f:
        return json.load(f)


def input_file(data, name):
    return os.path.join(data, "input", name)


def template_path(args, workload):
    return os.path.join(args.data, "template", WORKLOADS[workload][2])


def in_scratch(workload):
    return WORKLOADS[workload][1] != "read"


def table_path(args, workload):
    if in_scratch(workload):
        return os.path.join(args.work, workload)
    return template_path(args, workload)


def read_input(data, name, columns=None):
    return pq.read_table(input_file(data, name), columns=columns)


def batches(table, rows, numbers):
    return [table.slice(i * rows, rows) for i in numbers]


def append(table, data):
    write_deltalake(table, data, mode="append")


def category_filter(m, workload):
    if workload == "W8":
        return "category IN ({})".format(", ".join(f"'{c}'" for c in m["w8_categories"]))
    return f"category = '{m['w9_category']}'"


# --------------------------------------------------------------------------- setup

def setup(args, workload):
    """Prepare and warm the table; returns what the checks of the run need."""
    path = table_path(args, workload)
    how = WORKLOADS[workload][1]
    if in_scratch(workload):
        shutil.rmtree(path, ignore_errors=True)
    if how == "create":
        DeltaTable.create(path, pq.read_schema(input_file(args.data, "base.parquet")))
    elif how == "copy":
        shutil.copytree(template_path(args, workload), path)
    if how != "absent":
        warm(path)
    facts = {}
    if workload == "W4":
        value = read_input(args.data, "base.parquet", ["value"])["value"]
        facts = dict(sum_value=pc.sum(value).as_py(), count=len(value))
    elif workload in ("W8", "W9"):
        m = load_manifest(args.data)
        wanted = m["w8_categories"] if workload == "W8" else [m["w9_category"]]
        category = read_input(args.data, "base.parquet", ["category"])["category"]
        facts = dict(rows=pc.sum(pc.is_in(category, value_set=pa.array(wanted))).as_py())
    elif workload == "W10":
        facts = dict(files=len(DeltaTable(path).file_uris()))
    report(facts, SETUP_LINE)


# --------------------------------------------------------------------------- runs
# Each returns what benchproc.measured measured, with rows, files_read and extra.

def w1(args, m, path):
    data = read_input(args.data, "base.parquet")
    _, out = measured(lambda: append(path, data))
    table = DeltaTable(path)
    stats = pa.table(table.get_add_actions(flatten=True))
    return dict(out, rows=data.num_rows, extra=dict(
        files_written=len(table.file_uris()),
        rows_in_stats=sum(stats["num_records"].to_pylist())))


def w2(args, m, path):
    parts = batches(read_input(args.data, "commits.parquet"), m["batch_rows"], range(m["c2"]))

    def commit_all():
        table = DeltaTable(path)
        for part in parts:
            append(table, part)

    _, out = measured(commit_all)
    table = DeltaTable(path)
    log = os.listdir(os.path.join(path, "_delta_log"))
    checkpoints = sorted(int(f.split(".")[0]) for f in log if f.endswith(".checkpoint.parquet"))
    return dict(out, rows=m["c2"] * m["batch_rows"], extra=dict(
        commits=m["c2"], final_version=table.version(), files_written=len(table.file_uris()),
        checkpoints=checkpoints))


def snapshot(version):
    def run(args, m, path):
        def load():
            table = DeltaTable(path, version=m[version] if version else None)
            return table.version(), len(table.file_uris())

        (at, files), out = measured(load)
        return dict(out, extra=dict(active_files=files, version=at))

    return run


def w4(args, m, path):
    def scan():
        table = DeltaTable(path)
        data = pa.RecordBatchReader.from_stream(table.scan()).read_all()
        return table, pc.sum(data["value"]).as_py(), data.num_rows

    (table, total, count), out = measured(scan)
    return dict(out, rows=count, files_read=len(table.file_uris()),
                extra=dict(sum_value=total, count=count))


def w5(args, m, path):
    predicate = f"id >= {m['w5_lo']} AND id <= {m['w5_hi']}"

    def scan():
        table = DeltaTable(path)
        return table, pa.RecordBatchReader.from_stream(table.scan(predicate=predicate)).read_all()

    (table, data), out = measured(scan)
    # delta-rs does not say which files it opened: count the list its stats keep
    pruned = table.file_uris(file_pruning_predicate=predicate)
    return dict(out, rows=data.num_rows, files_read=len(pruned),
                extra=dict(total_files=len(table.file_uris())))


def w7(args, m, path):
    source = read_input(args.data, "merge_source.parquet")

    def merge():
        return (DeltaTable(path)
                .merge(source, predicate="t.id = s.id", source_alias="s", target_alias="t")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute())

    metrics, out = measured(merge)
    keys = ("num_target_rows_updated", "num_target_rows_inserted",
            "num_target_files_added", "num_target_files_removed")
    return dict(out, rows=source.num_rows, extra={k: metrics.get(k) for k in keys})


def w8(args, m, path):
    metrics, out = measured(lambda: DeltaTable(path).delete(category_filter(m, "W8")))
    return dict(out, rows=metrics.get("num_deleted_rows"), extra=metrics)


def w9(args, m, path):
    metrics, out = measured(lambda: DeltaTable(path).update(
        updates={"value": "value * 2"}, predicate=category_filter(m, "W9")))
    return dict(out, rows=metrics.get("num_updated_rows"), extra=metrics)


def w10(args, m, path):
    metrics, out = measured(
        lambda: DeltaTable(path).optimize.compact(target_size=m["w10_target_size"]))
    keys = ("numFilesAdded", "numFilesRemoved", "totalConsideredFiles")
    return dict(out, rows=m["n"], extra={k: metrics.get(k) for k in keys})


def w11(args, m, path):
    """The coordinator: its workers' appends from GO until the last has exited."""
    workers = []
    for index in range(m["w11_workers"]):
        worker = subprocess.Popen(
            child_argv(args, "W11", "worker") + ["--worker", str(index)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        workers.append(worker)
    for index, worker in enumerate(workers):
        line = worker.stdout.readline().strip()
        if line != "READY":
            raise SystemExit(f"W11 worker {index} did not get ready: {line!r}")
    start = time.perf_counter()
    for worker in workers:
        worker.stdin.write("GO\n")
        worker.stdin.close()
    reports, peaks = [], []
    for index, worker in enumerate(workers):
        said = last_line(worker.stdout.read(), WORKER_LINE)
        _, status, usage = os.wait4(worker.pid, 0)
        worker.returncode = os.waitstatus_to_exitcode(status)
        if worker.returncode != 0 or said is None:
            raise SystemExit(f"W11 worker {index} failed: exit {worker.returncode}")
        reports.append(said)
        peaks.append(usage.ru_maxrss / 1024.0)
    seconds = time.perf_counter() - start
    table = DeltaTable(path)
    committed = sum(r["committed"] for r in reports)
    return dict(
        seconds=seconds, rss_before_mib=None, op_peak_rss_mib=None, peak_rss_mib=max(peaks),
        rows=committed * m["batch_rows"],
        extra=dict(
            workers=m["w11_workers"], commits_per_worker=m["c11"], committed=committed,
            failed_commits=sum(r["failed"] for r in reports),
            retries=sum(r["retries"] for r in reports),
            errors=sorted({e for r in reports for e in r["errors"]})[:5],
            final_version=table.version(), active_files=len(table.file_uris()),
            per_worker_seconds=[round(r["seconds"], 3) for r in reports]))


def w11_worker(args, m, index):
    """One W11 writer: its c11 batches of concurrent.parquet, one append commit each."""
    path = table_path(args, "W11")
    count = m["c11"]
    mine = batches(read_input(args.data, "concurrent.parquet"), m["batch_rows"],
                   range(index * count, (index + 1) * count))
    table = DeltaTable(path)
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        raise SystemExit("W11 worker: the coordinator went away before GO")
    start = time.perf_counter()
    committed = failed = retries = 0
    errors = []
    for part in mine:
        for attempt in range(RETRIES + 1):
            try:
                append(table, part)
                committed += 1
                break
            except Exception as e:  # a commit conflict, surfaced after delta-rs's own retries
                errors.append(f"{type(e).__name__}: {e}"[:200])
                if attempt == RETRIES:
                    failed += 1
                    break
                retries += 1
                try:
                    table = DeltaTable(path)
                except Exception:  # the next attempt fails and counts on the old handle
                    pass
    report(dict(committed=committed, failed=failed, retries=retries, errors=errors[:5],
                seconds=time.perf_counter() - start), WORKER_LINE)


RUNS = {"W1": w1, "W2": w2, "W3": snapshot(None), "W3b": snapshot(None),
        "W4": w4, "W5": w5, "W6": snapshot("w6_version"), "W7": w7, "W8": w8, "W9": w9,
        "W10": w10, "W11": w11}


# --------------------------------------------------------------------------- checks

def expectations(workload, m, facts, result):
    """(what, actual, expected) for each count BENCHMARKS.md fixes."""
    extra = result.get("extra") or {}
    n, rows = m["n"], result.get("rows")
    if workload == "W1":
        return [("rows", rows, n), ("numRecords in the stats", extra.get("rows_in_stats"), n)]
    if workload == "W2":
        return [("rows", rows, m["c2"] * m["batch_rows"]),
                ("final version", extra.get("final_version"), m["c2"]),
                ("files", extra.get("files_written"), m["c2"])]
    if workload in ("W3", "W3b"):
        commits = m["c3"] if workload == "W3" else m["c3b"]
        return [("active files", extra.get("active_files"), commits),
                ("version", extra.get("version"), commits - 1)]
    if workload == "W6":
        return [("active files", extra.get("active_files"), m["w6_version"] + 1),
                ("version", extra.get("version"), m["w6_version"])]
    if workload == "W4":
        close = abs(extra.get("sum_value", 0.0) - facts["sum_value"]) <= 1e-9 * n
        return [("count", rows, facts["count"]),
                ("sum(value) equal to the input's within 1e-9 n", close, True)]
    if workload == "W5":
        return [("rows", rows, m["w5_hi"] - m["w5_lo"] + 1)]
    if workload == "W7":
        return [("rows", rows, n // 5),
                ("updated", extra.get("num_target_rows_updated"), n // 10),
                ("inserted", extra.get("num_target_rows_inserted"), n // 5 - n // 10)]
    if workload in ("W8", "W9"):
        return [("rows", rows, facts["rows"])]
    if workload == "W10":
        return [("files removed", extra.get("numFilesRemoved"), facts["files"])]
    if workload != "W11":
        raise SystemExit(f"no checks for {workload}")
    commits = m["w11_workers"] * m["c11"]
    return [("rows", rows, commits * m["batch_rows"]),
            ("failed commits", extra.get("failed_commits"), 0),
            ("final version", extra.get("final_version"), commits),
            ("active files", extra.get("active_files"), commits)]


def check(workload, m, facts, result):
    """Print the checked counts; returns what is wrong, or None."""
    found = expectations(workload, m, facts, result)
    print(f"# {workload} " + ", ".join(f"{what} {actual}" for what, actual, _ in found),
          file=sys.stderr, flush=True)
    wrong = [f"{what} is {actual}, expected {expected}"
             for what, actual, expected in found if actual != expected]
    return "check failed: " + "; ".join(wrong) if wrong else None


# --------------------------------------------------------------------------- parent

def child_argv(args, workload, phase):
    return [sys.executable, HERE, "--data", args.data, "--work", args.work,
            "--child", workload, "--phase", phase]


def run_once(args, m, version, workload, repeat):
    name = WORKLOADS[workload][0]
    prepared = run_child(child_argv(args, workload, "setup"), args.timeout)
    facts = last_line(prepared.stdout, SETUP_LINE) if prepared.code == 0 else None
    if facts is None:
        return record(workload, name, version, m["scale"], repeat, None,
                      error="setup " + prepared.failure())
    finished = run_child(child_argv(args, workload, "run"), args.timeout)
    result = last_line(finished.stdout) if finished.code == 0 else None
    if result is None:
        error = "run " + finished.failure()
    else:
        error = check(workload, m, facts, result)
    return record(workload, name, version, m["scale"], repeat, finished, result, error)


def suite(args):
    from importlib.metadata import version

    m = load_manifest(args.data)
    only = [w.strip() for w in args.only.split(",")] if args.only else list(WORKLOADS)
    unknown = [w for w in only if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workloads {','.join(unknown)}; "
                         f"choose from {','.join(WORKLOADS)}")
    os.makedirs(args.work, exist_ok=True)
    impl_version = f"deltalake {version('deltalake')}"
    for repeat in range(args.repeat):
        for workload in only:
            rec = run_once(args, m, impl_version, workload, repeat)
            if not rec["ok"]:
                print(f"# {workload} delta-rs: {rec['error']}", file=sys.stderr, flush=True)
            emit(rec, args.out)
            if in_scratch(workload) and not args.keep:
                shutil.rmtree(table_path(args, workload), ignore_errors=True)
    return 0


def child(args):
    m = load_manifest(args.data)
    if args.phase == "setup":
        setup(args, args.child)
    elif args.phase == "worker":
        w11_worker(args, m, args.worker)
    else:
        report(RUNS[args.child](args, m, table_path(args, args.child)))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the data bench_data.py wrote")
    ap.add_argument("--work", required=True, help="scratch space for the tables written")
    ap.add_argument("--out", help="results file the JSON lines are appended to")
    ap.add_argument("--only", help="comma-separated workloads, e.g. W1,W4 (default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each workload")
    ap.add_argument("--timeout", type=float, default=900, help="limit of each process, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the tables written in --work")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.data, args.work = os.path.abspath(args.data), os.path.abspath(args.work)
    if args.child:
        return child(args)
    if not args.out:
        ap.error("--out is required")
    return suite(args)


if __name__ == "__main__":
    sys.exit(main())
