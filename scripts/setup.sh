#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install the project with its dev tools, once.
# Sourced by repro.sh and test.sh; re-installs only when pyproject.toml changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$root/.venv/bin/python" ]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "setup: $python is $("$python" --version 2>&1); aeclust needs Python >= 3.11 (set PYTHON=...)" >&2; exit 2; }
  "$python" -m venv "$root/.venv"
fi
stamp="$root/.venv/.aeclust-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  "$root/.venv/bin/python" -m pip install --quiet --upgrade pip
  "$root/.venv/bin/python" -m pip install --quiet -e "$root[dev]"
  # Compile umap-learn's numba code now, once, rather than in the first dvc repro.
  (cd "$root" && "$root/.venv/bin/python" scripts/warm_up.py params.yaml) \
    || echo "setup: warning: warm-up failed; the first manifold stage compiles instead" >&2
  touch "$stamp"
fi
# shellcheck disable=SC1091
source "$root/.venv/bin/activate"
cd "$root"
# DVC needs a git repository (a clone has one) and its own config (committed in .dvc/).
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "setup: run from a git clone of aeclust" >&2; exit 2; }
