#!/usr/bin/env bash
# The tests: set up, lint, then pytest (unit tests and the end-to-end dvc repro).
# Extra arguments go to pytest: scripts/test.sh -m "not slow" is the fast tier (unit tests).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ruff check src stages tests bench
python -m pytest -q "$@"
