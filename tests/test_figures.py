"""The report's mosaic figures: one Axes, every tile where its row and column say."""

import numpy as np

from aeclust import figures


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


def test_fixed_margins_keep_every_label_and_title_inside_the_figure():
    # The mosaics and figure A are laid out with margins in inches, not tight_layout.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28)).astype(np.uint8)
    latents = rng.random((40, 196)).astype(np.float32)
    cluster_ids = np.arange(40) % 12  # two-digit clusters: "11-original", the widest label
    drawn = [
        figures.cluster_members_figure(images, latents, cluster_ids, "cnn+manifold: clusters"),
        figures.reconstructions_figure(images, latents.reshape(40, 14, 14), "ffn", count=10),
        figures.sample_figure(images[0], latents[0], "cnn: image 0"),
    ]
    for fig in drawn:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        texts = list(fig.texts)  # the suptitle
        for ax in fig.axes:
            texts += [ax.title, *ax.get_yticklabels()]
            extent = ax.get_window_extent(renderer)
            assert box.x0 <= extent.x0 and extent.x1 <= box.x1
            assert box.y0 <= extent.y0 and extent.y1 <= box.y1
        for text in texts:
            if text.get_text():
                extent = text.get_window_extent(renderer)
                assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()
                assert box.y0 <= extent.y0 and extent.y1 <= box.y1, text.get_text()
