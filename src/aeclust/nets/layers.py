"""Faster equivalents of the conv autoencoder's slowest Keras layers, for TensorFlow on CPU.

Each computes the same function and gradients as the stock layers it stands for, up to
float32 rounding, with the same weights (names, shapes, initialisers, creation order: the
same seed gives the same initial model), and falls back to the stock computation for the
configurations it does not cover. Outside their TensorFlow-only branches they use only
`keras.ops`, so they run on every backend;
the gain is for TensorFlow's CPU kernels (oneDNN), which are slow for these small shapes.
On JAX (XLA) they are slower than the stock layers, and `aeclust.nets.models` builds the
stock ones there. `bench/train_speed.py` measures a whole training epoch against the study's
own Keras code, `bench/layer_times.py` each layer against the stock one; bench/results/
holds their figures, with their hosts.

- `BandedConv2D`: a stride-1 conv of an image with few channels (the encoder's 5x5 conv
  of the 1-channel image) as one matrix product of each output row's input rows with a
  banded matrix built from the kernel.
- `SeparableMaxPooling2D`: a max over a ph x pw window is the max over ph rows of the max
  over pw columns; each 1-D pool runs on a view with the pooled axis first and the rest as
  channels, so the kernels see hundreds of channels instead of the study's 10; on
  TensorFlow the study's stride-1 pool takes its gradient from masks compiled by XLA.
- `PhaseDecoder2D`: the decoder's stride-2 transposed conv and the 10 -> 1 output conv
  after it, as one layer that works on the sub-pixel phases and never forms the 28x28x10
  image; where the image size is known both phase convs are matrix products on the
  batch-last layout (channels, h, w, n), where a shift of the image moves whole rows.
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
    gradient are slow for the study's 10 channels). Same values, same gradient.
    On TensorFlow, a stride-1 'valid' pool (the study's) takes its gradient from
    `_window_max_gradient` instead of TensorFlow's pooling gradient."""
    _, a, b, c = x.shape
    if None in (a, b, c):  # the view needs the sizes: the plain (size, 1) pool
        return ops.max_pool(x, (size, 1), (stride, 1), padding, "channels_last")
    view = ops.reshape(x, (-1, a, 1, b * c))
    if stride == 1 and padding == "valid" and keras.backend.backend() == "tensorflow":
        pooled = _tf_pool_rows(view, size)
    else:
        pooled = ops.max_pool(view, (size, 1), (stride, 1), padding, "channels_last")
    return ops.reshape(pooled, (-1, pooled.shape[1], b, c))


def _window_max_gradient(x, pooled, upstream):
    """The gradient of a stride-1 'valid' max over windows along axis 1 of x
    (n, a, 1, m): each window's upstream value goes to the first element of the window
    that equals its max (where TensorFlow's pooling gradient sends it), computed as
    one masked, shifted copy of the upstream per window offset."""
    size = x.shape[1] - pooled.shape[1] + 1
    length = pooled.shape[1]
    left, placed = upstream, []
    for offset in range(size):
        taken = ops.where(ops.equal(x[:, offset : offset + length], pooled), left, 0.0)
        left = left - taken
        placed.append(ops.pad(taken, [(0, 0), (offset, size - 1 - offset), (0, 0), (0, 0)]))
    # Each element sums its windows' shares in window order, as TensorFlow's gradient
    # does: the last offset (the earliest window) first.
    total = placed[-1]
    for share in reversed(placed[:-1]):
        total = total + share
    return total


_compiled_gradients = {}


def _tf_pool_rows(view, size: int):
    """TensorFlow: the stride-1 'valid' (size, 1) max pool of `view` (n, a, 1, m), with
    `_window_max_gradient` compiled by XLA into one pass as its gradient: TensorFlow's
    own pooling gradient takes ~22 ms of a study batch's ~125 ms per 1-D pool (300
    images, 2 cores), the compiled one ~4 ms (`bench/layer_times.py`)."""
    import tensorflow as tf

    if "rows" not in _compiled_gradients:
        _compiled_gradients["rows"] = tf.function(_window_max_gradient, jit_compile=True)
    gradient = _compiled_gradients["rows"]

    @tf.custom_gradient
    def pool(x):
        pooled = tf.nn.max_pool2d(x, (size, 1), 1, "VALID")
        return pooled, lambda upstream: gradient(x, pooled, upstream)

    return pool(view)


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


