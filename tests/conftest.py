import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aeclust.config import METHODS

ROOT = Path(__file__).resolve().parents[1]
# The benchmark scripts (bench/*.py) import each other by name, as `python bench/x.py` does.
sys.path.insert(0, str(ROOT / "bench"))
# What a clone of the project holds that the pipeline needs (no data, no outputs).
PROJECT_FILES = ["dvc.yaml", "params.yaml", "stages", "src", "data/raw", ".dvcignore", ".gitignore"]
TINY = {
    "data": {"n_samples": 300},
    "epochs": 2,
    "dec": {"max_iter": 20, "update_interval": 10},
    "selflabel": {"epochs": 2},
}


def pytest_collection_modifyitems(items):
    """An end-to-end test is a slow one: `-m "not slow"` leaves it out too."""
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.slow)


def as_user(cmd: list[str]) -> tuple[list[str], dict[str, str]]:
    """`cmd` and its environment as a user's shell has them: the venv's bin first on PATH."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if cmd[0] == "dvc":
        cmd = [str(bin_dir / "dvc"), *cmd[1:]]
    return cmd, env


COMMAND_TIMEOUT = 900  # s; the slowest, a tiny project's first dvc repro, takes under a minute


def run(
    cmd: list[str], cwd: Path, check: bool = True, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess:
    """Run a command (dvc, git, a stage) the way a user would, from the venv's bin.

    A command still running after `timeout` seconds is killed and fails the test with what
    it had printed: a hung dvc must not hang the test session."""
    cmd, env = as_user(cmd)
    try:
        result = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(
            f"{' '.join(cmd)} was still running after {timeout:g} s\n"
            f"{_text(expired.stdout)}\n{_text(expired.stderr)}"
        ) from None
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def _text(output: str | bytes | None) -> str:
    """What a timed-out command had printed (TimeoutExpired gives bytes, even with text=True)."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def edit_params(project: Path, **changes) -> None:
    """Set dotted keys of the project's params.yaml, e.g. edit_params(p, **{"kmeans.n_init": 1})."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        node = params
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_project(
    dest: Path, tiny: bool = True, methods: bool = False, study_models: bool = True
) -> Path:
    """Copy the project into `dest`, a new git + DVC repository, with tiny params.

    With `tiny`, the method stages (dec, manifold, selflabel) are switched off unless `methods` (they still
    run, in a second each, and write skipped.json): only the tests of the methods pay for
    DEC's and UMAP's imports. With `study_models` (and `tiny`), the models are the study's
    ffn and cnn alone: params.yaml's contrastive entry has its own end-to-end tests
    (test_contrastive.py, and every test of `trained_with_methods`), and the others need not
    pay for it."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "config", "user.email", "test@example.com"], dest)
    run(["git", "config", "user.name", "test"], dest)
    run(["dvc", "init", "-q"], dest)
    shutil.copytree(ROOT / ".dvc/plots", dest / ".dvc/plots")  # the custom plot templates
    run(["dvc", "config", "core.analytics", "false"], dest)
    if tiny:
        params = yaml.safe_load((dest / "params.yaml").read_text())
        if study_models:
            params["models"] = {name: params["models"][name] for name in ("ffn", "cnn")}
            (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        edit_params(dest, **{"data.n_samples": TINY["data"]["n_samples"]})
        edit_params(dest, **{f"models.{m}.epochs": TINY["epochs"] for m in params["models"]})
        edit_params(dest, **{f"methods.dec.{k}": v for k, v in TINY["dec"].items()})
        edit_params(dest, **{f"methods.selflabel.{k}": v for k, v in TINY["selflabel"].items()})
        edit_params(dest, **{f"methods.{m}.enabled": methods for m in METHODS})
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "project"], dest)
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.fixture(scope="session")
def trained_with_methods(tmp_path_factory) -> Path:
    """A tiny project (300 images, 2 epochs, DEC and N2D on, params.yaml's models: the
    study's two and the contrastive one) after its `dvc repro`, shared by the tests that
    only read a trained project's outputs."""
    project = make_project(
        tmp_path_factory.mktemp("trained") / "project", methods=True, study_models=False
    )
    run(["dvc", "repro"], project)
    return project
