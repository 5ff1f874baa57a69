"""The report's mosaic figures: one Axes, every tile where its row and column say."""

import numpy as np

from aeclust.report import figures


def test_reconstructions_are_one_mosaic_of_originals_over_reconstructions():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28)).astype(np.uint8)
    reconstructions = rng.random((12, 28, 28)).astype(np.float32)
    fig = figures.reconstructions_figure(images, reconstructions, "t", count=10)
    assert len(fig.axes) == 1
    mosaic = fig.axes[0].get_images()[0].get_array()
    step = 28 + 2
    assert mosaic.shape == (2 * step, 10 * step, 3)
    np.testing.assert_allclose(
        mosaic[:28, 3 * step : 3 * step + 28], figures._tile(images[3], "Greys", 28)
    )
    np.testing.assert_allclose(
        mosaic[step : step + 28, 9 * step : 9 * step + 28],
        figures._tile(reconstructions[9], "Greys", 28),
    )
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["original", "reconstructed"]


def test_cluster_members_rows_hold_only_that_clusters_members():
    images = np.stack([np.full((28, 28), k * 20, dtype=np.uint8) for k in range(12)])
    images[:, 0, 0] = 255  # each image has a range, so its tile is not blank
    cluster_ids = np.array([0, 1, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2])
    latents = np.arange(12 * 4, dtype=np.float32).reshape(12, 4)
    fig = figures.cluster_members_figure(images, latents, cluster_ids, "t")
    mosaic = fig.axes[0].get_images()[0].get_array()
    step = 30
    assert mosaic.shape == (3 * 2 * step, figures.PER_CLUSTER * step, 3)
    for row, k in enumerate([0, 1, 2]):
        members = np.flatnonzero(cluster_ids == k)
        for col, member in enumerate(members):
            tile = mosaic[2 * row * step : 2 * row * step + 28, col * step : col * step + 28]
            np.testing.assert_allclose(tile, figures._tile(images[member], "bone", 28))
        blank = mosaic[2 * row * step : 2 * row * step + 28, len(members) * step :]
        assert (blank == 1).all()  # a cluster of fewer than 10 leaves white


def in_view(tick_labels, limits, axis):
    """The tick labels matplotlib draws: those whose tick lies within the axis' limits."""
    low, high = sorted(limits)
    return [t for t in tick_labels if low <= t.get_position()[axis] <= high]


def test_fixed_margins_keep_every_label_and_title_inside_the_figure():
    # The mosaics and figure A are laid out with margins in inches, not tight_layout.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28)).astype(np.uint8)
    latents = rng.random((40, 196)).astype(np.float32)
    cluster_ids = np.arange(40) % 12  # two-digit clusters: "11-original", the widest label
    runs = ["raw", "ffn", "cnn", "ffn+dec", "ffn+manifold", "cnn+dec", "cnn+manifold"]
    scores = {run: {"acc": 0.97, "nmi": 0.93, "ari": 0.9} for run in runs}
    losses = {"ffn": list(np.geomspace(0.8, 0.2, 500)), "cnn": list(np.geomspace(0.2, 1e-3, 500))}
    drawn = [
        figures.cluster_members_figure(images, latents, cluster_ids, "cnn+manifold: clusters"),
        figures.reconstructions_figure(images, latents.reshape(40, 14, 14), "ffn", count=10),
        figures.sample_figure(images[0], latents[0], "cnn: image 0"),
        figures.loss_figure(losses),
        figures.comparison_figure(scores),
    ]
    for fig in drawn:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        texts = list(fig.texts)  # the suptitle
        for ax in fig.axes:
            texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
            texts += [*in_view(ax.get_xticklabels(), ax.get_xlim(), 0), *ax.texts]
            texts += in_view(ax.get_yticklabels(), ax.get_ylim(), 1)
            if ax.get_legend() is not None:
                texts += ax.get_legend().get_texts()
            extent = ax.get_window_extent(renderer)
            assert box.x0 <= extent.x0 and extent.x1 <= box.x1
            assert box.y0 <= extent.y0 and extent.y1 <= box.y1
        for text in texts:
            if text.get_text():
                extent = text.get_window_extent(renderer)
                assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()
                assert box.y0 <= extent.y0 and extent.y1 <= box.y1, text.get_text()


def test_count_grid_writes_each_count_centred_in_its_cell():
    counts = np.array([[239, 0, 7], [12, 1005, 3]])
    fig = figures.confusion_figure({"ffn": (counts, [4, 9], [0, 1, 2])})
    (collection,) = fig.axes[0].collections
    paths = collection.get_paths()
    assert len(paths) == counts.size
    # row by row, one outline per cell, at the cell's (column, row) centre
    assert collection.get_offsets().tolist() == [[c, r] for r in range(2) for c in range(3)]
    widths = [p.get_extents().width for p in paths]
    advance = widths[counts.size - 2] - widths[2]  # "1005" - "7": three digits more
    assert 0.4 * 6 < advance / 3 < 0.8 * 6  # a digit at 6 points: 0.4-0.8 em
    for path, v in zip(paths, counts.flat, strict=True):
        extent = path.get_extents()
        assert abs(extent.x0 + extent.x1) < 0.5 and abs(extent.y0 + extent.y1) < 0.5  # centred
        digits = len(str(v))
        assert (digits - 1) * advance / 3 < extent.width < digits * advance / 3 + 1
    colours = collection.get_facecolors()[:, :3].tolist()
    white = [c == [1.0, 1.0, 1.0] for c in colours]
    assert white == [v > counts.max() / 2 for v in counts.flat]  # light on dark cells only