def _banded_index(kh: int, kw: int, padded_width: int, out_width: int, channels: int, filters: int):
    """Where each entry of `BandedConv2D`'s matrix (kh * padded_width * channels,
    out_width * filters) comes from in the conv's kernel (kh, kw, channels, filters),
    flattened with one zero appended: row (u, input column jj, channel ci) meets column
    (output column j, filter co) at kernel[u, jj - j, ci, co] where 0 <= jj - j < kw."""
    zero = kh * kw * channels * filters
    index = np.full((kh, padded_width, channels, out_width, filters), zero, dtype="int32")
    per_pair = np.arange(channels)[:, None] * filters + np.arange(filters)[None, :]
    for u in range(kh):
        for j in range(out_width):
            for v in range(kw):
                index[u, j + v, :, j, :] = (u * kw + v) * channels * filters + per_pair
    return index.reshape(kh * padded_width * channels, out_width * filters)


@keras.saving.register_keras_serializable(package="aeclust")
class BandedConv2D(layers.Conv2D):
    """`Conv2D`, computed for a stride-1 conv of an image with few channels (the study's
    encoder conv: 28x28x1 -> 28x28x10, 5x5) as one matrix product: each output row is
    the kh input rows it sees, side by side, times a banded matrix that holds the kernel
    once per output column. The product has ~6x the arithmetic of the conv, but it runs
    at matrix-product speed where TensorFlow's conv and its filter gradient, for one
    input channel, run at a few GFLOP/s (a study batch: ~48 ms of ~125 ms, against ~15 ms
    as a product; `bench/layer_times.py`).

    Same weights (it is a `Conv2D`: same names, shapes and initialisers). Strides,
    dilation, groups, channels-first, an unknown image size, or a banded matrix over
    `max_matrix` entries: the stock conv.
    """

    max_matrix = 1 << 20

    def _banded_plan(self, input_shape):
        _, h, w, channels = input_shape
        kh, kw = self.kernel_size
        if (
            self.data_format != "channels_last"
            or tuple(self.strides) != (1, 1)
            or tuple(self.dilation_rate) != (1, 1)
            or self.groups != 1
            or None in (h, w, channels)
            or self.padding not in ("same", "valid")
        ):
            return None
        if self.padding == "same":
            pads = (_same_padding(kh), _same_padding(kw))
            out_h, out_w = h, w
        else:
            pads = ((0, 0), (0, 0))
            out_h, out_w = h - kh + 1, w - kw + 1
        padded_w = w + sum(pads[1])
        size = kh * padded_w * channels * out_w * self.filters
        if out_h < 1 or out_w < 1 or size > self.max_matrix:
            return None
        index = _banded_index(kh, kw, padded_w, out_w, channels, self.filters)
        return index, pads, out_h, out_w

    def call(self, inputs):
        plan = self._banded_plan(inputs.shape)
        if plan is None:
            return super().call(inputs)
        index, pads, out_h, out_w = plan
        _, _, _, channels = inputs.shape
        kh = self.kernel_size[0]
        x = ops.pad(inputs, [(0, 0), *pads, (0, 0)])
        x = ops.reshape(x, (-1, x.shape[1], x.shape[2] * channels))  # (n, rows, cols * ch)
        rows = ops.concatenate([x[:, u : u + out_h] for u in range(kh)], axis=-1)
        matrix = _gather_kernel(self.kernel, index)
        y = ops.matmul(ops.reshape(rows, (-1, rows.shape[-1])), matrix)
        if self.use_bias:
            y = y + ops.tile(self.bias, (out_w,))
        if self.activation is not None:
            y = self.activation(y)
        return ops.reshape(y, (-1, out_h, out_w, self.filters))


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
class PhaseDecoder2D(layers.Layer):
    """`Conv2DTranspose(filters, kernel_size, strides, padding="same", activation)`,
    then `Conv2D(out_filters, out_kernel_size, padding="same", activation=out_activation)`:
    the conv autoencoder's decoder (14x14x1 -> 28x28x10 -> 28x28x1), as one layer that
    never forms the 28x28x10 image.

    Output pixel (s*m + a, s*q + b) of the transposed conv sees only input pixels near
    (m, q), so all its s*s sub-pixel phases are one stride-1 conv of the input,
    (n, h, w, s*s*filters), with a kernel gathered from the transposed conv's
    (`_deconv_phase_index`). The stride-1 conv that follows works on
    the phases directly, giving its own output's phases, (n, h, w, s*s*out_filters), with
    a kernel gathered from its own (`_conv_phase_index`). The one shuffle left moves s*s*out_filters
    channels instead of s*s*filters. Where the image size is known, both phase convs run
    as matrix products with the batch last (`_phases_by_matmul`), and the one shuffle
    left is a transpose back to the image layout (without the size: stock convs on the
    phases, then depth_to_space).

    The weights are the two stock layers' (kernel (kh, kw, filters, channels) and bias
    (filters,), then out_kernel (okh, okw, filters, out_filters) and out_bias), created in
    that order with the same initialisers, so a seed gives the two stock layers' initial
    weights. Other backends compute the same phases (`keras.ops` only), without the gain;
    there `aeclust.nets.models` builds the two stock layers. A stride larger than the kernel,
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
