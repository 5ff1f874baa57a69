"""Self-labelling over seeds without retraining: the selflabel stage's own function
(`aeclust.cluster.selflabel.self_label`, with the `methods.selflabel` of the workspace's
params.yaml or of --params) on the trained models of finished DVC experiments.

For each experiment (every one in refs/exps of this clone or of --repo, or those named by
--exps), and each model of its params.yaml with a start run (`<model>+<start>`) among its
outputs, this reads the experiment's model file, latents, standardized images, start
run's cluster ids and labels from the DVC cache (`dvc.api`, at the experiment's commit:
nothing is retrained), runs self-labelling with the experiment's seed (a seed and model
met twice count once), and scores the start run and the self-labelled run against the
labels. It prints one line per run, then the mean, standard deviation and range of ACC and
NMI per model, and writes every run to --out.
Prints figures; asserts nothing.

    python bench/selflabel_seeds.py --models simclr --out selflabel_seeds.json
    python bench/selflabel_seeds.py --exps armed-pony livid-typo
    python bench/selflabel_seeds.py --repo ../other-clone --params recipe-params.yaml
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exps", nargs="+", help="experiment names (default: every one)")
    parser.add_argument("--models", nargs="+", help="model names (default: every one)")
    parser.add_argument("--seeds", nargs="+", type=int, help="those seeds only (default: all)")
    parser.add_argument(
        "--params", default=str(ROOT / "params.yaml"), help="whose methods.selflabel applies"
    )
    parser.add_argument(
        "--repo", type=Path, default=ROOT, help="the clone whose experiments (default: this one)"
    )
    parser.add_argument("--out", default="selflabel_seeds.json", help="JSON of every run")
    return parser.parse_args()


def experiments(names: list[str] | None, repo: Path = ROOT) -> dict[str, str]:
    """name -> ref of the experiments in `repo`'s refs/exps (those named, if any)."""
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/exps"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = {ref.rsplit("/", 1)[-1]: ref for ref in refs}
    if names:
        missing = [n for n in names if n not in found]
        if missing:
            sys.exit(f"--exps: no experiment named {', '.join(missing)} (have: {', '.join(found)})")
        return {n: found[n] for n in names}
    return found


def read(path: str, ref: str, repo: Path = ROOT) -> bytes:
    """The bytes of `path` at `ref` of `repo`, from git or its DVC cache."""
    import dvc.api

    with dvc.api.open(path, repo=str(repo), rev=ref, mode="rb") as handle:
        return handle.read()


def array(path: str, ref: str, repo: Path = ROOT) -> np.ndarray:
    """The .npy file `path` at `ref` of `repo` (no pickles)."""
    return np.load(io.BytesIO(read(path, ref, repo)), allow_pickle=False)


def main() -> None:
    args = parse_args()
    from aeclust.config import load_params, parse_params, run_name
    from aeclust.imports import import_keras

    spec = load_params(args.params).methods.selflabel
    workspace = yaml.safe_load(Path(args.params).read_text())
    import_keras()
    from aeclust.cluster.scores import label_scores
    from aeclust.cluster.selflabel import self_label
    from aeclust.io import paths
    from aeclust.nets.models import load_model, model_inputs

    rows = []
    for name, ref in experiments(args.exps, args.repo).items():
        text = subprocess.run(
            ["git", "show", f"{ref}:params.yaml"], cwd=args.repo, capture_output=True, text=True
        ).stdout
        raw = yaml.safe_load(text)
        # The workspace's self-labelling settings apply (an older experiment has none).
        raw["methods"]["selflabel"] = workspace["methods"]["selflabel"]
        exp_params = parse_params(raw, prefix=f"{name}: params.yaml: ")
        seed = exp_params.seed
        if args.seeds and seed not in args.seeds:
            continue
        labels = array(str(paths.PREPARED_LABELS), ref, args.repo)
        for model, model_spec in exp_params.models.items():
            if args.models and model not in args.models:
                continue
            if any(r["seed"] == seed and r["model"] == model for r in rows):
                print(f"{name}: seed {seed} {model} again, left out (the first one counts)")
                continue
            start = run_name(model, spec.start)
            try:
                start_ids = array(f"data/methods/{start}/cluster_ids.npy", ref, args.repo)
            except Exception:
                continue  # the experiment has no such run
            images = array(str(paths.standardized(model_spec.scaling)), ref, args.repo)
            latents = array(f"{paths.encoded(model)}/latents.npy", ref, args.repo)
            with tempfile.TemporaryDirectory() as tmp:
                model_file = Path(tmp) / "model.keras"
                model_file.write_bytes(read(str(paths.model_file(model)), ref, args.repo))
                network = load_model(model_file)
            inputs = model_inputs(images, model_spec)
            began = time.perf_counter()
            result = self_label(
                network, inputs, start_ids, latents, spec, exp_params.methods.n_clusters, seed
            )
            seconds = time.perf_counter() - began
            row = {
                "experiment": name,
                "seed": seed,
                "model": model,
                "start": start,
                "start_scores": label_scores(start_ids, labels),
                "selflabel_scores": label_scores(result.cluster_ids, labels),
                "sure_fraction": float(result.sure.mean()),
                "run_changed": result.run_changed,
                "seconds": round(seconds, 2),
            }
            rows.append(row)
            print(
                f"{name} seed {seed} {model}: {start} ACC {row['start_scores']['acc']:.4f} -> "
                f"{model}+selflabel ACC {row['selflabel_scores']['acc']:.4f} "
                f"(NMI {row['selflabel_scores']['nmi']:.4f}; sure {row['sure_fraction']:.3f}; "
                f"{seconds:.1f} s)",
                flush=True,
            )
    summary = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        for key in ("start_scores", "selflabel_scores"):
            for score in ("acc", "nmi"):
                values = [r[key][score] for r in mine]
                summary[f"{model} {key.split('_')[0]} {score}"] = {
                    "n": len(values),
                    "mean": statistics.mean(values),
                    "std": statistics.stdev(values) if len(values) > 1 else None,
                    "min": min(values),
                    "max": max(values),
                }
    for label, stats in summary.items():
        std = "-" if stats["std"] is None else f"{stats['std']:.4f}"
        print(
            f"{label}: mean {stats['mean']:.4f} ± {std} "
            f"(min {stats['min']:.4f}, max {stats['max']:.4f}, n {stats['n']})"
        )
    Path(args.out).write_text(
        json.dumps(
            {
                "host": platform.processor() or platform.machine(),
                "selflabel": dataclasses.asdict(spec),
                "runs": rows,
                "summary": summary,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
