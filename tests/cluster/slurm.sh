#!/usr/bin/env bash
# A real one-node SLURM cluster for tests, all of its files in one state directory.
#
#   eval "$(tests/cluster/slurm.sh start /tmp/slurm)"   # installs slurm-wlm + munge if missing (root, apt)
#   sbatch --wrap hostname ...                           # SLURM_CONF points at the state dir's config
#   tests/cluster/slurm.sh status /tmp/slurm             # exit 0 when munged, slurmctld and slurmd all run
#   tests/cluster/slurm.sh stop /tmp/slurm               # cancels the jobs, stops the daemons by PID file
#   tests/cluster/slurm.sh install                       # only installs slurm-wlm + munge (what .ci/run does)
#
# start is idempotent (a running cluster is left as it is) and prints only `export SLURM_CONF=...` on
# stdout, diagnostics on stderr; munged's socket is named in slurm.conf (AuthInfo), so no other
# variable is needed. Exit codes:
#   0 done; 2 usage; 3 this machine cannot run the cluster: SLURM is missing and cannot be installed
#   (not root, no apt-get, apt-get failed) or the hostname does not resolve to loopback; the one line
#   on stderr says which, for a test fixture to skip with; 4 a daemon did not start or the node did
#   not become idle within 60 s (log tails on stderr); 5 stop left a daemon running.
# The daemons and srun listen on 127.0.0.1 only: CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
# binds them to the address the hostname resolves to (hence exit 3 unless that is loopback), and the
# node's address is 127.0.0.1. munged has its own key and socket in the state dir, and every command
# reads the state dir's slurm.conf (SLURM_CONF), never the system's /etc/slurm.
set -euo pipefail

readonly NODE_TIMEOUT_S=60 STOP_TIMEOUT_S=30

die() {
    local code=$1
    shift
    echo "slurm.sh: $*" >&2
    exit "$code"
}

usage() {
    die 2 "usage: $0 start|stop|status <state_dir>, or $0 install"
}

have_slurm() {
    command -v sinfo >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v munged >/dev/null
}

# Installs Debian's slurm-wlm and munge; exit 3 with the reason when this machine cannot.
install_slurm() {
    have_slurm && return 0
    [[ $(id -u) -eq 0 ]] \
        || die 3 "SLURM is not installed and installing it needs root (apt-get install slurm-wlm munge)"
    command -v apt-get >/dev/null || die 3 "SLURM is not installed and there is no apt-get to install it"
    echo "slurm.sh: installing slurm-wlm and munge with apt-get (5-30 s)" >&2
    local -a install=(apt-get install -y -q --no-install-recommends slurm-wlm munge)
    # Package lists present: try them first, so apt-get update runs at most once, and only if needed.
    if compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null \
        && DEBIAN_FRONTEND=noninteractive "${install[@]}" >&2; then
        :
    elif ! { DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 \
        && DEBIAN_FRONTEND=noninteractive "${install[@]}" >&2; }; then
        die 3 "SLURM is not installed and apt-get could not install slurm-wlm and munge"
    fi
    have_slurm || die 3 "apt-get installed slurm-wlm and munge but sinfo/slurmctld/slurmd/munged are not on PATH"
}

# Slurm's NoInAddrAny binds to what gethostname() resolves to: refuse unless that is loopback.
loopback_hostname() {
    local name addr
    name=$(hostname)
    addr=$(getent ahostsv4 "$name" | awk 'NR == 1 {print $1}')
    [[ $addr == 127.* ]] \
        || die 3 "hostname $name resolves to ${addr:-nothing}, not loopback: the daemons would listen there"
}

# The first port from $1 up that nothing listens on (TCP, any address).
free_port() {
    local port=$1 last=$(($1 + 100))
    while ((port < last)); do
        if [[ -z $(ss -Htln "sport = :$port") ]]; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
    done
    die 4 "no free TCP port in $1-$last"
}

# PID from a pid file (munged.pid, slurmctld.pid, slurmd.pid) when that daemon is alive under it, else
# nothing (status 1): a stale file whose PID another process reuses names no daemon.
live_pid() {
    local pid name
    name=$(basename "$1" .pid)
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
    echo "$pid"
}

write_config() {
    local state=$1 host=$2
    local cpus mem_mb real_mb ctld_port slurmd_port
    cpus=$(nproc)
    mem_mb=$(free -m | awk '/^Mem:/ {print $2}')
    real_mb=$((mem_mb * 95 / 100))  # slurmd refuses a node that has less memory than it is declared with
    ctld_port=$(free_port "${SLURM_TEST_CTLD_PORT:-16817}")
    slurmd_port=$(free_port "$((ctld_port + 1))")
    cat >"$state/slurm.conf" <<EOF
# Written by tests/cluster/slurm.sh: a one-node test cluster on 127.0.0.1, every file under $state.
ClusterName=glossary-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SrunPortRange=$((slurmd_port + 1000))-$((slurmd_port + 1099))
# Bind to what the hostname resolves to (checked to be loopback) instead of every address.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket=$state/munge/munge.socket,cred_expire=10
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A job without --mem would otherwise hold all of the node's memory, and run alone.
DefMemPerCPU=1024
# Batch jobs may be requeued (scontrol requeue, submitit's preemption and timeout handling).
JobRequeue=1
# A job in partition urgent preempts debug's jobs: requeued, after their --signal (submitit's USR2) and
# GraceTime seconds; without preempt_send_user_signal they would get SIGTERM only.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
ReturnToService=2
MailProg=/bin/true
# Seconds between SIGTERM and SIGKILL: SLURM's default, which leaves a job on a loaded 2-core machine the
# time to stop its fit and write its record (5 s did not, once); a job that stops at once waits none of it.
KillWait=30
# Short waits, so tests do not sit in them: idle scheduler passes.
MinJobAge=60
SchedulerParameters=sched_interval=5
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=1-00:00:00 State=UP PriorityTier=1 GraceTime=10
PartitionName=urgent Nodes=$host MaxTime=1-00:00:00 State=UP PriorityTier=2 PreemptMode=OFF
EOF
    cat >"$state/cgroup.conf" <<EOF
# Not used for tracking (proctrack/linuxproc, task/none); slurmd still reads it.
CgroupPlugin=autodetect
IgnoreSystemd=yes
EOF
}

