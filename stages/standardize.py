"""standardize: every input scaling of the prepared images (float32, (n, side, side))."""

from aeclust.data.scaling import SCALERS
from aeclust.io import paths
from aeclust.io.storage import load_array, save_array
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    images = load_array(paths.PREPARED_IMAGES)
    for scaling, scale in SCALERS.items():
        save_array(paths.standardized(scaling), scale(images))


if __name__ == "__main__":
    run_stage("standardize", main)
