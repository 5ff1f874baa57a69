import numpy as np
import pytest
from scipy import ndimage

from aeclust.config import AugmentParams
from aeclust.data.augment import random_affine


def digits(n=6, side=12, seed=0):
    """Blobs off centre, so that rotation, shift and zoom all move pixels."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, side, side), np.float32)
    images[:, 2:7, 3:9] = rng.random((n, 5, 6), dtype=np.float32)
    return images


def test_no_distortion_returns_the_images():
    images = digits()
    out = random_affine(images, np.random.default_rng(0), AugmentParams(0, 0, 0))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, images)


def test_each_image_is_the_affine_map_scipy_computes():
    """Rotation about the centre, zoom and shift as drawn (in that order) from the
    generator, bilinear with the nearest edge pixel outside: scipy.ndimage's affine
    transform (order 1, mode nearest) with the same matrix gives the same pixels."""
    images, spec = digits(), AugmentParams(rotation=30, shift=0.2, zoom=0.3)
    out = random_affine(images, np.random.default_rng(4), spec)
    draws = np.random.default_rng(4)
    n, side = len(images), images.shape[1]
    angle = np.deg2rad(draws.uniform(-30, 30, n))
    scale = 1 + draws.uniform(-0.3, 0.3, n)
    shift = np.stack([draws.uniform(-0.2, 0.2, n), draws.uniform(-0.2, 0.2, n)], 1) * side
    centre = np.full(2, (side - 1) / 2)
    for i in range(n):
        cos, sin = np.cos(angle[i]) / scale[i], np.sin(angle[i]) / scale[i]
        matrix = np.array([[cos, -sin], [sin, cos]])
        offset = centre - matrix @ (centre + shift[i])
        expected = ndimage.affine_transform(images[i], matrix, offset, order=1, mode="nearest")
        np.testing.assert_allclose(out[i], expected, atol=1e-5)
    assert not np.allclose(out, images)


def test_the_shape_is_kept_for_dense_and_conv_inputs():
    images = digits()
    spec = AugmentParams()
    flat = random_affine(images.reshape(6, -1), np.random.default_rng(1), spec)
    channel = random_affine(images[..., None], np.random.default_rng(1), spec)
    assert flat.shape == (6, 144) and channel.shape == (6, 12, 12, 1)
    np.testing.assert_array_equal(flat.reshape(6, 12, 12), channel[..., 0])


def test_non_square_images_are_refused():
    with pytest.raises(ValueError, match="square"):
        random_affine(np.zeros((3, 10), np.float32), np.random.default_rng(0), AugmentParams())


@pytest.mark.parametrize("module", ["jax.numpy", "tensorflow.experimental.numpy"])
@pytest.mark.parametrize("shape", [(6, 12, 12), (6, 144), (6, 12, 12, 1)])
def test_a_backends_own_arrays_are_distorted_alike_compiled(module, shape):
    """The same draws give the same images with jax.numpy or TensorFlow's NumPy API
    (compiled by XLA) as with NumPy, to float32 rounding, in the shape given, as an array
    of that backend."""
    xp = pytest.importorskip(module)
    images = digits().reshape(shape)
    spec = AugmentParams(rotation=30, shift=0.2, zoom=0.3)
    expected = random_affine(images, np.random.default_rng(4), spec)
    out = random_affine(xp.asarray(images), np.random.default_rng(4), spec, xp=xp)
    assert type(out) is type(xp.asarray(images))
    assert tuple(out.shape) == shape and out.dtype == xp.float32
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)
    assert not np.allclose(expected, images)


def test_an_array_module_without_a_compiled_version_is_refused():
    import types

    other = types.SimpleNamespace(__name__="cupy", asarray=np.asarray)
    with pytest.raises(ValueError, match="no compiled version for the array module cupy"):
        random_affine(digits(), np.random.default_rng(0), AugmentParams(), xp=other)
