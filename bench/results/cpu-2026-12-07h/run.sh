#!/usr/bin/env bash
# The digits-3000 recipe with simclr trained 400 epochs, seeds 1-5, through the pipeline,
# in a fresh clone of the project (nothing cached beforehand), then this folder's JSON.
set -euo pipefail
clone="${1:?usage: run.sh CLONE_DIR}"
out="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$clone"
started=$(date -Is)
scripts/recipe.sh digits-3000 --seeds 1,2,3,4,5 -S models.simclr.epochs=400 | tee "$out/recipe.log"
cp reports/seeds.md reports/seeds.json "$out/"
python "$out/collect.py" . "$out" --started "$started"
