"""bench/manifold_sweep.py's choice: the setting best on the tuning samples is the one
reported on the evaluation samples, never the one best on the evaluation labels."""

import importlib.util

from conftest import ROOT

spec = importlib.util.spec_from_file_location(
    "manifold_sweep", ROOT / "bench" / "manifold_sweep.py"
)
sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep)


def row(role, seed, n_neighbors, gmm, gmm10, kmeans):
    return {
        "role": role,
        "seed": seed,
        "model": "cnn",
        "n_neighbors": n_neighbors,
        "metric": "euclidean",
        "gmm": {"acc": gmm},
        "gmm10": {"acc": gmm10},
        "kmeans": {"acc": kmeans},
    }


def test_the_tuning_pick_is_reported_apart_from_the_label_tuned_best():
    rows = [
        # n_neighbors 10: best on the tuning samples, middling on the evaluation ones
        row("tune", 101, 10, 0.9, 0.5, 0.5),
        row("tune", 102, 10, 0.8, 0.5, 0.5),
        row("eval", 1, 10, 0.6, 0.5, 0.5),
        row("eval", 2, 10, 0.7, 0.5, 0.5),
        # n_neighbors 20: worse on tuning, best on the evaluation labels
        row("tune", 101, 20, 0.6, 0.7, 0.5),
        row("tune", 102, 20, 0.6, 0.7, 0.5),
        row("eval", 1, 20, 0.6, 0.9, 0.5),
        row("eval", 2, 20, 0.6, 0.95, 0.5),
    ]
    summary = sweep.summarise(rows, (20, "euclidean", "gmm10"))["cnn"]
    chosen, oracle, default = (
        summary["chosen_on_tuning"],
        summary["label_tuned"],
        summary["params_yaml"],
    )
    assert (chosen["n_neighbors"], chosen["clusterer"]) == (10, "gmm")
    assert abs(chosen["tune_acc"][0] - 0.85) < 1e-12 and abs(chosen["eval_acc"][0] - 0.65) < 1e-12
    assert (oracle["n_neighbors"], oracle["clusterer"]) == (20, "gmm10")
    assert abs(oracle["eval_acc"][0] - 0.925) < 1e-12 and chosen["n_eval"] == 2
    assert default == oracle


def test_a_setting_without_both_kinds_of_samples_is_not_chosen():
    rows = [row("tune", 101, 5, 0.99, 0.99, 0.99), row("tune", 101, 10, 0.5, 0.5, 0.5)]
    rows.append(row("eval", 1, 10, 0.4, 0.4, 0.4))
    chosen = sweep.summarise(rows, (20, "euclidean", "gmm"))["cnn"]["chosen_on_tuning"]
    assert chosen["n_neighbors"] == 10
