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
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Stops daemon $1 by its pid file; returns 1 if it could not be stopped.
stop_daemon() {
    local name="$1" file pid
    file="$CEPH_DIR/$name.pid"
    [[ -f "$file" ]] || return 0
    if pid="$(live_pid "$file" '(ceph-mon|ceph-osd|radosgw)')"; then
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
