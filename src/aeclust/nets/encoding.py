"""Encoding: latents and reconstructions of a trained autoencoder."""

from __future__ import annotations

import keras
import numpy as np

from aeclust.nets.models import encoder_of


def predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 1000):
    """`model.predict(inputs, batch_size=batch_size)`: the same batches, the same numbers,
    without the set-up `predict` does at every call (a data adapter and its iterator:
    0.06-0.2 s at 3000 images, which DEC pays at every target update). One
    `predict_on_batch` per batch, the outputs joined (a list of arrays for a model with
    several outputs)."""
    if not len(inputs):
        return model.predict(inputs, batch_size=batch_size, verbose=0)
    parts = [
        model.predict_on_batch(inputs[start : start + batch_size])
        for start in range(0, len(inputs), batch_size)
    ]
    if isinstance(parts[0], list | tuple):
        return [np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(len(parts[0]))]
    return np.concatenate([np.asarray(p) for p in parts])


def encode_latents(model: keras.Model, inputs: np.ndarray, batch_size: int = 1000):
    """The latents (n, d) float32 of `model`'s "latent" layer on `inputs`."""
    latents = predict(encoder_of(model), inputs, batch_size)
    return np.asarray(latents, dtype=np.float32).reshape(len(inputs), -1)


def encode(model: keras.Model, inputs: np.ndarray, batch_size: int = 1000):
    """Run `model` on `inputs` (in the model's input shape).

    Returns (latents (n, d) float32, reconstructions shaped like `inputs`, float32,
    reconstruction MSE over all pixels as a float).
    """
    latents = predict(encoder_of(model), inputs, batch_size)
    reconstructions = predict(model, inputs, batch_size)
    latents = np.asarray(latents, dtype=np.float32).reshape(len(inputs), -1)
    reconstructions = np.asarray(reconstructions, dtype=np.float32).reshape(inputs.shape)
    mse = float(np.mean((reconstructions.astype(np.float64) - inputs) ** 2))
    return latents, reconstructions, mse
