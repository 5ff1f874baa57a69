"""Training an autoencoder: deterministic seeding, loss logging, progress.

Only this module, `models` and `encoding` import Keras.
"""

from __future__ import annotations

import logging
import time

import keras
import numpy as np

log = logging.getLogger(__name__)


def make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic ops,
    so that the same params and seed on the same machine give the same model."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


class LiveLogger(keras.callbacks.Callback):
    """Log each epoch's loss to a `dvclive.Live` (backend-neutral, unlike
    dvclive.keras.DVCLiveCallback, which subclasses tf.keras's Callback)."""

    def __init__(self, live) -> None:
        super().__init__()
        self.live = live

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self.live.log_metric(name, float(value))
        self.live.next_step()


class Progress(keras.callbacks.Callback):
    """One log line at most every `every_s` seconds (and at the last epoch):
    epoch, loss, elapsed time and an estimate of the time left."""

    def __init__(self, name: str, epochs: int, every_s: float = 10.0, first_epoch: int = 0):
        super().__init__()
        self.name, self.epochs, self.every_s = name, epochs, every_s
        self.first_epoch = first_epoch
        self.start = self.last = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
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


def train_autoencoder(
    model: keras.Model,
    inputs: np.ndarray,
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    callbacks: list[keras.callbacks.Callback] = (),
    initial_epoch: int = 0,
) -> list[float]:
    """Fit `model` to reproduce `inputs` (MSE, Adam) and return the loss of each epoch run."""
    if not model.compiled:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    history = model.fit(
        inputs,
        inputs,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=list(callbacks),
        initial_epoch=initial_epoch,
    )
    return [float(v) for v in history.history.get("loss", [])]
