"""End to end: the real `dvc repro` in a temporary git repository, with tiny params."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import edit_params, make_project, run

pytestmark = pytest.mark.e2e


def ran_stages(output: str) -> list[str]:
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


def changed_stages(project) -> set[str]:
    status = json.loads(run(["dvc", "status", "--json"], project).stdout)
    return set(status)


METHOD_RUNS = [
    f"{m}+{method}" for m in ("ffn", "cnn") for method in ("dec", "manifold", "selflabel")
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project with the methods on (DEC: 20 batches, 2 target updates)."""
    return make_project(tmp_path / "project", methods=True)


def test_repro_runs_the_study_and_reruns_only_what_changed(project):
    first = run(["dvc", "repro"], project)
    assert ran_stages(first.stdout) == [
        "prepare",
        "standardize",
        "train@ffn",
        "train@cnn",
        "encode@ffn",
        "encode@cnn",
        "dec@ffn",
        "dec@cnn",
        "manifold@ffn",
        "manifold@cnn",
        "selflabel@ffn",
        "selflabel@cnn",
        "kmeans",
        "report",
    ]

    # Every output, with the study's shapes.
    assert np.load(project / "data/prepared/images.npy").shape == (300, 28, 28)
    for scaling in ("zscore_per_image", "unit_range"):
        assert np.load(project / f"data/standardized/{scaling}.npy").dtype == np.float32
    for name, d in (("ffn", 100), ("cnn", 196)):
        assert (project / f"models/{name}.keras").stat().st_size > 0
        assert np.load(project / f"data/encoded/{name}/latents.npy").shape == (300, d)
        assert np.load(project / f"data/encoded/{name}/reconstructions.npy").shape == (300, 28, 28)
        loss = (project / f"reports/train/{name}/plots/metrics/loss.tsv").read_text().splitlines()
        assert loss[0] == "step\tloss" and len(loss) == 3  # header + 2 epochs
        assert json.loads((project / f"reports/timing/{name}.json").read_text())["epochs"] == 2
    for run_name in ("raw", "ffn", "cnn"):
        ids = np.load(project / f"data/clusters/{run_name}.npy")
        assert ids.shape == (300,) and set(ids.tolist()) <= set(range(10))
    for run_name in METHOD_RUNS:  # the methods' clusters, beside the study's
        ids = np.load(project / f"data/methods/{run_name}/cluster_ids.npy")
        assert ids.shape == (300,) and set(ids.tolist()) <= set(range(10))
    assert np.load(project / "data/methods/cnn+dec/latents.npy").shape == (300, 196)
    assert np.load(project / "data/methods/ffn+manifold/embedding.npy").shape == (300, 10)
    assert np.load(project / "data/methods/cnn+selflabel/latents.npy").shape == (300, 196)
    selflabel = json.loads((project / "data/methods/cnn+selflabel/selflabel.json").read_text())
    assert selflabel["start"] == "cnn+manifold" and len(selflabel["history"]) == 2
    assert 0 < selflabel["sure"] <= 300
    refinement = json.loads((project / "data/methods/ffn+dec/refinement.json").read_text())
    assert 0 < refinement["iterations"] <= 20
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert list(metrics) == ["raw", "ffn", "cnn", *METHOD_RUNS]
    for scores in metrics.values():
        assert 0.1 <= scores["acc"] <= 1 and 0 <= scores["nmi"] <= 1 and -1 <= scores["ari"] <= 1
        assert -1 <= scores["silhouette"] <= 1
    for run_name in ("raw", "ffn", "cnn"):
        assert metrics[run_name]["inertia"] > 0
    assert metrics["cnn+manifold"]["inertia"] is None  # a Gaussian mixture has no inertia
    assert metrics["ffn"]["reconstruction_mse"] > 0 and "final_loss" in metrics["cnn"]
    timings = json.loads((project / "reports/timings.json").read_text())
    assert set(timings) == {"ffn", "cnn", *METHOD_RUNS} and timings["cnn"]["train_seconds"] > 0
    assert timings["cnn+dec"]["seconds"] > 0
    figures = {p.name for p in (project / "reports/figures").iterdir()}
    for name in (
        "comparison",
        "loss",
        "confusion",
        "projection",
        "ffn_sample",
        "ffn_clusters",
        "ffn_reconstructions",
        "cnn_sample",
        "cnn_clusters",
        "cnn_reconstructions",
        *(f"{run_name}_clusters" for run_name in METHOD_RUNS),  # figure B per method
    ):
        assert f"{name}.png" in figures
    report = (project / "reports/report.md").read_text()
    assert "| cnn |" in report and "![" in report and "figures/cnn_clusters.png" in report
    assert "| cnn+manifold |" in report and "figures/ffn+dec_clusters.png" in report

    # Nothing changed: nothing runs.
    assert ran_stages(run(["dvc", "repro"], project).stdout) == []
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "first run"], project)

    # A model's param reruns only that model's stages, kmeans and report. dec@ reads the
    # model's entry (its augment, which is optional: DVC cannot depend on a missing key).
    edit_params(project, **{"models.cnn.learning_rate": 0.001})
    assert changed_stages(project) == {"train@cnn", "dec@cnn", "selflabel@cnn", "kmeans", "report"}
    assert ran_stages(run(["dvc", "repro"], project).stdout) == [
        "train@cnn",
        "encode@cnn",
        "dec@cnn",
        "manifold@cnn",
        "selflabel@cnn",
        "kmeans",
        "report",
    ]
    metrics = json.loads((project / "reports/metrics.json").read_text())
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "cnn learning rate"], project)

    # A kmeans-only change reruns kmeans and report, and metrics diff shows it.
    edit_params(project, **{"kmeans.n_clusters": 5})
    assert changed_stages(project) == {"kmeans"}
    assert ran_stages(run(["dvc", "repro"], project).stdout) == ["kmeans", "report"]
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], project).stdout)
    changed = diff["reports/metrics.json"]
    assert changed["raw.acc"]["old"] == metrics["raw"]["acc"]
    assert changed["raw.acc"]["new"] != metrics["raw"]["acc"]
    assert "reports/timings.json" not in diff  # timings were not rerun

    params_diff = json.loads(run(["dvc", "params", "diff", "--json"], project).stdout)
    assert params_diff["params.yaml"]["kmeans.n_clusters"]["new"] == 5
    plots = json.loads(run(["dvc", "plots", "diff", "--json"], project).stdout)
    assert "reports/figures/comparison.png" in str(plots["data"])
    assert "reports/train/cnn/plots/metrics/loss.tsv" in plots["data"]
    assert not plots.get("errors")

    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "5 clusters"], project)

    # A method is switched off by its param: its stages still run, quickly, and only mark
    # their outputs as skipped; the report leaves its runs out. (selflabel depends on both
    # runs it may start from, so it reruns too, to the same clusters.)
    edit_params(project, **{"methods.dec.enabled": False})
    assert changed_stages(project) == {"dec@ffn", "dec@cnn", "report"}
    before = np.load(project / "data/methods/ffn+selflabel/cluster_ids.npy")
    assert ran_stages(run(["dvc", "repro"], project).stdout) == [
        "dec@ffn",
        "dec@cnn",
        "selflabel@ffn",
        "selflabel@cnn",
        "report",
    ]
    after = np.load(project / "data/methods/ffn+selflabel/cluster_ids.npy")
    assert np.array_equal(before, after)
    assert json.loads((project / "data/methods/ffn+dec/skipped.json").read_text()) == {
        "skipped": "methods.dec.enabled is false"
    }
    assert [p.name for p in (project / "data/methods/cnn+dec").iterdir()] == ["skipped.json"]
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert list(metrics) == [
        "raw",
        "ffn",
        "cnn",
        "ffn+manifold",
        "ffn+selflabel",
        "cnn+manifold",
        "cnn+selflabel",
    ]
    figures = {p.name for p in (project / "reports/figures").iterdir()}
    assert "ffn+manifold_clusters.png" in figures and "ffn+dec_clusters.png" not in figures
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], project).stdout)
    assert diff["reports/metrics.json"]["cnn+dec.acc"]["new"] is None

    # The methods' own number of clusters reruns the methods, not kmeans.
    edit_params(project, **{"methods.n_clusters": 5})
    assert changed_stages(project) == {
        f"{method}@{m}" for m in ("ffn", "cnn") for method in ("dec", "manifold", "selflabel")
    }
