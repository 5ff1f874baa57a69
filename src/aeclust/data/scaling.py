"""The two input scalings of the study.

Both take uint8 images (n, h, w) and return float32 arrays of the same shape.
"""

from __future__ import annotations

import numpy as np


def zscore_per_image(images: np.ndarray) -> np.ndarray:
    """Standardise each image over its own pixels (the study's
    ``StandardScaler().fit_transform(X.T).T``): mean 0, population std 1.

    A constant image (all zeros, say) has std 0; like StandardScaler, which then
    divides by 1, it becomes all zeros rather than NaN.
    """
    flat = images.reshape(len(images), -1).astype(np.float64)
    mean = flat.mean(axis=1, keepdims=True)
    std = flat.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return ((flat - mean) / std).astype(np.float32).reshape(images.shape)


def unit_range(images: np.ndarray) -> np.ndarray:
    """Pixels / 255, in [0, 1]."""
    return (images.astype(np.float32) / np.float32(255.0)).reshape(images.shape)


SCALERS = {"zscore_per_image": zscore_per_image, "unit_range": unit_range}
