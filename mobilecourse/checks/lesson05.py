"""Checkers for lesson 05: inverted residuals and linear bottlenecks (MobileNetV2)."""

from __future__ import annotations

import math
from collections.abc import Callable

from mobilecourse import costs
from mobilecourse.checks._blocks import check_block
from mobilecourse.checks._core import Mistake, check_function

__all__ = [
    "check_bottleneck_activation",
    "check_has_residual",
    "check_inverted_residual_block",
    "check_inverted_residual_macs",
    "check_v2_width",
]


# ---------------------------------------------------------------- the residual rule


def _has_residual(in_channels: int, out_channels: int, strides: int) -> bool:
    return strides == 1 and in_channels == out_channels


def check_has_residual(fn: Callable[[int, int, int], bool]) -> None:
    """Lesson 05: ``fn(in_channels, out_channels, strides)`` is True if the block adds its input."""
    check_function(
        "residual rule of an inverted residual block",
        fn,
        cases=[
            (24, 24, 1),
            (24, 24, 2),
            (16, 24, 1),
            (32, 64, 2),
            (96, 96, 1),
            (160, 160, 2),
        ],
        reference=_has_residual,
        mistakes=[
            Mistake(
                "A stride-2 block halves the height and width: its output cannot be added "
                "to its input, even when the channel counts match. The shortcut needs stride 1.",
                lambda c_in, c_out, s: c_in == c_out,
            ),
            Mistake(
                "At stride 1 the shapes can still differ in the channels (the first block of "
                "a stage changes c): the add needs in_channels == out_channels too.",
                lambda c_in, c_out, s: s == 1,
            ),
            Mistake(
                "The shortcut is the default, not the exception: a block adds its input "
                "whenever the shapes allow it.",
                lambda c_in, c_out, s: False,
            ),
        ],
    )


# ---------------------------------------------------------------- block cost


def _block_macs(
    h,
    w,
    c_in,
    c_out,
    t,
    stride,
    *,
    hidden=None,
    full_depthwise=False,
    expand_at_output=False,
    skip_t1=True,
    count_add=False,
    stride_ignored=False,
):
    """MACs of an inverted residual block, with switches that reproduce classic mistakes."""
    hidden = t * c_in if hidden is None else hidden
    s = 1 if stride_ignored else stride
    expand_in = (h, w, c_in)
    dw_in = (h, w, hidden)
    if expand_at_output:
        oh, ow = costs.output_size(h, 3, s), costs.output_size(w, 3, s)
        expand_in, dw_in, s = (oh, ow, c_in), (oh, ow, hidden), 1
    macs = 0
    if t > 1 or not skip_t1:
        macs += costs.conv2d(expand_in, hidden, 1, use_bias=False).macs
    if full_depthwise:
        dw = costs.conv2d(dw_in, hidden, 3, s, use_bias=False)
    else:
        dw = costs.depthwise_conv2d(dw_in, 3, s, use_bias=False)
    macs += dw.macs
    project = costs.conv2d(dw.output_shape, c_out, 1, use_bias=False)
    macs += project.macs
    if count_add and stride == 1 and c_in == c_out:
        oh, ow, _ = project.output_shape
        macs += oh * ow * c_out
    return macs


