#!/usr/bin/env bash
# Run a named recipe (recipes/<name>.yaml, an overlay of params.yaml) as DVC experiments:
#
#   scripts/recipe.sh NAME [dvc exp run options, e.g. -S seed=3 -S 'data.source=idx:DIR']
#   scripts/recipe.sh NAME --seeds 1,2,3,4,5 [dvc exp run options]
#   scripts/recipe.sh --list
#
# One run: `dvc exp run` in the workspace, the experiment named NAME-seed<seed>, with the
# recipe's changes as -S overrides (then the extra options; later ones win). With --seeds:
# one queued experiment per seed, run one after another by `dvc queue start`, then the
# summary over those seeds (`python -m aeclust.seeds`: reports/seeds.md and seeds.json).
# An experiment of the same name is replaced. A bad recipe or setting: one line, exit 2,
# before anything runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail() { echo "recipe: $*" >&2; exit 1; }
if ! command -v dvc >/dev/null 2>&1 || ! python -c 'import aeclust, dvc' >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source scripts/setup.sh
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"

if [ "${1:-}" = "--list" ]; then
  python -m aeclust.recipes list
  exit 0
fi
[ $# -ge 1 ] || { echo "usage: scripts/recipe.sh NAME [--seeds 1,2,3] [dvc exp run options]" >&2; exit 2; }
name="$1"
shift
seeds=""
if [ "${1:-}" = "--seeds" ]; then
  [ $# -ge 2 ] || { echo "recipe: --seeds needs a list, e.g. --seeds 1,2,3,4,5" >&2; exit 2; }
  seeds="$2"
  shift 2
  [[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]] \
    || { echo "recipe: --seeds $seeds: must be seeds separated by commas, e.g. 1,2,3" >&2; exit 2; }
fi

overrides=$(python -m aeclust.recipes overrides "$name" "$@") || exit 2
sets=()
while IFS= read -r line; do
  [ -n "$line" ] && sets+=(-S "$line")
done <<< "$overrides"

if [ -z "$seeds" ]; then
  exp=$(python -m aeclust.recipes name "$name" "$@") || exit 2
  dvc exp run --force --name "$exp" "${sets[@]}" "$@" || fail "experiment $exp failed"
  echo "recipe: experiment $exp done; dvc exp show shows it, reports/ holds its results"
  exit 0
fi

IFS=, read -r -a seed_list <<< "$seeds"
for seed in "${seed_list[@]}"; do
  exp=$(python -m aeclust.recipes name "$name" "$@" -S "seed=$seed") || exit 2
  dvc exp run --queue --force --name "$exp" "${sets[@]}" "$@" -S "seed=$seed" >/dev/null \
    || fail "cannot queue experiment $exp"
  echo "recipe: queued $exp"
done
# The queue's workers inherit its output: send it to a file, not to a pipe that closes.
mkdir -p .dvc/tmp
dvc queue start -j 1 > .dvc/tmp/recipe-queue.log 2>&1 || fail "dvc queue start failed (.dvc/tmp/recipe-queue.log)"
# (The status is read whole first: grep -q stopping early would fail the pipe.)
while status=$(dvc queue status 2>/dev/null) && grep -Eq '\b(Queued|Running)\b' <<< "$status"; do
  sleep 10
done
failed=$(grep -c '\bFailed\b' <<< "$status" || true)
[ "$failed" = "0" ] || echo "recipe: $failed queued experiment(s) failed: see dvc queue status, dvc queue logs" >&2
python -m aeclust.seeds --seeds "$seeds"
