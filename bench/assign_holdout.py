"""How well a trained run places images it never saw: every run of the project at --root
assigns --source (say MNIST's 10000 test images), and is scored against their labels
through the cluster-to-label matching learnt on the training images; beside it, the run's
ACC on its own training images (reports/metrics.json) and, for manifold runs, how often a
training image left out gets its own cluster back from its neighbours.

    python bench/assign_holdout.py --source idx:<folder with MNIST's t10k files> \\
        --output bench/results/<host-date>/assign_holdout.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path


def host() -> dict[str, str]:
    """The CPU model and the vector flags that decide conv speed, from /proc/cpuinfo."""
    model, flags = platform.processor() or "unknown", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
    return {"cpu": model, "flags": " ".join(f for f in wanted if f in flags)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python bench/assign_holdout.py", description=__doc__)
    parser.add_argument("--source", required=True, help="the images to assign (data.source)")
    parser.add_argument("--root", default=".", help="the trained project")
    parser.add_argument("--output", help="write the figures here too (JSON)")
    args = parser.parse_args(argv)

    from aeclust.assign import load_run
    from aeclust.data.sources import load_source

    root = Path(args.root)
    metrics = json.loads((root / "reports/metrics.json").read_text())
    images, labels = load_source(args.source)
    rows = []
    for run in metrics:
        start = time.perf_counter()
        trained = load_run(run, root)
        scores = trained.scores(trained.assign(images), labels)
        row = {
            "run": run,
            "train_acc": round(metrics[run]["acc"], 4),
            **{k: round(v, 4) for k, v in scores.items()},
            "seconds": round(time.perf_counter() - start, 2),
        }
        neighbours = root / "data/methods" / run / "neighbours.json"
        if neighbours.exists():
            agreement = json.loads(neighbours.read_text())["leave_one_out_agreement"]
            row["leave_one_out_agreement"] = agreement
        rows.append(row)
        print(
            f"{run:14s} new ACC {row['acc']:.4f} (training {row['train_acc']:.4f})  "
            f"NMI {row['nmi']:.4f}  ARI {row['ari']:.4f}  {row['seconds']:.1f} s"
            + (f"  leave-one-out {agreement:.4f}" if neighbours.exists() else ""),
            flush=True,
        )
    if args.output:
        result = {"source": args.source, "n_images": len(images), "host": host(), "runs": rows}
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    import logging

    from aeclust.stage import run_stage

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes on last batches
    run_stage("assign_holdout", lambda argv: main(argv))
