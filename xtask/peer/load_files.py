#!/usr/bin/env python3
"""Open a Delta table with delta-rs and list its files; print the time and peak memory.

    load_files.py TABLE

Prints one line: `delta-rs: N files in S s; peak M MiB` (peak resident set of this
process, Python and the imports included). Exit status 0, or 2 on bad usage.
"""
import resource
import sys
import time


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    from deltalake import DeltaTable

    started = time.perf_counter()
    files = len(DeltaTable(sys.argv[1]).file_uris())
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"delta-rs: {files} files in {elapsed:.2f} s; peak {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
