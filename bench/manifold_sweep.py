"""The manifold method's settings at the study's size, chosen without looking at the scores
they are judged by.

Tuning on the evaluation images with their labels would flatter the result, so there are
two sets of samples:

- tuning:     --tune-seeds stratified samples of --n-samples images from --tune-source
              (the full MNIST IDX files), leaving out every image that also occurs in
              --eval-source (compared byte for byte);
- evaluation: --eval-seeds samples of --eval-source (the embedded 5000: the study's data).

On each sample, each model of --models is trained and encoded as the pipeline does
(params.yaml's entries, or bench/models.yaml), and the raw pixels / 255 are
kept as a baseline "model". Every latent set is then embedded by UMAP for each setting of
the grid (n_neighbors x metric, n_components and min_dist as params.yaml) and clustered
by a Gaussian mixture (n_init 1, as N2D), a Gaussian mixture with 10
restarts (best likelihood) and KMeans (10 restarts), in a pool of worker processes while
the next model trains.

Per model, the setting with the best mean ACC on the tuning samples is the one reported on
the evaluation samples (mean ± std), beside params.yaml's setting; the best setting on the
evaluation samples is printed too, marked as label-tuned. Everything goes to --output
(JSON), rewritten after every finished UMAP.

    KERAS_BACKEND=jax PYTHONPATH=src python bench/manifold_sweep.py \\
        --tune-source idx:.devdata/mnist --output sweep.json

Training wants a GPU and the UMAPs want many cores: `--save-latents DIR` keeps every
latent set, and `--from-latents DIR` sweeps such a folder without training (on another
machine, or with another grid).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
CLUSTERERS = ("gmm", "gmm10", "kmeans")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--models", default="ffn,cnn", help="comma-separated model names")
    parser.add_argument("--epochs", type=int, help="override every model's epochs")
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--eval-source", default="embedded")
    parser.add_argument("--eval-seeds", default="1,2,3,4,5")
    parser.add_argument("--tune-source", help="e.g. idx:<MNIST IDX dir> (required to train)")
    parser.add_argument("--tune-seeds", default="101,102,103")
    parser.add_argument("--neighbors", default="5,10,20,40", help="UMAP n_neighbors grid")
    parser.add_argument("--metrics", default="euclidean,cosine", help="UMAP metric grid")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument(
        "--deadline", type=float, default=float("inf"), help="seconds: train nothing after"
    )
    parser.add_argument("--output", default="manifold_sweep.json")
    parser.add_argument(
        "--save-latents", help="folder: keep every latent set (<role>_<seed>_<model>.npz)"
    )
    parser.add_argument(
        "--from-latents",
        help="folder of --save-latents files: sweep those, train nothing (e.g. trained on a "
        "GPU machine, swept on another's CPUs)",
    )
    args = parser.parse_args(argv)
    if not args.tune_source and not args.from_latents:
        parser.error("--tune-source is required unless --from-latents is given")
    return args


def image_hash(image) -> bytes:
    return hashlib.blake2b(image.tobytes(), digest_size=16).digest()


def sweep_one(
    latents, labels, n_neighbors: int, metric: str, n_components: int, min_dist: float, seed: int
) -> dict[str, dict[str, float]]:
    """One UMAP of `latents` and each clusterer of CLUSTERERS on it (in a worker process)."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score
    from sklearn.mixture import GaussianMixture

    from aeclust.cluster.manifold import embed
    from aeclust.cluster.scores import clustering_accuracy
    from aeclust.config import ManifoldParams

    spec = ManifoldParams(True, n_components, n_neighbors, min_dist, metric, "gmm")
    start = time.perf_counter()
    embedding = embed(latents, spec, seed).astype(np.float64)
    found = {
        "gmm": GaussianMixture(10, covariance_type="full", random_state=seed),
        "gmm10": GaussianMixture(10, covariance_type="full", random_state=seed, n_init=10),
        "kmeans": KMeans(10, n_init=10, random_state=seed),
    }
    out: dict[str, dict[str, float]] = {}
    for name, model in found.items():
        ids = model.fit_predict(embedding)
        out[name] = {
            "acc": clustering_accuracy(ids, labels),
            "nmi": float(normalized_mutual_info_score(labels, ids)),
        }
    out["seconds"] = round(time.perf_counter() - start, 1)  # type: ignore[assignment]
    return out


