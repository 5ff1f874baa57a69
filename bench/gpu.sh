#!/usr/bin/env bash
# The GPU measurements of the README, in one command for a CUDA machine with JAX (TensorFlow
# may be absent there): the training benchmark at 3000 and at 70000 images, then the
# deep-clustering runs of `python bench/deep_eval.py` over 5 seeds (full MNIST and
# Fashion-MNIST with the 784-500-500-2000-10 autoencoder, then the study's 3000 images),
# then the manifold settings' sweep at 3000 images.
#
#   bench/gpu.sh OUTDIR [MNIST_IDX_DIR FASHION_IDX_DIR]     # full sizes (about 40 min on
#                                                          # an H200; BUDGET=seconds per stage)
#   SCALE=tiny bench/gpu.sh OUTDIR ...                     # a few-minute smoke test on a CPU
#   STEPS="speed fashion" EPOCHS=300 bench/gpu.sh OUTDIR   # some steps only, to fit a lease
#   TOGETHER=1 METHODS=kmeans,manifold ...                 # deep_eval --together: each
#                                                          # model's 5 seeds train at once
#                                                          # (vmapped); latents in logs/
#
# STEPS (default all): any of speed (the training benchmark), mnist, fashion (the full
# datasets), study3000 (the study's 3000 images) and sweep (the manifold settings).
# METHODS (default kmeans,manifold,dec): deep_eval's --methods.
#
# Writes to OUTDIR: env.txt, speed_3000.txt, speed_70000.txt, deep_eval.json (every run and
# the mean and std per dataset, model and method), manifold_sweep.json
# (bench/manifold_sweep.py) and logs.tar.gz. Needs keras, numpy,
# scikit-learn, umap-learn, mlxtend and pyyaml importable; run from the project root.
set -u
out=${1:?usage: bench/gpu.sh OUTDIR [MNIST_IDX_DIR FASHION_IDX_DIR]}
mnist=${2:-.devdata/mnist}
fashion=${3:-.devdata/fashion-mnist}
py=${PYTHON:-python3}
all_steps="speed mnist fashion study3000 sweep"
steps=" ${STEPS:-$all_steps} "
for step in $steps; do
    [[ " $all_steps " == *" $step "* ]] \
        || { echo "bench/gpu.sh: STEPS has '$step'; allowed: $all_steps" >&2; exit 2; }
done
want() { [[ $steps == *" $1 "* ]]; }
export KERAS_BACKEND=jax PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_PREALLOCATE=false OMP_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$out" "$out/logs"
logs=$out/logs

if [ "${SCALE:-full}" = tiny ]; then
    n_large=1000 speed_epochs=2 large_epochs=2 small_epochs=2 seeds="1 2" dec_iter=30
    speed_limit=300 eval_limit=300
else
    n_large=all speed_epochs=5 large_epochs=${EPOCHS:-60} small_epochs="" seeds="1 2 3 4 5"
    dec_iter=4000 speed_limit=120 eval_limit=${BUDGET:-1500}
fi

{
    date -u
    nvidia-smi -L 2>&1 || true
    "$py" -c "import jax, keras, sklearn, numpy; print('jax', jax.__version__, jax.devices()); \
print('keras', keras.__version__, keras.backend.backend(), 'sklearn', sklearn.__version__, \
'numpy', numpy.__version__)" 2>&1
} >"$out/env.txt"
cat "$out/env.txt"

# 1. Seconds per epoch: the study's plain Keras code and the pipeline's training path.
speed() {  # $1 = label, then train_speed arguments
    local label=$1
    shift
    timeout "$speed_limit" "$py" bench/train_speed.py --paths study pipeline "$@" \
        >"$out/speed_$label.txt" 2>"$logs/speed_$label.err"
    echo "speed $label: exit $?"
    cat "$out/speed_$label.txt"
}
if want speed; then
    speed 3000 --epochs "$speed_epochs"
    if [ "$n_large" = all ]; then n_speed=70000; else n_speed=$n_large; fi
    speed 70000 --epochs 3 --source "idx:$mnist" --n-samples "$n_speed"
