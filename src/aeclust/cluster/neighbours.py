"""Placing new items into a transductive clustering (N2D's: UMAP of the whole set, then a
mixture) without refitting it: each new item takes the cluster of its nearest training
items in latent space, a vote weighted by 1 / distance (scikit-learn's
KNeighborsClassifier).

UMAP's own `transform` needs the fitted UMAP object, which only a pickle can store; this
needs only arrays the pipeline already keeps (the training latents and their cluster ids).
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier


def _flat(latents: np.ndarray) -> np.ndarray:
    return latents.reshape(len(latents), -1).astype(np.float64)


def neighbour_vote(
    train_latents: np.ndarray, train_ids: np.ndarray, latents: np.ndarray, n_neighbors: int
) -> np.ndarray:
    """The cluster ids (n,) int64 of `latents` by their `n_neighbors` nearest training
    latents' ids, each vote weighted by 1 / distance (a training row itself gets its own id)."""
    k = min(n_neighbors, len(train_latents))
    vote = KNeighborsClassifier(n_neighbors=k, weights="distance").fit(
        _flat(train_latents), train_ids
    )
    return vote.predict(_flat(latents)).astype(np.int64)


def leave_one_out_agreement(
    train_latents: np.ndarray, train_ids: np.ndarray, n_neighbors: int
) -> float:
    """The fraction of training rows whose vote among their `n_neighbors` nearest other rows
    gives back their own cluster: how faithfully `neighbour_vote` places an unseen item."""
    flat = _flat(train_latents)
    k = min(n_neighbors, len(flat) - 1)
    vote = KNeighborsClassifier(n_neighbors=k, weights="distance").fit(flat, train_ids)
    distances, rows = vote.kneighbors(n_neighbors=k)  # each row's neighbours, itself left out
    weights = 1.0 / np.maximum(distances, 1e-12)
    classes = np.unique(train_ids)
    totals = np.zeros((len(flat), len(classes)))
    for column in range(k):
        neighbour_class = np.searchsorted(classes, train_ids[rows[:, column]])
        np.add.at(totals, (np.arange(len(flat)), neighbour_class), weights[:, column])
    return float(np.mean(classes[totals.argmax(axis=1)] == train_ids))
