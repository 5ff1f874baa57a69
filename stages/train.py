"""train@<model>: build the model named in params.yaml, train it, save models/<model>.keras.

Usage: python stages/train.py <model>
"""

import time

from aeclust import layout
from aeclust.cli import run_stage
from aeclust.config import ConvParams, check_conv_geometry, load_params, select_model
from aeclust.storage import atomic_path, load_array, save_json


def main(argv: list[str]) -> None:
    params = load_params(layout.PARAMS)
    name, spec = select_model(params, argv)
    images = load_array(layout.standardized(spec.scaling))
    if isinstance(spec, ConvParams):
        check_conv_geometry(name, spec, images.shape[1])

    # Only now pay for the deep-learning framework.
    import keras
    from dvclive import Live

    from aeclust.models import build_autoencoder, model_inputs
    from aeclust.training import LiveLogger, Progress, make_deterministic, train_autoencoder

    make_deterministic(params.seed)
    model = build_autoencoder(spec, images.shape[1])
    inputs = model_inputs(images, spec)
    with Live(str(layout.train_log(name)), dvcyaml=False, save_dvc_exp=False) as live:
        start = time.perf_counter()
        train_autoencoder(
            model,
            inputs,
            learning_rate=spec.learning_rate,
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            callbacks=[LiveLogger(live), Progress(name, spec.epochs)],
        )
        seconds = time.perf_counter() - start
    with atomic_path(layout.model_file(name)) as tmp:
        model.save(tmp)
    save_json(
        layout.train_timing(name),
        {
            "train_seconds": round(seconds, 3),
            "seconds_per_epoch": round(seconds / spec.epochs, 4),
            "epochs": spec.epochs,
            "backend": keras.backend.backend(),
        },
    )


if __name__ == "__main__":
    run_stage("train", main)
