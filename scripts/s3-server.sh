#!/usr/bin/env bash
# A real S3-compatible server for tests and benchmarks: S3Proxy (Apache jclouds' filesystem backend), a single
# jar from Maven Central run with the JDK. Chosen over MinIO built with `go install` on install cost measured
# here (docs/s3.md): 12.5 s / 42 MB for the jar vs 4 min 33 s / 2.1 GB of module and build cache for MinIO.
#
#   scripts/s3-server.sh install              fetch the jar into .cache/s3-server/ (once; later calls are instant)
#   scripts/s3-server.sh start STATE_DIR [PORT]   start on 127.0.0.1 (PORT default: a free one); data in
#                                             STATE_DIR/data (kept across stop/start: a restart sees the same
#                                             objects); writes STATE_DIR/env (endpoint, test credentials) and
#                                             STATE_DIR/pid; waits until the server answers
#   scripts/s3-server.sh stop STATE_DIR       stop the server by its PID (and wait for it to exit)
#
# The credentials are fixed test values for a server bound to the loopback interface; they are not secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

S3PROXY_VERSION=2.7.0
ARTIFACT="org.gaul:s3proxy:${S3PROXY_VERSION}:jar:jar-with-dependencies"
CACHE_DIR="$ROOT/.cache/s3-server"
JAR="$CACHE_DIR/s3proxy-${S3PROXY_VERSION}.jar"
ACCESS_KEY=metavec-test-access
SECRET_KEY=metavec-test-secret-key

die() { echo "s3-server: $*" >&2; exit 1; }

install() {
  [[ -s "$JAR" ]] && return 0
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    if [[ $(id -u) -eq 0 ]]; then
      echo "s3-server: installing a JDK runtime and Maven (Debian packages)" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends default-jre-headless maven >/dev/null
    else
      die "java and mvn are needed to install S3Proxy (not root: cannot apt-get install them)"
    fi
  fi
  echo "s3-server: fetching S3Proxy ${S3PROXY_VERSION} from Maven Central" >&2
  mkdir -p "$CACHE_DIR"
  local repo="$CACHE_DIR/m2"
  mvn -q -B -Dmaven.repo.local="$repo" dependency:get -Dartifact="$ARTIFACT" -Dtransitive=false >&2
  local got="$repo/org/gaul/s3proxy/${S3PROXY_VERSION}/s3proxy-${S3PROXY_VERSION}-jar-with-dependencies.jar"
  [[ -s "$got" ]] || die "Maven did not produce $got"
  cp "$got.sha1" "$JAR.sha1" 2>/dev/null || true
  mv "$got" "$JAR.tmp" && mv "$JAR.tmp" "$JAR"
  rm -rf "$repo"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

start() {
  local state=${1:?usage: s3-server.sh start STATE_DIR [PORT]}
  local port=${2:-}
  install
  mkdir -p "$state/data"
  state=$(cd "$state" && pwd)
  if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then die "already running (pid $(cat "$state/pid"))"; fi
  if [[ -z "$port" && -f "$state/port" ]]; then port=$(cat "$state/port"); fi
  [[ -n "$port" ]] || port=$(free_port)
  echo "$port" >"$state/port"
  cat >"$state/s3proxy.conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:${port}
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=${ACCESS_KEY}
s3proxy.credential=${SECRET_KEY}
jclouds.provider=filesystem
jclouds.filesystem.basedir=${state}/data
EOF
  # A small serial-GC heap: the server stores objects as files and needs little memory.
  java -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar "$JAR" --properties "$state/s3proxy.conf" >>"$state/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$state/pid"
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then tail -n 20 "$state/server.log" >&2; die "S3Proxy exited during start-up (log: $state/server.log)"; fi
    if curl -s -o /dev/null "http://127.0.0.1:${port}/" 2>/dev/null; then break; fi
    sleep 0.1
  done
  curl -s -o /dev/null "http://127.0.0.1:${port}/" || { kill "$pid"; die "S3Proxy did not answer on port $port within 60 s"; }
  cat >"$state/env" <<EOF
METAVEC_TEST_S3_ENDPOINT=http://127.0.0.1:${port}
METAVEC_TEST_S3_ACCESS_KEY=${ACCESS_KEY}
METAVEC_TEST_S3_SECRET_KEY=${SECRET_KEY}
METAVEC_TEST_S3_DATA=${state}/data
METAVEC_TEST_S3_PID=${pid}
EOF
  echo "s3-server: S3Proxy ${S3PROXY_VERSION} on http://127.0.0.1:${port} (pid ${pid}, data ${state}/data)" >&2
}

stop() {
  local state=${1:?usage: s3-server.sh stop STATE_DIR}
  [[ -f "$state/pid" ]] || return 0
  local pid
  pid=$(cat "$state/pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$state/pid"
}

case "${1:-}" in
  install) install; echo "$JAR" ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  jar) echo "$JAR" ;;
  *) echo "usage: scripts/s3-server.sh install | start STATE_DIR [PORT] | stop STATE_DIR | jar" >&2; exit 2 ;;
esac
