"""Assembling the report: metrics, timings, 2-D projections and the markdown page."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from aeclust.cluster.scores import best_matching, contingency

QUALITY_KEYS = ("acc", "nmi", "ari", "silhouette", "inertia", "reconstruction_mse", "final_loss")


def clean(value: float | None) -> float | None:
    """JSON has no NaN: a score that cannot be computed is null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), 6)


def quality_metrics(
    cluster_scores: dict[str, dict[str, float]],
    reconstruction_mse: dict[str, float],
    final_loss: dict[str, float],
) -> dict[str, dict[str, float | None]]:
    """{"raw": {...}, "<model>": {...}}: cluster scores, plus reconstruction MSE and
    final training loss for the models. Rounded to 6 digits so that the file is
    stable across runs that agree to that precision."""
    metrics = {}
    for run, values in cluster_scores.items():
        row = dict(values)
        if run in reconstruction_mse:  # a contrastive model has none
            row["reconstruction_mse"] = reconstruction_mse[run]
        if run in final_loss:
            row["final_loss"] = final_loss[run]
        metrics[run] = {k: clean(row[k]) for k in QUALITY_KEYS if k in row}
    return metrics


def pca_2d(features: np.ndarray) -> np.ndarray:
    """The first two principal components of (n, d) features, signs fixed so that
    each component's largest loading is positive (deterministic)."""
    flat = features.reshape(len(features), -1).astype(np.float64)
    centred = flat - flat.mean(axis=0)
    # Eigenvectors of the (d, d) scatter matrix: much faster than an SVD of (n, d) data.
    _, vectors = np.linalg.eigh(centred.T @ centred)
    components = vectors[:, ::-1][:, :2].T
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    signs[signs == 0] = 1
    return centred @ (components * signs[:, None]).T


def ordered_confusion(cluster_ids: np.ndarray, digit_labels: np.ndarray):
    """Cluster x digit counts with rows ordered by each cluster's matched digit, so that
    the matching sits on the diagonal. Returns (counts, cluster order, digits)."""
    counts = contingency(cluster_ids, digit_labels)
    clusters = [int(c) for c in np.unique(cluster_ids)]
    digits = [int(d) for d in np.unique(digit_labels)]
    matching = best_matching(cluster_ids, digit_labels)
    rank = {c: digits.index(matching[c]) if c in matching else len(digits) + c for c in clusters}
    order = sorted(range(len(clusters)), key=lambda i: rank[clusters[i]])
    return counts[order], [clusters[i] for i in order], digits


def _details(detail: dict) -> str:
    """A method run's details in words: "converged after 840 batches"."""
    if "iterations" in detail:
        how = "converged" if detail.get("converged") else "stopped at max_iter"
        words = f"{how} after {detail['iterations']} batches"
        if detail.get("augment"):  # DEC-DA: trained on distorted copies
            words += (
                ", on distorted copies ("
                + ", ".join(f"{k} {v}" for k, v in detail["augment"].items())
                + ")"
            )
        return words
    if "sure" in detail:  # selflabel
        return (
            f"labels from {detail['start']}, trained on its {detail['sure']} sure images "
            f"({detail['sure_fraction']:.0%}); {detail['changed_from_start']:.1%} changed"
        )
    return ", ".join(f"{k}: {v}" for k, v in detail.items())


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def best_run_line(
    metrics: dict[str, dict[str, float | None]],
    baseline: str = "raw",
    autoencoders: Iterable[str] | None = None,
) -> str:
    """The report's first finding: the best run by ACC, and how far it is above the best of
    the study's KMeans rows (the KMeans on an autoencoder's latents: the run named by the
    model, for each model in `autoencoders`, default every model) and above KMeans on the
    raw pixels."""
    scored = {run: m["acc"] for run, m in metrics.items() if m.get("acc") is not None}
    if not scored:
        return "No run has an ACC."
    best = max(scored, key=scored.get)
    line = f"**Best run: `{best}`, ACC {scored[best]:.3f}**"
    study = {
        run: acc
        for run, acc in scored.items()
        if "+" not in run and run != baseline and (autoencoders is None or run in set(autoencoders))
    }
    gaps = []
    if study:
        top = max(study, key=study.get)
        gaps.append(
            f"{scored[best] - study[top]:+.3f} over the study's best KMeans row "
            f"(`{top}`, {study[top]:.3f})"
        )
    if baseline in scored:
        gaps.append(
            f"{scored[best] - scored[baseline]:+.3f} over the raw pixels "
            f"(`{baseline}`, {scored[baseline]:.3f})"
        )
    return line + (": " + " and ".join(gaps) if gaps else "") + "."


