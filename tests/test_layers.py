"""Each fast layer computes the stock Keras layer's function (`PhaseDecoder2D`: the
stock transposed conv, then the stock conv): same output, same gradients (input and
weights), and it survives a .keras save/load with safe_mode."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import layers  # noqa: E402

from aeclust.nets.layers import (  # noqa: E402
    BandedConv2D,
    PhaseDecoder2D,
    SeparableMaxPooling2D,
    _gather_shifts,
    _scatter_shifts,
)

RTOL, ATOL = 1e-5, 1e-5


def stock_decoder(
    filters,
    kernel_size,
    strides,
    activation=None,
    out_filters=1,
    out_kernel_size=3,
    out_activation=None,
    use_bias=True,
):
    """What `PhaseDecoder2D` computes, in stock layers."""
    return keras.Sequential(
        [
            layers.Conv2DTranspose(
                filters, kernel_size, strides, "same", activation=activation, use_bias=use_bias
            ),
            layers.Conv2D(
                out_filters,
                out_kernel_size,
                padding="same",
                activation=out_activation,
                use_bias=use_bias,
            ),
        ]
    )


# (fast class, stock class, constructor kwargs, input shape without the batch)
CASES = {
    # the study's layers
    "pool_5x5_s1": (
        SeparableMaxPooling2D,
        layers.MaxPooling2D,
        dict(pool_size=5, strides=1),
        (28, 28, 10),
    ),
    "decoder_study": (
        PhaseDecoder2D,
        stock_decoder,
        dict(filters=10, kernel_size=4, strides=2, activation="relu", out_kernel_size=4),
        (14, 14, 1),
    ),
    "conv_study": (
        BandedConv2D,
        layers.Conv2D,
        dict(filters=10, kernel_size=5, padding="same", activation="relu"),
        (28, 28, 1),
    ),
    # other configurations: fast paths and fallbacks
    "conv_4x3_same_2ch": (
        BandedConv2D,
        layers.Conv2D,
        dict(filters=3, kernel_size=(4, 3), padding="same", activation="sigmoid"),
        (7, 9, 2),
    ),
    "conv_3x2_valid_nobias": (
        BandedConv2D,
        layers.Conv2D,
        dict(filters=2, kernel_size=(3, 2), padding="valid", use_bias=False),
        (6, 5, 3),
    ),
    "conv_stride_2_fallback": (
        BandedConv2D,
        layers.Conv2D,
        dict(filters=4, kernel_size=3, strides=2, padding="same"),
        (8, 8, 2),
    ),
    "pool_3x2_s2_same": (
        SeparableMaxPooling2D,
        layers.MaxPooling2D,
        dict(pool_size=(3, 2), strides=2, padding="same"),
        (9, 8, 3),
    ),
    "pool_1x4_valid": (
        SeparableMaxPooling2D,
        layers.MaxPooling2D,
        dict(pool_size=(1, 4), strides=1),
        (6, 9, 2),
    ),
    "pool_4x3_s_2x1_same": (
        SeparableMaxPooling2D,
        layers.MaxPooling2D,
        dict(pool_size=(4, 3), strides=(2, 1), padding="same"),
        (7, 10, 4),
    ),
    "decoder_5x5_s2_then_3x3": (
        PhaseDecoder2D,
        stock_decoder,
        dict(
            filters=3,
            kernel_size=5,
            strides=2,
            activation="sigmoid",
            out_filters=2,
            out_kernel_size=3,
            out_activation="tanh",
        ),
        (6, 7, 2),
    ),
    "decoder_s3_then_2x5_nobias": (
        PhaseDecoder2D,
        stock_decoder,
        dict(
            filters=2,
            kernel_size=3,
            strides=3,
            out_filters=2,
            out_kernel_size=(2, 5),
            use_bias=False,
        ),
        (5, 4, 3),
    ),
    "decoder_then_1x1": (
        PhaseDecoder2D,
        stock_decoder,
        dict(filters=2, kernel_size=4, strides=2, out_filters=3, out_kernel_size=1),
        (5, 4, 3),
    ),
    "decoder_softmax_fallback": (
        PhaseDecoder2D,
        stock_decoder,
        dict(filters=3, kernel_size=4, strides=2, activation="softmax", out_filters=2),
        (5, 5, 2),
    ),
    "decoder_stride_over_kernel_fallback": (
        PhaseDecoder2D,
        stock_decoder,
        dict(filters=2, kernel_size=2, strides=3, out_filters=2),
        (4, 5, 1),
    ),
}


def relu_inputs(shape, seed=0):
    """Inputs like the layers see after a relu: many exact zeros, and values on a
    coarse grid so that windows hold tied maxima."""
    rng = np.random.default_rng(seed)
    return np.maximum(np.round(rng.normal(size=shape) * 4) / 4, 0).astype("float32")


def twin_layers(case):
    """The fast and the stock layer, built, with the same random (non-zero) weights."""
    fast_cls, stock_cls, kwargs, shape = CASES[case]
    fast, stock = fast_cls(**kwargs), stock_cls(**kwargs)
    fast.build((None, *shape))
    stock.build((None, *shape))
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") for w in stock.weights]
    stock.set_weights(weights)
    fast.set_weights(weights)
    return fast, stock, shape


def gradients(layer, x, upstream):
    """d sum(layer(x) * upstream) / d (x, *weights), on the active backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * upstream)
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        return [np.asarray(g) for g in grads]
    if backend == "jax":
        import jax

        def loss(x, weights):
            outputs, _ = layer.stateless_call(weights, [], x)
            return (outputs * upstream).sum()

        weights = [v.value for v in layer.trainable_variables]
        dx, dweights = jax.grad(loss, argnums=(0, 1))(x, weights)
        return [np.asarray(dx), *(np.asarray(g) for g in dweights)]
    pytest.skip(f"no gradient check written for the {backend} backend")


