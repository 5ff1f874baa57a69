"""The deep-clustering targets, measured over seeds outside DVC (for a GPU machine).

For each seed: draw the sample, train each autoencoder, encode, then cluster its latents
with the study's KMeans, N2D's manifold method (UMAP + Gaussian mixture) and DEC/IDEC,
with the settings of params.yaml (`kmeans`, `methods`), and score each against the labels.
Prints one line per seed, model and method, then the mean ± std over seeds, and writes
everything to --output (JSON) after every result, so that a run cut short keeps its numbers.
A DEC/IDEC run is also scored at every target update (its `trajectory`; the means over
seeds after each number of batches are printed and kept as `dec_trajectories`), which
shows how many batches `methods.dec.max_iter` needs.

    python bench/deep_eval.py --source idx:/data/mnist --n-samples all --models dae \\
        --epochs 200 --seeds 1,2,3,4,5 --output deep_eval.json

On JAX, `--together` trains each model's seeds at once (one program vmapped over them,
`aeclust.nets.training.train_autoencoders_together`), then clusters seed by seed;
`--save-latents DIR` keeps each seed's latents, which `--from-latents DIR` clusters
later, elsewhere (the KMeans and manifold methods: UMAP on a CPU after a GPU trained).

Models are params.yaml's `models` entries, plus those of bench/models.yaml (same schema;
copy one into params.yaml's `models:` to run it in the pipeline); `--set
models.<name>.<field>=VALUE` changes one field of a chosen entry, nested fields included
(`--set models.simclr.views.flip=true`). The manifold method is
skipped, with a note, where umap-learn is not installed. Of the pipeline's files, only
params.yaml is read; nothing is written but --output (and --save-latents). Keras
runs on the backend the pipeline's stages would pick (params.yaml's `backend`, or
`KERAS_BACKEND`, which must agree with it).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from aeclust.config import CLUSTERERS, ContrastiveParams, Params, load_params, parse_params
from aeclust.errors import DataError, ParamsError, UserError
from aeclust.seeds import score_stats

log = logging.getLogger("deep_eval")

MODELS_FILE = Path(__file__).with_name("models.yaml")
# The extra model entries (dae, dae_da), in params.yaml's schema.
EXTRA_MODELS: dict[str, dict[str, Any]] = yaml.safe_load(MODELS_FILE.read_text())
METHOD_NAMES = ("kmeans", "manifold", "dec")
SCORE_NAMES = ("acc", "nmi", "ari")  # against the labels (aeclust.cluster.scores.label_scores)


def configure(
    params_path: str,
    model_names: list[str],
    source: str | None = None,
    n_samples: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    settings: tuple[str, ...] = (),
    augment: str | None = None,
) -> Params:
    """params.yaml with the command line's changes, validated as params.yaml is: `models`
    holds only `model_names` (params.yaml's entries, else EXTRA_MODELS'), with `epochs`,
    `batch_size` and `augment` (YAML: a mapping, or null) if given; `settings` are
    `methods.*=VALUE`, `kmeans.*=VALUE` or `models.<name>.<field>=VALUE` (applied after
    those overrides, to a model in `model_names`)."""
    load_params(params_path)  # the file itself must be valid
    with open(params_path) as f:
        raw = yaml.safe_load(f)
    models = {}
    for name in model_names:
        entry = raw["models"].get(name) or EXTRA_MODELS.get(name)
        if entry is None:
            choices = ", ".join(dict.fromkeys([*raw["models"], *EXTRA_MODELS]))
            raise ParamsError(f"--models {name}: must be one of {choices}")
        changes = {"epochs": epochs, "batch_size": batch_size}
        models[name] = copy.deepcopy(entry)  # --set may change nested values
        models[name].update({k: v for k, v in changes.items() if v is not None})
        if augment is not None:
            models[name]["augment"] = yaml.safe_load(augment)
    raw["models"] = models
    if source is not None:
        raw["data"]["source"] = source
    if n_samples is not None:
        raw["data"]["n_samples"] = yaml.safe_load(n_samples)
    for setting in settings:
        dotted, equals, value = setting.partition("=")
        if not equals:
            raise ParamsError(f"--set {setting}: must be KEY=VALUE (VALUE in YAML)")
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or "not YAML"
            raise ParamsError(f"--set {setting}: the value is not valid YAML ({problem})") from None
        *parents, last = dotted.split(".")
        if dotted.startswith("models."):
            if len(parents) < 2 or parents[1] not in models:
                raise ParamsError(
                    f"--set {setting}: must be models.<name>.<field> with <name> one of "
                    f"--models ({', '.join(models)})"
                )
        elif not dotted.startswith(("methods.", "kmeans.")):
            raise ParamsError(
                f"--set {setting}: only methods.*, kmeans.* and models.<name>.* can be set"
            )
        node = raw
        for depth, key in enumerate(parents, 1):
            if node.get(key) is None:  # absent or null: a mapping of what is set
                node[key] = {}
            node = node[key]
            if not isinstance(node, dict):
                where = ".".join(parents[:depth])
                raise ParamsError(f"--set {setting}: {where} is {node!r}, not a mapping")
        node[last] = value
    return parse_params(raw, prefix="deep_eval: ")


def umap_available() -> bool:
    from aeclust.cluster.manifold import umap_class

    try:
        umap_class()
    except UserError:
        return False
    return True


def summary(results: list[dict]) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """{"<model>+<method>": {"acc": {"n", "mean", "std"}, "nmi": {...}}} over seeds."""
    grouped: dict[str, list[dict]] = {}
    for row in results:
        grouped.setdefault(f"{row['model']}+{row['method']}", []).append(row)
    out: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for run, rows in grouped.items():
        out[run] = {}
        for score in SCORE_NAMES:
            stats = score_stats([r[score] for r in rows])
            std = stats["std"]
            out[run][score] = {
                "n": stats["n"],
                "mean": round(stats["mean"], 4),
                "std": None if std is None else round(std, 4),
            }
    return out


def dec_trajectories(results: list[dict]) -> dict[str, list[dict[str, float | int]]]:
    """{"<model>+dec": [{"iteration", "n", "acc", "nmi", "ari"}, ...]}: the mean scores over
    seeds after each number of refinement batches (n: the seeds still refining then), to see
    where DEC/IDEC stops gaining (`methods.dec.max_iter`)."""
    by_batches: dict[str, dict[int, list[dict]]] = {}
    for row in results:
        for point in row.get("trajectory", ()):
            run = by_batches.setdefault(f"{row['model']}+{row['method']}", {})
            run.setdefault(point["iteration"], []).append(point)
    return {
        run: [
            {
                "iteration": iteration,
                "n": len(points),
                **{s: round(sum(p[s] for p in points) / len(points), 4) for s in SCORE_NAMES},
            }
            for iteration, points in sorted(iterations.items())
        ]
        for run, iterations in by_batches.items()
    }


def _score_update(trajectory: list[dict], digit_labels, iteration: int, cluster_ids) -> None:
    """`refine`'s on_update: append the assignments' ACC, NMI and ARI to `trajectory`."""
    from aeclust.cluster.scores import label_scores

    trajectory.append({"iteration": iteration, **label_scores(cluster_ids, digit_labels)})


def _built(spec, images, seed: int):
    """(untrained autoencoder, model inputs) for `images`, as the pipeline's train stage
    builds them: scaled, seeded, built."""
    from aeclust.data.scaling import SCALERS
    from aeclust.nets.models import build_autoencoder, model_inputs
    from aeclust.nets.training import make_deterministic

    scaled = SCALERS[spec.scaling](images)
    make_deterministic(seed)
    return build_autoencoder(spec, scaled.shape[1]), model_inputs(scaled, spec)


def _settings(spec) -> dict:
    """The model entry's training settings, as keyword arguments of the training functions."""
    return {
        "learning_rate": spec.learning_rate,
        "epochs": spec.epochs,
        "batch_size": spec.batch_size,
        "augment": spec.augment,
    }


