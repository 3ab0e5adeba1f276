#!/usr/bin/env bash
# `make test`: installs what it needs, starts its own broker and store (own run directory and
# ports, so a running demo is never touched), runs pytest, stops what it started.
#   FLOKK_TEST_SLOT=N   another set of ports and run directory (parallel runs)
#   FLOKK_KEEP_INFRA=1  leave broker and store running for the next run
#   PYTEST_ARGS="..."   passed to pytest (e.g. "tests/unit -x")
set -euo pipefail
export FLOKK_MODE=test
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
bash "$here/bootstrap.sh"
cleanup() { [ -n "${FLOKK_KEEP_INFRA:-}" ] || bash "$here/infra.sh" stop; }
trap cleanup EXIT
bash "$here/infra.sh" start
cd "$FLOKK_ROOT"
set +e
# shellcheck disable=SC2086
.venv/bin/python -m pytest --amqp-uri "$AMQP_URI" --rabbit-api-uri "$RABBIT_MGMT_URI" ${PYTEST_ARGS:-tests}
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "[test] pytest collected no tests: that is a failure here" >&2; rc=1; fi
exit $rc
