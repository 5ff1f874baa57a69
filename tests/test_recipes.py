"""Named recipes (recipes/<name>.yaml, overlays of params.yaml) and scripts/recipe.sh, which
runs them as DVC experiments through `-S` overrides."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, as_user, make_project, run

from aeclust.config.overrides import apply
from aeclust.errors import ParamsError
from aeclust.recipes import available, hydra_value, overrides, recipe_params

BASE = {
    "seed": 42,
    "data": {"source": "embedded", "n_samples": 3000},
    "models": {"ffn": {"kind": "dense", "epochs": 500}, "cnn": {"kind": "conv"}},
    "methods": {"dec": {"enabled": True}},
}


def write_recipe(root: Path, name: str, overlay) -> None:
    (root / "recipes").mkdir(exist_ok=True)
    (root / "recipes" / f"{name}.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))


def test_an_overlay_becomes_one_override_per_changed_leaf(tmp_path):
    overlay = {
        "data": {"source": "idx:data/mnist", "n_samples": "all"},
        "models": {
            "cnn": None,  # removed
            "gone": None,  # not there: nothing to remove
            "ffn": {"epochs": 30, "units": [64, 8]},
            "new": {"kind": "dense", "views": {"flip": False}},
        },
        "methods": {"dec": {"enabled": False}},
    }
    sets = overrides(overlay, BASE, tmp_path)
    assert sets == [
        f"++data.source='idx:{(tmp_path / 'data/mnist').resolve()}'",
        "++data.n_samples='all'",
        "~models.cnn",
        "++models.ffn.epochs=30",
        "++models.ffn.units=[64,8]",
        "++models.new.kind='dense'",
        "++models.new.views.flip=false",
        "++methods.dec.enabled=false",
    ]
    merged = apply(BASE, sets)
    assert merged["models"] == {
        "ffn": {"kind": "dense", "epochs": 30, "units": [64, 8]},
        "new": {"kind": "dense", "views": {"flip": False}},
    }
    assert merged["data"]["n_samples"] == "all" and merged["seed"] == 42
    assert merged["methods"]["dec"] == {"enabled": False}
    assert BASE["models"]["cnn"] == {"kind": "conv"}  # the base is not changed


def test_values_are_written_in_the_override_grammar():
    assert hydra_value("it's") == "'it\\'s'"
    assert hydra_value([1, 2.5, True, "a"]) == "[1,2.5,true,'a']"
    assert hydra_value(None) == "null"
    assert hydra_value({"rotation": 10}) == "{rotation:10}"


def test_removing_adding_and_bad_overrides():
    assert "cnn" not in apply(BASE, ["~models.cnn"])["models"]
    assert apply(BASE, ["+report.sample_index=3"])["report"] == {"sample_index": 3}
    with pytest.raises(ParamsError, match=r"-S ~models\.rnn: models\.rnn is not in params\.yaml"):
        apply(BASE, ["~models.rnn"])
    with pytest.raises(ParamsError, match=r"-S seed: must be KEY=VALUE, \+KEY=VALUE or ~KEY"):
        apply(BASE, ["seed"])
    with pytest.raises(ParamsError, match=r"-S seed\.x=1: seed is not a section of params\.yaml"):
        apply(BASE, ["seed.x=1"])


def test_a_missing_or_bad_recipe_is_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    write_recipe(tmp_path, "short", {"models": {"cnn": {"epochs": 5}}})
    with pytest.raises(ParamsError, match=r"recipe 'long': no recipes/long\.yaml; recipes: short$"):
        recipe_params("long", [], tmp_path)
    write_recipe(tmp_path, "listed", [1, 2])
    with pytest.raises(ParamsError, match=r"recipes/listed\.yaml: must be a mapping"):
        recipe_params("listed", [], tmp_path)
    write_recipe(tmp_path, "zero", {"models": {"cnn": {"epochs": 0}}})
    with pytest.raises(
        ParamsError,
        match=r"^params\.yaml with recipe zero: models\.cnn\.epochs = 0: must be an integer >= 1",
    ):
        recipe_params("zero", [], tmp_path)
    # An extra setting wins over the recipe, and is checked the same way.
    _, params = recipe_params("short", ["models.cnn.epochs=7"], tmp_path)
    assert params.models["cnn"].epochs == 7
    with pytest.raises(ParamsError, match=r"models\.cnn\.epochs = -1"):
        recipe_params("short", ["models.cnn.epochs=-1"], tmp_path)


def test_the_command_line_exits_2_with_one_line_on_a_bad_setting():
    result = subprocess.run(
        [sys.executable, "-m", "aeclust.recipes", "overrides", "digits-3000", "-S", "seed=-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "recipe: error: params.yaml with recipe digits-3000: seed = -1: must be an integer in "
        "[0, 4294967295]"
    ]


@pytest.mark.parametrize("name", ["digits-3000", "mnist-full", "fashion-full"])
def test_every_shipped_recipe_is_valid_and_its_data_path_absolute(name):
    assert name in available(ROOT)
    sets, params = recipe_params(name, [], ROOT)
    assert "ffn" not in params.models and "cnn" not in params.models
    assert "simclr" in params.models
    source = params.data.source
    if source.startswith("idx:"):
        assert Path(source[4:]).is_absolute() and params.data.n_samples is None
    assert all(s.startswith(("++", "~")) for s in sets)


@pytest.mark.e2e
def test_recipe_script_runs_the_recipe_as_named_experiments_and_sums_up_seeds(tmp_path):
    """scripts/recipe.sh on a tiny project: one run in the workspace, then two seeds
    through DVC's queue, with the summary over them."""
    project = make_project(tmp_path / "project")
    for path in ("scripts", "recipes"):
        src = ROOT / path
        (project / path).mkdir(exist_ok=True)
        for file in src.iterdir():
            (project / path / file.name).write_bytes(file.read_bytes())
            (project / path / file.name).chmod(file.stat().st_mode)
    ffn = yaml.safe_load((project / "params.yaml").read_text())["models"]["ffn"]
    write_recipe(
        project,
        "tiny",
        {"models": {"cnn": None, "wide": {**ffn, "units": [32, 4]}}, "kmeans": {"n_init": 1}},
    )
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "recipes"], project)

    one = run(["bash", "scripts/recipe.sh", "tiny", "-S", "seed=5"], project)
    assert "experiment tiny-seed5 done" in one.stdout
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert set(params["models"]) == {"ffn", "wide"} and params["seed"] == 5
    assert params["kmeans"]["n_init"] == 1
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert set(metrics) == {"raw", "ffn", "wide"}

    cmd, env = as_user(["bash", "scripts/recipe.sh", "tiny", "-S", "models.wide.epochs=0"])
    bad = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "models.wide.epochs = 0: must be" in bad.stderr

    run(["git", "checkout", "--", "params.yaml"], project)
    (project / "dvc.lock").unlink()  # back to the committed state: no lock yet
    seeds = run(["bash", "scripts/recipe.sh", "tiny", "--seeds", "1,2"], project)
    assert "queued tiny-seed1" in seeds.stdout and "queued tiny-seed2" in seeds.stdout
    shown = run(["dvc", "exp", "list", "--name-only"], project).stdout.split()
    assert {"tiny-seed1", "tiny-seed2", "tiny-seed5"} <= set(shown)
    summary = json.loads((project / "reports/seeds.json").read_text())
    group = next(g for g in summary if {1, 2} <= set(g["seeds"]))  # with seed 5's run
    assert group["stats"]["wide"]["acc"]["n"] == len(group["seeds"]) >= 2


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_gpu_script_runs_the_whole_recipe_on_jax(tmp_path):
    """scripts/recipe-gpu.sh runs every stage on the JAX backend (here on the CPU, which it
    says), the methods included: DEC's, self-labelling's and training's JAX runners."""
    project = make_project(tmp_path / "project", methods=True)
    (project / "scripts").mkdir(exist_ok=True)
    for file in (ROOT / "scripts").iterdir():
        (project / "scripts" / file.name).write_bytes(file.read_bytes())
        (project / "scripts" / file.name).chmod(file.stat().st_mode)
    write_recipe(project, "tiny", {"kmeans": {"n_init": 1}})
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "recipes"], project)

    done = run(["bash", "scripts/recipe-gpu.sh", "tiny", "-S", "seed=5"], project)
    assert "experiment tiny-seed5 done" in done.stdout
    assert "JAX devices: gpu" in done.stdout or "JAX sees no GPU" in done.stderr
    models = yaml.safe_load((project / "params.yaml").read_text())["models"]
    for name in models:
        timing = json.loads((project / "reports/timing" / f"{name}.json").read_text())
        assert timing["backend"] == "jax", name
    metrics = json.loads((project / "reports/metrics.json").read_text())
    runs = {f"{m}+{method}" for m in models for method in ("dec", "manifold", "selflabel")}
    assert runs | {"raw", *models} <= set(metrics)
    assert all(0 <= metrics[r]["acc"] <= 1 for r in runs)
