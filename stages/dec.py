"""dec@<model>: DEC/IDEC refinement of the trained model (a clustering layer on its latent,
initialised by KMeans, trained towards a sharpened target); cluster ids, the refined
latents and scores against the digit labels.

Usage: python stages/dec.py <model>

A contrastive model has no decoder: its refinement is DEC's (methods.dec.reconstruction
does not apply to it).

With methods.dec.enabled false it writes only data/methods/<model>+dec/skipped.json
(without loading Keras).
"""

import dataclasses
import time

from aeclust.cluster import runs as methods
from aeclust.config import load_params, run_name, select_model
from aeclust.imports import bulk_imports, import_keras
from aeclust.io import paths
from aeclust.io.storage import load_array
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    name, model_spec = select_model(params, argv)
    spec = params.methods.dec
    out = methods.run_dir(run_name(name, "dec"))
    if not spec.enabled:
        methods.write_skipped(out, "methods.dec.enabled")
        return
    images = load_array(paths.standardized(model_spec.scaling))
    digit_labels = load_array(paths.PREPARED_LABELS)

    # Only now pay for the deep-learning framework.
    with bulk_imports():
        import_keras(params.backend)
        from aeclust.cluster.dec import refine_model
        from aeclust.cluster.trained import save_trained_run
        from aeclust.nets.models import load_model, model_inputs

    autoencoder = load_model(paths.model_file(name))
    start = time.perf_counter()
    result, augment = refine_model(
        autoencoder,
        model_inputs(images, model_spec),
        spec,
        model_spec,
        params.methods.n_clusters,
        params.seed,
    )
    seconds = time.perf_counter() - start
    save_trained_run(
        out,
        result,
        digit_labels,
        params.seed,
        methods.REFINEMENT,
        {
            "iterations": result.iterations,
            "converged": result.converged,
            "augment": None if augment is None else dataclasses.asdict(augment),
            "history": result.history,
        },
        seconds,
    )


if __name__ == "__main__":
    run_stage("dec", main)
