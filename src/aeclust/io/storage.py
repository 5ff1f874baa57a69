"""Atomic file output and safe input.

Every output is written to a temporary file beside its destination and renamed into
place, so a stage that fails or is killed leaves the last good file intact.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from aeclust.errors import DataError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    The temporary name keeps the suffix of `path` (Keras and matplotlib pick the
    format from it). On error the temporary file is removed and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_array(path: str | os.PathLike[str], array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)


def load_array(path: str | os.PathLike[str]) -> np.ndarray:
    """Load a .npy file written by `save_array`; object arrays (pickles) are refused."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(
            f"{path}: file not found (run the stage that writes it: dvc repro)"
        ) from None
    except ValueError as exc:
        raise DataError(f"{path}: not a plain numeric .npy array ({exc})") from None


def _finite(data: Any) -> Any:
    """`data` with every NaN or infinite float replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def save_json(path: str | os.PathLike[str], data: Any) -> None:
    """Standard JSON, which has no NaN or infinity: a score that cannot be computed (a
    silhouette of one cluster, a method's inertia) is written as null."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_finite(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def load_json(path: str | os.PathLike[str]) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(
            f"{path}: file not found (run the stage that writes it: dvc repro)"
        ) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def save_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
