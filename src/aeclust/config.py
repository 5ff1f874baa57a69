"""The typed schema of params.yaml, validated once at the boundary.

`load_params` reads the file and returns a `Params`; anything wrong becomes one
`ParamsError` naming the key, the bad value and what is allowed, e.g.
``params.yaml: models.cnn.learning_rate = -1: must be a number > 0``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from aeclust.errors import ParamsError

SCALINGS = ("zscore_per_image", "unit_range")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "softplus", "swish", "linear")
KINDS = ("dense", "conv", "contrastive")
KMEANS_INITS = ("k-means++", "random")
CLUSTERERS = ("gmm", "kmeans")  # what clusters the manifold method's UMAP embedding
UMAP_METRICS = ("euclidean", "cosine", "manhattan", "correlation")
CONSENSUS = ("vote", "medoid")  # how the manifold method combines its runs (runs > 1)
# The clustering methods after encode; a model's clustering by one is the run <model>+<method>.
METHODS = ("dec", "manifold")
SOURCE_KINDS = ("embedded", "idx", "npz", "csv", "pickle", "keras", "openml")
BASELINE = "raw"  # the key of KMeans on raw pixels in metrics.json; no model may take it
_MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DataParams:
    source: str
    n_samples: int | None  # None = every image the source holds ("all")


@dataclass(frozen=True)
class AugmentParams:
    """Random distortions of each training batch (DEC-DA): see aeclust.augment."""

    rotation: float = 10.0  # degrees, uniform in +-rotation
    shift: float = 0.1  # fraction of the side, uniform in +-shift, each axis
    zoom: float = 0.0  # scale uniform in 1 +- zoom


@dataclass(frozen=True)
class DenseParams:
    kind: str
    scaling: str
    units: tuple[int, ...]
    activation: str
    linear_latent: bool
    learning_rate: float
    epochs: int
    batch_size: int
    latent_activation: str | None = None  # None: `activation` (the study's)
    augment: AugmentParams | None = None  # None: train on the images as they are (the study's)


@dataclass(frozen=True)
class ConvParams:
    kind: str
    scaling: str
    filters: int
    kernel_size: int
    pool_size: int
    latent_shape: tuple[int, int]
    activation: str
    learning_rate: float
    epochs: int
    batch_size: int
    augment: AugmentParams | None = None


@dataclass(frozen=True)
class ViewParams:
    """How a contrastive model draws each of an image's two views (aeclust.contrastive)."""

    rotation: float = 10.0  # degrees, uniform in +-rotation
    shift: float = 0.12  # fraction of the side, uniform in +-shift, each axis
    zoom: float = 0.2  # scale uniform in 1 +- zoom
    flip: bool = True  # mirror left-right half of the time (not for digits: 2 vs 5)
    brightness: float = 0.4  # gain uniform in 1 +- brightness, then clipped to [0, 1]


@dataclass(frozen=True)
class ContrastiveParams:
    """A conv encoder trained SimCLR's way (Chen et al. 2020): two random views of each
    image, a projection head, the NT-Xent loss. No decoder: nothing is reconstructed."""

    kind: str
    scaling: str  # unit_range: the views fill with 0, the background
    filters: tuple[int, ...]  # stride-2 convs: 5x5 same-padded, the last 3x3 valid
    latent_size: int  # Dense(latent_size, linear) = "latent", what is clustered
    projection: tuple[int, ...]  # the head's widths (relu between); the loss sees its output
    temperature: float
    learning_rate: float
    epochs: int
    batch_size: int
    views: ViewParams = ViewParams()

    @property
    def augment(self) -> None:
        """DEC-DA's per-batch distortions do not apply: the views are the model's own."""
        return None


ModelParams = DenseParams | ConvParams | ContrastiveParams


@dataclass(frozen=True)
class KMeansParams:
    n_clusters: int
    init: str
    n_init: int
    max_iter: int
    tol: float


