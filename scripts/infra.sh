#!/usr/bin/env bash
# Installs (when missing), starts and stops the project's own infrastructure: the real RabbitMQ
# server and the MongoDB-wire store (SecantusDB, in its own venv, a separate GPL process).
# All state lives under $FLOKK_RUN_DIR; nothing listens beyond loopback; stop is by PID file.
#
#   scripts/infra.sh install | start | stop | status
#
# Ports and the run directory come from scripts/env.sh (demo defaults, or a test slot).
# FLOKK_RABBIT_NODES=3 starts a RabbitMQ cluster of three nodes instead of one node; `start` starts
# whatever node is not running (a node killed is started again and rejoins on its own).
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

# The RabbitMQ nodes: node 1 alone by default; with FLOKK_RABBIT_NODES=N (scripts/env.sh) nodes
# 1..N form one cluster. Node n keeps its state under rabbitmq/ (n = 1) or rabbitmq-n/, listens on
# ports of its own (rabbit_port) and has a name of its own; all share one Erlang cookie (one HOME)
# and one epmd. `stop` and `status` act on every node directory there is, whatever
# FLOKK_RABBIT_NODES says now.
node_dir() { if [ "$1" = 1 ]; then echo "$FLOKK_RUN_DIR/rabbitmq"; else echo "$FLOKK_RUN_DIR/rabbitmq-$1"; fi; }
node_name() { if [ "$1" = 1 ]; then echo "flokk$FLOKK_PORT_TAG@localhost"; else echo "flokk$FLOKK_PORT_TAG-$1@localhost"; fi; }
clustered() { [ "$FLOKK_RABBIT_NODES" -gt 1 ]; }
existing_nodes() {  # the numbers of the nodes that have a directory here, in order
  local dir
  for dir in "$FLOKK_RUN_DIR"/rabbitmq "$FLOKK_RUN_DIR"/rabbitmq-[0-9]*; do
    [ -d "$dir" ] || continue
    case "$dir" in */rabbitmq) echo 1 ;; *) echo "${dir##*-}" ;; esac
  done | sort -n
}

