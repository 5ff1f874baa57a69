"""Two untried routes on the trained simclr models of the `digits-3000-seed<N>` experiments
of a clone (read from its DVC cache; nothing is retrained but self-labelling):

- **vote**: params.yaml's manifold method over 5 UMAP + mixture runs combined by each
  image's vote (`methods.manifold.runs: 5`, `consensus: vote`, already params of the
  pipeline), then self-labelling from that vote, as the pipeline would run them;
- **stable**: the same, but self-labelling trains only on the images that are sure by
  neighbour agreement *and* stable: every one of the 5 runs, aligned, puts them in their
  voted cluster (DECS's idea of sample stability, over clusterings instead of epochs).

    python bench/results/cpu-2026-12-07h/vote_probe.py CLONE OUT.json [--seeds 1,2,3,4,5]

Labels only score. Prints one line per seed and run, then the means; writes every row.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
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

RUNS = 5


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {sd:.4f} ({len(values)} seeds)"


def sure_and_stable(sure_images, stable, *args, **kwargs):
    """`sure_images`' mask, and `stable`."""
    return sure_images(*args, **kwargs) & stable


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clone", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--runs", type=int, default=RUNS, help="UMAP + mixture runs voted over")
    parser.add_argument("--selflabel-epochs", type=int, help="default: the experiment's")
    args = parser.parse_args()
    from aeclust.config import parse_params
    from aeclust.imports import import_keras

    import_keras()
    from aeclust.cluster import selflabel as sl
    from aeclust.cluster.consensus import align, consensus
    from aeclust.cluster.manifold import cluster_embedding, embed, run_seeds
    from aeclust.cluster.scores import label_scores
    from aeclust.io import paths
    from aeclust.nets.models import load_model, model_inputs

    read = functools.partial(selflabel_seeds.read, repo=args.clone)
    array = functools.partial(selflabel_seeds.array, repo=args.clone)
    names = [f"digits-3000-seed{s}" for s in args.seeds.split(",")]
    rows = []
    for name, ref in selflabel_seeds.experiments(names, repo=args.clone).items():
        text = subprocess.run(
            ["git", "show", f"{ref}:params.yaml"], cwd=args.clone, capture_output=True, text=True
        ).stdout
        params = parse_params(yaml.safe_load(text))
        seed, k = params.seed, params.methods.n_clusters
        spec_m, spec_s = params.methods.manifold, params.methods.selflabel
        if args.selflabel_epochs:
            spec_s = dataclasses.replace(spec_s, epochs=args.selflabel_epochs)
        model_spec = params.models["simclr"]
        labels = array(str(paths.PREPARED_LABELS), ref)
        latents = array(f"{paths.encoded('simclr')}/latents.npy", ref)
        piped = {
            run: label_scores(array(f"data/methods/{run}/cluster_ids.npy", ref), labels)["acc"]
            for run in ("simclr+manifold", "simclr+selflabel")
        }
        began = time.perf_counter()
        partitions = []
        for run_seed in run_seeds(seed, args.runs):
            embedding = embed(latents, spec_m, run_seed)
            partitions.append(
                cluster_embedding(embedding, spec_m.clusterer, k, run_seed, spec_m.n_init)[0]
            )
        voted, _ = consensus(partitions, "vote", k)
        stable = np.all([align(p, voted, k) == voted for p in partitions], axis=0)
        umap_seconds = time.perf_counter() - began
        row = {
            "experiment": name,
            "seed": seed,
            "pipeline_manifold_acc": piped["simclr+manifold"],
            "pipeline_selflabel_acc": piped["simclr+selflabel"],
            "single_run_acc": label_scores(partitions[0], labels)["acc"],
            "runs_acc": [label_scores(p, labels)["acc"] for p in partitions],
            "vote": label_scores(voted, labels),
            "stable_fraction": float(stable.mean()),
            "umap_seconds": round(umap_seconds, 1),
        }
        images = array(str(paths.standardized(model_spec.scaling)), ref)
        inputs = model_inputs(images, model_spec)
        model_bytes = read(str(paths.model_file("simclr")), ref)
        original_sure = sl.sure_images
        for variant in ("vote", "stable"):
            with tempfile.TemporaryDirectory() as tmp:
                model_file = Path(tmp) / "model.keras"
                model_file.write_bytes(model_bytes)
                network = load_model(model_file)
            if variant == "stable":
                sl.sure_images = functools.partial(sure_and_stable, original_sure, stable)
            try:
                result = sl.self_label(network, inputs, voted, latents, spec_s, k, seed)
            finally:
                sl.sure_images = original_sure
            row[f"{variant}+selflabel"] = label_scores(result.cluster_ids, labels)
            row[f"{variant}_sure_fraction"] = float(result.sure.mean())
        print(
            f"{name}: pipeline manifold {row['pipeline_manifold_acc']:.4f} selflabel "
            f"{row['pipeline_selflabel_acc']:.4f}; single {row['single_run_acc']:.4f}; "
            f"vote {row['vote']['acc']:.4f} (stable {row['stable_fraction']:.3f}); "
            f"vote+selflabel {row['vote+selflabel']['acc']:.4f}; "
            f"stable+selflabel {row['stable+selflabel']['acc']:.4f}",
            flush=True,
        )
        rows.append(row)
    for key in ("pipeline_manifold_acc", "pipeline_selflabel_acc", "single_run_acc"):
        values = [r[key] for r in rows]
        print(f"{key}: {mean_sd(values)}")
    for key in ("vote", "vote+selflabel", "stable+selflabel"):
        values = [r[key]["acc"] for r in rows]
        print(f"{key}: {mean_sd(values)}")
    args.out.write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
