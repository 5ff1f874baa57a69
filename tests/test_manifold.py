"""N2D's manifold clustering on tiny data: UMAP, then a mixture or KMeans."""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from aeclust.cluster.manifold import cluster_embedding, embed, manifold_clusters
from aeclust.cluster.scores import clustering_accuracy
from aeclust.config import ManifoldParams

ROOT = Path(__file__).resolve().parents[1]

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
    import aeclust.cluster.manifold

    starts = []

    class Spy(aeclust.cluster.manifold.GaussianMixture):
        def fit_predict(self, X, y=None):
            starts.append(self.n_init)
            return super().fit_predict(X, y)

    monkeypatch.setattr(aeclust.cluster.manifold, "GaussianMixture", Spy)
    points, labels = blobs(0.3)
    spec = ManifoldParams(**{**SPEC.__dict__, "n_init": 4})
    cluster_ids, _, _ = manifold_clusters(points, spec, 4, seed=7)
    assert starts == [4]
    assert clustering_accuracy(cluster_ids, labels) == 1.0


def test_umap_is_imported_without_a_deep_learning_framework():
    # umap/__init__.py imports TensorFlow when it is installed; the manifold stage must not.
    script = (
        "import sys; from aeclust.cluster.manifold import umap_class; umap_class(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_refusal_ends_with_the_import():
    from aeclust.cluster.manifold import umap_class

    finders = list(sys.meta_path)
    umap_class()
    assert sys.meta_path == finders
    importlib.util.find_spec("tensorflow")  # would raise while refused


def test_without_umap_learn_the_error_says_what_to_install():
    # Run where umap cannot be found (as on a machine without umap-learn).
    script = (
        "import sys\n"
        "from aeclust.imports import hidden\n"
        "from aeclust.cluster.manifold import umap_class\n"
        "try:\n"
        "    with hidden(('umap',)):\n"
        "        umap_class()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.startswith("UserError methods.manifold needs umap-learn"), result.stderr


def test_umap_metrics_run_compiled_and_give_scikit_learns_matrix_bit_for_bit():
    from aeclust.cluster.manifold import umap_class

    umap_class()  # umap's package import, under the TensorFlow refusal
    from sklearn.metrics import pairwise_distances
    from umap.distances import named_distances

    from aeclust.cluster import pairwise
    from aeclust.config import UMAP_METRICS

    points, _ = blobs(1.0, per=40, dim=7)
    # a duplicate, an all-zero and a constant row: cosine's and correlation's special cases
    points = np.vstack([points, points[:1], np.zeros((1, 7)), np.full((1, 7), 2.0)])
    points = points.astype(np.float32)
    for name in UMAP_METRICS:
        metric = named_distances[name]
        which = pairwise.metric_index(metric)
        assert which is not None, f"{name} is not computed by aeclust.cluster.pairwise"
        fast = pairwise.all_pairs(points, which).astype(np.float32)
        np.testing.assert_array_equal(fast, pairwise_distances(points, metric=metric), name)


@pytest.mark.filterwarnings("ignore:n_jobs value")
def test_umap_embeds_as_it_does_alone_with_the_compiled_distances():
    from aeclust.cluster.manifold import fast_small_data_distances, umap_class

    points, _ = blobs(2.0)

    def fit():
        umap = umap_class()(n_components=3, n_neighbors=10, min_dist=0.0, random_state=7)
        return umap.fit_transform(points)

    alone = fit()
    with fast_small_data_distances() as fast_calls:
        fast = fit()
        assert fast_calls == [200]  # umap asked for the 200 x 200 matrix, and got it compiled
        # any other call (here: two sets of points) goes to scikit-learn as it was
        import umap.umap_
        from sklearn.metrics import pairwise_distances

        metric = umap.umap_.dist.named_distances["euclidean"]
        two_sets = umap.umap_.pairwise_distances(points[:5], points[5:9], metric=metric)
        np.testing.assert_array_equal(
            two_sets, pairwise_distances(points[:5], points[5:9], metric=metric)
        )
        assert fast_calls == [200]
    assert umap.umap_.pairwise_distances is pairwise_distances  # put back after the block
    np.testing.assert_array_equal(fast, alone)


@pytest.mark.slow
def test_umaps_compiled_functions_are_kept_for_the_next_process(tmp_path):
    # NUMBA_CACHE_DIR takes numba's on-disk cache; umap itself asks to cache almost none
    # of the functions a fit compiles.
    script = (
        "import numpy as np\n"
        "from aeclust.config import ManifoldParams\n"
        "from aeclust.cluster.manifold import embed\n"
        "spec = ManifoldParams(True, 2, 5, 0.0, 'euclidean', 'kmeans')\n"
        "embed(np.random.default_rng(0).normal(size=(60, 4)), spec, seed=1)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    cached = {path.name.split(".")[0] for path in tmp_path.rglob("*.nbi")}
    assert {"umap_", "layouts"} <= cached, sorted(cached)


# What a process compiled rather than loaded from numba's cache: the misses of every
# cached dispatcher of umap-learn, pynndescent and aeclust (a JSON count), after a
# manifold fit shaped as the default stage's (float32 latents of another size and width).
COMPILED_AFTER_A_FIT = (
    "import json, sys\n"
    "import numpy as np\n"
    "from numba.core.caching import NullCache\n"
    "from numba.core.registry import CPUDispatcher\n"
    "from aeclust.config import load_params\n"
    "from aeclust.cluster.manifold import manifold_clusters\n"
    "params = load_params(sys.argv[1])\n"
    "latents = np.random.default_rng(5).normal(size=(700, 100)).astype(np.float32)\n"
    "manifold_clusters(latents, params.methods.manifold, params.methods.n_clusters, 1)\n"
    "hits = misses = 0\n"
    "for name, module in list(sys.modules.items()):\n"
    "    if module is None or name.partition('.')[0] not in ('umap', 'pynndescent', 'aeclust'):\n"
    "        continue\n"
    "    for f in list(vars(module).values()):\n"
    "        if isinstance(f, CPUDispatcher) and not isinstance(f._cache, NullCache):\n"
    "            hits += sum(f.stats.cache_hits.values())\n"
    "            misses += sum(f.stats.cache_misses.values())\n"
    "print(json.dumps({'hits': hits, 'misses': misses}))\n"
)


def compiled_after_a_fit(cache: Path, params: Path) -> dict[str, int]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", COMPILED_AFTER_A_FIT, str(params)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_warm_up_leaves_nothing_for_the_first_manifold_stage_to_compile(tmp_path):
    params = ROOT / "params.yaml"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "warm")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "warm_up.py"), str(params)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("warm-up: manifold's compiled code cached")
    warm = compiled_after_a_fit(tmp_path / "warm", params)
    # What every process compiles, even after a fit of its own has filled the cache: the
    # few functions umap compiles as it imports, before caching is asked for.
    again = compiled_after_a_fit(tmp_path / "warm", params)
    # (Had the warm-up missed some, this first fit would compile them: more misses than
    # the second one, which loads what the first stored.)
    assert warm == again and warm["hits"] > 10 * warm["misses"]


@pytest.mark.parametrize(
    "params_text, expected",
    [
        ("seed: [1]\n", "warm-up: skipped: params.yaml"),  # one line, and setup goes on
        (None, ""),  # methods.manifold.enabled: false: nothing to compile
    ],
)
def test_the_warm_up_skips_what_it_need_not_or_cannot_do(tmp_path, params_text, expected):
    params = tmp_path / "params.yaml"
    if params_text is None:
        raw = yaml.safe_load((ROOT / "params.yaml").read_text())
        raw["methods"]["manifold"]["enabled"] = False
        params_text = yaml.safe_dump(raw)
    params.write_text(params_text)
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "warm_up.py"), str(params)],
        capture_output=True,
        text=True,
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(expected) and result.stderr.count("\n") <= 1
    assert not list((tmp_path / "cache").rglob("*.nbi"))


