#!/usr/bin/env bash
# A single-node Slurm on localhost for the slurm engine's tests and for trying it out (docs/hpc.md).
#   scripts/slurm.sh start    write the config under $METAVEC_SLURM_DIR (default .test-tmp/slurm), start
#                             slurmctld and slurmd, wait until the node is idle; prints `export SLURM_CONF=...`
#   scripts/slurm.sh stop     stop both daemons by the PIDs recorded at start
#   scripts/slurm.sh status   daemons and node state
# Then: export SLURM_CONF=$METAVEC_SLURM_DIR/slurm.conf (every Slurm command needs it: the config is not in /etc).
# Debian's slurm-wlm 22.05 (apt-get install slurm-wlm slurmctld slurmd slurm-client; scripts/setup.sh --system).
# AuthType=auth/none: no munge daemon or key; fine for one trusted machine, never for a shared cluster.
# No cgroups in containers: proctrack/linuxproc and task/none. Debian's OpenMPI speaks PMIx only: MpiDefault=pmix.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${METAVEC_SLURM_DIR:-$PWD/.test-tmp/slurm}
conf=$dir/slurm.conf
host=$(hostname -s)
cpus=$(nproc)
ctld_port=${METAVEC_SLURMCTLD_PORT:-16817}
slurmd_port=${METAVEC_SLURMD_PORT:-16818}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  chmod 0755 "$dir" "$dir/spool"
  local user
  user=$(id -un)
  cat >"$conf" <<EOF
# written by scripts/slurm.sh: a single-node cluster on localhost
ClusterName=metavec
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/none
CredType=cred/none
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
}

start() {
  command -v slurmctld >/dev/null || { echo "slurm.sh: slurmctld not found (apt-get install slurm-wlm slurmctld slurmd slurm-client)" >&2; exit 1; }
  export SLURM_CONF=$conf
  if alive "$dir/slurmctld.pid" && alive "$dir/slurmd.pid"; then
    echo "slurm.sh: already running ($dir)" >&2
  else
    stop_daemons
    for port in "$ctld_port" "$slurmd_port"; do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "slurm.sh: port $port is already in use (another Slurm?); choose others with METAVEC_SLURMCTLD_PORT / METAVEC_SLURMD_PORT" >&2
        exit 1
      fi
    done
    write_conf
    # -D: stay in the foreground (as our background child) so $! is the daemon's PID; -i: ignore old state
    slurmctld -D -i -f "$conf" >>"$dir/log/slurmctld.out" 2>&1 &
    echo $! >"$dir/slurmctld.pid"
    slurmd -D -N "$host" -f "$conf" >>"$dir/log/slurmd.out" 2>&1 &
    echo $! >"$dir/slurmd.pid"
  fi
  local state=""
  for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
    [[ "$state" == idle || "$state" == mix || "$state" == alloc ]] && break
    if ! alive "$dir/slurmctld.pid" || ! alive "$dir/slurmd.pid"; then
      echo "slurm.sh: a daemon exited; logs:" >&2
      tail -n 20 "$dir/log/"*.log "$dir/log/"*.out >&2 || true
      stop_daemons
      exit 1
    fi
    sleep 0.5
  done
  if ! alive "$dir/slurmctld.pid" || ! alive "$dir/slurmd.pid"; then
    echo "slurm.sh: a daemon exited; logs in $dir/log" >&2
    stop_daemons
    exit 1
  fi
  if [[ "$state" != idle && "$state" != mix && "$state" != alloc ]]; then
    echo "slurm.sh: node $host not ready (state '${state}'); logs in $dir/log" >&2
    exit 1
  fi
  echo "export SLURM_CONF=$conf"
}

stop_daemons() {
  local f pid
  for f in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
    if alive "$f"; then
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  status)
    for d in slurmctld slurmd; do
      if alive "$dir/$d.pid"; then echo "$d: running (pid $(cat "$dir/$d.pid"))"; else echo "$d: stopped"; fi
    done
    if alive "$dir/slurmctld.pid"; then SLURM_CONF=$conf sinfo; fi
    ;;
  *) echo "usage: scripts/slurm.sh start|stop|status" >&2; exit 2 ;;
esac
