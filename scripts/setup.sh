#!/usr/bin/env bash
# The README's first command: install everything, analyse and draw the seeds' distributed design,
# then bring the default blueprint (simple) up for real and say how to reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --tests
mkdir -p out
npx --no-install webstack check distributed
npx --no-install webstack diagram distributed -o out/distributed.svg
npx --no-install webstack diagram distributed --format mermaid -o out/distributed.mmd
if [ "$(id -u)" != 0 ]; then
  printf '\nwebstack is installed. Running a stack needs root: sudo npx webstack up simple\n'
  exit 0
fi
echo
npx --no-install webstack up simple