def test_run_seeds_start_with_the_seed_and_differ():
    from aeclust.cluster.runs import run_seeds

    assert run_seeds(7, 1) == [7]
    seeds = run_seeds(7, 5)
    assert seeds[0] == 7 and len(set(seeds)) == 5
    assert seeds == run_seeds(7, 5) and seeds[1:] != run_seeds(8, 5)[1:]


def test_vote_outvotes_one_noisy_run_and_ignores_renaming():
    from aeclust.cluster.consensus import consensus

    truth = np.repeat(np.arange(3), 20)
    renamed = (truth + 1) % 3  # the same partition under other names
    noisy = truth.copy()
    noisy[:5] = 2  # five items of cluster 0 put in cluster 2
    ids, medoid = consensus([noisy, renamed, truth], "vote", 3)
    assert medoid in (1, 2)  # the two that agree fully beat the noisy run
    # the result is the true partition (named as the medoid names it)
    mapping = {int(a): int(b) for a, b in zip(ids, truth, strict=True)}
    assert len(mapping) == 3 and all(mapping[int(a)] == b for a, b in zip(ids, truth, strict=True))
    medoid_ids, chosen = consensus([noisy, renamed, truth], "medoid", 3)
    assert chosen == medoid and np.array_equal(medoid_ids, [noisy, renamed, truth][chosen])


def test_vote_ties_go_to_the_medoid():
    from aeclust.cluster.consensus import vote

    a = np.array([0, 0, 1, 1])
    b = np.array([0, 1, 1, 1])
    assert vote([a, b], 0, 2).tolist() == a.tolist()
    assert vote([a, b], 1, 2).tolist() == b.tolist()


def test_consensus_rejects_ids_out_of_range():
    from aeclust.cluster.consensus import consensus

    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        consensus([np.array([0, 1]), np.array([0, 2])], "vote", 2)


def test_several_runs_are_deterministic_and_separate_blobs():
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=20.0, size=(4, 6))
    truth = np.repeat(np.arange(4), 50)
    points = (centres[truth] + rng.normal(size=(200, 6))).astype(np.float32)
    spec = dataclasses.replace(SPEC, runs=3, consensus="vote")
    first = manifold_clusters(points, spec, 4, seed=7)
    second = manifold_clusters(points, spec, 4, seed=7)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert clustering_accuracy(first[0], truth) == 1.0
