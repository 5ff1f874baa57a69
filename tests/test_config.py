import copy

import pytest
import yaml
from conftest import ROOT

from aeclust.config import (
    AugmentParams,
    ConvParams,
    DenseParams,
    check_conv_geometry,
    load_params,
    parse_params,
    select_model,
)
from aeclust.errors import ParamsError

DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())


def with_change(dotted: str, value):
    raw = copy.deepcopy(DEFAULT)
    node = raw
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return raw


def test_default_params_are_the_study_settings():
    params = load_params(ROOT / "params.yaml")
    assert params.seed == 42
    assert params.data.source == "embedded" and params.data.n_samples == 3000
    ffn, cnn = params.models["ffn"], params.models["cnn"]
    assert isinstance(ffn, DenseParams) and isinstance(cnn, ConvParams)
    assert (
        ffn.units == (256, 100) and ffn.learning_rate == 0.01 and ffn.scaling == "zscore_per_image"
    )
    assert cnn.filters == 10 and cnn.kernel_size == 5 and cnn.pool_size == 5
    assert cnn.latent_shape == (14, 14) and cnn.learning_rate == 0.005
    assert ffn.epochs == cnn.epochs == 500 and ffn.batch_size == cnn.batch_size == 300
    km = params.kmeans
    assert (km.n_clusters, km.init, km.n_init, km.max_iter, km.tol) == (
        10,
        "k-means++",
        3,
        300,
        1e-4,
    )


