#!/usr/bin/env bash
# `make test`: installs what it needs, starts its own broker and store (own run directory and
# ports, so a running demo is never touched), runs pytest, stops what it started.
#   FLOKK_TEST_SLOT=N   another set of ports and run directory (parallel runs)
#   FLOKK_KEEP_INFRA=1  leave broker and store running for the next run
#   PYTEST_ARGS="..."   passed to pytest (e.g. "tests/unit -x"); unset: every tier
#   BROWSER_ARGS="..."  the browser tests (Playwright + Debian chromium) in a second pytest process
#                       without eventlet; unset: tests/browser when PYTEST_ARGS is unset, else none
#   FLOKK_ONLY=screenshots  no tests: write the screenshots of the main pages to docs/screenshots
set -euo pipefail
export FLOKK_MODE=test
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
bash "$here/bootstrap.sh"
cleanup() { [ -n "${FLOKK_KEEP_INFRA:-}" ] || bash "$here/infra.sh" stop; }
trap cleanup EXIT
bash "$here/infra.sh" start
cd "$FLOKK_ROOT"
if [ "${FLOKK_ONLY:-}" = screenshots ]; then
  exec .venv/bin/python -m tests.browser.screenshots "$FLOKK_ROOT/docs/screenshots"
fi
check() {  # pytest's exit code, where "collected no tests" (5) is a failure too
  if [ "$1" -eq 5 ]; then echo "[test] pytest collected no tests: that is a failure here" >&2; return 1; fi
  return "$1"
}
set +e
rc=0
if [ -n "${PYTEST_ARGS-tests}" ]; then
  # shellcheck disable=SC2086
  .venv/bin/python -m pytest --amqp-uri "$AMQP_URI" --rabbit-api-uri "$RABBIT_MGMT_URI" ${PYTEST_ARGS-tests}
  check $? || rc=1
fi
browser_args="${BROWSER_ARGS-}"
if [ -z "${PYTEST_ARGS+set}" ] && [ -z "${BROWSER_ARGS+set}" ]; then browser_args=tests/browser; fi
if [ -n "$browser_args" ]; then
  # Playwright must not share a process with eventlet: no root conftest, no nameko plugin here.
  # shellcheck disable=SC2086
  .venv/bin/python -m pytest -p no:pytest_nameko --confcutdir "$FLOKK_ROOT/tests/browser" $browser_args
  check $? || rc=1
fi
set -e
exit $rc