@dataclass(frozen=True)
class DecParams:
    """DEC/IDEC refinement of a trained autoencoder (Xie et al. 2016, Guo et al. 2017)."""

    enabled: bool
    reconstruction: bool  # keep the decoder's MSE in the loss (IDEC); false = DEC
    gamma: float  # weight of the KL clustering loss; the reconstruction loss has weight 1
    n_init: int  # KMeans restarts for the initial centroids
    update_interval: int  # batches between updates of the target distribution
    tol: float  # stop once fewer than this fraction of assignments change in an interval
    max_iter: int  # batches at most
    batch_size: int
    learning_rate: float  # Adam
    # refine on distorted copies as the model was trained (its `augment`), as DEC-DA does
    augment: bool = False


@dataclass(frozen=True)
class ManifoldParams:
    """N2D (McConville et al. 2019): UMAP of the latents, then a mixture or KMeans."""

    enabled: bool
    n_components: int
    n_neighbors: int
    min_dist: float
    metric: str
    clusterer: str
    n_init: int = 1  # restarts of the Gaussian mixture (best likelihood wins); N2D used 1
    runs: int = 1  # UMAP + clusterer runs, each seeded apart, combined by `consensus`; 1 = N2D
    consensus: str = "vote"  # vote: each item's majority over the aligned runs; medoid: the run
    # that agrees most (mean NMI) with the others


@dataclass(frozen=True)
class MethodsParams:
    n_clusters: int
    dec: DecParams
    manifold: ManifoldParams


@dataclass(frozen=True)
class ReportParams:
    sample_index: int


@dataclass(frozen=True)
class Params:
    seed: int
    data: DataParams
    models: dict[str, ModelParams]
    kmeans: KMeansParams
    methods: MethodsParams
    report: ReportParams

    def method_runs(self) -> dict[str, tuple[str, str]]:
        """The runs of the enabled methods, model by model: `<model>+<method>` ->
        (model, method)."""
        enabled = [m for m in METHODS if getattr(self.methods, m).enabled]
        return {run_name(model, m): (model, m) for model in self.models for m in enabled}


def run_name(model: str, method: str) -> str:
    """The key of a model's clustering by a method in metrics.json: `ffn+dec`."""
    return f"{model}+{method}"


# --- checkers: each returns the converted value or raises ValueError(what is allowed) ---

Checker = Callable[[Any], Any]


def _integer(low: int, high: int | None = None) -> Checker:
    allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be {allowed}")
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be {allowed}")
        return value

    return check


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError("must be a number > 0")
    if value != value or value == float("inf"):
        raise ValueError("must be a finite number > 0")
    return float(value)


def _non_negative_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError("must be a number >= 0")
    return float(value)


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError("must be a number in [0, 1]")
    return float(value)


def _choice(options: tuple[str, ...]) -> Checker:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of: {', '.join(options)}")
        return value

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _int_list(length: int | None = None) -> Checker:
    what = "a list of integers >= 1" if length is None else f"a list of {length} integers >= 1"

    def check(value: Any) -> tuple[int, ...]:
        if not isinstance(value, list) or not value or (length and len(value) != length):
            raise ValueError(f"must be {what}")
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
            raise ValueError(f"must be {what}")
        return tuple(value)

    return check


def _source(value: Any) -> str:
    allowed = (
        "must be embedded, idx:<dir>, npz:<file>, csv:<file>, pickle:<file>, "
        "keras:mnist, keras:fashion_mnist or openml:<name>"
    )
    if not isinstance(value, str):
        raise ValueError(allowed)
    kind, _, arg = value.partition(":")
    if kind not in SOURCE_KINDS or (kind == "embedded") != (arg == ""):
        raise ValueError(allowed)
    if kind == "keras" and arg not in ("mnist", "fashion_mnist"):
        raise ValueError(allowed)
    return value


def _n_samples(value: Any) -> int | None:
    if value == "all":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ValueError('must be an integer >= 2 or "all"')
    return value


_VIEW_RANGES = {
    "rotation": (0.0, 180.0),
    "shift": (0.0, 0.5),
    "zoom": (0.0, 0.9),
    "brightness": (0.0, 1.0),
}


