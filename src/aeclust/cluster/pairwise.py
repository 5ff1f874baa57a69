"""All pairwise distances of a small data set in one compiled loop, with UMAP's own
metric functions: the matrix UMAP builds below 4096 rows, bit for bit, without its
Python-level loop (see `aeclust.cluster.manifold.fast_small_data_distances`).

Import only after umap (`aeclust.cluster.manifold.umap_class`): this module imports
`umap.distances`, and umap's package import must run under the TensorFlow refusal.
"""

from __future__ import annotations

import numba
import numpy as np
from umap.distances import correlation, cosine, euclidean, manhattan

# The metric functions `all_pairs` runs, by the index it takes; each is the very function
# UMAP picks for the name (umap.distances.named_distances[name]).
METRICS = (euclidean, cosine, manhattan, correlation)


def metric_index(metric) -> int | None:
    """The index of `metric` (a function) in METRICS, or None if it is not one of them."""
    for index, candidate in enumerate(METRICS):
        if metric is candidate:
            return index
    return None


@numba.njit(cache=True)
def _distance(x, y, which):
    # One function per metric index, so that `all_pairs` is compiled (and cached on disk)
    # once; a metric passed as a function argument compiles again in every process.
    if which == 0:
        return euclidean(x, y)
    if which == 1:
        return cosine(x, y)
    if which == 2:
        return manhattan(x, y)
    return correlation(x, y)


@numba.njit(parallel=True, cache=True)
def _all_pairs(points, which):
    n = points.shape[0]
    out = np.zeros((n, n), dtype=np.float64)
    for i in numba.prange(n):
        for j in range(i + 1, n):
            value = _distance(points[i], points[j], which)
            out[i, j] = value
            out[j, i] = value
        out[i, i] = _distance(points[i], points[i], which)
    return out


def all_pairs(points: np.ndarray, which: int) -> np.ndarray:
    """(n, n) float64 distances between the rows of (n, d) `points` under METRICS[which]:
    each pair computed once and mirrored, the diagonal computed, as scikit-learn's
    `pairwise_distances` does with a callable metric. Parallel over rows, deterministic."""
    if not 0 <= which < len(METRICS):
        raise ValueError(f"which={which}: must be in [0, {len(METRICS) - 1}]")
    return _all_pairs(np.ascontiguousarray(points), which)
