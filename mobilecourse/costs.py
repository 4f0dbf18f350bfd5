"""Exact cost formulas for the layers of light-weight CNNs.

Pure integer shape maths with no TensorFlow or Keras import, so the formulas
can be read, tested and used anywhere (notebooks, the profiler, the widgets).

Conventions (the course brief's, used in every lesson):

* A **MAC** is one multiply-accumulate. The papers' "mult-adds" (MobileNet,
  MobileNetV2) and ShuffleNet's "FLOPs" ("floating-point
  multiplication-adds") are MACs. **FLOPs = 2 x MACs**; a MAC count is never
  labelled FLOPs.
* MACs count convolution and dense kernels only, per image (batch 1). Bias
  adds, BatchNorm, activations, pooling, residual adds and concatenations are
  not MACs.
* ``params`` is what Keras ``count_params()`` reports for the layer: kernel
  ``weights`` plus ``bias``. The papers count differently (MobileNet: kernel
  weights only; SqueezeNet: weights + bias), so both parts are kept apart.
* Padding ``"same"``: ``out = ceil(in / stride)``; ``"valid"``:
  ``out = floor((in - k) / stride) + 1``.
* Shapes are per image and channels-last: ``(H, W, C)``.

Example:
    >>> from mobilecourse import costs
    >>> c = costs.conv2d((14, 14, 512), filters=512, kernel_size=3, use_bias=False)
    >>> c.macs, c.params
    (462422016, 2359296)
"""

from __future__ import annotations

from dataclasses import dataclass

from mobilecourse._validate import boolean, integer

__all__ = [
    "PADDINGS",
    "LayerCost",
    "batch_norm",
    "conv2d",
    "dense",
    "memory_traffic",
    "model_size_bytes",
    "depthwise_conv2d",
    "output_size",
    "separable_conv2d",
]

#: Padding modes the formulas accept (Keras names).
PADDINGS = ("same", "valid")


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer (or of several, added up) for one image.

    Attributes:
        macs: multiply-accumulates of the kernels (bias adds excluded).
        weights: kernel weights (what the MobileNet paper counts as params).
        bias: bias parameters.
        output_shape: shape of the output per image, e.g. ``(H, W, C)`` or
            ``(units,)``. For a sum of costs it is the shape of the right-most
            term, so ``a + b`` reads as "a, then b".
        batchnorm: BatchNorm parameters (gamma, beta, moving mean and
            variance; 0 for a convolution or dense layer).
    """

    macs: int
    weights: int
    bias: int
    output_shape: tuple[int, ...]
    batchnorm: int = 0

    @property
    def params(self) -> int:
        """All parameters: weights + bias + BatchNorm (what Keras ``count_params()`` reports)."""
        return self.weights + self.bias + self.batchnorm

    @property
    def flops(self) -> int:
        """Floating-point operations, counting a multiply and an add apart: ``2 * macs``."""
        return 2 * self.macs

    def __add__(self, other: LayerCost) -> LayerCost:
        if not isinstance(other, LayerCost):
            return NotImplemented
        return LayerCost(
            macs=self.macs + other.macs,
            weights=self.weights + other.weights,
            bias=self.bias + other.bias,
            output_shape=other.output_shape,
            batchnorm=self.batchnorm + other.batchnorm,
        )

    def __radd__(self, other: object) -> LayerCost:
        # ``sum()`` starts from the integer 0.
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented


# ---------------------------------------------------------------- validation


def _pair(value: object, name: str) -> tuple[int, int]:
    """Normalise an int or a pair of ints (Keras style) to a pair of positive ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a positive integer or a pair of them, got {value!r}")
        return (
            integer(value[0], name, what="a positive integer or a pair of them"),
            integer(value[1], name, what="a positive integer or a pair of them"),
        )
    v = integer(value, name, what="a positive integer or a pair of them")
    return v, v


def _padding(value: object) -> str:
    if not isinstance(value, str) or value.lower() not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {value!r}")
    return value.lower()


