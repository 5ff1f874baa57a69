"""Training a contrastive encoder (SimCLR, Chen et al. 2020): each image seen as two random
views, both through the same network (conv encoder, "latent", projection head), the
NT-Xent loss pulling each image's two projections together and pushing the batch's other
images away. Keras 3, any backend; imported only by the stages that train.

The trainer (`build_trainer`) wraps the network: image -> two view pipelines -> the network
on each -> their projections side by side (n, 2 * width). Its loss ignores the targets
that `aeclust.nets.training`'s runners pass (the images themselves), so `train_autoencoder`
trains it unchanged. `net_of` takes the network back out: that is what is saved.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from aeclust.config import ContrastiveParams, ViewParams
from aeclust.nets.runners import FusedAdam

NET_NAME = "contrastive"


@keras.saving.register_keras_serializable(package="aeclust")
class RandomGain(layers.Layer):
    """In training, each image times a gain uniform in 1 +- `brightness`, clipped to [0, 1]
    (unit_range images); the identity at inference."""

    def __init__(self, brightness: float, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.brightness, self.seed = float(brightness), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        shape = (ops.shape(images)[0], 1, 1, 1)
        gain = keras.random.uniform(
            shape,
            minval=1.0 - self.brightness,
            maxval=1.0 + self.brightness,
            seed=self.seed_generator,
        )
        return ops.clip(images * gain, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "brightness": self.brightness, "seed": self.seed}


@keras.saving.register_keras_serializable(package="aeclust")
class NTXent(keras.losses.Loss):
    """SimCLR's normalized temperature-scaled cross-entropy. `y_pred` (n, 2w): the two
    views' projections side by side. Among the 2n normalized projections, each one's
    logits are its cosine similarities to the other 2n - 1 over `temperature`, and its
    class is its own image's other view. Per image: the mean of its two views' losses.
    `y_true` is ignored."""

    def __init__(self, temperature: float = 0.5, name: str = "nt_xent", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        n = ops.shape(y_pred)[0]
        a, b = ops.split(y_pred, 2, axis=-1)
        z = ops.concatenate([a, b], axis=0)  # (2n, w)
        z = z / ops.maximum(ops.norm(z, axis=-1, keepdims=True), 1e-12)
        logits = ops.matmul(z, ops.transpose(z)) / self.temperature
        logits = logits - ops.eye(2 * n, dtype=logits.dtype) * 1e9  # not itself
        positives = ops.concatenate([ops.arange(n, 2 * n), ops.arange(0, n)])
        losses = keras.losses.sparse_categorical_crossentropy(positives, logits, from_logits=True)
        return ops.mean(ops.reshape(losses, (2, n)), axis=0)

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature}


def views(spec: ViewParams, name: str) -> keras.Sequential:
    """One random view of unit_range images (n, side, side, 1): rotation, shift, zoom
    (filled with 0, the background), a left-right flip and a gain, each where its setting
    is not zero; the identity outside training."""
    steps: list[layers.Layer] = []
    if spec.rotation:
        steps.append(layers.RandomRotation(spec.rotation / 360.0, fill_mode="constant"))
    if spec.shift:
        steps.append(layers.RandomTranslation(spec.shift, spec.shift, fill_mode="constant"))
    if spec.zoom:
        steps.append(layers.RandomZoom(spec.zoom, fill_mode="constant"))
    if spec.flip:
        steps.append(layers.RandomFlip("horizontal"))
    if spec.brightness:
        steps.append(RandomGain(spec.brightness))
    if not steps:
        steps.append(layers.Identity())
    return keras.Sequential(steps, name=name)


def build_trainer(net: keras.Model, spec: ContrastiveParams) -> keras.Model:
    """The compiled training model of `net` (image -> projection): two view pipelines of
    `spec.views`, each drawing its own randomness, `net` on each, the projections side by
    side; NT-Xent at `spec.temperature`, `FusedAdam` at `spec.learning_rate`."""
    image = keras.Input(shape=net.input_shape[1:], name="image")
    view_a = views(spec.views, "view_a")(image)
    view_b = views(spec.views, "view_b")(image)
    pair = layers.Concatenate(axis=-1, name="projections")([net(view_a), net(view_b)])
    trainer = keras.Model(image, pair, name="contrastive_trainer")
    trainer.compile(
        optimizer=FusedAdam(learning_rate=spec.learning_rate), loss=NTXent(spec.temperature)
    )
    return trainer


def net_of(trainer: keras.Model) -> keras.Model:
    """The network inside a trainer: what `build_trainer` was given."""
    return trainer.get_layer(NET_NAME)
