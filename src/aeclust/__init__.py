"""aeclust: Keras autoencoders on MNIST-like images, KMeans and deep clustering on their
latents, as a DVC pipeline; `load_run` applies a trained run to new images."""

__version__ = "0.1.0"


def load_run(run: str, root: str = "."):
    """A trained run of the project at `root`, to assign new images: see `aeclust.assign`."""
    from aeclust.assign import load_run as load

    return load(run, root)