def _input_shape(value: object) -> tuple[int, int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise ValueError(
            f"input_shape must be (height, width, channels) of positive integers, got {value!r}"
        )
    h, w, c = value
    return (
        integer(h, "input_shape height"),
        integer(w, "input_shape width"),
        integer(c, "input_shape channels"),
    )


# ---------------------------------------------------------------- formulas


def output_size(size: int, kernel_size: int, strides: int = 1, padding: str = "same") -> int:
    """Spatial output size of a convolution or pooling along one axis.

    Cost:
        ``"same"``: ``ceil(size / strides)``; ``"valid"``:
        ``floor((size - kernel_size) / strides) + 1`` (Keras / TensorFlow rules).

    Args:
        size: input size along the axis.
        kernel_size: kernel size along the axis.
        strides: stride along the axis.
        padding: ``"same"`` or ``"valid"``.

    Returns:
        The output size.

    Raises:
        ValueError: a non-positive or non-integer size, an unknown padding, or
            a kernel larger than the input with ``"valid"`` padding.
    """
    size = integer(size, "size")
    kernel_size = integer(kernel_size, "kernel_size")
    strides = integer(strides, "strides")
    padding = _padding(padding)
    if padding == "same":
        return -(-size // strides)
    if kernel_size > size:
        raise ValueError(
            f"kernel_size={kernel_size} is larger than the input size {size}; "
            'with padding="valid" it must be at most the input size (or use padding="same")'
        )
    return (size - kernel_size) // strides + 1


def _output_hw(
    height: int, width: int, kernel: tuple[int, int], strides: tuple[int, int], padding: str
) -> tuple[int, int]:
    if padding == "valid" and (kernel[0] > height or kernel[1] > width):
        raise ValueError(
            f"kernel_size={kernel} is larger than the {height}x{width} input; "
            'with padding="valid" it must fit inside the input (or use padding="same")'
        )
    return (
        output_size(height, kernel[0], strides[0], padding),
        output_size(width, kernel[1], strides[1], padding),
    )


def conv2d(
    input_shape: tuple[int, int, int],
    filters: int,
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: str = "same",
    groups: int = 1,
    use_bias: bool = True,
) -> LayerCost:
    """Standard (optionally grouped) 2-D convolution, like ``keras.layers.Conv2D``.

    Cost:
        MACs = Dk_h * Dk_w * (M / g) * N * Dout_h * Dout_w and weights =
        Dk_h * Dk_w * (M / g) * N, bias = N (MobileNet, Howard et al. 2017,
        eq. 1; grouped: ShuffleNet, Zhang et al. 2017), with M input
        channels, N filters and g groups.

    Args:
        input_shape: ``(H, W, M)`` per image.
        filters: output channels N.
        kernel_size: an int or a pair ``(Dk_h, Dk_w)``.
        strides: an int or a pair.
        padding: ``"same"`` or ``"valid"``.
        groups: number of groups g; must divide both M and N.
        use_bias: whether the layer has a bias per filter.

    Returns:
        The layer's ``LayerCost``.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    h, w, c = _input_shape(input_shape)
    filters = integer(filters, "filters")
    kernel = _pair(kernel_size, "kernel_size")
    stride = _pair(strides, "strides")
    padding = _padding(padding)
    groups = integer(groups, "groups")
    use_bias = boolean(use_bias, "use_bias")
    if c % groups:
        raise ValueError(f"groups={groups} does not divide {c} input channels")
    if filters % groups:
        raise ValueError(f"groups={groups} does not divide filters={filters}")
    oh, ow = _output_hw(h, w, kernel, stride, padding)
    weights = kernel[0] * kernel[1] * (c // groups) * filters
    return LayerCost(
        macs=weights * oh * ow,
        weights=weights,
        bias=filters if use_bias else 0,
        output_shape=(oh, ow, filters),
    )


def depthwise_conv2d(
    input_shape: tuple[int, int, int],
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: str = "same",
    depth_multiplier: int = 1,
    use_bias: bool = True,
) -> LayerCost:
    """Depthwise convolution: one filter per input channel (``keras.layers.DepthwiseConv2D``).

    Cost:
        MACs = Dk_h * Dk_w * M * d * Dout_h * Dout_w, weights = Dk_h * Dk_w * M * d,
        bias = M * d, with d the depth multiplier (MobileNet, Howard et al.
        2017, eq. 3).

    Args:
        input_shape: ``(H, W, M)`` per image.
        kernel_size: an int or a pair.
        strides: an int or a pair.
        padding: ``"same"`` or ``"valid"``.
        depth_multiplier: output channels per input channel.
        use_bias: whether the layer has a bias per output channel.

    Returns:
        The layer's ``LayerCost``; the output has ``M * depth_multiplier`` channels.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    h, w, c = _input_shape(input_shape)
    kernel = _pair(kernel_size, "kernel_size")
    stride = _pair(strides, "strides")
    padding = _padding(padding)
    depth_multiplier = integer(depth_multiplier, "depth_multiplier")
    use_bias = boolean(use_bias, "use_bias")
    oh, ow = _output_hw(h, w, kernel, stride, padding)
    out_channels = c * depth_multiplier
    weights = kernel[0] * kernel[1] * out_channels
    return LayerCost(
        macs=weights * oh * ow,
        weights=weights,
        bias=out_channels if use_bias else 0,
        output_shape=(oh, ow, out_channels),
    )


def separable_conv2d(
    input_shape: tuple[int, int, int],
    filters: int,
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: str = "same",
    use_bias: bool = True,
    depth_multiplier: int = 1,
) -> LayerCost:
    """Depthwise separable convolution: depthwise then 1x1 pointwise (``SeparableConv2D``).

    Like Keras, the bias (if any) belongs to the pointwise part only.

    Cost:
        MACs = Dk_h * Dk_w * M * Dout^2 + M * N * Dout^2, i.e. a fraction
        1/N + 1/Dk^2 of the standard convolution (MobileNet, Howard et al.
        2017, eqs. 4-5); weights = Dk_h * Dk_w * M + M * N, bias = N.

    Args:
        input_shape: ``(H, W, M)`` per image.
        filters: output channels N of the pointwise convolution.
        kernel_size: depthwise kernel, an int or a pair.
        strides: depthwise stride, an int or a pair.
        padding: ``"same"`` or ``"valid"`` (depthwise part).
        use_bias: whether the pointwise part has a bias per filter.
        depth_multiplier: channels per input channel of the depthwise part.

    Returns:
        The combined ``LayerCost``.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    filters = integer(filters, "filters")
    use_bias = boolean(use_bias, "use_bias")
    depthwise = depthwise_conv2d(
        input_shape, kernel_size, strides, padding, depth_multiplier, use_bias=False
    )
    pointwise = conv2d(depthwise.output_shape, filters, 1, use_bias=use_bias)
    return depthwise + pointwise


def dense(in_features: int, units: int, use_bias: bool = True) -> LayerCost:
    """Fully connected layer (``keras.layers.Dense`` on a flat input).

    Cost:
        MACs = weights = in_features * units; bias = units.

    Args:
        in_features: input features.
        units: output features.
        use_bias: whether the layer has a bias per unit.

    Returns:
        The layer's ``LayerCost`` with ``output_shape == (units,)``.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    in_features = integer(in_features, "in_features")
    units = integer(units, "units")
    use_bias = boolean(use_bias, "use_bias")
    weights = in_features * units
    return LayerCost(
        macs=weights, weights=weights, bias=units if use_bias else 0, output_shape=(units,)
    )


def model_size_bytes(params: int, bits: int = 32) -> int:
    """Bytes needed to store ``params`` numbers at ``bits`` bits each.

    Cost:
        size = ceil(params * bits / 8) bytes (Deep Compression, Han et al.
        2015; SqueezeNet Table 2 sizes at 32, 8 and 6 bits).

    Args:
        params: how many numbers are stored.
        bits: bits per number (32 for float32, 16, 8, 6, 4, 2, 1, ...).

    Returns:
        The size in bytes, rounded up to a whole byte.

    Raises:
        ValueError: a non-positive or non-integer ``params`` or ``bits``.
    """
    params = integer(params, "params")
    bits = integer(bits, "bits")
    return -(-params * bits // 8)


def batch_norm(input_shape: tuple[int, ...], center: bool = True, scale: bool = True) -> LayerCost:
    """BatchNormalization over the last axis: no MACs (folded into the convolution at inference).

    Cost:
        0 MACs; params = C * (2 + center + scale): the moving mean and variance
        (non-trainable) plus beta and gamma (Ioffe and Szegedy 2015).

    Args:
        input_shape: the per-image shape; its last entry is the channel count C.
        center: whether the layer has beta.
        scale: whether the layer has gamma.

    Returns:
        A ``LayerCost`` with only ``batchnorm`` parameters; the shape is unchanged.

    Raises:
        ValueError: on an invalid shape or flag.
    """
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise ValueError(
            f"input_shape must be a non-empty tuple of positive integers, got {input_shape!r}"
        )
    shape = tuple(integer(d, "input_shape") for d in input_shape)
    per_channel = 2 + boolean(center, "center") + boolean(scale, "scale")
    return LayerCost(
        macs=0, weights=0, bias=0, output_shape=shape, batchnorm=per_channel * shape[-1]
    )


def memory_traffic(input_shape: tuple[int, ...], cost: LayerCost) -> int:
    """Values a layer moves at least once: it reads its input and its parameters and
    writes its output (per image, each value once; caches that re-read nothing).

    Cost:
        traffic = H * W * M (input) + weights + bias + Hout * Wout * N (output), in values;
        times the bytes per value for bytes (ShuffleNet V2's memory access cost, Ma et al.
        2018, section 2, for a 1x1 convolution: hw(c1 + c2) + c1 c2). Arithmetic intensity
        is ``cost.macs / traffic`` MACs per value.

    Args:
        input_shape: the layer's per-image input shape, e.g. ``(H, W, M)``.
        cost: the layer's :class:`LayerCost` (from :func:`conv2d`, :func:`dense`, ...).

    Returns:
        The number of values read and written.

    Raises:
        TypeError: ``cost`` is not a ``LayerCost``.
        ValueError: an invalid ``input_shape``.
    """
    if not isinstance(cost, LayerCost):
        raise TypeError(f"cost must be a LayerCost, got {type(cost).__name__}")
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise ValueError(
            f"input_shape must be a non-empty tuple of positive integers, got {input_shape!r}"
        )
    values_in = 1
    for d in input_shape:
        values_in *= integer(d, "input_shape")
    values_out = 1
    for d in cost.output_shape:
        values_out *= d
    return values_in + cost.weights + cost.bias + values_out