def test_augment_is_off_unless_asked_and_fills_its_defaults():
    params = load_params(ROOT / "params.yaml")
    assert params.models["ffn"].augment is None and params.models["cnn"].augment is None
    raw = with_change("models.cnn.augment", {"rotation": 5})
    assert parse_params(raw).models["cnn"].augment == AugmentParams(rotation=5.0, shift=0.1)
    assert parse_params(with_change("models.ffn.augment", None)).models["ffn"].augment is None
    # DEC refines on the plain images unless methods.dec.augment asks for the model's own
    assert params.methods.dec.augment is False
    assert parse_params(with_change("methods.dec.augment", True)).methods.dec.augment is True


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        (
            "models.cnn.learnig_rate",
            0.1,
            r"models\.cnn\.learnig_rate: unknown key; allowed: .*learning_rate",
        ),
        ("models.cnn.learning_rate", -1, r"models\.cnn\.learning_rate = -1: must be a number > 0"),
        ("models.cnn.learning_rate", 0, r"models\.cnn\.learning_rate = 0: must be a number > 0"),
        ("models.cnn.learning_rate", "fast", r"learning_rate = 'fast': must be a number > 0"),
        ("models.ffn.epochs", 0, r"models\.ffn\.epochs = 0: must be an integer >= 1"),
        ("models.ffn.epochs", 2.5, r"models\.ffn\.epochs = 2\.5: must be an integer >= 1"),
        ("models.ffn.batch_size", -3, r"models\.ffn\.batch_size = -3: must be an integer >= 1"),
        ("models.ffn.units", [], r"models\.ffn\.units = \[\]: must be a list of integers >= 1"),
        ("models.ffn.linear_latent", "yes", r"linear_latent = 'yes': must be true or false"),
        (
            "models.ffn.latent_activation",
            "softmax",
            r"models\.ffn\.latent_activation = 'softmax': must be one of: relu, .*linear",
        ),
        ("models.ffn.kind", "lstm", r"models\.ffn\.kind = 'lstm': must be one of: dense, conv"),
        (
            "models.cnn.augment",
            {"rotation": 400},
            r"models\.cnn\.augment = \{'rotation': 400\}: rotation = 400: must be a number in "
            r"\[0, 180\]",
        ),
        ("models.ffn.augment", {"shift": 0.6}, r"shift = 0\.6: must be a number in \[0, 0\.5\]"),
        ("models.ffn.augment", {"zoom": "x"}, r"zoom = 'x': must be a number in \[0, 0\.5\]"),
        ("models.ffn.augment", {"rotate": 5}, r"unknown key 'rotate'; allowed: rotation, shift"),
        ("models.ffn.augment", "yes", r"augment = 'yes': must be null or a mapping with keys"),
        (
            "models.ffn.scaling",
            "minmax",
            r"scaling = 'minmax': must be one of: zscore_per_image, unit_range",
        ),
        ("models.cnn.activation", "relu6", r"activation = 'relu6': must be one of: relu"),
        ("models.cnn.latent_shape", [14], r"latent_shape = \[14\]: must be a list of 2 integers"),
        (
            "kmeans.init",
            "kmeans++",
            r"kmeans\.init = 'kmeans\+\+': must be one of: k-means\+\+, random",
        ),
        ("kmeans.n_clusters", 1, r"kmeans\.n_clusters = 1: must be an integer >= 2"),
        ("kmeans.n_clusters", 301, r"kmeans\.n_clusters = 301: must be <= data\.n_samples \(300\)"),
        ("kmeans.tol", -0.1, r"kmeans\.tol = -0\.1: must be a number >= 0"),
        (
            "data.source",
            "s3://bucket",
            r"data\.source = 's3://bucket': must be embedded, idx:<dir>",
        ),
        ("data.source", "keras:cifar10", r"data\.source = 'keras:cifar10': must be embedded"),
        ("data.n_samples", 0, r'data\.n_samples = 0: must be an integer >= 2 or "all"'),
        ("data.n_samples", "most", r"data\.n_samples = 'most'"),
        ("seed", -1, r"seed = -1: must be an integer in \[0, 4294967295\]"),
        (
            "kmean",
            {},
            r"kmean: unknown key; allowed: seed, backend, data, models, kmeans, methods, report",
        ),
        ("methods.dec.gamma", 0, r"methods\.dec\.gamma = 0: must be a number > 0"),
        ("methods.dec.enabled", "on", r"methods\.dec\.enabled = 'on': must be true or false"),
        ("methods.dec.tol", 2, r"methods\.dec\.tol = 2: must be a number in \[0, 1\]"),
        ("methods.dec.augment", "yes", r"methods\.dec\.augment = 'yes': must be true or false"),
        (
            "methods.dec.update_interval",
            0,
            r"methods\.dec\.update_interval = 0: must be an integer >= 1",
        ),
        ("methods.dec.max_iter", 1.5, r"methods\.dec\.max_iter = 1\.5: must be an integer >= 1"),
        (
            "methods.dec.batchsize",
            8,
            r"methods\.dec\.batchsize: unknown key; allowed: .*batch_size",
        ),
        (
            "methods.manifold.runs",
            0,
            r"methods\.manifold\.runs = 0: must be an integer in \[1, 50\]",
        ),
        (
            "methods.manifold.consensus",
            "mean",
            r"methods\.manifold\.consensus = 'mean': must be one of: vote, medoid",
        ),
        (
            "methods.manifold.clusterer",
            "hdbscan",
            r"methods\.manifold\.clusterer = 'hdbscan': must be one of: gmm, kmeans",
        ),
        (
            "methods.manifold.n_neighbors",
            1,
            r"methods\.manifold\.n_neighbors = 1: must be an integer >= 2",
        ),
        (
            "methods.manifold.n_neighbors",
            300,
            r"methods\.manifold\.n_neighbors = 300: must be < data\.n_samples \(300\)",
        ),
        (
            "methods.manifold.min_dist",
            1.5,
            r"methods\.manifold\.min_dist = 1\.5: must be a number in \[0, 1\]",
        ),
        (
            "methods.manifold.metric",
            "hamming",
            r"methods\.manifold\.metric = 'hamming': must be one of: euclidean, cosine",
        ),
        (
            "methods.manifold.n_init",
            0,
            r"methods\.manifold\.n_init = 0: must be an integer >= 1",
        ),
        ("methods.n_clusters", 1, r"methods\.n_clusters = 1: must be an integer >= 2"),
        (
            "methods.n_clusters",
            301,
            r"methods\.n_clusters = 301: must be <= data\.n_samples \(300\)",
        ),
        (
            "methods.hdbscan",
            {},
            r"methods\.hdbscan: unknown key; allowed: n_clusters, dec, manifold",
        ),
        ("methods.dec", None, r"methods\.dec = None: must be a mapping with keys enabled"),
        ("models.raw", dict(DEFAULT["models"]["ffn"]), r"models = 'raw': a model name must match"),
    ],
)
def test_each_bad_value_is_named_with_what_is_allowed(dotted, value, message):
    raw = with_change(dotted, value)
    if value in (300, 301) and dotted.endswith(("n_clusters", "n_neighbors")):
        raw["data"]["n_samples"] = 300
    with pytest.raises(ParamsError, match=message) as info:
        parse_params(raw)
    assert "\n" not in str(info.value)


