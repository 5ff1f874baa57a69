"""manifold@<model>: N2D on the model's latents: UMAP to a few dimensions, then a Gaussian
mixture (or KMeans); cluster ids, the embedding, scores against the digit labels, and
neighbours.json: how a new image joins the clusters (its nearest training latents' vote).

Usage: python stages/manifold.py <model>

Imports no deep-learning framework. With methods.manifold.enabled false it writes only
data/methods/<model>+manifold/skipped.json.
"""

import time

from aeclust.cluster import runs as methods
from aeclust.config import load_params, run_name, select_model
from aeclust.imports import bulk_imports
from aeclust.io import paths
from aeclust.io.storage import load_array, save_array, save_json
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    name, _ = select_model(params, argv)
    spec = params.methods.manifold
    out = methods.run_dir(run_name(name, "manifold"))
    if not spec.enabled:
        methods.write_skipped(out, "methods.manifold.enabled")
        return
    latents = load_array(paths.encoded(name) / "latents.npy")
    digit_labels = load_array(paths.PREPARED_LABELS)

    with bulk_imports():
        from aeclust.cluster.manifold import manifold_clusters, umap_class
        from aeclust.cluster.neighbours import leave_one_out_agreement
        from aeclust.cluster.scores import scores

        umap_class()  # umap-learn and numba load here (or one line says how to install it)

    start = time.perf_counter()
    cluster_ids, embedding, inertia = manifold_clusters(
        latents, spec, params.methods.n_clusters, params.seed
    )
    seconds = time.perf_counter() - start
    save_array(out / methods.CLUSTER_IDS, cluster_ids)
    save_array(out / methods.EMBEDDING, embedding)
    save_json(
        out / methods.SCORES, scores(embedding, cluster_ids, digit_labels, inertia, params.seed)
    )
    # How a new image joins these clusters (`aeclust assign`): its nearest training latents'
    # vote; the agreement says how often a training image left out gets its own cluster back.
    save_json(
        out / methods.NEIGHBOURS,
        {
            "n_neighbors": spec.n_neighbors,
            "weights": "distance",
            "leave_one_out_agreement": round(
                leave_one_out_agreement(latents, cluster_ids, spec.n_neighbors), 4
            ),
        },
    )
    save_json(out / methods.TIMING, {"seconds": round(seconds, 3)})


if __name__ == "__main__":
    run_stage("manifold", main)
