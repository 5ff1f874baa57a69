"""Faster drop-in equivalents of the conv autoencoder's slowest Keras layers.

Each class subclasses the stock layer and keeps its constructor, weights (same names,
shapes, initialisers and creation order, so the same seed gives the same initial
model), `get_config` and fallback to the stock computation for configurations it does
not cover; it only computes the same function (and the same gradients) another way,
up to float32 rounding. Only `keras.ops` is used, so they run on every backend; the
speed-ups are for TensorFlow on CPU (oneDNN), where the stock kernels for these
shapes are slow. Measured in the study's conv autoencoder, batch 300, 2 cores:

- `SeparableMaxPooling2D`: a max over a ph x pw window is the max over ph rows of the
  max over pw columns, so pool (1, pw) then (ph, 1). The 5x5 stride-1 pool of
  (300, 28, 28, 10), forward + gradient: ~43 -> ~26 ms of op time per step.
- `NarrowConv2D`: a stride-1 `Conv2D` with few filters (the decoder's 10 -> 1 output
  conv) as a depthwise conv summed over channels, with a custom gradient built from
  fast kernels: ~27 -> ~15 ms per step.
- `PhaseConv2DTranspose`: the stride-2 transposed conv as one stride-1 conv giving all
  sub-pixel phases, then `depth_to_space`; TensorFlow fuses that conv with its bias
  and relu: ~29 -> ~22 ms per step.

Whole training step (`train_on_batch`, batch 300): ~100 -> ~58 ms (10th
percentile), ~126 -> ~87 ms (median), on 2 cores shared with other work.

Tried and dropped (no gain in the whole step): the 10 -> 1 conv as a transposed conv
of the flipped kernel, im2col for the 1-channel input conv, a matmul-based phase
deconv, and pools or convs written as sums or maxima of shifted slices (TensorFlow's
slice and stack kernels and gradients are slow on CPU). On JAX (XLA, CPU) these
layers are slower than the stock ones: use them with TensorFlow.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


def _same_padding(kernel: int) -> tuple[int, int]:
    """Zeros before and after a stride-1 'same' convolution's input (TF and Keras:
    the extra one, for an even kernel, goes after)."""
    before = (kernel - 1) // 2
    return before, kernel - 1 - before


@keras.saving.register_keras_serializable(package="aeclust")
class SeparableMaxPooling2D(layers.MaxPooling2D):
    """`MaxPooling2D`, computed as a (1, pw) pool along the width, then a (ph, 1)
    pool along the height (with the matching strides and padding).

    Width first, so that on ties the gradient reaches the first maximal element in
    row-major order, as the stock 2-D pooling gradient does.
    """

    def call(self, inputs):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        x = inputs
        if pw > 1 or sw > 1:
            x = ops.max_pool(x, (1, pw), (1, sw), self.padding, self.data_format)
        if ph > 1 or sh > 1:
            x = ops.max_pool(x, (ph, 1), (sh, 1), self.padding, self.data_format)
        return x


@keras.saving.register_keras_serializable(package="aeclust")
class NarrowConv2D(layers.Conv2D):
    """`Conv2D` (stride 1, 'same' or 'valid') for few filters, such as the decoder's
    10 -> 1 output conv, whose stock TensorFlow/CPU kernels are slow in both the
    forward pass and the kernel gradient.

    Forward: a depthwise conv (each input channel with its own slice of the kernel),
    summed over the input channels: out[..., o] = sum_c conv(x[..., c], k[:, :, c, o]).
    Gradient (`ops.custom_gradient`), the conv's own formulas with faster kernels:
    d/dx is the transposed conv of the upstream gradient with the same kernel (what
    TensorFlow computes too); d/dkernel[u, v, c, o] = sum over (n, p, q) of
    x[n, p, q, c] * g[n, p + pad_top - u, q + pad_left - v, o] is one matrix
    product of the input with the patches of the (padded) upstream gradient g.
    """

    def _fast(self) -> bool:
        return (
            self.strides == (1, 1)
            and self.dilation_rate == (1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
            and self.padding in ("same", "valid")
        )

    def convolution_op(self, inputs, kernel):
        if not self._fast() or None in inputs.shape[1:]:
            return super().convolution_op(inputs, kernel)
        (kh, kw), padding = self.kernel_size, self.padding
        channels, filters = inputs.shape[-1], self.filters
        top, bottom = _same_padding(kh) if padding == "same" else (0, 0)
        left, right = _same_padding(kw) if padding == "same" else (0, 0)

        @ops.custom_gradient
        def conv(x, k):
            # (n, h, w, channels) -> (n, h', w', channels * filters) -> (n, h', w', filters)
            y = ops.depthwise_conv(x, ops.reshape(k, (kh, kw, channels, filters)), 1, padding)
            if filters == 1:
                y = ops.sum(y, axis=-1, keepdims=True)
            else:
                y = ops.sum(ops.reshape(y, (-1, *y.shape[1:3], channels, filters)), axis=-2)

            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                dx = ops.conv_transpose(upstream, k, strides=1, padding=padding)
                # Patch (a, b) at (p, q) of g padded by (kh-1-top, kw-1-left) before is
                # g[p + a - (kh-1-top), ...]: tap u = kh-1-a, so the taps come out flipped.
                g = ops.pad(
                    upstream,
                    [
                        (0, 0),
                        (kh - 1 - top, kh - 1 - bottom),
                        (kw - 1 - left, kw - 1 - right),
                        (0, 0),
                    ],
                )
                patches = ops.image.extract_patches(g, (kh, kw), strides=(1, 1), padding="valid")
                # (n, h, w, channels) x (n, h, w, kh*kw*filters) -> (channels, kh*kw*filters)
                dk = ops.einsum("npqc,npqt->ct", x, patches)
                dk = ops.flip(ops.reshape(dk, (channels, kh, kw, filters)), axis=(1, 2))
                return dx, ops.transpose(dk, (1, 2, 0, 3))

            return y, grad

        # A tensor, not the variable: TensorFlow's custom_gradient would otherwise
        # want the gradient for the variable through a `variables` argument.
        return conv(inputs, ops.copy(kernel))


# Built-in activations that act on each element alone, so they commute with
# depth_to_space (softmax and log_softmax, over the channels, do not).
_ELEMENTWISE_ACTIVATIONS = frozenset(
    "linear relu relu6 leaky_relu elu selu gelu sigmoid hard_sigmoid tanh softplus "
    "softsign silu hard_silu mish exponential".split()
)


def _elementwise(activation) -> bool:
    """Whether `activation` is one of those built-ins. (By name and identity: Keras'
    `activations.serialize` would import TensorFlow, even on another backend.)"""
    name = getattr(activation, "__name__", None)
    return name in _ELEMENTWISE_ACTIVATIONS and keras.activations.get(name) is activation


def _phase_taps(kernel: int, stride: int, pad_before: int) -> dict[int, list[tuple[int, int]]]:
    """For a 1-D transposed conv (x[i] * kernel[d] lands on output stride*i + d - pad_before):
    for each output phase a, the (tap d, input offset o) pairs such that output
    stride*m + a receives x[m + o] * kernel[d]."""
    taps: dict[int, list[tuple[int, int]]] = {a: [] for a in range(stride)}
    for a in range(stride):
        for d in range(kernel):
            if (a + pad_before - d) % stride == 0:
                taps[a].append((d, (a + pad_before - d) // stride))
    return taps


@keras.saving.register_keras_serializable(package="aeclust")
class PhaseConv2DTranspose(layers.Conv2DTranspose):
    """`Conv2DTranspose` ('same' padding, equal strides s <= kernel) as sub-pixel
    phases: output pixel (s*m + a, s*q + b) only sees input pixels near (m, q), so
    all s*s phases of all filters are one stride-1 conv of the input with a kernel
    gathered from the transposed conv's (zeros where a tap misses a phase), giving
    (n, h, w, s*s*filters), then `depth_to_space` -> (n, s*h, s*w, filters).

    On TensorFlow/CPU that conv, its bias and an elementwise activation run as one
    fused kernel, instead of the slower transposed-conv kernel, an unfused bias add
    and the activation: ~5% of the study's conv training step.
    """

    def _fast(self) -> bool:
        return (
            self.padding == "same"
            and self.output_padding is None
            and self.dilation_rate == (1, 1)
            and self.data_format == "channels_last"
            and self.strides[0] == self.strides[1]
            and all(k >= s for k, s in zip(self.kernel_size, self.strides, strict=True))
        )

    def build(self, input_shape):
        super().build(input_shape)
        if not self._fast():
            return
        (kh, kw), stride = self.kernel_size, self.strides[0]
        channels, filters = input_shape[-1], self.filters
        # TF's 'same' for a transposed conv: the conv it transposes pads k - s in all.
        taps_y = _phase_taps(kh, stride, (kh - stride) // 2)
        taps_x = _phase_taps(kw, stride, (kw - stride) // 2)
        low_y = min(o for pairs in taps_y.values() for _, o in pairs)
        low_x = min(o for pairs in taps_x.values() for _, o in pairs)
        high_y = max(o for pairs in taps_y.values() for _, o in pairs)
        high_x = max(o for pairs in taps_x.values() for _, o in pairs)
        # Symmetric offsets (as for the study's 4x4, stride 2): 'same' pads exactly so,
        # and TensorFlow fuses conv + bias + activation only without a separate pad.
        self._symmetric = -low_y == high_y and -low_x == high_x
        self._input_padding = [(0, 0), (-low_y, high_y), (-low_x, high_x), (0, 0)]
        # Entries index the flattened (kh, kw, filters, channels) kernel, with one
        # zero appended; the columns are ordered (phase y, phase x, filter), as
        # depth_to_space reads them.
        zero = kh * kw * filters * channels
        shape = (high_y - low_y + 1, high_x - low_x + 1, channels, stride, stride, filters)
        index = np.full(shape, zero, dtype="int32")
        per_pair = np.arange(filters)[None, :] * channels + np.arange(channels)[:, None]
        for ay, pairs_y in taps_y.items():
            for dy, oy in pairs_y:
                for ax, pairs_x in taps_x.items():
                    for dx, ox in pairs_x:
                        first = (dy * kw + dx) * filters * channels
                        index[oy - low_y, ox - low_x, :, ay, ax, :] = first + per_pair
        self._kernel_index = index.reshape(shape[0], shape[1], channels, stride * stride * filters)

    def call(self, inputs):
        if not self._fast():
            return super().call(inputs)
        stride = self.strides[0]
        flat = ops.concatenate(
            [ops.reshape(self.kernel, (-1,)), ops.zeros((1,), self.kernel.dtype)]
        )
        kernel = ops.take(flat, self._kernel_index)  # (span_y, span_x, channels, s*s*filters)
        if self._symmetric:
            phases = ops.conv(inputs, kernel, 1, "same")
        else:
            phases = ops.conv(ops.pad(inputs, self._input_padding), kernel, 1, "valid")
        if self.use_bias:
            phases = phases + ops.tile(self.bias, (stride * stride,))
        elementwise = _elementwise(self.activation)
        if elementwise:  # before the shuffle, where TensorFlow fuses it into the conv
            phases = self.activation(phases)
        outputs = ops.depth_to_space(phases, stride)  # (n, s*h, s*w, filters)
        return outputs if elementwise else self.activation(outputs)
