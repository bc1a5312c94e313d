#!/usr/bin/env bash
# start-ceph-rgw.sh: bring up a disposable one-node Ceph cluster and its S3
# gateway on the loopback interface, for the storage tests.
#
#   ceph-mon  monitor, msgr2 on 127.0.0.1:$CEPH_MON_PORT
#   ceph-osd  one OSD on the in-memory "memstore" backend (nothing on disk)
#   radosgw   the RADOS Gateway (S3), beast frontend on 127.0.0.1:$RGW_PORT
#
# Then it creates the S3 user $S3_ACCESS_KEY_ID / $S3_SECRET_ACCESS_KEY and the
# bucket $S3_BUCKET. Exits 0 only once the gateway answers and the bucket exists.
# Running it again while the cluster is up only re-checks the bucket. A fresh
# start discards $STORAGE_DIR/ceph. Missing Ceph packages are installed with
# apt-get (needs root, or password-less sudo).
#
# Pid files: $STORAGE_DIR/ceph/{mon,osd,rgw}.pid
# Logs:      $STORAGE_DIR/ceph/log/*.log (daemon logs), $STORAGE_DIR/ceph/*.out (stdout/stderr)
# Stop with stop-ceph-rgw.sh.
set -euo pipefail

readonly SELF="start-ceph-rgw"
readonly STORAGE_DIR="${STORAGE_DIR:-/tmp/delta-storage}"
readonly RGW_PORT="${RGW_PORT:-7480}"
readonly CEPH_MON_PORT="${CEPH_MON_PORT:-3300}"
readonly S3_BUCKET="${S3_BUCKET:-delta-test}"
readonly S3_ACCESS_KEY_ID="${S3_ACCESS_KEY_ID:-test}"
readonly S3_SECRET_ACCESS_KEY="${S3_SECRET_ACCESS_KEY:-test}"
readonly MEMSTORE_BYTES="${CEPH_MEMSTORE_BYTES:-1073741824}"

readonly CEPH_DIR="$STORAGE_DIR/ceph"
readonly CONF="$CEPH_DIR/ceph.conf"
readonly LOG_DIR="$CEPH_DIR/log"
readonly DAEMONS_STOP_ORDER=(rgw osd mon)

# Daemons this run launched (name -> pid); stopped again if the start fails.
declare -A LAUNCHED=()

