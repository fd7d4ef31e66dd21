#!/usr/bin/env bash
# Installs what webstack needs on a Debian machine, idempotently: Node.js 20 or newer
# (from Debian if it is missing), the daemons and tools the lab runs (from Debian, without
# letting their packages start system services: webstack runs them itself, inside its
# namespaces), and the npm packages pinned in package-lock.json. `--tests`: what the tests need too.
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

# The Debian packages come from the daemon registry (src/daemons/registry.ts), so that a daemon
# added there is installed here too. With --tests, also what only the tests use: Debian's
# chromium, in which they open the pages webstack writes (prove's report) and look at them.
packages=$(node bin/webstack.js packages)
if [ "${1:-}" = "--tests" ]; then packages="$packages chromium"; fi
missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then missing="$missing $package"; fi
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then say "the lab needs:$missing; run this script as root (sudo bash scripts/install.sh), or: sudo apt-get install$missing"; exit 1; fi
  say "installing from Debian:$missing (their system services are not started)"
  # invoke-rc.d asks policy-rc.d before starting a service; 101 means 'not allowed'. Ours is
  # removed afterwards, and one that was already there is left alone.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1; fi
  trap 'if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
