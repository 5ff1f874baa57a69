"""Training checkpoints: resume a killed or interrupted training where it stopped.

A checkpoint is the model with its optimizer state (a .keras file) and a small JSON
state (epochs done, their losses, seconds spent), both written atomically, the JSON
last. It carries a fingerprint of everything the training depends on (settings, seed,
input data, backend, and the code that builds and trains the model); a checkpoint with
another fingerprint is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from aeclust.config import ModelParams
from aeclust.io.storage import atomic_path, save_json
from aeclust.nets import contrastive, layers, models, runners, training

log = logging.getLogger(__name__)


def fingerprint(spec: ModelParams, seed: int, inputs: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [
                asdict(spec),
                seed,
                keras.backend.backend(),
                keras.__version__,
            ],
            sort_keys=True,
            default=list,
        ).encode()
    )
    # The code that builds and trains the model (its layers, optimizer and loop): a
    # checkpoint of other code would finish the training with what it saved.
    for module in (contrastive, layers, models, runners, training):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(str(inputs.shape).encode())
    digest.update(np.ascontiguousarray(inputs).data)
    return digest.hexdigest()


@dataclass
class Resumed:
    model: keras.Model
    epochs_done: int
    losses: list[float]
    seconds: float


class Checkpoint:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.state_file = self.directory / "state.json"

    def load(self) -> Resumed | None:
        """The saved training if there is one for this fingerprint, else None."""
        try:
            state = json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if state.get("fingerprint") != self.fingerprint:
            log.info("ignoring a checkpoint of other settings or data in %s", self.directory)
            return None
        try:
            model = keras.saving.load_model(
                self.directory / state["model"], compile=True, safe_mode=True
            )
        except Exception as exc:  # a damaged checkpoint only costs the time it saved
            log.warning("ignoring an unreadable checkpoint in %s: %s", self.directory, exc)
            return None
        return Resumed(
            model, int(state["epochs_done"]), list(state["losses"]), float(state["seconds"])
        )

    def save(self, model: keras.Model, epochs_done: int, losses: list[float], seconds: float):
        name = f"epoch-{epochs_done:06d}.keras"
        with atomic_path(self.directory / name) as tmp:
            model.save(tmp)
        save_json(
            self.state_file,
            {
                "fingerprint": self.fingerprint,
                "model": name,
                "epochs_done": epochs_done,
                "losses": losses,
                "seconds": seconds,
            },
        )
        for old in self.directory.glob("epoch-*.keras"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