say() { echo "$SELF: $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Set once this run has wiped $CEPH_DIR: from then on its logs are ours.
FRESH=0

show_tail() {
    [[ -s "$1" ]] || return 0
    echo "$SELF: --- last lines of $1" >&2
    tail -n "$2" "$1" >&2
}

# Reports the error with the end of this run's logs, stops what this run
# launched, and exits 1.
die() {
    echo "$SELF: error: $*" >&2
    if ((FRESH)); then
        local f newest_out
        for f in "$LOG_DIR"/*.log; do
            show_tail "$f" 10
        done
        # the stdout/stderr of the step that failed
        newest_out="$(ls -t "$CEPH_DIR"/*.out 2>/dev/null | head -n 1)" || true
        [[ -z "$newest_out" ]] || show_tail "$newest_out" 10
    fi
    stop_started
    exit 1
}

pid_file() { echo "$CEPH_DIR/$1.pid"; }

# The pid recorded for daemon $1, if that process is alive and still a Ceph daemon.
recorded_pid() { live_pid "$(pid_file "$1")" '(ceph-mon|ceph-osd|radosgw)'; }

is_running() { recorded_pid "$1" >/dev/null; }

stop_daemon() {
    local pid
    if pid="$(recorded_pid "$1")"; then
        stop_pid "$pid" || true
    fi
    rm -f "$(pid_file "$1")"
}

stop_started() {
    local d
    for d in "${DAEMONS_STOP_ORDER[@]}"; do
        if [[ -n "${LAUNCHED[$d]-}" ]]; then
            stop_pid "${LAUNCHED[$d]}" || true
            rm -f "$(pid_file "$d")"
        fi
    done
}

# A process this run launched is still alive (and not a zombie)?
launched_alive() {
    local pid="${LAUNCHED[$1]-}" stat
    [[ -n "$pid" ]] || return 1
    stat="$(<"/proc/$pid/stat")" 2>/dev/null || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

gateway_answers() { curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$RGW_PORT/"; }

ceph_cli() { timeout 15 ceph -c "$CONF" --connect-timeout 5 "$@"; }

ensure_packages() {
    local missing=0 tool
    for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
        command -v "$tool" >/dev/null || missing=1
    done
    ((missing)) || return 0
    local sudo=()
    if ((EUID != 0)); then
        sudo -n true 2>/dev/null || die "Ceph is not installed and installing it needs root: apt-get install radosgw ceph-mon ceph-osd ceph-common"
        sudo=(sudo -n)
    fi
    say "installing radosgw ceph-mon ceph-osd ceph-common with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq >/dev/null \
        && "${sudo[@]}" apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd ceph-common >/dev/null \
        || die "apt-get install radosgw ceph-mon ceph-osd ceph-common failed"
}

# Our own cluster left half up (or half down) by an earlier run.
stop_leftovers() {
    local d
    for d in "${DAEMONS_STOP_ORDER[@]}"; do
        stop_daemon "$d"
    done
}

write_config() {
    local fsid="$1"
    cat >"$CONF" <<EOF
# written by $SELF; discarded on the next fresh start
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$CEPH_MON_PORT
mon_initial_members = a
public_addr = 127.0.0.1
# a private test cluster: no cephx between the daemons; "crc" is required with auth off
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_mon_service_mode = crc
ms_mon_cluster_mode = crc
ms_client_mode = crc
ms_service_mode = crc
ms_cluster_mode = crc
run_dir = $CEPH_DIR/run
admin_socket = $CEPH_DIR/run/\$name.asok
log_file = $LOG_DIR/\$name.log
keyring = $CEPH_DIR/keyring
mon_data = $CEPH_DIR/mon/\$cluster-\$id
osd_data = $CEPH_DIR/osd/\$cluster-\$id
# one OSD holding everything in memory
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 1
mon_data_avail_crit = 0

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_enable_usage_log = false
EOF
}

# Runs daemon $1 (command line after it) in the background, records its pid.
launch() {
    local name="$1"
    shift
    nohup "$@" </dev/null >"$CEPH_DIR/$name.out" 2>&1 &
    LAUNCHED[$name]=$!
    echo $! >"$(pid_file "$name")"
}

# wait_for NAME SECONDS CHECK...: polls CHECK every 0.5 s while daemon NAME lives.
wait_for() {
    local name="$1" seconds="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    while ((SECONDS < deadline)); do
        launched_alive "$name" || die "ceph $name exited while starting"
        if "$@"; then
            return 0
        fi
        sleep 0.5
    done
    die "ceph $name not ready after ${seconds} s"
}

mon_ready() { ceph_cli mon stat >/dev/null 2>&1; }
osd_up() {
    local stat
    stat="$(ceph_cli osd stat 2>/dev/null)" || return 1
    [[ "$stat" == *" 1 up"* ]]
}

start_mon() {
    ceph-authtool --create-keyring "$CEPH_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' \
        >"$CEPH_DIR/keyring.out" 2>&1 || die "ceph-authtool failed"
    monmaptool --create --addv a "[v2:127.0.0.1:$CEPH_MON_PORT]" --fsid "$1" "$CEPH_DIR/monmap" \
        >"$CEPH_DIR/monmap.out" 2>&1 || die "monmaptool failed"
    ceph-mon -c "$CONF" -i a --mkfs --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/keyring" \
        >"$CEPH_DIR/mon-mkfs.out" 2>&1 || die "ceph-mon --mkfs failed"
    launch mon ceph-mon -c "$CONF" -i a -f
    wait_for mon 30 mon_ready
}

start_osd() {
    local uuid
    uuid="$(cat /proc/sys/kernel/random/uuid)"
    ceph_cli osd new "$uuid" >"$CEPH_DIR/osd-new.out" 2>&1 || die "ceph osd new failed"
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >"$CEPH_DIR/osd-mkfs.out" 2>&1 \
        || die "ceph-osd --mkfs failed"
    launch osd ceph-osd -c "$CONF" -i 0 -f
    wait_for osd 30 osd_up
}

start_rgw() {
    launch rgw radosgw -c "$CONF" -n client.rgw.a -f
    wait_for rgw 60 gateway_answers
}

create_user() {
    timeout 30 radosgw-admin -c "$CONF" user create --uid=delta --display-name=delta \
        --access-key="$S3_ACCESS_KEY_ID" --secret-key="$S3_SECRET_ACCESS_KEY" \
        >"$CEPH_DIR/user-create.out" 2>&1 || die "radosgw-admin user create failed"
}

# PUT on the bucket, signed with SigV4; 200 (created, or already ours) or 409 (exists).
ensure_bucket() {
    local code
    # curl 7.88 needs the payload hash header, or the signature does not match
    code="$(curl -s -o "$CEPH_DIR/bucket.out" -w '%{http_code}' --max-time 15 \
        --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY_ID:$S3_SECRET_ACCESS_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X PUT "http://127.0.0.1:$RGW_PORT/$S3_BUCKET")" || true
    case "$code" in
        200 | 409) ;;
        *) die "creating bucket $S3_BUCKET: HTTP $code from 127.0.0.1:$RGW_PORT (see $CEPH_DIR/bucket.out)" ;;
    esac
}

all_running() {
    is_running mon && is_running osd && is_running rgw
}

main() {
    mkdir -p "$STORAGE_DIR"
    if all_running && gateway_answers; then
        ensure_bucket
        say "already running on http://127.0.0.1:$RGW_PORT (rgw pid $(recorded_pid rgw)), bucket $S3_BUCKET"
        return 0
    fi
    stop_leftovers
    if port_taken "$RGW_PORT"; then
        die "port 127.0.0.1:$RGW_PORT (RGW_PORT) is already in use by another process; stop it or pick another RGW_PORT"
    fi
    if port_taken "$CEPH_MON_PORT"; then
        die "port 127.0.0.1:$CEPH_MON_PORT (CEPH_MON_PORT) is already in use by another process; stop it or pick another CEPH_MON_PORT"
    fi
    ensure_packages

    rm -rf "$CEPH_DIR"
    mkdir -p "$CEPH_DIR/mon/ceph-a" "$CEPH_DIR/osd/ceph-0" "$CEPH_DIR/run" "$LOG_DIR"
    FRESH=1
    local fsid
    fsid="$(cat /proc/sys/kernel/random/uuid)"
    write_config "$fsid"

    start_mon "$fsid"
    start_osd
    start_rgw
    create_user
    ensure_bucket
    say "ready on http://127.0.0.1:$RGW_PORT, bucket $S3_BUCKET, key $S3_ACCESS_KEY_ID" \
        "(pids: mon $(recorded_pid mon), osd $(recorded_pid osd), rgw $(recorded_pid rgw); logs in $LOG_DIR)"
}

main "$@"
