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
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
    if [[ ! -f "$PID_FILE" ]]; then
        say "nothing to stop (no $PID_FILE)"
        return 0
    fi
    local pid
    if pid="$(live_pid "$PID_FILE" azurite)"; then
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
