"""The study's KMeans on features, and on every run's features at once (`cluster_runs`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin
from threadpoolctl import threadpool_limits

from aeclust.cluster.scores import scores
from aeclust.config import KMeansParams
from aeclust.cores import usable_cores

SPREAD_BELOW = 10000  # rows: `cluster_runs` spreads smaller runs over threads, one core each


def kmeans(features: np.ndarray, spec: KMeansParams, seed: int) -> tuple[np.ndarray, float]:
    """The study's KMeans on (n, d) features. Returns (cluster ids (n,) int64, inertia)."""
    cluster_ids, inertia, _ = fit_kmeans(features, spec, seed)
    return cluster_ids, inertia


def fit_kmeans(
    features: np.ndarray, spec: KMeansParams, seed: int
) -> tuple[np.ndarray, float, np.ndarray]:
    """`kmeans`, with the centroids (k, d) float64 that `nearest_centroid` assigns by."""
    model = KMeans(
        n_clusters=spec.n_clusters,
        init=spec.init,
        n_init=spec.n_init,
        max_iter=spec.max_iter,
        tol=spec.tol,
        random_state=seed,
    )
    cluster_ids = model.fit_predict(features.reshape(len(features), -1).astype(np.float64))
    return cluster_ids.astype(np.int64), float(model.inertia_), model.cluster_centers_


def nearest_centroid(features: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The cluster ids (n,) int64 of (n, ...) features: each row's nearest centroid, as
    KMeans assigns (its training rows get their `fit_kmeans` ids back)."""
    flat = features.reshape(len(features), -1).astype(np.float64)
    return pairwise_distances_argmin(flat, centroids).astype(np.int64)


def cluster_runs(
    features: dict[str, np.ndarray],
    spec: KMeansParams,
    digit_labels: np.ndarray,
    seed: int,
    workers: int | None = None,
) -> dict[str, tuple[np.ndarray, dict[str, float], np.ndarray]]:
    """The study's KMeans and its scores for every run: name -> (cluster ids, scores,
    centroids), in the order of `features`.

    `workers` > 1 spreads the runs over that many threads, each run on one core;
    1 runs them in turn, each on every core. Default: spread below `SPREAD_BELOW` rows,
    where KMeans' own threads wait on each other more than they work (3000 rows, three
    runs: 1.4-1.6 s in turn on 2 cores, 1.2 s in turn on one, 0.8 s spread), in turn
    above (70000 rows: the pixels' KMeans alone takes 30 s on one core, 16 s on two)."""
    if workers is None:
        small = max(len(values) for values in features.values()) < SPREAD_BELOW
        workers = usable_cores() if small else 1
    workers = max(1, min(workers, len(features)))

    def run(values: np.ndarray) -> tuple[np.ndarray, dict[str, float], np.ndarray]:
        cluster_ids, inertia, centroids = fit_kmeans(values, spec, seed)
        return cluster_ids, scores(values, cluster_ids, digit_labels, inertia, seed), centroids

    def run_on_one_core(values: np.ndarray) -> tuple[np.ndarray, dict[str, float], np.ndarray]:
        # OpenMP's thread count is set per thread: this worker's KMeans runs on one.
        with threadpool_limits(limits=1, user_api="openmp"):
            return run(values)

    if workers == 1:
        results = [run(values) for values in features.values()]
    else:
        # BLAS' thread count is one for the whole process: set it around the pool, so
        # that KMeans' own limit-and-restore of it in each worker always restores one.
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(run_on_one_core, features.values()))
    return dict(zip(features, results, strict=True))
