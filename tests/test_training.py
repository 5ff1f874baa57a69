import csv
import json
import logging
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from dvclive import Live  # noqa: E402
from test_models import CONV, DENSE  # noqa: E402

from aeclust.config import AugmentParams  # noqa: E402
from aeclust.data.augment import random_affine  # noqa: E402
from aeclust.nets.callbacks import LiveLogger, Progress  # noqa: E402
from aeclust.nets.checkpoints import Checkpoint, fingerprint  # noqa: E402
from aeclust.nets.models import build_autoencoder, model_inputs  # noqa: E402
from aeclust.nets.runners import FusedAdam  # noqa: E402
from aeclust.nets.training import (  # noqa: E402
    CHUNK_EPOCHS,
    augment_rng,
    chunk_seed,
    epoch_orders,
    make_deterministic,
    train_autoencoder,
)


def images(n=60, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)


def trained_weights(spec, seed, epochs=2):
    make_deterministic(seed)
    model = build_autoencoder(spec, 28)
    losses = train_autoencoder(
        model,
        model_inputs(images(), spec),
        learning_rate=spec.learning_rate,
        epochs=epochs,
        batch_size=20,
        seed=seed,
    )
    return model.get_weights(), losses


@pytest.mark.parametrize("spec", [DENSE, CONV])
def test_same_seed_same_model(spec):
    first, losses_a = trained_weights(spec, seed=7)
    second, losses_b = trained_weights(spec, seed=7)
    assert losses_a == losses_b
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    third, _ = trained_weights(spec, seed=8)
    assert not np.array_equal(first[0], third[0])


def test_training_lowers_the_loss():
    _, losses = trained_weights(DENSE, seed=0, epochs=5)
    assert len(losses) == 5 and losses[-1] < losses[0]


