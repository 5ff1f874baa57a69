#!/usr/bin/env bash
# The pull-request report, the same in CI (.github/workflows/report.yml) and locally:
# bring this commit's outputs and the run-cache from the DVC remote, reproduce whatever is
# still missing or changed, and write a markdown report of what changed against a base
# revision: metrics, params and figures.
#
# Usage: scripts/ci-report.sh [--base REV] [--push] [--figures-url URL] [--output FILE]
#   --base REV         compare with REV (default: main)
#   --push             afterwards, push the outputs and the run-cache to the remote, so that
#                      nobody has to reproduce them again
#   --figures-url URL  where the figures' links point: URL/reports/figures/<name>.png
#                      (default: the bare path, for a viewer in the project folder)
#   --output FILE      write the report to FILE (default: standard output)
# Run it from the project (any folder of the git clone). Without a default DVC remote it
# only reproduces. DVC's own messages go to standard error.
set -euo pipefail

base=main push=false figures_url="" output=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --push) push=true; shift ;;
    --figures-url) figures_url="${2%/}/"; shift 2 ;;
    --output) output="$(realpath -m "$2")"; shift 2 ;;
    -h | --help) sed -n '7,15p' "$0" | cut -c3-; exit 0 ;;
    *) echo "ci-report: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

top="$(git rev-parse --show-toplevel 2>/dev/null)" \
  || { echo "ci-report: run it in a git clone of the project" >&2; exit 2; }
cd "$top"
# Locally, the project's .venv (scripts/setup.sh) when dvc is not on PATH already.
if ! command -v dvc >/dev/null && [ -x .venv/bin/dvc ]; then PATH="$PWD/.venv/bin:$PATH"; fi
git rev-parse --verify --quiet "$base^{commit}" >/dev/null \
  || { echo "ci-report: no git revision '$base' to compare with (fetch it, or pass --base)" >&2; exit 2; }

remote="$(dvc remote default 2>/dev/null || true)"
if $push && [ -z "$remote" ]; then echo "ci-report: --push needs a default DVC remote" >&2; exit 2; fi
if [ -n "$remote" ]; then
  # Partial on purpose: a commit whose outputs were never pushed still reproduces below.
  dvc pull --run-cache >&2 \
    || echo "ci-report: not every output of this commit is in '$remote'; dvc repro makes the rest" >&2
else
  echo "ci-report: no default DVC remote; reproducing without one" >&2
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# --pull: a stage found in the run-cache gets its outputs from the remote instead of rerunning.
dvc repro ${remote:+--pull} 2>&1 | tee "$log" >&2
if $push; then dvc push --run-cache >&2; fi

ran="$(sed -n "s/^Running stage '\(.*\)':$/\`\1\`/p" "$log" | paste -sd, - | sed 's/,/, /g')"
restored="$(sed -n "s/^Stage '\(.*\)' is cached - skipping run.*/\`\1\`/p" "$log" | paste -sd, - | sed 's/,/, /g')"

# A `dvc metrics/params diff --md` table with no row is its header and separator only.
table_or() {
  if [ "$(grep -c '^|' <<<"$1")" -gt 2 ]; then echo "$1"; else echo "$2"; fi
}
metrics="$(dvc metrics diff "$base" --md)"
params="$(dvc params diff "$base" --md)"
figures="$(
  { git diff --name-only "$base" -- reports/figures
    git ls-files --others --exclude-standard -- reports/figures; } \
    | sort -u | while read -r path; do if [ -f "$path" ]; then echo "$path"; fi; done
)"

report() {
  echo "## aeclust: \`$(git rev-parse --short HEAD)\` vs \`$base\`"
  echo
  echo "Stages run: ${ran:-none, every output came from the cache or the remote}."
  if [ -n "$restored" ]; then echo "Restored from the run-cache: $restored."; fi
  if ! git diff --quiet HEAD -- dvc.lock; then
    echo
    echo "> This commit's outputs are out of date (\`dvc repro\` changed \`dvc.lock\`):"
    echo "> run \`dvc repro\`, commit, and \`dvc push\`."
  fi
  echo
  echo "### Metrics"
  echo
  table_or "$metrics" "No metric changed."
  echo
  echo "### Params"
  echo
  table_or "$params" "No param changed."
  echo
  echo "### Figures"
  echo
  if [ -z "$figures" ]; then echo "No figure changed."; fi
  while read -r path; do
    [ -n "$path" ] || continue
    echo "**$path**"
    echo
    echo "![$(basename "$path")](${figures_url}${path})"
    echo
  done <<<"$figures"
}

if [ -n "$output" ]; then report >"$output"; else report; fi
