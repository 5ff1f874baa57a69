"""prepare: load the source, draw a seeded stratified sample, write uint8 images and labels."""

from aeclust.config import load_params
from aeclust.data.sampling import stratified_sample
from aeclust.data.sources import load_source
from aeclust.io import paths
from aeclust.io.storage import save_array
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    images, labels = load_source(params.data.source)
    chosen = stratified_sample(labels, params.data.n_samples, params.seed)
    save_array(paths.PREPARED_IMAGES, images[chosen])
    save_array(paths.PREPARED_LABELS, labels[chosen])


if __name__ == "__main__":
    run_stage("prepare", main)
