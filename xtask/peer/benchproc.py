"""How a bench process is measured, as BENCHMARKS.md ("Timing and memory") asks; shared by
bench_sql.py and bench_deltars.py.

The measured process loads its inputs, then calls `measured(op)`: VmRSS is read, the
VmHWM mark is reset (write 5 to /proc/self/clear_refs), the monotonic clock runs
around `op()` alone, and VmHWM is read when it has returned. It reports with
`report(...)`, one line `RESULT <json>` on stdout. The parent starts it with
`run_child`, which reaps it with wait4 for its lifetime peak RSS (ru_maxrss), and
turns the result into one record (`record`) that `emit` appends to the results file.
"""
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time

RESULT = "RESULT "


def status_mib(field):
    """A field of /proc/self/status (VmRSS, VmHWM) in MiB, or None."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return None


def warm(path):
    """Read every file under path once, so every implementation starts from a warm
    page cache."""
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(1 << 22):
                    pass


def reset_hwm():
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measured(op):
    """Run op() under the clock; returns its value and the measurements."""
    rss_before = status_mib("VmRSS")
    reset = reset_hwm()
    start = time.perf_counter()
    value = op()
    seconds = time.perf_counter() - start
    return value, dict(
        seconds=seconds,
        rss_before_mib=rss_before,
        op_peak_rss_mib=status_mib("VmHWM") if reset else None,
    )


def report(result, prefix=RESULT):
    print(prefix + json.dumps(result), flush=True)


def last_line(text, prefix=RESULT):
    """The JSON after prefix on the last line that has it, or None."""
    lines = [l for l in text.splitlines() if l.startswith(prefix)]
    return json.loads(lines[-1][len(prefix):]) if lines else None


class Finished:
    """A child process that has ended: its output, exit code, wall and peak RSS."""

    def __init__(self, stdout, stderr, code, wall, peak_rss_mib, timed_out):
        self.stdout, self.stderr, self.code = stdout, stderr, code
        self.wall, self.peak_rss_mib, self.timed_out = wall, peak_rss_mib, timed_out

    def failure(self):
        tail = self.stderr.strip()[-400:]
        return f"timed out: {tail}" if self.timed_out else f"exit {self.code}: {tail}"


def run_child(argv, timeout=None):
    """Run argv to its end (killed after timeout seconds) and reap it with wait4.
    Output goes through files, so neither stream can fill a pipe and stall it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        # its own process group, so a timeout also stops what it started (W11's workers)
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, start_new_session=True)
        killed = threading.Event()

        def kill():
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(out.read(), err.read(), proc.returncode, wall,
                        usage.ru_maxrss / 1024.0, killed.is_set())


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def memory_gib():
    """Total memory of this machine in GiB (from /proc/meminfo), None elsewhere."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def host():
    return dict(machine=platform.machine(), cores=os.cpu_count(), os=sys.platform,
                node=platform.node(), memory_gib=memory_gib())


def record(workload, name, version, scale, repeat, finished, result=None, error=None):
    """One line of the results file (BENCHMARKS.md, "Output format"). result is what the
    measured process reported; without it, or with an error, the record is not ok."""
    rec = dict(
        workload=workload,
        name=name,
        impl="delta-rs",
        impl_version=version,
        scale=scale,
        repeat=repeat,
        ok=False,
        seconds=None,
        peak_rss_mib=finished.peak_rss_mib if finished else None,
        rows=None,
        files_read=None,
        process_seconds=finished.wall if finished else None,
        extra={},
        utc=utc_now(),
        host=host(),
    )
    if result is not None:
        rec.update(result)
    rec["ok"] = result is not None and error is None
    if error is not None:
        rec["error"] = error
    return rec


def emit(rec, out):
    """Append the record to the results file and echo it."""
    line = json.dumps(rec)
    print(line, flush=True)
    with open(out, "a") as f:
        f.write(line + "\n")