def _views(value: Any) -> ViewParams:
    """A mapping of some of rotation, shift, zoom, brightness (numbers) and flip (true or
    false); the others keep ViewParams' defaults."""
    allowed = ", ".join([*_VIEW_RANGES, "flip"])
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping with keys among {allowed}")
    values: dict[str, Any] = {}
    for key, setting in value.items():
        if key == "flip":
            values[key] = _boolean(setting)
            continue
        if key not in _VIEW_RANGES:
            raise ValueError(f"unknown key {key!r}; allowed: {allowed}")
        low, high = _VIEW_RANGES[key]
        if isinstance(setting, bool) or not isinstance(setting, int | float):
            raise ValueError(f"{key} = {setting!r}: must be a number in [{low:g}, {high:g}]")
        if not low <= setting <= high:
            raise ValueError(f"{key} = {setting}: must be a number in [{low:g}, {high:g}]")
        values[key] = float(setting)
    return ViewParams(**values)


_AUGMENT_RANGES = {"rotation": (0.0, 180.0), "shift": (0.0, 0.5), "zoom": (0.0, 0.5)}


def _augment(value: Any) -> AugmentParams | None:
    """null (no augmentation) or a mapping of some of rotation, shift, zoom (the others
    keep AugmentParams' defaults)."""
    allowed = ", ".join(_AUGMENT_RANGES)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"must be null or a mapping with keys among {allowed}")
    values = {}
    for key, number in value.items():
        if key not in _AUGMENT_RANGES:
            raise ValueError(f"unknown key {key!r}; allowed: {allowed}")
        low, high = _AUGMENT_RANGES[key]
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"{key} = {number!r}: must be a number in [{low:g}, {high:g}]")
        if not low <= number <= high:
            raise ValueError(f"{key} = {number}: must be a number in [{low:g}, {high:g}]")
        values[key] = float(number)
    return AugmentParams(**values)


_DENSE_KEYS: dict[str, Checker] = {
    "kind": _choice(KINDS),
    "scaling": _choice(SCALINGS),
    "units": _int_list(),
    "activation": _choice(ACTIVATIONS),
    "linear_latent": _boolean,
    "learning_rate": _positive_number,
    "epochs": _integer(1),
    "batch_size": _integer(1),
    "latent_activation": _choice(ACTIVATIONS),
    "augment": _augment,
}
# May be left out: the dataclass default applies.
_OPTIONAL_KEYS = {"latent_activation", "n_init", "augment", "runs", "consensus", "views"}
_CONV_KEYS: dict[str, Checker] = {
    "kind": _choice(KINDS),
    "scaling": _choice(SCALINGS),
    "filters": _integer(1),
    "kernel_size": _integer(1),
    "pool_size": _integer(1),
    "latent_shape": _int_list(2),
    "activation": _choice(ACTIVATIONS),
    "learning_rate": _positive_number,
    "epochs": _integer(1),
    "batch_size": _integer(1),
    "augment": _augment,
}
_CONTRASTIVE_KEYS: dict[str, Checker] = {
    "kind": _choice(KINDS),
    "scaling": _choice(("unit_range",)),
    "filters": _int_list(),
    "latent_size": _integer(1),
    "projection": _int_list(),
    "temperature": _positive_number,
    "learning_rate": _positive_number,
    "epochs": _integer(1),
    "batch_size": _integer(2),  # each image's negatives are the batch's other images
    "views": _views,
}
_MODEL_KEYS: dict[str, tuple[dict[str, Checker], type]] = {
    "dense": (_DENSE_KEYS, DenseParams),
    "conv": (_CONV_KEYS, ConvParams),
    "contrastive": (_CONTRASTIVE_KEYS, ContrastiveParams),
}
_KMEANS_KEYS: dict[str, Checker] = {
    "n_clusters": _integer(2),
    "init": _choice(KMEANS_INITS),
    "n_init": _integer(1),
    "max_iter": _integer(1),
    "tol": _non_negative_number,
}
_DEC_KEYS: dict[str, Checker] = {
    "enabled": _boolean,
    "reconstruction": _boolean,
    "gamma": _positive_number,
    "n_init": _integer(1),
    "update_interval": _integer(1),
    "tol": _fraction,
    "max_iter": _integer(1),
    "batch_size": _integer(1),
    "learning_rate": _positive_number,
    "augment": _boolean,
}
_MANIFOLD_KEYS: dict[str, Checker] = {
    "enabled": _boolean,
    "n_components": _integer(1),
    "n_neighbors": _integer(2),
    "min_dist": _fraction,  # UMAP needs min_dist <= spread (1.0)
    "metric": _choice(UMAP_METRICS),
    "clusterer": _choice(CLUSTERERS),
    "n_init": _integer(1),
    "runs": _integer(1, 50),
    "consensus": _choice(CONSENSUS),
}
_METHODS_KEYS = ("n_clusters", *METHODS)
_DATA_KEYS: dict[str, Checker] = {"source": _source, "n_samples": _n_samples}
_REPORT_KEYS: dict[str, Checker] = {"sample_index": _integer(0)}
_TOP_KEYS = ("seed", "data", "models", "kmeans", "methods", "report")
_DEFAULT_REPORT = {"sample_index": 100}


