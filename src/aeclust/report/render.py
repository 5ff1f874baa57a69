"""Drawing figures to PNG files on every core.

A figure job is (path, function, arguments): the function returns a matplotlib Figure,
which is saved to `path` atomically. Jobs are independent, so they run in a pool of
forked processes: matplotlib is already imported there, so a worker starts in
milliseconds, and the workers find the jobs, arrays included, in the memory they
inherit, so only an index travels to them (pickling the images for every figure cost
more than drawing in parallel saved at 70000 images). Where fork is unavailable, or
with one core, the jobs run in turn.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from aeclust.cores import usable_cores
from aeclust.io.storage import atomic_path

FigureJob = tuple[Path, Callable[..., Any], tuple]
DPI = 90
_JOBS: Sequence[FigureJob] = ()  # what the forked workers of `draw_all` inherit


def _draw(job: FigureJob) -> None:
    path, function, args = job
    fig = function(*args)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # a figure made through pyplot stays open until it is closed
        pyplot.close(fig)


def _draw_inherited(index: int) -> None:
    _draw(_JOBS[index])


def draw_all(jobs: Sequence[FigureJob], workers: int | None = None) -> None:
    """Draw and save every job; the first failure is raised (after the others end).
    `workers`: processes (default: the usable cores); give the costliest jobs first."""
    if workers is None:
        workers = usable_cores()
    workers = max(1, min(workers, len(jobs)))
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for job in jobs:
            _draw(job)
        return
    global _JOBS
    _JOBS = jobs  # set before the pool forks its workers (at the first submit)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for result in [pool.submit(_draw_inherited, i) for i in range(len(jobs))]:
                result.result()
    finally:
        _JOBS = ()
