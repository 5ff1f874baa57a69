"""bench/deep_eval.py: the over-seeds measurement for a GPU machine, on tiny settings."""

import json

import pytest
from conftest import ROOT
from deep_eval import EXTRA_MODELS, configure, main, summary

from aeclust.config import AugmentParams, DenseParams, load_params
from aeclust.errors import DataError, ParamsError

PARAMS = str(ROOT / "params.yaml")


def test_models_come_from_params_or_the_extra_entries():
    params = configure(PARAMS, ["cnn", "dae"], epochs=7)
    assert list(params.models) == ["cnn", "dae"]
    assert params.models["cnn"].learning_rate == load_params(PARAMS).models["cnn"].learning_rate
    dae = params.models["dae"]
    assert isinstance(dae, DenseParams) and dae.units == (500, 500, 2000, 10)
    assert dae.epochs == params.models["cnn"].epochs == 7
    with pytest.raises(
        ParamsError, match=r"--models rnn: must be one of ffn, cnn, simclr, dae, dae_da$"
    ):
        configure(PARAMS, ["rnn"])


def test_command_line_changes_are_validated_like_params_yaml():
    params = configure(
        PARAMS,
        ["ffn"],
        source="idx:/data/mnist",
        n_samples="all",
        settings=("methods.dec.max_iter=5", "methods.manifold.clusterer=kmeans"),
    )
    assert params.data.source == "idx:/data/mnist" and params.data.n_samples is None
    assert params.methods.dec.max_iter == 5 and params.methods.manifold.clusterer == "kmeans"
    with pytest.raises(ParamsError, match=r"methods\.dec\.gamma = -1: must be a number > 0"):
        configure(PARAMS, ["ffn"], settings=("methods.dec.gamma=-1",))
    with pytest.raises(ParamsError, match=r"data\.n_samples = 1: must be an integer >= 2"):
        configure(PARAMS, ["ffn"], n_samples="1")
    with pytest.raises(ParamsError, match=r"--set seed=3: only methods\.\*, kmeans\.\* and models"):
        configure(PARAMS, ["ffn"], settings=("seed=3",))


def test_configure_sets_a_chosen_models_field_after_the_overrides():
    params = configure(
        PARAMS,
        ["simclr", "ffn"],
        epochs=7,
        settings=(
            "models.simclr.views.flip=true",
            "models.simclr.epochs=3",
            "models.ffn.units=[64, 4]",
        ),
    )
    simclr, ffn = params.models["simclr"], params.models["ffn"]
    assert (
        simclr.views.flip is True and simclr.views.rotation > 0 and simclr.epochs == 3
    )  # --set wins over --epochs
    assert tuple(ffn.units) == (64, 4) and ffn.epochs == 7
    assert (
        configure(PARAMS, ["simclr"]).models["simclr"].views.flip is False
    )  # params.yaml's entry untouched
    with pytest.raises(
        ParamsError,
        match=r"--set models\.cnn\.epochs=3: must be models\.<name>\.<field> with <name> one of --models \(ffn\)",
    ):
        configure(PARAMS, ["ffn"], settings=("models.cnn.epochs=3",))
    with pytest.raises(
        ParamsError,
        match=r"--set models\.dae_da\.epochs\.x=1: models\.dae_da\.epochs is 500, not a mapping",
    ):
        configure(PARAMS, ["dae_da"], settings=("models.dae_da.epochs.x=1",))
    with pytest.raises(ParamsError, match=r"--set models\.ffn\.epochs: must be KEY=VALUE"):
        configure(PARAMS, ["ffn"], settings=("models.ffn.epochs",))
    with pytest.raises(
        ParamsError, match=r"--set models\.ffn\.units=\[64, 4: the value is not valid YAML"
    ):
        configure(PARAMS, ["ffn"], settings=("models.ffn.units=[64, 4",))
    params = configure(PARAMS, ["dae_da"], settings=("models.dae_da.augment.rotation=3",))
    assert params.models["dae_da"].augment.rotation == 3
    assert EXTRA_MODELS["dae_da"]["augment"]["rotation"] == 10  # copied, not changed
    with pytest.raises(ParamsError, match=r"temperature"):
        configure(PARAMS, ["simclr"], settings=("models.simclr.temperature=-1",))


def test_summary_is_mean_and_std_over_seeds():
    rows = [
        {"seed": s, "model": "dae", "method": "dec", "acc": a, "nmi": 0.5, "ari": 0.4}
        for s, a in ((1, 0.8), (2, 0.9), (3, 1.0))
    ]
    stats = summary(rows)["dae+dec"]
    assert stats["acc"] == {"n": 3, "mean": 0.9, "std": 0.1}
    assert stats["nmi"]["std"] == 0.0


def tiny_run(tmp_path, *args: str) -> dict:
    """deep_eval on 100 images, ffn for 1 epoch, with `args`; its JSON output."""
    output = tmp_path / "deep_eval.json"
    main(
        [
            "--params", PARAMS, "--n-samples", "100", "--models", "ffn", "--epochs", "1",
            *args, "--output", str(output),
        ]
    )  # fmt: skip
    return json.loads(output.read_text())