fi

# 2. Deep clustering. Processes on one GPU take turns: 15 seeds side by side each ran about
# 15 times slower than alone (H200, bench/results/h200-2026-11-28), so the seeds of a dataset run one after the
# other in one process, which starts no seed it could not finish within the budget; the two
# full datasets run side by side (one's UMAP on the CPU while the other trains), then the
# study's 3000 images.
evaluate() {  # $1 = run label, $2 = seconds, then deep_eval arguments
    local label=$1 budget=$2 together=()
    shift 2
    if [ "${TOGETHER:-0}" = 1 ]; then  # every seed in one vmapped program, latents kept
        together=(--together --save-latents "$logs/latents_$label")
    fi
    timeout $((budget + 60)) "$py" bench/deep_eval.py --seeds "${seeds// /,}" \
        --time-budget "$budget" --set "methods.dec.max_iter=$dec_iter" \
        --output "$logs/${label}_s.json" --methods "${METHODS:-kmeans,manifold,dec}" \
        "${together[@]}" "$@" >"$logs/$label.log" 2>&1
    echo "$label: exit $?"
}
want mnist && NUMBA_NUM_THREADS=8 evaluate mnist "$eval_limit" --source "idx:$mnist" \
    --n-samples "$n_large" --models dae --epochs "$large_epochs" --umap-parallel &
want fashion && NUMBA_NUM_THREADS=8 evaluate fashion "$eval_limit" --source "idx:$fashion" \
    --n-samples "$n_large" --models dae --epochs "$large_epochs" --umap-parallel &
wait
small_args=(--models ffn,cnn,dae)
if [ -n "$small_epochs" ]; then small_args+=(--epochs "$small_epochs" --n-samples 300); fi
want study3000 && evaluate study3000 "$eval_limit" "${small_args[@]}"

# 3. The manifold method's settings at 3000 images, tuned on held-out MNIST images (the
# UMAPs, ~20 s each on a busy 16-core host, take longer than the training: ~10 min).
if want sweep; then
    sweep_args=(--models ffn,cnn,dae)
    if [ -n "$small_epochs" ]; then
        sweep_args+=(--epochs "$small_epochs" --n-samples 300 --eval-seeds 1 --tune-seeds 101
                     --neighbors 10,20 --metrics euclidean)
    fi
    timeout $((eval_limit + 600)) "$py" bench/manifold_sweep.py --tune-source "idx:$mnist" \
        --deadline "$eval_limit" --output "$out/manifold_sweep.json" "${sweep_args[@]}" \
        >"$logs/sweep.log" 2>&1
    echo "manifold sweep: exit $?"
    tail -12 "$logs/sweep.log"
fi

"$py" - "$logs" "$out/deep_eval.json" <<'EOF'
import json, pathlib, sys
import sys; sys.path.insert(0, "bench")
from deep_eval import summary
logs, target = pathlib.Path(sys.argv[1]), sys.argv[2]
merged = {}
for path in sorted(logs.glob("*_s.json")):
    label = path.name.rsplit("_s", 1)[0]
    run = json.loads(path.read_text())
    entry = merged.setdefault(label, {k: run[k] for k in ("source", "n_samples", "models",
                                                          "methods", "backend")} | {"runs": []})
    entry["runs"] += run["runs"]
for label, entry in merged.items():
    entry["summary"] = summary(entry["runs"])
    for name, stats in entry["summary"].items():
        acc, nmi = stats["acc"], stats["nmi"]
        print(f"{label} {name}: ACC {acc['mean']:.4f} ± {acc['std'] or 0:.4f}  "
              f"NMI {nmi['mean']:.4f} ± {nmi['std'] or 0:.4f}  (n={acc['n']})")
pathlib.Path(target).write_text(json.dumps(merged, indent=1))
EOF
tar -czf "$out/logs.tar.gz" -C "$out" logs && rm -rf "$logs"
