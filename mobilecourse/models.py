"""The course's reference architectures as Keras 3 models, each built from a config table.

Every factory builds offline (random weights) and works both at the papers' ImageNet
resolution and on the small inputs the lessons train on, e.g. ``(28, 28, 1)`` with
10 classes. An input too small for a network's downsampling is refused with a
``ValueError`` that gives the smallest size that works.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import keras
from keras import layers

from mobilecourse import blocks as block_lib  # `blocks` is an argument of digits_cnn
from mobilecourse._validate import boolean, choice, integer, items, positive_number

__all__ = [
    "ALEXNET_CONVS",
    "MOBILENET_V1_BLOCKS",
    "MOBILENET_V2_BLOCKS",
    "SHUFFLENET_REPEATS",
    "SHUFFLENET_STAGE2_CHANNELS",
    "SQUEEZENET_BYPASSES",
    "SQUEEZENET_V1_0",
    "alexnet",
    "make_divisible",
    "mobilenet_v1",
    "mobilenet_v2",
    "DIGITS_CNN_BLOCKS",
    "digits_cnn",
    "shufflenet",
    "squeezenet",
    "squeezenet_design",
]


# ---------------------------------------------------------------- config tables


class SeparableRow(NamedTuple):
    filters: int
    strides: int


#: MobileNet v1 body after the first 3x3/2 conv with 32 filters (Howard et al. 2017, Table 1).
#: The paper prints the last depthwise layer as "s2"; it is stride 1 (taken literally the
#: network would cost 533.8M mult-adds, not 569M).
MOBILENET_V1_BLOCKS = (
    SeparableRow(64, 1),
    SeparableRow(128, 2),
    SeparableRow(128, 1),
    SeparableRow(256, 2),
    SeparableRow(256, 1),
    SeparableRow(512, 2),
    *[SeparableRow(512, 1)] * 5,
    SeparableRow(1024, 2),
    SeparableRow(1024, 1),
)


class BottleneckRow(NamedTuple):
    expansion: int  # t
    filters: int  # c
    repeats: int  # n
    strides: int  # s (first repeat only)


#: MobileNetV2 bottlenecks after the first 3x3/2 conv with 32 filters; a final 1x1 conv
#: has 1280 filters (Sandler et al. 2018, Table 2).
MOBILENET_V2_BLOCKS = (
    BottleneckRow(1, 16, 1, 1),
    BottleneckRow(6, 24, 2, 2),
    BottleneckRow(6, 32, 3, 2),
    BottleneckRow(6, 64, 4, 2),
    BottleneckRow(6, 96, 3, 1),
    BottleneckRow(6, 160, 3, 2),
    BottleneckRow(6, 320, 1, 1),
)


class FireRow(NamedTuple):
    name: str
    squeeze: int  # s1x1
    expand1x1: int  # e1x1
    expand3x3: int  # e3x3
    pool_after: bool


#: SqueezeNet v1.0 fire modules (Iandola et al. 2016, Table 1); conv1 is 96 7x7/2 filters
#: and a 3x3/2 max-pool follows conv1, fire4 and fire8.
SQUEEZENET_V1_0 = (
    FireRow("fire2", 16, 64, 64, False),
    FireRow("fire3", 16, 64, 64, False),
    FireRow("fire4", 32, 128, 128, True),
    FireRow("fire5", 32, 128, 128, False),
    FireRow("fire6", 48, 192, 192, False),
    FireRow("fire7", 48, 192, 192, False),
    FireRow("fire8", 64, 256, 256, True),
    FireRow("fire9", 64, 256, 256, False),
)

#: SqueezeNet's bypass variants (Iandola et al. 2016, Section 6 and Table 3).
SQUEEZENET_BYPASSES = ("none", "simple", "complex")

#: The course's small trainable network for 28x28 digits (lessons 06-08): after a
#: 3x3/2 conv with 16 x width filters, depthwise separable blocks (filters at width 1).
DIGITS_CNN_BLOCKS = (SeparableRow(32, 1), SeparableRow(64, 2), SeparableRow(128, 2))


class ConvRow(NamedTuple):
    name: str
    filters: int
    kernel_size: int
    strides: int
    groups: int
    pool_after: bool  # a 3x3/2 max-pool follows


#: AlexNet's convolutions as Caffe's reference model has them (Krizhevsky et al. 2012, on
#: two GPUs: conv2, conv4 and conv5 are group convolutions with g = 2); conv1 is "valid"
#: on 227x227, the others "same"; fc6 and fc7 have 4096 units. The LRN layers hold no
#: parameters and do no MACs, so they are left out.
ALEXNET_CONVS = (
    ConvRow("conv1", 96, 11, 4, 1, True),
    ConvRow("conv2", 256, 5, 1, 2, True),
    ConvRow("conv3", 384, 3, 1, 1, False),
    ConvRow("conv4", 384, 3, 1, 2, False),
    ConvRow("conv5", 256, 3, 1, 2, True),
)

#: ShuffleNet v1 stage 2 output channels per group count at 1x (Zhang et al. 2017,
#: Table 1); stages 3 and 4 double them.
SHUFFLENET_STAGE2_CHANNELS = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}
#: Units per stage (stages 2, 3, 4); the first unit of each has stride 2.
SHUFFLENET_REPEATS = (4, 8, 4)


# ---------------------------------------------------------------- validation


def _input_shape(value: object) -> tuple[int, int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {value!r}")
    return tuple(integer(v, "input_shape") for v in value)


# Spatial plans: (kernel, stride, mode) per downsampling step, mode "same", "valid" or "ceil"
# (Caffe's round-up pooling, used by SqueezeNet).
def _steps_fit(size: int, steps) -> bool:
    for kernel, stride, mode in steps:
        if stride > 1 and size < 2:
            return False  # a stride-2 layer on a 1-pixel map does not downsample
        if mode == "valid":
            if size < kernel:
                return False
            size = (size - kernel) // stride + 1
        elif mode == "ceil":
            size = max(1, math.ceil((size - kernel) / stride) + 1)
        else:
            size = math.ceil(size / stride)
    return True


def _check_fits(network: str, input_shape: tuple[int, int, int], steps) -> None:
    smallest = next(s for s in range(1, 4097) if _steps_fit(s, steps))
    height, width, _ = input_shape
    if min(height, width) < smallest:
        raise ValueError(
            f"input_shape={input_shape} is too small for {network}: its downsampling needs "
            f"at least {smallest}x{smallest} pixels"
        )


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never more than 10 % down.

    The rounding the MobileNetV2 reference implementation applies to ``c * width``.

    Args:
        value: the scaled channel count.
        divisor: the multiple to round to.
        min_value: the smallest result (default ``divisor``).

    Returns:
        The rounded channel count.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _head(x, classes: int):
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    return layers.Dense(classes, activation="softmax", name="predictions")(x)


# ---------------------------------------------------------------- factories


def mobilenet_v1(
    width: float = 1.0,
    input_shape: tuple[int, int, int] = (224, 224, 3),
    classes: int = 1000,
    depthwise: bool = True,
    blocks: tuple[SeparableRow, ...] = MOBILENET_V1_BLOCKS,
) -> keras.Model:
    """MobileNet v1 (Howard et al. 2017, Table 1).

    Cost:
        1.0 MobileNet-224: 568,740,352 MACs and 4,209,088 kernel weights (paper
        Table 6: 569M, 4.2M); ``depthwise=False`` ("Conv MobileNet", Table 4): 4866M.
        Without the five 14x14x512 blocks (``blocks=MOBILENET_V1_BLOCKS[:6] +
        MOBILENET_V1_BLOCKS[11:]``, the "Shallow MobileNet" of Table 5): 307,323,392
        MACs and 2,875,328 kernel weights (paper: 307M, 2.9M).

    Args:
        width: width multiplier (the paper's α); every layer gets
            ``int(filters * width)`` filters.
        input_shape: ``(H, W, C)``; the resolution multiplier is ``H / 224``.
        classes: outputs of the final dense layer.
        depthwise: ``False`` replaces every depthwise separable block with a full
            3x3 convolution (the paper's "Conv MobileNet").
        blocks: the body after the first convolution, as ``SeparableRow(filters,
            strides)`` (filters at width 1); the default is the paper's Table 1.

    Returns:
        A ``keras.Model`` named like ``mobilenet_v1_1.00_224`` (``mobilenet_v1_custom_...``
        for another ``blocks`` table).

    Raises:
        TypeError: ``blocks`` is not a tuple of ``SeparableRow``.
        ValueError: on an invalid argument or an input too small for the stride-2 steps.
    """
    width = positive_number(width, "width")
    input_shape = _input_shape(input_shape)
    classes = integer(classes, "classes")
    boolean(depthwise, "depthwise")
    items(blocks, "blocks", SeparableRow, "SeparableRow(filters, strides)")
    steps = [(3, 2, "same")] + [(3, row.strides, "same") for row in blocks]
    _check_fits("mobilenet_v1", input_shape, steps)

    def thinned(filters: int) -> int:
        scaled = int(filters * width)
        if scaled < 1:
            raise ValueError(f"width={width} leaves a layer of {filters} filters with none")
        return scaled

    inputs = keras.Input(input_shape, name="input")
    x = block_lib.conv_bn_relu(inputs, filters=thinned(32), strides=2, name="conv1")
    for i, row in enumerate(blocks, start=1):
        if depthwise:
            x = block_lib.depthwise_separable_block(
                x, filters=thinned(row.filters), strides=row.strides, name=f"conv_ds_{i}"
            )
        else:
            x = block_lib.conv_bn_relu(
                x, filters=thinned(row.filters), strides=row.strides, name=f"conv_full_{i}"
            )
    kind = "mobilenet_v1" if depthwise else "conv_mobilenet_v1"
    kind += "" if tuple(blocks) == MOBILENET_V1_BLOCKS else "_custom"
    return keras.Model(inputs, _head(x, classes), name=f"{kind}_{width:.2f}_{input_shape[0]}")


def mobilenet_v2(
    width: float = 1.0,
    input_shape: tuple[int, int, int] = (224, 224, 3),
    classes: int = 1000,
    blocks: tuple[BottleneckRow, ...] = MOBILENET_V2_BLOCKS,
) -> keras.Model:
    """MobileNetV2 (Sandler et al. 2018, Table 2).

    Widths are ``make_divisible(c * width, 8)``; the last 1x1 conv keeps 1280 filters
    unless ``width > 1``. Layer names follow Keras's MobileNetV2 (``block_3_expand_BN``).

    Cost:
        1.0-224: 300,774,272 MACs (paper: 300M) and 3,470,760 weights + biases
        without BatchNorm (paper: 3.4M).

    Args:
        width: width multiplier (the paper's α).
        input_shape: ``(H, W, C)``.
        classes: outputs of the final dense layer.
        blocks: the bottleneck rows (t, c, n, s); default the paper's Table 2. Another
            expansion factor t, for example, is ``row._replace(expansion=t)`` on each row.

    Returns:
        A ``keras.Model`` named like ``mobilenet_v2_1.00_224``.

    Raises:
        ValueError: on an invalid argument or an input too small for five stride-2 steps.
    """
    width = positive_number(width, "width")
    input_shape = _input_shape(input_shape)
    classes = integer(classes, "classes")
    blocks = tuple(blocks)
    if not blocks or not all(isinstance(row, BottleneckRow) for row in blocks):
        raise TypeError(f"blocks must be a non-empty sequence of BottleneckRow, got {blocks!r}")
    for row in blocks:
        for field in ("expansion", "filters", "repeats", "strides"):
            integer(getattr(row, field), f"blocks' {field}")
    steps = [(3, 2, "same")]
    for row in blocks:
        steps += [(3, row.strides, "same")] + [(3, 1, "same")] * (row.repeats - 1)
    _check_fits("mobilenet_v2", input_shape, steps)

    inputs = keras.Input(input_shape, name="input")
    x = block_lib.conv_bn_relu(
        inputs, filters=make_divisible(32 * width), strides=2, activation="relu6", name="Conv1"
    )
    index = 0
    for row in blocks:
        for repeat in range(row.repeats):
            x = block_lib.inverted_residual_block(
                x,
                expansion=row.expansion,
                filters=make_divisible(row.filters * width),
                strides=row.strides if repeat == 0 else 1,
                name=f"block_{index}",
            )
            index += 1
    last = make_divisible(1280 * width) if width > 1.0 else 1280
    x = block_lib.conv_bn_relu(x, filters=last, kernel_size=1, activation="relu6", name="Conv_1")
    return keras.Model(inputs, _head(x, classes), name=f"mobilenet_v2_{width:.2f}_{input_shape[0]}")


def _ceil_max_pool(x, name: str):
    """3x3/2 max-pool that rounds up like Caffe (SqueezeNet's framework).

    At 227x227 no padding is needed and the sizes are the paper's (111, 55, 27, 13);
    on small inputs a zero row/column is added at the far edge, which cannot change a
    maximum of ReLU outputs.
    """
    size = int(x.shape[1]), int(x.shape[2])
    target = [max(1, math.ceil((s - 3) / 2) + 1) for s in size]
    pad = [(t - 1) * 2 + 3 - s for t, s in zip(target, size, strict=True)]
    if any(pad):
        x = layers.ZeroPadding2D(((0, pad[0]), (0, pad[1])), name=f"{name}_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name=name)(x)


def squeezenet(
    input_shape: tuple[int, int, int] = (227, 227, 3),
    classes: int = 1000,
    fires: tuple[FireRow, ...] = SQUEEZENET_V1_0,
    bypass: str = "none",
) -> keras.Model:
    """SqueezeNet v1.0 (Iandola et al. 2016, Table 1), without BatchNorm, as published.

    The input is 227x227: Table 1 says 224, but conv1's 111x111 output needs 227.

    Bypass connections (Section 6, Fig. 2, Table 3) add a fire module's input to its
    output. A *simple* bypass is an identity and fits only where the module keeps its
    channel count (fire3, fire5, fire7, fire9 in v1.0); a *complex* bypass puts a 1x1
    convolution (with bias, Caffe's default) on the bypass where the counts differ
    (fire2, fire4, fire6, fire8), and a simple one where they match.

    Cost:
        1,248,424 parameters (weights + biases) at 1000 classes; a simple bypass adds
        none (an addition has no parameters); a complex bypass adds M*N + N for each
        fire module that turns M channels into N != M: 341,248 in v1.0 (1,589,672 in
        all, 6.06 MiB at 32 bits; Table 3 prints 7.7 MB, lesson 03).

    Args:
        input_shape: ``(H, W, C)``.
        classes: filters of the final 1x1 convolution (conv10).
        fires: the fire-module table (default: v1.0's); see ``squeezenet_design``
            for the paper's design-space sweep.
        bypass: ``"none"`` (the default), ``"simple"`` or ``"complex"``.

    Returns:
        A ``keras.Model`` named ``squeezenet_v1_0`` (``squeezenet_custom`` for
        another ``fires`` table), with ``_simple_bypass`` or ``_complex_bypass``
        appended when there are bypasses. Bypass layers are ``{fire}_bypass`` (the
        addition) and ``{fire}_bypass_conv`` (a complex bypass's 1x1 convolution).

    Raises:
        TypeError: ``bypass`` is not a string.
        ValueError: on an invalid argument or an input smaller than conv1's 7x7 kernel.
    """
    input_shape = _input_shape(input_shape)
    classes = integer(classes, "classes")
    if not isinstance(bypass, str):
        raise TypeError(
            f"bypass must be one of {SQUEEZENET_BYPASSES}, got {bypass!r} ({type(bypass).__name__})"
        )
    choice(bypass, "bypass", SQUEEZENET_BYPASSES)
    steps = [(7, 2, "valid")] + [(3, 2, "ceil")] * 3
    _check_fits("squeezenet", input_shape, steps)

    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(96, 7, strides=2, name="conv1")(inputs)
    x = layers.ReLU(name="conv1_relu")(x)
    x = _ceil_max_pool(x, "pool1")
    items(fires, "fires", FireRow, "FireRow")
    for row in fires:
        y = block_lib.fire_module(
            x, squeeze=row.squeeze, expand1x1=row.expand1x1, expand3x3=row.expand3x3, name=row.name
        )
        channels = row.expand1x1 + row.expand3x3
        if bypass != "none" and x.shape[-1] == channels:
            y = layers.Add(name=f"{row.name}_bypass")([x, y])
        elif bypass == "complex":
            shortcut = layers.Conv2D(channels, 1, name=f"{row.name}_bypass_conv")(x)
            y = layers.Add(name=f"{row.name}_bypass")([shortcut, y])
        x = y
        if row.pool_after:
            x = _ceil_max_pool(x, f"pool{row.name[-1]}")
    x = layers.Dropout(0.5, name="drop9")(x)
    x = layers.Conv2D(classes, 1, name="conv10")(x)
    x = layers.ReLU(name="conv10_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool10")(x)
    outputs = layers.Softmax(name="predictions")(x)
    name = "squeezenet_v1_0" if tuple(fires) == SQUEEZENET_V1_0 else "squeezenet_custom"
    if bypass != "none":
        name += f"_{bypass}_bypass"
    return keras.Model(inputs, outputs, name=name)


def squeezenet_design(
    squeeze_ratio: float = 0.125,
    pct3x3: float = 0.5,
    base_e: int = 128,
    incr_e: int = 128,
    freq: int = 2,
) -> tuple[FireRow, ...]:
    """The fire modules of SqueezeNet's design space (Iandola et al. 2016, Section 5).

    Fire module i (0..7) expands to ``e_i = base_e + incr_e * floor(i / freq)`` channels,
    ``int(pct3x3 * e_i)`` of them 3x3; it squeezes to ``max(1, int(squeeze_ratio * e_i))``.
    The defaults give SqueezeNet v1.0 (``SQUEEZENET_V1_0``).

    Args:
        squeeze_ratio: SR, squeeze channels per expand channel (0 < SR <= 1 in the paper).
        pct3x3: share of 3x3 filters in the expand layer, 0 to 1.
        base_e: expand channels of the first fire module.
        incr_e: expand channels added every ``freq`` modules.
        freq: modules per width step.

    Raises:
        ValueError: an argument out of range; the message names it.
    """
    squeeze_ratio = positive_number(squeeze_ratio, "squeeze_ratio")
    if isinstance(pct3x3, bool) or not isinstance(pct3x3, numbers.Real) or not 0 <= pct3x3 <= 1:
        raise ValueError(f"pct3x3 must be a number from 0 to 1, got {pct3x3!r}")
    base_e = integer(base_e, "base_e")
    if isinstance(incr_e, bool) or not isinstance(incr_e, numbers.Integral) or incr_e < 0:
        raise ValueError(f"incr_e must be a non-negative integer, got {incr_e!r}")
    freq = integer(freq, "freq")
    rows = []
    for i, template in enumerate(SQUEEZENET_V1_0):
        expand = base_e + incr_e * (i // freq)
        e3 = int(pct3x3 * expand)
        rows.append(
            FireRow(
                template.name,
                max(1, int(squeeze_ratio * expand)),
                expand - e3,
                e3,
                template.pool_after,
            )
        )
    return tuple(rows)


def shufflenet(
    groups: int = 3,
    width: float = 1.0,
    input_shape: tuple[int, int, int] = (224, 224, 3),
    classes: int = 1000,
    shuffle: bool = True,
    conv1_filters: int | None = None,
) -> keras.Model:
    """ShuffleNet v1 (Zhang et al. 2017, Table 1).

    conv1 3x3/2 with 24 filters (at 1x), max-pool 3x3/2, three stages of ShuffleNet units
    (4, 8, 4; the first of each with stride 2), global pooling, dense classifier.
    The first pointwise convolution of stage 2 is not grouped.

    Cost:
        1x at 224: 143M, 140M, 137M, 133M, 137M MACs in the convolutions for
        g = 1, 2, 3, 4, 8 (Table 1, "complexity").

    Args:
        groups: g, one of 1, 2, 3, 4, 8.
        width: width multiplier, the paper's scale factor s ("ShuffleNet s x"); stage
            widths become ``make_divisible(c * s, 4 * g)`` and conv1
            ``make_divisible(24 * s, g)``
            (the paper's widths at s = 1). 2x g=3: 524M MACs (Table 5: 524M).
        input_shape: ``(H, W, C)``.
        classes: outputs of the final dense layer.
        shuffle: ``False`` for the no-shuffle ablation.
        conv1_filters: filters of conv1, a multiple of ``groups`` smaller than the stage 2
            width; ``None`` scales the paper's 24 by s as above. The authors' released
            ShuffleNet 1.5x keeps 24 (1.5x g=3: 292,443,552 MACs, Table 5: 292M; with the
            default 36, 299,612,448).

    Returns:
        A ``keras.Model`` named like ``shufflenet_1.00x_g3``.

    Raises:
        TypeError: ``conv1_filters`` is not an integer (or ``None``).
        ValueError: on an invalid argument (the message names it) or an input too small.
    """
    if groups not in SHUFFLENET_STAGE2_CHANNELS or isinstance(groups, bool):
        raise ValueError(
            f"groups must be one of {tuple(SHUFFLENET_STAGE2_CHANNELS)}, got {groups!r}"
        )
    width = positive_number(width, "width")
    input_shape = _input_shape(input_shape)
    classes = integer(classes, "classes")
    boolean(shuffle, "shuffle")
    steps = [(3, 2, "same"), (3, 2, "same")] + [(3, 2, "same")] * len(SHUFFLENET_REPEATS)
    _check_fits("shufflenet", input_shape, steps)

    inputs = keras.Input(input_shape, name="input")
    # The paper scales every layer by s, conv1 included (24 filters at 1x); a multiple
    # of g keeps the first stride-2 branch (stage width - conv1 width) divisible by g.
    stem = make_divisible(24 * width, groups)
    # A multiple of 4g keeps the grouped bottleneck (out/4) divisible; at 1x these are
    # exactly the paper's widths.
    channels = make_divisible(SHUFFLENET_STAGE2_CHANNELS[groups] * width, 4 * groups)
    if conv1_filters is not None:
        stem = integer(conv1_filters, "conv1_filters")
        if stem % groups or stem >= channels:
            raise ValueError(
                f"conv1_filters must be a multiple of groups={groups} below the stage 2 "
                f"width {channels}, got {stem}"
            )
    x = block_lib.conv_bn_relu(inputs, filters=stem, strides=2, name="conv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for stage, repeats in enumerate(SHUFFLENET_REPEATS, start=2):
        for unit in range(1, repeats + 1):
            x = block_lib.shufflenet_unit(
                x,
                out_channels=channels,
                groups=groups,
                strides=2 if unit == 1 else 1,
                group_first_conv=not (stage == 2 and unit == 1),
                shuffle=shuffle,
                name=f"stage{stage}_unit{unit}",
            )
        channels *= 2
    name = f"shufflenet_{width:.2f}x_g{groups}" + ("" if shuffle else "_noshuffle")
    name += "" if conv1_filters is None else f"_conv1_{stem}"
    return keras.Model(inputs, _head(x, classes), name=name)


def digits_cnn(
    width: float = 2.0,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    classes: int = 10,
    blocks: tuple[SeparableRow, ...] = DIGITS_CNN_BLOCKS,
    name: str | None = None,
) -> keras.Model:
    """A small MobileNet-style CNN for the offline digits (``data.load_digits_dataset``).

    conv 3x3/2 (16 x width) -> depthwise separable blocks of ``blocks`` (x width) ->
    global average pooling -> dense softmax. At width 2 with the default blocks: 50,698
    parameters, 1,489,216 MACs; about 96 % test accuracy after 8 epochs (15 s on 2 cores).

    Args:
        width: channel multiplier (each layer keeps at least 8 filters).
        input_shape: ``(H, W, C)``.
        classes: outputs of the dense layer.
        blocks: the depthwise separable blocks as ``SeparableRow(filters, strides)``
            (filters at width 1), e.g. ``DIGITS_CNN_BLOCKS[:2]`` for a shallower network.
        name: the model's name; default ``digits_cnn_{width}x``.

    Raises:
        ValueError: on an invalid argument or an input too small for the strides.
    """
    width = positive_number(width, "width")
    input_shape = _input_shape(input_shape)
    classes = integer(classes, "classes")
    items(blocks, "blocks", SeparableRow, "SeparableRow(filters, strides)")
    steps = [(3, 2, "same")] + [(3, row.strides, "same") for row in blocks]
    _check_fits("digits_cnn", input_shape, steps)

    def filters(base: int) -> int:
        return max(8, int(base * width))

    inputs = keras.Input(input_shape, name="image")
    x = block_lib.conv_bn_relu(inputs, filters=filters(16), strides=2, name="conv1")
    for i, row in enumerate(blocks, start=1):
        x = block_lib.depthwise_separable_block(
            x, filters=filters(row.filters), strides=row.strides, name=f"ds{i}"
        )
    return keras.Model(inputs, _head(x, classes), name=name or f"digits_cnn_{width:g}x")


def alexnet(
    input_shape: tuple[int, int, int] = (227, 227, 3),
    classes: int = 1000,
) -> keras.Model:
    """AlexNet (Krizhevsky et al. 2012) as Caffe's reference model, from ``ALEXNET_CONVS``.

    Five convolutions with ReLU (conv2, conv4, conv5 grouped, g = 2), 3x3/2 max-pools
    after conv1, conv2 and conv5, then fc6 and fc7 (4096 units, ReLU, dropout) and the
    classifier. The local response normalisation layers are left out: they have no
    parameters and do no MACs. The input is 227x227, which conv1's 55x55 output needs.

    Cost:
        60,965,224 parameters (weights + biases; MobileNet Table 9: 60M) and
        724,406,816 MACs at 227x227 (MobileNet Table 9 and ShuffleNet Table 6: 720M).

    Args:
        input_shape: ``(H, W, C)``.
        classes: outputs of the final dense layer.

    Returns:
        A ``keras.Model`` named ``alexnet``.

    Raises:
        ValueError: on an invalid argument or an input too small for the three pools.
    """
    input_shape = _input_shape(input_shape)
    classes = integer(classes, "classes")
    steps = []
    for row in ALEXNET_CONVS:
        steps.append((row.kernel_size, row.strides, "valid" if row.name == "conv1" else "same"))
        steps += [(3, 2, "valid")] if row.pool_after else []
    _check_fits("alexnet", input_shape, steps)

    inputs = keras.Input(input_shape, name="input")
    x = inputs
    for row in ALEXNET_CONVS:
        x = layers.Conv2D(
            row.filters,
            row.kernel_size,
            strides=row.strides,
            padding="valid" if row.name == "conv1" else "same",
            groups=row.groups,
            activation="relu",
            name=row.name,
        )(x)
        if row.pool_after:
            x = layers.MaxPooling2D(3, strides=2, name=f"pool{row.name[-1]}")(x)
    x = layers.Flatten(name="flatten")(x)
    for name in ("fc6", "fc7"):
        x = layers.Dense(4096, activation="relu", name=name)(x)
        x = layers.Dropout(0.5, name=f"drop{name[-1]}")(x)
    outputs = layers.Dense(classes, activation="softmax", name="fc8")(x)
    return keras.Model(inputs, outputs, name="alexnet")
