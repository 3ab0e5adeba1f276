#!/usr/bin/env bash
# Installs axe-core (pinned in scripts/axe/package.json) under .tools/axe on first use, with the
# machine's npm, and prints the path of axe.min.js, which the browser tests inject into each page.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$root/.tools/axe"
stamp="$tools/.installed-$(sha256sum "$here/axe/package.json" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  command -v npm >/dev/null || { echo "[axe] npm (Node.js) is needed" >&2; exit 1; }
  rm -rf "$tools"; mkdir -p "$tools"
  cp "$here/axe/package.json" "$tools/"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$stamp"
fi
echo "$tools/node_modules/axe-core/axe.min.js"
