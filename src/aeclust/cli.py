"""The `aeclust` command.

    aeclust assign RUN SOURCE -o OUT.csv [--batch-size N] [--root DIR]

puts the images of SOURCE (any data.source: idx:DIR, npz:FILE, csv:FILE, ...) into the
clusters of run RUN of the trained project at --root (a key of reports/metrics.json: raw,
cnn, cnn+dec, cnn+manifold, ...), and writes OUT.csv with one row per image: index,
cluster, and label where the source has labels. With labels it also prints ACC (through
the cluster-to-label matching learnt on the training images, with their labels), NMI and
ARI. A bad argument or file is one line and exit status 2; OUT.csv is written only when
every image is assigned.
"""

from __future__ import annotations

import argparse
import csv
import sys

import numpy as np

from aeclust.errors import UserError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aeclust", description="Use a trained aeclust run.")
    commands = parser.add_subparsers(dest="command", required=True)
    assign = commands.add_parser(
        "assign", help="put new images into a trained run's clusters", description=__doc__
    )
    assign.add_argument("run", metavar="RUN", help="a key of reports/metrics.json: raw, cnn+dec")
    assign.add_argument("source", metavar="SOURCE", help="idx:DIR, npz:FILE, csv:FILE, ...")
    assign.add_argument("-o", "--output", required=True, metavar="OUT.csv")
    assign.add_argument("--batch-size", type=int, default=1000, help="images per step")
    assign.add_argument("--root", default=".", help="the trained project (default: here)")
    return parser


def assign_command(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from aeclust.assign import check_images, load_run
    from aeclust.config.fields import checked
    from aeclust.config.schema import Source
    from aeclust.data.sources import load_source
    from aeclust.io.storage import atomic_path

    if args.batch_size < 1:
        raise UserError(f"--batch-size {args.batch_size}: must be an integer >= 1")
    checked("SOURCE", args.source, Source())
    run = load_run(args.run, args.root)
    images, labels = load_source(args.source)
    images = check_images(images, run.side)
    steps = range(0, len(images), args.batch_size)
    parts = []
    with tqdm(total=len(images), unit="image", disable=len(steps) < 2, file=sys.stderr) as bar:
        for batch in run.batches(images, args.batch_size):
            parts.append(batch)
            bar.update(len(batch))
    cluster_ids = np.concatenate(parts)
    with atomic_path(args.output) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "cluster", "label"])
        rows = zip(range(len(cluster_ids)), cluster_ids.tolist(), labels.tolist(), strict=True)
        writer.writerows(rows)
    print(f"{args.run}: {len(images)} images of {args.source} -> {args.output}")
    scores = run.scores(cluster_ids, labels)
    print(
        f"ACC {scores['acc']:.4f} (clusters matched to labels on the training images, "
        f"with their labels)  NMI {scores['nmi']:.4f}  ARI {scores['ari']:.4f}"
    )


def main(argv: list[str] | None = None) -> None:
    import logging

    from aeclust.stage import run_stage

    # TensorFlow warns of retracing when the last batch is smaller: noise for this command.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    run_stage("aeclust " + args.command, lambda _: assign_command(args))


if __name__ == "__main__":
    main()
