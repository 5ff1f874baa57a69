"""The report's figures, each returned as a matplotlib Figure (saved by the caller).

Arrays in, figures out; nothing here reads or writes files. The figures are made as
`Figure` objects, not through pyplot: nothing is shown, so pyplot's figure manager (and
its import) would only cost time.
"""

from __future__ import annotations

import functools
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from matplotlib.textpath import TextPath  # noqa: E402
from matplotlib.transforms import Affine2D  # noqa: E402

PER_CLUSTER = 10  # members shown per cluster in figure B, as in the study


def latent_grid(latent: np.ndarray) -> np.ndarray:
    """A (d,) latent as the most square (h, w) image with h * w = d (10x10, 14x14, ...)."""
    d = latent.size
    h = max(k for k in range(1, math.isqrt(d) + 1) if d % k == 0)
    return latent.reshape(h, d // h)


def _subplots(rows: int = 1, cols: int = 1, *, figsize, **options):
    """A new Figure (drawn with Agg) and its Axes, as `pyplot.subplots` gives them."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, **options)


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _margins(fig: Figure, left: float, right: float, bottom: float, top: float, **spacing):
    """Subplot margins in inches. `tight_layout` measures every text by drawing the figure
    once more: ~0.08 s of a 0.2 s cluster mosaic or of a 0.16 s loss chart."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        **spacing,
    )


def sample_figure(image: np.ndarray, latent: np.ndarray, title: str) -> Figure:
    """The study's figure A: one original beside its latent."""
    fig, (left, right) = _subplots(1, 2, figsize=(8, 4))
    left.imshow(image, cmap="Greys")
    left.set_title("original")
    right.imshow(latent_grid(latent), cmap="Greys")
    right.set_title(f"latent ({latent.size} values)")
    for ax in (left, right):
        _blank(ax)
    fig.suptitle(title)
    _margins(fig, left=0.1, right=0.1, bottom=0.1, top=0.8, wspace=0.1)
    return fig


@functools.cache
def _colormap(name: str):
    """A named colormap, looked up once (each lookup by name copies it, which is slow)."""
    return matplotlib.colormaps[name]


def _tile(image: np.ndarray, cmap: str, side: int) -> np.ndarray:
    """`image` scaled to its own min..max (as imshow does), coloured with `cmap` and
    resized (nearest neighbour) to side x side RGB."""
    values = image.astype(np.float64)
    low, high = values.min(), values.max()
    norm = (values - low) / (high - low) if high > low else np.zeros_like(values)
    rows = np.arange(side) * values.shape[0] // side
    cols = np.arange(side) * values.shape[1] // side
    return _colormap(cmap)(norm[np.ix_(rows, cols)])[..., :3]


def _mosaic_figure(
    tiles: list[list[np.ndarray]], labels: list[str], width: int, title: str, figsize
) -> Figure:
    """Rows of side x side RGB tiles as one image on white (a row may be shorter than
    `width`), each row named by its label: one Axes however many tiles, so it stays fast."""
    side = tiles[0][0].shape[0] if tiles and tiles[0] else 1
    gap = 2
    step = side + gap
    mosaic = np.ones((len(tiles) * step, width * step, 3))
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            mosaic[r * step : r * step + side, c * step : c * step + side] = tile
    fig, ax = _subplots(figsize=figsize)
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_yticks(np.arange(len(labels)) * step + side / 2, labels, fontsize=7)
    ax.set_xticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)
    # the labels' width: ~0.6 em a character at 7 points, and the ticks' padding
    label_width = max((len(label) for label in labels), default=0) * 0.6 * 7 / 72
    _margins(fig, left=label_width + 0.15, right=0.1, bottom=0.1, top=0.4)
    return fig


def cluster_members_figure(
    images: np.ndarray, latents: np.ndarray, cluster_ids: np.ndarray, title: str
) -> Figure:
    """The study's figure B as one image: for each cluster k, a row of up to 10 member
    originals (`bone`, labelled "k-original") over a row of their latents (`Greys`,
    "k-latent")."""
    side = images.shape[1]
    tiles, labels = [], []
    for k in np.unique(cluster_ids):
        members = np.flatnonzero(cluster_ids == k)[:PER_CLUSTER]
        tiles.append([_tile(images[m], "bone", side) for m in members])
        tiles.append([_tile(latent_grid(latents[m]), "Greys", side) for m in members])
        labels += [f"{k}-original", f"{k}-latent"]
    figsize = (PER_CLUSTER * 0.6 + 1, len(labels) * 0.6 + 0.6)
    return _mosaic_figure(tiles, labels, PER_CLUSTER, title, figsize)


def reconstructions_figure(
    images: np.ndarray, reconstructions: np.ndarray, title: str, count: int = 10
) -> Figure:
    """The first `count` originals (top row) over the model's reconstructions (bottom row),
    each scaled to its own min..max in `Greys`."""
    count = min(count, len(images))
    side = images.shape[1]
    tiles = [
        [_tile(images[i], "Greys", side) for i in range(count)],
        [_tile(reconstructions[i], "Greys", side) for i in range(count)],
    ]
    figsize = (count * 1.0 + 1, 2.6)
    return _mosaic_figure(tiles, ["original", "reconstructed"], count, title, figsize)


