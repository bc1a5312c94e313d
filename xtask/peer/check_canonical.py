#!/usr/bin/env python3
"""Check that canonical.py gives the committed fixtures' lines and hashes.

    check_canonical.py FIXTURES_DIR

FIXTURES_DIR is delta-test/tests/data/canonical: Parquet and Arrow IPC files and
expected.json ({file: {"num_rows", "lines", "hash"}}). The Rust implementation
(delta-test/src/canonical.rs) is checked against the same file by the test
`canonical_fixtures`, so the two implementations agree with each other.
Exit status 0 all equal, 1 a difference (on stderr), 2 bad usage.
"""
import argparse
import json
import os
import sys

import pyarrow.ipc as ipc
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canonical import canonical_hash, canonical_lines  # noqa: E402


def read(path):
    if path.endswith(".arrow"):
        with open(path, "rb") as f:
            return ipc.open_file(f).read_all()
    return pq.read_table(path)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("fixtures")
    args = ap.parse_args(argv)
    with open(os.path.join(args.fixtures, "expected.json")) as f:
        expected = json.load(f)
    differ = []
    for name, want in sorted(expected.items()):
        table = read(os.path.join(args.fixtures, name))
        got = dict(num_rows=table.num_rows, lines=canonical_lines(table),
                   hash=canonical_hash(table))
        keys = [key for key in ("num_rows", "lines", "hash") if got[key] != want[key]]
        if keys:
            differ.append(name)
            print(f"check_canonical: {name}: {', '.join(keys)} differ", file=sys.stderr)
    print(f"check_canonical: {len(expected) - len(differ)} of {len(expected)} fixtures equal",
          file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
