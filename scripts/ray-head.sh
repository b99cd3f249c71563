#!/usr/bin/env bash
# A local single-node Ray head for tests, benchmarks and trying `metavec prep --engine ray`.
#   scripts/ray-head.sh start   starts `ray start --head --block` in its own process group; prints the Jobs API URL
#   scripts/ray-head.sh stop    stops that process group by PID (SIGTERM, then SIGKILL after 20 s)
#   scripts/ray-head.sh status  exit 0 when the Jobs API answers
# Environment: RAY_HEAD_DIR (state: pid file, temp dir; default /tmp/metavec-ray), RAY_HEAD_CPUS (2),
# RAY_DASHBOARD_PORT (8265), RAY_GCS_PORT (6380). `ray` must be on PATH (scripts/setup.sh --system installs it).
set -euo pipefail
dir=${RAY_HEAD_DIR:-/tmp/metavec-ray}
cpus=${RAY_HEAD_CPUS:-2}
dport=${RAY_DASHBOARD_PORT:-8265}
gport=${RAY_GCS_PORT:-6380}
pidfile=$dir/head.pid
url="http://127.0.0.1:$dport"

up() { python3 - "$url" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/api/version", timeout=2).read()
PY
}

case "${1:-}" in
  start)
    if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$url"; exit 0; fi
    mkdir -p "$dir"
    # Child processes of dead actors (the Node workers) are reaped and killed by the raylet.
    export RAY_kill_child_processes_on_worker_exit_with_raylet_subreaper=true
    export RAY_USAGE_STATS_ENABLED=0
    # --block keeps `ray start` in the foreground as the parent of the head's processes: stopping its process
    # group by PID stops the whole head (no `ray stop`, which would stop every Ray on the machine).
    setsid ray start --head --block --num-cpus "$cpus" --num-gpus 0 --port "$gport" \
      --dashboard-host 127.0.0.1 --dashboard-port "$dport" --include-dashboard true \
      --temp-dir "$dir/tmp" --disable-usage-stats >"$dir/head.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
      if up; then echo "$url"; exit 0; fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "ray-head: ray start exited; log:" >&2; tail -30 "$dir/head.log" >&2; exit 1; fi
      sleep 1
    done
    echo "ray-head: the Jobs API did not answer at $url within 120 s; log: $dir/head.log" >&2
    exit 1
    ;;
  stop)
    [[ -f $pidfile ]] || exit 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    ;;
  status)
    up
    ;;
  *)
    echo "usage: scripts/ray-head.sh start|stop|status" >&2
    exit 2
    ;;
esac
