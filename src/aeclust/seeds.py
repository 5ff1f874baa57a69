"""Means and standard deviations over seeds: the honest numbers.

A single run is one draw (of the sample, the initial weights, the batches and the
clustering's start); scores move by several points from seed to seed. Run the same params
over several seeds as DVC experiments, then summarise them:

    dvc exp run --queue -S seed=1,2,3,4,5      # five experiments, one per seed
    dvc queue start -j 1                        # -j 2 on a machine with cores to spare
    python -m aeclust.seeds                     # -> reports/seeds.md, reports/seeds.json
    python -m aeclust.seeds --seeds 1,2,3,4,5   # those seeds only (not the baseline's 42)

This reads `dvc exp show --json` (the experiments of HEAD, HEAD itself and the workspace),
groups the finished runs by their params with `seed` left out, and writes, for each group,
the mean, standard deviation (n - 1), minimum and maximum of ACC, NMI and ARI of every run
in reports/metrics.json (raw, ffn, ffn+dec, ...), over its distinct seeds. The group with
the params of the workspace's params.yaml comes first; the others are named by the params
in which they differ from it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aeclust.errors import UserError
from aeclust.io.storage import save_json, save_text

log = logging.getLogger("aeclust.seeds")

METRICS_FILE = "reports/metrics.json"
PARAMS_FILE = "params.yaml"
SCORES = ("acc", "nmi", "ari")
SEED_KEY = "seed"


@dataclass(frozen=True)
class Run:
    """One finished pipeline run: its name, flattened params and reports/metrics.json."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, dict[str, float | None]]

    @property
    def seed(self) -> Any:
        return self.params.get(SEED_KEY)


@dataclass
class Group:
    """Runs that differ only in their seed. `differs`: their params that differ from the
    reference params (empty for the reference's own group); `stats[run][score]` =
    {"n", "mean", "std", "min", "max"}; `per_seed[seed][run][score]`."""

    differs: dict[str, Any]
    seeds: list[Any]
    names: list[str]
    stats: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    per_seed: dict[Any, dict[str, dict[str, float | None]]] = field(default_factory=dict)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists are kept as values."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(
            flatten(value, f"{prefix}{key}." if isinstance(value, dict) else f"{prefix}{key}")
        )
    return flat


def _file_data(results: dict | None, path: str) -> dict | None:
    entry = (results or {}).get(path) or {}
    return entry.get("data") if isinstance(entry, dict) else None


def runs_from_exp_show(show: list[dict]) -> list[Run]:
    """The finished runs in `dvc exp show --json` output: the workspace, each baseline
    commit and each of its experiments that has both params.yaml and reports/metrics.json
    (queued, running and failed experiments have no metrics yet and are left out)."""
    runs: list[Run] = []

    def add(state: dict, fallback: str) -> None:
        data = state.get("data") or {}
        params = _file_data(data.get("params"), PARAMS_FILE)
        metrics = _file_data(data.get("metrics"), METRICS_FILE)
        if state.get("error") or not params or not metrics:
            return
        name = state.get("name") or fallback
        runs.append(Run(name=name, params=flatten(params), metrics=metrics))

    def short(rev: Any) -> str:
        return "workspace" if rev == "workspace" else str(rev or "")[:7]

    for baseline in show:
        add(baseline, short(baseline.get("rev")))
        for exp_range in baseline.get("experiments") or []:
            executor = exp_range.get("executor") or {}
            if executor.get("state") not in (None, "success"):
                continue  # queued, running or failed
            for state in exp_range.get("revs") or []:
                add(state, exp_range.get("name") or short(state.get("rev")))
    return runs


def score_stats(values: list[float]) -> dict[str, float | None]:
    """n, mean, standard deviation (n - 1; None for one value), min and max of `values`."""
    n = len(values)
    if not n:
        return {"n": 0, "mean": None, "std": None, "min": None, "max": None}
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {
        "n": n,
        "mean": round(mean, 6),
        "std": None if std is None else round(std, 6),
        "min": min(values),
        "max": max(values),
    }


def summarize(runs: list[Run], reference: dict[str, Any]) -> list[Group]:
    """Group `runs` by their params without the seed and summarise each group over its
    distinct seeds (a seed run twice with the same params counts once: the first found).
    `reference`: flattened params; its group comes first, the rest by size, largest first."""
    reference = {k: v for k, v in reference.items() if k != SEED_KEY}
    grouped: dict[str, list[Run]] = {}
    for one in runs:
        key = json.dumps({k: v for k, v in one.params.items() if k != SEED_KEY}, sort_keys=True)
        grouped.setdefault(key, []).append(one)
    groups = []
    for members in grouped.values():
        unique: dict[str, Run] = {}
        for one in members:
            unique.setdefault(json.dumps(one.seed), one)
        chosen = list(unique.values())
        params = {k: v for k, v in chosen[0].params.items() if k != SEED_KEY}
        keys = sorted(set(params) | set(reference))
        differs = {k: params.get(k) for k in keys if params.get(k) != reference.get(k)}
        group = Group(
            differs=differs, seeds=[r.seed for r in chosen], names=[r.name for r in chosen]
        )
        run_names = list(dict.fromkeys(run for r in chosen for run in r.metrics))
        for run in run_names:
            group.stats[run] = {
                score: score_stats(
                    [
                        float(r.metrics[run][score])
                        for r in chosen
                        if run in r.metrics and r.metrics[run].get(score) is not None
                    ]
                )
                for score in SCORES
            }
        group.per_seed = {
            r.seed: {run: {s: r.metrics.get(run, {}).get(s) for s in SCORES} for run in run_names}
            for r in chosen
        }
        groups.append(group)
    groups.sort(key=lambda g: (bool(g.differs), -len(g.seeds)))
    return groups


