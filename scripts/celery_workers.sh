#!/usr/bin/env bash
# A Redis broker and two Dagster Celery workers (w1, w2) on 127.0.0.1, for
# IPTABLES_ASSETS_EXECUTOR=celery (docs/operations.md, "Running on Celery workers"; the CI test uses it).
#
#   scripts/celery_workers.sh start DIR   # redis + w1 + w2; pid and log files in DIR; waits until ready
#   scripts/celery_workers.sh stop DIR    # warm shutdown of the workers (SIGKILL after 30 s), redis after
#
# The workers inherit this shell's environment, which must be the driver's: DAGSTER_HOME, every
# DAGSTER_PG_* of the instance, the project importable (same venv, or PYTHONPATH). Set PYTHON to
# that venv's python (default python3) and REDIS_PORT (default 6379). Redis keeps nothing on
# disk (no RDB, no AOF). Restart the workers after a code change: their processes cache modules.
# Every wait is bounded (READY_TIMEOUT seconds, default 90).
set -euo pipefail

command=${1:-}
dir=${2:-}
if [[ -z $command || -z $dir ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
PYTHON=${PYTHON:-python3}
port=${REDIS_PORT:-6379}
ready_timeout=${READY_TIMEOUT:-90}
broker="redis://127.0.0.1:${port}/0"
backend="redis://127.0.0.1:${port}/1"
workers=(w1 w2)

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
  for w in "${workers[@]}"; do
    alive "$dir/$w.pid" && kill -TERM "$(cat "$dir/$w.pid")" 2>/dev/null || true
  done
  for w in "${workers[@]}"; do
    [[ -f $dir/$w.pid ]] || continue
    pid=$(cat "$dir/$w.pid")
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$w did not stop within 30 s: SIGKILL to it and its pool processes" >&2
      kill -KILL "$pid" $(pgrep -P "$pid") 2>/dev/null || true
    fi
    rm -f "$dir/$w.pid"
  done
  if alive "$dir/redis.pid"; then
    pid=$(cat "$dir/redis.pid")
    timeout -s KILL 10 redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/redis.pid"
}

fail() {
  echo "$1" >&2
  for log in "$dir"/redis.log "${workers[@]/#/$dir/}"; do
    [[ -f ${log%.log}.log ]] && { echo "--- ${log%.log}.log" >&2; tail -n 20 "${log%.log}.log" >&2; }
  done
  stop
  exit 1
}

case $command in
  start)
    command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    alive "$dir/redis.pid" && { echo "already running (pid files in $dir); stop first" >&2; exit 1; }
    rm -f "$dir"/w1.log "$dir"/w2.log "$dir"/redis.log
    redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' --appendonly no \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 1 100); do
      timeout -s KILL 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && break
      sleep 0.1
    done
    timeout -s KILL 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG \
      || fail "redis did not answer on 127.0.0.1:$port within 10 s"
    # The executor's config names these variables: each worker resolves them again.
    export DAGSTER_CELERY_BROKER_URL=$broker DAGSTER_CELERY_BACKEND_URL=$backend
    # -b/--result-backend are global options (before `worker`): without them dagster_celery.app
    # falls back to RabbitMQ on localhost and rpc://. One process each, one task at a time.
    for w in "${workers[@]}"; do
      "$PYTHON" -m celery -A dagster_celery.app -b "$broker" --result-backend "$backend" \
        worker -n "$w@%h" -Q dagster -c 1 --prefetch-multiplier=1 --without-mingle --without-gossip -l INFO \
        --logfile "$dir/$w.log" --pidfile "$dir/$w.pid" --detach
    done
    for w in "${workers[@]}"; do
      for _ in $(seq 1 $((ready_timeout * 10))); do
        grep -q "$w@.* ready" "$dir/$w.log" 2>/dev/null && break
        sleep 0.1
      done
      grep -q "$w@.* ready" "$dir/$w.log" 2>/dev/null || fail "$w was not ready within $ready_timeout s"
    done
    echo "redis on 127.0.0.1:$port and workers ${workers[*]} ready; pid and log files in $dir"
    echo "export DAGSTER_CELERY_BROKER_URL=$broker DAGSTER_CELERY_BACKEND_URL=$backend IPTABLES_ASSETS_EXECUTOR=celery"
    ;;
  stop)
    stop
    echo "stopped (redis on 127.0.0.1:$port, workers ${workers[*]})"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