@pytest.mark.parametrize("case", list(CASES))
def test_same_output(case):
    fast, stock, shape = twin_layers(case)
    x = relu_inputs((3, *shape))
    expected = keras.ops.convert_to_numpy(stock(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fast(x)), expected, RTOL, ATOL)
    assert tuple(fast.compute_output_shape((3, *shape))) == expected.shape


@pytest.mark.parametrize("case", list(CASES))
def test_same_gradients(case):
    fast, stock, shape = twin_layers(case)
    x = relu_inputs((3, *shape), seed=2)
    out_shape = stock.compute_output_shape((3, *shape))
    upstream = np.random.default_rng(3).normal(size=out_shape).astype("float32")
    for got, want in zip(gradients(fast, x, upstream), gradients(stock, x, upstream), strict=True):
        # A weight's gradient sums many products: compare at the scale of the largest.
        np.testing.assert_allclose(got, want, RTOL, ATOL * max(1.0, np.abs(want).max()))


def test_pool_gradient_ties_go_where_stock_sends_them():
    """A window of equal maxima: the whole gradient goes to the same single element."""
    fast, stock, _ = twin_layers("pool_5x5_s1")
    x = np.zeros((1, 28, 28, 10), "float32")
    x[0, 3:9, 4:10, :] = 1.0  # plateaus much larger than one element
    upstream = np.ones((1, 24, 24, 10), "float32")
    np.testing.assert_array_equal(gradients(fast, x, upstream)[0], gradients(stock, x, upstream)[0])


@pytest.mark.parametrize("case", [case for case in CASES if case.startswith("pool")])
def test_pool_is_exact(case):
    """A max is exact, and so is its gradient up to the order of its sums: the pool
    matches the stock 2-D pool bit for bit, and its gradient matches the stock (1, pw)
    pool then the stock (ph, 1) pool (its own order of sums) bit for bit, whatever views
    and transposes it computes through."""
    fast, stock, shape = twin_layers(case)
    kwargs = CASES[case][2]
    (ph, pw), (sh, sw) = fast.pool_size, fast.strides
    padding = kwargs.get("padding", "valid")
    rows_then_columns = keras.Sequential(
        [
            layers.MaxPooling2D((1, pw), (1, sw), padding),
            layers.MaxPooling2D((ph, 1), (sh, 1), padding),
        ]
    )
    rows_then_columns.build((None, *shape))
    x = relu_inputs((3, *shape), seed=4)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(fast(x)), keras.ops.convert_to_numpy(stock(x))
    )
    upstream = np.random.default_rng(5).normal(size=stock.compute_output_shape(x.shape))
    upstream = upstream.astype("float32")
    np.testing.assert_array_equal(
        gradients(fast, x, upstream)[0], gradients(rows_then_columns, x, upstream)[0]
    )


def test_decoder_starts_from_the_stock_layers_weights():
    """PhaseDecoder2D holds the transposed conv's kernel and bias, then the conv's, made
    with the same initialisers in the same order: the same seed, the same start."""
    fast_cls, stock_cls, kwargs, shape = CASES["decoder_study"]
    built = []
    for cls in (fast_cls, stock_cls):
        keras.utils.set_random_seed(7)
        layer = cls(**kwargs)
        layer.build((None, *shape))
        built.append([keras.ops.convert_to_numpy(w) for w in layer.weights])
    fast, stock = built
    assert [w.shape for w in fast] == [(4, 4, 10, 1), (10,), (4, 4, 10, 1), (1,)]
    assert np.abs(fast[0]).max() > 0 and np.abs(fast[2]).max() > 0
    for fast_w, stock_w in zip(fast, stock, strict=True):
        np.testing.assert_array_equal(fast_w, stock_w)


def test_round_trip_through_keras_file(tmp_path):
    """A model of the fast layers saves to .keras and loads back with safe_mode=True,
    to the same classes and the same outputs."""
    inputs = keras.Input((28, 28, 1))
    x = BandedConv2D(10, 5, padding="same", activation="relu", name="conv")(inputs)
    x = SeparableMaxPooling2D(5, strides=1, name="pool")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(196)(x)
    x = layers.Reshape((14, 14, 1))(x)
    outputs = PhaseDecoder2D(10, 4, 2, "relu", out_kernel_size=4, name="decoder")(x)
    model = keras.Model(inputs, outputs)
    images = relu_inputs((2, 28, 28, 1))
    expected = keras.ops.convert_to_numpy(model(images))

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)

    assert isinstance(loaded.get_layer("conv"), BandedConv2D)
    assert isinstance(loaded.get_layer("pool"), SeparableMaxPooling2D)
    assert isinstance(loaded.get_layer("decoder"), PhaseDecoder2D)
    assert loaded.get_layer("decoder").get_config() == model.get_layer("decoder").get_config()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(images)), expected, RTOL, ATOL)


