"""Gather the finished `digits-3000-seed<N>` experiments of a clone into one JSON per seed:
reports/metrics.json (in git), reports/timings.json and the self-labelling counts (from the
DVC cache, at the experiment's commit), the experiment's commit time and its params.

    python bench/results/cpu-2026-12-07h/collect.py CLONE OUT_DIR [--started ISO-TIME]

--started is when the queue began; each seed's wall time is then the time from the previous
experiment's commit (or --started) to its own, as `dvc queue start -j 1` runs them in turn.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
from pathlib import Path

import dvc.api
import yaml


def git(clone: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=clone, capture_output=True, text=True, check=True
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clone", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--started", help="ISO time the queue started")
    args = parser.parse_args()
    refs = git(args.clone, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    runs = []
    for ref in refs:
        name = ref.rsplit("/", 1)[-1]
        if not name.startswith("digits-3000-seed"):
            continue
        params = yaml.safe_load(git(args.clone, "show", f"{ref}:params.yaml"))
        metrics = json.loads(git(args.clone, "show", f"{ref}:reports/metrics.json"))
        timings = json.loads(dvc.api.read("reports/timings.json", repo=str(args.clone), rev=ref))
        counts = json.loads(
            dvc.api.read(
                "data/methods/simclr+selflabel/selflabel.json", repo=str(args.clone), rev=ref
            )
        )
        counts.pop("history", None)
        finished = git(args.clone, "log", "-1", "--format=%cI", ref).strip()
        runs.append((finished, name, params, metrics, timings, counts))
    runs.sort()
    args.out.mkdir(parents=True, exist_ok=True)
    previous = dt.datetime.fromisoformat(args.started) if args.started else None
    for finished, name, params, metrics, timings, counts in runs:
        end = dt.datetime.fromisoformat(finished)
        record = {
            "recipe": "digits-3000",
            "experiment": name,
            "seed": params["seed"],
            "simclr_epochs": params["models"]["simclr"]["epochs"],
            "finished": finished,
            "wall_seconds": round((end - previous).total_seconds()) if previous else None,
            "metrics": metrics,
            "timings": timings,
            "selflabel": counts,
        }
        previous = end
        (args.out / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(
            name,
            f"{metrics['simclr+manifold']['acc']:.4f}",
            f"{metrics['simclr+selflabel']['acc']:.4f}",
        )


if __name__ == "__main__":
    main()
