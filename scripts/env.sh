# Sourced by the project's scripts: one place for the run directory and the ports.
#   FLOKK_MODE=demo (default): the ports of docs/design.md §6, state under .run/demo.
#   FLOKK_MODE=test: ports 30000 + 100*FLOKK_TEST_SLOT + n, state under .run/test-SLOT, so tests
#   never collide with a running demo (or with each other, given different slots).
# AMQP_URI / MONGODB_URI set by the caller point at an external broker / store: none is started.
# FLOKK_RABBIT_NODES=3 (1 to 4; default 1): scripts/infra.sh runs a RabbitMQ cluster of that many
# nodes on loopback instead of one. Node n listens on the first node's AMQP, management and
# distribution ports plus FLOKK_RABBIT_PORT_STEP*(n-1) (20 in test mode, 1 in the demo), and
# AMQP_URI lists every node, separated by ';' (docs/operations.md, "A RabbitMQ cluster").
# SMTP_HOST / SMTP_PORT set by the caller (loopback included) name their own mail server: no SMTP
# sink is started (docs/design.md §6). Otherwise mail goes to the scripts' own sink
# (scripts/smtp_sink.py) on FLOKK_SMTP_SINK_PORT: 8025 for the demo. Test mode always has its own
# sink, on the slot's port unless the caller names another, so a test never mails a real server.
FLOKK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FLOKK_ROOT
export FLOKK_MODE="${FLOKK_MODE:-demo}"
[ -n "${AMQP_URI:-}" ] && [ -z "${FLOKK_AMQP_PORT:-}" ] && export AMQP_URI_EXTERNAL=1
[ -n "${MONGODB_URI:-}" ] && [ -z "${FLOKK_MONGO_PORT:-}" ] && export MONGODB_URI_EXTERNAL=1
export FLOKK_RABBIT_NODES="${FLOKK_RABBIT_NODES:-1}"
case "$FLOKK_RABBIT_NODES" in
  [1-4]) ;;
  *) echo "[env] FLOKK_RABBIT_NODES must be a number of RabbitMQ nodes from 1 to 4, not '$FLOKK_RABBIT_NODES'" >&2
     return 2 2>/dev/null || exit 2 ;;
esac
if [ "$FLOKK_MODE" = test ]; then
  slot="${FLOKK_TEST_SLOT:-0}"
  base=$((30000 + 100 * slot))
  export FLOKK_RUN_DIR="${FLOKK_RUN_DIR:-$FLOKK_ROOT/.run/test-$slot}"
  export FLOKK_PORT_TAG="test$slot"
  export FLOKK_AMQP_PORT=$((base + 1)) FLOKK_MGMT_PORT=$((base + 2)) FLOKK_MONGO_PORT=$((base + 3))
  export FLOKK_EPMD_PORT=$((base + 4)) FLOKK_DIST_PORT=$((base + 5)) FLOKK_RABBIT_PORT_STEP=20
  export FLOKK_SMTP_SINK_PORT="${FLOKK_SMTP_SINK_PORT:-$((base + 6))}"
  export GATEWAY_PORT="${GATEWAY_PORT:-$((base + 7))}" FLOKK_METRICS_BASE="${FLOKK_METRICS_BASE:-$((base + 10))}"
  export SMS_PORT="${SMS_PORT:-$((base + 8))}"
else
  export FLOKK_RUN_DIR="${FLOKK_RUN_DIR:-$FLOKK_ROOT/.run/demo}"
  export FLOKK_PORT_TAG="demo"
  export FLOKK_AMQP_PORT=5672 FLOKK_MGMT_PORT=15672 FLOKK_MONGO_PORT=27017
  export FLOKK_EPMD_PORT=4369 FLOKK_DIST_PORT=25672 FLOKK_RABBIT_PORT_STEP=1
  export GATEWAY_PORT=8000 FLOKK_METRICS_BASE=9100 SMS_PORT=8026
  # Decided before the SMTP defaults below; a script started from here keeps the decision, as
  # FLOKK_SMTP_SINK_PORT (ours) or SMTP_HOST/SMTP_PORT without it (the caller's).
  if [ -z "${SMTP_HOST:-}${SMTP_PORT:-}" ]; then export FLOKK_SMTP_SINK_PORT="${FLOKK_SMTP_SINK_PORT:-8025}"; fi
fi
if [ -n "${FLOKK_SMTP_SINK_PORT:-}" ]; then
  export SMTP_HOST=127.0.0.1 SMTP_PORT="$FLOKK_SMTP_SINK_PORT"
else
  export SMTP_HOST="${SMTP_HOST:-127.0.0.1}" SMTP_PORT="${SMTP_PORT:-8025}"
fi
# rabbit_port PORT N: node N's port of the kind whose first node's port is PORT.
rabbit_port() { echo $(($1 + FLOKK_RABBIT_PORT_STEP * ($2 - 1))); }
if [ -z "${AMQP_URI:-}" ]; then
  AMQP_URI=""
  for node in $(seq 1 "$FLOKK_RABBIT_NODES"); do
    AMQP_URI="$AMQP_URI${AMQP_URI:+;}amqp://guest:guest@127.0.0.1:$(rabbit_port "$FLOKK_AMQP_PORT" "$node")/"
  done
fi
export AMQP_URI
# retryWrites=false for the development store only: SecantusDB keeps a record of every retryable
# write for 30 min and walks (past 10,000 records: sorts) them all under one lock on each write,
# which made every store call slower after ~3,000 registrations. Every write the services make
# outside a transaction is idempotent or guarded (outbox deletes, claims), and a failed one is
# retried by the shared delivery, so the driver's own retry is not needed; a real MongoDB keeps
# its default (the operator's connection string).
export MONGODB_URI="${MONGODB_URI:-mongodb://127.0.0.1:$FLOKK_MONGO_PORT/?retryWrites=false}"
# Five concurrent workers per service (nameko's default is ten, as in deploy/) on the development
# store only: with ten, its transaction registry, one lock that every transactional statement takes
# and that its reaper holds while it waits for statements in flight, now and then stalls every
# client at ~50 registrations/s for 9-50 s (6 of 7 runs at saturation; with five, two runs of
# 100 s at 44/s stalled for 2 s at most). See docs/operations.md, "Benchmark".
[ -z "${MONGODB_URI_EXTERNAL:-}" ] && export MAX_WORKERS="${MAX_WORKERS:-5}"
export RABBIT_MGMT_URI="${RABBIT_MGMT_URI:-http://guest:guest@127.0.0.1:$FLOKK_MGMT_PORT}"
