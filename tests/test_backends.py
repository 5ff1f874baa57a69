"""The same code on Keras' JAX backend (the GPU machine has JAX, not TensorFlow)."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = """
import json, sys, tempfile
import numpy as np
import keras
from aeclust.config import AugmentParams, ConvParams, DenseParams
from aeclust.nets.encoding import encode
from aeclust.nets.models import build_autoencoder, load_model, model_inputs, save_model
from aeclust.nets.training import make_deterministic, train_autoencoder

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


@pytest.mark.slow
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


# Tests run again on JAX. The batch runners' equivalence tests: the same losses and weights
# as Keras' own train_on_batch / fit on the same batches (the smaller last batch, augmented
# epochs, DEC's targets), and a resumed run equal to the uninterrupted one. The selflabel
# tests: the mended labels, the same labels for the same seed, the classifier saved and
# loaded, its progress lines.
ON_JAX = {
    "runners": [
        "tests/test_training.py::test_each_epoch_is_keras_train_step_over_the_epoch_order",
        "tests/test_training.py::test_resuming_from_a_checkpoint_gives_the_uninterrupted_result",
        "tests/test_dec.py::test_compiled_batches_refine_as_keras_fit_does",
    ],
    "selflabel": ["tests/test_selflabel.py"],
}


def pytest_here(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
@pytest.mark.parametrize("name", ON_JAX)
def test_passes_on_jax_too(name):
    """Every case the tests hold (counted by collecting them here) passes on JAX: none
    fails, none is skipped."""
    tests = ON_JAX[name]
    listed = pytest_here("--collect-only", "-q", *tests)
    assert listed.returncode == 0, listed.stdout[-4000:]
    cases = sum("::" in line for line in listed.stdout.splitlines())
    assert cases >= len(tests)
    result = pytest_here("-q", *tests, env={**os.environ, "KERAS_BACKEND": "jax"})
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.match(rf"=* ?{cases} passed", summary), summary  # none skipped


SCAN_SCRIPT = """
import json
import numpy as np
import keras
from aeclust.nets.models import build_autoencoder, model_inputs
from aeclust.nets.runners import JaxBatchRunner
from aeclust.nets.training import epoch_orders
from test_models import CONV

x = model_inputs(np.random.default_rng(0).random((50, 28, 28), dtype=np.float32), CONV)
flipped = x[:, ::-1].copy()  # targets taken from `extra`, as DEC's are
out = {}
for scan in (True, False):
    keras.utils.set_random_seed(3)
    model = build_autoencoder(CONV, 28)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="mse")
    runner = JaxBatchRunner(model, x, 20, targets=lambda batch, extra: extra, scan=scan)
    losses = [runner(order, extra=flipped) for order in epoch_orders(3, 0, 2, len(x))]
    out[str(scan)] = [losses, [w.tolist() for w in model.get_weights()]]

# IDEC's two outputs (assignments and reconstruction) through either loop.
import functools
import aeclust.cluster.dec
from test_dec import SPEC, blobs, trained_autoencoder
points, _ = blobs(3.5)
spec = aeclust.cluster.dec.DecParams(**{**SPEC.__dict__, "tol": 0.0, "max_iter": 45})
for scan in (True, False):
    aeclust.cluster.dec.batch_runner = functools.partial(JaxBatchRunner, scan=scan)
    result = aeclust.cluster.dec.refine(trained_autoencoder(points), points, spec, 4, seed=3)
    out[f"dec {scan}"] = [result.cluster_ids.tolist(), result.latents.tolist()]
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_runner_scan_and_per_batch_calls_train_alike():
    """The scan (GPU default) against one call per batch (CPU default, tested against Keras'
    own steps above): the same losses and weights, a smaller last batch and `extra` targets
    included, and the same IDEC refinement (two outputs)."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.path.dirname(__file__)}
    result = subprocess.run(
        [sys.executable, "-c", SCAN_SCRIPT], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    (scan_losses, scan_weights), (step_losses, step_weights) = out["True"], out["False"]
    assert len(scan_losses) == 2 and scan_losses[1] < scan_losses[0]
    np.testing.assert_allclose(scan_losses, step_losses, rtol=1e-5)
    for a, b in zip(scan_weights, step_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    (scan_ids, scan_latents), (step_ids, step_latents) = out["dec True"], out["dec False"]
    assert scan_ids == step_ids
    np.testing.assert_allclose(scan_latents, step_latents, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_the_fast_layers_run_on_jax_without_importing_tensorflow():
    # A model trained on TensorFlow holds them; encoding it on JAX must not load TensorFlow
    # where it is installed too (seconds and ~0.5 GB).
    script = (
        "import sys\n"
        "import numpy as np\n"
        "import keras\n"
        "from aeclust.nets.layers import BandedConv2D, PhaseDecoder2D, SeparableMaxPooling2D\n"
        "x = keras.Input((14, 14, 1))\n"
        "z = PhaseDecoder2D(10, 4, 2, 'relu', out_kernel_size=4)(x)\n"
        "c = BandedConv2D(10, 5, padding='same', activation='relu')(z)\n"
        "y = SeparableMaxPooling2D(5, strides=1)(c)\n"
        "model = keras.Model(x, [y, z])\n"
        "out = model.predict(np.ones((2, 14, 14, 1), 'float32'), verbose=0)\n"
        "print(keras.backend.backend(), *(o.shape for o in out), 'tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "jax",
        *"(2, 24, 24, 10)".split(),
        *"(2, 28, 28, 1)".split(),
        "False",
    ]


TOGETHER_SCRIPT = """
import json
import numpy as np
from aeclust.config import AugmentParams
from aeclust.nets.models import build_autoencoder, model_inputs
from aeclust.nets.training import make_deterministic, train_autoencoder, train_autoencoders_together
from test_models import DENSE

rng = np.random.default_rng(0)
inputs = [model_inputs(rng.random((50, 28, 28), dtype=np.float32), DENSE) for _ in range(3)]
seeds = [3, 7, 11]


def fresh(seed):
    make_deterministic(seed)
    return build_autoencoder(DENSE, 28)


out = []
# Two chunks with a last batch of 10; batches larger than the sample (no full batch);
# each epoch on distorted copies.
for settings in (
    dict(epochs=12, batch_size=20),
    dict(epochs=2, batch_size=64),
    dict(epochs=3, batch_size=20, augment=AugmentParams(rotation=10, shift=0.1)),
):
    settings["learning_rate"] = 0.005
    case = {"alone": [], "together": []}
    for x, seed in zip(inputs, seeds):
        model = fresh(seed)
        losses = train_autoencoder(model, x, seed=seed, **settings)
        case["alone"].append([losses, [w.tolist() for w in model.get_weights()]])
    models = [fresh(seed) for seed in seeds]
    losses = train_autoencoders_together(models, inputs, seeds=seeds, **settings)
    for model, seed_losses in zip(models, losses):
        case["together"].append([seed_losses, [w.tolist() for w in model.get_weights()]])
    out.append(case)
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_autoencoders_trained_together_train_as_each_alone():
    """Three seeds in one vmapped program against `train_autoencoder` per seed: the same
    losses per epoch and the same weights, to float32 rounding, each seed its own; also
    with a batch size larger than the sample, and on distorted copies."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.path.dirname(__file__)}
    result = subprocess.run(
        [sys.executable, "-c", TOGETHER_SCRIPT], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    cases = json.loads(result.stdout.strip().splitlines()[-1])
    for case, epochs in zip(cases, (12, 2, 3), strict=True):
        for (alone_losses, alone_weights), (losses, weights) in zip(
            case["alone"], case["together"], strict=True
        ):
            assert len(losses) == epochs and losses[-1] < losses[0]
            np.testing.assert_allclose(losses, alone_losses, rtol=1e-5)
            for a, b in zip(alone_weights, weights, strict=True):
                np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
        first, second = (np.asarray(case["together"][i][1][0]) for i in (0, 1))
        assert not np.allclose(first, second)  # each model kept its own weights


def test_training_together_needs_jax():
    import keras

    from aeclust.nets.training import train_autoencoders_together

    if keras.backend.backend() == "jax":
        pytest.skip("runs on the other backends")
    with pytest.raises(ValueError, match="needs the JAX backend"):
        train_autoencoders_together([], [], learning_rate=0.1, epochs=1, batch_size=1, seeds=[])
