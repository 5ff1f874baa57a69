import numpy as np

from aeclust.clustering import kmeans, scores
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
