"""Time the pipeline as a user runs it: a full `dvc repro` from a clean state (and each
stage's share of it), a no-op `dvc repro`, and each stage on its own; peak memory of each
stage. The host's speed is measured before and after (a fixed matrix product's GFLOP/s):
these machines are shared, and the same run varies by 1.5x from hour to hour.

Runs in a temporary copy of the project (a new git + DVC repository), so the project's
own outputs are untouched. Prints figures; asserts nothing (see README, "Speed").

    python bench/pipeline_times.py                      # the default params (slow: trains)
    python bench/pipeline_times.py --set data.n_samples=300 --set models.ffn.epochs=2 ...
    python bench/pipeline_times.py --source idx:/path/to/mnist --set data.n_samples=all
    python bench/pipeline_times.py --set models.ffn.epochs=5 --set models.cnn.epochs=5 \
        --stages prepare standardize kmeans report --repeat 7   # the light stages, min/median
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FILES = ["dvc.yaml", "params.yaml", "stages", "src", "data/raw", ".dvcignore", ".gitignore"]
BIN = Path(sys.executable).parent


def venv_env(**extra: str) -> dict[str, str]:
    """This environment with the virtual environment's bin first on PATH (dvc, python)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra}


def sh(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=venv_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return seconds, result.stdout + result.stderr


def host_gflops(repeats: int = 20) -> float:
    """GFLOP/s of the cnn's largest product, (300 x 5760) @ (5760 x 196) in float32 with
    NumPy's BLAS, fastest of `repeats`: how fast this machine runs at the moment."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 5760), dtype=np.float32)
    b = rng.standard_normal((5760, 196), dtype=np.float32)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 300 * 5760 * 196 / best / 1e9


def timed_repro(cwd: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of `dvc repro` and of each stage it ran: from DVC's "Running stage"
    line to the next one (or the end), so each stage's share holds its DVC bookkeeping
    (hashing its outputs, the lock file) as a user waits for it."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "dvc"), "repro"],
        cwd=cwd,
        env=venv_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    starts: list[tuple[str, float]] = []
    lines = []
    for line in proc.stdout:  # DVC's logger flushes every line: stamped as it comes
        lines.append(line)
        found = re.match(r"Running stage '(.+)':", line)
        if found:
            starts.append((found.group(1), time.perf_counter()))
    proc.wait()
    end = time.perf_counter()
    if proc.returncode:
        sys.exit(f"dvc repro failed:\n{''.join(lines)}")
    ends = [t for _, t in starts[1:]] + [end]
    return end - start, {name: stop - t for (name, t), stop in zip(starts, ends, strict=True)}


def timed_stage(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one stage command, run directly (with the
    `PYTHONPATH=src` of dvc.yaml's commands)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        shell=False,
        cwd=cwd,
        env=venv_env(PYTHONPATH="src"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"{' '.join(cmd)} failed")
    return seconds, usage.ru_maxrss / 1024


def set_param(params: dict, dotted: str, value: str) -> None:
    node = params
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = yaml.safe_load(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a param, e.g. models.cnn.epochs=5 (repeatable)",
    )
    parser.add_argument("--source", help="data.source for the run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    parser.add_argument(
        "--stages",
        nargs="*",
        metavar="STAGE",
        help="stages to time on their own (default: all; e.g. prepare kmeans "
        "'train ffn'; none: only the two dvc repro runs); the train stages retrain",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each stage N times and print the fastest and the median (the machine is "
        "shared: one run can be off by a few tenths of a second)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: must be >= 1")

    work = Path(tempfile.mkdtemp(prefix="aeclust-bench-"))
    project = work / "project"
    for name in FILES:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, project / name)
    params = yaml.safe_load((project / "params.yaml").read_text())
    for item in args.set:
        key, _, value = item.partition("=")
        set_param(params, key, value)
    if args.source:
        params["data"]["source"] = args.source
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (
        ["git", "init", "-q"],
        [str(BIN / "dvc"), "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "bench"],
    ):
        sh(cmd, project)

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}, KERAS_BACKEND={backend}"
    )
    print(
        f"params: n_samples={params['data']['n_samples']} source={params['data']['source']} "
        + " ".join(f"{m}.epochs={s['epochs']}" for m, s in params["models"].items())
    )
    print(f"host speed before: {host_gflops():.0f} GFLOP/s (bench/pipeline_times.host_gflops)")
    full, within = timed_repro(project)
    print(f"full dvc repro (clean):     {full:8.1f} s")
    print(
        "  its stages, slowest first: "
        + ", ".join(
            f"{name} {seconds:.1f}" for name, seconds in sorted(within.items(), key=lambda x: -x[1])
        )
    )
    noop, _ = sh([str(BIN / "dvc"), "repro"], project)
    print(f"no-op dvc repro:            {noop:8.1f} s")

    stages = ["prepare", "standardize"]
    for stage in ("train", "encode", "dec", "manifold"):
        stages += [f"{stage} {m}" for m in params["models"]]
    stages += ["kmeans", "report"]
    if args.stages is not None:
        stages = [stage for stage in stages if stage in args.stages]
    print("each stage on its own (python stages/<stage>.py), wall seconds and peak memory:")
    for stage in stages:
        name, *arg = stage.split()
        runs = [
            timed_stage([str(BIN / "python"), f"stages/{name}.py", *arg], project)
            for _ in range(args.repeat)
        ]
        seconds = [s for s, _ in runs]
        peak = max(p for _, p in runs)
        if args.repeat == 1:
            print(f"  {stage:18s} {seconds[0]:8.2f} s  {peak:8.0f} MB")
        else:
            print(
                f"  {stage:18s} {min(seconds):8.2f} s fastest, {statistics.median(seconds):.2f} s "
                f"median of {args.repeat}  {peak:8.0f} MB"
            )
    print(f"host speed after: {host_gflops():.0f} GFLOP/s")
    if args.keep:
        print(f"project kept in {project}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
