#!/usr/bin/env bash
# `make unit`: the unit tier. It starts nothing (no broker, no store, no browser): it needs only
# the project's venv, and every test in it runs against in-memory fakes.
#   PYTEST_ARGS="..."        more pytest arguments (e.g. "-k age_rule -x")
#   FLOKK_FAKETIME="+365d"   run the tier under a shifted clock (libfaketime, installed when
#                            missing); tests marked real_clock are left out, each says why
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
bash "$here/bootstrap.sh" venv
cd "$FLOKK_ROOT"
if [ -z "${FLOKK_FAKETIME:-}" ]; then
  # shellcheck disable=SC2086
  exec .venv/bin/python -m pytest -m unit tests/unit ${PYTEST_ARGS-}
fi
if ! command -v faketime >/dev/null; then
  echo "[unit] installing faketime (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq faketime >/dev/null
fi
echo "[unit] the unit tier with the clock shifted by $FLOKK_FAKETIME" >&2
# The monotonic clock shifts too, by the same constant, so every deadline (a difference) holds.
# It must: with FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 still shifts the absolute
# deadline Python 3.11's time.sleep hands to clock_nanosleep, and every sleep fails with EINVAL.
# shellcheck disable=SC2086
exec faketime -f "$FLOKK_FAKETIME" .venv/bin/python -m pytest -m "unit and not real_clock" tests/unit ${PYTEST_ARGS-}