@pytest.mark.parametrize("sync_every_s", [0, 3600], ids=["every epoch", "at the end"])
def test_dvclive_logs_one_row_per_epoch_and_the_last_in_its_summary(tmp_path, sync_every_s):
    make_deterministic(0)
    model = build_autoencoder(DENSE, 28)
    with Live(str(tmp_path / "log"), dvcyaml=False, save_dvc_exp=False) as live:
        losses = train_autoencoder(
            model,
            model_inputs(images(), DENSE),
            learning_rate=0.01,
            epochs=3,
            batch_size=20,
            seed=0,
            callbacks=[LiveLogger(live, sync_every_s=sync_every_s)],
        )
    with open(tmp_path / "log" / "plots" / "metrics" / "loss.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [int(r["step"]) for r in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(r["loss"]) for r in rows], losses, rtol=1e-6)
    summary = json.loads((tmp_path / "log" / "metrics.json").read_text())
    assert summary == {"loss": float(rows[-1]["loss"]), "step": 2}


def test_progress_logs_first_and_last_epoch_without_flooding(caplog):
    progress = Progress("ffn", epochs=200, every_s=3600)
    progress.on_train_begin()
    with caplog.at_level(logging.INFO, logger="aeclust.nets.training"):
        for epoch in range(200):
            progress.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "epoch 1/200" in lines[0] and "epoch 200/200" in lines[1] and "left" in lines[1]


AUGMENT = AugmentParams(rotation=15, shift=0.1, zoom=0.1)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "augment"), [(DENSE, None), (CONV, None), (DENSE, AUGMENT)], ids=["ffn", "cnn", "aug"]
)
def test_resuming_from_a_checkpoint_gives_the_uninterrupted_result(tmp_path, spec, augment):
    x = model_inputs(images(), spec)
    kwargs = dict(
        learning_rate=spec.learning_rate,
        epochs=2 * CHUNK_EPOCHS,
        batch_size=20,
        seed=3,
        augment=augment,
    )

    make_deterministic(3)
    whole = build_autoencoder(spec, 28)
    whole_losses = train_autoencoder(whole, x, **kwargs)

    make_deterministic(3)
    first = build_autoencoder(spec, 28)
    checkpoint = Checkpoint(tmp_path / "ckpt", fingerprint(spec, 3, x))
    train_autoencoder(
        first,
        x,
        **{**kwargs, "epochs": CHUNK_EPOCHS},
        on_chunk_end=lambda done, losses: checkpoint.save(first, done, losses, 1.5),
    )
    # "killed" here: only the checkpoint goes on
    resumed = checkpoint.load()
    assert resumed.epochs_done == CHUNK_EPOCHS and resumed.seconds == 1.5
    assert type(resumed.model.optimizer) is FusedAdam  # restored with its moments, in safe mode
    rest = train_autoencoder(resumed.model, x, **kwargs, first_epoch=resumed.epochs_done)
    assert resumed.losses + rest == whole_losses
    for a, b in zip(whole.get_weights(), resumed.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def adam_reference(weights, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adam's rule in float64, as Keras documents it (epsilon outside the square root)."""
    w, m, v = weights.astype(np.float64), np.zeros(weights.shape), np.zeros(weights.shape)
    for t, g in enumerate(grads, 1):
        m += (g - m) * (1 - beta_1)
        v += (g**2 - v) * (1 - beta_2)
        w -= lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return w


def test_fused_adam_follows_adams_rule_as_keras_adam_does():
    """Six steps of FusedAdam and of Keras' Adam on the same gradients (of mixed scales,
    some tiny) agree with Adam's rule in float64 to float32 rounding."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(40, 30)).astype(np.float32)
    scales = 10.0 ** rng.integers(-6, 1, size=(40, 30))
    grads = [(rng.normal(size=(40, 30)) * scales).astype(np.float32) for _ in range(6)]
    expected = adam_reference(start, grads, lr=0.003)
    for optimizer in (keras.optimizers.Adam(learning_rate=0.003), FusedAdam(learning_rate=0.003)):
        variable = keras.Variable(start)
        optimizer.build([variable])
        for g in grads:
            optimizer.apply([keras.ops.convert_to_tensor(g)], [variable])
        moved = np.asarray(variable) - start
        assert np.abs(moved).max() > 0.01
        np.testing.assert_allclose(np.asarray(variable), expected, rtol=1e-6, atol=1e-6)
    assert int(optimizer.iterations) == 6


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's kernel")
def test_fused_adam_runs_tensorflows_fused_kernel():
    import tensorflow as tf

    variables = [keras.Variable(np.ones((3, 2), "float32")), keras.Variable(np.zeros(2, "float32"))]
    grads = [tf.fill((3, 2), 0.5), tf.fill((2,), -0.5)]
    for optimizer, fused in ((FusedAdam(), 2), (FusedAdam(amsgrad=True), 0)):
        optimizer.build(variables)
        graph = tf.function(lambda o=optimizer: o.apply(grads, variables)).get_concrete_function()
        kernels = [op for op in graph.graph.get_operations() if op.type == "ResourceApplyAdam"]
        assert len(kernels) == fused


def test_a_checkpoint_of_other_settings_is_ignored(tmp_path):
    x = model_inputs(images(), DENSE)
    model = build_autoencoder(DENSE, 28)
    model.compile(optimizer="adam", loss="mse")
    Checkpoint(tmp_path, fingerprint(DENSE, 1, x)).save(model, 10, [1.0] * 10, 2.0)
    assert Checkpoint(tmp_path, fingerprint(DENSE, 2, x)).load() is None
    assert Checkpoint(tmp_path, fingerprint(DENSE, 1, x + 1)).load() is None
    assert Checkpoint(tmp_path, fingerprint(DENSE, 1, x)).load().epochs_done == 10


def test_a_checkpoint_of_other_training_code_is_ignored(tmp_path, monkeypatch):
    """The fingerprint covers the code that builds and trains the model (layers,
    optimizer, loop): a checkpoint saved by other code does not resume."""
    from aeclust.nets import layers

    x = np.zeros((4, 784), np.float32)
    before = fingerprint(DENSE, 1, x)
    edited = tmp_path / "layers.py"
    edited.write_bytes(Path(layers.__file__).read_bytes() + b"# another version\n")
    monkeypatch.setattr(layers, "__file__", str(edited))
    assert fingerprint(DENSE, 1, x) != before
    monkeypatch.undo()
    assert fingerprint(DENSE, 1, x) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "augment"), [(DENSE, None), (CONV, None), (CONV, AUGMENT)], ids=["ffn", "cnn", "aug"]
)
def test_each_epoch_is_keras_train_step_over_the_epoch_order(spec, augment):
    """The training loop (on TensorFlow, one compiled call per epoch) computes what Keras'
    own train step computes on the batches of `epoch_orders`, the last one smaller (50
    images, batches of 20), with fit's epoch loss: the batch losses weighted by size.
    With `augment`, each epoch's batches come from that epoch's distorted copy."""
    x = model_inputs(images(n=50), spec)
    make_deterministic(5)
    model = build_autoencoder(spec, 28)
    make_deterministic(5)
    reference = build_autoencoder(spec, 28)
    reference.compile(optimizer=FusedAdam(learning_rate=spec.learning_rate), loss="mse")
    losses = train_autoencoder(
        model, x, learning_rate=spec.learning_rate, epochs=3, batch_size=20, seed=9, augment=augment
    )
    expected = []
    distortions = augment_rng(9, 0)
    for order in epoch_orders(9, 0, 3, len(x)):
        epoch_x = x if augment is None else random_affine(x, distortions, augment)
        batch_losses = []
        for start in (0, 20, 40):
            batch = epoch_x[order[start : start + 20]]
            reference.reset_metrics()
            batch_losses.append(float(reference.train_on_batch(batch, batch)))
        expected.append(np.average(batch_losses, weights=[20, 20, 10]))
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_augmentation_draws_depend_on_seed_and_chunk_alone():
    x = model_inputs(images(n=8), DENSE)
    first = random_affine(x, augment_rng(1, 10), AUGMENT)
    np.testing.assert_array_equal(first, random_affine(x, augment_rng(1, 10), AUGMENT))
    assert not np.array_equal(first, random_affine(x, augment_rng(1, 20), AUGMENT))
    assert not np.array_equal(first, random_affine(x, augment_rng(2, 10), AUGMENT))


def test_epoch_orders_depend_on_seed_and_chunk_alone():
    first = epoch_orders(1, 10, 3, 50)
    assert [sorted(order.tolist()) for order in first] == [list(range(50))] * 3
    assert not np.array_equal(first[0], first[1])
    np.testing.assert_array_equal(np.stack(first), np.stack(epoch_orders(1, 10, 3, 50)))
    assert not np.array_equal(first[0], epoch_orders(1, 20, 1, 50)[0])
    assert not np.array_equal(first[0], epoch_orders(2, 10, 1, 50)[0])


@pytest.mark.parametrize("spec", [DENSE, CONV], ids=["ffn", "cnn"])
def test_the_runners_training_draws_nothing_from_the_backends_random_state(spec):
    # Epoch orders and distortions come from NumPy generators of (seed, chunk) alone, so the
    # runners need no reseeding at each chunk (which on TensorFlow clears its kernel cache).
    x = model_inputs(images(), spec)
    kwargs = dict(learning_rate=spec.learning_rate, epochs=2 * CHUNK_EPOCHS, batch_size=20, seed=3)
    runs = []
    for disturb in (None, 12345):
        make_deterministic(3)
        model = build_autoencoder(spec, 28)  # the same initial weights
        if disturb is not None:
            keras.utils.set_random_seed(disturb)
        losses = train_autoencoder(model, x, **kwargs)
        runs.append((losses, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("with_runner", [True, False], ids=["runner", "fit"])
def test_only_fit_reseeds_the_backend_at_each_chunk(monkeypatch, with_runner):
    import aeclust.nets.training

    seeds = []
    monkeypatch.setattr(aeclust.nets.training.keras.utils, "set_random_seed", seeds.append)
    if not with_runner:  # as on torch, where there is no runner: Keras' fit shuffles
        monkeypatch.setattr(aeclust.nets.training, "batch_runner", lambda *args, **kwargs: None)
    model = build_autoencoder(DENSE, 28)
    train_autoencoder(
        model,
        model_inputs(images(), DENSE),
        learning_rate=0.01,
        epochs=2 * CHUNK_EPOCHS + 1,
        batch_size=20,
        seed=3,
    )
    chunks = [chunk_seed(3, start) for start in (0, CHUNK_EPOCHS, 2 * CHUNK_EPOCHS)]
    assert seeds == ([] if with_runner else chunks)
