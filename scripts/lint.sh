#!/usr/bin/env bash
# `make lint`: the static checks CI runs before any test: ruff (lint and format) and mypy, all
# configured in pyproject.toml and installed in the project's venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
bash "$here/bootstrap.sh" venv
cd "$FLOKK_ROOT"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
