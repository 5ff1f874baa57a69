import numpy as np
import pytest

from aeclust.cluster.kmeans import cluster_runs, fit_kmeans, kmeans, nearest_centroid
from aeclust.cluster.scores import scores
from aeclust.config import KMeansParams

SPEC = KMeansParams(n_clusters=3, init="k-means++", n_init=3, max_iter=300, tol=1e-4)


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [10, 0], [0, 10]], dtype=float)
    labels = np.repeat(np.arange(3), 50)
    return centres[labels] + rng.normal(scale=0.5, size=(150, 2)), labels


def test_kmeans_scores_separated_blobs_perfectly():
    features, labels = blobs()
    cluster_ids, inertia = kmeans(features, SPEC, seed=42)
    s = scores(features, cluster_ids, labels, inertia, seed=42)
    assert s["acc"] == 1.0 and s["nmi"] == 1.0 and s["ari"] == 1.0
    assert s["silhouette"] > 0.8 and 0 < s["inertia"] == inertia


def test_kmeans_is_seeded():
    features, _ = blobs()
    noise = np.random.default_rng(1).normal(size=(150, 5))
    a = kmeans(noise, SPEC, seed=3)
    b = kmeans(noise, SPEC, seed=3)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_random_features_score_near_chance():
    _, labels = blobs()
    noise = np.random.default_rng(2).normal(size=(150, 4))
    cluster_ids, inertia = kmeans(noise, SPEC, seed=0)
    s = scores(noise, cluster_ids, labels, inertia, seed=0)
    assert s["acc"] < 0.6 and s["ari"] < 0.1


def test_cluster_runs_gives_each_run_what_it_gives_alone_spread_or_in_turn():
    features, labels = blobs()
    noise = np.random.default_rng(4).normal(size=(150, 6))
    runs = {"blobs": features, "noise": noise, "mixed": np.hstack([features, noise])}
    spread = cluster_runs(runs, SPEC, labels, seed=5, workers=2)
    assert list(spread) == list(runs)  # in the order given
    for name, values in runs.items():
        cluster_ids, inertia = kmeans(values, SPEC, seed=5)
        alone = scores(values, cluster_ids, labels, inertia, seed=5)
        assert np.array_equal(spread[name][0], cluster_ids)
        assert spread[name][1] == pytest.approx(alone, rel=1e-12)
    assert spread["blobs"][1]["acc"] == 1.0
    in_turn = cluster_runs(runs, SPEC, labels, seed=5, workers=1)
    assert list(in_turn) == list(runs)
    for name in runs:  # on every core: the same clusters, sums in another order
        assert np.array_equal(in_turn[name][0], spread[name][0])
        assert in_turn[name][1] == pytest.approx(spread[name][1], rel=1e-12)


def test_nearest_centroid_gives_the_training_rows_their_kmeans_ids_back():
    features, labels = blobs()
    noise = np.random.default_rng(8).normal(size=(400, 12))
    for values in (features, noise, np.hstack([features, features[::-1]])):
        cluster_ids, _, centroids = fit_kmeans(values, SPEC, seed=2)
        assert centroids.shape == (SPEC.n_clusters, values.shape[1])
        assert np.array_equal(nearest_centroid(values, centroids), cluster_ids)
    ids, _, centroids = fit_kmeans(features, SPEC, seed=2)
    moved = features + np.random.default_rng(9).normal(scale=0.01, size=features.shape)
    assert np.array_equal(nearest_centroid(moved, centroids), ids)  # new points, same blobs
