"""Where the pipeline keeps its files (relative to the project root).

dvc.yaml names the same paths; stages take them from here so that a stage and
its declaration cannot drift apart silently (the end-to-end test runs both).
"""

from __future__ import annotations

from pathlib import Path

PARAMS = Path("params.yaml")
PREPARED = Path("data/prepared")
PREPARED_IMAGES = PREPARED / "images.npy"  # uint8 (n, side, side)
PREPARED_LABELS = PREPARED / "labels.npy"  # int64 (n,), for scoring only
STANDARDIZED = Path("data/standardized")  # <scaling>.npy, float32 (n, side, side)
MODELS = Path("models")  # <model>.keras
CHECKPOINTS = Path(".checkpoints")  # <model>/: an unfinished training (git- and dvc-ignored)
TRAIN_LOGS = Path("reports/train")  # <model>/: dvclive log (per-epoch loss)
TRAIN_TIMINGS = Path("reports/timing")  # <model>.json: seconds, kept apart from quality
ENCODED = Path("data/encoded")  # <model>/latents.npy, reconstructions.npy, reconstruction.json
CLUSTERS = Path("data/clusters")  # <run>.npy cluster ids, scores.json, centroids/<run>.npy
REPORTS = Path("reports")
METRICS = REPORTS / "metrics.json"
TIMINGS = REPORTS / "timings.json"
FIGURES = REPORTS / "figures"
REPORT_MD = REPORTS / "report.md"


def standardized(scaling: str) -> Path:
    return STANDARDIZED / f"{scaling}.npy"


def model_file(name: str) -> Path:
    return MODELS / f"{name}.keras"


def train_log(name: str) -> Path:
    return TRAIN_LOGS / name


def train_timing(name: str) -> Path:
    return TRAIN_TIMINGS / f"{name}.json"


def centroids(run: str) -> Path:
    """The KMeans centroids (k, d) float64 of run `run` (`raw` or a model)."""
    return CLUSTERS / "centroids" / f"{run}.npy"


def encoded(name: str) -> Path:
    return ENCODED / name


def checkpoint(name: str) -> Path:
    return CHECKPOINTS / name
