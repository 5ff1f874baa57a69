"""Encoding: latents and reconstructions of a trained autoencoder."""

from __future__ import annotations

import keras
import numpy as np

from aeclust.models import encoder_of


def encode(model: keras.Model, inputs: np.ndarray, batch_size: int = 1000):
    """Run `model` on `inputs` (in the model's input shape).

    Returns (latents (n, d) float32, reconstructions shaped like `inputs`, float32,
    reconstruction MSE over all pixels as a float).
    """
    latents = encoder_of(model).predict(inputs, batch_size=batch_size, verbose=0)
    reconstructions = model.predict(inputs, batch_size=batch_size, verbose=0)
    latents = np.asarray(latents, dtype=np.float32).reshape(len(inputs), -1)
    reconstructions = np.asarray(reconstructions, dtype=np.float32).reshape(inputs.shape)
    mse = float(np.mean((reconstructions.astype(np.float64) - inputs) ** 2))
    return latents, reconstructions, mse
