"""Random small affine distortions of training images, as DEC-DA (Guo et al. 2018) trains
its autoencoders: each epoch sees every image rotated, shifted (and optionally zoomed) a
little, and the autoencoder reconstructs the distorted image. Sampled bilinearly, with the
nearest edge pixel beyond the border (Keras' ImageDataGenerator's default). NumPy, or
JAX for images held on a JAX device.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from aeclust.config import AugmentParams


def random_affine(
    images, rng: np.random.Generator, spec: AugmentParams, xp: Any = np
) -> np.ndarray:
    """A distorted float32 copy of `images`: square images as (n, side, side),
    (n, side, side, 1) or flattened (n, side*side), returned in the same shape.

    Each image is rotated about its centre by an angle uniform in +-`spec.rotation` degrees,
    scaled by a factor uniform in 1 +- `spec.zoom` and shifted by up to +-`spec.shift` of
    its side along each axis (uniform). The draws come from `rng`, in a fixed order.

    `xp`: the array module of `images`: NumPy, or `jax.numpy` for images on a JAX device,
    which are then distorted there (compiled; 70000 MNIST images take ~8 s with NumPy on
    one core). Only the draws, 4 numbers an image, come from the host: the same draws give
    the same images, to float32 rounding.
    """
    n = len(images)
    size = int(np.prod(images.shape))
    side = int(round((size // max(n, 1)) ** 0.5))
    if side * side * n != size or side < 2:
        raise ValueError(f"images of shape {images.shape}: augmentation needs square images")
    angle = np.deg2rad(rng.uniform(-spec.rotation, spec.rotation, n))
    scale = 1.0 + rng.uniform(-spec.zoom, spec.zoom, n)
    shift_y = rng.uniform(-spec.shift, spec.shift, n) * side
    shift_x = rng.uniform(-spec.shift, spec.shift, n) * side
    draws = [
        xp.asarray(v.astype(np.float32))
        for v in (np.cos(angle) / scale, np.sin(angle) / scale, shift_y, shift_x)
    ]
    warp = _warp if xp is np else _jitted_warp(side)
    return warp(images, *draws, side=side, xp=xp)


def _warp(images, cos, sin, shift_y, shift_x, *, side: int, xp: Any):
    """Bilinear sampling of each image at the affine map of its draws (float32)."""
    n = len(images)
    # Output pixel p samples the source at centre + R(angle) (p - centre - shift) / scale.
    centre = (side - 1) / 2.0
    grid = xp.arange(side, dtype=xp.float32) - np.float32(centre)
    yy = xp.repeat(grid, side)[None, :] - shift_y[:, None]
    xx = xp.tile(grid, side)[None, :] - shift_x[:, None]
    cos, sin = cos[:, None], sin[:, None]
    source_y = xp.clip(cos * yy - sin * xx + np.float32(centre), 0, side - 1)
    source_x = xp.clip(sin * yy + cos * xx + np.float32(centre), 0, side - 1)
    y0 = xp.minimum(source_y.astype(xp.int32), side - 2)  # floor: the values are >= 0
    x0 = xp.minimum(source_x.astype(xp.int32), side - 2)
    fy = source_y - y0.astype(xp.float32)
    fx = source_x - x0.astype(xp.float32)
    flat = xp.asarray(images.reshape(n, side * side), dtype=xp.float32)
    corner = y0 * side + x0 + (xp.arange(n, dtype=xp.int32) * (side * side))[:, None]
    pixels = flat.ravel()
    top = pixels[corner] * (1 - fx) + pixels[corner + 1] * fx
    bottom = pixels[corner + side] * (1 - fx) + pixels[corner + side + 1] * fx
    return (top * (1 - fy) + bottom * fy).reshape(images.shape)


@functools.cache
def _jitted_warp(side: int):
    import jax

    return jax.jit(_warp, static_argnames=("side", "xp"))
