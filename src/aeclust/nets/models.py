"""The study's two autoencoders, built with the Keras 3 functional API.

Each model names its latent layer "latent"; `encoder_of` takes the encoder from a
trained model by that name instead of rebuilding it.
"""

from __future__ import annotations

import json
import zipfile

import keras
from keras import layers

from aeclust.config import ContrastiveParams, ConvParams, DenseParams, ModelParams
from aeclust.io.storage import atomic_path
from aeclust.nets.layers import BandedConv2D, PhaseDecoder2D, SeparableMaxPooling2D


def build_dense(n_pixels: int, spec: DenseParams) -> keras.Model:
    """Input(n_pixels) -> Dense(units...) = latent -> mirrored Dense -> Dense(n_pixels, linear).

    With `linear_latent` (the study's variant 1.3) an extra Dense(units[-1], linear)
    after the last encoder layer is the latent. `latent_activation`, where set, replaces
    `activation` on the latent layer (DEC's 784-500-500-2000-10 has a linear latent).
    """
    inputs = keras.Input(shape=(n_pixels,), name="image")
    x = inputs
    *hidden, latent_size = spec.units
    for i, width in enumerate(hidden):
        x = layers.Dense(width, activation=spec.activation, name=f"encoder_{i}")(x)
    if spec.linear_latent:
        x = layers.Dense(latent_size, activation=spec.activation, name=f"encoder_{len(hidden)}")(x)
        latent = layers.Dense(latent_size, activation="linear", name="latent")(x)
    else:
        latent_activation = spec.latent_activation or spec.activation
        latent = layers.Dense(latent_size, activation=latent_activation, name="latent")(x)
    x = latent
    for i, width in enumerate(reversed(hidden)):
        x = layers.Dense(width, activation=spec.activation, name=f"decoder_{i}")(x)
    outputs = layers.Dense(n_pixels, activation="linear", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="dense_autoencoder")


def build_conv(side: int, spec: ConvParams) -> keras.Model:
    """The study's conv autoencoder for side x side images (side even, latent side/2).

    Defaults (side 28): conv 5x5 -> 28x28x10, max-pool 5x5 stride 1 -> 24x24x10,
    flatten 5760, Dense(196, linear) = latent, reshape 14x14x1, transposed conv
    stride 2 -> 28x28x10, conv 4x4 -> 28x28x1 (linear). On TensorFlow the conv is a
    `BandedConv2D` and the pool a `SeparableMaxPooling2D`, and the last two are one
    layer, "decoder" (`PhaseDecoder2D`): the same functions and weights; on other
    backends they are the stock layers ("decoder_deconv" and "reconstruction").
    """
    h, w = spec.latent_shape
    # On TensorFlow, exact equivalents of stock layers whose CPU kernels are slow for
    # these shapes (see aeclust.nets.layers); elsewhere the stock layers are faster.
    fast = keras.backend.backend() == "tensorflow"
    pool_layer = SeparableMaxPooling2D if fast else layers.MaxPooling2D
    conv_layer = BandedConv2D if fast else layers.Conv2D
    inputs = keras.Input(shape=(side, side, 1), name="image")
    x = conv_layer(
        spec.filters,
        spec.kernel_size,
        strides=1,
        padding="same",
        activation=spec.activation,
        name="encoder_conv",
    )(inputs)  # (n, side, side, filters)
    x = pool_layer(spec.pool_size, strides=1, padding="valid", name="encoder_pool")(x)
    # (n, side - pool + 1, side - pool + 1, filters) -> (n, (side - pool + 1)^2 * filters)
    x = layers.Flatten(name="encoder_flatten")(x)
    latent = layers.Dense(h * w, activation="linear", name="latent")(x)  # (n, h*w)
    x = layers.Reshape((h, w, 1), name="latent_map")(latent)  # (n, h, w, 1)
    deconv = dict(filters=spec.filters, kernel_size=4, strides=2, activation=spec.activation)
    if fast:  # both decoder layers as one, the same function and weights (PhaseDecoder2D)
        outputs = PhaseDecoder2D(
            **deconv, out_filters=1, out_kernel_size=4, out_activation="linear", name="decoder"
        )(x)  # (n, h, w, 1) -> (n, 2h, 2w, 1)
        return keras.Model(inputs, outputs, name="conv_autoencoder")
    x = layers.Conv2DTranspose(**deconv, padding="same", name="decoder_deconv")(x)
    # (n, 2h, 2w, filters) = (n, side, side, filters)
    outputs = layers.Conv2D(1, 4, padding="same", activation="linear", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="conv_autoencoder")


