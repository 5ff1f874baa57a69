"""N2D's clustering (McConville et al. 2019): UMAP of an autoencoder's latents to a few
dimensions, then a Gaussian mixture (or KMeans) on that embedding.

No deep-learning framework is imported here: see `umap_class`.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from collections.abc import Iterator

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from aeclust.cluster.consensus import combine_runs
from aeclust.cluster.runs import run_seeds
from aeclust.config import ManifoldParams
from aeclust.errors import UserError
from aeclust.imports import hidden

# umap/__init__.py imports umap.parametric_umap, which imports TensorFlow whenever it is
# installed (5 s or more, and a framework that only train/encode/dec may load); when it is
# missing, umap carries on without ParametricUMAP. No umap module can be imported without
# running umap/__init__.py, so `umap_class` refuses TensorFlow for the length of that import.
_NOT_NEEDED = ("tensorflow",)


def umap_class():
    """umap-learn's `UMAP`, imported without TensorFlow (unless something imported it
    before). Raises `UserError` if umap-learn is not installed."""
    try:
        with hidden(_NOT_NEEDED), warnings.catch_warnings():
            warnings.simplefilter("ignore", ImportWarning)  # "ParametricUMAP will be unavailable"
            from umap.umap_ import UMAP
    except ImportError as exc:
        if exc.name is not None and exc.name.partition(".")[0] in ("umap", "pynndescent"):
            raise UserError(
                "methods.manifold needs umap-learn: pip install umap-learn "
                "(or set methods.manifold.enabled: false)"
            ) from None
        raise
    _cache_compilations(("umap",))
    return UMAP


def _cache_compilations(packages: tuple[str, ...]) -> None:
    """Let numba keep on disk what it compiles for the loaded modules of `packages`.

    umap-learn compiles its numba functions (nearest neighbours' smoothing, the layout's
    epochs, ...) in every process that fits, ~9 s of a 3000-image manifold stage here, and
    asks numba to cache only one of them. `enable_caching` is what `numba.njit(cache=True)`
    calls: the machine code is stored beside the module (or in numba's user cache) and
    loaded by the next process, keyed on the source file, so an upgrade compiles afresh."""
    try:
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:  # numba moved them: compile in every process, as umap would
        return
    modules = [
        module
        for name, module in list(sys.modules.items())
        if module is not None and name.partition(".")[0] in packages
    ]
    for module in modules:
        for candidate in list(vars(module).values()):
            cache = getattr(candidate, "_cache", None)
            if isinstance(candidate, CPUDispatcher) and isinstance(cache, NullCache):
                try:
                    candidate.enable_caching()
                except RuntimeError:  # no writable place for a cache: compile each time
                    return


@contextlib.contextmanager
def fast_small_data_distances() -> Iterator[list[int]]:
    """For the length of the block, UMAP's all-pairs distances run compiled.

    Below 4096 rows UMAP computes every pairwise distance with scikit-learn's
    `pairwise_distances` and its own numba metric function as a callable: one Python call
    per pair, 4.5 million at 3000 rows (~6 s here). Inside this block umap's reference to
    `pairwise_distances` is a function that runs the same metric functions in one compiled,
    parallel loop (`aeclust.cluster.pairwise`): the same matrix, bit for bit (tested), in ~0.2 s.
    Any other call goes to scikit-learn unchanged. Yields a list that gets the row count
    of each matrix computed the fast way."""
    import umap.umap_ as umap_module

    fast_calls: list[int] = []
    original = getattr(umap_module, "pairwise_distances", None)
    try:
        from aeclust.cluster import pairwise
    except ImportError:  # a umap-learn without these metric functions
        original = None
    if original is None:  # umap computes its distances otherwise: leave it be
        yield fast_calls
        return

    def distances(X, Y=None, metric="euclidean", **kwds):
        which = pairwise.metric_index(metric)
        if (
            which is None
            or Y is not None
            or kwds
            or not isinstance(X, np.ndarray)
            or X.ndim != 2
            or X.dtype not in (np.float32, np.float64)
            or len(X) < 2
            or not np.isfinite(X).all()
        ):
            return original(X, Y, metric=metric, **kwds)
        # scikit-learn's result type for this input (float32 for float32 in 1.9, float64
        # in older versions), asked of two rows, so that the values round as they do there.
        result_type = original(X[:2], metric=metric).dtype
        fast_calls.append(len(X))
        return pairwise.all_pairs(X, which).astype(result_type, copy=False)

    umap_module.pairwise_distances = distances
    try:
        yield fast_calls
    finally:
        umap_module.pairwise_distances = original


def embed(
    latents: np.ndarray, spec: ManifoldParams, seed: int, parallel: bool = False
) -> np.ndarray:
    """UMAP of (n, d) latents to (n, spec.n_components) float32.

    Seeded, hence single-threaded, and the same on every run on the same machine; with
    `parallel`, unseeded on every core: several times faster on many cores, not reproducible."""
    umap = umap_class()(
        n_components=spec.n_components,
        n_neighbors=spec.n_neighbors,
        min_dist=spec.min_dist,
        metric=spec.metric,
        random_state=None if parallel else seed,
        n_jobs=-1 if parallel else 1,
    )
    flat = latents.reshape(len(latents), -1).astype(np.float32)
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state", graph warnings on tiny data
        warnings.simplefilter("ignore", UserWarning)
        with fast_small_data_distances():
            embedding = umap.fit_transform(flat)
    return np.asarray(embedding, dtype=np.float32)


def cluster_embedding(
    embedding: np.ndarray, clusterer: str, n_clusters: int, seed: int, n_init: int = 1
) -> tuple[np.ndarray, float]:
    """Cluster an (n, k) embedding: "gmm" (full-covariance Gaussian mixture, as N2D; the
    best likelihood of `n_init` starts) or "kmeans" (10 restarts).
    Returns (cluster ids (n,) int64, inertia: NaN for gmm)."""
    values = embedding.astype(np.float64)
    if clusterer == "gmm":
        mixture = GaussianMixture(
            n_components=n_clusters, covariance_type="full", n_init=n_init, random_state=seed
        )
        return mixture.fit_predict(values).astype(np.int64), float("nan")
    if clusterer == "kmeans":
        model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed)
        return model.fit_predict(values).astype(np.int64), float(model.inertia_)
    raise ValueError(f"clusterer={clusterer!r}: must be gmm or kmeans")


def manifold_clusters(
    latents: np.ndarray, spec: ManifoldParams, n_clusters: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """N2D on (n, d) latents, `spec.runs` times (UMAP and clusterer seeded by `run_seeds`),
    combined by `spec.consensus` (`combine_runs`).
    Returns (cluster ids (n,), embedding (n, k), inertia)."""
    cluster_ids, embedding, inertia, _ = manifold_clusterings(
        latents, spec, n_clusters, seed, (spec.clusterer,)
    )[spec.clusterer]
    return cluster_ids, embedding, inertia


def manifold_clusterings(
    latents: np.ndarray,
    spec: ManifoldParams,
    n_clusters: int,
    seed: int,
    clusterers: tuple[str, ...],
    parallel: bool = False,
) -> dict[str, tuple[np.ndarray, np.ndarray, float, float]]:
    """`manifold_clusters` with each of `clusterers` on the same UMAP embeddings (`parallel`:
    see `embed`). Returns clusterer -> (cluster ids, embedding, inertia, seconds: UMAP's
    and that clusterer's)."""
    kept: dict[str, tuple[list, list, list]] = {c: ([], [], []) for c in clusterers}
    seconds = dict.fromkeys(clusterers, 0.0)
    for run_seed in run_seeds(seed, spec.runs):
        start = time.perf_counter()
        embedding = embed(latents, spec, run_seed, parallel=parallel)
        umap_seconds = time.perf_counter() - start
        for clusterer in clusterers:
            start = time.perf_counter()
            cluster_ids, inertia = cluster_embedding(
                embedding, clusterer, n_clusters, run_seed, spec.n_init
            )
            seconds[clusterer] += umap_seconds + time.perf_counter() - start
            for kept_list, value in zip(
                kept[clusterer], (cluster_ids, embedding, inertia), strict=True
            ):
                kept_list.append(value)
    return {
        clusterer: (*combine_runs(*kept[clusterer], spec.consensus, n_clusters), seconds[clusterer])
        for clusterer in clusterers
    }


# Rows of `warm_up`'s sample: below UMAP's 4096, where it takes the all-pairs path that the
# pipeline's default 3000 images take (larger samples run pynndescent, whose compilations
# are a small part of their fit).
WARM_UP_ROWS = 300


def warm_up(spec: ManifoldParams, n_clusters: int, seed: int) -> None:
    """Compile what `manifold_clusters` runs for `spec` (umap-learn's and pynndescent's
    numba functions, `aeclust.cluster.pairwise`) and leave it in numba's cache, on a random sample
    of WARM_UP_ROWS rows in the stage's dtype: the first manifold stage after an install
    then loads that code (~1 s here) instead of compiling it (~20 s, 2 cores).
    `scripts/setup.sh` runs it once per install (`scripts/warm_up.py`)."""
    rows = max(WARM_UP_ROWS, 2 * spec.n_neighbors)
    sample = np.random.default_rng(seed).standard_normal((rows, 16)).astype(np.float32)
    manifold_clusters(sample, spec, n_clusters, seed)
