"""The contrastive model kind (aeclust.nets.contrastive): params, network, loss, training."""

import copy
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import ROOT

from aeclust.config import (
    ContrastiveParams,
    ViewParams,
    check_geometry,
    parse_params,
)
from aeclust.errors import ParamsError

keras = pytest.importorskip("keras")

from aeclust.nets.contrastive import NTXent, RandomGain, build_trainer, net_of, views  # noqa: E402
from aeclust.nets.models import (  # noqa: E402
    build_autoencoder,
    encoder_of,
    is_autoencoder,
    load_model,
    save_model,
)
from aeclust.nets.training import make_deterministic, train_autoencoder  # noqa: E402

ENTRY = {
    "kind": "contrastive",
    "scaling": "unit_range",
    "filters": [8, 16, 32],
    "latent_size": 16,
    "projection": [16, 8],
    "temperature": 0.5,
    "learning_rate": 0.003,
    "epochs": 3,
    "batch_size": 64,
}
SPEC = ContrastiveParams(
    **{**ENTRY, "filters": (8, 16, 32), "projection": (16, 8)}, views=ViewParams()
)
DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())


def with_entry(**changes):
    raw = copy.deepcopy(DEFAULT)
    raw["models"]["con"] = {**ENTRY, **changes}
    return raw


def test_a_contrastive_entry_parses_with_default_views():
    spec = parse_params(with_entry()).models["con"]
    assert spec == SPEC
    assert spec.augment is None  # DEC-DA's distortions do not apply
    views_set = parse_params(with_entry(views={"flip": False, "rotation": 5})).models["con"].views
    assert views_set == ViewParams(rotation=5.0, flip=False)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"scaling": "zscore_per_image"}, "models.con.scaling"),
        ({"temperature": 0}, "models.con.temperature"),
        ({"batch_size": 1}, "models.con.batch_size"),
        ({"views": {"rotation": 400}}, "rotation = 400"),
        ({"views": {"blur": 1}}, "unknown key 'blur'"),
        ({"views": {"flip": "sometimes"}}, "models.con.views"),
        ({"views": [1, 2]}, "must be a mapping"),
        ({"units": [10]}, "units"),  # a dense key
    ],
)
def test_bad_contrastive_settings_are_named(changes, message):
    with pytest.raises(ParamsError) as error:
        parse_params(with_entry(**changes))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_geometry_check_refuses_convs_that_leave_nothing():
    check_geometry("con", SPEC, 28)  # 14, 7, 3
    too_many = ContrastiveParams(**{**SPEC.__dict__, "filters": (8, 8, 8, 8, 8)})
    with pytest.raises(ParamsError, match="models.con.filters"):
        check_geometry("con", too_many, 28)  # 14, 7, 4, 2, then nothing


def test_the_network_is_strided_convs_a_latent_and_a_head():
    net = build_autoencoder(ContrastiveParams(**{**SPEC.__dict__, "filters": (32, 64, 128)}), 28)
    shapes = {layer.name: tuple(layer.output.shape) for layer in net.layers}
    assert shapes["encoder_conv_0"] == (None, 14, 14, 32)
    assert shapes["encoder_conv_1"] == (None, 7, 7, 64)
    assert shapes["encoder_conv_2"] == (None, 3, 3, 128)
    assert shapes["latent"] == (None, 16) and shapes["projection_0"] == (None, 16)
    assert shapes["projection"] == (None, 8)
    assert not is_autoencoder(net)
    assert is_autoencoder(build_autoencoder(parse_params(DEFAULT).models["cnn"], 28))


