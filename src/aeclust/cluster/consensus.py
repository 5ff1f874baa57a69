"""Combining several clusterings of the same items into one, without labels: the medoid
run (the one that agrees most with the others) or each item's vote over the runs aligned
to it. The manifold method uses it to steady N2D's run-to-run spread (`runs` > 1)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from aeclust.cluster.scores import max_weight_matching


def agreement(partitions: list[np.ndarray]) -> np.ndarray:
    """(runs, runs) NMI between every two partitions of the same items (1 on the diagonal)."""

    runs = len(partitions)
    table = np.ones((runs, runs))
    for i in range(runs):
        for j in range(i + 1, runs):
            table[i, j] = table[j, i] = normalized_mutual_info_score(partitions[i], partitions[j])
    return table


def medoid_run(partitions: list[np.ndarray]) -> int:
    """The index of the partition with the largest mean NMI to the others (the earliest of
    equals): the run that agrees most with the rest, chosen without labels."""
    if len(partitions) == 1:
        return 0
    table = agreement(partitions)
    mean = (table.sum(axis=1) - 1.0) / (len(partitions) - 1)
    return int(np.argmax(mean))


def align(cluster_ids: np.ndarray, reference: np.ndarray, n_clusters: int) -> np.ndarray:
    """`cluster_ids` renamed so that each cluster takes the id of the `reference` cluster it
    shares most items with, one to one (the largest total overlap). Ids are in
    [0, n_clusters)."""
    overlap = np.zeros((n_clusters, n_clusters), dtype=np.int64)
    np.add.at(overlap, (cluster_ids, reference), 1)
    rows, cols = max_weight_matching(overlap)
    rename = np.arange(n_clusters)
    rename[rows] = cols
    return rename[cluster_ids]


def vote(partitions: list[np.ndarray], reference: int, n_clusters: int) -> np.ndarray:
    """Each item's most frequent cluster over `partitions`, every one first aligned to
    partition `reference`; a tie goes to the reference's cluster, else to the lowest id."""
    base = partitions[reference]
    counts = np.zeros((len(base), n_clusters), dtype=np.int32)
    items = np.arange(len(base))
    for ids in partitions:
        np.add.at(counts, (items, align(ids, base, n_clusters)), 1)
    winner = counts.argmax(axis=1)
    base_wins = counts[items, base] == counts[items, winner]
    return np.where(base_wins, base, winner).astype(np.int64)


def consensus(partitions: list[np.ndarray], how: str, n_clusters: int) -> tuple[np.ndarray, int]:
    """One partition from several runs' (`how`: "vote" or "medoid", see ManifoldParams).
    Returns (cluster ids (n,) int64, the index of the medoid run)."""
    for ids in partitions:
        if ids.min() < 0 or ids.max() >= n_clusters:
            raise ValueError(f"cluster ids must be in [0, {n_clusters})")
    medoid = medoid_run(partitions)
    if how == "medoid":
        return partitions[medoid].astype(np.int64), medoid
    if how == "vote":
        return vote(partitions, medoid, n_clusters), medoid
    raise ValueError(f"consensus={how!r}: must be vote or medoid")


def combine_runs(
    partitions: list[np.ndarray],
    embeddings: list[np.ndarray],
    inertias: list[float],
    how: str,
    n_clusters: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """The runs' results as one: (cluster ids, the medoid run's embedding, inertia: the
    medoid's with "medoid", else NaN). One run is returned as it is."""
    if len(partitions) == 1:
        return partitions[0], embeddings[0], inertias[0]
    cluster_ids, medoid = consensus(partitions, how, n_clusters)
    inertia = inertias[medoid] if how == "medoid" else float("nan")
    return cluster_ids, embeddings[medoid], inertia
