import csv
import logging

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from dvclive import Live  # noqa: E402
from test_models import CONV, DENSE  # noqa: E402

from aeclust.models import build_autoencoder, model_inputs  # noqa: E402
from aeclust.training import LiveLogger, Progress, make_deterministic, train_autoencoder  # noqa: E402


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


def test_dvclive_logs_one_row_per_epoch(tmp_path):
    make_deterministic(0)
    model = build_autoencoder(DENSE, 28)
    with Live(str(tmp_path / "log"), dvcyaml=False, save_dvc_exp=False) as live:
        losses = train_autoencoder(
            model,
            model_inputs(images(), DENSE),
            learning_rate=0.01,
            epochs=3,
            batch_size=20,
            callbacks=[LiveLogger(live)],
        )
    with open(tmp_path / "log" / "plots" / "metrics" / "loss.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [int(r["step"]) for r in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(r["loss"]) for r in rows], losses, rtol=1e-6)


def test_progress_logs_first_and_last_epoch_without_flooding(caplog):
    progress = Progress("ffn", epochs=200, every_s=3600)
    progress.on_train_begin()
    with caplog.at_level(logging.INFO, logger="aeclust.training"):
        for epoch in range(200):
            progress.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "epoch 1/200" in lines[0] and "epoch 200/200" in lines[1] and "left" in lines[1]
