#!/usr/bin/env bash
# stop-ceph-rgw.sh: stop the Ceph cluster that start-ceph-rgw.sh started under
# $STORAGE_DIR (gateway, then OSD, then monitor). Only the processes named in
# our pid files are signalled: TERM, then KILL if one is still there after
# about 10 s. The cluster's data was in memory and is gone afterwards; the logs
# stay in $STORAGE_DIR/ceph/log. Succeeds when nothing of ours runs, including
# when nothing was running.
set -euo pipefail

readonly SELF="stop-ceph-rgw"
readonly CEPH_DIR="${STORAGE_DIR:-/tmp/delta-storage}/ceph"

say() { echo "$SELF: $*"; }

# Alive and still a Ceph daemon (not a recycled pid)?
is_ceph_process() {
    local pid="$1" cmdline
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" =~ (ceph-mon|ceph-osd|radosgw) ]]
}

# TERM, wait up to ~10 s, then KILL; fails if the process is still there.
stop_pid() {
    local pid="$1" i
    kill "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 40; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    say "pid $pid ignored TERM for 10 s; sending KILL"
    kill -9 "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

# Stops daemon $1 by its pid file; returns 1 if it could not be stopped.
stop_daemon() {
    local name="$1" file pid
    file="$CEPH_DIR/$name.pid"
    [[ -f "$file" ]] || return 0
    pid="$(<"$file")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && is_ceph_process "$pid"; then
        if ! stop_pid "$pid"; then
            echo "$SELF: error: ceph $name (pid $pid) is still running after KILL" >&2
            return 1
        fi
        say "stopped ceph $name (pid $pid)"
    else
        say "ceph $name was not running (stale pid file)"
    fi
    rm -f "$file"
}

main() {
    local name status=0 found=0
    for name in rgw osd mon; do
        [[ -f "$CEPH_DIR/$name.pid" ]] && found=1
        stop_daemon "$name" || status=1
    done
    ((found)) || say "nothing to stop (no pid files in $CEPH_DIR)"
    return "$status"
}

main "$@"
