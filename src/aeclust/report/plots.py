"""The report's plot data for `dvc plots show` and `dvc plots diff`, as small CSV files:
each run's confusion of digits against clusters (each cluster named by the digit the
training labels match it to), and each manifold run's embedding in 2-D, coloured by digit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aeclust.cluster.scores import best_matching
from aeclust.io import paths
from aeclust.io.storage import save_text
from aeclust.report.tables import pca_2d

PLOTS = paths.REPORTS / "plots"
CONFUSION = PLOTS / "confusion"  # <run>.csv: actual,predicted
EMBEDDING = PLOTS / "embedding"  # <run>.csv: x,y,digit (manifold runs)
MAX_POINTS = 1000  # an embedding's points kept, a seeded sample: the plots stay small


def confusion_csv(cluster_ids: np.ndarray, digit_labels: np.ndarray) -> str:
    """`actual,predicted` per image: its digit, and the digit its cluster is matched to
    (the best one-to-one matching; -1 for a cluster left unmatched)."""
    matching = best_matching(cluster_ids, digit_labels)
    predicted = [matching.get(int(c), -1) for c in cluster_ids]
    rows = (f"{int(a)},{p}" for a, p in zip(digit_labels, predicted, strict=True))
    return "actual,predicted\n" + "\n".join(rows) + "\n"


def embedding_csv(embedding: np.ndarray, digit_labels: np.ndarray, seed: int) -> str:
    """`x,y,digit` for at most MAX_POINTS images (a seeded sample, in image order): the
    embedding's first two principal components."""
    points = pca_2d(embedding)
    keep = np.arange(len(points))
    if len(keep) > MAX_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(len(points), MAX_POINTS, replace=False))
    rows = (f"{points[i, 0]:.4f},{points[i, 1]:.4f},{int(digit_labels[i])}" for i in keep)
    return "x,y,digit\n" + "\n".join(rows) + "\n"


def write_plot_data(
    cluster_ids: dict[str, np.ndarray],
    embeddings: dict[str, np.ndarray],
    digit_labels: np.ndarray,
    seed: int,
    root: Path = PLOTS,
) -> None:
    """One confusion CSV per run of `cluster_ids`, one embedding CSV per run of
    `embeddings`, under `root`."""
    for run, ids in cluster_ids.items():
        save_text(root / "confusion" / f"{run}.csv", confusion_csv(ids, digit_labels))
    for run, embedding in embeddings.items():
        save_text(root / "embedding" / f"{run}.csv", embedding_csv(embedding, digit_labels, seed))
