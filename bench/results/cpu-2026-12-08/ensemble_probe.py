"""Two untried ends of self-labelling, on the trained simclr models and the simclr+manifold
runs of the `digits-3000-seed<N>` experiments of a clone (read from its DVC cache; only
self-labelling runs):

- **views**: label every image by the mean of the classifier's probabilities over the image
  and `--views` distorted copies of it (the distortions of `methods.selflabel.distort`),
  instead of the image alone (test-time augmentation);
- **heads**: `--heads` self-labelling runs from the same start and sure images, seeded
  seed, seed + 1000, ..., their probabilities averaged (an ensemble of classifiers), with
  and without the views.

The first run of each seed is the stage's own (seeded with the experiment's seed), so its
plain labels are the pipeline's simclr+selflabel.

    python bench/results/cpu-2026-12-08/ensemble_probe.py CLONE OUT.json [--seeds 1,2,3,4,5]

Labels only score. Prints one line per seed, then the means; writes every row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import selflabel_seeds  # noqa: E402  (read, array, experiments of another clone)

SEED_STEP = 1000


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {sd:.4f} ({len(values)} seeds)"


def score(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    from aeclust.cluster.scores import label_scores

    return label_scores(probabilities.argmax(axis=1), labels)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clone", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--heads", type=int, default=4, help="self-labelling runs averaged")
    parser.add_argument("--views", type=int, default=8, help="distorted copies per image")
    args = parser.parse_args()
    from aeclust.config import parse_params
    from aeclust.imports import import_keras

    import_keras()
    from aeclust.cluster.scores import label_scores
    from aeclust.cluster.selflabel import PREDICT_BATCH, self_label
    from aeclust.data.augment import random_affine
    from aeclust.io import paths
    from aeclust.nets.encoding import predict
    from aeclust.nets.models import load_model, model_inputs

    clone = args.clone
    names = [f"digits-3000-seed{s}" for s in args.seeds.split(",")]
    rows = []
    for name, ref in selflabel_seeds.experiments(names, repo=clone).items():
        text = subprocess.run(
            ["git", "show", f"{ref}:params.yaml"], cwd=clone, capture_output=True, text=True
        ).stdout
        params = parse_params(yaml.safe_load(text))
        seed, k = params.seed, params.methods.n_clusters
        spec = params.methods.selflabel
        model_spec = params.models["simclr"]
        labels = selflabel_seeds.array(str(paths.PREPARED_LABELS), ref, clone)
        latents = selflabel_seeds.array(f"{paths.encoded('simclr')}/latents.npy", ref, clone)
        start = selflabel_seeds.array("data/methods/simclr+manifold/cluster_ids.npy", ref, clone)
        piped = selflabel_seeds.array("data/methods/simclr+selflabel/cluster_ids.npy", ref, clone)
        images = selflabel_seeds.array(str(paths.standardized(model_spec.scaling)), ref, clone)
        inputs = model_inputs(images, model_spec)
        model_bytes = selflabel_seeds.read(str(paths.model_file("simclr")), ref, clone)
        plain, viewed = [], []
        began = time.perf_counter()
        for head in range(args.heads):
            with tempfile.TemporaryDirectory() as tmp:
                model_file = Path(tmp) / "model.keras"
                model_file.write_bytes(model_bytes)
                network = load_model(model_file)
            result = self_label(network, inputs, start, latents, spec, k, seed + SEED_STEP * head)
            probabilities = np.asarray(predict(result.assigner, inputs, PREDICT_BATCH))
            rng = np.random.default_rng(seed + SEED_STEP * head + 1)
            views = [probabilities]
            for _ in range(args.views):
                distorted = random_affine(inputs, rng, spec.distort)
                views.append(np.asarray(predict(result.assigner, distorted, PREDICT_BATCH)))
            plain.append(probabilities)
            viewed.append(np.mean(views, axis=0))
        seconds = time.perf_counter() - began

        row = {
            "experiment": name,
            "seed": seed,
            "manifold": label_scores(start, labels),
            "pipeline_selflabel": label_scores(piped, labels),
            "heads_plain": [score(labels, p) for p in plain],
            "heads_viewed": [score(labels, p) for p in viewed],
            "ensemble_plain": score(labels, np.mean(plain, axis=0)),
            "ensemble_viewed": score(labels, np.mean(viewed, axis=0)),
            "first_matches_pipeline": bool(np.array_equal(plain[0].argmax(axis=1), piped)),
            "seconds": round(seconds, 1),
        }
        rows.append(row)
        print(
            f"{name}: manifold {row['manifold']['acc']:.4f}; selflabel pipeline "
            f"{row['pipeline_selflabel']['acc']:.4f} here {row['heads_plain'][0]['acc']:.4f} "
            f"+views {row['heads_viewed'][0]['acc']:.4f}; heads "
            f"{', '.join(format(h['acc'], '.4f') for h in row['heads_plain'])}; ensemble "
            f"{row['ensemble_plain']['acc']:.4f} +views {row['ensemble_viewed']['acc']:.4f} "
            f"({seconds:.0f} s)",
            flush=True,
        )
    summaries = {
        "manifold": [r["manifold"]["acc"] for r in rows],
        "selflabel (first run)": [r["heads_plain"][0]["acc"] for r in rows],
        "selflabel + views": [r["heads_viewed"][0]["acc"] for r in rows],
        "selflabel, every run": [h["acc"] for r in rows for h in r["heads_plain"]],
        "ensemble": [r["ensemble_plain"]["acc"] for r in rows],
        "ensemble + views": [r["ensemble_viewed"]["acc"] for r in rows],
        "ensemble NMI": [r["ensemble_plain"]["nmi"] for r in rows],
        "ensemble + views NMI": [r["ensemble_viewed"]["nmi"] for r in rows],
    }
    for key, values in summaries.items():
        print(f"{key}: {mean_sd(values)}")
    args.out.write_text(
        json.dumps({"heads": args.heads, "views": args.views, "rows": rows}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
