import numpy as np
from sklearn.preprocessing import StandardScaler

from aeclust.data.scaling import unit_range, zscore_per_image


def test_zscore_per_image_matches_the_study():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    expected = StandardScaler().fit_transform(images.reshape(20, -1).T.astype(float)).T
    scaled = zscore_per_image(images)
    assert scaled.shape == (20, 28, 28) and scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.reshape(20, -1), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scaled.reshape(20, -1).mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(scaled.reshape(20, -1).std(axis=1), 1, atol=1e-5)


def test_constant_image_becomes_zeros_not_nan():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[1] = 255
    images[2, 0, 0] = 10
    scaled = zscore_per_image(images)
    assert np.isfinite(scaled).all()
    assert np.all(scaled[0] == 0) and np.all(scaled[1] == 0)
    assert scaled[2].std() > 0.9


def test_unit_range_is_pixels_over_255():
    images = np.array([[[0, 51], [255, 128]]], dtype=np.uint8)
    scaled = unit_range(images)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, images / 255.0, rtol=1e-6)
