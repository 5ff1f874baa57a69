"""The results as DVC sees them: plot data for `dvc plots show/diff`, the trained networks
as registry artifacts for `dvc artifacts get`, and the plot files' contents."""

import json

import numpy as np
import pytest
from conftest import edit_params, make_project, run

from aeclust.report.plots import MAX_POINTS, confusion_csv, embedding_csv


def test_the_confusion_names_each_cluster_by_its_matched_digit():
    digits = np.array([3, 3, 3, 5, 5, 7])
    clusters = np.array([0, 0, 1, 1, 1, 2])  # cluster 0 -> 3, 1 -> 5, 2 -> 7
    rows = confusion_csv(clusters, digits).splitlines()
    assert rows[0] == "actual,predicted"
    assert rows[1:] == ["3,3", "3,3", "3,5", "5,5", "5,5", "7,7"]
    four = confusion_csv(np.array([0, 1, 2, 3]), np.array([1, 1, 2, 2])).splitlines()[1:]
    assert sorted(p for _, p in (r.split(",") for r in four)).count("-1") == 2  # unmatched


def test_the_embedding_keeps_a_seeded_sample_with_its_digits():
    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(2500, 10))
    digits = rng.integers(0, 10, size=2500)
    rows = embedding_csv(embedding, digits, seed=4).splitlines()
    assert rows[0] == "x,y,digit" and len(rows) == MAX_POINTS + 1
    assert rows == embedding_csv(embedding, digits, seed=4).splitlines()  # deterministic
    assert rows != embedding_csv(embedding, digits, seed=5).splitlines()
    assert {int(r.split(",")[2]) for r in rows[1:]} <= set(range(10))
    small = embedding_csv(embedding[:40], digits[:40], seed=4).splitlines()
    assert len(small) == 41 and [int(r.split(",")[2]) for r in small[1:]] == digits[:40].tolist()


@pytest.mark.e2e
def test_dvc_plots_show_lists_the_confusions_and_embeddings(trained_with_methods):
    shown = json.loads(run(["dvc", "plots", "show", "--json"], trained_with_methods).stdout)
    plots = set(shown.get("data", shown))
    models = ("ffn", "cnn", "simclr")  # params.yaml's
    for run_name in ("raw", *models, *(f"{m}+dec" for m in models)):
        assert f"reports/plots/confusion/{run_name}.csv" in plots, sorted(plots)
    for run_name in (f"{m}+manifold" for m in models):
        assert f"reports/plots/embedding/{run_name}.csv" in plots, sorted(plots)
    assert any(p.startswith("reports/train/") for p in plots)


@pytest.mark.e2e
def test_the_default_models_report_opens_with_the_best_run(trained_with_methods):
    """params.yaml's three models: the report's first finding names the best run, and
    measures it against the study's KMeans rows (ffn, cnn: not the contrastive model's)."""
    metrics = json.loads((trained_with_methods / "reports/metrics.json").read_text())
    assert {"simclr", "simclr+dec", "simclr+manifold"} <= set(metrics)
    best = max(metrics, key=lambda run: metrics[run]["acc"])
    line = (trained_with_methods / "reports/report.md").read_text().splitlines()[2]
    assert line.startswith(f"**Best run: `{best}`, ACC {metrics[best]['acc']:.3f}**")
    top = max(("ffn", "cnn"), key=lambda run: metrics[run]["acc"])
    assert f"over the study's best KMeans row (`{top}`, {metrics[top]['acc']:.3f})" in line
    assert f"over the raw pixels (`raw`, {metrics['raw']['acc']:.3f})" in line


@pytest.mark.e2e
def test_dvc_artifacts_get_fetches_a_trained_network_without_training(tmp_path):
    project = make_project(tmp_path / "registry")
    edit_params(project, **{"data.n_samples": 100, "models.ffn.epochs": 1, "models.cnn.epochs": 1})
    run(["dvc", "remote", "add", "-d", "store", str(tmp_path / "store")], project)
    run(["dvc", "repro"], project)
    run(["dvc", "push"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "trained"], project)
    # Registering a version is a git tag `<artifact>@v<semver>` (the model registry's own).
    run(["git", "tag", "-a", "cnn@v1.0.0", "-m", "cnn v1.0.0"], project)

    listed = run(["dvc", "ls", str(project), "models"], tmp_path).stdout
    assert "cnn.keras" in listed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run(["dvc", "artifacts", "get", str(project), "cnn", "-o", "cnn.keras"], elsewhere)
    assert (elsewhere / "cnn.keras").read_bytes() == (project / "models/cnn.keras").read_bytes()
    run(
        ["dvc", "artifacts", "get", str(project), "cnn", "--rev", "v1.0.0", "-o", "v1.keras"],
        elsewhere,
    )
    assert (elsewhere / "v1.keras").read_bytes() == (project / "models/cnn.keras").read_bytes()
    # No version of ffn is registered: one clear error, nothing trained.
    missing = run(["dvc", "artifacts", "get", str(project), "ffn"], elsewhere, check=False)
    assert missing.returncode != 0 and not (elsewhere / "ffn.keras").exists()


def test_the_committed_baseline_is_the_committed_params_run():
    """dvc.lock, params.yaml and the committed reports agree: every stage's params in the
    lock are params.yaml's, and the committed metrics are the ones the lock hashes (so
    `dvc metrics diff` after a change compares against the published numbers)."""
    import hashlib

    import yaml
    from conftest import ROOT

    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    expected = {
        f"{name}@{model}" if "foreach" in body else name
        for name, body in stages.items()
        for model in (params["models"] if "foreach" in body else [None])
    }
    assert set(lock) == expected
    for stage, entry in lock.items():
        for dotted, value in (entry.get("params") or {}).get("params.yaml", {}).items():
            node = params
            for key in dotted.split("."):
                node = node[key]
            assert node == value, f"{stage}: dvc.lock has {dotted} = {value}, params.yaml {node}"
    for out in lock["report"]["outs"]:
        if out["path"] == "reports/metrics.json":
            digest = hashlib.md5((ROOT / out["path"]).read_bytes()).hexdigest()
            assert digest == out["md5"], "reports/metrics.json is not the one dvc.lock hashes"
