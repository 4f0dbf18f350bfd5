"""Checkers for lesson 04: group convolution and channel shuffle (ShuffleNet v1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mobilecourse import costs
from mobilecourse.checks._blocks import check_block
from mobilecourse.checks._core import Mistake, check_function

__all__ = [
    "check_channel_shuffle",
    "check_group_conv_macs",
    "check_shufflenet_unit",
    "check_shufflenet_unit_macs",
]


# ---------------------------------------------------------------- group convolution


def _group_conv_macs(input_shape, filters, kernel_size, groups):
    return costs.conv2d(input_shape, filters, kernel_size, groups=groups).macs


def check_group_conv_macs(fn: Callable[..., int]) -> None:
    """Lesson 04: ``fn(input_shape, filters, kernel_size, groups)`` is a grouped conv's MACs.

    Stride 1 and padding "same": the output has the input's height and width.
    """

    def full(shape, filters, k, g):
        return _group_conv_macs(shape, filters, k, 1)

    def per_group_only(shape, filters, k, g):
        return _group_conv_macs(shape, filters, k, g) // g

    check_function(
        "grouped convolution MACs",
        fn,
        cases=[
            ((28, 28, 240), 240, 1, 3),
            ((14, 14, 384), 96, 1, 8),
            ((56, 56, 64), 128, 3, 4),
            ((7, 7, 1536), 1536, 1, 8),
            ((28, 28, 200), 50, 1, 2),
            ((14, 14, 32), 32, 3, 1),
        ],
        reference=_group_conv_macs,
        mistakes=[
            Mistake(
                "That is the cost of the full (ungrouped) convolution: the groups were "
                "forgotten. Each filter only sees the M / g input channels of its own "
                "group, so the cost is divided by g.",
                full,
            ),
            Mistake(
                "You divided by g twice (or counted one group only). Each filter sees "
                "M / g channels, but there are still N filters in total (N / g per group "
                "times g groups): divide by g once.",
                per_group_only,
            ),
            Mistake(
                "That is FLOPs (2 x MACs: a multiply and an add counted apart). "
                "Report multiply-accumulates.",
                lambda *a: 2 * _group_conv_macs(*a),
            ),
        ],
    )


# ---------------------------------------------------------------- channel shuffle


class _Labelled:
    """A test input whose values label (pixel, channel): ``np.arange(size).reshape(shape)``.

    Its ``repr`` is the NumPy expression that builds it, so a failure message stays short.
    """

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def array(self) -> np.ndarray:
        return np.arange(int(np.prod(self.shape)), dtype=np.float32).reshape(self.shape)

    def __repr__(self) -> str:
        return f"np.arange({int(np.prod(self.shape))}).reshape{self.shape}"


def _describe(out: Any, x: np.ndarray) -> Any:
    """Summarise a shuffle's output: the channel order (a tuple of input channel indices).

    Returns ``None`` for ``None``, a short text for an array of another shape or one that
    is not the same permutation of the channels at every pixel.
    """
    if out is None:
        return None
    try:
        out = np.asarray(out)
    except Exception:  # noqa: BLE001 (anything that is not array-like)
        return f"a {type(out).__name__}, not an array"
    if out.shape != x.shape:
        if out.size == x.size and out.ndim > x.ndim:
            return f"an array with {out.ndim} axes instead of {x.ndim}"
        return f"an array of shape {out.shape} (the input has shape {x.shape})"
    channels = x.shape[-1]
    order = out.reshape(-1, channels)[0]
    if not np.all(np.isin(order, np.arange(channels))):
        return "an array whose values are not a per-pixel permutation of the input channels"
    order = order.astype(int)
    if not np.array_equal(out, x[..., order]):
        return "an array whose values are not a per-pixel permutation of the input channels"
    return tuple(int(i) for i in order)


def _reference_shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    *batch, c = x.shape
    return x.reshape(*batch, groups, c // groups).swapaxes(-1, -2).reshape(*batch, c)


def _on_labels(shuffle: Callable[[np.ndarray, int], Any]) -> Callable[[_Labelled, int], Any]:
    def run(labelled: _Labelled, groups: int):
        x = labelled.array()
        return _describe(shuffle(x.copy(), groups), x)

    return run


def check_channel_shuffle(fn: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """Lesson 04: ``fn(x, groups)`` shuffles the channels of a NumPy array ``(N, H, W, C)``.

    The answer is compared by the order of the channels it returns (shown as the input
    channel indices), which must be the same at every pixel.
    """

    def student(labelled: _Labelled, groups: int):
        return _on_labels(fn)(labelled, groups)

    student.__name__ = getattr(fn, "__name__", "channel_shuffle")

    def no_transpose(x, g):
        return x.reshape(*x.shape[:-1], g, x.shape[-1] // g).reshape(x.shape)

    def wrong_split(x, g):  # (n, g) instead of (g, n): the inverse permutation
        return _reference_shuffle(x, x.shape[-1] // g)

    def not_flattened(x, g):
        return x.reshape(*x.shape[:-1], g, x.shape[-1] // g).swapaxes(-1, -2)

    def mixes_pixels(x, g):
        return x.reshape(g, -1).T.reshape(x.shape)

    check_function(
        "channel shuffle",
        student,
        cases=[
            (_Labelled((1, 1, 1, 12)), 3),
            (_Labelled((2, 3, 3, 12)), 4),
            (_Labelled((1, 2, 2, 24)), 8),
            (_Labelled((1, 2, 1, 18)), 3),
            (_Labelled((1, 1, 1, 10)), 2),
            (_Labelled((1, 1, 1, 6)), 1),
        ],
        reference=_on_labels(_reference_shuffle),
        mistakes=[
            Mistake(
                "The channels come back in their original order: a reshape alone only "
                "changes how the same memory is indexed. Swap the (groups, channels per "
                "group) axes (transpose) before you flatten them again.",
                _on_labels(no_transpose),
            ),
            Mistake(
                "That is the inverse shuffle: you split the channels into (C // groups, "
                "groups) instead of (groups, C // groups). Reshape the channel axis to "
                "(groups, n) first, then transpose.",
                _on_labels(wrong_split),
            ),
            Mistake(
                "Flatten the transposed (n, groups) axes back into one channel axis: the "
                "result must have the input's shape (N, H, W, C).",
                _on_labels(not_flattened),
            ),
            Mistake(
                "Values moved between pixels: reshape only the channel axis and keep "
                "N, H and W as they are, e.g. x.reshape(N, H, W, groups, n).",
                _on_labels(mixes_pixels),
            ),
        ],
    )


# ---------------------------------------------------------------- ShuffleNet unit


def _unit_macs(h, w, c, m, g):
    return h * w * (2 * c * m // g + 9 * m)


def check_shufflenet_unit_macs(fn: Callable[..., int]) -> None:
    """Lesson 04: ``fn(h, w, c, m, g)`` is the MACs of a stride-1 ShuffleNet unit.

    ``c`` input (= output) channels, bottleneck ``m``, ``g`` groups in both 1x1 convs:
    h*w*(2*c*m/g + 9*m) (Zhang et al. 2017, Section 3.2).
    """
    check_function(
        "ShuffleNet unit MACs",
        fn,
        cases=[
            (28, 28, 240, 60, 3),
            (14, 14, 768, 192, 8),
            (7, 7, 800, 200, 2),
            (14, 14, 544, 136, 4),
            (28, 28, 144, 36, 1),
        ],
        reference=_unit_macs,
        mistakes=[
            Mistake(
                "The 3x3 convolution is depthwise: one 3x3 filter per channel, 9*m MACs "
                "per position, not a full 3x3 convolution over all m channels (9*m*m).",
                lambda h, w, c, m, g: h * w * (2 * c * m // g + 9 * m * m),
            ),
            Mistake(
                "That 3x3 term is a grouped 3x3 convolution (a ResNeXt unit). In "
                "ShuffleNet the 3x3 convolution is depthwise: 9*m MACs per position.",
                lambda h, w, c, m, g: h * w * (2 * c * m // g + 9 * m * m // g),
            ),
            Mistake(
                "Only one of the two 1x1 convolutions was divided by g: the first 1x1 "
                "(c -> m) is a group convolution too, so divide both by g.",
                lambda h, w, c, m, g: h * w * (c * m + c * m // g + 9 * m),
            ),
            Mistake(
                "Neither 1x1 convolution was divided by g: both are group convolutions, "
                "each filter sees only 1/g of the channels.",
                lambda h, w, c, m, g: h * w * (2 * c * m + 9 * m),
            ),
            Mistake(
                "That is the ResNet bottleneck, hw(2cm + 9m^2): in ShuffleNet both 1x1 "
                "convolutions are grouped and the 3x3 is depthwise.",
                lambda h, w, c, m, g: h * w * (2 * c * m + 9 * m * m),
            ),
            Mistake(
                "Count both 1x1 convolutions (c -> m and m -> c) and the 3x3 depthwise one.",
                lambda h, w, c, m, g: h * w * (c * m // g + 9 * m),
            ),
            Mistake(
                "That is FLOPs (2 x MACs: a multiply and an add counted apart). "
                "Report multiply-accumulates.",
                lambda *a: 2 * _unit_macs(*a),
            ),
        ],
    )


# ---------------------------------------------------------------- build a ShuffleNet unit


def _unit(
    x,
    out_channels,
    groups,
    strides,
    *,
    shuffle="after first",
    dw_relu=False,
    merge="paper",
    branch_wide=False,
    first_groups=True,
    second_groups=True,
    grouped_3x3=False,
    bottleneck_of_branch=False,
):
    """A ShuffleNet unit written with plain Keras layers; each switch makes one classic slip."""
    from keras import layers

    from mobilecourse.blocks import ChannelShuffle

    in_channels = x.shape[-1]
    branch = out_channels if strides == 1 or branch_wide else out_channels - in_channels
    bottleneck = (branch if bottleneck_of_branch else out_channels) // 4
    y = x
    if shuffle == "on input":
        y = ChannelShuffle(groups)(y)
    y = layers.Conv2D(bottleneck, 1, groups=groups if first_groups else 1, use_bias=False)(y)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    if shuffle == "after first":
        y = ChannelShuffle(groups)(y)
    if grouped_3x3:
        y = layers.Conv2D(
            bottleneck, 3, strides=strides, padding="same", groups=groups, use_bias=False
        )(y)
    else:
        y = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if dw_relu:
        y = layers.ReLU()(y)
    if shuffle == "after depthwise":
        y = ChannelShuffle(groups)(y)
    y = layers.Conv2D(branch, 1, groups=groups if second_groups else 1, use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if strides == 1:
        y = layers.Add()([x, y])
    else:
        shortcut = layers.AveragePooling2D(3, strides=2, padding="same")(x)
        y = (layers.Add() if merge == "add" else layers.Concatenate())([shortcut, y])
    return layers.ReLU()(y)


def _reference_unit(x, out_channels, groups, strides):
    from mobilecourse import blocks

    return blocks.shufflenet_unit(
        x, out_channels=out_channels, groups=groups, strides=strides, name="reference"
    )


def check_shufflenet_unit(fn: Callable[..., Any]) -> None:
    """Lesson 04: ``fn(x, out_channels, groups, strides)`` builds a ShuffleNet v1 unit in Keras.

    Compared layer by layer with ``blocks.shufflenet_unit`` (Zhang et al. 2018, Fig. 2 b
    and c), at stride 1 and 2; names do not matter.
    """

    def wrong(**switches):
        return lambda x, out_channels, groups, strides: _unit(
            x, out_channels, groups, strides, **switches
        )

    both_grouped = (
        "Both 1x1 convolutions are group convolutions (groups=g): that is where the unit "
        "saves its MACs, and why it needs the shuffle between them."
    )
    add_at_stride_2 = (
        "At stride 2 the unit concatenates the 3x3 average-pooled input with the branch, "
        "which outputs only out_channels - in_channels channels: the width grows at no "
        "cost. An add would need equal shapes and keep the width."
    )
    check_block(
        "build a ShuffleNet unit",
        fn,
        cases=[
            ((14, 14, 240), {"out_channels": 240, "groups": 3, "strides": 1}),
            ((16, 16, 24), {"out_channels": 96, "groups": 4, "strides": 2}),
            ((8, 8, 64), {"out_channels": 64, "groups": 8, "strides": 1}),
            ((28, 28, 240), {"out_channels": 480, "groups": 3, "strides": 2}),
        ],
        reference=_reference_unit,
        mistakes=[
            Mistake(
                "The channel shuffle is missing: without it each group of the second 1x1 "
                "group convolution sees only the channels of one group of the first "
                "(section 2's blocked information flow).",
                wrong(shuffle=None),
            ),
            Mistake(
                "The paper shuffles right after the first 1x1 group convolution (after its "
                "BN and ReLU), before the depthwise convolution (Fig. 2). A depthwise layer "
                "acts on each channel alone, so your place mixes the groups too, but it is "
                "not the unit of the paper and of blocks.shufflenet_unit.",
                wrong(shuffle="after depthwise"),
            ),
            Mistake(
                "The shuffle goes between the two group convolutions, after the first one: "
                "shuffling the unit's input does not let the second 1x1 convolution's groups "
                "see each other's channels.",
                wrong(shuffle="on input"),
            ),
            Mistake(
                "No ReLU after the depthwise convolution: it is followed by BatchNorm only "
                "(the paper's Fig. 2); the ReLUs come after the first 1x1 convolution and "
                "after the add or concatenation.",
                wrong(dw_relu=True),
            ),
            Mistake(add_at_stride_2, wrong(merge="add")),
            Mistake(add_at_stride_2, wrong(merge="add", branch_wide=True)),
            Mistake(
                "At stride 2 the branch's last 1x1 convolution outputs out_channels - "
                "in_channels channels: the pooled input, concatenated, supplies the rest.",
                wrong(branch_wide=True),
            ),
            Mistake(both_grouped, wrong(second_groups=False)),
            Mistake(both_grouped, wrong(first_groups=False)),
            Mistake(
                "The 3x3 convolution is depthwise (DepthwiseConv2D: one filter per channel), "
                "not a grouped convolution.",
                wrong(grouped_3x3=True),
            ),
            Mistake(
                "The bottleneck has out_channels // 4 channels at stride 2 too (the paper "
                "sets it to a quarter of the unit's output channels).",
                wrong(bottleneck_of_branch=True),
            ),
        ],
    )
