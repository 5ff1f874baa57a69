"""Seconds per training epoch: the study's own Keras code against the pipeline's training.

In one process, on the same images (a seeded stratified sample of the source), for each
model named by --models, this trains

- study:    the network exactly as the study wrote it, in plain Keras (stock layers,
            Adam, MSE, `model.fit(X, X, epochs, batch_size)`), copied below;
- fastops:  (cnn only) the same code with the layers of `aeclust.nets.layers` swapped in:
            BandedConv2D for the encoder's Conv2D, SeparableMaxPooling2D for
            MaxPooling2D, PhaseDecoder2D for the Conv2DTranspose and the output Conv2D;
- pipeline: the pipeline's own path, `aeclust.nets.models.build_autoencoder` +
            `aeclust.nets.training.train_autoencoder`, with params.yaml's settings;

each from the same seed, and prints seconds per epoch after the first (warm-up) epoch
(median of wall time, and of CPU time over all threads, which the other processes on a
shared machine disturb less), each path's time relative to the study's, the first
epoch's and the whole training call's seconds (tracing included), the last epoch's
loss, and the process's peak RSS. study and fastops compute the same function on the
same batches (fit's shuffle), so their losses agree up to float rounding; on TensorFlow and JAX
the pipeline draws its own batches (`aeclust.nets.training.epoch_orders`), so its loss is
another sample of the same training (`bench/quality_check.py` compares them over seeds).

    python bench/train_speed.py                              # ffn and cnn, 5 epochs
    python bench/train_speed.py --models cnn --epochs 10 --paths study fastops
    python bench/train_speed.py --inter-op 1 --intra-op 2    # TensorFlow thread pools
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
PATHS = ("study", "fastops", "pipeline")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per run (default 5)")
    parser.add_argument("--models", nargs="+", default=["ffn", "cnn"], help="params.yaml names")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--n-samples", type=int, help="default: params.yaml's data.n_samples")
    parser.add_argument("--source", help="default: params.yaml's data.source")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--inter-op", type=int, help="TensorFlow inter-op threads")
    parser.add_argument("--intra-op", type=int, help="TensorFlow intra-op threads")
    parser.add_argument(
        "--no-determinism",
        action="store_true",
        help="skip make_deterministic (the pipeline's train stage calls it; it is "
        "process-wide, so by default it applies to every path)",
    )
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error(f"--epochs {args.epochs}: must be >= 2 (the first epoch is warm-up)")
    return args


# --- the study's code (seed/000_91898cbc6d9e3628.txt), Keras 3 spelling ------------------


def study_dense(keras, n_input: int):
    from keras.layers import Dense, Input
    from keras.models import Model

    n_feature = 100
    x_Input = Input(batch_shape=(None, n_input))
    x_Encoder = Dense(256, activation="relu")(x_Input)
    x_Encoder = Dense(n_feature, activation="relu")(x_Encoder)
    y_Decoder = Dense(256, activation="relu")(x_Encoder)
    y_Decoder = Dense(n_input, activation="linear")(y_Decoder)
    model = Model(x_Input, y_Decoder)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=0.01))
    return model


def study_conv(keras, side: int, fast: bool = False):
    from keras.layers import Conv2D, Conv2DTranspose, Dense, Flatten, Input, MaxPooling2D, Reshape
    from keras.models import Model

    if fast:  # the same function, computed faster (aeclust.nets.layers)
        from aeclust.nets.layers import BandedConv2D, PhaseDecoder2D
        from aeclust.nets.layers import SeparableMaxPooling2D as MaxPooling2D

    # The study wrote padding='SAME' / 'VALID' (Keras 3 takes only lower case), and 28
    # for the side, 14 for the latent's.
    n_height, n_width, n_channel = side, side, 1
    n_latent = side // 2
    x_Input = Input(batch_shape=(None, n_height, n_width, n_channel))
    encoder_conv = BandedConv2D if fast else Conv2D
    e_conv = encoder_conv(
        filters=10, kernel_size=(5, 5), strides=1, padding="same", activation="relu"
    )(x_Input)
    e_pool = MaxPooling2D(pool_size=(5, 5), strides=1, padding="valid")(e_conv)
    e_flat = Flatten()(e_pool)
    e_latent = Dense(n_latent * n_latent, activation="linear")(e_flat)
    e_latent = Reshape((n_latent, n_latent, 1))(e_latent)
    if fast:  # the transposed conv and the conv below, as one layer
        x_Output = PhaseDecoder2D(10, (4, 4), 2, "relu", out_kernel_size=(4, 4))(e_latent)
    else:
        d_conv_t = Conv2DTranspose(
            filters=10, kernel_size=(4, 4), strides=2, padding="same", activation="relu"
        )(e_latent)
        x_Output = Conv2D(filters=1, kernel_size=(4, 4), padding="same")(d_conv_t)
    model = Model(x_Input, x_Output)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=0.005))
    return model


# --- timing ---------------------------------------------------------------------------


def epoch_timer(keras):
    class EpochTimer(keras.callbacks.Callback):
        """Wall and CPU seconds, and the loss, of each epoch."""

        def __init__(self) -> None:
            super().__init__()
            self.wall: list[float] = []
            self.cpu: list[float] = []
            self.losses: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._wall, self._cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.wall.append(time.perf_counter() - self._wall)
            self.cpu.append(time.process_time() - self._cpu)
            self.losses.append(float((logs or {}).get("loss", float("nan"))))

    return EpochTimer()


def sampled_images(params, source: str | None = None, n_samples: int | None = None):
    """(images, labels): the seeded stratified sample of the source the pipeline's
    prepare stage draws (params.yaml's data unless overridden)."""
    from aeclust.data.sampling import stratified_sample
    from aeclust.data.sources import load_source

    images, labels = load_source(source or params.data.source)
    chosen = stratified_sample(labels, n_samples or params.data.n_samples, params.seed)
    return images[chosen], labels[chosen]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    args = parse_args()
    if args.inter_op or args.intra_op:
        import tensorflow as tf  # before Keras starts the runtime

        if args.inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
        if args.intra_op:
            tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    import keras

    from aeclust.config import DenseParams, load_params
    from aeclust.data.scaling import SCALERS
    from aeclust.nets.models import build_autoencoder, model_inputs
    from aeclust.nets.training import chunk_seed, make_deterministic, train_autoencoder

    params = load_params(args.params)
    unknown = [name for name in args.models if name not in params.models]
    if unknown:
        sys.exit(f"--models {' '.join(unknown)}: must be among {', '.join(params.models)}")
    source = args.source or params.data.source
    n_samples = args.n_samples or params.data.n_samples
    images, _ = sampled_images(params, source, n_samples)
    side = images.shape[1]
    if not args.no_determinism:
        make_deterministic(params.seed)

    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"python {platform.python_version()}, keras {keras.__version__} "
        f"({keras.backend.backend()} backend)"
    )
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        print(
            f"tensorflow {tf.__version__}, threads inter-op "
            f"{tf.config.threading.get_inter_op_parallelism_threads() or 'default'} intra-op "
            f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default'}, "
            f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}"
        )
    print(
        f"data: {len(images)} images of {side}x{side} from {source}; {args.epochs} epochs; "
        f"determinism {'off' if args.no_determinism else 'on'}; load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
    print(
        f"{'model':6} {'path':9} {'wall s/epoch':>12} {'cpu s/epoch':>11} {'vs study':>8} "
        f"{'first epoch':>11} {'train s':>8} {'last loss':>10} {'peak RSS MB':>11}"
    )

    for name in args.models:
        spec = params.models[name]
        scaled = SCALERS[spec.scaling](images)
        inputs = model_inputs(scaled, spec)
        dense = isinstance(spec, DenseParams)
        rows = {}
        for path in args.paths:
            if path == "fastops" and dense:
                continue
            timer = epoch_timer(keras)
            keras.utils.set_random_seed(params.seed)  # the same initial weights
            if path == "pipeline":
                model = build_autoencoder(spec, side)
                start = time.perf_counter()
                train_autoencoder(
                    model,
                    inputs,
                    learning_rate=spec.learning_rate,
                    epochs=args.epochs,
                    batch_size=spec.batch_size,
                    seed=params.seed,
                    callbacks=[timer],
                )
            else:
                if dense:
                    model = study_dense(keras, inputs.shape[1])
                else:
                    model = study_conv(keras, side, fast=path == "fastops")
                # fit's shuffle seeded as the pipeline's first chunk seeds it (other backends).
                keras.utils.set_random_seed(chunk_seed(params.seed, 0))
                start = time.perf_counter()
                model.fit(
                    inputs, inputs, epochs=args.epochs, batch_size=300, verbose=0,
                    callbacks=[timer],
                )  # fmt: skip
            rows[path] = (
                statistics.median(timer.wall[1:]),
                statistics.median(timer.cpu[1:]),
                timer.wall[0],
                time.perf_counter() - start,
                timer.losses[-1],
                peak_rss_mb(),
            )
            keras.backend.clear_session()
        study_wall = rows.get("study", (None,))[0]
        for path, (wall, cpu, first, total, loss, rss) in rows.items():
            ratio = f"{wall / study_wall:8.2f}" if study_wall else f"{'-':>8}"
            print(
                f"{name:6} {path:9} {wall:12.3f} {cpu:11.3f} {ratio} {first:11.2f} "
                f"{total:8.1f} {loss:10.5f} {rss:11.0f}",
                flush=True,
            )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
