"""`aeclust assign` and `aeclust.load_run`: a trained run applied to new images, on a tiny
project trained once by the real `dvc repro`."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import edit_params, make_project, run

import aeclust
from aeclust.cluster.neighbours import leave_one_out_agreement, neighbour_vote
from aeclust.config import METHODS
from aeclust.errors import UserError

MODELS = ["ffn", "cnn", "simclr"]  # params.yaml's
RUNS = ["raw", *MODELS, *(f"{m}+{method}" for m in MODELS for method in METHODS)]


@pytest.fixture
def trained(trained_with_methods) -> Path:
    return trained_with_methods


def stage_ids(project: Path, name: str) -> np.ndarray:
    if "+" in name:
        return np.load(project / "data/methods" / name / "cluster_ids.npy")
    return np.load(project / "data/clusters" / f"{name}.npy")


def prepared(project: Path) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.load(project / "data/prepared/images.npy"),
        np.load(project / "data/prepared/labels.npy"),
    )


@pytest.mark.e2e
@pytest.mark.parametrize("name", RUNS)
def test_the_training_images_get_their_stages_cluster_ids_back(trained, name):
    images, labels = prepared(trained)
    loaded = aeclust.load_run(name, root=trained)
    ids = loaded.assign(images)
    assert ids.dtype == np.int64 and ids.shape == (len(images),)
    expected = stage_ids(trained, name)
    if name.endswith("+manifold"):
        assert np.mean(ids == expected) >= 0.98
    else:
        assert np.array_equal(ids, expected)
    # The same ACC as the stage scored, through the matching learnt on these very images.
    stage_scores = (
        json.loads((trained / "data/methods" / name / "scores.json").read_text())
        if "+" in name
        else json.loads((trained / "data/clusters/scores.json").read_text())[name]
    )
    assert loaded.scores(ids, labels)["acc"] == pytest.approx(stage_scores["acc"], abs=0.02)
    # Batches of any size give the same ids; floats on the 0..255 scale, the same too.
    assert np.array_equal(loaded.assign(images, batch_size=7), ids)
    assert np.array_equal(loaded.assign(images.astype(np.float64)), ids)
    assert np.array_equal(loaded.assign(images.reshape(len(images), -1)), ids)


@pytest.mark.e2e
def test_encode_gives_the_features_each_run_clusters(trained):
    images, _ = prepared(trained)
    assert aeclust.load_run("raw", trained).encode(images[:5]).shape == (5, 784)
    latents = aeclust.load_run("cnn", trained).encode(images)
    np.testing.assert_allclose(latents, np.load(trained / "data/encoded/cnn/latents.npy"))
    refined = aeclust.load_run("ffn+dec", trained).encode(images)
    np.testing.assert_allclose(refined, np.load(trained / "data/methods/ffn+dec/latents.npy"))


@pytest.mark.e2e
def test_the_cli_writes_every_image_and_scores_new_ones(trained, tmp_path):
    images, labels = prepared(trained)
    source = tmp_path / "new.npz"
    # "new" images: the prepared ones shifted by a pixel
    np.savez(source, X=np.roll(images, 1, axis=2), y=labels)
    out = tmp_path / "out" / "cnn+dec.csv"
    done = run(
        ["aeclust", "assign", "cnn+dec", f"npz:{source}", "-o", str(out), "--batch-size", "64"],
        trained,
    )
    rows = out.read_text().splitlines()
    assert rows[0] == "index,cluster,label" and len(rows) == len(images) + 1
    index, cluster, label = rows[5].split(",")
    assert int(index) == 4 and int(label) == labels[4] and 0 <= int(cluster) < 10
    assert "ACC " in done.stdout and "NMI " in done.stdout and "training images" in done.stdout


def fails_cleanly(project: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "never.csv"
    done = run(["aeclust", "assign", *args, "-o", str(out)], project, check=False)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


@pytest.mark.e2e
def test_bad_input_is_one_line_and_writes_nothing(trained, tmp_path):
    images, labels = prepared(trained)
    small = tmp_path / "small.npz"
    np.savez(small, X=images[:, :20, :20], y=labels)
    fails_cleanly(trained, tmp_path, ["cnn", f"npz:{small}"], "shape (300, 20, 20)")
    nan = tmp_path / "nan.npz"
    floats = images.astype(np.float32)
    floats[3, 4, 5] = np.nan
    np.savez(nan, X=floats, y=labels)
    fails_cleanly(trained, tmp_path, ["cnn", f"npz:{nan}"], "NaN")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    fails_cleanly(trained, tmp_path, ["raw", f"npz:{empty}"], "empty file")
    fails_cleanly(trained, tmp_path, ["rnn", "embedded"], "run = 'rnn': must be one of")
    fails_cleanly(trained, tmp_path, ["raw", "s3://x"], "SOURCE = 's3://x': must be")
    fails_cleanly(trained, tmp_path, ["raw", "embedded", "--batch-size", "0"], "--batch-size 0")


@pytest.mark.e2e
def test_the_api_refuses_what_it_cannot_assign(trained):
    images, _ = prepared(trained)
    loaded = aeclust.load_run("ffn", trained)
    with pytest.raises(UserError, match=r"dtype bool"):
        loaded.assign(images > 0)
    with pytest.raises(UserError, match=r"values from -1 to"):
        loaded.assign(images.astype(np.int16) - 1)
    with pytest.raises(UserError, match=r"none given"):
        loaded.assign(np.zeros((0, 28, 28), np.uint8))
    with pytest.raises(UserError, match=r"shape \(4, 27, 28\)"):
        loaded.assign(np.zeros((4, 27, 28), np.uint8))


@pytest.mark.e2e
def test_a_run_not_trained_or_switched_off_is_one_clear_error(tmp_path):
    project = make_project(tmp_path / "fresh")  # nothing run yet; the methods switched off
    with pytest.raises(UserError, match=r"data/prepared/images.npy is missing: run the pipeline"):
        aeclust.load_run("cnn", project)
    with pytest.raises(UserError, match=r"methods.dec.enabled is false"):
        aeclust.load_run("cnn+dec", project)
    edit_params(project, **{"methods.dec.enabled": True})
    fails_cleanly(project, tmp_path, ["cnn+dec", "embedded"], "is missing: run the pipeline")


def test_a_neighbour_vote_places_new_points_in_their_blobs_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    train = np.repeat(centres, 50, axis=0) + rng.normal(size=(150, 2))
    train_ids = np.repeat([2, 0, 1], 50)  # cluster ids in any order
    new = centres + rng.normal(scale=0.5, size=(3, 2))
    assert neighbour_vote(train, train_ids, new, 10).tolist() == [2, 0, 1]
    assert np.array_equal(neighbour_vote(train, train_ids, train, 10), train_ids)
    assert leave_one_out_agreement(train, train_ids, 10) == 1.0
    shuffled = rng.permutation(train_ids)  # clusters that mean nothing: a left-out point
    assert leave_one_out_agreement(train, shuffled, 10) < 0.6  # mostly misses its own
