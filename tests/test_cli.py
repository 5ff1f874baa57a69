"""aeclust.cli: the frame every stage runs in."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STAGE = textwrap.dedent(
    """
    import atexit, gc, sys
    from aeclust.cli import run_stage
    from aeclust.errors import ParamsError

    # atexit runs before the interpreter's last collection: report what it will walk
    atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0))

    def main(argv):
        if argv == ["bad"]:
            raise ParamsError("kmeans.n_clusters = 0: must be >= 2")

    run_stage("demo", main)
    """
)


def test_a_finished_stage_leaves_its_objects_out_of_the_last_collection():
    done = subprocess.run([sys.executable, "-c", STAGE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["frozen", "True"]
    failed = subprocess.run([sys.executable, "-c", STAGE, "bad"], capture_output=True, text=True)
    assert failed.returncode == 2
    assert failed.stderr.strip() == "demo: error: kmeans.n_clusters = 0: must be >= 2"
    assert failed.stdout.split() == ["frozen", "False"]


def test_bulk_imports_pause_the_collector_then_freeze_what_they_made():
    import gc

    from aeclust.cli import bulk_imports

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with bulk_imports():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]  # tracked containers, as imports make
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made)
        gc.disable()  # a caller that had it off keeps it off
        with bulk_imports():
            pass
        assert not gc.isenabled()
        gc.enable()
        with pytest.raises(ImportError), bulk_imports():
            raise ImportError("no module named 'nothing'")
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()  # give pytest's objects back to the collector


# Libraries that make a stage's import slow; a stage imports them (or the aeclust modules
# that import them when loaded) only inside `with bulk_imports():`.
BIG_LIBRARIES = {"keras", "tensorflow", "jax", "torch", "dvclive", "sklearn", "umap", "matplotlib"}


def _imported(node: ast.AST) -> list[str]:
    """The modules an import statement loads (`from aeclust import figures` loads aeclust.figures)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def _big_modules() -> set[str]:
    """aeclust's modules that load a big library when imported (through each other too)."""
    package = ROOT / "src" / "aeclust"
    direct = {
        f"aeclust.{path.stem}": {
            name for stmt in ast.parse(path.read_text()).body for name in _imported(stmt)
        }
        for path in package.glob("*.py")
    }
    big: set[str] = set()
    while True:
        more = {
            module
            for module, names in direct.items()
            if any(n.partition(".")[0] in BIG_LIBRARIES or n in big for n in names)
        }
        if more <= big:
            return big
        big |= more


@pytest.mark.parametrize("stage", sorted(p.name for p in (ROOT / "stages").glob("*.py")))
def test_stages_import_big_libraries_only_in_bulk(stage):
    big = _big_modules()
    assert {"aeclust.clustering", "aeclust.models", "aeclust.figures"} <= big
    tree = ast.parse((ROOT / "stages" / stage).read_text())
    inside = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.With)
        and any(
            isinstance(item.context_expr, ast.Call)
            and getattr(item.context_expr.func, "id", None) == "bulk_imports"
            for item in block.items
        )
        for node in ast.walk(block)
    }
    outside = [
        name
        for node in ast.walk(tree)
        if id(node) not in inside
        for name in _imported(node)
        if name.partition(".")[0] in BIG_LIBRARIES or name in big
    ]
    assert outside == []
