"""aeclust: Keras autoencoders on MNIST-like images, KMeans and deep clustering on their
latents, as a DVC pipeline; `load_run` applies a trained run to new images."""

import importlib

__version__ = "0.1.0"


def load_run(run: str, root: str = "."):
    """A trained run of the project at `root`, to assign new images: see `aeclust.assign`."""
    # Imported by name when called, so that `import aeclust` (which every stage runs) stays
    # light and no stage depends on aeclust.assign in dvc.yaml.
    return importlib.import_module("aeclust.assign").load_run(run, root)
