#!/usr/bin/env bash
# The one start/stop machinery of Flokk's processes: the five services as `nameko run` processes,
# the local SMTP sink (only when scripts/env.sh says the mail server is ours: no SMTP_HOST or
# SMTP_PORT from the caller) and the local SMS provider (unless SMS_URL is set). PID files and logs
# under the run directory. `make demo`, the e2e and browser tests, `make bench` and `make faults`
# all start and stop them here; ports, vhost, databases and run directory come from the
# environment (scripts/env.sh: AMQP_URI, FLOKK_DB_PREFIX, FLOKK_RUN_DIR, GATEWAY_PORT, ...).
#
#   scripts/services.sh start|stop|restart|kill|status [--only NAME,...] [--module SERVICE=MODULE]...
#                                                      [--stand-ins SERVICE,...] [--replicas SERVICE=N,...]
#   start     start what is not running yet, then wait until the services named answer health()
#   stop      SIGTERM (each process group), SIGKILL what is left after 10 s
#   restart   stop, then start
#   kill      SIGKILL, as a crash would, and wait until it is gone (the fault run)
#   status    running or stopped, one line each
#   --only NAME,...          only these: services and `smtp`, `sms` (default: all of them)
#   --module SERVICE=MODULE  run SERVICE from MODULE (nameko's `module[:Class]`), e.g.
#                            registration=tests.e2e.registration_with_faults
#   --stand-ins SERVICE,...  run these services as stand-ins that answer every documented RPC with
#                            example data (tests/browser/stand_ins.py)
#   --replicas SERVICE=N,... start N processes of these services (start only): the first as SERVICE,
#                            the others as SERVICE-2 ... SERVICE-N, sharing its queues as the pods of
#                            one Deployment do (`make bench`'s scale-out run). stop, kill and status
#                            act on a service's replicas with it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
PY="$FLOKK_ROOT/.venv/bin/python"
SERVICES="directory registration matching notification gateway"
STAND_INS="directory registration matching notification"  # the classes of tests/browser/stand_ins.py
piddir="$FLOKK_RUN_DIR/pids"; logdir="$FLOKK_RUN_DIR/logs"

usage() { sed -n '/^#   scripts\/services.sh/,/^[^#]/p' "${BASH_SOURCE[0]}" | grep '^#' | cut -c2- >&2; exit 2; }
fail() { echo "[services] $*" >&2; exit 2; }
one_of() { [[ " $2 " == *" $1 "* ]]; }  # word, list

command="${1:-}"; [ $# -gt 0 ] && shift
only=""
declare -A module=() replicas=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:-}"; shift 2 || usage; [ -n "$only" ] || fail "--only: name at least one process" ;;
    --module)
      pair="${2:-}"; shift 2 || usage
      name="${pair%%=*}"; target="${pair#*=}"
      [ "$pair" != "$name" ] && [ -n "$target" ] || fail "--module $pair: expected SERVICE=MODULE"
      one_of "$name" "$SERVICES" || fail "--module $pair: no service '$name' (one of: $SERVICES)"
      module[$name]="$target" ;;
    --stand-ins)
      list="${2:-}"; shift 2 || usage
      for name in ${list//,/ }; do
        one_of "$name" "$STAND_INS" || fail "--stand-ins: no stand-in for '$name' (there are: $STAND_INS)"
        module[$name]="tests.browser.stand_ins:${name^}StandIn"
      done ;;
    --replicas)
      list="${2:-}"; shift 2 || usage
      for pair in ${list//,/ }; do
        name="${pair%%=*}"; count="${pair#*=}"
        one_of "$name" "$SERVICES" || fail "--replicas $pair: no service '$name' (one of: $SERVICES)"
        [[ "$count" =~ ^[1-4]$ ]] || fail "--replicas $pair: a count from 1 to 4"
        replicas[$name]="$count"
      done ;;
    *) fail "unknown option '$1'" ;;
  esac
done

# What this call acts on: every process by default, or those named.
selected="$SERVICES smtp sms"
if [ -n "$only" ]; then
  selected="${only//,/ }"
  for name in $selected; do
    one_of "$name" "$SERVICES smtp sms" || fail "--only: no process '$name' (one of: $SERVICES smtp sms)"
  done
fi

mkdir -p "$piddir" "$logdir"

