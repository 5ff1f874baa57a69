import json

import numpy as np

from aeclust.report.tables import clean, markdown, ordered_confusion, pca_2d, quality_metrics


def test_pca_2d_finds_the_main_axis_and_is_deterministic():
    rng = np.random.default_rng(0)
    features = np.outer(rng.normal(size=200), [3.0, 0, 0, 0]) + rng.normal(scale=0.1, size=(200, 4))
    xy = pca_2d(features)
    assert xy.shape == (200, 2)
    assert abs(np.corrcoef(xy[:, 0], features[:, 0])[0, 1]) > 0.99
    np.testing.assert_array_equal(xy, pca_2d(features.copy()))


def test_confusion_rows_follow_the_matching():
    labels = np.array([0, 0, 1, 1, 2, 2])
    clusters = np.array([5, 5, 9, 9, 1, 1])
    counts, order, digits = ordered_confusion(clusters, labels)
    assert order == [5, 9, 1] and digits == [0, 1, 2]
    assert np.array_equal(counts, 2 * np.eye(3, dtype=int))


def test_quality_metrics_shape_and_json_safety():
    metrics = quality_metrics(
        {
            "raw": {
                "acc": 0.5,
                "nmi": 0.4,
                "ari": 0.3,
                "silhouette": float("nan"),
                "inertia": 10.0,
            },
            "ffn": {"acc": 0.6, "nmi": 0.5, "ari": 0.4, "silhouette": 0.1, "inertia": 5.0},
        },
        {"ffn": 0.25},
        {"ffn": 0.3},
    )
    assert list(metrics) == ["raw", "ffn"]
    assert metrics["raw"]["silhouette"] is None and "reconstruction_mse" not in metrics["raw"]
    assert metrics["ffn"]["reconstruction_mse"] == 0.25 and metrics["ffn"]["final_loss"] == 0.3
    json.loads(json.dumps(metrics, allow_nan=False))
    assert clean(0.12345678) == 0.123457


def test_markdown_has_the_table_and_figures():
    text = markdown(
        {"raw": {"acc": 0.5, "nmi": 0.4, "ari": 0.3}},
        {"ffn": {"train_seconds": 1.0, "seconds_per_epoch": 0.5, "epochs": 2, "backend": "jax"}},
        {"Comparison": [("chart", "figures/comparison.png")]},
        n_images=300,
        source="embedded",
    )
    assert "| raw | 0.500 | 0.400 | 0.300 |" in text
    assert "| ffn | 1.0 | 0.500 | 2 | jax |" in text
    assert "![chart](figures/comparison.png)" in text


def test_markdown_lists_method_runs_with_their_times_and_details():
    text = markdown(
        {"raw": {"acc": 0.5}, "ffn": {"acc": 0.6}, "ffn+dec": {"acc": 0.7, "inertia": None}},
        {
            "ffn": {"train_seconds": 1.0, "seconds_per_epoch": 0.5, "epochs": 2, "backend": "jax"},
            "ffn+dec": {"seconds": 3.25, "backend": "jax"},
            "ffn+manifold": {"seconds": 4.0},
            "cnn+dec": {"seconds": 100.0},
        },
        {},
        n_images=300,
        source="embedded",
        method_details={
            "ffn+dec": {"iterations": 840, "converged": True, "augment": None},
            "cnn+dec": {
                "iterations": 2000,
                "converged": False,
                "augment": {"rotation": 10.0, "shift": 0.1, "zoom": 0.0},
            },
        },
    )
    assert "| ffn+dec | 0.700 | - | - | - | - | - | - |" in text
    assert "| ffn | 1.0 | 0.500 | 2 | jax |" in text  # the models' table
    assert "| ffn+dec | 3.2 | converged after 840 batches |" in text
    assert (
        "| cnn+dec | 100.0 | stopped at max_iter after 2000 batches, on distorted copies "
        "(rotation 10.0, shift 0.1, zoom 0.0) |" in text
    )
    assert "| ffn+manifold | 4.0 |  |" in text
    assert "python -m aeclust.seeds" in text


def test_the_report_opens_with_the_best_run_and_its_margins():
    from aeclust.report.tables import best_run_line

    metrics = {
        "raw": {"acc": 0.556},
        "ffn": {"acc": 0.541},
        "cnn": {"acc": 0.502},
        "ffn+manifold": {"acc": 0.751},
        "cnn+dec": {"acc": None},
    }
    line = best_run_line(metrics)
    assert line.startswith("**Best run: `ffn+manifold`, ACC 0.751**")
    assert "+0.210 over the study's best KMeans row (`ffn`, 0.541)" in line
    assert "+0.195 over the raw pixels (`raw`, 0.556)" in line
    text = markdown(metrics, {}, {}, n_images=3, source="embedded")
    assert text.splitlines()[2] == line


def test_the_study_rows_are_the_autoencoders_kmeans_not_the_contrastive_models():
    from aeclust.report.tables import best_run_line

    metrics = {
        "raw": {"acc": 0.556},
        "ffn": {"acc": 0.541},
        "cnn": {"acc": 0.502},
        "simclr": {"acc": 0.785},
        "simclr+manifold": {"acc": 0.951},
    }
    line = best_run_line(metrics, autoencoders=["ffn", "cnn"])
    assert line.startswith("**Best run: `simclr+manifold`, ACC 0.951**")
    assert "+0.410 over the study's best KMeans row (`ffn`, 0.541)" in line
    assert "(`simclr`, 0.785)" in best_run_line(metrics)  # every model, unless told
    text = markdown(metrics, {}, {}, n_images=3, source="embedded", autoencoders=["ffn", "cnn"])
    assert text.splitlines()[2] == line
