"""dvc.yaml: each stage depends on every module of the package that its script runs, so
that changing any of them reruns the stage (and nothing else is missed by the run-cache)."""

import ast

import pytest
import yaml
from conftest import ROOT

SRC = ROOT / "src"


def module_file(dotted: str):
    """The file of module `dotted` (aeclust.nets.fit), or None if it is not one of ours."""
    base = SRC.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def with_packages(dotted: str) -> set[str]:
    """`dotted` and the packages above it, whose __init__ runs when it is imported."""
    parts = dotted.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def imported_modules(path) -> set[str]:
    """The aeclust modules `path` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aeclust"):
            found |= with_packages(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("aeclust"):
                    found |= with_packages(alias.name)
    return {name for name in found if module_file(name)}


def closure(script) -> set[str]:
    todo, seen = imported_modules(script), set()
    while todo:
        name = todo.pop()
        seen.add(name)
        todo |= imported_modules(module_file(name)) - seen
    return {str(module_file(name).relative_to(ROOT)) for name in seen}


def stages():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in spec.items():
        body = stage.get("do", stage)
        script = next(w for w in body["cmd"].split() if w.startswith("stages/"))
        yield name, script, set(body.get("deps", []))


@pytest.mark.parametrize(("name", "script", "deps"), list(stages()), ids=lambda v: str(v)[:20])
def test_stage_depends_on_every_module_it_runs(name, script, deps):
    assert script in deps
    missing = closure(ROOT / script) - deps
    assert not missing, f"{name}: dvc.yaml deps lack {sorted(missing)}"


@pytest.mark.parametrize(("name", "script", "deps"), list(stages()), ids=lambda v: str(v)[:20])
def test_stage_depends_on_no_module_it_does_not_run(name, script, deps):
    extra = {d for d in deps if d.startswith("src/")} - closure(ROOT / script)
    assert not extra, f"{name}: dvc.yaml deps name modules the stage does not run: {sorted(extra)}"
