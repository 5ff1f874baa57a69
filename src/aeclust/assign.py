"""A trained run applied to new images: `load_run(RUN)` loads what the pipeline saved for
run RUN (a key of reports/metrics.json) and puts new images into its clusters.

    import aeclust
    run = aeclust.load_run("cnn+dec")            # from the project in the current folder
    cluster_ids = run.assign(images)             # uint8 (n, 28, 28), or pixel values 0..255
    print(run.scores(cluster_ids, labels))       # ACC (training images' matching), NMI, ARI

How each kind of run assigns, from the stages' outputs (arrays, JSON and .keras files
loaded with safe_mode; nothing is unpickled):

- `raw`, `<model>` (the study's KMeans): the nearest of the KMeans centroids
  (data/clusters/centroids/<run>.npy), on pixels / 255 or on the model's latents.
- `<model>+dec`, `<model>+selflabel`: the trained encoder and its clustering layer or
  softmax head (data/methods/<run>/assigner.keras): the most likely cluster.
- `<model>+manifold`: N2D's clusters come from a UMAP of the training set, which cannot place
  a new point without its pickled state; a new image takes the cluster of its nearest
  training latents instead, a vote weighted by 1 / distance (`aeclust.cluster.neighbours`;
  data/methods/<run>/neighbours.json holds the neighbour count and how often a training
  image left out gets its own cluster back).

The training images get their stage's cluster ids back exactly (KMeans, DEC,
self-labelling) or all but
near-ties (manifold: their own latent is their nearest neighbour).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aeclust.cluster import runs as method_outputs
from aeclust.config import BASELINE, METHODS, ModelParams, Params, load_params, run_name
from aeclust.errors import DataError, UserError
from aeclust.io import paths
from aeclust.io.storage import load_array, load_json

BATCH = 1000  # images encoded per call: the encode and dec stages' own batch


def check_images(images: Any, side: int) -> np.ndarray:
    """`images` as (n, side, side) pixel values 0..255 (uint8 kept as is, other numbers as
    float32), or one clear UserError: not an array of numbers, another size, NaN or
    infinite values, values outside 0..255, no image at all."""
    array = np.asarray(images)
    if array.dtype == np.uint8:
        pass
    elif array.dtype.kind in "iuf":
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DataError("images: hold NaN or infinite values; pixels must be numbers 0..255")
        if array.size and (array.min() < 0 or array.max() > 255):
            raise DataError(
                f"images: values from {array.min():g} to {array.max():g}; pixels must be "
                "0..255 (uint8, or numbers on that scale)"
            )
        array = array.astype(np.float32)
    else:
        raise DataError(f"images: dtype {array.dtype}; must be uint8 pixels, or numbers 0..255")
    if array.ndim == 2 and array.shape[1] == side * side:
        array = array.reshape(len(array), side, side)
    if array.ndim != 3 or array.shape[1:] != (side, side):
        raise DataError(
            f"images: shape {array.shape}; this run was trained on {side}x{side} images: "
            f"must be (n, {side}, {side}) or (n, {side * side})"
        )
    if not len(array):
        raise DataError("images: none given (an empty array)")
    return array


@dataclass
class TrainedRun:
    """One run of a trained project: `assign` puts images into its clusters, `encode` gives
    the features it clusters, `scores` compares cluster ids with labels."""

    name: str  # the key in reports/metrics.json: raw, cnn, cnn+dec, cnn+manifold
    model: str | None  # the model's name; None for raw
    method: str  # kmeans, dec or manifold
    side: int  # the training images' side
    cluster_to_label: dict[int, int]  # the matching learnt on the training images' labels
    _encode: Callable[[np.ndarray], np.ndarray]
    _assign: Callable[[np.ndarray], np.ndarray]

    def batches(self, images: Any, batch_size: int = BATCH) -> Iterator[np.ndarray]:
        """The cluster ids of `images`, `batch_size` at a time (for a progress bar)."""
        checked = check_images(images, self.side)
        if batch_size < 1:
            raise UserError(f"batch_size = {batch_size}: must be an integer >= 1")
        for start in range(0, len(checked), batch_size):
            yield self._assign(checked[start : start + batch_size])

    def assign(self, images: Any, batch_size: int = BATCH) -> np.ndarray:
        """The cluster ids (n,) int64 of (n, side, side) images (pixel values 0..255)."""
        return np.concatenate(list(self.batches(images, batch_size)))

    def encode(self, images: Any) -> np.ndarray:
        """The features (n, d) float32 the run clusters: pixels / 255 for raw, the model's
        latents (the refined encoder's for dec)."""
        return self._encode(check_images(images, self.side))

    def scores(self, cluster_ids: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        """ACC of the clusters as labels through the matching learnt on the training images
        (`cluster_to_label`: those images' labels chose it), and the plain NMI and ARI."""
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

        predicted = np.array([self.cluster_to_label.get(int(c), -1) for c in cluster_ids])
        return {
            "acc": float(np.mean(predicted == labels)),
            "nmi": float(normalized_mutual_info_score(labels, cluster_ids)),
            "ari": float(adjusted_rand_score(labels, cluster_ids)),
        }


def _need(path: Path, run: str) -> Path:
    if not path.exists():
        raise DataError(
            f"{run}: {path} is missing: run the pipeline first (dvc repro, or dvc pull)"
        )
    return path


def _run_names(params: Params) -> list[str]:
    methods = [run_name(m, method) for m in params.models for method in METHODS]
    return [BASELINE, *params.models, *methods]


def _parse(run: str, params: Params) -> tuple[str | None, str]:
    """(model or None, method) of run `run`, or one clear error."""
    if run == BASELINE:
        return None, "kmeans"
    model, _, method = run.partition("+")
    if run not in _run_names(params):
        raise UserError(
            f"run = {run!r}: must be one of this project's runs: {', '.join(_run_names(params))}"
        )
    if method and not getattr(params.methods, method).enabled:
        raise UserError(
            f"run = {run!r}: methods.{method}.enabled is false in params.yaml: the run is "
            "switched off (set it true and run dvc repro)"
        )
    return model, method or "kmeans"


def load_run(run: str, root: str | Path = ".") -> TrainedRun:
    """Load run `run` of the trained project at `root` (its params.yaml and the outputs
    of its last dvc repro); see the module's doc. Loads Keras only for a model's run."""
    root = Path(root)
    params = load_params(root / paths.PARAMS)
    model, method = _parse(run, params)
    prepared = load_array(_need(root / paths.PREPARED_IMAGES, run))
    side = prepared.shape[1]
    if method == "kmeans":
        training_ids = load_array(_need(root / paths.CLUSTERS / f"{run}.npy", run))
    else:
        out = root / method_outputs.run_dir(run)
        if (out / method_outputs.SKIPPED).exists():
            raise UserError(f"run = {run!r}: its stage ran switched off; run dvc repro")
        training_ids = load_array(_need(out / method_outputs.CLUSTER_IDS, run))
    labels = load_array(_need(root / paths.PREPARED_LABELS, run))

    from aeclust.cluster.scores import best_matching

    matching = best_matching(training_ids, labels)
    if model is None:
        encode, assign = _raw(root, run)
    else:
        encode, assign = _model_run(root, run, model, params.models[model], method, params.backend)
    return TrainedRun(run, model, method, side, matching, encode, assign)


def _raw(root: Path, run: str):
    from aeclust.cluster.kmeans import nearest_centroid
    from aeclust.data.scaling import unit_range

    centroids = load_array(_need(root / paths.centroids(run), run))

    def encode(images: np.ndarray) -> np.ndarray:
        return unit_range(images).reshape(len(images), -1)

    return encode, lambda images: nearest_centroid(encode(images), centroids)


def _model_run(root: Path, run: str, name: str, spec: ModelParams, method: str, backend: str):
    from aeclust.imports import import_keras

    import_keras(backend)
    from aeclust.cluster.dec import assign_ids
    from aeclust.cluster.kmeans import nearest_centroid
    from aeclust.cluster.neighbours import neighbour_vote
    from aeclust.data.scaling import SCALERS
    from aeclust.nets.encoding import encode_latents
    from aeclust.nets.models import load_model, model_inputs

    def inputs(images: np.ndarray) -> np.ndarray:
        return model_inputs(SCALERS[spec.scaling](images), spec)

    if method in ("dec", "selflabel"):
        out = root / method_outputs.run_dir(run)
        assigner = load_model(_need(out / method_outputs.ASSIGNER, run))
        return (
            lambda images: encode_latents(assigner, inputs(images), BATCH),
            lambda images: assign_ids(assigner, inputs(images)),
        )
    network = load_model(_need(root / paths.model_file(name), run))

    def encode(images: np.ndarray) -> np.ndarray:
        return encode_latents(network, inputs(images), BATCH)

    if method == "kmeans":
        centroids = load_array(_need(root / paths.centroids(run), run))
        return encode, lambda images: nearest_centroid(encode(images), centroids)
    out = root / method_outputs.run_dir(run)
    neighbours = load_json(_need(out / method_outputs.NEIGHBOURS, run))
    train_latents = load_array(_need(root / paths.encoded(name) / "latents.npy", run))
    train_ids = load_array(out / method_outputs.CLUSTER_IDS)
    k = int(neighbours["n_neighbors"])
    return encode, lambda images: neighbour_vote(train_latents, train_ids, encode(images), k)