def markdown(
    metrics: dict[str, dict[str, float | None]],
    timings: dict[str, dict[str, float]],
    figures: dict[str, list[tuple[str, str]]],
    n_images: int,
    source: str,
    method_details: dict[str, dict] | None = None,
    autoencoders: Iterable[str] | None = None,
) -> str:
    """reports/report.md: the metrics table, timings and every figure (relative links).
    `autoencoders`: the models whose KMeans rows are the study's (`best_run_line`).

    `timings` holds each model's training time (train_seconds, seconds_per_epoch, epochs,
    backend) and each method run's time (seconds); `method_details[run]` what a method run
    did (dec: iterations, converged)."""
    lines = [
        "# aeclust report",
        "",
        best_run_line(metrics, autoencoders=autoencoders),
        "",
        f"{n_images} images from `{source}`. Clustering scored against the digit labels "
        "(never used for training). ACC: accuracy under the best one-to-one matching of "
        "clusters to digits. `raw` and `<model>` are the study's KMeans (on pixels / 255 "
        "and on the model's latents); `<model>+dec` is DEC/IDEC refinement of the model, "
        "`<model>+manifold` UMAP of its latents then a Gaussian mixture (N2D), "
        "`<model>+selflabel` the model's encoder and a softmax head trained on another "
        "run's sure images (self-labelling).",
        "",
        "One seed is one draw: single runs vary by several points between seeds. Means "
        "and standard deviations over seeds: `dvc exp run --queue -S seed=1,2,3,4,5`, "
        "`dvc queue start`, then `python -m aeclust.seeds` (reports/seeds.md).",
        "",
        "| run | ACC | NMI | ARI | silhouette | inertia | reconstruction MSE | final loss |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run, m in metrics.items():
        lines.append(
            f"| {run} | {_fmt(m.get('acc'))} | {_fmt(m.get('nmi'))} | {_fmt(m.get('ari'))} | "
            f"{_fmt(m.get('silhouette'))} | {_fmt(m.get('inertia'), 1)} | "
            f"{_fmt(m.get('reconstruction_mse'), 5)} | {_fmt(m.get('final_loss'), 5)} |"
        )
    trained = {name: t for name, t in timings.items() if "train_seconds" in t}
    if trained:
        lines += [
            "",
            "| model | train seconds | seconds per epoch | epochs | backend |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for name, t in trained.items():
            lines.append(
                f"| {name} | {t['train_seconds']:.1f} | {t['seconds_per_epoch']:.3f} | "
                f"{t['epochs']} | {t['backend']} |"
            )
    method_runs = [name for name, t in timings.items() if "train_seconds" not in t]
    if method_runs:
        details = method_details or {}
        lines += ["", "| method run | seconds | details |", "| --- | ---: | --- |"]
        for name in method_runs:
            lines.append(
                f"| {name} | {timings[name]['seconds']:.1f} | {_details(details.get(name, {}))} |"
            )
    for section, items in figures.items():
        lines += ["", f"## {section}", ""]
        for caption, path in items:
            lines += [f"![{caption}]({path})", ""]
    return "\n".join(lines).rstrip() + "\n"