def test_default_params_switch_both_methods_on():
    params = load_params(ROOT / "params.yaml")
    dec, manifold = params.methods.dec, params.methods.manifold
    assert params.methods.n_clusters == params.kmeans.n_clusters == 10
    assert dec.enabled and dec.reconstruction and dec.gamma == 0.1 and dec.tol == 0.001
    assert manifold.enabled and manifold.clusterer == "gmm" and manifold.min_dist == 0.0
    assert manifold.n_init == 10
    assert list(params.method_runs()) == [
        f"{model}+{method}"
        for model in ("ffn", "cnn", "simclr")
        for method in ("dec", "manifold", "selflabel")
    ]
    assert params.method_runs()["cnn+manifold"] == ("cnn", "manifold")


def test_a_switched_off_method_has_no_runs():
    raw = with_change("methods.dec.enabled", False)
    runs = [
        f"{m}+{method}" for m in ("ffn", "cnn", "simclr") for method in ("manifold", "selflabel")
    ]
    assert list(parse_params(raw).method_runs()) == runs


def test_methods_section_is_required():
    raw = copy.deepcopy(DEFAULT)
    del raw["methods"]
    with pytest.raises(ParamsError, match=r"methods = \(missing\): must be a mapping"):
        parse_params(raw)


def test_missing_key_is_reported():
    raw = copy.deepcopy(DEFAULT)
    del raw["models"]["cnn"]["epochs"]
    with pytest.raises(ParamsError, match=r"models\.cnn\.epochs = \(missing\): required"):
        parse_params(raw)


def test_n_samples_all_means_every_image():
    assert parse_params(with_change("data.n_samples", "all")).data.n_samples is None


def test_adding_a_model_entry_adds_a_model():
    raw = copy.deepcopy(DEFAULT)
    raw["models"]["ffn_linear"] = dict(raw["models"]["ffn"], linear_latent=True)
    params = parse_params(raw)
    assert list(params.models) == ["ffn", "cnn", "simclr", "ffn_linear"]
    assert params.models["ffn_linear"].linear_latent is True


def test_latent_activation_is_optional_and_defaults_to_the_layers_activation():
    raw = copy.deepcopy(DEFAULT)
    raw["models"]["dae"] = dict(raw["models"]["ffn"], latent_activation="linear")
    params = parse_params(raw)
    assert params.models["ffn"].latent_activation is None
    assert params.models["dae"].latent_activation == "linear"


def test_manifold_n_init_is_optional_and_defaults_to_n2ds_single_start():
    raw = copy.deepcopy(DEFAULT)
    del raw["methods"]["manifold"]["n_init"]  # params.yaml of an older commit
    assert parse_params(raw).methods.manifold.n_init == 1


