#!/usr/bin/env bash
# The README's main job: set everything up, bring up the local lab (2 systemd nodes running
# Docker) and run the pipeline on it; JUnit lands in reports/. Extra args go to `harness run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/harness run "$@"
