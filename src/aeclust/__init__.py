"""aeclust: Keras autoencoders on MNIST-like images, KMeans on their latents."""

__version__ = "0.1.0"
