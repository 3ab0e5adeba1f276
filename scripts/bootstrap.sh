#!/usr/bin/env bash
# Everything `make demo` and `make test` need on a fresh Debian machine: the project's venv (with
# the pinned dependencies), RabbitMQ from Debian, and the store in its own venv. Idempotent.
#   scripts/bootstrap.sh venv   the project's venv only (the unit tier and the static checks)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
cd "$FLOKK_ROOT"
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "[bootstrap] installing the project into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import nameko, pymongo, marshmallow, kombu, aiosmtpd" || { echo "[bootstrap] install failed" >&2; exit 1; }
  rm -f .venv/.installed-*; touch "$stamp"
fi
[ "${1:-}" = venv ] && exit 0
# The browser tests drive Debian's chromium through Playwright (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  echo "[bootstrap] installing chromium (Debian package) for the browser tests" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
bash "$here/infra.sh" install