def _cell(stats: dict[str, float | None]) -> str:
    if stats["mean"] is None:
        return "-"
    if stats["std"] is None:
        return f"{stats['mean']:.3f}"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def markdown(groups: list[Group]) -> str:
    """reports/seeds.md: one section per group, a mean ± std table and a per-seed table."""
    lines = [
        "# Over seeds",
        "",
        "Mean ± standard deviation (n - 1) over the seeds of runs whose params differ only "
        "in `seed`; written by `python -m aeclust.seeds` from `dvc exp show`. ACC: accuracy "
        "under the best one-to-one matching of clusters to labels.",
    ]
    for group in groups:
        if group.differs:
            title = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in group.differs.items())
            title = f"Params as params.yaml except {title}"
        else:
            title = "Params as params.yaml"
        lines += [
            "",
            f"## {title}",
            "",
            f"{len(group.seeds)} seeds: {', '.join(str(s) for s in group.seeds)} "
            f"(runs: {', '.join(group.names)}).",
            "",
            "| run | n | ACC | NMI | ARI | ACC min | ACC max |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for run, stats in group.stats.items():
            acc = stats["acc"]
            low = "-" if acc["min"] is None else f"{acc['min']:.3f}"
            high = "-" if acc["max"] is None else f"{acc['max']:.3f}"
            lines.append(
                f"| {run} | {acc['n']} | {_cell(acc)} | {_cell(stats['nmi'])} | "
                f"{_cell(stats['ari'])} | {low} | {high} |"
            )
        runs = list(group.stats)
        lines += [
            "",
            "ACC per seed:",
            "",
            "| seed | " + " | ".join(runs) + " |",
            "| ---: | " + " | ".join("---:" for _ in runs) + " |",
        ]
        for seed, values in group.per_seed.items():
            cells = [
                "-" if values[run]["acc"] is None else f"{values[run]['acc']:.3f}" for run in runs
            ]
            lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def exp_show(all_commits: bool) -> list[dict]:
    """`dvc exp show --json` of the project in the current directory."""
    dvc = shutil.which("dvc") or str(Path(sys.executable).parent / "dvc")
    cmd = [dvc, "exp", "show", "--json"] + (["--all-commits"] if all_commits else [])
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError("dvc not found: activate the project's .venv") from None
    if result.returncode:
        raise UserError(f"dvc exp show failed: {' '.join(result.stderr.split())}")
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m aeclust.seeds",
        description="Mean and std over seeds of the DVC experiments (see the module's doc).",
    )
    parser.add_argument("--all-commits", action="store_true", help="every commit's experiments")
    parser.add_argument("--output", default="reports/seeds", help="writes OUTPUT.md, OUTPUT.json")
    parser.add_argument(
        "--seeds",
        help="only these seeds, e.g. 1,2,3,4,5 (default: every seed found, the baseline's too)",
    )
    args = parser.parse_args(argv)
    wanted = None
    if args.seeds is not None:
        try:
            wanted = [int(seed) for seed in args.seeds.split(",")]
        except ValueError:
            raise UserError(
                f"--seeds {args.seeds}: must be integers separated by commas, e.g. 1,2,3,4,5"
            ) from None
    try:
        reference = flatten(yaml.safe_load(Path(PARAMS_FILE).read_text()))
    except FileNotFoundError:
        raise UserError(f"{PARAMS_FILE}: not found (run from the project root)") from None
    runs = runs_from_exp_show(exp_show(args.all_commits))
    if wanted is not None:
        runs = [one for one in runs if one.seed in wanted]
    groups = summarize(runs, reference)
    if not groups:
        raise UserError(
            "no finished runs with reports/metrics.json: "
            "dvc exp run --queue -S seed=1,2,3,4,5 && dvc queue start"
        )
    save_text(f"{args.output}.md", markdown(groups))
    save_json(
        f"{args.output}.json",
        [
            {
                "differs": g.differs,
                "seeds": g.seeds,
                "runs": g.names,
                "stats": g.stats,
                "per_seed": {str(seed): values for seed, values in g.per_seed.items()},
            }
            for g in groups
        ],
    )
    first = groups[0]
    print(f"{args.output}.md: {len(groups)} group(s); the first over {len(first.seeds)} seeds")


if __name__ == "__main__":
    from aeclust.stage import run_stage

    run_stage("seeds", main)
