#!/usr/bin/env bash
# One experiment of a sweep, on a worker (a CI runner, a pod, a spare machine) that shares
# only the team's git remote and DVC remote with the others:
#
#   scripts/exp-job.sh -S seed=3 [-S KEY=VALUE ...] [other dvc exp run options]
#
# Run it in a clone whose git remote `origin` (or $AECLUST_GIT_REMOTE) and default DVC
# remote are the team's. It
#   1. checks the params with the overrides, and fails fast (exit 2, one line) on a bad one;
#   2. exits 0 at once if the remote already holds a finished experiment of this commit
#      with these params (run anywhere, by anyone);
#   3. pulls what the run needs from the DVC remote, the run-cache included, so that a
#      stage run anywhere before with the same inputs is restored, not run;
#   4. runs the experiment (`dvc exp run`), named after its overrides;
#   5. pushes it to the git remote with its outputs and run-cache entries. Only a finished
#      experiment is pushed: a job killed midway leaves nothing, and its rerun does it all.
# Any failure is one line on stderr and a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail() { echo "exp-job: $*" >&2; exit 1; }
# A worker's image may bring the environment; else make .venv as scripts/repro.sh does.
if ! command -v dvc >/dev/null 2>&1 || ! python -c 'import aeclust, dvc' >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source scripts/setup.sh
fi
remote="${AECLUST_GIT_REMOTE:-origin}"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code, as the stages run it

python -m aeclust.config.overrides "$@" || exit 2
git fetch -q "$remote" '+refs/exps/*:refs/exps/*' || fail "cannot fetch experiments from $remote"
pushed=$(dvc exp list "$remote" --name-only) || fail "cannot list the experiments of $remote"
done_as=$(python -m aeclust.sweep done --among "$pushed" "$@") \
  || fail "cannot read the experiments' params (dvc exp show)"
if [ -n "$done_as" ]; then
  echo "exp-job: $remote already has experiment $done_as with these params: nothing to run"
  exit 0
fi
dvc pull -q --run-cache --allow-missing || fail "dvc pull from the default DVC remote failed"
# Named after the overrides, plus a random part: a rerun after a kill is a new experiment.
name="job-$(printf '%s\n' "$@" | sha1sum | cut -c1-8)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
dvc exp run --name "$name" "$@" || fail "experiment $name failed (dvc exp run $*)"
dvc exp push --run-cache "$remote" "$name" || fail "cannot push experiment $name to $remote"
echo "exp-job: experiment $name pushed to $remote"