def check_inverted_residual_macs(fn: Callable[[int, int, int, int, int, int], int]) -> None:
    """Lesson 05: ``fn(h, w, c_in, c_out, t, stride)`` is the MACs of an inverted residual block."""
    check_function(
        "MACs of an inverted residual block",
        fn,
        cases=[
            (112, 112, 16, 24, 6, 2),
            (56, 56, 24, 24, 6, 1),
            (14, 14, 64, 96, 6, 1),
            (112, 112, 32, 16, 1, 1),
            (15, 15, 32, 64, 6, 2),
            (7, 7, 160, 320, 6, 1),
            (28, 28, 32, 32, 3, 1),
        ],
        reference=_block_macs,
        mistakes=[
            Mistake(
                "The expansion factor multiplies the block's *input* channels: the wide "
                "tensor has t * c_in channels, not t * c_out.",
                lambda h, w, ci, co, t, s: _block_macs(h, w, ci, co, t, s, hidden=t * co),
            ),
            Mistake(
                "The 3x3 convolution in the middle is depthwise: one 3x3 filter per channel, "
                "9 MACs per output value, not 9 x channels as in a full convolution.",
                lambda h, w, ci, co, t, s: _block_macs(h, w, ci, co, t, s, full_depthwise=True),
            ),
            Mistake(
                "The stride belongs to the depthwise convolution: with stride 2 it and the "
                "projection run at the halved output size.",
                lambda h, w, ci, co, t, s: _block_macs(h, w, ci, co, t, s, stride_ignored=True),
            ),
            Mistake(
                "The 1x1 expansion comes before the strided depthwise convolution, so it "
                "runs at the input size h x w, not at the output size.",
                lambda h, w, ci, co, t, s: _block_macs(h, w, ci, co, t, s, expand_at_output=True),
            ),
            Mistake(
                "With t = 1 there is nothing to expand: the block has no expansion layer "
                "(it starts with the depthwise convolution).",
                lambda h, w, ci, co, t, s: _block_macs(h, w, ci, co, t, s, skip_t1=False),
            ),
            Mistake(
                "The residual add is not a MAC (no multiplication): count only the convolutions.",
                lambda h, w, ci, co, t, s: _block_macs(h, w, ci, co, t, s, count_add=True),
            ),
            Mistake(
                "That is FLOPs (2 x MACs). Count multiply-accumulates.",
                lambda h, w, ci, co, t, s: 2 * _block_macs(h, w, ci, co, t, s),
            ),
        ],
    )


# ---------------------------------------------------------------- width multiplier


