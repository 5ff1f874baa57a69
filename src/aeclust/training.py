"""Training an autoencoder: deterministic seeding, loss logging, progress.

Only this module, `models` and `encoding` import Keras.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from aeclust.augment import random_affine
from aeclust.config import AugmentParams

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


@keras.saving.register_keras_serializable(package="aeclust")
class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam. On TensorFlow each variable's update is TensorFlow's fused Adam kernel
    (`ResourceApplyAdam`, the update tf.keras 2's Adam ran): one pass over the variable,
    its two moments and its gradient, where Keras' update runs ~10 elementwise ops, each
    reading and writing whole tensors (~7 ms of op time per conv training step for the
    1.1 million weights of its Dense 5760 -> 196 layer, 2 cores).

    The same rule, constants and bias correction: m += (g - m)(1 - beta_1),
    v += (g^2 - v)(1 - beta_2), var -= alpha m / (sqrt(v) + epsilon) with
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t). The kernel forms 1 - beta_1 and
    1 - beta_2 in float32 where Keras rounds them from float64, so the weights agree with
    Keras' Adam to float32 rounding, not bit for bit. Other backends (where XLA fuses
    Keras' update), amsgrad and sparse gradients: Keras' own update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        if isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=ops.power(beta_1, step),
            beta2_power=ops.power(beta_2, step),
            lr=ops.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=ops.cast(self.epsilon, dtype),
            grad=ops.cast(gradient, dtype),
        )


class LiveLogger(keras.callbacks.Callback):
    """Log each epoch's loss to a `dvclive.Live` (backend-neutral, unlike
    dvclive.keras.DVCLiveCallback, which subclasses tf.keras's Callback).

    Each epoch's row goes to the metrics file at once. The rest of dvclive's `next_step`
    (the summary JSON, the signal to DVC's VS Code extension, the data for Studio) runs at
    most every `sync_every_s` seconds and after the last epoch: it reads the whole metrics
    file back every time, ~1.7 ms a step at 500 epochs (0.85 s of a 500-epoch train stage),
    growing with the square of the epochs. The files it leaves are the same."""

    def __init__(self, live, sync_every_s: float = 10.0) -> None:
        super().__init__()
        self.live, self.sync_every_s = live, sync_every_s
        self.last_sync = time.perf_counter()
        self.unsynced = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self.live.log_metric(name, float(value))
        now = time.perf_counter()
        if now - self.last_sync >= self.sync_every_s:
            self.live.next_step()
            self.last_sync, self.unsynced = now, False
        else:
            self.live.step += 1
            self.unsynced = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.unsynced:  # the last epoch's step, as next_step would have written it
            self.live.step -= 1
            self.live.next_step()
            self.unsynced = False


class Progress(keras.callbacks.Callback):
    """One log line at most every `every_s` seconds (and at the last epoch):
    epoch, loss, elapsed time and an estimate of the time left."""

    def __init__(self, name: str, epochs: int, every_s: float = 10.0, first_epoch: int = 0):
        super().__init__()
        self.name, self.epochs, self.every_s = name, epochs, every_s
        self.first_epoch = first_epoch
        self.start = self.last = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not self.start:  # fit() runs once per chunk; time the whole run
            self.start = self.last = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        done = epoch + 1
        if now - self.last < self.every_s and done not in (self.first_epoch + 1, self.epochs):
            return
        self.last = now
        elapsed = now - self.start
        per_epoch = elapsed / max(done - self.first_epoch, 1)
        left = per_epoch * (self.epochs - done)
        log.info(
            "train %s: epoch %d/%d  loss %.5f  %.0fs elapsed, ~%.0fs left",
            self.name,
            done,
            self.epochs,
            (logs or {}).get("loss", float("nan")),
            elapsed,
            left,
        )


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


def _own_inputs(batch, extra_batch):
    return batch


class BatchRunner:
    """TensorFlow: one compiled call runs a whole sequence of batches, each through the
    model's own `train_step` (the step `fit` runs: forward pass, compiled loss, gradients,
    optimizer), on inputs held as one tensor and gathered in the given order.

    `fit` builds a tf.data pipeline and an iterator on every call and runs each batch as a
    separate call: for the study's 10 batches per epoch that cost ~0.15 s of a ~0.6 s
    conv epoch and ~40% of a dense epoch on 2 cores.

    `targets(batch, extra_batch)` gives the batch's training targets from its inputs and
    the same rows of the `extra` array passed to the call (default: the inputs
    themselves, an autoencoder's targets).
    """

    def __init__(
        self,
        model: keras.Model,
        inputs: np.ndarray,
        batch_size: int,
        targets: Callable = _own_inputs,
    ) -> None:
        import tensorflow as tf
        import tensorflow.experimental.numpy as tnp

        self.model = model
        self.data = tf.constant(inputs)
        self.xp = tnp  # the array module of `data` (compiled distortions: aeclust.augment)
        if not model.optimizer.built:  # its variables cannot be created inside the loop
            model.optimizer.build(model.trainable_variables)

        def step(data, indices, extra):
            batch = tf.gather(data, indices)
            extra_batch = None if extra is None else tf.gather(extra, indices)
            model.train_step((batch, targets(batch, extra_batch)))

        @tf.function
        def run(data, order, extra):
            full, rest = divmod(order.shape[0], batch_size)
            for i in tf.range(full):
                step(data, order[i * batch_size : (i + 1) * batch_size], extra)
            if rest:  # the last, smaller batch, as fit has it
                step(data, order[full * batch_size :], extra)

        self.run = run

    def __call__(
        self, order: np.ndarray, extra: np.ndarray | None = None, inputs: np.ndarray | None = None
    ) -> float:
        """Train on the batches of `order` (row indices, in turn); return fit's loss for
        them: the mean of the batch losses, weighted by batch size. `inputs`, if given,
        replaces the inputs for this call (same shape: an augmented copy)."""
        import tensorflow as tf

        data = self.data if inputs is None else tf.convert_to_tensor(inputs)
        self.model.reset_metrics()
        self.run(data, np.asarray(order, dtype=np.int32), extra)
        return float(self.model.get_metrics_result()["loss"])


def _jax_steps(model: keras.Model, batch_size: int, targets: Callable) -> tuple[Callable, Callable]:
    """JAX: the pure functions `step(state, data, indices, extra)` (one batch) and
    `run(state, data, order, extra)` (the batches of `order` in turn: a `lax.scan` over
    the full ones, then the last, smaller one), each returning (new state, the loss
    tracker's result after its last batch) through Keras' stateless `train_step`. `state`
    is `_jax_state`'s tuple of variable values."""
    import jax
    import jax.numpy as jnp

    def step(state, data, indices, extra):
        batch = jnp.take(data, indices, axis=0)
        extra_batch = None if extra is None else jnp.take(extra, indices, axis=0)
        logs, state = model.train_step(state, (batch, targets(batch, extra_batch)))
        return state, logs["loss"]

    def run(state, data, order, extra):
        full, rest = divmod(order.shape[0], batch_size)
        batches = order[: full * batch_size].reshape(full, batch_size)

        def scan_step(carry, indices):
            return step(carry, data, indices, extra)

        loss = None  # (one of the two runs: order is never empty)
        if full:
            state, losses = jax.lax.scan(scan_step, state, batches)
            loss = losses[-1]
        if rest:  # the last, smaller batch, as fit has it
            state, loss = step(state, data, order[full * batch_size :], extra)
        return state, loss

    return step, run


def _jax_variables(model: keras.Model) -> tuple[list, list, list, list]:
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def _jax_state(model: keras.Model) -> tuple[list, ...]:
    """The values of `model`'s variables, in the grouping of Keras' stateless `train_step`."""
    return tuple([v.value for v in group] for group in _jax_variables(model))


def _set_jax_state(model: keras.Model, state: tuple[list, ...]) -> None:
    for group, values in zip(_jax_variables(model), state, strict=True):
        for variable, value in zip(group, values, strict=True):
            variable.assign(value)


def _build_for_steps(model: keras.Model, inputs, targets) -> None:
    """Create the loss' metrics and the optimizer's variables (from one batch), which the
    stateless `train_step` reads from its state."""
    model._symbolic_build(data_batch=(inputs, targets))
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


class JaxBatchRunner:
    """JAX: what `BatchRunner` does on TensorFlow, through Keras' stateless
    `train_step(state, batch)` on inputs held on the device. The model's variables are read
    before a call and written back after it; in between, the state stays on the device.

    `scan` (the default off the CPU): one jitted call runs the whole sequence of batches, a
    `lax.scan` over the full batches, then the last, smaller one. `fit` on JAX runs one
    jitted call per batch from a Python iterator, which on a GPU costs more than the small
    networks' batches themselves. On the CPU, XLA ran the conv net's steps ~1.3x slower
    inside the scan's loop (2 cores, 2026-11-29), so there each batch is its own jitted
    call, as in `fit`. Both compute the same steps (tested). Same interface as `BatchRunner`.
    """

    def __init__(
        self,
        model: keras.Model,
        inputs: np.ndarray,
        batch_size: int,
        targets: Callable = _own_inputs,
        scan: bool | None = None,
    ) -> None:
        import jax
        import jax.numpy as jnp

        self.model, self.targets, self.batch_size = model, targets, batch_size
        self.scan = jax.default_backend() != "cpu" if scan is None else scan
        self.data = jnp.asarray(inputs)
        self.xp = jnp  # the array module of `data`
        self.built = False
        self.step, self.run = _jax_steps(model, batch_size, targets)
        self.step, self.run = jax.jit(self.step), jax.jit(self.run)

    def __call__(
        self, order: np.ndarray, extra: np.ndarray | None = None, inputs: np.ndarray | None = None
    ) -> float:
        """As `BatchRunner.__call__`."""
        import jax.numpy as jnp

        order = np.asarray(order, dtype=np.int32)
        if not self.built:
            first = np.asarray(self.data[order[:1]])
            first_extra = None if extra is None else extra[order[:1]]
            _build_for_steps(self.model, first, self.targets(first, first_extra))
            self.built = True
        data = self.data if inputs is None else jnp.asarray(inputs)
        extra = None if extra is None else jnp.asarray(extra)
        self.model.reset_metrics()
        state = _jax_state(self.model)
        if self.scan:
            state, _ = self.run(state, data, order, extra)
        else:
            for begin in range(0, len(order), self.batch_size):
                state, _ = self.step(state, data, order[begin : begin + self.batch_size], extra)
        _set_jax_state(self.model, state)
        return float(self.model.get_metrics_result()["loss"])


def batch_runner(
    model: keras.Model, inputs: np.ndarray, batch_size: int, targets: Callable = _own_inputs
) -> BatchRunner | JaxBatchRunner | None:
    """The backend's runner of compiled batch sequences, or None where there is none
    (torch: callers use `fit` on the same batches)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return BatchRunner(model, inputs, batch_size, targets)
    if backend == "jax":
        return JaxBatchRunner(model, inputs, batch_size, targets)
    return None


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
    (`aeclust.augment.random_affine`, drawn from `augment_rng`), each image its own target.
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
        _build_for_steps(model, x[:1], x[:1])
    _, run = _jax_steps(models[0], batch_size, _own_inputs)

    def epoch(state, data, order):  # reset the loss tracker, as `reset_metrics` does
        state = (*state[:3], [jnp.zeros_like(v) for v in state[3]])
        return run(state, data, order, None)

    together = jax.jit(jax.vmap(epoch))
    state = jax.tree.map(lambda *values: jnp.stack(values), *map(_jax_state, models))
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
        _set_jax_state(model, jax.tree.map(lambda values, i=i: values[i], state))
    return np.asarray(losses, dtype=np.float64).T.tolist()
