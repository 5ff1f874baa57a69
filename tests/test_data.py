import numpy as np
import pytest

from aeclust.data.sampling import stratified_sample
from aeclust.data.sources import load_source
from aeclust.errors import ParamsError


@pytest.fixture(scope="module")
def embedded():
    return load_source("embedded")


def test_embedded_source_is_5000_sorted_mnist_images(embedded):
    images, labels = embedded
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [500] * 10
    assert np.all(np.diff(labels) >= 0)  # sorted by class: why the first N must never be taken


def test_sample_is_stratified_and_not_the_first_n(embedded):
    _, labels = embedded
    chosen = stratified_sample(labels, 3000, seed=42)
    assert len(chosen) == len(np.unique(chosen)) == 3000
    assert np.bincount(labels[chosen]).tolist() == [300] * 10
    assert not np.array_equal(np.sort(chosen), np.arange(3000))
    assert not np.all(np.diff(labels[chosen]) >= 0)  # shuffled, not sorted by class


def test_sample_is_seeded(embedded):
    _, labels = embedded
    a = stratified_sample(labels, 300, seed=1)
    assert np.array_equal(a, stratified_sample(labels, 300, seed=1))
    assert not np.array_equal(a, stratified_sample(labels, 300, seed=2))


def test_uneven_classes_keep_their_proportions():
    labels = np.repeat(np.arange(3), [600, 300, 100])
    chosen = stratified_sample(labels, 101, seed=0)
    counts = np.bincount(labels[chosen]).tolist()
    assert sum(counts) == 101 and counts in ([61, 30, 10], [60, 31, 10], [60, 30, 11])


def test_all_takes_everything_shuffled(embedded):
    _, labels = embedded
    chosen = stratified_sample(labels, None, seed=0)
    assert sorted(chosen.tolist()) == list(range(5000))


def test_more_than_the_source_holds_is_refused(embedded):
    _, labels = embedded
    with pytest.raises(ParamsError, match=r"data.n_samples = 5001: must be <= 5000"):
        stratified_sample(labels, 5001, seed=0)
