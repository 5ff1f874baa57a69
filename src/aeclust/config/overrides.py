"""params.yaml with `dvc exp run -S` overrides applied, validated before anything runs.

    python -m aeclust.config.overrides [-S KEY=VALUE ...] [--params FILE]

exits 0 when the overridden params are valid, else prints one line (the key, the bad value,
what is allowed) and exits 2: a sweep's job fails on a bad setting in a second, before it
pulls or trains anything. VALUE is read as YAML, as DVC reads it (`-S seed=3`,
`-S models.cnn.epochs=50`, `-S 'data.source="idx:/data/mnist"'`); a KEY may start with
`params.yaml:`. As in DVC's (Hydra's) override grammar, `+KEY=VALUE` and `++KEY=VALUE`
add a key (or set it), and `~KEY` removes one (`-S '~models.cnn'`).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

from aeclust.config.schema import Params, parse_params
from aeclust.errors import ParamsError


def apply(raw: dict, settings: list[str], file: str = "params.yaml") -> dict:
    """A copy of `raw` with each `KEY=VALUE` of `settings` set (VALUE as YAML)."""
    changed = copy.deepcopy(raw)
    for setting in settings:
        dotted, equals, text = setting.partition("=")
        remove = dotted.startswith("~")
        add = dotted.startswith("+")
        dotted = dotted.lstrip("~+").removeprefix(f"{file}:")
        if (not equals and not remove) or not dotted or ":" in dotted:
            raise ParamsError(
                f"-S {setting}: must be KEY=VALUE, +KEY=VALUE or ~KEY, KEY a dotted key of {file}"
            )
        try:
            value: Any = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ParamsError(f"-S {setting}: the value is not valid YAML") from None
        node = changed
        *parents, last = dotted.split(".")
        for depth, key in enumerate(parents, 1):
            if add and key not in node:
                node[key] = {}
            if not isinstance(node.get(key), dict):
                where = ".".join(parents[:depth])
                raise ParamsError(f"-S {setting}: {where} is not a section of {file}")
            node = node[key]
        if remove:
            if last not in node:
                raise ParamsError(f"-S {setting}: {dotted} is not in {file}, nothing to remove")
            del node[last]
        else:
            node[last] = value
    return changed


def overridden_params(path: Path, settings: list[str]) -> Params:
    """params.yaml at `path` with `settings` applied, validated (one ParamsError line)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the project root)") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: must be a mapping of sections")
    return parse_params(apply(raw, settings, path.name), prefix=f"{path.name} with -S: ")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m aeclust.config.overrides")
    parser.add_argument("-S", "--set-param", action="append", default=[], dest="settings")
    parser.add_argument("--params", default="params.yaml")
    args, _ = parser.parse_known_args(argv)  # other dvc exp run options are not ours
    overridden_params(Path(args.params), args.settings)


if __name__ == "__main__":
    from aeclust.stage import run_stage

    run_stage("params", lambda _: main(sys.argv[1:]))
