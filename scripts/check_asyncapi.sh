#!/usr/bin/env bash
# Validates docs/asyncapi.yaml with the reference parser, @asyncapi/parser (pinned in
# scripts/asyncapi/package.json), on the machine's Node.js. Installed under .tools/ on first use.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tools="$root/.tools/asyncapi"
if [ ! -f "$tools/.installed-$(sha256sum "$here/asyncapi/package.json" | cut -c1-16)" ]; then
  command -v npm >/dev/null || { echo "[asyncapi] npm (Node.js) is needed" >&2; exit 1; }
  rm -rf "$tools"; mkdir -p "$tools"
  cp "$here/asyncapi/package.json" "$tools/"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$tools/.installed-$(sha256sum "$here/asyncapi/package.json" | cut -c1-16)"
fi
cp "$here/asyncapi/validate.mjs" "$tools/"
node "$tools/validate.mjs" "$root/docs/asyncapi.yaml"
