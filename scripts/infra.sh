#!/usr/bin/env bash
# Installs (when missing), starts and stops the project's own infrastructure: the real RabbitMQ
# server and the MongoDB-wire store (SecantusDB, in its own venv, a separate GPL process).
# All state lives under $FLOKK_RUN_DIR; nothing listens beyond loopback; stop is by PID file.
#
#   scripts/infra.sh install | start | stop | status
#
# Ports and the run directory come from scripts/env.sh (demo defaults, or a test slot).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$here/env.sh"

RABBIT_BIN=/usr/lib/rabbitmq/bin
STORE_VENV="$FLOKK_ROOT/.tools/store-venv"
STORE_VERSION="0.7.0b3"

say() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll COMMAND until it succeeds or the deadline passes.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      die "$what was not ready within ${seconds}s (see logs in $FLOKK_RUN_DIR)"
    fi
    sleep 0.2
  done
}

install_rabbitmq() {
  [ -x "$RABBIT_BIN/rabbitmq-server" ] && return
  say "installing rabbitmq-server (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rabbitmq-server >/dev/null
}

install_store() {
  [ -x "$STORE_VENV/bin/secantusd-py" ] && return
  say "installing SecantusDB $STORE_VERSION into its own venv"
  python3 -m venv "$STORE_VENV"
  "$STORE_VENV/bin/pip" install -q "SecantusDB==$STORE_VERSION" 2>&1 | grep -v '^WARNING: Location' || true
  [ -x "$STORE_VENV/bin/secantusd-py" ] || die "SecantusDB did not install"
}

rabbit_env() {
  local base="$FLOKK_RUN_DIR/rabbitmq"
  mkdir -p "$base/mnesia" "$base/log" "$base/home"
  # Management and AMQP listen on loopback only; the distribution port is pinned per run dir.
  cat >"$base/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$FLOKK_AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $FLOKK_MGMT_PORT
loopback_users = none
log.console = false
log.file.level = warning
EOF
  echo '[rabbitmq_management].' >"$base/enabled_plugins"
  export HOME="$base/home"
  export RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log"
  export RABBITMQ_PID_FILE="$base/rabbitmq.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf"
  export RABBITMQ_NODENAME="flokk$FLOKK_PORT_TAG@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_DIST_PORT="$FLOKK_DIST_PORT" ERL_EPMD_PORT="$FLOKK_EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

start_rabbitmq() {
  rabbit_env
  if pid_alive "$RABBITMQ_PID_FILE"; then say "rabbitmq already running (pid $(cat "$RABBITMQ_PID_FILE"))"; return; fi
  if ! pid_alive "$FLOKK_RUN_DIR/rabbitmq/epmd.pid"; then
    /usr/bin/epmd -address 127.0.0.1 -port "$FLOKK_EPMD_PORT" >/dev/null 2>&1 &
    echo $! >"$FLOKK_RUN_DIR/rabbitmq/epmd.pid"
  fi
  say "starting rabbitmq on 127.0.0.1:$FLOKK_AMQP_PORT (management $FLOKK_MGMT_PORT)"
  setsid "$RABBIT_BIN/rabbitmq-server" >"$FLOKK_RUN_DIR/rabbitmq/log/stdout.log" 2>&1 </dev/null &
  wait_for "rabbitmq pid file" 30 test -s "$RABBITMQ_PID_FILE"
  timeout 60 "$RABBIT_BIN/rabbitmqctl" wait -q -t 60 "$RABBITMQ_PID_FILE" >/dev/null 2>&1 \
    || die "rabbitmq did not start within 60s (log: $FLOKK_RUN_DIR/rabbitmq/log)"
  wait_for "rabbitmq management API" 30 python3 - "$FLOKK_MGMT_PORT" <<'PY'
import sys, urllib.request, base64
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/overview")
req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
urllib.request.urlopen(req, timeout=2).read()
PY
}

stop_rabbitmq() {
  rabbit_env
  if pid_alive "$RABBITMQ_PID_FILE"; then
    say "stopping rabbitmq"
    local pid; pid=$(cat "$RABBITMQ_PID_FILE")
    timeout 30 "$RABBIT_BIN/rabbitmqctl" -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
  fi
  if pid_alive "$FLOKK_RUN_DIR/rabbitmq/epmd.pid"; then kill "$(cat "$FLOKK_RUN_DIR/rabbitmq/epmd.pid")" 2>/dev/null || true; fi
  rm -f "$RABBITMQ_PID_FILE" "$FLOKK_RUN_DIR/rabbitmq/epmd.pid"
}

store_pidfile() { echo "$FLOKK_RUN_DIR/store/store.pid"; }

start_store() {
  local dir="$FLOKK_RUN_DIR/store"; mkdir -p "$dir/data"
  if pid_alive "$(store_pidfile)"; then say "store already running (pid $(cat "$(store_pidfile)"))"; return; fi
  say "starting SecantusDB on 127.0.0.1:$FLOKK_MONGO_PORT"
  setsid "$STORE_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$FLOKK_MONGO_PORT" \
    --storage-path "$dir/data" >>"$dir/store.log" 2>&1 </dev/null &
  echo $! >"$(store_pidfile)"
  wait_for "the store on port $FLOKK_MONGO_PORT" 30 python3 -c "
import socket; s = socket.create_connection(('127.0.0.1', $FLOKK_MONGO_PORT), 1); s.close()"
}

stop_store() {
  local pidfile; pidfile=$(store_pidfile)
  if pid_alive "$pidfile"; then
    say "stopping the store"
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  install) install_rabbitmq; install_store ;;
  start)
    install_rabbitmq; install_store
    mkdir -p "$FLOKK_RUN_DIR"
    # Only start what the URIs point at locally: an external broker or a real MongoDB needs nothing here.
    if [ -z "${AMQP_URI_EXTERNAL:-}" ]; then start_rabbitmq; fi
    if [ -z "${MONGODB_URI_EXTERNAL:-}" ]; then start_store; fi
    ;;
  stop) stop_store; stop_rabbitmq ;;
  status)
    rabbit_env
    pid_alive "$RABBITMQ_PID_FILE" && echo "rabbitmq: running" || echo "rabbitmq: stopped"
    pid_alive "$(store_pidfile)" && echo "store: running" || echo "store: stopped"
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
