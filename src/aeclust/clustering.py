"""KMeans on features, and the scores of a clustering against the digit labels.

The labels are used here only to score; nothing is ever trained on them.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    normalized_mutual_info_score,
    silhouette_score,
)

from aeclust.config import KMeansParams
from aeclust.matching import clustering_accuracy

SILHOUETTE_MAX_SAMPLES = 10000  # silhouette is O(n^2): score a seeded subsample above this


def kmeans(features: np.ndarray, spec: KMeansParams, seed: int) -> tuple[np.ndarray, float]:
    """The study's KMeans on (n, d) features. Returns (cluster ids (n,) int64, inertia)."""
    model = KMeans(
        n_clusters=spec.n_clusters,
        init=spec.init,
        n_init=spec.n_init,
        max_iter=spec.max_iter,
        tol=spec.tol,
        random_state=seed,
    )
    cluster_ids = model.fit_predict(features.reshape(len(features), -1).astype(np.float64))
    return cluster_ids.astype(np.int64), float(model.inertia_)


def scores(
    features: np.ndarray,
    cluster_ids: np.ndarray,
    digit_labels: np.ndarray,
    inertia: float,
    seed: int,
) -> dict[str, float]:
    """ACC, NMI, ARI against the labels; silhouette of the clusters in feature space; inertia."""
    flat = features.reshape(len(features), -1)
    silhouette = float("nan")
    if 1 < len(np.unique(cluster_ids)) < len(flat):
        silhouette = float(
            silhouette_score(
                flat,
                cluster_ids,
                sample_size=min(len(flat), SILHOUETTE_MAX_SAMPLES),
                random_state=seed,
            )
        )
    return {
        "acc": clustering_accuracy(cluster_ids, digit_labels),
        "nmi": float(normalized_mutual_info_score(digit_labels, cluster_ids)),
        "ari": float(adjusted_rand_score(digit_labels, cluster_ids)),
        "silhouette": silhouette,
        "inertia": inertia,
    }
