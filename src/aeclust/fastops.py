"""Faster drop-in equivalents of the conv autoencoder's slowest Keras layers.

Each class subclasses the stock layer and keeps its constructor, weights (same names,
shapes, initialisers and creation order, so the same seed gives the same initial
model), `get_config` and fallback to the stock computation for configurations it does
not cover (`PhaseDecoder2D` stands for two stock layers in turn, with both layers'
weights in their order); it only computes the same function (and the same gradients)
another way, up to float32 rounding. Only `keras.ops` is used, so they run on every backend; the
speed-ups are for TensorFlow on CPU (oneDNN), where the stock kernels for these
shapes are slow. Measured in the study's conv autoencoder, batch 300, 2 cores:

- `SeparableMaxPooling2D`: a max over a ph x pw window is the max over ph rows of the
  max over pw columns, so pool (1, pw) then (ph, 1). The 5x5 stride-1 pool of
  (300, 28, 28, 10), forward + gradient: ~43 -> ~26 ms of op time per step. Each 1-D
  pool then runs on a view of the tensor with the pooled axis first and the rest as
  channels (280 or 240 where the stock kernels see 10): ~10.3 -> ~4.8 ms (2026-11-29,
  on a quieter host), ~0.39 -> ~0.36 s per epoch of the whole training.
- `NarrowConv2D`: a stride-1 `Conv2D` with few filters (the decoder's 10 -> 1 output
  conv) as a depthwise conv summed over channels, with a custom gradient built from
  fast kernels: ~27 -> ~15 ms per step.
- `PhaseConv2DTranspose`: the stride-2 transposed conv as one stride-1 conv giving all
  sub-pixel phases, then `depth_to_space`; TensorFlow fuses that conv with its bias
  and relu: ~29 -> ~22 ms per step.
- `PhaseDecoder2D`: that transposed conv and the 10 -> 1 output conv after it as one
  layer, the output conv also on the phases, so the 28x28x10 image is never formed
  (its shuffle and gradient were ~4.6 ms of op time per step, the output conv ~13 ms):
  ~0.44 -> ~0.40 s per epoch of the whole training. `aeclust.models` uses it in place
  of the two layers above; they stay for models saved before it. Its two phase convs
  then became matrix products on the batch-last layout (channels, h, w, n), where a
  shift of the image moves whole rows of n values (`_phases_by_matmul`): the decoder,
  forward + gradients, ~14.7 -> ~10.5 ms; ~0.364 -> ~0.325 s per epoch (2026-11-29).

Whole training step (`train_on_batch`, batch 300, with the first three): ~100 -> ~58 ms
(10th percentile), ~126 -> ~87 ms (median), on 2 cores shared with other work.

Tried and dropped (no gain in the whole step): the 10 -> 1 conv as a transposed conv
of the flipped kernel, im2col for the 1-channel input conv, a matmul-based phase
deconv, and pools or convs written as sums or maxima of shifted slices of the image
layout (n, h, w, c): TensorFlow's slice and stack kernels are slow there, with rows of
c values, and so are their generic gradients, which build a zero tensor of the whole
input per slice. `_phases_by_matmul` avoids both. On JAX (XLA, CPU) these
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


def _pool_rows(x, size: int, stride: int, padding: str):
    """Max-pool (n, a, b, c) along axis 1 only (window `size`, step `stride`), as a 2-D
    pool of the view (n, a, 1, b * c): every (b, c) column is one channel, so the
    kernels see b * c channels side by side instead of c (oneDNN's pooling and its
    gradient are slow for the study's 10 channels). Same values, same gradient."""
    _, a, b, c = x.shape
    if None in (a, b, c):  # the view needs the sizes: the plain (size, 1) pool
        return ops.max_pool(x, (size, 1), (stride, 1), padding, "channels_last")
    view = ops.reshape(x, (-1, a, 1, b * c))
    pooled = ops.max_pool(view, (size, 1), (stride, 1), padding, "channels_last")
    return ops.reshape(pooled, (-1, pooled.shape[1], b, c))


@keras.saving.register_keras_serializable(package="aeclust")
class SeparableMaxPooling2D(layers.MaxPooling2D):
    """`MaxPooling2D`, computed as a (1, pw) pool along the width, then a (ph, 1)
    pool along the height (with the matching strides and padding).

    Width first, so that on ties the gradient reaches the first maximal element in
    row-major order, as the stock 2-D pooling gradient does. Channels-last, each 1-D
    pool runs on a view with the pooled axis first and the others as channels
    (`_pool_rows`); the width pool between two transposes of height and width.
    """

    def call(self, inputs):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        x = inputs
        if self.data_format != "channels_last":
            if pw > 1 or sw > 1:
                x = ops.max_pool(x, (1, pw), (1, sw), self.padding, self.data_format)
            if ph > 1 or sh > 1:
                x = ops.max_pool(x, (ph, 1), (sh, 1), self.padding, self.data_format)
            return x
        if pw > 1 or sw > 1:
            x = ops.transpose(x, (0, 2, 1, 3))  # (n, w, h, c)
            x = ops.transpose(_pool_rows(x, pw, sw, self.padding), (0, 2, 1, 3))
        if ph > 1 or sh > 1:
            x = _pool_rows(x, ph, sh, self.padding)
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


def _deconv_phase_index(
    kernel_size: tuple[int, int], stride: int, channels: int, filters: int
) -> tuple[np.ndarray, list[tuple[int, int]], bool]:
    """A 'same' transposed conv (stride s <= kernel) as one stride-1 conv giving every
    sub-pixel phase: (index, input padding, symmetric).

    `index` (span_y, span_x, channels, s*s*filters) takes the phase conv's kernel from the
    transposed conv's (kh, kw, filters, channels) kernel, flattened with one zero
    appended (where a tap misses a phase); its columns are ordered (phase y, phase x,
    filter), as depth_to_space reads them. The input is padded by `input padding`; when
    it is symmetric, that is exactly a 'same' stride-1 conv (which TensorFlow fuses with
    its bias and activation only without a separate pad).
    """
    kh, kw = kernel_size
    # TF's 'same' for a transposed conv: the conv it transposes pads k - s in all.
    taps_y = _phase_taps(kh, stride, (kh - stride) // 2)
    taps_x = _phase_taps(kw, stride, (kw - stride) // 2)
    low_y = min(o for pairs in taps_y.values() for _, o in pairs)
    low_x = min(o for pairs in taps_x.values() for _, o in pairs)
    high_y = max(o for pairs in taps_y.values() for _, o in pairs)
    high_x = max(o for pairs in taps_x.values() for _, o in pairs)
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
    index = index.reshape(shape[0], shape[1], channels, stride * stride * filters)
    padding = [(0, 0), (-low_y, high_y), (-low_x, high_x), (0, 0)]
    return index, padding, -low_y == high_y and -low_x == high_x


def _conv_phase_index(
    kernel_size: tuple[int, int], stride: int, channels: int, filters: int
) -> tuple[np.ndarray, list[tuple[int, int]], bool]:
    """A 'same' stride-1 conv of an image given as its s x s sub-pixel phases (the
    (n, h, w, s*s*channels) tensor that depth_to_space would turn into (n, s*h, s*w,
    channels)), as one stride-1 conv of the phases giving the output's phases
    (n, h, w, s*s*filters): (index, input padding, symmetric), as `_deconv_phase_index`.

    Output pixel (s*i + A, s*j + B) sees tap (u, v) at image pixel (s*i + A + u - top,
    ...), which is phase ((A + u - top) mod s, ...) of phase pixel
    (i + (A + u - top) // s, ...); the image's zero padding is the phases' zero padding.
    `index` takes the kernel from the conv's (kh, kw, channels, filters) kernel,
    flattened with one zero appended; rows and columns are in depth_to_space's order.
    """
    (kh, kw), s = kernel_size, stride
    top, left = _same_padding(kh)[0], _same_padding(kw)[0]
    low_y, high_y = -top // s, (s - 1 + kh - 1 - top) // s
    low_x, high_x = -left // s, (s - 1 + kw - 1 - left) // s
    shape = (high_y - low_y + 1, high_x - low_x + 1, s, s, channels, s, s, filters)
    index = np.full(shape, kh * kw * channels * filters, dtype="int32")
    per_pair = np.arange(channels)[:, None] * filters + np.arange(filters)[None, :]
    for out_y in range(s):
        for u in range(kh):
            oy, ay = divmod(out_y + u - top, s)
            for out_x in range(s):
                for v in range(kw):
                    ox, ax = divmod(out_x + v - left, s)
                    first = (u * kw + v) * channels * filters
                    index[oy - low_y, ox - low_x, ay, ax, :, out_y, out_x, :] = first + per_pair
    index = index.reshape(shape[0], shape[1], s * s * channels, s * s * filters)
    padding = [(0, 0), (-low_y, high_y), (-low_x, high_x), (0, 0)]
    return index, padding, -low_y == high_y and -low_x == high_x


def _gather_kernel(kernel, index):
    """The phase conv's kernel: `kernel`'s entries at `index` (a plan's), where the index
    one past kernel's last entry stands for a zero."""
    flat = ops.concatenate([ops.reshape(kernel, (-1,)), ops.zeros((1,), kernel.dtype)])
    return ops.take(flat, index)


def _phases(inputs, kernel, bias, plan, stride: int):
    """The stride-1 phase conv that `plan` (`_deconv_phase_index`, `_conv_phase_index`)
    describes, with `kernel` gathered into its kernel, then `bias` on every phase."""
    index, padding, symmetric = plan
    kernel = _gather_kernel(kernel, index)
    if symmetric:
        phases = ops.conv(inputs, kernel, 1, "same")
    else:
        phases = ops.conv(ops.pad(inputs, padding), kernel, 1, "valid")
    return phases if bias is None else phases + ops.tile(bias, (stride * stride,))


def _shifted_views(x, offsets):
    """For x (..., h, w, n): view(t) is x shifted by offsets[t] = (dy, dx),
    [..., i, j, :] -> x[..., i + dy, j + dx, :] with zeros outside, each a slice of one
    zero-padded copy of x; view(t, k) takes index k of x's first axis too."""
    h, w = x.shape[-3], x.shape[-2]
    dys, dxs = [dy for dy, _ in offsets], [dx for _, dx in offsets]
    top, left = max(0, -min(dys)), max(0, -min(dxs))
    pads = [(0, 0)] * (len(x.shape) - 3) + [(top, max(0, max(dys))), (left, max(0, max(dxs)))]
    padded = ops.pad(x, [*pads, (0, 0)])

    def view(t, *lead):  # lead: indices of leading axes to take first (a tap's row)
        dy, dx = offsets[t]
        rows, cols = slice(top + dy, top + dy + h), slice(left + dx, left + dx + w)
        return padded[(*lead, Ellipsis, rows, cols, slice(None))]

    return view


def _gather_shifts(x, offsets):
    """(..., h, w, n) -> (T, ..., h, w, n): copy t is `x` shifted by offsets[t] = (dy, dx),
    out[t][..., i, j, :] = x[..., i + dy, j + dx, :], zero where that falls outside."""
    view = _shifted_views(x, offsets)
    return ops.stack([view(t) for t in range(len(offsets))])


def _scatter_shifts(y, offsets):
    """The adjoint of `_gather_shifts`: (T, ..., h, w, n) -> (..., h, w, n),
    out[..., i, j, :] = sum over t of y[t][..., i - dy, j - dx, :] (zero outside)."""
    view = _shifted_views(y, [(-dy, -dx) for dy, dx in offsets])
    total = view(0, 0)
    for t in range(1, len(offsets)):
        total = total + view(t, t)
    return total


def _shifts(offsets, gather: bool):
    """`_gather_shifts` (or `_scatter_shifts`) for these offsets, with the other as its
    gradient: the generic gradients of slices and stacks build a zero tensor of the whole
    input per slice, and are slow on CPU."""

    @ops.custom_gradient
    def shift(x):
        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return (_scatter_shifts if gather else _gather_shifts)(upstream, offsets)

        return (_gather_shifts if gather else _scatter_shifts)(x, offsets), grad

    return shift


def _phases_by_matmul(x, kernel, bias, plan, stride: int):
    """The phase conv of `_phases` on x laid out (channels, h, w, n), as one matrix
    product: (channels, h, w, n) -> (s*s*filters, h, w, n).

    With the batch last and the channels first, a shift of the image moves whole rows
    of n contiguous values, and the conv over the channels is a product with the
    (h*w*n)-column matrix. Few channels in: the T taps' shifted copies of the input
    (T*channels, h*w*n), times the kernel. Few filters out: the kernel times the input
    gives each tap's contribution (T*filters, h*w*n), and the shifted contributions
    are summed."""
    index, padding, _ = plan
    kernel = _gather_kernel(kernel, index)  # (ky, kx, channels, filters)
    ky, kx, channels, filters = index.shape
    (top, _), (left, _) = padding[1], padding[2]
    offsets = [(u - top, v - left) for u in range(ky) for v in range(kx)]
    _, h, w, _ = x.shape
    if channels <= filters:
        copies = _shifts(offsets, gather=True)(x)  # (T, channels, h, w, n)
        matrix = ops.transpose(ops.reshape(kernel, (ky * kx * channels, filters)))
        y = ops.matmul(matrix, ops.reshape(copies, (ky * kx * channels, -1)))
        y = ops.reshape(y, (filters, h, w, -1))
    else:
        matrix = ops.reshape(ops.transpose(kernel, (0, 1, 3, 2)), (ky * kx * filters, channels))
        taps = ops.matmul(matrix, ops.reshape(x, (channels, -1)))  # (T*filters, h*w*n)
        taps = ops.reshape(taps, (ky * kx, filters, h, w, -1))
        y = _shifts([(-dy, -dx) for dy, dx in offsets], gather=False)(taps)
    if bias is None:
        return y
    return y + ops.reshape(ops.tile(bias, (stride * stride,)), (filters, 1, 1, 1))


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
        self._plan = _deconv_phase_index(
            self.kernel_size, self.strides[0], input_shape[-1], self.filters
        )

    def call(self, inputs):
        if not self._fast():
            return super().call(inputs)
        stride = self.strides[0]
        phases = _phases(inputs, self.kernel, self.bias, self._plan, stride)  # (.., s*s*filters)
        elementwise = _elementwise(self.activation)
        if elementwise:  # before the shuffle, where TensorFlow fuses it into the conv
            phases = self.activation(phases)
        outputs = ops.depth_to_space(phases, stride)  # (n, s*h, s*w, filters)
        return outputs if elementwise else self.activation(outputs)


@keras.saving.register_keras_serializable(package="aeclust")
class PhaseDecoder2D(layers.Layer):
    """`Conv2DTranspose(filters, kernel_size, strides, padding="same", activation)`,
    then `Conv2D(out_filters, out_kernel_size, padding="same", activation=out_activation)`:
    the conv autoencoder's decoder (14x14x1 -> 28x28x10 -> 28x28x1), as one layer that
    never forms the 28x28x10 image.

    `PhaseConv2DTranspose` computes all s*s sub-pixel phases of the transposed conv as one
    stride-1 conv, (n, h, w, s*s*filters), and only then shuffles them into the
    (n, s*h, s*w, filters) image; the stride-1 conv that follows can work on the phases
    directly, giving its own output's phases, (n, h, w, s*s*out_filters), with a kernel
    gathered from its own (`_conv_phase_index`). The one shuffle left moves s*s*out_filters
    channels instead of s*s*filters. Where the image size is known, both phase convs run
    as matrix products with the batch last (`_phases_by_matmul`), and the one shuffle
    left is a transpose back to the image layout (without the size: stock convs on the
    phases, then depth_to_space). Training of the study's conv net (TensorFlow, 2
    cores): ~0.44 -> ~0.40 s per epoch as phases, ~0.36 -> ~0.33 as matrix products.

    The weights are the two stock layers' (kernel (kh, kw, filters, channels) and bias
    (filters,), then out_kernel (okh, okw, filters, out_filters) and out_bias), created in
    that order with the same initialisers, so a seed gives the two stock layers' initial
    weights. Other backends compute the same phases (`keras.ops` only), without the gain;
    there `aeclust.models` builds the two stock layers. A stride larger than the kernel,
    unequal strides or an activation that is not elementwise (such as softmax): the stock
    transposed conv, then the stock conv.
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides,
        activation=None,
        out_filters: int = 1,
        out_kernel_size=3,
        out_activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.filters, self.out_filters = filters, out_filters
        self.kernel_size, self.out_kernel_size = pair(kernel_size), pair(out_kernel_size)
        self.strides = pair(strides)
        self.activation = keras.activations.get(activation)
        self.out_activation = keras.activations.get(out_activation)
        self.use_bias = use_bias
        # In the stock layers' order: each unseeded initialiser draws its seed when made.
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.out_kernel_initializer = keras.initializers.get(kernel_initializer)
        self.out_bias_initializer = keras.initializers.get(bias_initializer)
        self.input_spec = layers.InputSpec(ndim=4)

    def _fast(self) -> bool:
        # Phases hold a pixel's channels apart: only elementwise activations commute.
        return (
            self.strides[0] == self.strides[1]
            and all(k >= s for k, s in zip(self.kernel_size, self.strides, strict=True))
            and _elementwise(self.activation)
            and _elementwise(self.out_activation)
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, self.filters, channels),
            initializer=self.kernel_initializer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        self.out_kernel = self.add_weight(
            name="out_kernel",
            shape=(*self.out_kernel_size, self.filters, self.out_filters),
            initializer=self.out_kernel_initializer,
        )
        self.out_bias = (
            self.add_weight(
                name="out_bias", shape=(self.out_filters,), initializer=self.out_bias_initializer
            )
            if self.use_bias
            else None
        )
        if self._fast():
            stride = self.strides[0]
            self._deconv = _deconv_phase_index(self.kernel_size, stride, channels, self.filters)
            self._conv = _conv_phase_index(
                self.out_kernel_size, stride, self.filters, self.out_filters
            )

    def call(self, inputs):
        if not self._fast():
            return self._stock(inputs)
        s = self.strides[0]
        _, h, w, _ = inputs.shape
        if h is None or w is None:
            # (n, h, w, channels) -> (n, h, w, s*s*filters): the transposed conv's phases
            phases = self.activation(_phases(inputs, self.kernel, self.bias, self._deconv, s))
            # -> (n, h, w, s*s*out_filters): the conv's phases -> (n, s*h, s*w, out_filters)
            phases = _phases(phases, self.out_kernel, self.out_bias, self._conv, s)
            return ops.depth_to_space(self.out_activation(phases), s)
        # The same two phase convs as matrix products, batch last (`_phases_by_matmul`):
        # (n, h, w, channels) -> (channels, h, w, n) -> (s*s*filters, h, w, n)
        x = ops.transpose(inputs, (3, 1, 2, 0))
        x = self.activation(_phases_by_matmul(x, self.kernel, self.bias, self._deconv, s))
        # -> (s*s*out_filters, h, w, n), rows (phase y, phase x, filter)
        x = self.out_activation(_phases_by_matmul(x, self.out_kernel, self.out_bias, self._conv, s))
        x = ops.reshape(x, (s, s, self.out_filters, h, w, -1))
        x = ops.transpose(x, (5, 3, 0, 4, 1, 2))  # (n, h, s, w, s, out_filters)
        return ops.reshape(x, (-1, s * h, s * w, self.out_filters))

    def _stock(self, inputs):
        x = ops.conv_transpose(inputs, self.kernel, self.strides, "same")
        if self.use_bias:
            x = x + self.bias
        x = ops.conv(self.activation(x), self.out_kernel, 1, "same")
        if self.use_bias:
            x = x + self.out_bias
        return self.out_activation(x)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        sh, sw = self.strides
        return (n, None if h is None else h * sh, None if w is None else w * sw, self.out_filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "activation": keras.activations.serialize(self.activation),
            "out_filters": self.out_filters,
            "out_kernel_size": self.out_kernel_size,
            "out_activation": keras.activations.serialize(self.out_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
