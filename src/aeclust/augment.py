"""Random small affine distortions of training images, as DEC-DA (Guo et al. 2018) trains
its autoencoders: each epoch sees every image rotated, shifted (and optionally zoomed) a
little, and the autoencoder reconstructs the distorted image. Sampled bilinearly, with the
nearest edge pixel beyond the border (Keras' ImageDataGenerator's default). NumPy only.
"""

from __future__ import annotations

import numpy as np

from aeclust.config import AugmentParams


def random_affine(images: np.ndarray, rng: np.random.Generator, spec: AugmentParams) -> np.ndarray:
    """A distorted float32 copy of `images`: square images as (n, side, side),
    (n, side, side, 1) or flattened (n, side*side), returned in the same shape.

    Each image is rotated about its centre by an angle uniform in +-`spec.rotation` degrees,
    scaled by a factor uniform in 1 +- `spec.zoom` and shifted by up to +-`spec.shift` of
    its side along each axis (uniform). The draws come from `rng`, in a fixed order.
    """
    n = len(images)
    side = int(round((images.size // max(n, 1)) ** 0.5))
    if side * side * n != images.size or side < 2:
        raise ValueError(f"images of shape {images.shape}: augmentation needs square images")
    angle = np.deg2rad(rng.uniform(-spec.rotation, spec.rotation, n))
    scale = 1.0 + rng.uniform(-spec.zoom, spec.zoom, n)
    shift_y = rng.uniform(-spec.shift, spec.shift, n) * side
    shift_x = rng.uniform(-spec.shift, spec.shift, n) * side
    # Output pixel p samples the source at centre + R(angle) (p - centre - shift) / scale.
    centre = (side - 1) / 2.0
    grid = np.arange(side, dtype=np.float32) - np.float32(centre)
    yy = np.repeat(grid, side)[None, :] - shift_y[:, None].astype(np.float32)
    xx = np.tile(grid, side)[None, :] - shift_x[:, None].astype(np.float32)
    cos = (np.cos(angle) / scale).astype(np.float32)[:, None]
    sin = (np.sin(angle) / scale).astype(np.float32)[:, None]
    source_y = np.clip(cos * yy - sin * xx + np.float32(centre), 0, side - 1)
    source_x = np.clip(sin * yy + cos * xx + np.float32(centre), 0, side - 1)
    y0 = np.minimum(source_y.astype(np.int32), side - 2)  # floor: the values are >= 0
    x0 = np.minimum(source_x.astype(np.int32), side - 2)
    fy = source_y - y0.astype(np.float32)
    fx = source_x - x0.astype(np.float32)
    flat = images.reshape(n, side * side).astype(np.float32, copy=False)
    corner = y0 * side + x0 + (np.arange(n, dtype=np.int32) * (side * side))[:, None]
    pixels = flat.ravel()
    top = pixels[corner] * (1 - fx) + pixels[corner + 1] * fx
    bottom = pixels[corner + side] * (1 - fx) + pixels[corner + side + 1] * fx
    return (top * (1 - fy) + bottom * fy).reshape(images.shape)
