"""DEC / IDEC: refine a trained autoencoder's encoder so that its latents cluster
(Xie et al. 2016, "Unsupervised deep embedding for clustering analysis"; Guo et al. 2017,
"Improved deep embedded clustering with local structure preservation").

A clustering layer on the latent holds one centroid per cluster, initialised by KMeans on
the trained encoder's latents, and gives latent z_i the soft assignment
q_ij ∝ (1 + |z_i - mu_j|²)^-1 (Student's t, one degree of freedom). Training pulls Q
towards the sharpened target p_ij ∝ q_ij² / sum_i q_ij (loss KL(P || Q), weight gamma),
recomputed every `update_interval` batches, and stops once fewer than `tol` of the
assignments change between two updates. IDEC keeps the decoder's reconstruction loss
(weight 1), so that the latent space keeps its local structure; DEC drops it.
With `augment` (DEC-DA, Guo et al. 2018, "Deep embedded clustering with data
augmentation"), every batch trains on freshly distorted copies of its images, towards the
target computed on the undistorted ones (and, in IDEC, reconstructs the distorted images).

Keras 3 only (keras.ops): runs on the TensorFlow and the JAX backends.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from aeclust.cluster.kmeans import SPREAD_BELOW
from aeclust.config import AugmentParams, DecParams, ModelParams
from aeclust.data.augment import random_affine
from aeclust.nets.encoding import predict
from aeclust.nets.models import is_autoencoder
from aeclust.nets.runners import FusedAdam, batch_runner
from aeclust.nets.training import make_deterministic

log = logging.getLogger(__name__)

PREDICT_BATCH = 1000


@keras.saving.register_keras_serializable(package="aeclust")
class ClusteringLayer(keras.layers.Layer):
    """Soft assignments (n, n_clusters) of latents (n, d) to `n_clusters` trainable
    centroids: Student's t kernel with `alpha` degrees of freedom, rows summing to 1."""

    def __init__(self, n_clusters: int, alpha: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_clusters = n_clusters
        self.alpha = alpha

    def build(self, input_shape) -> None:
        self.centroids = self.add_weight(
            shape=(self.n_clusters, input_shape[-1]), initializer="glorot_uniform", name="centroids"
        )

    def call(self, latents):
        # (n, 1, d) - (k, d) -> (n, k, d) -> squared distances (n, k)
        squared = ops.sum(ops.square(ops.expand_dims(latents, 1) - self.centroids), axis=-1)
        q = ops.power(1.0 + squared / self.alpha, -(self.alpha + 1.0) / 2.0)
        return q / ops.sum(q, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_clusters)

    def get_config(self) -> dict:
        return {**super().get_config(), "n_clusters": self.n_clusters, "alpha": self.alpha}


def target_distribution(q: np.ndarray) -> np.ndarray:
    """DEC's sharpened target (n, k): p_ij = (q_ij² / f_j) / sum_j' (q_ij'² / f_j'), with
    f_j = sum_i q_ij the soft cluster sizes (which keeps large clusters from taking over)."""
    q = q.astype(np.float64)
    weight = q**2 / q.sum(axis=0)
    return weight / weight.sum(axis=1, keepdims=True)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Mean over rows of KL(p_i || q_i), as Keras' KLDivergence loss (clipped at 1e-7)."""
    p = np.clip(p.astype(np.float64), 1e-7, 1)
    q = np.clip(q.astype(np.float64), 1e-7, 1)
    return float(np.mean(np.sum(p * np.log(p / q), axis=1)))


def build_dec(autoencoder: keras.Model, n_clusters: int, reconstruction: bool) -> keras.Model:
    """The trained autoencoder's input -> its "latent" layer -> ClusteringLayer "clustering";
    outputs [soft assignments (n, k), reconstruction] with `reconstruction` (IDEC), else the
    soft assignments alone (DEC). Shares the autoencoder's layers (and weights)."""
    latent = autoencoder.get_layer("latent").output  # (n, d)
    assignments = ClusteringLayer(n_clusters, name="clustering")(latent)  # (n, k)
    outputs = [assignments, autoencoder.output] if reconstruction else assignments
    return keras.Model(autoencoder.inputs, outputs, name="idec" if reconstruction else "dec")


@dataclass
class Refinement:
    """What `refine` returns. `history` has one entry per target update: the batches done
    so far (`iteration`), the fraction of assignments changed since the last update
    (`changed`), the loss gamma * KL(P || Q) + reconstruction MSE at the update (`loss`)
    and, once the interval is trained, the same loss for the same target P (`loss_after`)."""

    cluster_ids: np.ndarray  # (n,) int64: argmax of the final soft assignments
    initial_ids: np.ndarray  # (n,) int64: KMeans on the latents before refinement
    latents: np.ndarray  # (n, d) float32: the refined encoder's latents
    iterations: int  # batches trained
    converged: bool  # stopped by `tol` rather than `max_iter`
    history: list[dict[str, float]] = field(default_factory=list)
    # image -> soft assignments (n, k): the refined encoder and its clustering layer, what
    # `assign_ids` assigns new images by
    assigner: keras.Model | None = None


def _index_stream(n: int, seed: int) -> Callable[[int], np.ndarray]:
    """take(count) -> the next `count` indices of a seeded stream of permutations of range(n)."""
    rng = np.random.default_rng(seed)
    pending = np.empty(0, dtype=np.int64)

    def take(count: int) -> np.ndarray:
        nonlocal pending
        while len(pending) < count:
            pending = np.concatenate([pending, rng.permutation(n)])
        chosen, pending = pending[:count], pending[count:]
        return chosen

    return take


def _idec_targets(x, p):
    """IDEC's targets: the target distribution, and the batch itself to reconstruct."""
    return [p, x]


def _dec_targets(x, p):
    return p


def refine(
    autoencoder: keras.Model,
    inputs: np.ndarray,
    spec: DecParams,
    n_clusters: int,
    seed: int,
    augment: AugmentParams | None = None,
    on_update: Callable[[int, np.ndarray], None] | None = None,
) -> Refinement:
    """DEC/IDEC on `inputs` (n, ...) in the autoencoder's input shape and scaling.

    Trains the autoencoder's encoder (and, with spec.reconstruction, decoder) in place.
    With `augment`, each batch is a fresh distorted copy of its rows (DEC-DA); the target
    distribution and the assignments always come from the undistorted inputs.
    `on_update(iteration, cluster_ids)`, if given, gets the assignments (n,) at every
    target update, one call per `history` entry; the last call's are the result's.
    Deterministic for a given seed on a given machine and backend."""
    make_deterministic(seed)
    model = build_dec(autoencoder, n_clusters, spec.reconstruction)
    encoder = keras.Model(autoencoder.inputs, autoencoder.get_layer("latent").output)

    def assignments(x: np.ndarray) -> tuple[np.ndarray, float]:
        """(soft assignments (n, k), reconstruction MSE or 0.0)."""
        out = predict(model, x, PREDICT_BATCH)
        if not spec.reconstruction:
            return np.asarray(out), 0.0
        q, reconstructed = (np.asarray(o) for o in out)
        return q, float(np.mean((reconstructed.astype(np.float64) - x) ** 2))

    latents = np.asarray(predict(encoder, inputs, PREDICT_BATCH))
    flat = latents.reshape(len(latents), -1).astype(np.float64)
    # Below SPREAD_BELOW rows KMeans' OpenMP threads wait on each other more than they work:
    # on one core its 20 restarts on the cnn's 3000 x 196 latents take 0.9 s, not 1.9 s.
    with threadpool_limits(limits=1 if len(flat) < SPREAD_BELOW else None, user_api="openmp"):
        kmeans = KMeans(n_clusters=n_clusters, n_init=spec.n_init, random_state=seed).fit(flat)
    model.get_layer("clustering").set_weights([kmeans.cluster_centers_.astype(np.float32)])
    initial_ids = kmeans.labels_.astype(np.int64)

    if spec.reconstruction:
        losses = [keras.losses.KLDivergence(), keras.losses.MeanSquaredError()]
        weights = [spec.gamma, 1.0]
    else:
        losses, weights = [keras.losses.KLDivergence()], [spec.gamma]
    model.compile(
        optimizer=FusedAdam(learning_rate=spec.learning_rate),
        loss=losses if spec.reconstruction else losses[0],
        loss_weights=weights if spec.reconstruction else weights[0],
    )

    take = _index_stream(len(inputs), seed)
    # the distortions' own stream: without augment the batches are as they were
    distortions = np.random.default_rng([seed, 2])
    # The training targets of a batch x from its rows p of the target distribution.
    targets = _idec_targets if spec.reconstruction else _dec_targets
    # The same batches as fit, faster (see BatchRunner); None on torch.
    runner = batch_runner(model, inputs, spec.batch_size, targets=targets)
    history: list[dict[str, float]] = []
    previous, iteration, converged = initial_ids, 0, False
    q, mse = assignments(inputs)
    while True:
        target = target_distribution(q)
        cluster_ids = q.argmax(axis=1).astype(np.int64)
        changed = float(np.mean(cluster_ids != previous))
        previous = cluster_ids
        if on_update is not None:
            on_update(iteration, cluster_ids)
        entry = {
            "iteration": iteration,
            "changed": changed,
            "loss": spec.gamma * kl_divergence(target, q) + mse,
        }
        history.append(entry)
        log.info(
            "refine: %d/%d batches, %.2f%% of assignments changed since the last update",
            iteration,
            spec.max_iter,
            100 * changed,
        )
        if iteration > 0 and changed < spec.tol:
            converged = True
            break
        if iteration >= spec.max_iter:
            break
        steps = min(spec.update_interval, spec.max_iter - iteration)
        chosen = take(steps * spec.batch_size)
        extra = target.astype(np.float32)
        batch_inputs = None  # the runner's own: `inputs`
        if augment is not None:  # this interval's rows, each freshly distorted, in turn
            batch_inputs = random_affine(inputs[chosen], distortions, augment)
            chosen, extra = np.arange(len(chosen)), extra[chosen]
        if runner is not None:
            runner(chosen, extra, inputs=batch_inputs)
        else:
            x = (inputs if batch_inputs is None else batch_inputs)[chosen]
            y = targets(x, extra[chosen])
            model.fit(x, y, batch_size=spec.batch_size, epochs=1, shuffle=False, verbose=0)
        iteration += steps
        q, mse = assignments(inputs)
        entry["loss_after"] = spec.gamma * kl_divergence(target, q) + mse
    latents = np.asarray(predict(encoder, inputs, PREDICT_BATCH))
    return Refinement(
        cluster_ids=q.argmax(axis=1).astype(np.int64),
        initial_ids=initial_ids,
        latents=latents.reshape(len(latents), -1).astype(np.float32),
        iterations=iteration,
        converged=converged,
        history=history,
        assigner=keras.Model(model.inputs, model.get_layer("clustering").output, name="assigner"),
    )


def assign_ids(assigner: keras.Model, inputs: np.ndarray) -> np.ndarray:
    """The cluster ids (n,) int64 of `inputs` (in the model's input shape and scaling) under
    a refinement's `assigner`: the most likely cluster, as `refine` assigns its own rows."""
    q = np.asarray(predict(assigner, inputs, PREDICT_BATCH))
    return q.argmax(axis=1).astype(np.int64)


def refine_model(
    autoencoder: keras.Model,
    inputs: np.ndarray,
    spec: DecParams,
    model_spec: ModelParams,
    n_clusters: int,
    seed: int,
    on_update: Callable[[int, np.ndarray], None] | None = None,
) -> tuple[Refinement, AugmentParams | None]:
    """`refine` a trained model as the dec stage does: a model without a decoder (a
    contrastive one) is refined as DEC whatever `spec.reconstruction` says, and with
    `spec.augment` the batches are distorted as the model was trained (its `augment`, if
    any: DEC-DA). Returns the refinement and the distortions it used."""
    if spec.reconstruction and not is_autoencoder(autoencoder):
        spec = dataclasses.replace(spec, reconstruction=False)  # nothing to rebuild: DEC
    augment = model_spec.augment if spec.augment else None
    result = refine(autoencoder, inputs, spec, n_clusters, seed, augment, on_update)
    return result, augment
