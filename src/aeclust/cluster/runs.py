"""The clustering methods that run after encode (`dec`, `manifold`, `selflabel`): where each run's
outputs live, and the marker a switched-off method leaves instead.

A run is one model clustered by one method, named `<model>+<method>` (`ffn+dec`); its
outputs are in data/methods/<run>/: cluster_ids.npy (n,), scores.json (as the kmeans
stage's), timing.json (seconds, apart from the scores) and whatever else the method
keeps (dec: latents.npy, the refined encoder's latents, refinement.json and
assigner.keras; manifold: embedding.npy and neighbours.json; selflabel: latents.npy,
selflabel.json and assigner.keras).
DVC cannot switch a stage off by a param, so a switched-off method's stage still runs,
in a second, and writes only skipped.json; the report leaves such runs out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aeclust.io.storage import save_json

METHODS_DIR = Path("data/methods")
CLUSTER_IDS = "cluster_ids.npy"
SCORES = "scores.json"
TIMING = "timing.json"
LATENTS = "latents.npy"  # dec, selflabel: the trained encoder's latents (n, d)
REFINEMENT = "refinement.json"  # dec: batches trained, converged or not, loss per update
EMBEDDING = "embedding.npy"  # manifold: the UMAP embedding (n, n_components)
ASSIGNER = "assigner.keras"  # dec, selflabel: image -> soft assignments (encoder + its layer)
SELFLABEL = "selflabel.json"  # selflabel: the start run, how many images were sure, loss
NEIGHBOURS = "neighbours.json"  # manifold: how a new image takes its neighbours' cluster
SKIPPED = "skipped.json"


def run_seeds(seed: int, runs: int) -> list[int]:
    """The seeds of a method's `runs` runs (manifold's UMAP + clusterer runs, selflabel's
    classifiers): `seed` itself first (one run is the method's single run, unchanged), then
    one drawn from (seed, r) for each further run r."""
    return [seed] + [
        int(np.random.SeedSequence([seed, r]).generate_state(1)[0]) for r in range(1, runs)
    ]


def run_dir(run: str) -> Path:
    return METHODS_DIR / run


def write_skipped(out: Path, switch: str) -> None:
    """Mark `out` as the output of a switched-off method (`switch` = its param)."""
    for stale in out.glob("*") if out.is_dir() else []:
        stale.unlink()
    save_json(out / SKIPPED, {"skipped": f"{switch} is false"})
