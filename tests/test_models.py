import numpy as np
import pytest

keras = pytest.importorskip("keras")

from aeclust.config import ConvParams, DenseParams  # noqa: E402
from aeclust.nets.models import (  # noqa: E402
    build_autoencoder,
    encoder_of,
    load_model,
    model_inputs,
    save_model,
)

DENSE = DenseParams("dense", "zscore_per_image", (256, 100), "relu", False, 0.01, 1, 300)
CONV = ConvParams("conv", "unit_range", 10, 5, 5, (14, 14), "relu", 0.005, 1, 300)


def shapes(model):
    return {layer.name: tuple(layer.output.shape) for layer in model.layers}


def test_dense_autoencoder_is_784_256_100_256_784():
    model = build_autoencoder(DENSE, 28)
    s = shapes(model)
    assert s["image"] == (None, 784)
    assert s["encoder_0"] == (None, 256) and s["latent"] == (None, 100)
    assert s["decoder_0"] == (None, 256) and s["reconstruction"] == (None, 784)
    assert model.get_layer("latent").activation.__name__ == "relu"
    assert model.get_layer("reconstruction").activation.__name__ == "linear"
    assert model.count_params() == (784 * 256 + 256) + (256 * 100 + 100) + (100 * 256 + 256) + (
        256 * 784 + 784
    )


def test_dense_linear_latent_variant_adds_a_linear_layer():
    model = build_autoencoder(DenseParams(**{**DENSE.__dict__, "linear_latent": True}), 28)
    s = shapes(model)
    assert s["encoder_1"] == (None, 100) and s["latent"] == (None, 100)
    assert model.get_layer("encoder_1").activation.__name__ == "relu"
    assert model.get_layer("latent").activation.__name__ == "linear"


def test_dense_latent_activation_sets_only_the_latent_layer():
    changes = {"units": (500, 500, 2000, 10), "latent_activation": "linear"}
    spec = DenseParams(**{**DENSE.__dict__, **changes})
    model = build_autoencoder(spec, 28)
    s = shapes(model)
    assert [s[f"encoder_{i}"] for i in range(3)] == [(None, 500), (None, 500), (None, 2000)]
    assert s["latent"] == (None, 10) and s["decoder_0"] == (None, 2000)
    assert model.get_layer("latent").activation.__name__ == "linear"
    assert {model.get_layer(f"encoder_{i}").activation.__name__ for i in range(3)} == {"relu"}


def test_conv_autoencoder_shapes_24x24x10_to_5760_to_14x14():
    model = build_autoencoder(CONV, 28)
    s = shapes(model)
    assert s["encoder_conv"] == (None, 28, 28, 10)
    assert s["encoder_pool"] == (None, 24, 24, 10)
    assert s["encoder_flatten"] == (None, 5760)
    assert s["latent"] == (None, 196) and s["latent_map"] == (None, 14, 14, 1)
    if keras.backend.backend() == "tensorflow":  # both decoder layers as one
        assert s["decoder"] == (None, 28, 28, 1)
        decoder = model.get_layer("decoder")
        assert (decoder.filters, decoder.kernel_size, decoder.strides) == (10, (4, 4), (2, 2))
        assert (decoder.out_filters, decoder.out_kernel_size) == (1, (4, 4))
        assert decoder.activation.__name__ == "relu"
        assert decoder.out_activation.__name__ == "linear"
    else:
        assert s["decoder_deconv"] == (None, 28, 28, 10)
        assert s["reconstruction"] == (None, 28, 28, 1)
    # the study's weights: conv 5x5 1 -> 10, Dense 5760 -> 196, transposed conv 4x4
    # 1 -> 10, conv 4x4 10 -> 1, each with its bias
    assert [tuple(w.shape) for w in model.weights] == [
        (5, 5, 1, 10),
        (10,),
        (5760, 196),
        (196,),
        (4, 4, 10, 1),
        (10,),
        (4, 4, 10, 1),
        (1,),
    ]
    assert model.get_layer("latent").activation.__name__ == "linear"


def test_conv_autoencoder_for_32x32_images_has_a_16x16_latent():
    spec = ConvParams(**{**CONV.__dict__, "latent_shape": (16, 16)})
    model = build_autoencoder(spec, 32)
    s = shapes(model)
    assert s["encoder_flatten"] == (None, 28 * 28 * 10) and s["latent_map"] == (None, 16, 16, 1)
    assert tuple(model.output.shape) == (None, 32, 32, 1)


def test_model_inputs_shapes():
    images = np.zeros((5, 28, 28), np.float32)
    assert model_inputs(images, DENSE).shape == (5, 784)
    assert model_inputs(images, CONV).shape == (5, 28, 28, 1)


@pytest.mark.parametrize("spec", [DENSE, CONV])
def test_saved_model_reloads_safely_with_the_same_encoder(tmp_path, spec):
    model = build_autoencoder(spec, 28)
    path = tmp_path / "model.keras"
    model.compile(optimizer="adam", loss="mse")
    save_model(model, path)
    again = load_model(path)
    x = model_inputs(np.random.default_rng(0).random((4, 28, 28), dtype=np.float32), spec)
    np.testing.assert_allclose(
        encoder_of(again).predict(x, verbose=0), encoder_of(model).predict(x, verbose=0), rtol=1e-6
    )
    # Same weights, same bytes, whether saved now or later, from the model or its reload.
    save_model(again, tmp_path / "again.keras")
    assert (tmp_path / "again.keras").read_bytes() == path.read_bytes()