def build_contrastive(side: int, spec: ContrastiveParams) -> keras.Model:
    """A contrastive model's network (no decoder), image -> projection:
    stride-2 ReLU convs ("encoder_conv_<i>", 5x5 same-padded, the last 3x3 valid; side 28
    and filters [32, 64, 128]: 14x14x32, 7x7x64, 3x3x128), flatten, Dense(latent_size,
    linear) = "latent" (what is clustered), then the projection head ("projection_<i>",
    ReLU, and "projection", linear), which only the training loss sees
    (`aeclust.nets.contrastive`)."""
    inputs = keras.Input(shape=(side, side, 1), name="image")
    x = inputs
    last = len(spec.filters) - 1
    for i, filters in enumerate(spec.filters):
        x = layers.Conv2D(
            filters,
            3 if i == last else 5,
            strides=2,
            padding="valid" if i == last else "same",
            activation="relu",
            name=f"encoder_conv_{i}",
        )(x)
    x = layers.Flatten(name="encoder_flatten")(x)
    x = layers.Dense(spec.latent_size, activation="linear", name="latent")(x)
    *hidden, width = spec.projection
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"projection_{i}")(x)
    outputs = layers.Dense(width, activation="linear", name="projection")(x)
    return keras.Model(inputs, outputs, name="contrastive")


def build_autoencoder(spec: ModelParams, side: int) -> keras.Model:
    """The untrained network of a model entry (for a contrastive entry: its network alone,
    which `aeclust.nets.contrastive.build_trainer` wraps to train)."""
    if isinstance(spec, DenseParams):
        return build_dense(side * side, spec)
    if isinstance(spec, ContrastiveParams):
        return build_contrastive(side, spec)
    return build_conv(side, spec)


def is_autoencoder(model: keras.Model) -> bool:
    """Whether `model` reconstructs its input (the study's two kinds), unlike a
    contrastive model's network, whose output is its projection."""
    return model.name != "contrastive"


def model_inputs(images, spec: ModelParams):
    """Scaled images (n, side, side) in the shape the model takes:
    (n, side*side) for dense, (n, side, side, 1) for conv and contrastive."""
    if isinstance(spec, DenseParams):
        return images.reshape(len(images), -1)
    return images[..., None]


def encoder_of(model: keras.Model) -> keras.Model:
    """The trained model's encoder: its input up to the layer named "latent", or, in a
    model made of models (several self-labelling classifiers averaged), the first inner
    model's."""
    names = {layer.name for layer in model.layers}
    if "latent" not in names:
        inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
        if inner:
            return encoder_of(inner[0])
    return keras.Model(model.inputs, model.get_layer("latent").output, name="encoder")


def save_model(model: keras.Model, path) -> None:
    """Save the trained network alone (no optimizer state or compile settings) as a .keras
    file whose bytes depend only on the architecture and weights: the save date is left
    out and the zip entries carry a fixed timestamp, so retraining to the same weights
    gives the same file (and DVC sees nothing changed downstream)."""
    bare = keras.Model.from_config(model.get_config())  # uncompiled: no optimizer state
    bare.set_weights(model.get_weights())
    with atomic_path(path) as tmp:
        bare.save(tmp)
        with zipfile.ZipFile(tmp) as saved:
            entries = [(info, saved.read(info)) for info in saved.infolist()]
        with zipfile.ZipFile(tmp, "w") as clean:
            for info, data in entries:
                if info.filename == "metadata.json":
                    metadata = json.loads(data)
                    metadata.pop("date_saved", None)
                    data = json.dumps(metadata, sort_keys=True).encode()
                fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                fixed.compress_type = info.compress_type
                clean.writestr(fixed, data)


def load_model(path) -> keras.Model:
    """Load a .keras file with safe_mode (no deserialised Python code is run)."""
    return keras.saving.load_model(path, compile=False, safe_mode=True)
