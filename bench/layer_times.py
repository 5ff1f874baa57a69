"""Milliseconds per training batch of each conv autoencoder layer: stock Keras against
aeclust's equivalent (`aeclust.nets.layers`), forward and backward, on the study's shapes.

Each row times one compiled call that runs the layer forward on a batch and takes the
gradient of a sum of squares of its output with respect to its weights (and its input,
where a layer before it needs that), as a training step does. The study's layers, in
order: the encoder conv (28x28x1 -> 28x28x10, 5x5; no input gradient: it sees the data),
the 5x5 stride-1 max pool, the Dense 5760 -> 196 (the same layer on both sides, for
scale), the decoder (transposed conv, then conv). Prints figures; asserts nothing.

    python bench/layer_times.py                    # batch 300 (the study's), 30 repeats
    python bench/layer_times.py --batch 256 --repeats 50
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from keras import layers

    from aeclust.nets.layers import BandedConv2D, PhaseDecoder2D, SeparableMaxPooling2D

    backend = keras.backend.backend()
    if backend != "tensorflow":
        sys.exit(f"KERAS_BACKEND={backend}: this benchmark times TensorFlow's kernels")
    import tensorflow as tf

    n = args.batch
    decoder = dict(filters=10, kernel_size=4, strides=2, activation="relu")
    rows = [
        (
            "encoder conv 5x5, 1 -> 10",
            (n, 28, 28, 1),
            False,
            lambda: layers.Conv2D(10, 5, padding="same", activation="relu"),
            lambda: BandedConv2D(10, 5, padding="same", activation="relu"),
        ),
        (
            "max pool 5x5, stride 1",
            (n, 28, 28, 10),
            True,
            lambda: layers.MaxPooling2D(5, strides=1),
            lambda: SeparableMaxPooling2D(5, strides=1),
        ),
        (
            "dense 5760 -> 196",
            (n, 5760),
            True,
            lambda: layers.Dense(196),
            lambda: layers.Dense(196),
        ),
        (
            "decoder (deconv, conv)",
            (n, 14, 14, 1),
            True,
            lambda: keras.Sequential(
                [
                    layers.Conv2DTranspose(**decoder, padding="same"),
                    layers.Conv2D(1, 4, padding="same"),
                ]
            ),
            lambda: PhaseDecoder2D(**decoder, out_filters=1, out_kernel_size=4),
        ),
    ]

    def timed(layer, shape, watch) -> float:
        x = tf.nn.relu(tf.random.stateless_normal(shape, seed=(1, 2)))
        layer(x)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                if watch:
                    tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(y * y)
            return tape.gradient(loss, ([x] if watch else []) + layer.trainable_variables)

        [g.numpy() for g in step()]  # trace and warm up
        start = time.perf_counter()
        for _ in range(args.repeats):
            grads = step()
        [g.numpy() for g in grads]
        return (time.perf_counter() - start) / args.repeats * 1000

    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"tensorflow {tf.__version__}, keras {keras.__version__}; batch {n}, "
        f"{args.repeats} repeats"
    )
    print(f"{'layer':28s} {'stock ms':>9s} {'aeclust ms':>11s} {'ratio':>6s}")
    total_stock = total_fast = 0.0
    for name, shape, watch, stock, fast in rows:
        stock_ms, fast_ms = timed(stock(), shape, watch), timed(fast(), shape, watch)
        total_stock, total_fast = total_stock + stock_ms, total_fast + fast_ms
        print(f"{name:28s} {stock_ms:9.2f} {fast_ms:11.2f} {fast_ms / stock_ms:6.2f}")
    print(f"{'sum':28s} {total_stock:9.2f} {total_fast:11.2f} {total_fast / total_stock:6.2f}")


if __name__ == "__main__":
    main()
