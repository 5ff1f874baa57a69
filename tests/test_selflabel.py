"""Self-labelling on tiny data: which images count as sure, the balanced weights, the
classifier, and a run that mends the start run's wrong labels."""

import logging

import keras
import numpy as np
import pytest

from aeclust.cluster.runs import run_seeds
from aeclust.cluster.selflabel import (
    HEAD,
    balanced_weights,
    build_classifier,
    self_label,
    sure_images,
)
from aeclust.config import AugmentParams, SelfLabelParams
from aeclust.nets.encoding import encode_latents, predict
from aeclust.nets.models import encoder_of, load_model, save_model
from aeclust.nets.training import make_deterministic

SIDE = 8


def spec(**changes) -> SelfLabelParams:
    settings = {
        "enabled": True,
        "start": "manifold",
        "n_neighbors": 8,
        "agreement": 0.75,
        "epochs": 25,
        "batch_size": 32,
        "learning_rate": 0.01,
        "distort": AugmentParams(rotation=5.0, shift=0.05, zoom=0.0),
    }
    return SelfLabelParams(**{**settings, **changes})


def two_kinds(per: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images, flattened: a bright square in the top-left corner (kind 0) or in the
    bottom-right one (kind 1), over faint noise."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 0.1, size=(2 * per, SIDE, SIDE)).astype(np.float32)
    images[:per, 1:4, 1:4] += 0.9
    images[per:, 4:7, 4:7] += 0.9
    return images.reshape(2 * per, -1), np.repeat([0, 1], per)


def small_network(seed: int = 1) -> keras.Model:
    """A dense "model" with a latent layer (64 -> 16 = "latent" -> 64), untrained."""
    make_deterministic(seed)
    inputs = keras.Input((SIDE * SIDE,))
    latent = keras.layers.Dense(16, activation="relu", name="latent")(inputs)
    return keras.Model(inputs, keras.layers.Dense(SIDE * SIDE)(latent))


def test_an_image_whose_neighbours_disagree_is_not_sure():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(5, 0.5, (20, 3)), rng.normal(-5, 0.5, (20, 3))])
    ids = np.repeat([0, 1], 20)
    ids[3] = 1  # inside the first blob, labelled as the second
    sure = sure_images(points, ids, n_neighbors=5, agreement=0.8)
    assert not sure[3]
    assert sure[np.arange(40) != 3].all()
    # Its neighbours, each with one of five disagreeing, stay sure at 0.8 but not at 1.
    assert sure_images(points, ids, n_neighbors=5, agreement=1.0).sum() < 39


def test_the_balanced_weights_give_every_cluster_the_same_total():
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = balanced_weights(labels, n_clusters=4)
    totals = np.bincount(labels, weights=weights)
    np.testing.assert_allclose(totals, totals[0])
    assert weights.mean() == pytest.approx(1.0)


def test_the_classifier_keeps_the_latent_layer_and_flattens_a_latent_image(tmp_path):
    inputs = keras.Input((SIDE, SIDE, 1))
    latent = keras.layers.Conv2D(2, 3, padding="same", name="latent")(inputs)
    network = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(latent))
    classifier = build_classifier(network, n_clusters=3)
    images = np.random.default_rng(0).uniform(size=(5, SIDE, SIDE, 1)).astype(np.float32)
    probabilities = np.asarray(predict(classifier, images))
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert encoder_of(classifier).output.shape[1:] == (SIDE, SIDE, 2)
    assert classifier.get_layer(HEAD).units == 3
    # It saves and loads with safe_mode, and predicts the same.
    save_model(classifier, tmp_path / "assigner.keras")
    loaded = load_model(tmp_path / "assigner.keras")
    np.testing.assert_allclose(predict(loaded, images), probabilities, rtol=1e-5, atol=1e-6)


