"""Self-labelling: train the model's encoder, with a softmax head, to predict the clusters
of another method's run, but only on the images that run is sure of, and only ever on
distorted copies of them (self-training in the manner of SCAN's third step, Van Gansbeke
et al. 2020, and of DEC-DA's augmented refinement, Guo et al. 2018).

An image counts as sure when at least `agreement` of its `n_neighbors` nearest latents
(Euclidean, on the L2-normalised latents) share its cluster: the start run's errors sit
mostly on the borders between clusters, where the neighbours disagree. The classifier
sees each sure image once per epoch, freshly distorted (rotation, shift, zoom), under a
cross-entropy weighted so that every cluster counts the same. It then labels every
image, the unsure ones included, from what it learnt on the sure ones: that is where it
mends the start run's borders. With `runs` > 1, as many classifiers train from the same
start, each from the trained model and seeded apart, and their probabilities are averaged:
one run's labels vary with its seed by about as much as self-labelling gains.

Keras 3 only: runs on the TensorFlow and the JAX backends (and on torch, through `fit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
from keras import layers
from sklearn.neighbors import NearestNeighbors

from aeclust.cluster.runs import run_seeds
from aeclust.config import SelfLabelParams
from aeclust.data.augment import random_affine
from aeclust.nets.callbacks import Progress
from aeclust.nets.encoding import encode_latents, predict
from aeclust.nets.runners import FusedAdam, batch_runner
from aeclust.nets.training import make_deterministic

PREDICT_BATCH = 1000
HEAD = "selflabel_head"
MEAN = "selflabel_mean"  # the averaging layer of several classifiers


def sure_images(latents: np.ndarray, cluster_ids: np.ndarray, n_neighbors: int, agreement: float):
    """The mask (n,) bool of the images at least `agreement` of whose `n_neighbors` nearest
    other latents (Euclidean on the L2-normalised latents) share their cluster id."""
    flat = latents.reshape(len(latents), -1).astype(np.float64)
    flat = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
    k = min(n_neighbors, len(flat) - 1)
    _, index = NearestNeighbors(n_neighbors=k + 1).fit(flat).kneighbors(flat)
    others = index[:, 1:]  # the first is the image itself (or a duplicate of it)
    shared = (cluster_ids[others] == cluster_ids[:, None]).mean(axis=1)
    return shared >= agreement


def balanced_weights(labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per-row weights (n,) float32 under which every cluster present weighs the same and
    the weights average 1."""
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    present = np.count_nonzero(counts)
    per_cluster = len(labels) / (present * np.maximum(counts, 1.0))
    return per_cluster[labels].astype(np.float32)


def _weighted_targets(batch, extra_batch):
    """A batch's targets: its rows of the weighted one-hot labels (the runner's `extra`);
    categorical cross-entropy against w * one-hot is w times the plain one."""
    return extra_batch


def build_classifier(network: keras.Model, n_clusters: int, name: str = "selflabel") -> keras.Model:
    """`network`'s input up to its "latent" layer (the same layers, so the same weights),
    flattened, then a softmax Dense head over `n_clusters`: image -> probabilities. Its
    "latent" layer stays reachable (`aeclust.nets.models.encoder_of`)."""
    latent = network.get_layer("latent").output
    if len(latent.shape) > 2:
        latent = layers.Flatten(name="selflabel_flatten")(latent)
    probabilities = layers.Dense(n_clusters, activation="softmax", name=HEAD)(latent)
    return keras.Model(network.inputs, probabilities, name=name)


def average_classifiers(classifiers: list[keras.Model]) -> keras.Model:
    """One model, image -> the mean of `classifiers`' probabilities (nested models named
    selflabel_1, ...). `encoder_of` finds the first one's "latent" layer inside it."""
    inputs = keras.Input(shape=classifiers[0].inputs[0].shape[1:], name="image")
    outputs = [classifier(inputs) for classifier in classifiers]
    return keras.Model(inputs, layers.Average(name=MEAN)(outputs), name="selflabel")


@dataclass
class SelfLabelling:
    cluster_ids: np.ndarray  # (n,) the classifier's most likely cluster of every image
    sure: np.ndarray  # (n,) bool: the images it trained on
    latents: np.ndarray  # (n, d) the trained encoder's latents
    assigner: keras.Model  # image -> probabilities
    history: list[float] = field(default_factory=list)  # mean loss per epoch
    # runs > 1: per classifier, the share of images whose own cluster is not the averaged one
    run_changed: list[float] = field(default_factory=list)


