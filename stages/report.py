"""report: reports/metrics.json, reports/timings.json, the figures and reports/report.md."""

import csv

import matplotlib.pyplot as plt

from aeclust import figures, layout, methods
from aeclust.cli import run_stage
from aeclust.config import BASELINE, load_params
from aeclust.report import markdown, ordered_confusion, pca_2d, quality_metrics
from aeclust.scaling import unit_range
from aeclust.storage import atomic_path, load_array, load_json, save_json, save_text


def read_losses(name: str) -> list[float]:
    path = layout.train_log(name) / "plots" / "metrics" / "loss.tsv"
    with open(path, newline="") as f:
        return [float(row["loss"]) for row in csv.DictReader(f, delimiter="\t")]


def save_figure(fig, name: str) -> str:
    """Save under reports/figures/ and return the path relative to reports/."""
    path = layout.FIGURES / name
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return str(path.relative_to(layout.REPORTS))


def main(argv: list[str]) -> None:
    params = load_params(layout.PARAMS)
    images = load_array(layout.PREPARED_IMAGES)
    digit_labels = load_array(layout.PREPARED_LABELS)
    kmeans_scores = load_json(layout.CLUSTERS / "scores.json")
    study_runs = [BASELINE, *params.models]
    method_runs = params.method_runs()  # "<model>+<method>" -> (model, method)
    runs = [*study_runs, *method_runs]
    run_dirs = {run: methods.run_dir(run) for run in method_runs}
    cluster_ids = {run: load_array(layout.CLUSTERS / f"{run}.npy") for run in study_runs}
    cluster_ids |= {run: load_array(d / methods.CLUSTER_IDS) for run, d in run_dirs.items()}
    cluster_scores = {run: kmeans_scores[run] for run in study_runs}
    cluster_scores |= {run: load_json(d / methods.SCORES) for run, d in run_dirs.items()}
    latents = {name: load_array(layout.encoded(name) / "latents.npy") for name in params.models}
    losses = {name: read_losses(name) for name in params.models}
    mse = {n: load_json(layout.encoded(n) / "reconstruction.json")["mse"] for n in params.models}
    timings = {name: load_json(layout.train_timing(name)) for name in params.models}
    timings |= {run: load_json(d / methods.TIMING) for run, d in run_dirs.items()}
    details = {
        run: {
            k: v for k, v in load_json(run_dirs[run] / methods.REFINEMENT).items() if k != "history"
        }
        for run, (_, method) in method_runs.items()
        if method == "dec"
    }

    metrics = quality_metrics(
        {run: cluster_scores[run] for run in runs},
        mse,
        {name: values[-1] for name, values in losses.items()},
    )
    save_json(layout.METRICS, metrics)
    save_json(layout.TIMINGS, timings)

    sample = min(params.report.sample_index, len(images) - 1)
    shown: dict[str, list[tuple[str, str]]] = {
        "Comparison": [
            (
                "ACC, NMI and ARI per run",
                save_figure(figures.comparison_figure(metrics), "comparison.png"),
            ),
            ("training loss", save_figure(figures.loss_figure(losses), "loss.png")),
            (
                "cluster x digit counts",
                save_figure(
                    figures.confusion_figure(
                        {run: ordered_confusion(cluster_ids[run], digit_labels) for run in runs}
                    ),
                    "confusion.png",
                ),
            ),
            (
                "2-D projections coloured by digit",
                save_figure(
                    figures.projection_figure(
                        {
                            BASELINE: pca_2d(unit_range(images)),
                            **{n: pca_2d(v) for n, v in latents.items()},
                        },
                        digit_labels,
                    ),
                    "projection.png",
                ),
            ),
        ]
    }
    for name in params.models:
        reconstructions = load_array(layout.encoded(name) / "reconstructions.npy")
        shown[f"Model {name}"] = [
            (
                f"{name}: image {sample} and its latent",
                save_figure(
                    figures.sample_figure(
                        images[sample], latents[name][sample], f"{name}: image {sample}"
                    ),
                    f"{name}_sample.png",
                ),
            ),
            (
                f"{name}: 10 members of each cluster, originals over latents",
                save_figure(
                    figures.cluster_members_figure(
                        images, latents[name], cluster_ids[name], f"{name}: clusters"
                    ),
                    f"{name}_clusters.png",
                ),
            ),
            (
                f"{name}: reconstructions",
                save_figure(
                    figures.reconstructions_figure(
                        images, reconstructions, f"{name}: originals over reconstructions"
                    ),
                    f"{name}_reconstructions.png",
                ),
            ),
        ]
    for run, (name, method) in method_runs.items():
        # Figure B for the method's clusters: dec over its refined latents, manifold over
        # the model's latents (its UMAP embedding is only a few numbers).
        if method == "dec":
            shown_latents, which = load_array(run_dirs[run] / methods.LATENTS), "refined latents"
        else:
            shown_latents, which = latents[name], f"{name} latents"
        shown[f"Model {name}"].append(
            (
                f"{run}: 10 members of each cluster, originals over {which}",
                save_figure(
                    figures.cluster_members_figure(
                        images, shown_latents, cluster_ids[run], f"{run}: clusters"
                    ),
                    f"{run}_clusters.png",
                ),
            )
        )
    save_text(
        layout.REPORT_MD,
        markdown(
            metrics,
            timings,
            shown,
            n_images=len(images),
            source=params.data.source,
            method_details=details,
        ),
    )


if __name__ == "__main__":
    run_stage("report", main)
