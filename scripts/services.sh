#!/usr/bin/env bash
# Starts and stops the five services as `nameko run` processes (plus the local SMTP server unless
# SMTP_HOST/SMTP_PORT point elsewhere, and the local SMS provider unless SMS_URL does), PID files
# and logs under the run directory.
#   scripts/services.sh start | stop | status
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
PY="$FLOKK_ROOT/.venv/bin/python"
SERVICES="directory registration matching notification gateway"
piddir="$FLOKK_RUN_DIR/pids"; logdir="$FLOKK_RUN_DIR/logs"
mkdir -p "$piddir" "$logdir"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_one() {  # name, then the command
  local name=$1; shift
  if alive "$piddir/$name.pid"; then echo "[services] $name already running"; return; fi
  (cd "$FLOKK_ROOT" && exec setsid "$@") >>"$logdir/$name.log" 2>&1 </dev/null &
  echo $! >"$piddir/$name.pid"
}

start() {
  if [ -z "${SMTP_EXTERNAL:-}" ] && [ "$SMTP_HOST" = 127.0.0.1 ]; then
    start_one smtp "$PY" scripts/smtp_sink.py --port "$SMTP_PORT" --maildir "$FLOKK_RUN_DIR/mail"
  fi
  if [ -z "${SMS_URL:-}" ]; then
    start_one sms "$PY" scripts/sms_provider.py --port "$SMS_PORT" --outbox "$FLOKK_RUN_DIR/sms"
  fi
  export SMS_URL="${SMS_URL:-http://127.0.0.1:$SMS_PORT}"
  "$PY" -m services.common.topology "$AMQP_URI" >/dev/null
  local i=0
  for service in $SERVICES; do
    i=$((i + 1))
    METRICS_PORT=$((FLOKK_METRICS_BASE + i)) WEB_SERVER_ADDRESS="127.0.0.1:$GATEWAY_PORT" \
      start_one "$service" "$PY" -m nameko run --config services/config.yml "services.$service.service"
  done
  # Ready when every service answers its health check over RPC.
  "$PY" -m services.common.wait_healthy $SERVICES
}

stop() {  # TERM all at once, then wait for all with one deadline, then KILL what is left
  local pids=() name pid
  for name in $SERVICES smtp sms; do
    if alive "$piddir/$name.pid"; then
      pid=$(cat "$piddir/$name.pid"); pids+=("$pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$piddir/$name.pid"
  done
  for _ in $(seq 1 100); do
    local left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ $left = 0 ] && return
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) for name in $SERVICES smtp sms; do alive "$piddir/$name.pid" && echo "$name: running" || echo "$name: stopped"; done ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
