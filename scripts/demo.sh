#!/usr/bin/env bash
# `make demo`: install, start broker, store, the five services and a local SMTP server, load the
# example directory, send one sample registration through every hop, leave the system running.
set -euo pipefail
export FLOKK_MODE=demo
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
bash "$here/bootstrap.sh"
bash "$here/infra.sh" start
bash "$here/services.sh" start 2>&1 | grep -v -e 'Eventlet' -e '^$' -e 'eventlet' -e 'framework' -e 'strongly' -e 'migrat' || true
cd "$FLOKK_ROOT"
.venv/bin/python scripts/seed_directory.py 2>/dev/null
echo
.venv/bin/python scripts/send_sample.py --maildir "$FLOKK_RUN_DIR/mail" 2>/dev/null
cat <<TXT

Flokk is running:
  gateway     http://127.0.0.1:$GATEWAY_PORT  (try /healthz)
  RabbitMQ    $AMQP_URI  (management http://127.0.0.1:$FLOKK_MGMT_PORT, guest/guest)
  store       $MONGODB_URI
  SMTP        $SMTP_HOST:$SMTP_PORT  (mail kept in $FLOKK_RUN_DIR/mail)
  logs        $FLOKK_RUN_DIR/logs
Stop everything with: make down
TXT
