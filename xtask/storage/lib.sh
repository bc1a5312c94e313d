# lib.sh: what the start and stop scripts share; sourced by them, it only
# defines functions. The scripts define `say` (a message with their name).

# The pid in pid file $1 when that process is alive and its command line
# matches the regular expression $2, so that a pid the system has given to
# another program since is never taken for ours; fails otherwise.
live_pid() {
    local file="$1" pattern="$2" pid cmdline
    [[ -f "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" =~ $pattern ]] || return 1
    echo "$pid"
}

# Stops pid $1: TERM, up to 10 s to exit, then KILL and up to 5 s more.
# Fails if the process is still there.
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

# True when something accepts TCP connections on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
