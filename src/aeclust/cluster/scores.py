"""Scores of a clustering against the labels: the cluster-to-label matching, ACC, NMI, ARI,
silhouette.

The labels are used here only to score; nothing is ever trained on them.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

SILHOUETTE_MAX_SAMPLES = 10000  # silhouette is O(n^2): score a seeded subsample above this


def contingency(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> np.ndarray:
    """Counts (n_clusters, n_classes): how many members of each cluster have each label.
    Rows and columns follow the sorted unique cluster ids and labels."""
    _, c = np.unique(cluster_ids, return_inverse=True)
    _, d = np.unique(digit_labels, return_inverse=True)
    table = np.zeros((c.max() + 1, d.max() + 1), dtype=np.int64)
    np.add.at(table, (c, d), 1)
    return table


def max_weight_matching(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one-to-one matching of rows to columns of (n, m) `weights` with the largest
    total weight, min(n, m) pairs: (rows ascending, their columns)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights must be a 2-D table, got shape {weights.shape}")
    if not np.isfinite(weights).all():
        raise ValueError("weights must be finite numbers")
    return linear_sum_assignment(weights, maximize=True)


def best_matching(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> dict[int, int]:
    """The one-to-one cluster -> label map that maximises agreement (Hungarian)."""
    clusters, labels = np.unique(cluster_ids), np.unique(digit_labels)
    rows, cols = max_weight_matching(contingency(cluster_ids, digit_labels))
    return {int(clusters[r]): int(labels[c]) for r, c in zip(rows, cols, strict=True)}


def clustering_accuracy(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> float:
    """ACC: the fraction of items whose cluster maps to their label under the best
    one-to-one matching of clusters to labels (unmatched clusters count as wrong)."""
    matched = contingency(cluster_ids, digit_labels)
    rows, cols = max_weight_matching(matched)
    return float(matched[rows, cols].sum() / len(cluster_ids))


def label_scores(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> dict[str, float]:
    """ACC, NMI and ARI of the clusters against the labels."""
    return {
        "acc": clustering_accuracy(cluster_ids, digit_labels),
        "nmi": float(normalized_mutual_info_score(digit_labels, cluster_ids)),
        "ari": float(adjusted_rand_score(digit_labels, cluster_ids)),
    }


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
        **label_scores(cluster_ids, digit_labels),
        "silhouette": silhouette,
        "inertia": inertia,
    }
