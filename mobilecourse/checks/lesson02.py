"""Checkers for lesson 02: depthwise separable convolutions (MobileNet v1)."""

from __future__ import annotations

from collections.abc import Callable

from mobilecourse import costs
from mobilecourse.checks._blocks import check_block
from mobilecourse.checks._core import Mistake, check_function

__all__ = [
    "check_mobilenet_first_layer_macs",
    "check_scaled_separable_macs",
    "check_separable_block",
    "check_separable_macs",
    "check_separable_ratio",
]


def _out(size: int, strides: int) -> int:
    return -(-size // strides)  # "same" padding: ceil(size / strides)


def _separable_macs(shape, filters, k, strides):
    return costs.separable_conv2d(shape, filters, k, strides, use_bias=False).macs


def check_separable_macs(fn: Callable[..., int]) -> None:
    """Lesson 02: ``fn(input_shape, filters, kernel_size, strides)`` is a separable conv's MACs.

    "same" padding, no bias: Dk^2 * M * Dout^2 + M * N * Dout^2 (Howard et al. 2017, eq. 4).
    """

    def parts(shape, filters, k, strides):
        h, w, m = shape
        positions = _out(h, strides) * _out(w, strides)
        return m, positions, k * k * m * positions, m * filters * positions

    def depthwise_full_same(shape, filters, k, s):  # depthwise as a full M -> M conv
        m, positions, _, pw = parts(shape, filters, k, s)
        return k * k * m * m * positions + pw

    def depthwise_full_to_n(shape, filters, k, s):  # depthwise as a full M -> N conv
        m, positions, _, pw = parts(shape, filters, k, s)
        return k * k * m * filters * positions + pw

    def standard_only(shape, filters, k, s):
        m, positions, _, _ = parts(shape, filters, k, s)
        return k * k * m * filters * positions

    def no_pointwise(shape, filters, k, s):
        return parts(shape, filters, k, s)[2]

    def no_depthwise(shape, filters, k, s):
        return parts(shape, filters, k, s)[3]

    def input_positions(shape, filters, k, s):
        h, w, m = shape
        return k * k * m * h * w + m * filters * h * w

    def pointwise_at_input_size(shape, filters, k, s):
        h, w, m = shape
        return parts(shape, filters, k, s)[2] + m * filters * h * w

    def height_twice(shape, filters, k, s):
        h, _, m = shape
        return _separable_macs((h, h, m), filters, k, s)

    hint_full = (
        "The depthwise part was counted as a full convolution. Each depthwise filter sees "
        "only its own channel: it costs Dk*Dk per channel and output position, Dk^2*M*Dout^2 "
        "in all, with no factor for the other channels."
    )
    check_function(
        "MACs of a depthwise separable convolution",
        fn,
        cases=[
            ((14, 14, 512), 512, 3, 1),
            ((112, 112, 32), 64, 3, 1),
            ((112, 112, 64), 128, 3, 2),
            ((7, 7, 1024), 1024, 3, 1),
            ((15, 15, 8), 16, 5, 2),
            ((28, 20, 16), 24, 3, 2),  # not square: height and width differ
        ],
        reference=_separable_macs,
        mistakes=[
            Mistake(hint_full, depthwise_full_same),
            Mistake(hint_full, depthwise_full_to_n),
            Mistake(
                "That is the cost of the standard convolution being replaced: add a depthwise "
                "part (Dk^2*M*Dout^2) and a pointwise part (M*N*Dout^2) instead.",
                standard_only,
            ),
            Mistake(
                "Only the depthwise part is counted: add the 1x1 pointwise convolution "
                "(M*N*Dout^2) that mixes the channels.",
                no_pointwise,
            ),
            Mistake(
                "Only the 1x1 pointwise part is counted: add the depthwise Dk x Dk filtering "
                "(Dk^2*M*Dout^2).",
                no_depthwise,
            ),
            Mistake(
                "You used the input size. Both parts run once per *output* position, and the "
                "stride of the depthwise convolution leaves fewer of them.",
                input_positions,
            ),
            Mistake(
                "The pointwise convolution runs on the depthwise output, which the stride "
                "already shrank: use the output size for both parts.",
                pointwise_at_input_size,
            ),
            Mistake(
                "That is FLOPs (2 x MACs). Report multiply-accumulates.",
                lambda *a: 2 * _separable_macs(*a),
            ),
            Mistake(
                "The output has H_out x W_out positions, not H_out squared: a feature map "
                "need not be square.",
                height_twice,
            ),
        ],
    )


def check_separable_ratio(fn: Callable[[int, int], float]) -> None:
    """Lesson 02: ``fn(n, k)`` is separable / standard cost, ``1/N + 1/Dk^2`` (eq. 5)."""
    check_function(
        "cost ratio separable / standard",
        fn,
        cases=[(512, 3), (32, 3), (1024, 3), (64, 5), (16, 7)],
        reference=lambda n, k: 1 / n + 1 / k**2,
        mistakes=[
            Mistake(
                "The ratio is inverted: that is how many times fewer MACs (standard / "
                "separable). Return separable / standard, a number below 1.",
                lambda n, k: 1 / (1 / n + 1 / k**2),
            ),
            Mistake(
                "The depthwise part saves the kernel *area*: divide by Dk^2 (square the "
                "kernel size), not Dk.",
                lambda n, k: 1 / n + 1 / k,
            ),
            Mistake(
                "Only the depthwise term: the 1x1 pointwise convolution adds 1/N.",
                lambda n, k: 1 / k**2,
            ),
            Mistake(
                "Only the pointwise term: the depthwise convolution adds 1/Dk^2.",
                lambda n, k: 1 / n,
            ),
            Mistake(
                "The two parts run one after the other, so their costs add: sum the two "
                "fractions instead of multiplying them.",
                lambda n, k: 1 / n / k**2,
            ),
        ],
    )


def _first_layer_macs(alpha, resolution):
    return costs.conv2d((resolution, resolution, 3), int(32 * alpha), 3, 2, use_bias=False).macs


def check_mobilenet_first_layer_macs(fn: Callable[[float, int], int]) -> None:
    """Lesson 02: ``fn(alpha, resolution)`` is the MACs of MobileNet v1's first 3x3/2 conv.

    ``int(32 * alpha)`` filters on a ``resolution x resolution x 3`` image, "same" padding.
    """

    def alpha_on_image_float(alpha, r):
        return 9 * (3 * alpha) * int(32 * alpha) * _out(r, 2) ** 2

    def alpha_on_image_int(alpha, r):
        return 9 * max(1, int(3 * alpha)) * int(32 * alpha) * _out(r, 2) ** 2

    def alpha_on_image_round(alpha, r):
        return 9 * max(1, round(3 * alpha)) * int(32 * alpha) * _out(r, 2) ** 2

    hint_image = (
        "The width multiplier was applied to the input image's channels as well. "
        "alpha thins the network's layers, but the image always has 3 channels (RGB): "
        "only the 32 filters become int(32 * alpha)."
    )
    check_function(
        "MobileNet first-layer MACs",
        fn,
        cases=[(1.0, 224), (0.75, 224), (0.5, 160), (0.25, 128), (0.75, 193)],
        reference=_first_layer_macs,
        mistakes=[
            Mistake(hint_image, alpha_on_image_float),
            Mistake(hint_image, alpha_on_image_int),
            Mistake(hint_image, alpha_on_image_round),
            Mistake(
                "alpha is missing: with width multiplier alpha the layer has "
                "int(32 * alpha) filters.",
                lambda alpha, r: 9 * 3 * 32 * _out(r, 2) ** 2,
            ),
            Mistake(
                "The first layer has stride 2: it produces ceil(resolution / 2) outputs "
                "per side, 4x fewer positions than the input.",
                lambda alpha, r: 9 * 3 * int(32 * alpha) * r * r,
            ),
            Mistake(
                'With "same" padding the output size is rounded up: ceil(resolution / 2), '
                "not resolution // 2.",
                lambda alpha, r: 9 * 3 * int(32 * alpha) * (r // 2) ** 2,
            ),
            Mistake(
                "That is FLOPs (2 x MACs). Report multiply-accumulates.",
                lambda alpha, r: 2 * _first_layer_macs(alpha, r),
            ),
        ],
    )


def _table3_macs(channels: int, size: int) -> int:
    return 9 * channels * size * size + channels * channels * size * size


def _scaled_separable_macs(alpha, rho):
    channels, size = int(alpha * 512), round(rho * 14)
    return costs.separable_conv2d((size, size, channels), channels, 3, use_bias=False).macs


def check_scaled_separable_macs(fn: Callable[[float, float], int]) -> None:
    """Lesson 02: ``fn(alpha, rho)`` is the MACs of Table 3's layer under alpha and rho.

    14x14x512 -> 512, 3x3, stride 1: channels ``int(alpha * 512)``, map ``round(rho * 14)``.
    """

    def rho_on_channels(alpha, rho):  # rho thins the channels, the map stays 14 x 14
        return _table3_macs(int(alpha * rho * 512), 14)

    def rho_on_channels_and_map(alpha, rho):
        return _table3_macs(int(alpha * rho * 512), round(rho * 14))

    def rho_linear(alpha, rho):  # scaled only one side of the map
        channels = int(alpha * 512)
        return 9 * channels * 14 * round(rho * 14) + channels * channels * 14 * round(rho * 14)

    def rho_squared_unrounded(alpha, rho):
        return _table3_macs(int(alpha * 512), 14) * rho**2

    def alpha_on_output_only(alpha, rho):
        channels, size = int(alpha * 512), round(rho * 14)
        return 9 * 512 * size * size + 512 * channels * size * size

    check_function(
        "Table 3 layer under alpha and rho",
        fn,
        cases=[(1.0, 1.0), (0.75, 1.0), (0.75, 0.714), (0.5, 0.5), (0.25, 0.857)],
        reference=_scaled_separable_macs,
        mistakes=[
            Mistake(
                "The resolution multiplier was applied to the channels. rho shrinks the "
                "feature map (the input resolution): round(rho * 14) pixels on a side; only "
                "alpha changes the channels.",
                rho_on_channels,
            ),
            Mistake(
                "The resolution multiplier was applied to the channels as well as to the "
                "map: rho changes only the feature map; alpha alone changes the channels.",
                rho_on_channels_and_map,
            ),
            Mistake(
                "rho shrinks both the height and the width of the map, so the cost falls "
                "with rho squared: use round(rho * 14) for both sides.",
                rho_linear,
            ),
            Mistake(
                "A feature map has a whole number of pixels: the paper's rho = 0.714 means "
                "a 10x10 map, round(rho * 14); scale the size, then compute the cost.",
                rho_squared_unrounded,
            ),
            Mistake(
                "alpha thins every layer: the input channels M become int(alpha * 512) too, "
                "not only the output channels N.",
                alpha_on_output_only,
            ),
        ],
    )


# ---------------------------------------------------------------- build the block in Keras


def _separable(
    x,
    filters,
    strides,
    *,
    spatial="depthwise",
    order="dw-pw",
    stride_on="depthwise",
    middle=("bn", "relu"),
):
    """MobileNet's block written with plain Keras layers; each switch makes one classic mistake.

    ``spatial``: ``"depthwise"``, ``"full"`` (a standard 3x3 convolution), ``"groups"``
    (a Conv2D with one group per channel) or ``"separable_layer"`` (Keras's
    SeparableConv2D, then BatchNorm and ReLU); ``order``: ``"pw-dw"`` puts the 1x1 first;
    ``stride_on``: the layer that downsamples; ``middle``: what sits between the two
    convolutions (Keras's SeparableConv2D has nothing there).
    """
    from keras import layers

    channels = x.shape[-1]
    if spatial == "separable_layer":
        y = layers.SeparableConv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        return layers.ReLU()(layers.BatchNormalization()(y))

    def spatial_layer(y, stride):
        if spatial == "full":
            return layers.Conv2D(channels, 3, strides=stride, padding="same", use_bias=False)(y)
        if spatial == "groups":
            return layers.Conv2D(
                channels, 3, strides=stride, padding="same", groups=channels, use_bias=False
            )(y)
        return layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)

    def pointwise(y, stride):
        return layers.Conv2D(filters, 1, strides=stride, use_bias=False)(y)

    first, second = (spatial_layer, pointwise) if order == "dw-pw" else (pointwise, spatial_layer)
    first_stride = strides if (stride_on == "depthwise") == (order == "dw-pw") else 1
    y = first(x, first_stride)
    if "bn" in middle:
        y = layers.BatchNormalization()(y)
    if "relu" in middle:
        y = layers.ReLU()(y)
    y = second(y, strides if first_stride == 1 else 1)
    y = layers.BatchNormalization()(y)
    return layers.ReLU()(y)


def _reference_separable(x, filters, strides):
    from mobilecourse import blocks

    return blocks.depthwise_separable_block(x, filters=filters, strides=strides, name="reference")


def check_separable_block(fn: Callable[..., object]) -> None:
    """Lesson 02: ``fn(x, filters, strides)`` builds MobileNet's depthwise separable block.

    3x3 depthwise convolution (stride ``strides``, "same" padding, no bias) -> BatchNorm ->
    ReLU -> 1x1 convolution with ``filters`` filters (no bias) -> BatchNorm -> ReLU
    (Howard et al. 2017, Fig. 3), compared layer by layer with
    ``blocks.depthwise_separable_block``; names do not matter.

    A ``Conv2D(M, 3, groups=M)`` computes the same function with the same weights and
    MACs as a ``DepthwiseConv2D``, but it is not accepted: the exercise is to name the
    layer that frameworks and converters treat as the depthwise kernel (TensorFlow Lite
    turns a DepthwiseConv2D into its DEPTHWISE_CONV_2D operation and the grouped Conv2D
    into a general CONV_2D), and the hint says why the two agree.
    """

    def wrong(**switches):
        return lambda x, filters, strides: _separable(x, filters, strides, **switches)

    check_block(
        "build a depthwise separable block",
        fn,
        cases=[
            ((14, 14, 32), {"filters": 64, "strides": 1}),
            ((28, 28, 16), {"filters": 32, "strides": 2}),
            ((9, 7, 8), {"filters": 8, "strides": 2}),
        ],
        reference=_reference_separable,
        mistakes=[
            Mistake(
                "The 3x3 layer is a standard convolution: each of its filters spans every "
                "input channel, which is the cost the block exists to avoid. Use "
                "keras.layers.DepthwiseConv2D: one 3x3 filter per channel.",
                wrong(spatial="full"),
            ),
            Mistake(
                "Conv2D(M, 3, groups=M) is the depthwise convolution written as a group "
                "convolution with one channel per group: the same weights, MACs and outputs. "
                "Build it with keras.layers.DepthwiseConv2D, the layer runtimes map to their "
                "depthwise kernels: TensorFlow Lite converts it to DEPTHWISE_CONV_2D, the "
                "grouped Conv2D to a general CONV_2D.",
                wrong(spatial="groups"),
            ),
            Mistake(
                "The 1x1 pointwise convolution comes second: first filter each channel in "
                "space (depthwise 3x3), then mix the channels (1x1).",
                wrong(order="pw-dw"),
            ),
            Mistake(
                "The stride belongs to the depthwise convolution. A strided 1x1 convolution "
                "just skips three of every four positions without looking at them.",
                wrong(stride_on="pointwise"),
            ),
            Mistake(
                "That is Keras's SeparableConv2D form (Xception's): nothing between the two "
                "convolutions. MobileNet puts BatchNorm and ReLU after the depthwise "
                "convolution too (its Fig. 3).",
                wrong(middle=()),
            ),
            Mistake(
                "keras.layers.SeparableConv2D runs the depthwise and the pointwise "
                "convolution back to back with nothing between them (Xception's form). "
                "MobileNet's block has BatchNorm and ReLU after each: build it from "
                "DepthwiseConv2D and a 1x1 Conv2D.",
                wrong(spatial="separable_layer"),
            ),
        ],
    )
