#!/usr/bin/env bash
# `make down`: stop everything `make demo` started, by PID.
set -euo pipefail
export FLOKK_MODE=demo
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
bash "$here/services.sh" stop
bash "$here/infra.sh" stop
echo "stopped"
