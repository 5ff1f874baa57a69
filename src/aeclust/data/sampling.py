"""Sampling: a seeded, stratified subset of a labelled image set."""

from __future__ import annotations

import numpy as np

from aeclust.errors import ParamsError


def stratified_sample(labels: np.ndarray, n_samples: int | None, seed: int) -> np.ndarray:
    """Indices of a seeded sample of `n_samples` items with the class mix of `labels`.

    Each class gets its share of `n_samples` (largest remainder), drawn without
    replacement; the result is shuffled, so it is not sorted by class even when
    `labels` is. `n_samples=None` takes everything, shuffled.

    labels: (n,) ints.  Returns: (n_samples,) int64 indices into `labels`.
    """
    n_total = len(labels)
    if n_samples is None:
        n_samples = n_total
    if n_samples > n_total:
        raise ParamsError(
            f"data.n_samples = {n_samples}: must be <= {n_total}, the number of images "
            f'the source holds (or "all")'
        )
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * (n_samples / n_total)
    quota = np.floor(exact).astype(np.int64)
    # Hand the remaining items to the classes with the largest remainders (ties by class).
    short = n_samples - quota.sum()
    order = np.lexsort((classes, -(exact - quota)))
    quota[order[:short]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    indices = np.concatenate(chosen).astype(np.int64)
    return rng.permutation(indices)