def nt_xent_numpy(a, b, tau):
    z = np.concatenate([a, b]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    logits = z @ z.T / tau
    np.fill_diagonal(logits, -np.inf)
    n = len(a)
    positives = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    losses = -log_p[np.arange(2 * n), positives]
    return (losses[:n] + losses[n:]) / 2


def test_nt_xent_is_the_cross_entropy_of_each_view_against_its_pair():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    pair = np.concatenate([a, b], axis=1).astype(np.float32)
    loss = NTXent(0.5)
    per_image = keras.ops.convert_to_numpy(loss.call(None, pair))
    np.testing.assert_allclose(per_image, nt_xent_numpy(a, b, 0.5), rtol=1e-5)
    aligned = np.concatenate([a, a], axis=1).astype(np.float32)
    assert float(loss(pair, aligned)) < float(loss(pair, pair))  # pairs that agree cost less


def test_views_are_random_in_training_and_the_identity_otherwise():
    images = np.random.default_rng(1).random((8, 28, 28, 1)).astype(np.float32)
    keras.utils.set_random_seed(3)
    view = views(ViewParams(), "view")
    first = keras.ops.convert_to_numpy(view(images, training=True))
    second = keras.ops.convert_to_numpy(view(images, training=True))
    assert not np.allclose(first, images) and not np.allclose(first, second)
    assert 0.0 <= first.min() and first.max() <= 1.0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(view(images, training=False)), images)
    gain = RandomGain(0.4)
    bright = keras.ops.convert_to_numpy(gain(images * 0.5, training=True))
    ratio = bright[:, 0, 0, 0] / (images[:, 0, 0, 0] * 0.5)
    assert ratio.min() >= 0.6 - 1e-5 and ratio.max() <= 1.4 + 1e-5 and np.std(ratio) > 0.01


def shapes_data(n_per_class=64, side=28):
    """Three kinds of image (a horizontal bar, a vertical bar, a ring), each a little moved."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:side, :side]
    images, labels = [], []
    for _ in range(n_per_class):
        for label in range(3):
            cy, cx = 14 + rng.integers(-3, 4), 14 + rng.integers(-3, 4)
            if label == 0:
                image = (abs(yy - cy) < 2) & (abs(xx - cx) < 9)
            elif label == 1:
                image = (abs(xx - cx) < 2) & (abs(yy - cy) < 9)
            else:
                image = abs(np.hypot(yy - cy, xx - cx) - 7) < 1.5
            images.append(image.astype(np.float32))
            labels.append(label)
    return np.stack(images)[..., None], np.array(labels)


def trained(seed=1, epochs=6):
    x, _ = shapes_data()
    make_deterministic(seed)
    net = build_autoencoder(SPEC, 28)
    trainer = build_trainer(net, SPEC)
    losses = train_autoencoder(
        trainer, x, learning_rate=SPEC.learning_rate, epochs=epochs, batch_size=64, seed=seed
    )
    return net_of(trainer), losses, x


def test_training_lowers_the_loss_deterministically_and_saves_the_network(tmp_path):
    net, losses, x = trained()
    assert net.name == "contrastive"
    assert losses[-1] < losses[0] - 0.05, losses
    again, losses_again, _ = trained()
    assert losses_again == losses
    for w, w_again in zip(net.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(w, w_again)
    save_model(net, tmp_path / "con.keras")
    loaded = load_model(tmp_path / "con.keras")
    latents = encoder_of(loaded).predict(x[:10], verbose=0)
    np.testing.assert_allclose(latents, encoder_of(net).predict(x[:10], verbose=0), rtol=1e-5)
    assert latents.shape == (10, 16)


def test_training_separates_the_three_shapes():
    from aeclust.cluster.scores import label_scores

    net, _, x = trained(epochs=15)
    _, labels = shapes_data()
    latents = encoder_of(net).predict(x, verbose=0)
    from sklearn.cluster import KMeans

    ids = KMeans(3, n_init=10, random_state=0).fit_predict(latents)
    assert label_scores(ids, labels)["acc"] > 0.9


JAX_SCRIPT = """
import json, sys
import numpy as np
sys.path.insert(0, "tests")
import test_contrastive as t
runs = []
for _ in range(2):
    net, losses, x = t.trained(epochs=2)
    runs.append([losses, float(np.asarray(net.get_weights()[0]).sum())])
import keras
print(json.dumps({"backend": keras.backend.backend(), "runs": runs}))
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_contrastive_training_runs_and_repeats_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["backend"] == "jax"
    first, second = out["runs"]
    assert first == second and len(first[0]) == 2


