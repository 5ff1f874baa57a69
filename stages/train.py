"""train@<model>: build the model named in params.yaml, train it, save models/<model>.keras.

A contrastive entry trains inside its two-view trainer (aeclust.contrastive); what is saved
is its network alone (image -> projection, with its "latent" layer).

Usage: python stages/train.py <model>

A checkpoint is kept in .checkpoints/<model>/ while training runs (at most every
AECLUST_CHECKPOINT_SECONDS seconds, default 30, at the end of a 10-epoch chunk); after
a kill or Ctrl-C, the next run resumes from it and ends with the same model as an
uninterrupted run.
"""

import logging
import os
import time

from aeclust import layout
from aeclust.cli import run_stage
from aeclust.config import ContrastiveParams, check_geometry, load_params, select_model
from aeclust.imports import bulk_imports, import_keras
from aeclust.storage import load_array, save_json

log = logging.getLogger("aeclust.stages.train")


def main(argv: list[str]) -> None:
    params = load_params(layout.PARAMS)
    name, spec = select_model(params, argv)
    images = load_array(layout.standardized(spec.scaling))
    check_geometry(name, spec, images.shape[1])
    contrastive = isinstance(spec, ContrastiveParams)
    checkpoint_seconds = float(os.environ.get("AECLUST_CHECKPOINT_SECONDS", "30"))

    # Only now pay for the deep-learning framework.
    with bulk_imports():
        keras = import_keras()
        from dvclive import Live

        from aeclust.checkpoints import Checkpoint, fingerprint
        from aeclust.contrastive import build_trainer, net_of
        from aeclust.models import build_autoencoder, model_inputs, save_model
        from aeclust.training import LiveLogger, Progress, make_deterministic, train_autoencoder

    inputs = model_inputs(images, spec)
    make_deterministic(params.seed)
    checkpoint = Checkpoint(layout.checkpoint(name), fingerprint(spec, params.seed, inputs))
    resumed = checkpoint.load()
    if resumed is None:
        model, done, losses, spent = build_autoencoder(spec, images.shape[1]), 0, [], 0.0
        if contrastive:  # trained inside its two-view trainer (compiled with its loss)
            model = build_trainer(model, spec)
    else:
        model, done, losses, spent = (
            resumed.model,
            resumed.epochs_done,
            resumed.losses,
            resumed.seconds,
        )
        log.info("resuming %s from its checkpoint after epoch %d of %d", name, done, spec.epochs)

    start = time.perf_counter()
    last_save = start

    def save_checkpoint(epochs_done: int, new_losses: list[float]) -> None:
        nonlocal last_save
        now = time.perf_counter()
        if epochs_done < spec.epochs and now - last_save >= checkpoint_seconds:
            checkpoint.save(model, epochs_done, losses + new_losses, spent + now - start)
            last_save = time.perf_counter()

    with Live(str(layout.train_log(name)), dvcyaml=False, save_dvc_exp=False) as live:
        for loss in losses:  # the epochs a resumed run already has
            live.log_metric("loss", loss)
            live.next_step()
        train_autoencoder(
            model,
            inputs,
            learning_rate=spec.learning_rate,
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            seed=params.seed,
            first_epoch=done,
            on_chunk_end=save_checkpoint,
            augment=spec.augment,
            callbacks=[LiveLogger(live), Progress(name, spec.epochs, first_epoch=done)],
        )
    seconds = spent + time.perf_counter() - start
    save_model(net_of(model) if contrastive else model, layout.model_file(name))
    save_json(
        layout.train_timing(name),
        {
            "train_seconds": round(seconds, 3),
            "seconds_per_epoch": round(seconds / spec.epochs, 4),
            "epochs": spec.epochs,
            "backend": keras.backend.backend(),
        },
    )
    checkpoint.clear()


if __name__ == "__main__":
    run_stage("train", main)
