"""The report stage's work: gather every run's clusters, scores, losses and timings; write
the metrics, the timings, the figures (in parallel) and the markdown report."""

from __future__ import annotations

import csv

from aeclust.cluster import runs as methods
from aeclust.config import BASELINE, ContrastiveParams, Params
from aeclust.data.scaling import unit_range
from aeclust.io import paths
from aeclust.io.storage import load_array, load_json, save_json, save_text
from aeclust.report import figures, render
from aeclust.report.plots import write_plot_data
from aeclust.report.tables import markdown, ordered_confusion, pca_2d, quality_metrics


def read_losses(name: str) -> list[float]:
    path = paths.train_log(name) / "plots" / "metrics" / "loss.tsv"
    with open(path, newline="") as f:
        return [float(row["loss"]) for row in csv.DictReader(f, delimiter="\t")]


def figure_path(name: str) -> str:
    """Where figure `name` goes, relative to reports/ (as report.md links it)."""
    return str((paths.FIGURES / name).relative_to(paths.REPORTS))


def build_report(params: Params) -> None:
    """Read every run's outputs; write reports/metrics.json, reports/timings.json, the
    figures and reports/report.md."""
    images = load_array(paths.PREPARED_IMAGES)
    digit_labels = load_array(paths.PREPARED_LABELS)
    kmeans_scores = load_json(paths.CLUSTERS / "scores.json")
    study_runs = [BASELINE, *params.models]
    method_runs = params.method_runs()  # "<model>+<method>" -> (model, method)
    runs = [*study_runs, *method_runs]
    run_dirs = {run: methods.run_dir(run) for run in method_runs}
    cluster_ids = {run: load_array(paths.CLUSTERS / f"{run}.npy") for run in study_runs}
    cluster_ids |= {run: load_array(d / methods.CLUSTER_IDS) for run, d in run_dirs.items()}
    cluster_scores = {run: kmeans_scores[run] for run in study_runs}
    cluster_scores |= {run: load_json(d / methods.SCORES) for run, d in run_dirs.items()}
    latents = {name: load_array(paths.encoded(name) / "latents.npy") for name in params.models}
    losses = {name: read_losses(name) for name in params.models}
    mse = {n: load_json(paths.encoded(n) / "reconstruction.json")["mse"] for n in params.models}
    mse = {n: v for n, v in mse.items() if v is not None}  # contrastive models: none
    timings = {name: load_json(paths.train_timing(name)) for name in params.models}
    timings |= {run: load_json(d / methods.TIMING) for run, d in run_dirs.items()}
    detail_files = {"dec": methods.REFINEMENT, "selflabel": methods.SELFLABEL}
    details = {
        run: {
            k: v
            for k, v in load_json(run_dirs[run] / detail_files[method]).items()
            if k != "history"
        }
        for run, (_, method) in method_runs.items()
        if method in detail_files
    }

    metrics = quality_metrics(
        {run: cluster_scores[run] for run in runs},
        mse,
        {name: values[-1] for name, values in losses.items()},
    )
    save_json(paths.METRICS, metrics)
    save_json(paths.TIMINGS, timings)
    embeddings = {
        run: load_array(run_dirs[run] / methods.EMBEDDING)
        for run, (_, method) in method_runs.items()
        if method == "manifold"
    }
    write_plot_data({run: cluster_ids[run] for run in runs}, embeddings, digit_labels, params.seed)

    sample = min(params.report.sample_index, len(images) - 1)
    shown: dict[str, list[tuple[str, str]]] = {}  # section -> [(caption, path)], in order
    jobs: list[render.FigureJob] = []

    def figure(section: str, caption: str, name: str, function, *args) -> None:
        shown.setdefault(section, []).append((caption, figure_path(name)))
        jobs.append((paths.FIGURES / name, function, args))

    figure(
        "Comparison",
        "ACC, NMI and ARI per run",
        "comparison.png",
        figures.comparison_figure,
        metrics,
    )
    figure("Comparison", "training loss", "loss.png", figures.loss_figure, losses)
    figure(
        "Comparison",
        "cluster x digit counts",
        "confusion.png",
        figures.confusion_figure,
        {run: ordered_confusion(cluster_ids[run], digit_labels) for run in runs},
    )
    projections = {
        BASELINE: pca_2d(unit_range(images)),
        **{n: pca_2d(v) for n, v in latents.items()},
    }
    figure(
        "Comparison",
        "2-D projections coloured by digit",
        "projection.png",
        figures.projection_figure,
        projections,
        digit_labels,
    )
    for name in params.models:
        section = f"Model {name}"
        figure(
            section,
            f"{name}: image {sample} and its latent",
            f"{name}_sample.png",
            figures.sample_figure,
            images[sample],
            latents[name][sample],
            f"{name}: image {sample}",
        )
        figure(
            section,
            f"{name}: 10 members of each cluster, originals over latents",
            f"{name}_clusters.png",
            figures.cluster_members_figure,
            images,
            latents[name],
            cluster_ids[name],
            f"{name}: clusters",
        )
        if name not in mse:  # nothing reconstructed
            continue
        figure(
            section,
            f"{name}: reconstructions",
            f"{name}_reconstructions.png",
            figures.reconstructions_figure,
            images,
            load_array(paths.encoded(name) / "reconstructions.npy"),
            f"{name}: originals over reconstructions",
        )
    for run, (name, method) in method_runs.items():
        # Figure B for the method's clusters: dec and selflabel over their trained latents,
        # manifold over the model's latents (its UMAP embedding is only a few numbers).
        if method in ("dec", "selflabel"):
            shown_latents, which = load_array(run_dirs[run] / methods.LATENTS), "trained latents"
        else:
            shown_latents, which = latents[name], f"{name} latents"
        figure(
            f"Model {name}",
            f"{run}: 10 members of each cluster, originals over {which}",
            f"{run}_clusters.png",
            figures.cluster_members_figure,
            images,
            shown_latents,
            cluster_ids[run],
            f"{run}: clusters",
        )
    render.draw_all(jobs)
    save_text(
        paths.REPORT_MD,
        markdown(
            metrics,
            timings,
            shown,
            n_images=len(images),
            source=params.data.source,
            method_details=details,
            autoencoders=[
                name
                for name, spec in params.models.items()
                if not isinstance(spec, ContrastiveParams)
            ],
        ),
    )