def self_label(
    network: keras.Model,
    inputs: np.ndarray,
    start_ids: np.ndarray,
    latents: np.ndarray,
    spec: SelfLabelParams,
    n_clusters: int,
    seed: int,
    run: str = "selflabel",
) -> SelfLabelling:
    """Train `network` (a trained model, changed in place) with a softmax head on the sure
    images of the start run `start_ids` (`sure_images` over the model's `latents`), each
    epoch on fresh distortions of them (`spec.distort`), in a seeded order; then label
    every row of `inputs` (the model's input shape and scaling). With `spec.runs` > 1,
    further copies of `network` as it came train the same way under the seeds `run_seeds`
    draws, and every image takes the cluster of the mean of their probabilities; the
    latents and the history are the first run's (the one seeded `seed`). Progress lines
    name the run `run`."""
    sure = sure_images(latents, start_ids, spec.n_neighbors, spec.agreement)
    if not sure.any():
        sure = np.ones(len(inputs), dtype=bool)  # nothing is sure: train on every image
    rows = np.flatnonzero(sure)
    labels = start_ids[rows].astype(np.int64)
    trained = network.get_weights() if spec.runs > 1 else None
    classifiers, history = [], []
    for index, run_seed in enumerate(run_seeds(seed, spec.runs)):
        copy = network
        if index:
            # Cloned before seeding, so that each run's head starts as a single run's would.
            copy = keras.models.clone_model(network)
            copy.set_weights(trained)
        name = "selflabel" if spec.runs == 1 else f"selflabel_{index + 1}"
        label = run if spec.runs == 1 else f"{run} ({index + 1}/{spec.runs})"
        classifier, losses = _train_classifier(
            copy, inputs[rows], labels, spec, n_clusters, run_seed, name, label
        )
        classifiers.append(classifier)
        history = history or losses

    assigner = classifiers[0] if len(classifiers) == 1 else average_classifiers(classifiers)
    probabilities = np.asarray(predict(assigner, inputs, PREDICT_BATCH))
    cluster_ids = probabilities.argmax(axis=1).astype(np.int64)
    run_changed = []
    if len(classifiers) > 1:
        for classifier in classifiers:
            own = np.asarray(predict(classifier, inputs, PREDICT_BATCH)).argmax(axis=1)
            run_changed.append(round(float(np.mean(own != cluster_ids)), 4))
    return SelfLabelling(
        cluster_ids=cluster_ids,
        sure=sure,
        latents=encode_latents(classifiers[0], inputs, PREDICT_BATCH),
        assigner=assigner,
        history=history,
        run_changed=run_changed,
    )


def _train_classifier(
    network: keras.Model,
    sure_inputs: np.ndarray,
    labels: np.ndarray,
    spec: SelfLabelParams,
    n_clusters: int,
    seed: int,
    name: str,
    run: str,
) -> tuple[keras.Model, list[float]]:
    """`network` with a softmax head (`build_classifier`, named `name`), trained `spec.epochs`
    passes on fresh distortions of `sure_inputs` to predict `labels`, under the balanced
    weights, in an order seeded by `seed`; and its mean loss per pass."""
    make_deterministic(seed)
    weights = balanced_weights(labels, n_clusters)
    classifier = build_classifier(network, n_clusters, name)
    classifier.compile(
        optimizer=FusedAdam(learning_rate=spec.learning_rate), loss="categorical_crossentropy"
    )
    targets = (np.eye(n_clusters, dtype=np.float32)[labels] * weights[:, None]).astype(np.float32)
    # The same batches as fit, without its per-call set-up (see BatchRunner); None on torch.
    runner = batch_runner(classifier, sure_inputs, spec.batch_size, targets=_weighted_targets)
    rng = np.random.default_rng(seed)
    history = []
    # Runners hold the inputs on the backend, which distorts them there, compiled (70000
    # images: ~0.2 s a pass against ~8 s in NumPy, aeclust.data.augment).
    source, xp = (sure_inputs, np) if runner is None else (runner.data, runner.xp)
    progress = Progress(run, spec.epochs)
    progress.on_train_begin()
    for epoch in range(spec.epochs):
        order = rng.permutation(len(labels))
        distorted = random_affine(source, rng, spec.distort, xp=xp)
        if runner is not None:
            loss = runner(order, targets, inputs=distorted)
        else:
            fitted = classifier.fit(
                distorted[order],
                targets[order],
                batch_size=spec.batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
            )
            loss = fitted.history["loss"][-1]
        history.append(round(float(loss), 6))
        progress.on_epoch_end(epoch, {"loss": history[-1]})
    return classifier, history
