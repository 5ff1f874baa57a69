"""How a training step runs: Adam with TensorFlow's fused kernel, and batch runners that
run a whole sequence of batches per compiled call (TensorFlow, JAX)."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops


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


def own_inputs(batch, extra_batch):
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
        targets: Callable = own_inputs,
    ) -> None:
        import tensorflow as tf
        import tensorflow.experimental.numpy as tnp

        self.model = model
        self.data = tf.constant(inputs)
        self.xp = tnp  # the array module of `data` (compiled distortions: aeclust.data.augment)
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


def jax_steps(model: keras.Model, batch_size: int, targets: Callable) -> tuple[Callable, Callable]:
    """JAX: the pure functions `step(state, data, indices, extra)` (one batch) and
    `run(state, data, order, extra)` (the batches of `order` in turn: a `lax.scan` over
    the full ones, then the last, smaller one), each returning (new state, the loss
    tracker's result after its last batch) through Keras' stateless `train_step`. `state`
    is `jax_state`'s tuple of variable values."""
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


def jax_variables(model: keras.Model) -> tuple[list, list, list, list]:
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def jax_state(model: keras.Model) -> tuple[list, ...]:
    """The values of `model`'s variables, in the grouping of Keras' stateless `train_step`."""
    return tuple([v.value for v in group] for group in jax_variables(model))


def set_jax_state(model: keras.Model, state: tuple[list, ...]) -> None:
    for group, values in zip(jax_variables(model), state, strict=True):
        for variable, value in zip(group, values, strict=True):
            variable.assign(value)


def build_for_steps(model: keras.Model, inputs, targets) -> None:
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
    inside the scan's loop (2 cores; measured with bench/train_speed.py), so there each
    batch is its own jitted call, as in `fit`. Both compute the same steps (tested). Same interface
    as `BatchRunner`.
    """

    def __init__(
        self,
        model: keras.Model,
        inputs: np.ndarray,
        batch_size: int,
        targets: Callable = own_inputs,
        scan: bool | None = None,
    ) -> None:
        import jax
        import jax.numpy as jnp

        self.model, self.targets, self.batch_size = model, targets, batch_size
        self.scan = jax.default_backend() != "cpu" if scan is None else scan
        self.data = jnp.asarray(inputs)
        self.xp = jnp  # the array module of `data`
        self.built = False
        self.step, self.run = jax_steps(model, batch_size, targets)
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
            build_for_steps(self.model, first, self.targets(first, first_extra))
            self.built = True
        data = self.data if inputs is None else jnp.asarray(inputs)
        extra = None if extra is None else jnp.asarray(extra)
        self.model.reset_metrics()
        state = jax_state(self.model)
        if self.scan:
            state, _ = self.run(state, data, order, extra)
        else:
            for begin in range(0, len(order), self.batch_size):
                state, _ = self.step(state, data, order[begin : begin + self.batch_size], extra)
        set_jax_state(self.model, state)
        return float(self.model.get_metrics_result()["loss"])


def batch_runner(
    model: keras.Model, inputs: np.ndarray, batch_size: int, targets: Callable = own_inputs
) -> BatchRunner | JaxBatchRunner | None:
    """The backend's runner of compiled batch sequences, or None where there is none
    (torch: callers use `fit` on the same batches)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return BatchRunner(model, inputs, batch_size, targets)
    if backend == "jax":
        return JaxBatchRunner(model, inputs, batch_size, targets)
    return None