def test_conv_takes_the_banded_path_where_it_can():
    for case, fast in [
        ("conv_study", True),
        ("conv_4x3_same_2ch", True),
        ("conv_3x2_valid_nobias", True),
        ("conv_stride_2_fallback", False),
    ]:
        layer = BandedConv2D(**CASES[case][2])
        assert (layer._banded_plan((None, *CASES[case][3])) is not None) is fast, case
    wide = BandedConv2D(64, 5, padding="same")  # a 28 x 28 x 64 image: too large a matrix
    assert wide._banded_plan((None, 28, 28, 64)) is None


def test_decoder_takes_the_phase_path_where_it_can():
    for case, fast in [
        ("decoder_study", True),
        ("decoder_s3_then_2x5_nobias", True),
        ("decoder_softmax_fallback", False),
        ("decoder_stride_over_kernel_fallback", False),
    ]:
        assert PhaseDecoder2D(**CASES[case][2])._fast() is fast, case


def test_decoder_of_unknown_image_size_computes_the_same():
    """Without the image size the decoder keeps its phase convs in the image layout."""
    fast, stock, shape = twin_layers("decoder_5x5_s2_then_3x3")
    inputs = keras.Input((None, None, shape[-1]))
    model = keras.Model(inputs, fast(inputs))
    images = relu_inputs((2, *shape))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(images)),
        keras.ops.convert_to_numpy(stock(images)),
        RTOL,
        ATOL,
    )


SHIFTS = [(-2, 1), (0, 0), (1, -1), (3, 2), (0, -4)]


def test_shifted_copies_are_the_image_moved_with_zeros_outside():
    x = np.random.default_rng(4).normal(size=(2, 5, 6, 3)).astype("float32")  # (c, h, w, n)
    copies = keras.ops.convert_to_numpy(_gather_shifts(x, SHIFTS))
    assert copies.shape == (len(SHIFTS), *x.shape)
    for copy, (dy, dx) in zip(copies, SHIFTS, strict=True):
        for i in range(5):
            for j in range(6):
                inside = 0 <= i + dy < 5 and 0 <= j + dx < 6
                want = x[:, i + dy, j + dx] if inside else np.zeros((2, 3), "float32")
                np.testing.assert_array_equal(copy[:, i, j], want)


def test_summing_shifted_copies_is_the_adjoint_of_making_them():
    """<gather(x), y> = <x, scatter(y)>: each one is the other's gradient."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    y = rng.normal(size=(len(SHIFTS), 2, 5, 6, 3)).astype("float32")
    gathered = keras.ops.convert_to_numpy(_gather_shifts(x, SHIFTS)).astype("float64")
    scattered = keras.ops.convert_to_numpy(_scatter_shifts(y, SHIFTS)).astype("float64")
    assert scattered.shape == x.shape
    np.testing.assert_allclose(np.sum(gathered * y), np.sum(x * scattered), rtol=1e-6)


def test_pool_of_unknown_image_size_is_the_stock_pool():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, SeparableMaxPooling2D((3, 2), strides=1)(inputs))
    stock = keras.Model(inputs, layers.MaxPooling2D((3, 2), strides=1)(inputs))
    images = relu_inputs((2, 7, 9, 3))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(images)), keras.ops.convert_to_numpy(stock(images))
    )


def test_compiled_pool_gradient_is_the_eager_one():
    """TensorFlow: inside a compiled step the pool's gradient is the one its ops give
    eagerly, bit for bit, at the study's size (two stock 1-D pools in a row were not:
    TensorFlow's graph rewrite summed their gradient in another order)."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a TensorFlow graph-mode check")
    import tensorflow as tf

    fast, _, shape = twin_layers("pool_5x5_s1")
    x = tf.constant(relu_inputs((300, *shape), seed=6))
    upstream = tf.constant(
        np.random.default_rng(7).normal(size=(300, 24, 24, 10)).astype("float32")
    )

    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(fast(x) * upstream)
        return tape.gradient(loss, x)

    np.testing.assert_array_equal(tf.function(gradient)(x).numpy(), gradient(x).numpy())


def test_pool_keeps_channels_last_whatever_the_global_image_format():
    """The views are channels-last tensors: they must be pooled as such even where
    Keras' global image data format says channels-first."""
    fast, stock, shape = twin_layers("pool_5x5_s1")
    x = relu_inputs((2, *shape))
    expected = keras.ops.convert_to_numpy(stock(x))
    before = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        got = keras.ops.convert_to_numpy(fast(x))
    finally:
        keras.config.set_image_data_format(before)
    np.testing.assert_array_equal(got, expected)
