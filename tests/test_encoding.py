"""aeclust.nets.encoding: predictions batch by batch, as Keras' predict makes them."""

import keras
import numpy as np
import pytest

from aeclust.nets.encoding import predict


def two_outputs() -> keras.Model:
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(4, activation="relu")(inputs)
    return keras.Model(inputs, [keras.layers.Softmax()(hidden), keras.layers.Dense(6)(hidden)])


@pytest.mark.parametrize("rows", [25, 30, 7])
def test_predict_gives_keras_predict_exactly(rows):
    keras.utils.set_random_seed(3)
    model = two_outputs()
    x = np.random.default_rng(rows).normal(size=(rows, 6)).astype(np.float32)
    ours = predict(model, x, batch_size=10)
    theirs = model.predict(x, batch_size=10, verbose=0)
    assert isinstance(ours, list) and len(ours) == 2
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    single = keras.Model(model.inputs, model.outputs[1])
    np.testing.assert_array_equal(
        predict(single, x, batch_size=10), single.predict(x, batch_size=10, verbose=0)
    )
