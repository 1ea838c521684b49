#!/usr/bin/env bash
# The README's test command: set everything up, then run the harness's own tests
# (which drive real containerd, runc, crun, Docker, sshd and a registry). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pytest "$@"