def _fail(where: str, value: Any, why: str) -> ParamsError:
    shown = "(missing)" if value is _MISSING else repr(value) if isinstance(value, str) else value
    return ParamsError(f"{where} = {shown}: {why}")


_MISSING = object()


def _section(raw: Any, where: str, checkers: Mapping[str, Checker], cls: type, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise _fail(f"{prefix}{where}", raw, f"must be a mapping with keys {', '.join(checkers)}")
    for key in raw:
        if key not in checkers:
            raise ParamsError(
                f"{prefix}{where}.{key}: unknown key; allowed: {', '.join(sorted(checkers))}"
            )
    values = {}
    for key, check in checkers.items():
        value = raw.get(key, _MISSING)
        if value is _MISSING and key in _OPTIONAL_KEYS:
            continue
        if value is _MISSING:
            raise _fail(f"{prefix}{where}.{key}", value, "required")
        try:
            values[key] = check(value)
        except ValueError as exc:
            raise _fail(f"{prefix}{where}.{key}", value, str(exc)) from None
    return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def parse_params(raw: Any, prefix: str = "params.yaml: ") -> Params:
    """Validate the parsed content of params.yaml and return it typed."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{prefix}must be a mapping with keys {', '.join(_TOP_KEYS)}")
    for key in raw:
        if key not in _TOP_KEYS:
            raise ParamsError(f"{prefix}{key}: unknown key; allowed: {', '.join(_TOP_KEYS)}")
    seed = raw.get("seed", _MISSING)
    try:
        seed = _integer(0, 2**32 - 1)(seed)
    except ValueError as exc:
        raise _fail(f"{prefix}seed", seed, str(exc)) from None
    data = _section(raw.get("data"), "data", _DATA_KEYS, DataParams, prefix)

    raw_models = raw.get("models")
    if not isinstance(raw_models, dict) or not raw_models:
        raise _fail(f"{prefix}models", raw_models, "must be a mapping of model name -> settings")
    models: dict[str, ModelParams] = {}
    for name, spec in raw_models.items():
        if not isinstance(name, str) or not _MODEL_NAME.match(name) or name == BASELINE:
            raise _fail(
                f"{prefix}models",
                name,
                f"a model name must match {_MODEL_NAME.pattern} and not be '{BASELINE}'",
            )
        kind = spec.get("kind", _MISSING) if isinstance(spec, dict) else _MISSING
        if kind not in KINDS:
            raise _fail(f"{prefix}models.{name}.kind", kind, f"must be one of: {', '.join(KINDS)}")
        checkers, cls = _MODEL_KEYS[kind]
        models[name] = _section(spec, f"models.{name}", checkers, cls, prefix)

    kmeans = _section(raw.get("kmeans"), "kmeans", _KMEANS_KEYS, KMeansParams, prefix)
    if data.n_samples is not None and kmeans.n_clusters > data.n_samples:
        raise _fail(
            f"{prefix}kmeans.n_clusters",
            kmeans.n_clusters,
            f"must be <= data.n_samples ({data.n_samples})",
        )
    methods = _methods(raw.get("methods", _MISSING), data, prefix)
    report = _section(
        raw.get("report", _DEFAULT_REPORT), "report", _REPORT_KEYS, ReportParams, prefix
    )
    return Params(
        seed=seed, data=data, models=models, kmeans=kmeans, methods=methods, report=report
    )


def _methods(raw: Any, data: DataParams, prefix: str) -> MethodsParams:
    where = f"{prefix}methods"
    if not isinstance(raw, dict):
        raise _fail(where, raw, f"must be a mapping with keys {', '.join(_METHODS_KEYS)}")
    for key in raw:
        if key not in _METHODS_KEYS:
            raise ParamsError(f"{where}.{key}: unknown key; allowed: {', '.join(_METHODS_KEYS)}")
    n_clusters = raw.get("n_clusters", _MISSING)
    try:
        n_clusters = _integer(2)(n_clusters)
    except ValueError as exc:
        raise _fail(f"{where}.n_clusters", n_clusters, str(exc)) from None
    if data.n_samples is not None and n_clusters > data.n_samples:
        raise _fail(
            f"{where}.n_clusters", n_clusters, f"must be <= data.n_samples ({data.n_samples})"
        )
    dec = _section(raw.get("dec", _MISSING), "methods.dec", _DEC_KEYS, DecParams, prefix)
    manifold = _section(
        raw.get("manifold", _MISSING), "methods.manifold", _MANIFOLD_KEYS, ManifoldParams, prefix
    )
    if data.n_samples is not None and manifold.n_neighbors >= data.n_samples:
        raise _fail(
            f"{where}.manifold.n_neighbors",
            manifold.n_neighbors,
            f"must be < data.n_samples ({data.n_samples})",
        )
    if data.n_samples is not None and manifold.n_components >= data.n_samples - 1:
        raise _fail(
            f"{where}.manifold.n_components",
            manifold.n_components,
            f"must be < data.n_samples - 1 ({data.n_samples - 1})",
        )
    return MethodsParams(n_clusters=n_clusters, dec=dec, manifold=manifold)


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


def check_conv_geometry(name: str, spec: ConvParams, side: int) -> None:
    """Fail unless the conv autoencoder `spec` fits square images of `side` pixels.

    The encoder's same-padded conv keeps the side, the valid stride-1 pool leaves
    side - pool_size + 1, and the stride-2 transposed conv doubles the latent, so
    the latent must be side/2 x side/2 (and side even).
    """
    where = f"models.{name}"
    if side % 2:
        raise ParamsError(
            f"{where}: kind 'conv' needs images of an even side (latent = side/2); these are "
            f"{side}x{side}: use kind 'dense'"
        )
    if spec.pool_size > side:
        raise _fail(f"{where}.pool_size", spec.pool_size, f"must be <= the image side ({side})")
    expected = [side // 2, side // 2]
    if list(spec.latent_shape) != expected:
        raise _fail(
            f"{where}.latent_shape",
            list(spec.latent_shape),
            f"must be {expected} for {side}x{side} images (the decoder doubles it)",
        )


def contrastive_side(side: int, n_convs: int) -> int:
    """The side of a contrastive encoder's last feature map: each 5x5 same-padded stride-2
    conv leaves ceil(side / 2), the last (3x3, valid, stride 2) floor((side - 3) / 2) + 1."""
    for _ in range(n_convs - 1):
        side = (side + 1) // 2
    return (side - 3) // 2 + 1 if side >= 3 else 0


def check_contrastive_geometry(name: str, spec: ContrastiveParams, side: int) -> None:
    """Fail unless the contrastive encoder's convs leave a feature map on `side`-pixel images."""
    if contrastive_side(side, len(spec.filters)) < 1:
        raise _fail(
            f"models.{name}.filters",
            list(spec.filters),
            f"{len(spec.filters)} stride-2 convs leave nothing of {side}x{side} images: use fewer",
        )


def check_geometry(name: str, spec: ModelParams, side: int) -> None:
    """The model kind's check that `spec` fits square images of `side` pixels."""
    if isinstance(spec, ConvParams):
        check_conv_geometry(name, spec, side)
    elif isinstance(spec, ContrastiveParams):
        check_contrastive_geometry(name, spec, side)


def select_model(params: Params, argv: list[str]) -> tuple[str, ModelParams]:
    """The model named by a stage's only argument, and its settings."""
    if len(argv) != 1 or argv[0] not in params.models:
        raise ParamsError(
            f"model = {' '.join(argv) or '(none)'}: must be one of params.yaml's models: "
            f"{', '.join(params.models)}"
        )
    return argv[0], params.models[argv[0]]
