#!/usr/bin/env python3
"""Check that CHECK and NOT NULL constraints hold across delta-rs and our `delta` binary.

    constraints.py --delta BIN --work DIR

1. delta-rs creates a table with a NOT NULL column and CHECK constraints (one on a
   nested field, which delta-rs stores as `get_field(s, 'a') > 0`); our binary must
   refuse every violating file, naming the rule, and leave the table unchanged; a
   valid file goes in, and delta-rs reads it back.
2. Our binary creates a table with the same rules (`create --constraint`, then
   `constraint add`); delta-rs must refuse violating rows and accept valid ones,
   and our binary reads the result.
Exit status 0 when every step behaved, 1 otherwise (each failure on stderr).
"""
import argparse
import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("s", pa.struct([pa.field("a", pa.int32())])),
    ]
)

# file name -> (rows, the rule a writer must name when refusing it, or None)
INPUTS = {
    "good": ([(1, "a", 1), (2, "b", 5), (3, "c", 7)], None),
    # a CHECK on NULL fails (Delta: rows must evaluate to true)
    "null_nested": ([(8, "g", None)], "s_pos"),
    "bad_id": ([(4, "d", 1), (-5, "e", 1)], "id_pos"),
    "bad_nested": ([(6, "f", -1)], "s_pos"),
    "bad_null": ([(7, None, 1)], "name"),
}


def table_of(rows, schema=SCHEMA):
    return pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int64()),
            "name": pa.array([r[1] for r in rows], pa.string()),
            "s": pa.array([{"a": r[2]} for r in rows], schema.field("s").type),
        }
    )


class Checker:
    def __init__(self, delta, work):
        self.delta = delta
        self.work = work
        self.failures = []

    def fail(self, what):
        self.failures.append(what)

    def run(self, *args):
        return subprocess.run([self.delta, *args], capture_output=True, text=True, timeout=300)

    def input(self, name):
        return os.path.join(self.work, name + ".parquet")

    def write_inputs(self):
        for name, (rows, _) in INPUTS.items():
            # the bad_null file needs a nullable `name` to hold its null
            schema = SCHEMA if name != "bad_null" else SCHEMA.set(1, pa.field("name", pa.string()))
            pq.write_table(table_of(rows).cast(schema), self.input(name))

    def deltars_table(self):
        from deltalake import DeltaTable, write_deltalake

        path = os.path.join(self.work, "made_by_deltars")
        write_deltalake(path, table_of([(10, "x", 1)]).cast(SCHEMA))
        DeltaTable(path).alter.add_constraint({"id_pos": "id > 0", "s_pos": "s.a > 0"})
        before = DeltaTable(path).version()
        for name, (_, rule) in INPUTS.items():
            if rule is None:
                continue
            out = self.run("write", path, self.input(name))
            if out.returncode == 0:
                self.fail(f"delta-rs table: our binary accepted {name}, which breaks {rule}")
            elif rule not in out.stderr:
                self.fail(f"delta-rs table: refusing {name}, our message does not name {rule}: {out.stderr.strip()}")
            if DeltaTable(path).version() != before:
                self.fail(f"delta-rs table: refusing {name} still committed a version")
        out = self.run("write", path, self.input("good"))
        if out.returncode != 0:
            self.fail(f"delta-rs table: our binary refused the valid file: {out.stderr.strip()}")
        rows = DeltaTable(path).to_pyarrow_table().num_rows
        if rows != 1 + len(INPUTS["good"][0]):
            self.fail(f"delta-rs table: delta-rs reads {rows} rows after our valid write")

    def our_table(self):
        from deltalake import DeltaTable, write_deltalake

        path = os.path.join(self.work, "made_by_us")
        steps = [
            ("create", path, "--schema-from", self.input("good"), "--constraint", "id_pos=id > 0"),
            ("constraint", "add", path, "s_pos", "s.a > 0"),
            ("write", path, self.input("good")),
        ]
        for step in steps:
            out = self.run(*step)
            if out.returncode != 0:
                self.fail(f"our table: `delta {' '.join(step)}` failed: {out.stderr.strip()}")
                return
        config = DeltaTable(path).metadata().configuration
        for rule in ("id_pos", "s_pos"):
            if f"delta.constraints.{rule}" not in config:
                self.fail(f"our table: delta-rs does not see the constraint {rule}: {config}")
        before = DeltaTable(path).version()
        for name, (rows, rule) in INPUTS.items():
            if rule is None:
                continue
            try:
                write_deltalake(path, table_of(rows), mode="append")
                self.fail(f"our table: delta-rs accepted {name}, which breaks {rule}")
            except Exception:
                pass
            if DeltaTable(path).version() != before:
                self.fail(f"our table: delta-rs refusing {name} still committed a version")
        write_deltalake(path, table_of([(20, "y", 2)]).cast(SCHEMA), mode="append")
        out = self.run("describe", path)
        rows = [line.split()[-1] for line in out.stdout.splitlines() if line.startswith("Rows:")]
        if out.returncode != 0 or rows != [str(len(INPUTS["good"][0]) + 1)]:
            self.fail(f"our table: after delta-rs's valid write we describe: {out.stdout}{out.stderr}")


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--delta", required=True, help="our `delta` binary")
    ap.add_argument("--work", required=True, help="a scratch directory (emptied first)")
    args = ap.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    checker = Checker(os.path.abspath(args.delta), args.work)
    checker.write_inputs()
    checker.deltars_table()
    checker.our_table()
    for f in checker.failures:
        print(f, file=sys.stderr)
    print(f"constraints interop: {len(checker.failures)} failures")
    return 1 if checker.failures else 0


if __name__ == "__main__":
    rc = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # deltalake 1.6 + pyarrow 26 can abort in interpreter teardown
