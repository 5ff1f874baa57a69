"""Matching clusters to labels: the contingency table, the Hungarian matching and ACC.

Kept apart from `clustering` so that the report can use it without importing scikit-learn.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def contingency(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> np.ndarray:
    """Counts (n_clusters, n_classes): how many members of each cluster have each label.
    Rows and columns follow the sorted unique cluster ids and labels."""
    _, c = np.unique(cluster_ids, return_inverse=True)
    _, d = np.unique(digit_labels, return_inverse=True)
    table = np.zeros((c.max() + 1, d.max() + 1), dtype=np.int64)
    np.add.at(table, (c, d), 1)
    return table


def best_matching(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> dict[int, int]:
    """The one-to-one cluster -> label map that maximises agreement (Hungarian)."""
    clusters, labels = np.unique(cluster_ids), np.unique(digit_labels)
    rows, cols = linear_sum_assignment(contingency(cluster_ids, digit_labels), maximize=True)
    return {int(clusters[r]): int(labels[c]) for r, c in zip(rows, cols, strict=True)}


def clustering_accuracy(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> float:
    """ACC: the fraction of items whose cluster maps to their label under the best
    one-to-one matching of clusters to labels (unmatched clusters count as wrong)."""
    matched = contingency(cluster_ids, digit_labels)
    rows, cols = linear_sum_assignment(matched, maximize=True)
    return float(matched[rows, cols].sum() / len(cluster_ids))
