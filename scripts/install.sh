#!/usr/bin/env bash
# Installs what webstack needs on a Debian machine, idempotently: Node.js 20 or newer
# (from Debian if it is missing) and the npm packages pinned in package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'webstack setup: %s\n' "$*"; }

if [ "$(uname -s)" != "Linux" ]; then
  say "webstack runs on Linux (Debian); this is $(uname -s)."; exit 1
fi

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then say "Node.js is missing; run this as root, or install it: sudo apt-get install nodejs npm"; exit 1; fi
  say "installing Node.js and npm from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ "$(node_major)" -lt 20 ]; then
  say "webstack needs Node.js 20 or newer, and this machine has $(node --version); install a newer one (Debian 13: apt-get install nodejs)."; exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
