#!/usr/bin/env bash
# The three Keras backends on this host, one after another, nothing else running; then
# TensorFlow again, to bracket the host's drift. Run from the repository root:
#   TORCH_PY=/path/to/venv-with-torch/bin/python bench/results/cpu-2026-12-07f/run.sh
# TORCH_PY's venv has torch 2.14.1 (the registry's wheel, with its CUDA libraries: 5.4 GB)
# and sees this project's venv through a .pth file, so Keras and NumPy are the same.
set -euo pipefail
here=bench/results/cpu-2026-12-07f
{ date -u; lscpu | grep -E "Model name|^Flags"; } > $here/host.txt
.venv/bin/python bench/train_speed.py --epochs 8 > $here/tensorflow.txt 2>/dev/null
KERAS_BACKEND=jax .venv/bin/python bench/train_speed.py --epochs 8 > $here/jax.txt 2>/dev/null
KERAS_BACKEND=torch "$TORCH_PY" bench/train_speed.py --epochs 8 > $here/torch.txt 2>/dev/null
"$TORCH_PY" $here/torch_floor.py > $here/torch_floor.txt 2>/dev/null
.venv/bin/python bench/train_speed.py --epochs 8 > $here/tensorflow-again.txt 2>/dev/null