# rabbit_env N: the environment of node N for rabbitmq-server and rabbitmqctl. It exports, so
# each caller runs it in a subshell of its own.
rabbit_env() {
  local n=$1 base home="$FLOKK_RUN_DIR/rabbitmq/home"
  base=$(node_dir "$n")
  mkdir -p "$base/mnesia" "$base/log" "$home"
  # Management and AMQP listen on loopback only; the distribution port is pinned per run dir.
  cat >"$base/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$(rabbit_port "$FLOKK_AMQP_PORT" "$n")
management.tcp.ip = 127.0.0.1
management.tcp.port = $(rabbit_port "$FLOKK_MGMT_PORT" "$n")
loopback_users = none
log.console = false
log.file.level = warning
EOF
  local erl_args="-kernel inet_dist_use_interface {127,0,0,1}"
  if clustered; then
    # As in deploy/: a node cut off from the majority stops rather than take writes that the heal
    # would throw away. Schedulers that do not busy-wait leave the shared cores to the others.
    echo "cluster_partition_handling = pause_minority" >>"$base/rabbitmq.conf"
    erl_args="$erl_args +sbwt none +sbwtdcpu none +sbwtdio none"
  fi
  echo '[rabbitmq_management].' >"$base/enabled_plugins"
  # One cookie for every node, written before any of them starts (each would make its own).
  if [ ! -s "$home/.erlang.cookie" ]; then
    (umask 077 && python3 -c "import secrets, string
print(''.join(secrets.choice(string.ascii_uppercase) for _ in range(20)), end='')" >"$home/.erlang.cookie")
    chmod 400 "$home/.erlang.cookie"
  fi
  export HOME="$home"
  export RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log"
  export RABBITMQ_PID_FILE="$base/rabbitmq.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf"
  RABBITMQ_NODENAME=$(node_name "$n") RABBITMQ_DIST_PORT=$(rabbit_port "$FLOKK_DIST_PORT" "$n")
  export RABBITMQ_NODENAME RABBITMQ_DIST_PORT RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT="$FLOKK_EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$erl_args"
}

ctl() { timeout 60 "$RABBIT_BIN/rabbitmqctl" "$@"; }  # for the node whose rabbit_env ran

management_answers() {  # PORT
  python3 - "$1" <<'PY'
import sys, urllib.request, base64
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/overview")
req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
urllib.request.urlopen(req, timeout=2).read()
PY
}

# A broker user per service, `integration`, `ops` and `topology`, with the rights of
# services/common/topology.py on the vhost "/": passwords made once, kept in the run directory
# (mode 0600), where scripts/services.sh finds them. guest stays, on loopback, for test and demo.
# Users are the cluster's: made once, through node 1's management API.
broker_users() {
  "$FLOKK_ROOT/.venv/bin/python" -m services.common.broker_users apply --vhost / \
    --credentials "$FLOKK_RUN_DIR/rabbitmq/users" >/dev/null || die "the broker users could not be made"
}

launch_node() {  # N: start node N's process unless it runs; returns at once
  (
    rabbit_env "$1"
    if pid_alive "$RABBITMQ_PID_FILE"; then
      say "rabbitmq node $1 already running (pid $(cat "$RABBITMQ_PID_FILE"))"
      exit 0
    fi
    rm -f "$RABBITMQ_PID_FILE"  # a SIGKILLed node leaves its PID file behind
    say "starting rabbitmq node $1 on 127.0.0.1:$(rabbit_port "$FLOKK_AMQP_PORT" "$1")" \
      "(management $(rabbit_port "$FLOKK_MGMT_PORT" "$1"))"
    setsid "$RABBIT_BIN/rabbitmq-server" >"$(node_dir "$1")/log/stdout.log" 2>&1 </dev/null &
  )
}

await_node() {  # N: wait until node N has booted and its management API answers
  (
    rabbit_env "$1"
    wait_for "rabbitmq node $1 pid file" 30 test -s "$RABBITMQ_PID_FILE"
    ctl wait -q -t 60 "$RABBITMQ_PID_FILE" >/dev/null 2>&1 \
      || die "rabbitmq node $1 did not start within 60s (log: $(node_dir "$1")/log)"
    wait_for "rabbitmq node $1 management API" 30 management_answers "$(rabbit_port "$FLOKK_MGMT_PORT" "$1")"
  )
}

member_of() {  # NODE: the node whose rabbit_env ran counts NODE among its cluster's disc nodes
  ctl -q cluster_status --formatter json | python3 -c "
import json, sys
sys.exit(0 if sys.argv[1] in json.load(sys.stdin)['disk_nodes'] else 1)" "$1"
}

join_node() {  # N (> 1): make node N a member of node 1's cluster, unless it is one already
  (
    rabbit_env "$1"
    seed=$(node_name 1)
    member_of "$seed" && exit 0
    say "rabbitmq node $1 joins the cluster of node 1"
    { ctl -q stop_app && ctl -q join_cluster "$seed" && ctl -q start_app; } >>"$(node_dir "$1")/log/join.log" 2>&1 \
      || die "rabbitmq node $1 could not join node 1 (see $(node_dir "$1")/log/join.log)"
  )
}

cluster_complete() {  # node 1 sees every node running
  (
    rabbit_env 1
    ctl -q cluster_status --formatter json | python3 -c "
import json, sys
sys.exit(0 if len(json.load(sys.stdin)['running_nodes']) == int(sys.argv[1]) else 1)" "$FLOKK_RABBIT_NODES"
  )
}

start_rabbitmq() {
  local found; found=$(existing_nodes | tail -n 1)
  if [ "${found:-1}" -gt "$FLOKK_RABBIT_NODES" ]; then  # its nodes would wait for peers never started
    die "$FLOKK_RUN_DIR holds a RabbitMQ cluster of $found nodes: start it with FLOKK_RABBIT_NODES=$found," \
      "or stop it and remove $FLOKK_RUN_DIR/rabbitmq*"
  fi
  mkdir -p "$FLOKK_RUN_DIR/rabbitmq"
  if ! pid_alive "$FLOKK_RUN_DIR/rabbitmq/epmd.pid"; then
    /usr/bin/epmd -address 127.0.0.1 -port "$FLOKK_EPMD_PORT" >/dev/null 2>&1 &
    echo $! >"$FLOKK_RUN_DIR/rabbitmq/epmd.pid"
  fi
  # Every node's process first, then the waits: a node of a cluster that was stopped whole
  # finishes booting only once its peers are up.
  local n
  for n in $(seq 1 "$FLOKK_RABBIT_NODES"); do launch_node "$n"; done
  for n in $(seq 1 "$FLOKK_RABBIT_NODES"); do await_node "$n"; done
  if clustered; then
    for n in $(seq 2 "$FLOKK_RABBIT_NODES"); do join_node "$n"; done
    wait_for "all $FLOKK_RABBIT_NODES rabbitmq nodes running in one cluster" 60 cluster_complete
  fi
}

stop_node() {  # N
  (
    rabbit_env "$1"
    if pid_alive "$RABBITMQ_PID_FILE"; then
      say "stopping rabbitmq node $1"
      pid=$(cat "$RABBITMQ_PID_FILE")
      timeout 30 "$RABBIT_BIN/rabbitmqctl" -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RABBITMQ_PID_FILE"
  )
}

stop_rabbitmq() {
  local n stopping=()
  for n in $(existing_nodes); do  # all at once: a clean stop takes about 8 s each
    stop_node "$n" &
    stopping+=($!)
  done
  [ ${#stopping[@]} -eq 0 ] || wait "${stopping[@]}"
  if pid_alive "$FLOKK_RUN_DIR/rabbitmq/epmd.pid"; then kill "$(cat "$FLOKK_RUN_DIR/rabbitmq/epmd.pid")" 2>/dev/null || true; fi
  rm -f "$FLOKK_RUN_DIR/rabbitmq/epmd.pid"
}

rabbitmq_status() {
  local n label
  for n in $(existing_nodes); do
    label="rabbitmq"; [ "$n" = 1 ] || label="rabbitmq node $n"
    if pid_alive "$(node_dir "$n")/rabbitmq.pid"; then echo "$label: running"; else echo "$label: stopped"; fi
  done
  [ -n "$(existing_nodes)" ] || echo "rabbitmq: stopped"
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
    if [ -z "${AMQP_URI_EXTERNAL:-}" ]; then start_rabbitmq; broker_users; fi
    if [ -z "${MONGODB_URI_EXTERNAL:-}" ]; then start_store; fi
    ;;
  stop) stop_store; stop_rabbitmq ;;
  status)
    rabbitmq_status
    pid_alive "$(store_pidfile)" && echo "store: running" || echo "store: stopped"
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