def _v2_width(channels: int, alpha: float) -> int:
    value = channels * alpha
    rounded = max(8, int(value + 4) // 8 * 8)
    if rounded < 0.9 * value:
        rounded += 8
    return rounded


def _nearest_multiple(channels, alpha):
    return max(8, int(channels * alpha + 4) // 8 * 8)


def check_v2_width(fn: Callable[[int, float], int]) -> None:
    """Lesson 05: ``fn(channels, alpha)`` is a MobileNetV2 layer width under the multiplier."""
    check_function(
        "MobileNetV2 width with make_divisible",
        fn,
        cases=[
            (16, 1.4),
            (32, 1.0),
            (24, 0.75),
            (32, 0.35),
            (96, 0.35),
            (160, 1.4),
            (16, 0.1),
            (64, 0.5),
        ],
        reference=_v2_width,
        mistakes=[
            Mistake(
                "make_divisible rounding forgotten: c * alpha must be rounded to a multiple "
                "of 8 (hardware-friendly channel counts).",
                lambda c, a: c * a,
            ),
            Mistake(
                "make_divisible rounding forgotten: c * alpha must be rounded to a multiple "
                "of 8 (hardware-friendly channel counts).",
                lambda c, a: int(c * a),
            ),
            Mistake(
                "make_divisible rounding forgotten: c * alpha must be rounded to a multiple "
                "of 8 (hardware-friendly channel counts).",
                lambda c, a: round(c * a),
            ),
            Mistake(
                "Rounding may not remove more than 10 % of the channels: if the nearest "
                "multiple of 8 is below 0.9 * c * alpha, take the next multiple up.",
                _nearest_multiple,
            ),
            Mistake(
                "Round to the *nearest* multiple of 8, not down.",
                lambda c, a: max(8, int(c * a) // 8 * 8),
            ),
            Mistake(
                "Round to the *nearest* multiple of 8, not up.",
                lambda c, a: max(8, math.ceil(c * a / 8) * 8),
            ),
        ],
    )


# ---------------------------------------------------------------- linear bottleneck


def _bottleneck_activation(layer: str) -> bool:
    return layer in ("expand", "depthwise")


def _wrong_at(name: str) -> Callable[[str], bool]:
    """The right answers except for layer ``name``."""

    def answer(layer: str) -> bool:
        right = _bottleneck_activation(layer)
        return (not right) if layer == name else right

    return answer


def check_bottleneck_activation(fn: Callable[[str], bool]) -> None:
    """Lesson 05: ``fn(layer)`` says if ``"expand"``, ``"depthwise"`` or ``"project"`` has ReLU6."""
    check_function(
        "which layers of the block get an activation",
        fn,
        cases=[("expand",), ("depthwise",), ("project",)],
        reference=_bottleneck_activation,
        mistakes=[
            Mistake(
                "ReLU after the projection: the projection writes the narrow bottleneck, a "
                "low-dimensional space where ReLU destroys information (the spiral demo). "
                "It stays linear.",
                _wrong_at("project"),
            ),
            Mistake(
                "The depthwise output is still the wide t * c_in-channel tensor, where "
                "ReLU6 is safe, and MobileNetV2 applies it there (ShuffleNet is the one "
                "without a ReLU after its depthwise convolution).",
                _wrong_at("depthwise"),
            ),
            Mistake(
                "The expansion writes the wide t * c_in-channel tensor, where ReLU6 is safe: "
                "MobileNetV2 applies it there. Only the narrow bottleneck stays linear.",
                _wrong_at("expand"),
            ),
        ],
    )


# ---------------------------------------------------------------- build the block in Keras


def _inverted_residual(
    x,
    expansion,
    filters,
    strides,
    *,
    project_relu=False,
    activation="relu6",
    residual="rule",
    stride_on="depthwise",
    expand_t1=False,
    hidden_from="input",
    spatial="depthwise",
    input_first=True,
):
    """An inverted residual block with plain Keras layers; each switch makes one mistake.

    ``residual``: ``"rule"`` (stride 1 and equal channels), ``"channels"`` (whenever the
    channels match), ``"stride"`` (whenever the stride is 1) or ``"never"``;
    ``stride_on``: ``"depthwise"``, ``"expand"`` or ``"project"``; ``hidden_from``:
    ``"input"`` (t * c_in) or ``"output"`` (t * filters); ``spatial``: ``"depthwise"``
    or ``"full"`` (a standard 3x3 convolution); ``input_first``: the order of the add's
    inputs (it changes the text of the error Keras raises when the shapes differ).
    """
    from keras import layers

    def act():
        return layers.ReLU(6.0) if activation == "relu6" else layers.ReLU()

    channels = x.shape[-1]
    hidden = expansion * (channels if hidden_from == "input" else filters)
    y = x
    if expansion > 1 or expand_t1:
        y = layers.Conv2D(
            hidden, 1, strides=strides if stride_on == "expand" else 1, use_bias=False
        )(y)
        y = act()(layers.BatchNormalization()(y))
    dw_stride = strides if stride_on == "depthwise" else 1
    if spatial == "full":
        y = layers.Conv2D(y.shape[-1], 3, strides=dw_stride, padding="same", use_bias=False)(y)
    else:
        y = layers.DepthwiseConv2D(3, strides=dw_stride, padding="same", use_bias=False)(y)
    y = act()(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 1, strides=strides if stride_on == "project" else 1, use_bias=False)(
        y
    )
    y = layers.BatchNormalization()(y)
    if project_relu:
        y = act()(y)
    add = {
        "rule": strides == 1 and channels == filters,
        "channels": channels == filters,
        "stride": strides == 1,
        "never": False,
    }[residual]
    return layers.Add()([x, y] if input_first else [y, x]) if add else y


def _reference_inverted_residual(x, expansion, filters, strides):
    from mobilecourse import blocks

    return blocks.inverted_residual_block(
        x, expansion=expansion, filters=filters, strides=strides, name="reference"
    )


def check_inverted_residual_block(fn: Callable[..., object]) -> None:
    """Lesson 05: ``fn(x, expansion, filters, strides)`` builds MobileNetV2's block in Keras.

    1x1 expansion to ``expansion`` x the input channels -> BatchNorm -> ReLU6 (no expansion
    layer when ``expansion`` is 1), 3x3 depthwise (stride ``strides``) -> BatchNorm ->
    ReLU6, 1x1 projection to ``filters`` -> BatchNorm, linear; the input added to the
    output when ``strides`` is 1 and the channels match (Sandler et al. 2018, Table 1 and
    Fig. 4). Compared layer by layer with ``blocks.inverted_residual_block``; no biases
    (BatchNorm follows every convolution); names do not matter.
    """

    def wrong(**switches):
        return lambda x, expansion, filters, strides: _inverted_residual(
            x, expansion, filters, strides, **switches
        )

    stride_2_add = (
        "The input was added although the block has stride 2: its output is half as high "
        "and wide, so the shapes cannot match. The shortcut needs stride 1 and equal channels."
    )
    channels_add = (
        "The input was added although the channels differ: the first block of a stage "
        "changes c, and an add needs equal shapes. The shortcut needs stride 1 and "
        "in_channels == filters."
    )
    check_block(
        "build an inverted residual block",
        fn,
        cases=[
            ((14, 14, 16), {"expansion": 6, "filters": 16, "strides": 1}),
            ((14, 14, 16), {"expansion": 6, "filters": 24, "strides": 1}),
            ((15, 15, 16), {"expansion": 4, "filters": 16, "strides": 2}),
            ((16, 16, 24), {"expansion": 6, "filters": 32, "strides": 2}),
            ((10, 10, 8), {"expansion": 1, "filters": 8, "strides": 1}),
        ],
        reference=_reference_inverted_residual,
        mistakes=[
            Mistake(
                "ReLU after the projection: the projection writes the narrow bottleneck, "
                "where a ReLU destroys information (section 1). It stays linear: "
                "BatchNorm, no activation.",
                wrong(project_relu=True),
            ),
            *(
                Mistake(stride_2_add, wrong(residual="channels", input_first=first))
                for first in (True, False)
            ),
            *(
                Mistake(channels_add, wrong(residual="stride", input_first=first))
                for first in (True, False)
            ),
            Mistake(
                "The residual add is missing: when the stride is 1 and the channels match, "
                "the block adds its input to the projection's output.",
                wrong(residual="never"),
            ),
            Mistake(
                "The stride belongs to the 3x3 depthwise convolution. A strided 1x1 "
                "expansion skips three of every four positions before anything looks at "
                "their neighbours.",
                wrong(stride_on="expand"),
            ),
            Mistake(
                "The stride belongs to the 3x3 depthwise convolution, not to the 1x1 "
                "projection: a strided 1x1 convolution skips positions the depthwise "
                "layer has computed.",
                wrong(stride_on="project"),
            ),
            Mistake(
                "MobileNetV2 uses ReLU6 (min(max(x, 0), 6)), kept bounded for low-precision "
                "arithmetic: keras.layers.ReLU(6.0).",
                wrong(activation="relu"),
            ),
            Mistake(
                "The expansion multiplies the block's input channels: the wide tensor has "
                "expansion * x.shape[-1] channels, not expansion * filters.",
                wrong(hidden_from="output"),
            ),
            Mistake(
                "With expansion 1 there is nothing to expand: the block starts with the "
                "depthwise convolution (no 1x1 expansion layer, as in Table 2's first row).",
                wrong(expand_t1=True),
            ),
            Mistake(
                "The 3x3 convolution in the middle is depthwise (keras.layers.DepthwiseConv2D, "
                "one filter per channel), not a standard convolution over all channels.",
                wrong(spatial="full"),
            ),
        ],
    )
