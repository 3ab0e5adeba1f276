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
echo
# Demo accounts, one per role that signs in (an account that exists from an earlier demo stays).
DEMO_PASSWORD='demo passphrase 2026'
demo_account() {
  FLOKK_PASSWORD="$DEMO_PASSWORD" .venv/bin/python -W ignore::Warning -m services.gateway.accounts create --exists-ok "$@"
}
demo_account --email staff@example.no --role contact_point_staff --contact-point link-bergen --name "Siri"
demo_account --email admin@example.no --role national_admin --name "Nasjonalt kontor"
demo_account --email referrer@example.no --role referrer --referrer-id ref-demo-gp --name "Dr. Lund"
cat <<TXT

Flokk is running:
  gateway     http://127.0.0.1:$GATEWAY_PORT  (try /healthz)
  RabbitMQ    $AMQP_URI  (management http://127.0.0.1:$FLOKK_MGMT_PORT, guest/guest)
  store       $MONGODB_URI
  SMTP        $SMTP_HOST:$SMTP_PORT  (mail kept in $FLOKK_RUN_DIR/mail)
  logs        $FLOKK_RUN_DIR/logs

Sign in at http://127.0.0.1:$GATEWAY_PORT/login with the password '$DEMO_PASSWORD' as
  staff@example.no     contact point staff of LINK Bergen og omegn (pool, proposals, groups)
  admin@example.no     the national office (national figures, every contact point)
  referrer@example.no  a referrer (refer a person, follow the referrals' statuses)
Stop everything with: make down
TXT