@pytest.mark.e2e
def test_repro_with_a_contrastive_model_runs_every_method(tmp_path):
    """A project whose only model is contrastive: dvc repro trains it, encodes latents only,
    runs kmeans, DEC (without a decoder to keep), manifold and self-labelling, and reports
    it without a reconstruction MSE or figure."""
    from conftest import make_project, run

    project = make_project(tmp_path / "project", methods=True)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["models"] = {"con": {**ENTRY, "epochs": 2, "views": {"flip": False}}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = run(["dvc", "repro"], project)
    ran = [line.split("'")[1] for line in result.stdout.splitlines() if "Running stage" in line]
    assert ran == [
        "prepare",
        "standardize",
        "train@con",
        "encode@con",
        "dec@con",
        "manifold@con",
        "selflabel@con",
        "kmeans",
        "report",
    ]
    encoded = project / "data/encoded/con"
    assert np.load(encoded / "latents.npy").shape == (300, 16)
    assert not (encoded / "reconstructions.npy").exists()
    assert json.loads((encoded / "reconstruction.json").read_text()) == {"mse": None}
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert {"raw", "con", "con+dec", "con+manifold", "con+selflabel"} <= set(metrics)
    assert "reconstruction_mse" not in metrics["con"] and "final_loss" in metrics["con"]
    for run_name in ("con", "con+dec", "con+manifold", "con+selflabel"):
        assert 0.0 <= metrics[run_name]["acc"] <= 1.0
    figures = {p.name for p in (project / "reports/figures").iterdir()}
    assert "con_clusters.png" in figures and "con_reconstructions.png" not in figures
    saved = load_model(project / "models/con.keras")
    assert saved.name == "contrastive" and saved.get_layer("latent").units == 16


@pytest.mark.slow
def test_a_resumed_contrastive_training_ends_as_the_uninterrupted_one(tmp_path):
    """The train stage's checkpoint holds the whole trainer (the views' random state, the
    optimizer's moments): resumed after a chunk, the run continues as if never stopped."""
    from aeclust.nets.checkpoints import Checkpoint, fingerprint
    from aeclust.nets.training import CHUNK_EPOCHS

    x = shapes_data(n_per_class=20)[0]
    kwargs = dict(learning_rate=SPEC.learning_rate, epochs=2 * CHUNK_EPOCHS, batch_size=32, seed=3)
    make_deterministic(3)
    whole = build_trainer(build_autoencoder(SPEC, 28), SPEC)
    whole_losses = train_autoencoder(whole, x, **kwargs)

    make_deterministic(3)
    first = build_trainer(build_autoencoder(SPEC, 28), SPEC)
    checkpoint = Checkpoint(tmp_path / "ckpt", fingerprint(SPEC, 3, x))
    train_autoencoder(
        first,
        x,
        **{**kwargs, "epochs": CHUNK_EPOCHS},
        on_chunk_end=lambda done, losses: checkpoint.save(first, done, losses, 1.0),
    )
    resumed = checkpoint.load()  # safe mode: the registered views, loss and optimizer
    assert resumed is not None and resumed.epochs_done == CHUNK_EPOCHS
    rest = train_autoencoder(resumed.model, x, **kwargs, first_epoch=resumed.epochs_done)
    assert resumed.losses + rest == whole_losses
    for a, b in zip(net_of(whole).get_weights(), net_of(resumed.model).get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_deep_eval_takes_the_simclr_entry_and_refuses_it_together():
    from deep_eval import configure, main

    params = configure(str(ROOT / "params.yaml"), ["simclr"], epochs=2)
    spec = params.models["simclr"]
    assert isinstance(spec, ContrastiveParams) and spec.epochs == 2
    default = yaml.safe_load((ROOT / "params.yaml").read_text())["models"]["simclr"]
    assert spec.filters == tuple(default["filters"]) and spec.views.flip is False
    with pytest.raises(ParamsError, match="not the contrastive model .simclr."):
        main(["--models", "simclr", "--seeds", "1", "--together"])
