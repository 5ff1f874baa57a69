"""kmeans: the study's KMeans on every model's latents and, as the baseline, on raw pixels;
cluster ids, centroids and scores (ACC, NMI, ARI, silhouette, inertia) against the digit
labels."""

from aeclust.config import BASELINE, load_params
from aeclust.data.scaling import unit_range
from aeclust.errors import ParamsError
from aeclust.imports import bulk_imports
from aeclust.io import paths
from aeclust.io.storage import load_array, save_array, save_json
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    images = load_array(paths.PREPARED_IMAGES)
    digit_labels = load_array(paths.PREPARED_LABELS)
    if params.kmeans.n_clusters > len(images):
        raise ParamsError(
            f"kmeans.n_clusters = {params.kmeans.n_clusters}: must be <= the number of "
            f"prepared images ({len(images)})"
        )
    with bulk_imports():
        from aeclust.cluster.kmeans import cluster_runs

    features = {BASELINE: unit_range(images).reshape(len(images), -1)}
    for name in params.models:
        features[name] = load_array(paths.encoded(name) / "latents.npy")
    results = cluster_runs(features, params.kmeans, digit_labels, params.seed)
    for run, (cluster_ids, _, centroids) in results.items():
        save_array(paths.CLUSTERS / f"{run}.npy", cluster_ids)
        save_array(paths.centroids(run), centroids)  # what `aeclust assign` assigns by
    save_json(paths.CLUSTERS / "scores.json", {run: s for run, (_, s, _) in results.items()})


if __name__ == "__main__":
    run_stage("kmeans", main)
