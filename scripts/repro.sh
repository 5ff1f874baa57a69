#!/usr/bin/env bash
# The main job: set up, then run the whole pipeline (dvc repro) on the default params.
# Extra arguments go to dvc repro (e.g. scripts/repro.sh kmeans).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
dvc repro "$@"
# The report's first finding: the best run, and its margins over the study's rows.
[[ -f reports/report.md ]] && sed -n 3p reports/report.md
echo "metrics: reports/metrics.json   report: reports/report.md   figures: reports/figures/"
