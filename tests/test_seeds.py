"""The summary over seeds, from what `dvc exp show --json` prints."""

import json
import re
import subprocess
import sys
import time

import pytest
import yaml
from conftest import COMMAND_TIMEOUT, as_user, run

from aeclust.errors import UserError
from aeclust.seeds import flatten, main, markdown, runs_from_exp_show, summarize

PARAMS = {"seed": 42, "data": {"n_samples": 300}, "models": {"ffn": {"units": [256, 100]}}}


def state(name, seed, acc, n_samples=300, rev="abc1234"):
    params = {**PARAMS, "seed": seed, "data": {"n_samples": n_samples}}
    metrics = {
        "raw": {"acc": acc, "nmi": 0.5, "ari": 0.3},
        "ffn+dec": {"acc": acc + 0.1, "nmi": None},
    }
    return {
        "rev": rev,
        "name": name,
        "data": {
            "params": {"params.yaml": {"data": params}},
            "metrics": {"reports/metrics.json": {"data": metrics}},
        },
        "error": None,
        "experiments": None,
    }


def exp_show():
    """A baseline (seed 42) with four finished experiments, one queued and one failed."""
    baseline = state(None, 42, 0.50, rev="f00dfeed")
    experiments = [
        {"revs": [state("exp-a", 1, 0.60)], "executor": {"state": "success"}, "name": "exp-a"},
        {"revs": [state("exp-b", 2, 0.70)], "executor": None, "name": "exp-b"},
        {"revs": [state("exp-c", 1, 0.60)], "executor": None, "name": "exp-c"},  # seed 1 again
        {"revs": [state("exp-d", 3, 0.90, n_samples=600)], "executor": None, "name": "exp-d"},
        {"revs": [{"rev": "q", "name": "exp-q", "data": None}], "executor": {"state": "queued"}},
        {"revs": [state("exp-f", 4, 0.1)], "executor": {"state": "failed"}, "name": "exp-f"},
    ]
    workspace = {**state(None, 42, 0.50, rev="workspace"), "experiments": None}
    return [workspace, {**baseline, "experiments": experiments}]


def test_flatten():
    assert flatten(PARAMS) == {"seed": 42, "data.n_samples": 300, "models.ffn.units": [256, 100]}


def test_finished_runs_only():
    runs = runs_from_exp_show(exp_show())
    assert [r.name for r in runs] == ["workspace", "f00dfee", "exp-a", "exp-b", "exp-c", "exp-d"]


def test_groups_by_params_without_the_seed_and_counts_each_seed_once():
    groups = summarize(runs_from_exp_show(exp_show()), flatten(PARAMS))
    same, bigger = groups
    assert same.differs == {} and same.seeds == [42, 1, 2]
    assert bigger.differs == {"data.n_samples": 600} and bigger.seeds == [3]
    raw = same.stats["raw"]["acc"]
    assert raw["n"] == 3 and raw["mean"] == pytest.approx(0.6) and raw["std"] == pytest.approx(0.1)
    assert (raw["min"], raw["max"]) == (0.5, 0.7)
    assert same.stats["ffn+dec"]["acc"]["mean"] == pytest.approx(0.7)
    assert same.stats["ffn+dec"]["nmi"]["n"] == 0  # null scores are left out
    assert bigger.stats["raw"]["acc"]["std"] is None  # one seed: no spread


def test_markdown_tables():
    text = markdown(summarize(runs_from_exp_show(exp_show()), flatten(PARAMS)))
    assert "## Params as params.yaml\n" in text
    assert "| raw | 3 | 0.600 ± 0.100 | 0.500 ± 0.000 | 0.300 ± 0.000 | 0.500 | 0.700 |" in text
    assert "| ffn+dec | 3 | 0.700 ± 0.100 | - |" in text
    assert "## Params as params.yaml except `data.n_samples=600`" in text
    assert "| 2 | 0.700 | 0.800 |" in text  # ACC per seed


def test_main_writes_the_summary(tmp_path, monkeypatch):
    import aeclust.seeds as seeds

    (tmp_path / "params.yaml").write_text(json.dumps(PARAMS))
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(seeds, "exp_show", lambda all_commits: exp_show())
    main([])
    assert "0.600 ± 0.100" in (tmp_path / "reports/seeds.md").read_text()
    summary = json.loads((tmp_path / "reports/seeds.json").read_text())
    assert summary[0]["seeds"] == [42, 1, 2] and summary[0]["per_seed"]["2"]["raw"]["acc"] == 0.7


@pytest.mark.e2e
def test_real_experiments_over_two_seeds(project):
    # One model and no methods: the smallest pipeline that still trains.
    params = yaml.safe_load((project / "params.yaml").read_text())
    del params["models"]["cnn"]
    params["methods"]["dec"]["enabled"] = params["methods"]["manifold"]["enabled"] = False
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "ffn only"], project)
    # The README's sequence: queue one experiment per seed, run the queue, sum up.
    run(["dvc", "exp", "run", "--queue", "-S", "seed=1,2"], project)
    log = project / ".dvc/tmp/queue.log"  # the workers inherit the output: a file, not a pipe
    cmd, env = as_user(["dvc", "queue", "start", "-j", "1"])
    with log.open("w") as out:
        subprocess.run(cmd, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while re.search(r"\b(Queued|Running)\b", run(["dvc", "queue", "status"], project).stdout):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(3)
    run([sys.executable, "-m", "aeclust.seeds"], project)
    summary = json.loads((project / "reports/seeds.json").read_text())
    first = summary[0]
    assert first["differs"] == {} and sorted(first["seeds"]) == [1, 2]
    assert first["stats"]["ffn"]["acc"]["n"] == 2 and first["stats"]["ffn"]["acc"]["std"] >= 0
    for seed in ("1", "2"):
        assert 0 < first["per_seed"][seed]["raw"]["acc"] <= 1
    assert "| raw | 2 |" in (project / "reports/seeds.md").read_text()


def test_main_keeps_only_the_seeds_asked_for(tmp_path, monkeypatch):
    import aeclust.seeds as seeds

    (tmp_path / "params.yaml").write_text(json.dumps(PARAMS))
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(seeds, "exp_show", lambda all_commits: exp_show())
    main(["--seeds", "1,2"])
    summary = json.loads((tmp_path / "reports/seeds.json").read_text())
    assert summary[0]["seeds"] == [1, 2] and "42" not in summary[0]["per_seed"]
    with pytest.raises(UserError, match=r"--seeds 1,x: must be integers separated by commas"):
        main(["--seeds", "1,x"])
