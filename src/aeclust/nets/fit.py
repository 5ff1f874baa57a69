"""The train stage's work: build (or resume) a model, train it with dvclive logging and
checkpoints, and return what is saved.

A checkpoint is kept in `checkpoint_dir` while training runs (at most every
`checkpoint_seconds`, at the end of a chunk of epochs); after a kill or Ctrl-C the next run
resumes from it and ends with the same model as an uninterrupted run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import keras
import numpy as np
from dvclive import Live

from aeclust.config import ContrastiveParams, ModelParams
from aeclust.nets.callbacks import LiveLogger, Progress
from aeclust.nets.checkpoints import Checkpoint, fingerprint
from aeclust.nets.contrastive import build_trainer, net_of
from aeclust.nets.models import build_autoencoder, model_inputs, save_model
from aeclust.nets.training import make_deterministic, train_autoencoder

log = logging.getLogger(__name__)


def fit_model(
    name: str,
    spec: ModelParams,
    images: np.ndarray,
    seed: int,
    model_path: Path,
    checkpoint_dir: Path,
    log_dir: Path,
    checkpoint_seconds: float = 30.0,
) -> dict:
    """Train model `name` on (n, side, side) scaled `images` and save it to `model_path` (a
    contrastive entry's network alone, image -> projection with its "latent" layer); the
    per-epoch loss goes to a dvclive log in `log_dir`. Returns the timing: seconds,
    seconds per epoch, epochs, backend. The checkpoint goes only once the model is saved."""
    contrastive = isinstance(spec, ContrastiveParams)
    inputs = model_inputs(images, spec)
    make_deterministic(seed)
    checkpoint = Checkpoint(checkpoint_dir, fingerprint(spec, seed, inputs))
    resumed = checkpoint.load()
    if resumed is None:
        model, done, losses, spent = build_autoencoder(spec, images.shape[1]), 0, [], 0.0
        if contrastive:  # trained inside its two-view trainer (compiled with its loss)
            model = build_trainer(model, spec)
    else:
        model, done = resumed.model, resumed.epochs_done
        losses, spent = resumed.losses, resumed.seconds
        log.info("resuming %s from its checkpoint after epoch %d of %d", name, done, spec.epochs)

    start = time.perf_counter()
    last_save = start

    def save_checkpoint(epochs_done: int, new_losses: list[float]) -> None:
        nonlocal last_save
        now = time.perf_counter()
        if epochs_done < spec.epochs and now - last_save >= checkpoint_seconds:
            checkpoint.save(model, epochs_done, losses + new_losses, spent + now - start)
            last_save = time.perf_counter()

    with Live(str(log_dir), dvcyaml=False, save_dvc_exp=False) as live:
        for loss in losses:  # the epochs a resumed run already has
            live.log_metric("loss", loss)
            live.next_step()
        train_autoencoder(
            model,
            inputs,
            learning_rate=spec.learning_rate,
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            seed=seed,
            first_epoch=done,
            on_chunk_end=save_checkpoint,
            augment=spec.augment,
            callbacks=[LiveLogger(live), Progress(name, spec.epochs, first_epoch=done)],
        )
    seconds = spent + time.perf_counter() - start
    timing = {
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(seconds / spec.epochs, 4),
        "epochs": spec.epochs,
        "backend": keras.backend.backend(),
    }
    save_model(net_of(model) if contrastive else model, model_path)
    checkpoint.clear()
    return timing