def test_invalid_yaml_is_one_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 42\ndata: [unclosed\n")
    with pytest.raises(ParamsError, match=r"params\.yaml: not valid YAML") as info:
        load_params(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("side", "latent", "message"),
    [
        (28, [14, 14], None),
        (32, [16, 16], None),
        (28, [7, 7], r"latent_shape = \[7, 7\]: must be \[14, 14\] for 28x28 images"),
        (27, [13, 13], r"needs images of an even side"),
    ],
)
def test_conv_geometry(side, latent, message):
    spec = parse_params(with_change("models.cnn.latent_shape", latent)).models["cnn"]
    if message is None:
        check_conv_geometry("cnn", spec, side)
    else:
        with pytest.raises(ParamsError, match=message):
            check_conv_geometry("cnn", spec, side)


def test_select_model_names_the_choices():
    params = parse_params(DEFAULT)
    assert select_model(params, ["cnn"])[0] == "cnn"
    with pytest.raises(
        ParamsError, match=r"model = rnn: must be one of params.yaml's models: ffn, cnn"
    ):
        select_model(params, ["rnn"])


def test_docs_params_md_is_written_from_the_schema():
    from aeclust.config.docs import params_markdown

    assert (ROOT / "docs" / "params.md").read_text() == params_markdown(), (
        "docs/params.md is out of date: run python -m aeclust.config.docs"
    )


def leaves(tree, prefix=""):
    """Every leaf key of params.yaml as a dotted path (lists are leaves)."""
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from leaves(value, f"{dotted}.")
        else:
            yield dotted


def without(dotted: str):
    raw = copy.deepcopy(DEFAULT)
    node = raw
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    del node[last]
    return raw


# A value of the wrong type for each kind of leaf: a string where a number, list or
# boolean belongs, and a number where a string belongs.
def mistyped(value):
    return 12345 if isinstance(value, str) else "not-a-value"


LEAVES = list(leaves(DEFAULT))


def test_the_default_params_have_the_leaves_the_sweep_below_covers():
    assert len(LEAVES) >= 40 and "kmeans.n_init" in LEAVES and "methods.dec.n_init" in LEAVES


@pytest.mark.parametrize("dotted", LEAVES)
def test_every_dropped_key_is_a_default_or_one_line_naming_it(dotted):
    """Dropping a key either keeps a declared default or stops with one line naming the key
    as required and what it may hold, never with another exception."""
    try:
        params = parse_params(without(dotted))
    except ParamsError as error:
        message = str(error)
        assert "\n" not in message
        assert message.startswith(f"params.yaml: {dotted} = (missing): required, ")
        return
    node = params
    for key in dotted.split("."):
        node = node[key] if isinstance(node, dict) else getattr(node, key)
    assert node is not None or dotted.endswith(("augment", "latent_activation"))


@pytest.mark.parametrize("dotted", LEAVES)
def test_every_mistyped_key_is_one_line_naming_it(dotted):
    node = DEFAULT
    for key in dotted.split("."):
        node = node[key]
    bad = mistyped(node)
    with pytest.raises(ParamsError) as info:
        parse_params(with_change(dotted, bad))
    message = str(info.value)
    assert "\n" not in message
    parent, _, last = dotted.rpartition(".")
    if parent.endswith(
        (".views", ".augment", ".distort")
    ):  # an inline mapping: reported at its key
        assert message.startswith(f"params.yaml: {parent} = ")
        assert f": {last} = {bad!r}: must be " in message
    else:
        assert message.startswith(f"params.yaml: {dotted} = {bad!r}: must be ")


def test_dropping_kmeans_n_init_is_reported_not_a_type_error():
    with pytest.raises(
        ParamsError, match=r"kmeans\.n_init = \(missing\): required, an integer >= 1"
    ):
        parse_params(without("kmeans.n_init"))
    with pytest.raises(ParamsError, match=r"methods\.dec\.n_init = \(missing\): required"):
        parse_params(without("methods.dec.n_init"))


def test_self_labelling_cannot_start_from_a_switched_off_run():
    raw = with_change("methods.manifold.enabled", False)
    message = (
        r"^params.yaml: methods.selflabel.start = 'manifold': its run is switched off "
        r"\(methods.manifold.enabled is false\); must be an enabled method of manifold, dec$"
    )
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)
    raw["methods"]["selflabel"]["start"] = "dec"
    assert parse_params(raw).methods.selflabel.start == "dec"
    raw["methods"]["selflabel"]["enabled"] = False  # a switched-off selflabel needs no start
    raw["methods"]["selflabel"]["start"] = "manifold"
    assert "cnn+selflabel" not in parse_params(raw).method_runs()


def test_self_labelling_needs_fewer_neighbours_than_images():
    raw = with_change("methods.selflabel.n_neighbors", 3000)
    with pytest.raises(ParamsError, match=r"n_neighbors = 3000: must be < data.n_samples \(3000\)"):
        parse_params(raw)
    raw = with_change("methods.selflabel.start", "kmeans")
    with pytest.raises(ParamsError, match=r"start = 'kmeans': must be one of: manifold, dec"):
        parse_params(raw)