def test_self_labelling_mends_the_start_runs_wrong_labels():
    images, kinds = two_kinds()
    start_ids = kinds.copy()
    wrong = np.array([2, 7, 30, 65, 90, 111])
    start_ids[wrong] = 1 - start_ids[wrong]
    result = self_label(small_network(), images, start_ids, images, spec(), 2, seed=3)
    assert not result.sure[wrong].any()  # their neighbours disagree: never trained on
    assert result.sure.sum() >= len(images) - 3 * len(wrong)
    assert np.array_equal(result.cluster_ids, kinds)  # the wrong ones mended, the rest kept
    assert result.latents.shape == (len(images), 16)
    assert len(result.history) == 25 and result.history[-1] < result.history[0]
    probabilities = np.asarray(predict(result.assigner, images))
    assert np.array_equal(probabilities.argmax(axis=1), result.cluster_ids)


def test_the_same_seed_gives_the_same_labels_and_losses():
    images, kinds = two_kinds(seed=1)
    start_ids = kinds.copy()
    start_ids[[0, 70]] = 1 - start_ids[[0, 70]]
    runs = [
        self_label(small_network(), images, start_ids, images, spec(epochs=5), 2, seed=4)
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].cluster_ids, runs[1].cluster_ids)
    assert runs[0].history == runs[1].history
    np.testing.assert_array_equal(runs[0].latents, runs[1].latents)


def test_with_no_sure_image_it_trains_on_every_image():
    images, kinds = two_kinds(per=20)
    alternating = np.arange(len(images)) % 2  # no image's neighbours agree with it
    result = self_label(
        small_network(), images, alternating, images, spec(agreement=1.0, epochs=2), 2, seed=0
    )
    assert result.sure.all()


def test_it_logs_its_progress_under_the_run_name(caplog):
    images, kinds = two_kinds(per=20)
    with caplog.at_level(logging.INFO, logger="aeclust"):
        self_label(
            small_network(), images, kinds, images, spec(epochs=3), 2, seed=0, run="m+selflabel"
        )
    lines = [r.getMessage() for r in caplog.records if "m+selflabel" in r.getMessage()]
    assert "epoch 1/3" in lines[0] and "epoch 3/3" in lines[-1] and "loss" in lines[-1]


def test_several_runs_average_their_classifiers_and_the_first_is_the_single_run(tmp_path):
    images, kinds = two_kinds(seed=2)
    start_ids = kinds.copy()
    start_ids[[5, 80]] = 1 - start_ids[[5, 80]]
    single = self_label(small_network(), images, start_ids, images, spec(epochs=6), 2, seed=4)
    three = self_label(
        small_network(), images, start_ids, images, spec(epochs=6, runs=3), 2, seed=4
    )
    # The first run is the single run: its seed, its latents, its losses.
    assert three.history == single.history
    np.testing.assert_allclose(three.latents, single.latents, rtol=1e-5, atol=1e-6)
    inner = [layer for layer in three.assigner.layers if isinstance(layer, keras.Model)]
    assert [m.name for m in inner] == ["selflabel_1", "selflabel_2", "selflabel_3"]
    each = [np.asarray(predict(m, images)) for m in inner]
    assert not np.allclose(each[1], each[2])  # seeded apart
    # The third starts from the model as it came, not from another run's training: it is
    # a single run under its seed.
    third_seed = run_seeds(4, 3)[2]
    alone = self_label(
        small_network(), images, start_ids, images, spec(epochs=6), 2, seed=third_seed
    )
    np.testing.assert_allclose(each[2], predict(alone.assigner, images), rtol=1e-5, atol=1e-6)
    probabilities = np.asarray(predict(three.assigner, images))
    np.testing.assert_allclose(probabilities, np.mean(each, axis=0), rtol=1e-5, atol=1e-6)
    assert np.array_equal(probabilities.argmax(axis=1), three.cluster_ids)
    changed = [float(np.mean(p.argmax(axis=1) != three.cluster_ids)) for p in each]
    assert three.run_changed == pytest.approx(changed, abs=1e-4)
    assert single.run_changed == []
    # The averaged assigner saves and loads with safe_mode; its latents are the first run's.
    save_model(three.assigner, tmp_path / "assigner.keras")
    loaded = load_model(tmp_path / "assigner.keras")
    np.testing.assert_allclose(predict(loaded, images), probabilities, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(encode_latents(loaded, images), three.latents, rtol=1e-5, atol=1e-6)