def _worker_init() -> None:
    os.environ["NUMBA_NUM_THREADS"] = "1"
    sys.path.insert(0, str(ROOT / "src"))


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def describe(complete: dict[tuple, dict[str, list[float]]], key: tuple) -> dict:
    """One setting's tuning and evaluation ACC (mean, std)."""
    tune, evaluation = complete[key]["tune"], complete[key]["eval"]
    return {
        "n_neighbors": key[0],
        "metric": key[1],
        "clusterer": key[2],
        "tune_acc": mean_std(tune),
        "eval_acc": mean_std(evaluation),
        "n_tune": len(tune),
        "n_eval": len(evaluation),
    }


def summarise(rows: list[dict], default: tuple[int, str, str | None]) -> dict[str, dict]:
    """Per model: the tuning-chosen setting, params.yaml's, and the label-tuned best."""
    out: dict[str, dict] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        table: dict[tuple, dict[str, list[float]]] = {}
        for r in rows:
            if r["model"] != model:
                continue
            for clusterer in CLUSTERERS:
                key = (r["n_neighbors"], r["metric"], clusterer)
                table.setdefault(key, {"tune": [], "eval": []})[r["role"]].append(
                    r[clusterer]["acc"]
                )
        complete = {k: v for k, v in table.items() if v["tune"] and v["eval"]}
        if not complete:
            continue

        chosen = max(complete, key=lambda k: statistics.fmean(complete[k]["tune"]))
        oracle = max(complete, key=lambda k: statistics.fmean(complete[k]["eval"]))
        out[model] = {
            "chosen_on_tuning": describe(complete, chosen),
            "label_tuned": describe(complete, oracle),
        }
        if default in complete:
            out[model]["params_yaml"] = describe(complete, default)
    return out


def trained_latents(args: argparse.Namespace, params, began: float):
    """Yield (role, seed, model, latents, labels): the raw pixels / 255 and each model's
    latents, trained on the tuning and evaluation samples in turn (saved to
    --save-latents if given); nothing more is trained after --deadline seconds."""
    import numpy as np
    from deep_eval import train_and_encode

    from aeclust.data.sampling import stratified_sample
    from aeclust.data.sources import load_source

    eval_images, eval_labels = load_source(args.eval_source)
    tune_images, tune_labels = load_source(args.tune_source)
    seen = {image_hash(image) for image in eval_images}
    keep = np.array([image_hash(image) not in seen for image in tune_images])
    tune_images, tune_labels = tune_images[keep], tune_labels[keep]
    print(
        f"tuning: {args.tune_source}, {len(tune_images)} images not in {args.eval_source} "
        f"({int((~keep).sum())} left out); evaluation: {args.eval_source}",
        flush=True,
    )
    tuning = [("tune", int(s), tune_images, tune_labels) for s in args.tune_seeds.split(",")]
    evaluation = [("eval", int(s), eval_images, eval_labels) for s in args.eval_seeds.split(",")]
    # Interleaved, so that a run cut short has some of both.
    samples = [s for pair in itertools.zip_longest(tuning, evaluation) for s in pair if s]
    for role, seed, images, labels in samples:
        chosen = stratified_sample(labels, args.n_samples, seed)
        found = {"raw": images[chosen].reshape(len(chosen), -1) / np.float32(255)}
        for name, spec in params.models.items():
            if time.perf_counter() - began > args.deadline:
                print("deadline: no more training", flush=True)
                break
            found[name] = train_and_encode(spec, images[chosen], seed, name)[2]
        for name, latents in found.items():
            if args.save_latents:
                Path(args.save_latents).mkdir(parents=True, exist_ok=True)
                np.savez_compressed(
                    Path(args.save_latents) / f"{role}_{seed}_{name}.npz",
                    latents=latents,
                    labels=labels[chosen],
                )
            yield role, seed, name, latents, labels[chosen]
        if time.perf_counter() - began > args.deadline:
            return


