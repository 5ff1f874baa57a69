#!/usr/bin/env bash
# Run a named recipe on a GPU machine with JAX (TensorFlow may be absent there): the same
# experiments as scripts/recipe.sh, with Keras on the JAX backend.
#
#   scripts/recipe-gpu.sh NAME [--seeds 1,2,3,4,5] [dvc exp run options]
#
# Install first, once: pip install -e ".[jax]" and JAX's CUDA build (pip install
# "jax[cuda12]"). Every stage then runs with KERAS_BACKEND=jax; JAX does not grab the whole
# GPU memory at start (XLA_PYTHON_CLIENT_PREALLOCATE=false), so the stages' processes and
# UMAP's threads share the machine. Without a GPU JAX runs on the CPU, and this script says so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=2
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
devices=$("$python" -c 'import jax; print(" ".join(sorted({d.platform for d in jax.devices()})))' 2>/dev/null) \
  || { echo "recipe-gpu: JAX is not installed: pip install -e \".[jax]\" and \"jax[cuda12]\"" >&2; exit 2; }
case " $devices " in
  *" gpu "*) echo "recipe-gpu: JAX devices: $devices" ;;
  *) echo "recipe-gpu: JAX sees no GPU (devices: $devices); the recipe runs on the CPU" >&2 ;;
esac
exec scripts/recipe.sh "$@"