def _encoded(autoencoder, inputs, seed: int, name: str, epochs: int, how: str, loss: float):
    """Encode `inputs` and print the training's line; return (autoencoder, inputs, latents)."""
    import keras

    from aeclust.nets.encoding import encode, encode_latents
    from aeclust.nets.models import is_autoencoder

    if is_autoencoder(autoencoder):
        latents, _, mse = encode(autoencoder, inputs)
        rebuilt = f", reconstruction MSE {mse:.5f}"
    else:  # a contrastive network: nothing reconstructed
        latents, rebuilt = encode_latents(autoencoder, inputs), ""
    print(
        f"seed {seed} {name}: {epochs} epochs in {how} ({keras.backend.backend()}), "
        f"final loss {loss:.5f}{rebuilt}",
        flush=True,
    )
    return autoencoder, inputs, latents


def train_and_encode(spec, images, seed: int, name: str):
    """Scale `images`, build, train and encode with the model entry `spec`, as the
    pipeline's train and encode stages do. Prints the training's time and losses.
    Returns (autoencoder, model inputs, latents (n, ...))."""
    from aeclust.nets.training import train_autoencoder

    autoencoder, inputs = _built(spec, images, seed)
    trained = autoencoder
    if isinstance(spec, ContrastiveParams):  # trained inside its two-view trainer
        from aeclust.nets.contrastive import build_trainer

        trained = build_trainer(autoencoder, spec)
    start = time.perf_counter()
    losses = train_autoencoder(trained, inputs, seed=seed, **_settings(spec))
    how = f"{time.perf_counter() - start:.0f} s"
    return _encoded(autoencoder, inputs, seed, name, spec.epochs, how, losses[-1])