def saved_latents(folder: Path):
    """Yield (role, seed, model, latents, labels) from --save-latents' files."""
    import numpy as np

    for path in sorted(folder.glob("*_*_*.npz")):
        role, seed, name = path.stem.split("_", 2)
        with np.load(path, allow_pickle=False) as saved:
            yield role, int(seed), name, saved["latents"], saved["labels"]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    began = time.perf_counter()
    import numpy as np
    from deep_eval import configure

    model_names = [m.strip() for m in args.models.split(",") if m.strip()]
    params = configure(args.params, model_names, epochs=args.epochs)
    manifold = params.methods.manifold
    clusterer = manifold.clusterer
    if clusterer == "gmm" and manifold.n_init > 1:
        clusterer = "gmm10" if manifold.n_init == 10 else None  # else not in the grid
    default = (manifold.n_neighbors, manifold.metric, clusterer)
    grid = list(
        itertools.product([int(n) for n in args.neighbors.split(",")], args.metrics.split(","))
    )
    print(
        f"grid {len(grid)} UMAP settings x {', '.join(CLUSTERERS)}; {args.workers} workers",
        flush=True,
    )
    if args.from_latents:
        sets = saved_latents(Path(args.from_latents))
    else:
        sets = trained_latents(args, params, began)

    rows: list[dict] = []
    pending: dict[cf.Future, dict] = {}
    context = multiprocessing.get_context("spawn")

    def collect(block: bool) -> None:
        done, _ = cf.wait(
            list(pending),
            timeout=None if block else 0,
            return_when=cf.ALL_COMPLETED if block else cf.FIRST_COMPLETED,
        )
        for future in done:
            row = pending.pop(future)
            try:
                row.update(future.result())
            except Exception as exc:  # a failed UMAP is a row with the error, not a crash
                row["error"] = repr(exc)
            rows.append(row)
        if done:
            save(args.output, rows, summarise([r for r in rows if "error" not in r], default))

    with cf.ProcessPoolExecutor(args.workers, mp_context=context, initializer=_worker_init) as pool:
        for role, seed, name, latents, labels in sets:
            flat = latents.reshape(len(latents), -1).astype(np.float32)
            for n_neighbors, metric in grid:
                future = pool.submit(
                    sweep_one,
                    flat,
                    labels,
                    n_neighbors,
                    metric,
                    manifold.n_components,
                    manifold.min_dist,
                    seed,
                )
                pending[future] = {
                    "role": role,
                    "seed": seed,
                    "model": name,
                    "n_neighbors": n_neighbors,
                    "metric": metric,
                }
            collect(block=False)
        collect(block=True)
    summary = summarise([r for r in rows if "error" not in r], default)
    save(args.output, rows, summary)
    print(f"\n{len(rows)} UMAPs in {time.perf_counter() - began:.0f} s; ACC mean ± std:")
    for model, entry in summary.items():
        for label, d in entry.items():
            print(
                f"{model:4} {label:17} n_neighbors {d['n_neighbors']:>2} {d['metric']:9} "
                f"{d['clusterer']:6}: tuning {d['tune_acc'][0]:.3f} ± {d['tune_acc'][1]:.3f} "
                f"(n={d['n_tune']}), evaluation {d['eval_acc'][0]:.3f} ± "
                f"{d['eval_acc'][1]:.3f} (n={d['n_eval']})"
            )


def save(path: str, rows: list[dict], summary: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump({"rows": rows, "summary": summary}, f, indent=1)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
