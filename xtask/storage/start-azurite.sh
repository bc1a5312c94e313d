#!/usr/bin/env bash
# start-azurite.sh: run azurite's blob service (Microsoft's Azure Storage
# emulator) on 127.0.0.1:$AZURITE_PORT for the storage tests, and make sure the
# container $AZURITE_CONTAINER exists in the emulator's development account.
# Exits 0 only once the emulator answers and the container exists. Running it
# again while our azurite is up only re-checks the container.
#
# azurite is installed with npm into $AZURITE_PREFIX (default
# $STORAGE_DIR/azurite-pkg) when it is not there yet; node and npm must exist.
# Blob data:  $STORAGE_DIR/azurite-data (kept across restarts; delete for a clean slate)
# Pid file:   $STORAGE_DIR/azurite.pid
# Log:        $STORAGE_DIR/azurite.log
# Stop with stop-azurite.sh.
set -euo pipefail

readonly SELF="start-azurite"
readonly STORAGE_DIR="${STORAGE_DIR:-/tmp/delta-storage}"
readonly AZURITE_PORT="${AZURITE_PORT:-10000}"
readonly AZURITE_CONTAINER="${AZURITE_CONTAINER:-delta}"
readonly AZURITE_PREFIX="${AZURITE_PREFIX:-$STORAGE_DIR/azurite-pkg}"
readonly AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"

readonly PID_FILE="$STORAGE_DIR/azurite.pid"
readonly LOG_FILE="$STORAGE_DIR/azurite.log"
readonly DATA_DIR="$STORAGE_DIR/azurite-data"
readonly BIN="$AZURITE_PREFIX/node_modules/.bin/azurite-blob"

# The emulator's fixed development account; name and key are public
# (documented by Microsoft for Azurite and the old Storage Emulator).
readonly ACCOUNT="devstoreaccount1"
readonly ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
readonly API_VERSION="2021-08-06"

say() { echo "$SELF: $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pid of the azurite this run started, if any (then the log is ours too).
LAUNCHED_PID=""

# Reports the error with the end of this run's log, stops the azurite this run
# started, and exits 1.
die() {
    echo "$SELF: error: $*" >&2
    if [[ -n "$LAUNCHED_PID" ]]; then
        if [[ -s "$LOG_FILE" ]]; then
            echo "$SELF: --- last lines of $LOG_FILE" >&2
            tail -n 20 "$LOG_FILE" >&2
        fi
        stop_pid "$LAUNCHED_PID" || true
        rm -f "$PID_FILE"
    fi
    exit 1
}

# Our azurite's pid, if the pid file names a live azurite process.
recorded_pid() { live_pid "$PID_FILE" azurite; }

emulator_answers() { curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$AZURITE_PORT/$ACCOUNT?comp=list"; }

ensure_installed() {
    [[ -x "$BIN" ]] && return 0
    command -v npm >/dev/null || die "npm not found; install Node.js (with npm) to run azurite"
    say "installing azurite@$AZURITE_VERSION with npm into $AZURITE_PREFIX"
    mkdir -p "$AZURITE_PREFIX"
    npm install --prefix "$AZURITE_PREFIX" --no-audit --no-fund --silent "azurite@$AZURITE_VERSION" \
        >"$STORAGE_DIR/azurite-npm.log" 2>&1 \
        || { tail -n 20 "$STORAGE_DIR/azurite-npm.log" >&2; die "npm install azurite@$AZURITE_VERSION failed (log: $STORAGE_DIR/azurite-npm.log)"; }
    [[ -x "$BIN" ]] || die "npm installed azurite but $BIN is missing"
}

launch() {
    mkdir -p "$DATA_DIR"
    nohup "$BIN" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$DATA_DIR" \
        --skipApiVersionCheck --loose --disableTelemetry </dev/null >"$LOG_FILE" 2>&1 &
    LAUNCHED_PID=$!
    echo "$LAUNCHED_PID" >"$PID_FILE"
}

# The azurite this run started is alive (and not a zombie)?
launched_alive() {
    local stat
    stat="$(<"/proc/$LAUNCHED_PID/stat")" 2>/dev/null || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

wait_until_ready() {
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        launched_alive || die "azurite exited while starting"
        emulator_answers && return 0
        sleep 0.5
    done
    die "azurite did not answer on 127.0.0.1:$AZURITE_PORT within 30 s"
}

# Shared Key signature of a request without body (Content-Length 0 signs as empty):
# sign VERB DATE CANONICAL_RESOURCE
sign() {
    local verb="$1" date="$2" resource="$3" hexkey
    hexkey="$(printf '%s' "$ACCOUNT_KEY" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
    # VERB, then 11 empty standard headers (Content-Encoding ... Range),
    # then the x-ms-* headers and the canonical resource
    {
        printf '%s\n' "$verb"
        printf '\n%.0s' {1..11}
        printf 'x-ms-date:%s\nx-ms-version:%s\n%s' "$date" "$API_VERSION" "$resource"
    } | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 -w0
}

# Create Container; 201 = created, 409 = exists already.
ensure_container() {
    local date sig code
    date="$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')"
    sig="$(sign PUT "$date" "/$ACCOUNT/$ACCOUNT/$AZURITE_CONTAINER"$'\n'"restype:container")"
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 -X PUT \
        -H "x-ms-date: $date" -H "x-ms-version: $API_VERSION" -H 'Content-Length: 0' \
        -H "Authorization: SharedKey $ACCOUNT:$sig" \
        "http://127.0.0.1:$AZURITE_PORT/$ACCOUNT/$AZURITE_CONTAINER?restype=container")" || true
    case "$code" in
        201 | 409) ;;
        *) die "creating container $AZURITE_CONTAINER: HTTP $code from 127.0.0.1:$AZURITE_PORT" ;;
    esac
}

main() {
    mkdir -p "$STORAGE_DIR"
    local pid
    if pid="$(recorded_pid)"; then
        if emulator_answers; then
            ensure_container
            say "already running on http://127.0.0.1:$AZURITE_PORT (pid $pid), container $AZURITE_CONTAINER"
            return 0
        fi
        say "our azurite (pid $pid) does not answer on port $AZURITE_PORT; restarting it"
        stop_pid "$pid" || true
    fi
    rm -f "$PID_FILE"
    if port_taken "$AZURITE_PORT"; then
        die "port 127.0.0.1:$AZURITE_PORT (AZURITE_PORT) is already in use by another process; stop it or pick another AZURITE_PORT"
    fi
    ensure_installed
    launch
    wait_until_ready
    ensure_container
    say "ready on http://127.0.0.1:$AZURITE_PORT, container $AZURITE_CONTAINER (pid $(recorded_pid); log $LOG_FILE)"
}

main "$@"
