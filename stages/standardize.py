"""standardize: every input scaling of the prepared images (float32, (n, side, side))."""

from aeclust import layout
from aeclust.cli import run_stage
from aeclust.scaling import SCALERS
from aeclust.storage import load_array, save_array


def main(argv: list[str]) -> None:
    images = load_array(layout.PREPARED_IMAGES)
    for scaling, scale in SCALERS.items():
        save_array(layout.standardized(scaling), scale(images))


if __name__ == "__main__":
    run_stage("standardize", main)
