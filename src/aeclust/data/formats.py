"""Readers of the image files a `data.source` can name: IDX (MNIST's own), .npz, .csv and
data-only pickles. Each returns checked (images, labels) or raises one `DataError` line
naming the file and what is wrong with it."""

from __future__ import annotations

import csv
import gzip
import math
import pickle
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from aeclust.data.checks import Arrays, checked_arrays, is_number, one_line, pooled
from aeclust.errors import DataError


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
        raise DataError(f"{path}: cannot be read ({exc.strerror or one_line(exc)})") from None


def _file_start(path: Path, size: int) -> bytes:
    _require_file(path)
    try:
        with open(path, "rb") as file:
            return file.read(size)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or one_line(exc)})") from None


_IDX_FILES = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)
_IDX_IMAGES, _IDX_LABELS = 2051, 2049  # magic: 0x0000 (zero), 0x08 (uint8), dimension count
_IDX_WHAT = {_IDX_IMAGES: "uint8 images", _IDX_LABELS: "uint8 labels"}


def read_idx_folder(directory: Path) -> Arrays:
    """The MNIST-style IDX files in `directory`: train then test, pooled. A folder may hold
    one pair alone (the test images and labels, say); a pair half there is an error."""
    if not directory.is_dir():
        raise DataError(
            f"{directory}: {'is a file, not a folder' if directory.exists() else 'no such folder'}"
        )
    parts = []
    for images_name, labels_name in _IDX_FILES:
        if not any(_idx_exists(directory, name) for name in (images_name, labels_name)):
            continue
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
    if not parts:
        names = ", ".join(name for pair in _IDX_FILES for name in pair)
        raise DataError(f"{directory}: holds none of the IDX files {names} (nor .gz)")
    return pooled(parts)


def _idx_exists(directory: Path, name: str) -> bool:
    return (directory / name).exists() or (directory / f"{name}.gz").exists()


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
        raise DataError(f"{path}: corrupt gzip file ({one_line(exc)}); download it again") from None
    if not data:
        raise DataError(f"{path}: decompresses to an empty file")
    return data


_NPZ_KERAS = (("x_train", "y_train"), ("x_test", "y_test"))


def read_npz(path: Path) -> Arrays:
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
        raise DataError(f"{path}: not a readable .npz file ({one_line(exc)})") from None
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
    return pooled(parts)


def _npz_array(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot read array {key!r} ({one_line(exc)})") from None


_LABEL_NAMES = ("label", "class", "target", "y")


def read_csv(path: Path) -> Arrays:
    """One image per row, comma-separated; rows and columns are counted from 1.

    The first row is a header if any of its cells is not a number. With a header, the label
    is the column named label, class, target or y (any case), wherever it is. Without one,
    the label is the first or the last column: the one whose values are all whole numbers
    0..9; if both are, the one whose values vary (a corner pixel is 0 in nearly every
    image, a label is not); if both or neither vary, the first.
    """
    first_row = _csv_first_row(path)
    has_header = not all(is_number(cell) for cell in first_row)
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
    return checked_arrays(np.delete(table, label_column, axis=1), table[:, label_column], str(path))


def _csv_first_row(path: Path) -> list[str]:
    _require_file(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            return next(csv.reader(file), [])
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read ({one_line(exc)})") from None
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
                if rows.line_num == 1 and not all(is_number(cell) for cell in row):
                    continue  # the header
                for column, cell in enumerate(row, start=1):
                    where = f"{path}: row {rows.line_num}, column {column}"
                    if not cell.strip():
                        raise DataError(f"{where}: empty cell")
                    if not is_number(cell):
                        raise DataError(f"{where}: {cell!r} is not a number")
                    if not math.isfinite(float(cell)):
                        raise DataError(f"{where}: {cell!r} is not a finite number")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read ({one_line(exc)})") from None
    raise DataError(f"{path}: cannot be parsed as numbers ({one_line(failure)})")


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


def read_pickle(path: Path) -> Arrays:
    _require_file(path)
    try:
        with open(path, "rb") as file:
            loaded = _DataUnpickler(file, path).load()
    except DataError:
        raise
    except Exception as exc:  # a broken pickle can raise nearly anything
        raise DataError(f"{path}: not a readable pickle file ({one_line(exc)})") from None
    return from_bunch(loaded, str(path))


def from_bunch(loaded: Any, origin: str) -> Arrays:
    """(images, labels) from a Bunch or dict with data and target, or a tuple (X, y)."""
    if isinstance(loaded, Mapping):
        if "data" not in loaded or "target" not in loaded:
            raise DataError(
                f"{origin}: holds a {type(loaded).__name__} with keys "
                f"{', '.join(map(str, loaded))}; expected data and target"
            )
        return checked_arrays(loaded["data"], loaded["target"], origin)
    if isinstance(loaded, tuple | list) and len(loaded) == 2:
        return checked_arrays(loaded[0], loaded[1], origin)
    raise DataError(
        f"{origin}: holds a {type(loaded).__name__}; expected an sklearn Bunch or a dict "
        "with data and target (as fetch_openml returns), or a tuple (X, y)"
    )
