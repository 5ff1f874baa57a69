"""Matching clusters to labels: the contingency table, the Hungarian matching and ACC.

Kept apart from `clustering` so that the report can use it without importing scikit-learn,
and solved here rather than with SciPy's `linear_sum_assignment`: the tables are a few
dozen cells, and importing `scipy.optimize` took ~0.35 s of the report's ~2 s.
"""

from __future__ import annotations

import numpy as np


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
    total weight, min(n, m) pairs: (rows ascending, their columns), as SciPy's
    `linear_sum_assignment(weights, maximize=True)` gives them.

    The Hungarian method with potentials (Kuhn-Munkres; Jonker and Volgenant's shortest
    augmenting paths), each row added in turn, O(n^2 m) for n <= m."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights must be a 2-D table, got shape {weights.shape}")
    if not np.isfinite(weights).all():
        raise ValueError("weights must be finite numbers")
    if weights.shape[0] > weights.shape[1]:
        cols, rows = max_weight_matching(weights.T)
        order = np.argsort(rows)
        return rows[order], cols[order]
    cost = -weights  # largest weight = smallest cost
    n, m = cost.shape
    # Columns are numbered from 1; column 0 is where the row being added starts.
    row_of = np.zeros(m + 1, dtype=np.int64)  # 1-based row matched to each column, 0 = none
    u, v = np.zeros(n + 1), np.zeros(m + 1)  # the potentials of rows and columns
    for i in range(1, n + 1):
        row_of[0] = i
        column = 0
        slack = np.full(m + 1, np.inf)  # least reduced cost reaching each column so far
        came_from = np.zeros(m + 1, dtype=np.int64)  # the column before it on that path
        visited = np.zeros(m + 1, dtype=bool)
        while row_of[column] != 0:  # until the path reaches a free column
            visited[column] = True
            row = row_of[column]
            reduced = cost[row - 1] - u[row] - v[1:]
            closer = ~visited[1:] & (reduced < slack[1:])
            slack[1:][closer] = reduced[closer]
            came_from[1:][closer] = column
            candidates = np.where(visited[1:], np.inf, slack[1:])
            nearest = int(np.argmin(candidates)) + 1
            delta = candidates[nearest - 1]
            u[row_of[visited]] += delta
            v[visited] -= delta
            slack[1:][~visited[1:]] -= delta
            column = nearest
        while column != 0:  # flip the matching along the path back to column 0
            previous = came_from[column]
            row_of[column] = row_of[previous]
            column = previous
    matched = np.flatnonzero(row_of[1:])
    rows = row_of[1:][matched] - 1
    order = np.argsort(rows)
    return rows[order], matched[order]


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
