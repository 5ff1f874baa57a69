"""selflabel@<model>: self-labelling. The model's encoder and a softmax head learn the
clusters of the start run on the same model (methods.selflabel.start: <model>+manifold or
<model>+dec) from the images that run is sure of, each pass on fresh distortions; then
they label every image (with methods.selflabel.runs > 1, several such classifiers, their
probabilities averaged). Cluster ids, the trained encoder's latents, the classifier
(assigner.keras, what `aeclust assign` assigns by), scores and selflabel.json.

Usage: python stages/selflabel.py <model>

With methods.selflabel.enabled false it writes only
data/methods/<model>+selflabel/skipped.json (without loading Keras).
"""

import time

import numpy as np

from aeclust.cluster import runs as methods
from aeclust.config import load_params, run_name, select_model
from aeclust.imports import bulk_imports, import_keras
from aeclust.io import paths
from aeclust.io.storage import load_array
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    name, model_spec = select_model(params, argv)
    spec = params.methods.selflabel
    out = methods.run_dir(run_name(name, "selflabel"))
    if not spec.enabled:
        methods.write_skipped(out, "methods.selflabel.enabled")
        return
    start_run = run_name(name, spec.start)
    start_ids = load_array(methods.run_dir(start_run) / methods.CLUSTER_IDS)
    latents = load_array(paths.encoded(name) / "latents.npy")
    images = load_array(paths.standardized(model_spec.scaling))
    digit_labels = load_array(paths.PREPARED_LABELS)

    # Only now pay for the deep-learning framework.
    with bulk_imports():
        import_keras(params.backend)
        from aeclust.cluster.selflabel import self_label
        from aeclust.cluster.trained import save_trained_run
        from aeclust.nets.models import load_model, model_inputs

    network = load_model(paths.model_file(name))
    start = time.perf_counter()
    result = self_label(
        network,
        model_inputs(images, model_spec),
        start_ids,
        latents,
        spec,
        params.methods.n_clusters,
        params.seed,
        run=run_name(name, "selflabel"),
    )
    seconds = time.perf_counter() - start
    save_trained_run(
        out,
        result,
        digit_labels,
        params.seed,
        methods.SELFLABEL,
        {
            "start": start_run,
            "sure": int(result.sure.sum()),
            "sure_fraction": round(float(result.sure.mean()), 4),
            "changed_from_start": round(float(np.mean(result.cluster_ids != start_ids)), 4),
            "runs": spec.runs,
            "run_changed": result.run_changed,
            "history": result.history,
        },
        seconds,
    )


if __name__ == "__main__":
    run_stage("selflabel", main)
