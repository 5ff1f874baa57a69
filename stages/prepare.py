"""prepare: load the source, draw a seeded stratified sample, write uint8 images and labels."""

from aeclust import layout
from aeclust.cli import run_stage
from aeclust.config import load_params
from aeclust.data import stratified_sample
from aeclust.sources import load_source
from aeclust.storage import save_array


def main(argv: list[str]) -> None:
    params = load_params(layout.PARAMS)
    images, labels = load_source(params.data.source)
    chosen = stratified_sample(labels, params.data.n_samples, params.seed)
    save_array(layout.PREPARED_IMAGES, images[chosen])
    save_array(layout.PREPARED_LABELS, labels[chosen])


if __name__ == "__main__":
    run_stage("prepare", main)
