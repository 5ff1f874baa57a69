"""Compile, once after an install, the compiled code the pipeline would otherwise compile
in its first run: umap-learn's numba functions for the manifold stages (~20 s on 2 cores;
`aeclust.cluster.manifold.warm_up`). `scripts/setup.sh` runs it after installing.

Usage: python scripts/warm_up.py [params.yaml]

Reads methods.manifold from the params file (its metric picks the distance code); with
the method switched off there is nothing to compile. A params file that does not load is
reported in one line and skipped: the stage would report it again.
"""

import sys
import time

from aeclust.config import load_params
from aeclust.errors import UserError
from aeclust.imports import bulk_imports
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    path = argv[0] if argv else "params.yaml"
    try:
        params = load_params(path)
    except UserError as exc:
        print(f"warm-up: skipped: {exc}", file=sys.stderr)
        return
    if not params.methods.manifold.enabled:
        return
    start = time.perf_counter()
    with bulk_imports():
        from aeclust.cluster.manifold import warm_up
    warm_up(params.methods.manifold, params.methods.n_clusters, params.seed)
    print(f"warm-up: manifold's compiled code cached ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    run_stage("warm-up", main)
