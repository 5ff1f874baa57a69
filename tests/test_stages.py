"""Stages as a user runs them: bad input is one line and exit status 2, outputs survive."""

import json
import sys

import numpy as np
import pytest
from conftest import edit_params, make_project, run


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("stages") / "project")


def stage(project, name, *args):
    return run([sys.executable, f"stages/{name}.py", *args], project, check=False)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_prepare_writes_a_stratified_uint8_sample(project):
    result = stage(project, "prepare")
    assert result.returncode == 0, result.stderr
    images = np.load(project / "data/prepared/images.npy")
    labels = np.load(project / "data/prepared/labels.npy")
    assert images.shape == (300, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [30] * 10


def test_bad_param_is_one_line_and_keeps_the_last_outputs(project):
    assert stage(project, "prepare").returncode == 0
    before = (project / "data/prepared/images.npy").read_bytes()
    params = (project / "params.yaml").read_text()
    try:
        edit_params(project, **{"data.n_samples": 6000})
        assert_one_line_error(stage(project, "prepare"), "data.n_samples = 6000", "must be <= 5000")
        edit_params(project, **{"data.n_samples": 300, "models.cnn.learning_rate": -1})
        assert_one_line_error(
            stage(project, "prepare"), "models.cnn.learning_rate = -1", "must be a number > 0"
        )
    finally:
        (project / "params.yaml").write_text(params)
    assert (project / "data/prepared/images.npy").read_bytes() == before
    assert not [p for p in (project / "data/prepared").iterdir() if p.name.startswith(".")]


def test_unknown_model_argument(project):
    assert_one_line_error(stage(project, "train", "rnn"), "model = rnn", "ffn, cnn")
    assert_one_line_error(stage(project, "encode"), "model = (none)", "ffn, cnn")


def test_missing_input_names_the_file(project):
    assert stage(project, "prepare").returncode == 0
    assert_one_line_error(stage(project, "kmeans"), "data/encoded/ffn/latents.npy", "not found")


def test_a_backend_aeclust_does_not_run_on_is_one_line(project, monkeypatch):
    """KERAS_BACKEND outside tensorflow/jax, or one that disagrees with params.yaml's
    `backend`, stops the stage before Keras loads; no model is written."""
    assert stage(project, "prepare").returncode == 0
    assert stage(project, "standardize").returncode == 0
    params = (project / "params.yaml").read_text()
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert_one_line_error(
        stage(project, "train", "ffn"), "KERAS_BACKEND=torch", "must be one of tensorflow, jax"
    )
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    try:
        edit_params(project, backend="jax")
        assert_one_line_error(
            stage(project, "train", "ffn"), "KERAS_BACKEND=tensorflow", "backend = jax"
        )
        edit_params(project, backend="pytorch")
        assert_one_line_error(
            stage(project, "train", "ffn"), "backend = 'pytorch'", "auto, tensorflow, jax"
        )
    finally:
        (project / "params.yaml").write_text(params)
    assert not (project / "models/ffn.keras").exists()


@pytest.mark.slow
def test_train_trains_on_distorted_copies_when_the_model_asks(project):
    """models.<name>.augment reaches the training: the same seed gives other losses with it,
    and the same losses again when it is run twice."""
    assert stage(project, "prepare").returncode == 0
    assert stage(project, "standardize").returncode == 0
    params = (project / "params.yaml").read_text()
    loss_file = project / "reports/train/ffn/plots/metrics/loss.tsv"
    try:
        runs = []
        for augment in (None, {"rotation": 10, "shift": 0.1}, {"rotation": 10, "shift": 0.1}):
            edit_params(project, **{"models.ffn.augment": augment})
            result = stage(project, "train", "ffn")
            assert result.returncode == 0, result.stderr
            runs.append(loss_file.read_text())
    finally:
        (project / "params.yaml").write_text(params)
    plain, augmented, again = runs
    assert augmented == again and augmented != plain
    assert len(augmented.splitlines()) == 3  # header + 2 epochs


@pytest.mark.slow
def test_dec_refines_on_distorted_copies_when_asked(project):
    """methods.dec.augment: dec@<model> trains on distorted copies as the model was (its
    `augment`) and says so in refinement.json; off, it refines on the images as they are."""
    assert stage(project, "prepare").returncode == 0
    assert stage(project, "standardize").returncode == 0
    params = (project / "params.yaml").read_text()
    out = project / "data/methods/ffn+dec"
    try:
        edit_params(
            project,
            **{
                "models.ffn.augment": {"rotation": 10, "shift": 0.1},
                "methods.dec.enabled": True,
                "methods.dec.max_iter": 20,
                "methods.dec.update_interval": 10,
            },
        )
        assert stage(project, "train", "ffn").returncode == 0
        runs = []
        for augment in (False, True):
            edit_params(project, **{"methods.dec.augment": augment})
            result = stage(project, "dec", "ffn")
            assert result.returncode == 0, result.stderr
            refinement = json.loads((out / "refinement.json").read_text())
            runs.append((refinement["augment"], np.load(out / "latents.npy")))
    finally:
        (project / "params.yaml").write_text(params)
    (plain_augment, plain), (augment, augmented) = runs
    assert plain_augment is None
    assert augment == {"rotation": 10.0, "shift": 0.1, "zoom": 0.0}
    assert plain.shape == augmented.shape and not np.allclose(plain, augmented)
