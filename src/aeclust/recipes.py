"""Named recipes: `recipes/<name>.yaml`, an overlay of params.yaml holding only the keys it
changes, run as DVC experiments by `scripts/recipe.sh`.

An overlay's mappings merge into params.yaml's; any other value (a number, a string, a
list) replaces the value at its key; `null` removes the key (`models: {cnn: null}` drops
the cnn and its stages). A recipe is applied as DVC's own `-S` overrides, one per changed
leaf (`++models.simclr.epochs=30`, `~models.cnn`), so `dvc exp show` lists what it set and
a queued experiment carries it into its temporary copy. A relative path in `data.source`
(`idx:../shared/data/mnist`) is taken from the project root and passed as an absolute
path, which a queued experiment's copy of the project resolves too.

    python -m aeclust.recipes list                         # the recipes, one a line
    python -m aeclust.recipes overrides NAME [-S K=V ...]  # its -S overrides, one a line
    python -m aeclust.recipes name NAME [-S K=V ...]       # the experiment's name

`overrides` and `name` validate params.yaml with the recipe and the extra `-S` settings
applied (later settings win), and exit 2 with one line on a bad recipe or setting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from aeclust.config.overrides import apply
from aeclust.config.schema import parse_params
from aeclust.errors import ParamsError

RECIPES_DIR = Path("recipes")
PATH_SOURCES = ("idx:", "npz:", "csv:", "pickle:")  # data.source kinds that name a local path


def available(root: Path) -> list[str]:
    return sorted(path.stem for path in (root / RECIPES_DIR).glob("*.yaml"))


def load_recipe(name: str, root: Path) -> dict[str, Any]:
    """The overlay of `recipes/<name>.yaml` (one ParamsError line if it is not there or not
    a mapping)."""
    path = root / RECIPES_DIR / f"{name}.yaml"
    known = ", ".join(available(root)) or "none"
    if not name or "/" in name or not path.is_file():
        raise ParamsError(f"recipe {name!r}: no {RECIPES_DIR}/{name}.yaml; recipes: {known}")
    try:
        overlay = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ParamsError(f"{RECIPES_DIR}/{name}.yaml: not valid YAML{where}") from None
    if not isinstance(overlay, dict) or not overlay:
        raise ParamsError(
            f"{RECIPES_DIR}/{name}.yaml: must be a mapping of the params.yaml keys it changes"
        )
    return overlay


def hydra_value(value: Any) -> str:
    """`value` in the override grammar of `dvc exp run -S` (Hydra's): strings quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ",".join(hydra_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    raise ParamsError(f"recipe value {value!r}: must be a number, string, list or mapping")


def absolute_source(source: Any, root: Path) -> Any:
    """`data.source` with a relative local path made absolute from the project root."""
    if not isinstance(source, str):
        return source
    for kind in PATH_SOURCES:
        if source.startswith(kind) and not Path(source[len(kind) :]).is_absolute():
            return kind + str((root / source[len(kind) :]).resolve())
    return source


def overrides(overlay: dict[str, Any], base: dict[str, Any], root: Path) -> list[str]:
    """The `-S` overrides that turn `base` (params.yaml) into `base` with `overlay` merged."""
    out: list[str] = []

    def walk(node: dict[str, Any], under: dict[str, Any] | None, prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            here = under.get(key) if isinstance(under, dict) else None
            if value is None:
                if isinstance(under, dict) and key in under:
                    out.append(f"~{dotted}")
            elif isinstance(value, dict) and value and isinstance(here, dict):
                walk(value, here, f"{dotted}.")
            elif isinstance(value, dict) and value:
                walk(value, None, f"{dotted}.")  # a new section: each leaf added
            else:
                if dotted == "data.source":
                    value = absolute_source(value, root)
                out.append(f"++{dotted}={hydra_value(value)}")

    walk(overlay, base, "")
    return out


def recipe_params(name: str, settings: list[str], root: Path) -> tuple[list[str], Any]:
    """(the recipe's overrides, the validated params) for params.yaml at `root` with the
    recipe, then `settings`, applied."""
    path = root / "params.yaml"
    try:
        base = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the project root)") from None
    sets = overrides(load_recipe(name, root), base, root)
    try:
        changed = apply(base, sets)
    except ParamsError as exc:
        raise ParamsError(f"{RECIPES_DIR}/{name}.yaml: {exc}") from None
    params = parse_params(apply(changed, settings), prefix=f"params.yaml with recipe {name}: ")
    return sets, params


def experiment_name(name: str, seed: int) -> str:
    return f"{name}-seed{seed}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m aeclust.recipes")
    parser.add_argument("command", choices=("list", "overrides", "name"))
    parser.add_argument("name", nargs="?")
    parser.add_argument("-S", "--set-param", action="append", default=[], dest="settings")
    args, _ = parser.parse_known_args(argv)  # other dvc exp run options are not ours
    root = Path.cwd()
    if args.command == "list":
        print("\n".join(available(root)))
        return
    if args.name is None:
        raise ParamsError(f"{args.command}: name a recipe; recipes: {', '.join(available(root))}")
    sets, params = recipe_params(args.name, args.settings, root)
    if args.command == "overrides":
        print("\n".join(sets))
    else:
        print(experiment_name(args.name, params.seed))


if __name__ == "__main__":
    from aeclust.stage import run_stage

    run_stage("recipe", lambda _: main(sys.argv[1:]))
