#!/usr/bin/env bash
# `make demo`: install, start broker, store, the five services and a local SMTP server, load the
# example directory, send one sample registration through every hop, leave the system running.
# With SMTP_HOST or SMTP_PORT set, the receipt goes to that mail server and no local one is started;
# off this machine, it is really delivered, so the demo wants FLOKK_DEMO_RECIPIENT, an address of yours.
set -euo pipefail
export FLOKK_MODE=demo
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
recipient="${FLOKK_DEMO_RECIPIENT:-kari@example.org}"
case "$SMTP_HOST" in
  127.* | localhost | ::1 | "[::1]") ;;
  *)
    if [ -z "${FLOKK_DEMO_RECIPIENT:-}" ]; then
      echo "make demo: the mail server $SMTP_HOST:$SMTP_PORT is not on this machine, so the sample receipt" >&2
      echo "would really be sent. Set FLOKK_DEMO_RECIPIENT to an address of yours to receive it." >&2
      exit 2
    fi ;;
esac
if [ -n "${FLOKK_SMTP_SINK_PORT:-}" ]; then
  mail_to="the local SMTP server, mail kept in $FLOKK_RUN_DIR/mail"
  sample_args=(--maildir "$FLOKK_RUN_DIR/mail")
else
  mail_to="your mail server, from SMTP_HOST/SMTP_PORT: no local one started"
  sample_args=()
fi
bash "$here/bootstrap.sh"
bash "$here/infra.sh" start
bash "$here/services.sh" start 2>&1 | grep -v -e 'Eventlet' -e '^$' -e 'eventlet' -e 'framework' -e 'strongly' -e 'migrat' || true
cd "$FLOKK_ROOT"
.venv/bin/python scripts/seed_directory.py 2>/dev/null
echo
.venv/bin/python scripts/send_sample.py --recipient "$recipient" "${sample_args[@]}"
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
  SMTP        $SMTP_HOST:$SMTP_PORT  ($mail_to)
  logs        $FLOKK_RUN_DIR/logs

Sign in at http://127.0.0.1:$GATEWAY_PORT/login with the password '$DEMO_PASSWORD' as
  staff@example.no     contact point staff of LINK Bergen og omegn (pool, proposals, groups)
  admin@example.no     the national office (national figures, every contact point)
  referrer@example.no  a referrer (refer a person, follow the referrals' statuses)
Stop everything with: make down
TXT