def loss_figure(losses: dict[str, list[float]]) -> Figure:
    """Training loss per epoch, one line per model (log scale)."""
    fig, ax = _subplots(figsize=(7, 4))
    for name, values in losses.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("training loss")
    _margins(fig, left=0.8, right=0.15, bottom=0.55, top=0.35)
    return fig


@functools.cache
def _digit_outlines(size: float) -> tuple[dict[str, Path], dict[str, float], float]:
    """The outlines of "0".."9" at `size` points in the default font, their advances
    (points) and the middle of their height (points above the baseline)."""
    prop = FontProperties(size=size)
    outlines = {d: TextPath((0, 0), d, prop=prop) for d in "0123456789"}
    # a digit's advance: how far its copy in "dd" lies right of the first
    advances = {
        d: TextPath((0, 0), d + d, prop=prop).get_extents().x1 - outline.get_extents().x1
        for d, outline in outlines.items()
    }
    extents = outlines["0"].get_extents()
    return outlines, advances, (extents.y0 + extents.y1) / 2


def _number_outline(number: int, size: float) -> Path:
    """`number` written as one outline (points) centred on (0, 0)."""
    outlines, advances, middle = _digit_outlines(size)
    text = str(number)
    x = -sum(advances[d] for d in text) / 2
    parts = []
    for d in text:
        parts.append(outlines[d].transformed(Affine2D().translate(x, -middle)))
        x += advances[d]
    return Path.make_compound_path(*parts)


def _cell_counts(ax, counts: np.ndarray, size: float) -> None:
    """Each count written in the middle of its cell (white on the darker half of the
    colour scale), all of them one collection of outlines. As one text each, the ~700
    counts of the default report made the grid 0.73 s to draw; this way 0.37 s."""
    fig = ax.get_figure()
    numbers: dict[int, Path] = {}
    paths, centres, colours = [], [], []
    dark = counts.max() / 2
    for (r, c), v in np.ndenumerate(counts):
        if v not in numbers:
            numbers[v] = _number_outline(int(v), size)
        paths.append(numbers[v])
        centres.append((c, r))
        colours.append("white" if v > dark else "black")
    ax.add_collection(
        PathCollection(
            paths,
            offsets=centres,
            offset_transform=ax.transData,
            # points -> pixels at whatever dpi the figure is saved at
            transform=Affine2D().scale(1 / 72) + fig.dpi_scale_trans,
            facecolors=colours,
            edgecolors="none",
        ),
        autolim=False,
    )


def confusion_figure(tables: dict[str, tuple[np.ndarray, list[int], list[int]]]) -> Figure:
    """Cluster x digit counts per run; `tables[name] = (counts, cluster_order, digits)`
    with rows already ordered so that matched clusters sit on the diagonal."""
    n = len(tables)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = _subplots(rows, cols, figsize=(4.6 * cols, 4.2 * rows), squeeze=False)
    for ax, (name, (counts, clusters, digits)) in zip(axes.flat, tables.items(), strict=False):
        ax.imshow(counts, cmap="Blues")
        _cell_counts(ax, counts, size=6)
        ax.set_xticks(range(len(digits)), digits)
        ax.set_yticks(range(len(clusters)), clusters)
        ax.set_xlabel("digit")
        ax.set_ylabel("cluster")
        ax.set_title(name)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    _margins(fig, left=0.65, right=0.15, bottom=0.6, top=0.35, wspace=0.3, hspace=0.35)
    return fig


def projection_figure(points: dict[str, np.ndarray], digit_labels: np.ndarray) -> Figure:
    """2-D projections (name -> (n, 2)) coloured by digit, one panel per run."""
    n = len(points)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = _subplots(rows, cols, figsize=(4.6 * cols, 4.2 * rows), squeeze=False)
    for ax, (name, xy) in zip(axes.flat, points.items(), strict=False):
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=digit_labels, cmap="tab10", s=3, alpha=0.7)
        ax.set_title(f"{name} (PCA)")
        _blank(ax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(sc, ax=axes.ravel().tolist(), label="digit", ticks=range(10))
    return fig


def comparison_figure(metrics: dict[str, dict[str, float]], keys=("acc", "nmi", "ari")) -> Figure:
    """ACC / NMI / ARI of each run side by side."""
    names = list(metrics)
    x = np.arange(len(names))
    width = 0.8 / len(keys)
    fig, ax = _subplots(figsize=(1.6 * len(names) + 3, 4))
    for i, key in enumerate(keys):
        values = [metrics[n][key] for n in names]
        bars = ax.bar(x + (i - (len(keys) - 1) / 2) * width, values, width, label=key.upper())
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title("clustering against the digit labels")
    ax.legend()
    _margins(fig, left=0.7, right=0.15, bottom=0.5, top=0.35)
    return fig
