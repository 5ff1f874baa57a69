"""Keras callbacks of the train stage: the loss to dvclive, and progress lines."""

from __future__ import annotations

import logging
import time

import keras

log = logging.getLogger("aeclust.nets.training")


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
