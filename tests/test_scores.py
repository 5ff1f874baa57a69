import itertools

import numpy as np
import pytest

from aeclust.cluster.scores import (
    best_matching,
    clustering_accuracy,
    contingency,
    max_weight_matching,
)


def test_acc_is_one_for_a_relabelled_perfect_clustering():
    labels = np.array([0, 0, 1, 1, 2, 2, 3])
    clusters = np.array([7, 7, 3, 3, 5, 5, 1])
    assert clustering_accuracy(clusters, labels) == 1.0
    assert best_matching(clusters, labels) == {7: 0, 3: 1, 5: 2, 1: 3}


def test_acc_uses_the_best_one_to_one_matching():
    labels = np.array([0, 0, 0, 1, 1, 1])
    # Cluster 0 holds two 0s and a 1; cluster 1 holds a 0 and two 1s.
    clusters = np.array([0, 0, 1, 1, 1, 0])
    assert clustering_accuracy(clusters, labels) == pytest.approx(4 / 6)
    # Everything in one cluster: only one digit can be matched.
    assert clustering_accuracy(np.zeros(6, int), labels) == pytest.approx(3 / 6)


def test_acc_is_not_fooled_by_many_to_one():
    labels = np.array([0, 0, 1, 1])
    clusters = np.array([0, 1, 2, 3])  # four clusters, two digits: two clusters stay unmatched
    assert clustering_accuracy(clusters, labels) == pytest.approx(2 / 4)


def test_contingency_counts():
    table = contingency(np.array([1, 1, 2, 2, 2]), np.array([0, 1, 1, 1, 0]))
    assert table.tolist() == [[1, 1], [1, 2]]


def brute_force_best(weights):
    n, m = weights.shape
    if n <= m:
        return max(weights[range(n), list(p)].sum() for p in itertools.permutations(range(m), n))
    return brute_force_best(weights.T)


@pytest.mark.parametrize("seed", range(4))
def test_max_weight_matching_is_optimal_and_one_to_one(seed):
    rng = np.random.default_rng(seed)
    for _ in range(150):
        n, m = rng.integers(1, 7, size=2)
        weights = rng.integers(0, rng.choice([2, 4, 500]), size=(n, m))  # ties included
        rows, cols = max_weight_matching(weights)
        assert len(rows) == min(n, m) and np.all(np.diff(rows) > 0)
        assert len(set(cols.tolist())) == len(cols) and cols.max() < m
        assert weights[rows, cols].sum() == brute_force_best(weights)


def test_max_weight_matching_agrees_with_scipy_on_larger_tables():
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(7)
    for n, m in [(10, 10), (25, 10), (10, 40), (60, 60)]:
        weights = rng.integers(0, 300, size=(n, m))
        rows, cols = max_weight_matching(weights)
        best_rows, best_cols = linear_sum_assignment(weights, maximize=True)
        assert np.array_equal(rows, best_rows)
        assert weights[rows, cols].sum() == weights[best_rows, best_cols].sum()
    real = rng.normal(size=(8, 12))  # not only counts
    rows, cols = max_weight_matching(real)
    best_rows, best_cols = linear_sum_assignment(real, maximize=True)
    assert real[rows, cols].sum() == pytest.approx(real[best_rows, best_cols].sum(), abs=1e-12)


def test_max_weight_matching_refuses_what_it_cannot_match():
    with pytest.raises(ValueError, match="2-D"):
        max_weight_matching(np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        max_weight_matching(np.array([[1.0, np.nan], [0.0, 2.0]]))
    rows, cols = max_weight_matching(np.zeros((0, 3)))  # nothing to match
    assert rows.size == 0 and cols.size == 0
