"""What a sweep's job asks of the experiments already pushed to the team's git remote.

    python -m aeclust.sweep done [--among NAMES] [-S KEY=VALUE ...]

prints the name of a finished experiment of HEAD whose params.yaml equals params.yaml with
these overrides (`dvc exp show --json`, after the remote's experiment refs are fetched),
among NAMES (newline-separated: those the remote holds) if given, or nothing:
`scripts/exp-job.sh` then knows the experiment is already done, anywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from aeclust.config.overrides import apply, overridden_params
from aeclust.seeds import exp_show


def finished_experiments(show: list[dict]) -> dict[str, dict[str, Any]]:
    """{experiment name: its params.yaml} for every finished experiment in `dvc exp show
    --json` output (queued, running and failed ones are left out)."""
    found = {}
    for baseline in show:
        for exp_range in baseline.get("experiments") or []:
            if (exp_range.get("executor") or {}).get("state") not in (None, "success"):
                continue
            newest = (exp_range.get("revs") or [{}])[0]
            data = newest.get("data") or {}
            params = ((data.get("params") or {}).get("params.yaml") or {}).get("data")
            if newest.get("error") or not params:
                continue
            found[exp_range.get("name") or newest.get("name") or newest["rev"]] = params
    return found


def same_params(
    show: list[dict], params: dict[str, Any], among: set[str] | None = None
) -> str | None:
    """The name of a finished experiment (of `among`, if given) whose params are `params`,
    or None."""
    for name, their_params in finished_experiments(show).items():
        if their_params == params and (among is None or name in among):
            return name
    return None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m aeclust.sweep")
    parser.add_argument("command", choices=["done"])
    parser.add_argument("--among", help="newline-separated experiment names to look among")
    parser.add_argument("-S", "--set-param", action="append", default=[], dest="settings")
    args, _ = parser.parse_known_args(argv)
    among = None if args.among is None else set(args.among.split())
    path = Path("params.yaml")
    overridden_params(path, args.settings)  # valid, or one line
    wanted = apply(yaml.safe_load(path.read_text()), args.settings, path.name)
    name = same_params(exp_show(all_commits=False), wanted, among)
    if name:
        print(name)


if __name__ == "__main__":
    from aeclust.stage import run_stage

    run_stage("sweep", lambda _: main(sys.argv[1:]))
