"""dvc.yaml: each stage depends on every module of the package that its script runs, so
that changing any of them reruns the stage (and nothing else is missed by the run-cache)."""

import ast

import pytest
import yaml
from conftest import ROOT

PACKAGE = ROOT / "src" / "aeclust"


def imported_modules(path) -> set[str]:
    """The aeclust modules `path` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "aeclust":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("aeclust."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("aeclust.")}
    return {name for name in found if (PACKAGE / f"{name}.py").exists()}


def closure(script) -> set[str]:
    todo, seen = imported_modules(script), set()
    while todo:
        name = todo.pop()
        seen.add(name)
        todo |= imported_modules(PACKAGE / f"{name}.py") - seen
    return {f"src/aeclust/{name}.py" for name in seen}


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
