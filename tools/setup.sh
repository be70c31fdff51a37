#!/usr/bin/env bash
# tools/setup.sh - make this checkout ready to run: npm dependencies (which bring Node 24 as
# node_modules/.bin/node) installed from the lock file. Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

command -v npm >/dev/null 2>&1 || { log "npm is missing: install Node.js (>= 20) with npm first"; exit 1; }
stamp=node_modules/.kloset-setup-stamp
if [ ! -x node_modules/.bin/node ] || [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
v=$(node_modules/.bin/node -p 'process.versions.node.split(".")[0]')
[ "$v" -ge 24 ] || { log "node_modules/.bin/node is Node $v, expected 24"; exit 1; }
