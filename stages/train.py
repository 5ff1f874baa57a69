"""train@<model>: build the model named in params.yaml, train it, save models/<model>.keras.

Usage: python stages/train.py <model>

A checkpoint is kept in .checkpoints/<model>/ while training runs (at most every
AECLUST_CHECKPOINT_SECONDS seconds, default 30); after a kill or Ctrl-C the next run
resumes from it and ends with the same model as an uninterrupted run.
"""

import os

from aeclust.config import check_geometry, load_params, select_model
from aeclust.imports import bulk_imports, import_keras
from aeclust.io import paths
from aeclust.io.storage import load_array, save_json
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    name, spec = select_model(params, argv)
    images = load_array(paths.standardized(spec.scaling))
    check_geometry(name, spec, images.shape[1])
    checkpoint_seconds = float(os.environ.get("AECLUST_CHECKPOINT_SECONDS", "30"))

    # Only now pay for the deep-learning framework.
    with bulk_imports():
        import_keras(params.backend)
        from aeclust.nets.fit import fit_model

    timing = fit_model(
        name,
        spec,
        images,
        params.seed,
        model_path=paths.model_file(name),
        checkpoint_dir=paths.checkpoint(name),
        log_dir=paths.train_log(name),
        checkpoint_seconds=checkpoint_seconds,
    )
    save_json(paths.train_timing(name), timing)


if __name__ == "__main__":
    run_stage("train", main)
