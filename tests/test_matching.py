import numpy as np
import pytest

from aeclust.matching import best_matching, clustering_accuracy, contingency


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