def test_a_tiny_run_writes_every_seed_model_and_method(tmp_path, capsys):
    result = tiny_run(
        tmp_path, "--seeds", "1,2", "--methods", "kmeans,dec", "--set", "methods.dec.max_iter=4",
        "--set", "methods.dec.update_interval=2",
    )  # fmt: skip
    assert result["n_samples"] == 100 and result["models"]["ffn"]["epochs"] == 1
    assert [(r["seed"], r["method"]) for r in result["runs"]] == [
        (1, "kmeans"), (1, "dec"), (2, "kmeans"), (2, "dec"),
    ]  # fmt: skip
    dec_runs = [result["runs"][1], result["runs"][3]]
    assert dec_runs[0]["iterations"] <= 4
    assert set(result["summary"]) == {"ffn+kmeans", "ffn+dec"}
    for run in dec_runs:  # scored at every target update, the last as the run itself
        assert run["trajectory"][0]["iteration"] == 0
        assert run["trajectory"][-1]["iteration"] == run["iterations"]
        assert run["trajectory"][-1]["acc"] == run["acc"]
    first = {p["iteration"]: p["acc"] for p in dec_runs[0]["trajectory"]}
    second = {p["iteration"]: p["acc"] for p in dec_runs[1]["trajectory"]}
    start = result["dec_trajectories"]["ffn+dec"][0]
    assert (start["iteration"], start["n"]) == (0, 2)
    assert start["acc"] == round((first[0] + second[0]) / 2, 4)
    out = capsys.readouterr().out
    assert "ffn+dec: ACC" in out and "ffn+dec, mean ACC after each number of batches: 0: " in out


def test_more_clusterers_score_the_same_embedding(tmp_path):
    pytest.importorskip("umap")
    runs = tiny_run(
        tmp_path, "--seeds", "1", "--methods", "manifold", "--also-clusterers", "kmeans,gmm",
        "--set", "methods.manifold.n_init=1",
    )["runs"]  # fmt: skip
    assert [r["method"] for r in runs] == ["manifold", "manifold[kmeans]"]  # gmm: params'
    assert runs[0]["acc"] > 0.2 and runs[1]["acc"] > 0.2


def test_an_unknown_clusterer_is_one_clear_error():
    with pytest.raises(ParamsError, match=r"--also-clusterers hdbscan: must be among gmm, kmeans"):
        main(["--params", PARAMS, "--models", "ffn", "--also-clusterers", "hdbscan"])


def test_the_extra_models_are_valid_model_entries():
    params = configure(PARAMS, ["dae", "dae_da"])
    assert params.models["dae"].augment is None
    assert params.models["dae_da"].augment == AugmentParams(rotation=10.0, shift=0.1)


def test_augment_is_set_on_every_model_and_checked_as_params_yaml_is():
    params = configure(PARAMS, ["ffn", "dae_da"], augment="{rotation: 5}")
    assert {spec.augment for spec in params.models.values()} == {AugmentParams(rotation=5.0)}
    assert configure(PARAMS, ["dae_da"], augment="null").models["dae_da"].augment is None
    with pytest.raises(ParamsError, match=r"models\.ffn\.augment = 'lots': must be null or"):
        configure(PARAMS, ["ffn"], augment="lots")


def test_saved_latents_cluster_as_the_run_that_trained_them(tmp_path):
    latents = tmp_path / "latents"
    trained = tiny_run(tmp_path, "--seeds", "1,2", "--methods", "kmeans",
                       "--save-latents", str(latents))  # fmt: skip
    assert sorted(p.name for p in latents.iterdir()) == ["ffn_seed1.npy", "ffn_seed2.npy"]
    (latents / "ffn_seed2.npy").rename(tmp_path / "kept.npy")  # only seed 1 is read back
    again = tiny_run(tmp_path, "--seeds", "1", "--methods", "kmeans",
                     "--from-latents", str(latents))  # fmt: skip
    assert again["runs"] == [{**trained["runs"][0], "seconds": again["runs"][0]["seconds"]}]


def test_latents_of_another_sample_size_are_one_clear_error(tmp_path):
    latents = tmp_path / "latents"
    tiny_run(tmp_path, "--seeds", "1", "--methods", "kmeans", "--save-latents", str(latents))
    with pytest.raises(DataError, match=r"seed 1 ffn: 100 latents for a sample of 120 images"):
        main(["--params", PARAMS, "--models", "ffn", "--n-samples", "120", "--seeds", "1",
              "--methods", "kmeans", "--from-latents", str(latents),
              "--output", str(tmp_path / "out.json")])  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-latents", "x", "--methods", "kmeans,dec"], r"--from-latents with --methods dec"),
        (["--from-latents", "x", "--methods", "kmeans", "--together"], r"--together with --from"),
        (
            ["--from-latents", "x", "--methods", "kmeans", "--save-latents", "y"],
            r"--save-latents with --from-latents: there is nothing to train",
        ),
    ],
)
def test_latents_and_training_options_that_conflict_are_one_clear_error(args, message):
    with pytest.raises(ParamsError, match=message):
        main(["--params", PARAMS, "--models", "ffn", *args])


def test_training_together_off_jax_is_one_clear_error():
    import keras

    if keras.backend.backend() == "jax":
        pytest.skip("the JAX backend trains together (tests/test_backends.py)")
    with pytest.raises(ParamsError, match=r"--together: needs KERAS_BACKEND=jax, not "):
        main(["--params", PARAMS, "--models", "ffn", "--together"])


def test_every_entry_of_bench_models_yaml_is_a_valid_model_entry():
    """bench/models.yaml holds entries to copy into params.yaml: each must pass its schema."""
    import copy

    import yaml

    from aeclust.config import parse_params

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(EXTRA_MODELS) >= {"dae", "dae_da"}
    for name, entry in EXTRA_MODELS.items():
        params = copy.deepcopy(raw)
        params["models"] = {name: entry}
        assert parse_params(params).models[name].kind == entry["kind"]
