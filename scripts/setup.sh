#!/usr/bin/env bash
# The README's first command: install everything, then run the main job
# (analyse the seeds' distributed design and draw it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
mkdir -p out
npx --no-install webstack check distributed
npx --no-install webstack diagram distributed -o out/distributed.svg
npx --no-install webstack diagram distributed --format mermaid -o out/distributed.mmd
printf '\nwebstack is ready. Try: npx webstack blueprints | npx webstack check ha | npx webstack init ha my-stack.yaml\n'
