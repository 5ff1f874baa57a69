"""Training a model: deterministic seeding, resumable chunks of epochs, the training loop."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import keras
import numpy as np

from aeclust.config import AugmentParams
from aeclust.data.augment import random_affine
from aeclust.nets.runners import (
    FusedAdam,
    batch_runner,
    build_for_steps,
    jax_state,
    jax_steps,
    own_inputs,
    set_jax_state,
)

log = logging.getLogger(__name__)

# Training runs in chunks of this many epochs, each chunk's shuffle orders (and
# distortions) drawn from (seed, first epoch of the chunk) alone: a run resumed from a
# checkpoint taken at a chunk's end continues exactly as the uninterrupted run would have.
CHUNK_EPOCHS = 10


def chunk_seed(seed: int, first_epoch: int) -> int:
    return (seed * 1_000_003 + first_epoch) % 2**32


def make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic ops,
    so that the same params and seed on the same machine give the same model."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _seed_generators(layer) -> list:
    """The `keras.random.SeedGenerator`s of `layer` and of the layers inside it, in order
    (a contrastive trainer's random views; an autoencoder has none)."""
    found = [v for v in vars(layer).values() if isinstance(v, keras.random.SeedGenerator)]
    for inner in getattr(layer, "layers", []):
        found += _seed_generators(inner)
    return found


class _EpochSeeds(keras.callbacks.Callback):
    """At each epoch's start, set the state of every random layer inside the model from
    (seed, epoch, the layer's place) alone, as `epoch_orders` draws the epoch's order: a run
    resumed from a checkpoint draws the same views as the uninterrupted run, whatever
    state the checkpoint held."""

    def __init__(self, generators: list, seed: int) -> None:
        super().__init__()
        self.generators, self.seed = generators, seed

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        for place, generator in enumerate(self.generators):
            state = np.random.default_rng([chunk_seed(self.seed, epoch), 2, place])
            values = state.integers(0, 2**31 - 1, size=2)
            generator.state.assign(values.astype(str(generator.state.dtype)))


def augment_rng(seed: int, first_epoch: int) -> np.random.Generator:
    """The generator of the augmentations of the chunk that starts at `first_epoch`: its own
    stream, so that switching augmentation on leaves the epoch orders as they were."""
    return np.random.default_rng([chunk_seed(seed, first_epoch), 1])


def epoch_orders(seed: int, first_epoch: int, epochs: int, n: int) -> list[np.ndarray]:
    """The shuffled sample order of each epoch of the chunk that starts at `first_epoch`
    (NumPy's generator seeded from `chunk_seed`, so it depends on seed and epoch alone)."""
    rng = np.random.default_rng(chunk_seed(seed, first_epoch))
    return [rng.permutation(n).astype(np.int32) for _ in range(epochs)]


def train_autoencoder(
    model: keras.Model,
    inputs: np.ndarray,
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    seed: int,
    callbacks: list[keras.callbacks.Callback] = (),
    first_epoch: int = 0,
    on_chunk_end: Callable[[int, list[float]], None] | None = None,
    augment: AugmentParams | None = None,
) -> list[float]:
    """Fit `model` to reproduce `inputs` (MSE, `FusedAdam`) from `first_epoch` (0, or the end of
    a chunk when resuming) up to `epochs`; return the loss of each epoch run.

    On TensorFlow and JAX each epoch is one compiled call over the resident inputs,
    shuffled by `epoch_orders` (see `BatchRunner`, `JaxBatchRunner`); on torch it is Keras'
    `fit`.
    With `augment`, each epoch trains on a fresh distorted copy of the inputs
    (`aeclust.data.augment.random_affine`, drawn from `augment_rng`), each image its own target.
    `on_chunk_end(epochs_done, losses_so_far)` is called after each chunk (for checkpoints).
    A model with random layers (a contrastive trainer's views) has their state set at each
    epoch's start from (seed, epoch) alone (`_EpochSeeds`). `model`, if compiled already,
    keeps its own loss and optimizer (a contrastive trainer: NT-Xent).
    """
    if first_epoch % CHUNK_EPOCHS and first_epoch != epochs:
        raise ValueError(f"first_epoch={first_epoch}: must be a multiple of {CHUNK_EPOCHS}")
    if not model.compiled:
        model.compile(optimizer=FusedAdam(learning_rate=learning_rate), loss="mse")
    generators = _seed_generators(model)
    if generators:
        callbacks = [_EpochSeeds(generators, seed), *callbacks]
    runner = None
    if first_epoch < epochs:
        runner = batch_runner(model, inputs, batch_size)
    if runner is not None:
        hooks = keras.callbacks.CallbackList(list(callbacks), model=model)
        hooks.on_train_begin()
    losses: list[float] = []
    for start in range(first_epoch, epochs, CHUNK_EPOCHS):
        stop = min(start + CHUNK_EPOCHS, epochs)
        distort = None
        if augment is not None:
            # Runners hold the inputs on the backend, which distorts them there, compiled.
            source, xp = (inputs, np) if runner is None else (runner.data, runner.xp)
            distort = functools.partial(
                random_affine, source, augment_rng(seed, start), augment, xp=xp
            )
        if runner is None:  # fit: the chunk in one call, or each epoch on its own copy
            # fit shuffles with the backend's random state. The runners take their orders
            # from `epoch_orders` and draw nothing from it: reseeding it there would only
            # cost TensorFlow's kernel cache (`tf.random.set_seed` clears it), ~0.1 s
            # (ffn) to ~0.2 s (cnn) at each chunk's first call, 2 cores.
            keras.utils.set_random_seed(chunk_seed(seed, start))
            spans = [(start, stop)] if distort is None else [(e, e + 1) for e in range(start, stop)]
            for first, last in spans:
                x = inputs if distort is None else distort()
                history = model.fit(
                    x,
                    x,
                    epochs=last,
                    initial_epoch=first,
                    batch_size=batch_size,
                    shuffle=True,
                    verbose=0,
                    callbacks=list(callbacks),
                )
                losses += [float(v) for v in history.history["loss"]]
        else:
            orders = epoch_orders(seed, start, stop - start, len(inputs))
            for epoch, order in enumerate(orders, start):
                hooks.on_epoch_begin(epoch)
                losses.append(runner(order, inputs=None if distort is None else distort()))
                hooks.on_epoch_end(epoch, {"loss": losses[-1]})
        if on_chunk_end is not None:
            on_chunk_end(stop, losses)
    if runner is not None:
        hooks.on_train_end()
    return losses


def train_autoencoders_together(
    models: list[keras.Model],
    inputs: list[np.ndarray],
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    seeds: list[int],
    augment: AugmentParams | None = None,
    log_every: int = 0,
) -> list[list[float]]:
    """JAX only: train `models[i]` on `inputs[i]` with `seeds[i]`, for every i at once;
    return each model's loss per epoch.

    Each model takes the steps `train_autoencoder(models[i], inputs[i], seed=seeds[i], ...)`
    would (same epoch orders, same `FusedAdam`, with `augment` the same distortions, made on
    the device), but the models, which must share one architecture, train in one program
    vmapped over them: a GPU that a small network's steps leave mostly idle runs several
    at once (H200: the study's cnn, 5 seeds of 500 epochs in 17.3 s, where one seed's
    epochs alone take ~9 s). Equal to training each alone to float32 rounding (tested),
    not bit for bit: XLA batches the products. `log_every` > 0 logs the losses and the
    seconds so far every that many epochs.
    """
    if keras.backend.backend() != "jax":
        raise ValueError(
            f"train_autoencoders_together: needs the JAX backend, not {keras.backend.backend()}"
        )
    if not len(models) == len(inputs) == len(seeds) or not models:
        raise ValueError("train_autoencoders_together: one model, inputs and seed each")
    if len({x.shape for x in inputs}) != 1:
        raise ValueError("train_autoencoders_together: every model's inputs must be one shape")
    import jax
    import jax.numpy as jnp

    for model, x in zip(models, inputs, strict=True):
        if not model.compiled:
            model.compile(optimizer=FusedAdam(learning_rate=learning_rate), loss="mse")
        build_for_steps(model, x[:1], x[:1])
    _, run = jax_steps(models[0], batch_size, own_inputs)

    def epoch(state, data, order):  # reset the loss tracker, as `reset_metrics` does
        state = (*state[:3], [jnp.zeros_like(v) for v in state[3]])
        return run(state, data, order, None)

    together = jax.jit(jax.vmap(epoch))
    state = jax.tree.map(lambda *values: jnp.stack(values), *map(jax_state, models))
    data = jnp.asarray(np.stack(inputs))
    n = len(inputs[0])
    losses = []
    began = time.perf_counter()
    for start in range(0, epochs, CHUNK_EPOCHS):
        count = min(CHUNK_EPOCHS, epochs - start)
        orders = np.stack([epoch_orders(seed, start, count, n) for seed in seeds], axis=1)
        distortions = [augment_rng(seed, start) for seed in seeds]
        for order in orders:  # (models, n) per epoch
            epoch_data = data
            if augment is not None:
                epoch_data = jnp.stack(
                    [
                        random_affine(data[i], rng, augment, xp=jnp)
                        for i, rng in enumerate(distortions)
                    ]
                )
            state, loss = together(state, epoch_data, jnp.asarray(order))
            losses.append(loss)
            if log_every and len(losses) % log_every == 0:
                log.info(
                    "epoch %d, %.1f s: losses %s",
                    len(losses),
                    time.perf_counter() - began,
                    np.round(np.asarray(loss), 5),  # waits for the epoch's end
                )
    for i, model in enumerate(models):
        set_jax_state(model, jax.tree.map(lambda values, i=i: values[i], state))
    return np.asarray(losses, dtype=np.float64).T.tolist()
