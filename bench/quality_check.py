"""Does the pipeline's faster training still compute the study's result? Over seeds.

For each seed and each model named by --models, this trains, on the same images (the
seeded stratified sample of params.yaml's data), the network

- study:    exactly as the study wrote it, in plain Keras (`model.fit`, stock layers;
            the code is `bench/train_speed.py`'s copy of the study's);
- pipeline: the pipeline's own path (`aeclust.nets.models.build_autoencoder` +
            `aeclust.nets.training.train_autoencoder`),

for params.yaml's epochs (or --epochs), then runs the study's KMeans (params.yaml's
`kmeans`, random_state = the seed) on the latents. It prints each run's final loss,
ACC and seconds, then per model and path the mean and standard deviation over the
seeds, and whether the pipeline's means lie within, above or below the study's
seed-to-seed range (min..max over the seeds). Each finished run is also written to
--out (JSON) at once, so a long check that is stopped keeps what it did. Prints figures;
asserts nothing.

    python bench/quality_check.py              # seeds 1 2 3, ffn and cnn, 500 epochs
    python bench/quality_check.py --models ffn --epochs 50 --seeds 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
PATHS = ("study", "pipeline")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--models", nargs="+", default=["ffn", "cnn"], help="params.yaml names")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--epochs", type=int, help="default: each model's params.yaml epochs")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--out", default="quality_check.json", help="JSON of every run")
    args = parser.parse_args()
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: must be >= 1")
    return args


def study_latent_model(keras, model):
    """The study's models name no layer: the latent is the narrowest Dense layer's output."""
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    latent = min(dense, key=lambda layer: layer.units)
    return keras.Model(model.inputs, latent.output)


def placement(mean: float, reference: list[float]) -> str:
    """Where `mean` lies against the reference runs' range: within, ABOVE or BELOW."""
    if mean < min(reference):
        return "BELOW"
    return "ABOVE" if mean > max(reference) else "within"


def spread(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.5f} +- {std:.5f} [{min(values):.5f}..{max(values):.5f}]"


def main() -> None:
    args = parse_args()
    import keras
    import numpy as np
    from train_speed import sampled_images, study_conv, study_dense

    from aeclust.cluster.kmeans import kmeans
    from aeclust.cluster.scores import clustering_accuracy
    from aeclust.config import DenseParams, load_params
    from aeclust.data.scaling import SCALERS
    from aeclust.nets.models import build_autoencoder, encoder_of, model_inputs
    from aeclust.nets.training import chunk_seed, make_deterministic, train_autoencoder

    params = load_params(args.params)
    unknown = [name for name in args.models if name not in params.models]
    if unknown:
        sys.exit(f"--models {' '.join(unknown)}: must be among {', '.join(params.models)}")
    images, labels = sampled_images(params)
    side = images.shape[1]
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python "
        f"{platform.python_version()}, keras {keras.__version__} ({keras.backend.backend()}); "
        f"data: {len(images)} images from {params.data.source} (sample seed {params.seed})",
        flush=True,
    )
    runs: list[dict] = []
    for seed in args.seeds:
        for name in args.models:
            spec = params.models[name]
            epochs = args.epochs or spec.epochs
            inputs = model_inputs(SCALERS[spec.scaling](images), spec)
            for path in args.paths:
                make_deterministic(seed)  # seeds the initial weights too
                start = time.perf_counter()
                if path == "pipeline":
                    model = build_autoencoder(spec, side)
                    losses = train_autoencoder(
                        model,
                        inputs,
                        learning_rate=spec.learning_rate,
                        epochs=epochs,
                        batch_size=spec.batch_size,
                        seed=seed,
                    )
                    encoder = encoder_of(model)
                else:
                    if isinstance(spec, DenseParams):
                        model = study_dense(keras, inputs.shape[1])
                    else:
                        model = study_conv(keras, side)
                    keras.utils.set_random_seed(chunk_seed(seed, 0))
                    history = model.fit(inputs, inputs, epochs=epochs, batch_size=300, verbose=0)
                    losses = history.history["loss"]
                    encoder = study_latent_model(keras, model)
                seconds = time.perf_counter() - start
                latents = np.asarray(encoder.predict(inputs, batch_size=1000, verbose=0))
                cluster_ids, _ = kmeans(latents.reshape(len(latents), -1), params.kmeans, seed)
                run = {
                    "seed": seed,
                    "model": name,
                    "path": path,
                    "epochs": epochs,
                    "final_loss": float(losses[-1]),
                    "acc": clustering_accuracy(cluster_ids, labels),
                    "train_seconds": round(seconds, 1),
                }
                runs.append(run)
                print(
                    f"seed {seed} {name:4} {path:9} loss {run['final_loss']:.5f} "
                    f"ACC {run['acc']:.4f} {seconds:7.1f} s",
                    flush=True,
                )
                Path(args.out).write_text(json.dumps({"runs": runs}, indent=1))
                keras.backend.clear_session()

    print("\nmean +- std [min..max] over seeds", " ".join(map(str, args.seeds)))
    for name in args.models:
        study = [r for r in runs if r["model"] == name and r["path"] == "study"]
        for path in args.paths:
            mine = [r for r in runs if r["model"] == name and r["path"] == path]
            for key in ("final_loss", "acc"):
                values = [r[key] for r in mine]
                line = f"{name:4} {path:9} {key:10} {spread(values)}"
                if path != "study" and len(study) > 1:
                    ref = [r[key] for r in study]
                    where = placement(statistics.mean(values), ref)
                    line += f"  mean {where} the study's range"
                print(line)


if __name__ == "__main__":
    main()
