#!/usr/bin/env bash
# stop-azurite.sh: stop the azurite that start-azurite.sh started under
# $STORAGE_DIR. Only the process named in our pid file is signalled: TERM,
# then KILL if it is still there after about 10 s. Blob data in
# $STORAGE_DIR/azurite-data is kept. Succeeds when our azurite is not running,
# including when it was not running to begin with.
set -euo pipefail

readonly SELF="stop-azurite"
readonly PID_FILE="${STORAGE_DIR:-/tmp/delta-storage}/azurite.pid"

say() { echo "$SELF: $*"; }

# Alive and still azurite (not a recycled pid)?
is_azurite() {
    local pid="$1" cmdline
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *azurite* ]]
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

main() {
    if [[ ! -f "$PID_FILE" ]]; then
        say "nothing to stop (no $PID_FILE)"
        return 0
    fi
    local pid
    pid="$(<"$PID_FILE")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && is_azurite "$pid"; then
        if ! stop_pid "$pid"; then
            echo "$SELF: error: azurite (pid $pid) is still running after KILL" >&2
            return 1
        fi
        say "stopped azurite (pid $pid)"
    else
        say "azurite was not running (stale pid file)"
    fi
    rm -f "$PID_FILE"
}

main "$@"