running() {  # PID: the process runs (a zombie, killed but not yet reaped, does not)
  kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

alive() { [ -f "$1" ] && running "$(cat "$1")"; }  # a PID file whose process runs

with_replicas() {  # names: each, followed by the replicas (NAME-2, ...) that have a PID file
  local name file
  for name in "$@"; do
    echo "$name"
    for file in "$piddir/$name"-[0-9].pid; do
      if [ -f "$file" ]; then basename "$file" .pid; fi
    done
  done
}

# The broker users scripts/infra.sh made for this run directory's broker (none: guest, as the
# caller's AMQP_URI says). Each service connects as its own user, the topology as `topology`, the
# health check as `ops`; a caller's own AMQP_USERNAME wins.
users_file="$FLOKK_RUN_DIR/rabbitmq/users"
as_user() {  # user, then the command: run it as that broker user when there are users
  local user=$1; shift
  if [ -f "$users_file" ] && [ -z "${AMQP_USERNAME:-}" ]; then
    AMQP_USERNAME="$user" AMQP_PASSWORD="$(sed -n "s/^$user=//p" "$users_file")" "$@"
  else
    "$@"
  fi
}

start_one() {  # name, then the command
  local name=$1; shift
  if alive "$piddir/$name.pid"; then echo "[services] $name already running"; return; fi
  (cd "$FLOKK_ROOT" && exec setsid "$@") >>"$logdir/$name.log" 2>&1 </dev/null &
  echo $! >"$piddir/$name.pid"
}

start() {
  # The sinks only when they are ours: none for the caller's mail server or SMS provider.
  if one_of smtp "$selected" && [ -z "${FLOKK_SMTP_SINK_PORT:-}" ]; then
    echo "[services] smtp: mail goes to the caller's server ($SMTP_HOST:$SMTP_PORT), none of ours" >&2
    selected="${selected/smtp/}"
  fi
  if one_of sms "$selected" && [ -n "${SMS_URL:-}" ]; then
    echo "[services] sms: SMS goes to the caller's provider ($SMS_URL), none of ours" >&2
    selected="${selected/sms/}"
  fi
  export SMS_URL="${SMS_URL:-http://127.0.0.1:$SMS_PORT}"
  local services_selected="" name
  for name in $selected; do one_of "$name" "$SERVICES" && services_selected="$services_selected $name"; done
  if one_of smtp "$selected"; then
    start_one smtp "$PY" scripts/smtp_sink.py --port "$FLOKK_SMTP_SINK_PORT" --maildir "$FLOKK_RUN_DIR/mail"
  fi
  if one_of sms "$selected"; then
    start_one sms "$PY" scripts/sms_provider.py --port "$SMS_PORT" --outbox "$FLOKK_RUN_DIR/sms"
  fi
  [ -n "$services_selected" ] || return 0
  as_user topology "$PY" -m services.common.topology >/dev/null
  local i=0 service copy replica_ports=""
  for service in $SERVICES; do  # metrics ports by the service's place in SERVICES, whatever is started
    i=$((i + 1))
    one_of "$service" "$services_selected" || continue
    METRICS_PORT=$((FLOKK_METRICS_BASE + i)) WEB_SERVER_ADDRESS="127.0.0.1:$GATEWAY_PORT" \
      as_user "$service" start_one "$service" "$PY" -m services.common.runner --config services/config.yml \
      "${module[$service]:-services.$service.service}"
    for copy in $(seq 2 "${replicas[$service]:-1}"); do  # replica k: the metrics ports after the first five
      METRICS_PORT=$((FLOKK_METRICS_BASE + 5 * (copy - 1) + i)) WEB_SERVER_ADDRESS="127.0.0.1:$GATEWAY_PORT" \
        as_user "$service" start_one "$service-$copy" "$PY" -m services.common.runner --config services/config.yml \
        "${module[$service]:-services.$service.service}"
      replica_ports="$replica_ports $service-$copy:$((FLOKK_METRICS_BASE + 5 * (copy - 1) + i))"
    done
  done
  # Ready when every service named answers its health check over RPC (the gateway: /healthz), and
  # each replica its own /healthz (an RPC reaches whichever replica takes it).
  # shellcheck disable=SC2086
  as_user ops "$PY" -m services.common.wait_healthy $services_selected $replica_ports
}

signal_all() {  # signal, then names: each process group (or the process), PID files removed; prints the PIDs
  local sig=$1 name pid; shift
  for name in "$@"; do
    if alive "$piddir/$name.pid"; then
      pid=$(cat "$piddir/$name.pid"); echo "$pid"
      kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
    fi
    rm -f "$piddir/$name.pid"
  done
}

exists() { kill -0 "$1" 2>/dev/null; }  # PID: running, or a zombie not yet reaped

gone() {  # seconds, test (running/exists), then PIDs: wait until the test fails for all; false if not
  local tenths=$(($1 * 10)) test=$2 pid left; shift 2
  for _ in $(seq 1 "$tenths"); do
    left=0
    for pid in "$@"; do "$test" "$pid" && left=1; done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

stop() {  # TERM all at once, then wait for all (reaped) with one deadline, then KILL what is left
  local pids pid
  # shellcheck disable=SC2086
  mapfile -t pids < <(signal_all TERM $(with_replicas $selected))
  [ ${#pids[@]} -gt 0 ] || return 0
  gone 10 exists "${pids[@]}" && return 0
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
  gone 5 exists "${pids[@]}" || true
}

crash() {  # SIGKILL, as a crash would; gone before this returns
  local pids
  # shellcheck disable=SC2086
  mapfile -t pids < <(signal_all KILL $(with_replicas $selected))
  [ ${#pids[@]} -gt 0 ] || return 0
  gone 10 running "${pids[@]}" || fail "still running 10 s after SIGKILL: ${pids[*]}"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  kill) crash ;;
  status) for name in $(with_replicas $selected); do alive "$piddir/$name.pid" && echo "$name: running" || echo "$name: stopped"; done ;;
  *) usage ;;
esac
