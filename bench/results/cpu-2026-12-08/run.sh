#!/usr/bin/env bash
# Several self-labelling classifiers averaged, on the trained simclr models of the
# digits-3000 recipe's five experiments (seeds 1-5, simclr at 400 epochs), which a clone
# made by ../cpu-2026-12-07h/run.sh holds in refs/exps and its DVC cache. Nothing but
# self-labelling trains.
#   1. ensemble_probe.py: 4 classifiers seeded seed + 1000 r, averaged, with and without
#      8 distorted views per image at labelling time (the probe that chose the route);
#   2. bench/selflabel_seeds.py with methods.selflabel.runs: 4: the stage's own function,
#      as the recipe now runs it (seeds from aeclust.cluster.runs.run_seeds).
set -euo pipefail
clone="${1:?usage: run.sh CLONE_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python "$here/ensemble_probe.py" "$clone" "$here/ensemble_probe.json" | tee "$here/ensemble_probe.log"
sed 's/^    runs: 1 \( *# classifiers\)/    runs: 4 \1/' "$root/params.yaml" > "$here/params-runs4.yaml"
python "$root/bench/selflabel_seeds.py" --repo "$clone" --params "$here/params-runs4.yaml" \
    --models simclr --out "$here/selflabel_runs4.json" | tee "$here/selflabel_runs4.log"
# 3. The recipe itself, seed 1, in a fresh clone of the project at this folder's commit
#    (nothing cached): trains simclr again, then every stage, selflabel with its 4 classifiers.
#      git clone PROJECT FRESH && cd FRESH && scripts/recipe.sh digits-3000 --seeds 1 | tee "$here/recipe-seed1.log"
#      python "$here/../cpu-2026-12-07h/collect.py" FRESH "$here" --started START-TIME
