"""What a method that trains the model (`dec`, `selflabel`) leaves in its run folder: the
cluster ids, the trained encoder's latents, the assigner (`aeclust assign` assigns new
images by it), the scores, the method's own details file and the timing.

Imports Keras (through `aeclust.nets.models`): only the stages that train import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np

from aeclust.cluster import runs
from aeclust.cluster.scores import scores
from aeclust.io.storage import save_array, save_json
from aeclust.nets.models import save_model


class TrainedRun(Protocol):
    cluster_ids: np.ndarray  # (n,)
    latents: np.ndarray  # (n, d)
    assigner: keras.Model  # image -> soft assignments


def save_trained_run(
    out: Path,
    result: TrainedRun,
    digit_labels: np.ndarray,
    seed: int,
    details_file: str,
    details: dict[str, Any],
    seconds: float,
) -> None:
    """Write `result` to the run folder `out`: ids, latents, assigner, scores against
    `digit_labels` (silhouette seeded by `seed`), `details` as `details_file` and the
    seconds the method took on this backend."""
    save_array(out / runs.CLUSTER_IDS, result.cluster_ids)
    save_array(out / runs.LATENTS, result.latents)
    save_model(result.assigner, out / runs.ASSIGNER)
    save_json(
        out / runs.SCORES,
        scores(result.latents, result.cluster_ids, digit_labels, float("nan"), seed),
    )
    save_json(out / details_file, details)
    save_json(out / runs.TIMING, {"seconds": round(seconds, 3), "backend": keras.backend.backend()})
