"""N2D's manifold clustering on tiny data: UMAP, then a mixture or KMeans."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from aeclust.config import ManifoldParams
from aeclust.manifold import cluster_embedding, embed, manifold_clusters
from aeclust.matching import clustering_accuracy

SPEC = ManifoldParams(
    enabled=True, n_components=3, n_neighbors=10, min_dist=0.0, metric="euclidean", clusterer="gmm"
)


def blobs(spread: float, per: int = 50, k: int = 4, dim: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, dim))
    labels = np.repeat(np.arange(k), per)
    points = centres[labels] + rng.normal(scale=spread, size=(per * k, dim))
    return points.astype(np.float32), labels


@pytest.mark.parametrize("clusterer", ["gmm", "kmeans"])
def test_separated_blobs_are_clustered_perfectly(clusterer):
    points, labels = blobs(0.3)
    spec = ManifoldParams(**{**SPEC.__dict__, "clusterer": clusterer})
    cluster_ids, embedding, inertia = manifold_clusters(points, spec, 4, seed=7)
    assert cluster_ids.shape == (200,) and cluster_ids.dtype == np.int64
    assert embedding.shape == (200, 3) and embedding.dtype == np.float32
    assert clustering_accuracy(cluster_ids, labels) == 1.0
    assert np.isnan(inertia) if clusterer == "gmm" else inertia > 0


def test_same_seed_same_embedding_and_clusters():
    points, _ = blobs(2.0)
    first = manifold_clusters(points, SPEC, 4, seed=7)
    second = manifold_clusters(points.copy(), SPEC, 4, seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    other = embed(points, SPEC, seed=8)
    assert not np.array_equal(first[1], other)


def test_latents_of_any_shape_are_flattened():
    points, labels = blobs(0.3)
    embedding = embed(points.reshape(200, 4, 5), SPEC, seed=7)
    assert embedding.shape == (200, 3)
    cluster_ids, _ = cluster_embedding(embedding, "gmm", 4, seed=7)
    assert clustering_accuracy(cluster_ids, labels) == 1.0


def test_gmm_restarts_keep_the_most_likely_mixture(monkeypatch):
    import aeclust.manifold

    starts = []

    class Spy(aeclust.manifold.GaussianMixture):
        def fit_predict(self, X, y=None):
            starts.append(self.n_init)
            return super().fit_predict(X, y)

    monkeypatch.setattr(aeclust.manifold, "GaussianMixture", Spy)
    points, labels = blobs(0.3)
    spec = ManifoldParams(**{**SPEC.__dict__, "n_init": 4})
    cluster_ids, _, _ = manifold_clusters(points, spec, 4, seed=7)
    assert starts == [4]
    assert clustering_accuracy(cluster_ids, labels) == 1.0


def test_umap_is_imported_without_a_deep_learning_framework():
    # umap/__init__.py imports TensorFlow when it is installed; the manifold stage must not.
    script = (
        "import sys; from aeclust.manifold import umap_class; umap_class(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_refusal_ends_with_the_import():
    from aeclust.manifold import _Refuse, umap_class

    umap_class()
    assert not any(isinstance(finder, _Refuse) for finder in sys.meta_path)
    importlib.util.find_spec("tensorflow")  # would raise while refused


def test_without_umap_learn_the_error_says_what_to_install():
    # Run where umap cannot be found (as on a machine without umap-learn).
    script = (
        "import sys\n"
        "from aeclust.manifold import _Refuse, umap_class\n"
        "sys.meta_path.insert(0, _Refuse(('umap',)))\n"
        "try:\n"
        "    umap_class()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.startswith("UserError methods.manifold needs umap-learn"), result.stderr
