"""The same code on Keras' JAX backend (the GPU machine has JAX, not TensorFlow)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys, tempfile
import numpy as np
import keras
from aeclust.config import AugmentParams, ConvParams, DenseParams
from aeclust.encoding import encode
from aeclust.models import build_autoencoder, load_model, model_inputs, save_model
from aeclust.training import make_deterministic, train_autoencoder

dense = DenseParams("dense", "zscore_per_image", (256, 100), "relu", False, 0.01, 2, 20)
conv = ConvParams("conv", "unit_range", 10, 5, 5, (14, 14), "relu", 0.005, 2, 20)
augmented = ConvParams(**{**conv.__dict__, "augment": AugmentParams(15, 0.1, 0.1)})
images = np.random.default_rng(0).random((40, 28, 28), dtype=np.float32)
out = {"backend": keras.backend.backend()}
for name, spec in (("ffn", dense), ("cnn", conv), ("cnn_aug", augmented)):
    runs = []
    for _ in range(2):
        make_deterministic(5)
        model = build_autoencoder(spec, 28)
        x = model_inputs(images, spec)
        losses = train_autoencoder(model, x, learning_rate=spec.learning_rate, epochs=2,
                                   batch_size=20, seed=5, augment=spec.augment)
        path = tempfile.mktemp(suffix=".keras")
        save_model(model, path)
        latents, recon, mse = encode(load_model(path), x)
        runs.append((losses, latents.shape, float(latents.sum())))
    out[name] = runs
print(json.dumps(out))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_models_train_save_load_and_encode_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["backend"] == "jax"
    for name, d in (("ffn", 100), ("cnn", 196), ("cnn_aug", 196)):
        first, second = out[name]
        assert first == second  # deterministic on JAX too
        assert first[1] == [40, d] and len(first[0]) == 2
    assert out["cnn_aug"][0][0] != out["cnn"][0][0]  # trained on distorted copies