start_munged() {
    local state=$1
    mkdir -p "$state/munge"
    chmod 0700 "$state/munge"
    if [[ ! -s $state/munge/munge.key ]]; then
        dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
        chmod 0400 "$state/munge/munge.key"
    fi
    live_pid "$state/munge/munged.pid" >/dev/null && return 0
    # --force: the state dir may sit under a world-writable /tmp, which munged otherwise refuses.
    munged --force --key-file="$state/munge/munge.key" --socket="$state/munge/munge.socket" \
        --pid-file="$state/munge/munged.pid" --log-file="$state/log/munged.log" \
        --seed-file="$state/munge/munged.seed" \
        || die 4 "munged did not start: $(tail -n 5 "$state/log/munged.log" 2>/dev/null)"
}

node_state() {
    sinfo -h -n "$1" -o %T 2>/dev/null || true
}

start() {
    local state=$1 host
    install_slurm
    host=$(hostname -s)
    loopback_hostname
    mkdir -p "$state"/{ctld,spool,run,log}
    state=$(cd "$state" && pwd -P)
    export SLURM_CONF=$state/slurm.conf
    local ctld_pid slurmd_pid
    ctld_pid=$(live_pid "$state/run/slurmctld.pid") || ctld_pid=
    slurmd_pid=$(live_pid "$state/run/slurmd.pid") || slurmd_pid=
    if [[ -z $ctld_pid && -z $slurmd_pid ]]; then
        write_config "$state" "$host"  # fresh ports each start; a running cluster keeps its config
    fi
    start_munged "$state"
    if [[ -z $ctld_pid ]]; then
        # -c: a test cluster starts with no jobs left over from an earlier run.
        slurmctld -c || die 4 "slurmctld did not start: $(tail -n 20 "$state/log/slurmctld.log" 2>/dev/null)"
    fi
    if [[ -z $slurmd_pid ]]; then
        slurmd -N "$host" || die 4 "slurmd did not start: $(tail -n 20 "$state/log/slurmd.log" 2>/dev/null)"
    fi
    local deadline=$((SECONDS + NODE_TIMEOUT_S)) node
    until node=$(node_state "$host") && [[ $node == idle || $node == mixed || $node == allocated ]]; do
        if ((SECONDS >= deadline)); then
            echo "slurm.sh: node $host is '${node:-unknown}' after ${NODE_TIMEOUT_S} s" >&2
            tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
            exit 4
        fi
        sleep 0.5
    done
    echo "slurm.sh: node $host is $node (slurmctld port $(awk -F= '/^SlurmctldPort=/ {print $2}' "$SLURM_CONF"))" >&2
    echo "export SLURM_CONF=$SLURM_CONF"
}

# SIGTERM the process in pid file $1, wait for it to exit, then SIGKILL it; status 1 if it survives.
stop_pidfile() {
    local pid deadline
    pid=$(live_pid "$1") || return 0
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "slurm.sh: pid $pid ($1) ignored SIGTERM for ${STOP_TIMEOUT_S} s: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    ! kill -0 "$pid" 2>/dev/null
}

stop() {
    local state=$1 failed=0
    [[ -d $state ]] || return 0
    state=$(cd "$state" && pwd -P)
    export SLURM_CONF=$state/slurm.conf
    if live_pid "$state/run/slurmctld.pid" >/dev/null && live_pid "$state/run/slurmd.pid" >/dev/null; then
        # Cancel every job first, so slurmd ends their steps instead of leaving them behind.
        local jobs deadline=$((SECONDS + STOP_TIMEOUT_S))
        jobs=$(timeout 10 squeue -h -o %A 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086  # one job id per word
            timeout 10 scancel $jobs || true
            while [[ -n $(timeout 10 squeue -h -o %A 2>/dev/null || true) ]] && ((SECONDS < deadline)); do
                sleep 0.5
            done
        fi
    fi
    stop_pidfile "$state/run/slurmd.pid" || failed=1
    stop_pidfile "$state/run/slurmctld.pid" || failed=1
    stop_pidfile "$state/munge/munged.pid" || failed=1
    ((failed == 0)) || die 5 "a daemon is still running (pid files under $state)"
    echo "slurm.sh: stopped (state in $state)" >&2
}

status() {
    local state=$1 name file pid down=0
    for name in munged slurmctld slurmd; do
        file=$state/run/$name.pid
        [[ $name == munged ]] && file=$state/munge/munged.pid
        if pid=$(live_pid "$file"); then
            echo "$name: running (pid $pid)"
        else
            echo "$name: stopped"
            down=1
        fi
    done
    if ((down == 0)); then
        SLURM_CONF=$(cd "$state" && pwd -P)/slurm.conf sinfo
    fi
    return "$down"
}

main() {
    if [[ $# == 1 && $1 == install ]]; then
        install_slurm
        return
    fi
    (($# == 2)) || usage
    case $1 in
        start) start "$2" ;;
        stop) stop "$2" ;;
        status) status "$2" ;;
        *) usage ;;
    esac
}

main "$@"