def train_and_encode_together(spec, samples: list, seeds: list[int], name: str) -> list:
    """`train_and_encode` for every seed at once (JAX: one program vmapped over the seeds'
    models, `aeclust.nets.training.train_autoencoders_together`); `samples[i]` is seed i's
    images. Returns one (autoencoder, model inputs, latents) per seed."""
    from aeclust.nets.training import train_autoencoders_together

    built = [_built(spec, x, seed) for x, seed in zip(samples, seeds, strict=True)]
    models, inputs = [model for model, _ in built], [x for _, x in built]
    start = time.perf_counter()
    losses = train_autoencoders_together(
        models, inputs, seeds=seeds, log_every=max(1, spec.epochs // 20), **_settings(spec)
    )
    how = f"{time.perf_counter() - start:.0f} s with seeds {seeds}"
    return [
        _encoded(model, x, seed, name, spec.epochs, how, seed_losses[-1])
        for model, x, seed, seed_losses in zip(models, inputs, seeds, losses, strict=True)
    ]


def latents_path(folder: str, name: str, seed: int) -> str:
    return os.path.join(folder, f"{name}_seed{seed}.npy")


def evaluate_seed(
    params: Params,
    images,
    labels,
    methods: list[str],
    seed: int,
    umap_parallel: bool,
    on_row: Callable[[dict], None] = lambda row: None,
    also_clusterers: tuple[str, ...] = (),
    trained: dict[str, tuple] | None = None,
    on_latents: Callable[[str, int, object], None] | None = None,
) -> list[dict]:
    """Every model of `params` and every method on one seed's sample of `images`.
    Returns one row per model and method; `on_row` gets each row as it is made.
    `also_clusterers` cluster the same UMAP embedding again, each as method
    "manifold[<clusterer>]" (the run's "manifold" is params' clusterer). `trained`, if
    given, holds each model's (autoencoder, inputs, latents) for this seed, already
    trained (the autoencoder and inputs may be None where "dec" is not run); else each is
    trained here, and `on_latents(model, seed, latents)`, if given, gets its latents."""
    from aeclust.cluster.kmeans import kmeans
    from aeclust.cluster.scores import scores
    from aeclust.data.sampling import stratified_sample

    chosen = stratified_sample(labels, params.data.n_samples, seed)
    digit_labels = labels[chosen]
    rows: list[dict] = []

    def record(model: str, method: str, features, cluster_ids, inertia, seconds, **extra):
        row = {
            "seed": seed,
            "model": model,
            "method": method,
            **scores(features, cluster_ids, digit_labels, inertia, seed),
            "seconds": round(seconds, 2),
            **extra,
        }
        row = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }
        rows.append(row)
        on_row(row)
        print(
            f"seed {seed} {model}+{method}: ACC {row['acc']:.4f}  NMI {row['nmi']:.4f}  "
            f"ARI {row['ari']:.4f}  ({seconds:.0f} s)",
            flush=True,
        )

    for name, spec in params.models.items():
        if trained is None:
            autoencoder, inputs, latents = train_and_encode(spec, images[chosen], seed, name)
            if on_latents is not None:
                on_latents(name, seed, latents)
        else:
            autoencoder, inputs, latents = trained[name]
            if len(latents) != len(chosen):
                raise DataError(
                    f"seed {seed} {name}: {len(latents)} latents for a sample of {len(chosen)} "
                    f"images: they come from another source or n_samples"
                )
        if "kmeans" in methods:
            start = time.perf_counter()
            cluster_ids, inertia = kmeans(latents, params.kmeans, seed)
            record(name, "kmeans", latents, cluster_ids, inertia, time.perf_counter() - start)
        if "manifold" in methods:
            from aeclust.cluster.manifold import manifold_clusterings

            spec_m = params.methods.manifold
            clusterers = tuple(dict.fromkeys([spec_m.clusterer, *also_clusterers]))
            clusterings = manifold_clusterings(
                latents, spec_m, params.methods.n_clusters, seed, clusterers, umap_parallel
            )
            for clusterer, (cluster_ids, embedding, inertia, seconds) in clusterings.items():
                method = "manifold"
                if clusterer != spec_m.clusterer:
                    method = f"manifold[{clusterer}]"
                record(name, method, embedding, cluster_ids, inertia, seconds)
        if "dec" in methods:  # last: it trains the autoencoder further, in place
            from aeclust.cluster.dec import refine_model

            trajectory: list[dict] = []  # the scores at every target update
            start = time.perf_counter()
            result, _ = refine_model(
                autoencoder,
                inputs,
                params.methods.dec,
                spec,
                params.methods.n_clusters,
                seed,
                on_update=functools.partial(_score_update, trajectory, digit_labels),
            )
            record(
                name,
                "dec",
                result.latents,
                result.cluster_ids,
                float("nan"),
                time.perf_counter() - start,
                iterations=result.iterations,
                converged=result.converged,
                trajectory=trajectory,
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python bench/deep_eval.py",
        description="Deep clustering (KMeans, N2D manifold, DEC/IDEC) over seeds; see the doc.",
    )
    parser.add_argument("--params", default="params.yaml", help="kmeans, methods and models")
    parser.add_argument("--source", help="data.source (default: params.yaml's)")
    parser.add_argument("--n-samples", help='an integer or "all" (default: params.yaml\'s)')
    parser.add_argument("--models", default="dae", help="comma-separated model names")
    parser.add_argument("--epochs", type=int, help="override every model's epochs")
    parser.add_argument("--batch-size", type=int, help="override every model's batch_size")
    parser.add_argument(
        "--augment",
        metavar="'{rotation: 10, shift: 0.1}'",
        help="override every model's augment (YAML: a mapping, or null for none)",
    )
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds")
    parser.add_argument(
        "--methods", default=",".join(METHOD_NAMES), help="any of kmeans,manifold,dec"
    )
    parser.add_argument(
        "--also-clusterers",
        default="",
        metavar="kmeans",
        help="cluster the same UMAP embedding with these too (comma-separated: gmm, kmeans); "
        "each is its own run, <model>+manifold[<clusterer>]",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="methods.dec.max_iter=N",
        help="override a methods.*, kmeans.* or models.<name>.<field> param (YAML value; "
        "e.g. models.simclr.views.flip=true); repeatable",
    )
    parser.add_argument(
        "--umap-parallel",
        action="store_true",
        help="UMAP on every core, unseeded: faster, not reproducible",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=math.inf,
        help="seconds: start no seed that would not end in time",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="JAX: train each model for every seed at once, one program vmapped over the seeds "
        "(on a GPU, several small networks' steps cost little more than one's)",
    )
    parser.add_argument(
        "--save-latents",
        metavar="DIR",
        help="write each model's latents per seed to DIR/<model>_seed<seed>.npy",
    )
    parser.add_argument(
        "--from-latents",
        metavar="DIR",
        help="cluster the latents --save-latents wrote (same --source, --n-samples and "
        "seeds) instead of training; methods kmeans and manifold only",
    )
    parser.add_argument("--output", default="deep_eval.json", help="results (JSON)")
    args = parser.parse_args(argv)

    params = configure(
        args.params,
        [name.strip() for name in args.models.split(",")],
        source=args.source,
        n_samples=args.n_samples,
        epochs=args.epochs,
        batch_size=args.batch_size,
        settings=tuple(args.set),
        augment=args.augment,
    )
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown:
        raise ParamsError(f"--methods {','.join(unknown)}: must be among {', '.join(METHOD_NAMES)}")
    if args.from_latents and "dec" in methods:
        raise ParamsError(
            "--from-latents with --methods dec: dec trains the autoencoder "
            "further; with stored latents, use kmeans and manifold"
        )
    if args.from_latents and (args.together or args.save_latents):
        option = "--together" if args.together else "--save-latents"
        raise ParamsError(f"{option} with --from-latents: there is nothing to train")
    if "manifold" in methods and not umap_available():
        print("umap-learn is not installed: the manifold method is skipped", flush=True)
        methods.remove("manifold")
    seeds = [int(s) for s in args.seeds.split(",")]
    also = tuple(c.strip() for c in args.also_clusterers.split(",") if c.strip())
    for clusterer in also:
        if clusterer not in CLUSTERERS:
            raise ParamsError(
                f"--also-clusterers {clusterer}: must be among {', '.join(CLUSTERERS)}"
            )

    from aeclust.imports import import_keras

    keras = import_keras(params.backend)  # params.yaml's backend, or KERAS_BACKEND

    from aeclust.data.sampling import stratified_sample
    from aeclust.data.sources import load_source

    contrastive = [n for n, m in params.models.items() if isinstance(m, ContrastiveParams)]
    if args.together and contrastive:
        raise ParamsError(
            f"--together: trains autoencoders only, not the contrastive model {contrastive[0]!r} "
            "(leave --together out)"
        )
    if args.together and keras.backend.backend() != "jax":
        raise ParamsError(f"--together: needs KERAS_BACKEND=jax, not {keras.backend.backend()}")

    images, labels = load_source(params.data.source)
    n_samples = params.data.n_samples
    print(
        f"{params.data.source}: {n_samples or len(images)} of {len(images)} images; "
        f"models {', '.join(params.models)}; methods {', '.join(methods)}; seeds {seeds}; "
        f"backend {keras.backend.backend()}",
        flush=True,
    )
    began = time.perf_counter()  # the time budget counts training together too
    trained: dict[int, dict[str, tuple]] = {seed: {} for seed in seeds}
    if args.together:  # every seed's training first, then each seed's methods
        samples = [images[stratified_sample(labels, n_samples, seed)] for seed in seeds]
        for name, spec in params.models.items():
            models = train_and_encode_together(spec, samples, seeds, name)
            for seed, result in zip(seeds, models, strict=True):
                trained[seed][name] = result
        del samples
    if args.from_latents:
        from aeclust.io.storage import load_array

        for seed in seeds:
            for name in params.models:
                latents = load_array(latents_path(args.from_latents, name, seed))
                trained[seed][name] = (None, None, latents)
    save_latents = None
    if args.save_latents:
        from aeclust.io.storage import save_array

        def save_latents(name: str, seed: int, latents) -> None:
            save_array(latents_path(args.save_latents, name, seed), latents)

        for seed in seeds:  # trained together: saved before any clustering
            for name, (_, _, latents) in trained[seed].items():
                save_latents(name, seed, latents)
    results: list[dict] = []
    longest = 0.0
    for seed in seeds:
        spent = time.perf_counter() - began
        if spent + longest > args.time_budget:
            print(f"time budget: {spent:.0f} s spent, a seed takes {longest:.0f} s: stopping")
            break
        start = time.perf_counter()

        def keep(row: dict) -> None:  # written after every row: a run cut short keeps them
            results.append(row)
            _write(args.output, params, results)

        evaluate_seed(
            params,
            images,
            labels,
            methods,
            seed,
            args.umap_parallel,
            keep,
            also,
            trained[seed] or None,
            save_latents,
        )
        trained[seed] = {}  # free the models
        longest = max(longest, time.perf_counter() - start)
    print("\nmean ± std over seeds:")
    for run, stats in summary(results).items():
        acc, nmi = stats["acc"], stats["nmi"]
        print(
            f"{run}: ACC {acc['mean']:.4f} ± {acc['std'] or 0:.4f}  "
            f"NMI {nmi['mean']:.4f} ± {nmi['std'] or 0:.4f}  (n={acc['n']})"
        )
    for run, points in dec_trajectories(results).items():
        steps = ", ".join(f"{p['iteration']}: {p['acc']:.4f}" for p in points)
        print(f"{run}, mean ACC after each number of batches: {steps}")


def _write(path: str, params: Params, results: list[dict]) -> None:
    import keras

    from aeclust.io.storage import save_json

    n_samples = params.data.n_samples
    save_json(
        path,
        {
            "source": params.data.source,
            "n_samples": "all" if n_samples is None else n_samples,
            "models": {name: dataclasses.asdict(spec) for name, spec in params.models.items()},
            "methods": dataclasses.asdict(params.methods),
            "backend": keras.backend.backend(),
            "runs": results,
            "summary": summary(results),
            "dec_trajectories": dec_trajectories(results),
        },
    )


if __name__ == "__main__":
    from aeclust.stage import run_stage

    logging.getLogger("aeclust.cluster.dec").setLevel(logging.WARNING)
    run_stage("deep_eval", main)
    sys.exit(0)
