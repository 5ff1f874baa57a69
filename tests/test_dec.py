"""DEC/IDEC on tiny data: the clustering layer, the target, refinement, on both backends."""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from aeclust.cluster.dec import (
    ClusteringLayer,
    build_dec,
    kl_divergence,
    refine,
    target_distribution,
)
from aeclust.cluster.scores import clustering_accuracy
from aeclust.config import AugmentParams, DecParams, DenseParams
from aeclust.nets.models import build_dense
from aeclust.nets.training import make_deterministic, train_autoencoder

SPEC = DecParams(
    enabled=True,
    reconstruction=True,
    gamma=0.1,
    n_init=5,
    update_interval=10,
    tol=0.001,
    max_iter=300,
    batch_size=32,
    learning_rate=0.001,
)


def blobs(spread: float, per: int = 40, k: int = 4, dim: int = 16, seed: int = 0):
    """`k` Gaussian blobs of `per` points in `dim` dimensions: (points float32, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, dim))
    labels = np.repeat(np.arange(k), per)
    points = centres[labels] + rng.normal(scale=spread, size=(per * k, dim))
    return points.astype(np.float32), labels


def trained_autoencoder(points: np.ndarray, seed: int = 1) -> keras.Model:
    """A small dense autoencoder (16 -> 12 -> 3 -> 12 -> 16, elu), briefly trained."""
    make_deterministic(seed)
    spec = DenseParams("dense", "unit_range", (12, 3), "elu", False, 0.01, 20, 32)
    model = build_dense(points.shape[1], spec)
    train_autoencoder(model, points, learning_rate=0.01, epochs=20, batch_size=32, seed=seed)
    return model


def test_clustering_layer_gives_soft_assignments_to_the_nearest_centroid():
    layer = ClusteringLayer(3, name="clustering")
    centroids = np.array([[0, 0], [10, 0], [0, 10]], dtype=np.float32)
    layer.build((None, 2))
    layer.set_weights([centroids])
    latents = np.array([[0.5, 0], [9, 1], [1, 8], [5, 5]], dtype=np.float32)
    q = keras.ops.convert_to_numpy(layer(latents))
    assert q.shape == (4, 3)
    np.testing.assert_allclose(q.sum(axis=1), 1, rtol=1e-6)
    assert q[:3].argmax(axis=1).tolist() == [0, 1, 2]
    assert q[3, 1] == pytest.approx(q[3, 2])  # equidistant
    # Student's t with one degree of freedom: q_ij ∝ 1 / (1 + |z_i - mu_j|²)
    expected = 1 / (1 + ((latents[:, None] - centroids) ** 2).sum(-1))
    np.testing.assert_allclose(q, expected / expected.sum(1, keepdims=True), rtol=1e-5)


def test_clustering_layer_is_serialisable():
    layer = ClusteringLayer(4, alpha=2.0, name="clustering")
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == "aeclust>ClusteringLayer"
    again = keras.saving.deserialize_keras_object(config)
    assert isinstance(again, ClusteringLayer) and (again.n_clusters, again.alpha) == (4, 2.0)


def test_target_distribution_sharpens_and_normalises():
    q = np.array([[0.6, 0.3, 0.1], [0.1, 0.6, 0.3], [0.3, 0.1, 0.6]])  # equal cluster sizes
    p = target_distribution(q)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    assert (p.argmax(axis=1) == q.argmax(axis=1)).all()
    assert (p.max(axis=1) > q.max(axis=1)).all()
    assert kl_divergence(p, q) > 0 and kl_divergence(q, q) == pytest.approx(0, abs=1e-9)


def test_build_dec_outputs_assignments_and_reconstruction():
    points, _ = blobs(0.5)
    autoencoder = trained_autoencoder(points)
    idec = build_dec(autoencoder, 4, reconstruction=True)
    q, reconstructed = idec.predict(points, verbose=0)
    assert q.shape == (160, 4) and reconstructed.shape == points.shape
    dec = build_dec(autoencoder, 4, reconstruction=False)
    assert dec.predict(points, verbose=0).shape == (160, 4)


def test_separated_blobs_are_clustered_perfectly_and_deterministically():
    points, labels = blobs(0.2)
    runs = [refine(trained_autoencoder(points), points, SPEC, 4, seed=3) for _ in range(2)]
    first, second = runs
    assert clustering_accuracy(first.cluster_ids, labels) == 1.0
    assert first.converged and first.iterations <= SPEC.max_iter
    assert first.cluster_ids.dtype == np.int64 and first.latents.shape == (160, 3)
    np.testing.assert_array_equal(first.cluster_ids, second.cluster_ids)
    np.testing.assert_array_equal(first.latents, second.latents)
    assert first.history == second.history


@pytest.mark.parametrize("reconstruction", [True, False])
def test_refinement_lowers_its_loss_and_moves_only_some_assignments(reconstruction):
    points, labels = blobs(3.5)  # overlapping blobs: KMeans gets about 3 in 4 right
    spec = DecParams(
        **{**SPEC.__dict__, "tol": 0.0, "max_iter": 60, "reconstruction": reconstruction}
    )
    updates = []
    result = refine(
        trained_autoencoder(points),
        points,
        spec,
        4,
        seed=3,
        on_update=lambda iteration, ids: updates.append((iteration, ids.copy())),
    )
    assert result.iterations == 60 and not result.converged  # tol 0: runs to max_iter
    assert len(result.history) == 7
    # one call per target update, the last with the result's assignments
    assert [i for i, _ in updates] == [h["iteration"] for h in result.history]
    np.testing.assert_array_equal(updates[-1][1], result.cluster_ids)
    assert any((ids != updates[0][1]).any() for _, ids in updates[1:])
    for update in result.history[:-1]:
        # The interval's training lowers the loss towards that interval's target.
        assert update["loss_after"] < update["loss"]
    agreement = clustering_accuracy(result.cluster_ids, result.initial_ids)
    assert 0.8 <= agreement  # refinement adjusts KMeans' clusters, it does not start over
    before = clustering_accuracy(result.initial_ids, labels)
    assert clustering_accuracy(result.cluster_ids, labels) >= before - 0.05
    assert len(np.unique(result.cluster_ids)) == 4  # no cluster collapsed


class FitRunner:
    """The batch runners' interface, trained with Keras' own `fit` on the same batches."""

    def __init__(self, model, inputs, batch_size, targets):
        self.model, self.inputs, self.batch_size, self.targets = model, inputs, batch_size, targets

    def __call__(self, order, extra=None, inputs=None):
        x = (self.inputs if inputs is None else inputs)[order]
        y = self.targets(x, None if extra is None else extra[order])
        self.model.fit(x, y, batch_size=self.batch_size, epochs=1, shuffle=False, verbose=0)


@pytest.mark.parametrize(
    ("reconstruction", "augment"),
    [(True, None), (False, None), (True, AugmentParams(rotation=10.0, shift=0.1, zoom=0.1))],
)
def test_compiled_batches_refine_as_keras_fit_does(monkeypatch, reconstruction, augment):
    points, _ = blobs(3.5)  # 16 values: 4 x 4 images to distort
    spec = DecParams(
        **{**SPEC.__dict__, "tol": 0.0, "max_iter": 45, "reconstruction": reconstruction}
    )
    fast = refine(trained_autoencoder(points), points, spec, 4, seed=3, augment=augment)
    monkeypatch.setattr("aeclust.cluster.dec.batch_runner", FitRunner)
    slow = refine(trained_autoencoder(points), points, spec, 4, seed=3, augment=augment)
    np.testing.assert_array_equal(fast.cluster_ids, slow.cluster_ids)
    np.testing.assert_allclose(fast.latents, slow.latents, rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(fast.history, slow.history, strict=True):
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-4)


@pytest.mark.slow
def test_augmented_refinement_trains_each_batch_on_distorted_copies_of_its_rows():
    points, _ = blobs(3.5)  # 16 values: 4 x 4 images
    spec = DecParams(**{**SPEC.__dict__, "tol": 0.0, "max_iter": 45})

    def run(augment):
        return refine(trained_autoencoder(points), points, spec, 4, seed=3, augment=augment)

    plain = run(None)
    # No distortion: the same batches, rows and targets as without augmentation.
    still = run(AugmentParams(rotation=0.0, shift=0.0, zoom=0.0))
    np.testing.assert_array_equal(still.latents, plain.latents)
    assert still.history == plain.history
    distorted = AugmentParams(rotation=10.0, shift=0.1, zoom=0.1)
    first, second = run(distorted), run(distorted)
    np.testing.assert_array_equal(first.latents, second.latents)  # seeded
    assert first.history == second.history
    assert not np.allclose(first.latents, plain.latents)


JAX_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import keras
from test_dec import SPEC, blobs, trained_autoencoder
from aeclust.cluster.dec import refine
from aeclust.cluster.scores import clustering_accuracy
points, labels = blobs(0.2)
runs = [refine(trained_autoencoder(points), points, SPEC, 4, seed=3) for _ in range(2)]
print(json.dumps({{
    "backend": keras.backend.backend(),
    "acc": clustering_accuracy(runs[0].cluster_ids, labels),
    "same": bool((runs[0].cluster_ids == runs[1].cluster_ids).all()
                 and (runs[0].latents == runs[1].latents).all()),
    "loss_down": all(h["loss_after"] < h["loss"] for h in runs[0].history[:-1]),
}}))
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_refinement_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    script = JAX_SCRIPT.format(tests=os.path.dirname(__file__))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"backend": "jax", "acc": 1.0, "same": True, "loss_down": True}
