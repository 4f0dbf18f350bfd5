"""Keras 3 building blocks of the course's light-weight architectures.

Every builder takes a Keras tensor and keyword arguments and returns the block's
output tensor. ``name`` is required and prefixes every layer the block creates,
so ``model.summary()`` reads like the paper (``block_3_expand_BN``).

Convolutions followed by BatchNorm have no bias (BatchNorm's beta replaces it),
as in the papers' reference implementations.
"""

from __future__ import annotations

import keras
from keras import layers

from mobilecourse._validate import integer

__all__ = [
    "ACTIVATIONS",
    "INVERTED_RESIDUAL_PARTS",
    "ChannelShuffle",
    "ChannelSplit",
    "conv_bn_relu",
    "depthwise_separable_block",
    "fire_module",
    "inverted_residual_block",
    "shufflenet_unit",
]

#: Activations a builder accepts (``None`` = linear).
ACTIVATIONS = ("relu", "relu6", None)

#: Layer-name suffixes of an inverted residual block. Keras's own MobileNetV2 uses
#: the same suffixes (plus ``pad`` before its stride-2 depthwise convolutions), so the
#: profiler recognises the blocks of both.
INVERTED_RESIDUAL_PARTS = (
    "pad",
    "expand",
    "expand_BN",
    "expand_relu",
    "depthwise",
    "depthwise_BN",
    "depthwise_relu",
    "project",
    "project_BN",
    "add",
)


# ---------------------------------------------------------------- validation


def _name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if not name:
        raise ValueError("name must be a non-empty string, got ''")
    return name


def _stride(value: object) -> int:
    if isinstance(value, bool) or value not in (1, 2):
        raise ValueError(f"strides must be 1 or 2, got {value!r}")
    return int(value)


def _activation_layer(activation: str | None, name: str) -> layers.Layer | None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if activation is None:
        return None
    return layers.ReLU(6.0 if activation == "relu6" else None, name=name)


def _channels(x) -> int:
    return int(x.shape[-1])


def _bn(name: str) -> layers.BatchNormalization:
    # momentum 0.9: the running statistics settle within a few hundred steps, which
    # matters on the course's small offline datasets.
    return layers.BatchNormalization(momentum=0.9, name=name)


# ---------------------------------------------------------------- blocks


def conv_bn_relu(
    x,
    *,
    filters: int,
    kernel_size: int = 3,
    strides: int = 1,
    groups: int = 1,
    activation: str | None = "relu",
    split_groups: bool = False,
    name: str,
):
    """Convolution (no bias) -> BatchNorm -> activation.

    Layers: ``{name}`` (Conv2D), ``{name}_bn``, ``{name}_relu``. With
    ``split_groups=True`` and g > 1 the group convolution is built as g separate
    convolutions instead: ``{name}_split`` (:class:`ChannelSplit`), ``{name}_g1`` ...
    ``{name}_g{g}`` (Conv2D, N/g filters each) and ``{name}_concat``. Both builds
    compute the same function with the same MACs and weights (group k of the Conv2D's
    kernel is the kernel of ``{name}_g{k+1}``). TensorFlow has no grouped convolution
    kernel for CPUs, and the XLA-compiled one Keras falls back to trains slowly there;
    the split build trains at the speed of ordinary convolutions.

    Cost:
        the convolution's: Dk^2 * (M / g) * N * Dout^2 MACs (see ``costs.conv2d``).

    Args:
        x: input tensor ``(batch, H, W, M)``.
        filters: output channels N.
        kernel_size: square kernel size.
        strides: 1 or 2.
        groups: groups g of the convolution; must divide M and N.
        activation: ``"relu"``, ``"relu6"`` or ``None`` for a linear output.
        split_groups: build a group convolution as g convolutions on channel slices.
        name: prefix of every layer.

    Raises:
        TypeError: ``split_groups`` is not a bool.
        ValueError: on an invalid argument; the message names it.
    """
    name = _name(name)
    if not isinstance(split_groups, bool):
        raise TypeError(f"split_groups must be True or False, got {split_groups!r}")
    filters = integer(filters, "filters")
    kernel_size = integer(kernel_size, "kernel_size")
    strides = _stride(strides)
    groups = integer(groups, "groups")
    channels = _channels(x)
    if channels % groups:
        raise ValueError(f"groups={groups} does not divide {channels} input channels")
    if filters % groups:
        raise ValueError(f"groups={groups} does not divide filters={filters}")
    act = _activation_layer(activation, f"{name}_relu")
    if split_groups and groups > 1:
        parts = ChannelSplit(groups, name=f"{name}_split")(x)
        x = layers.Concatenate(name=f"{name}_concat")(
            [
                layers.Conv2D(
                    filters // groups,
                    kernel_size,
                    strides=strides,
                    padding="same",
                    use_bias=False,
                    name=f"{name}_g{k}",
                )(part)
                for k, part in enumerate(parts, start=1)
            ]
        )
    else:
        x = layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            groups=groups,
            use_bias=False,
            name=name,
        )(x)
    x = _bn(f"{name}_bn")(x)
    return act(x) if act is not None else x


def depthwise_separable_block(
    x, *, filters: int, strides: int = 1, activation: str = "relu", name: str
):
    """MobileNet v1 block: 3x3 depthwise -> BN -> ReLU -> 1x1 conv -> BN -> ReLU.

    Layers: ``{name}_dw``, ``{name}_dw_bn``, ``{name}_dw_relu``, ``{name}_pw``,
    ``{name}_pw_bn``, ``{name}_pw_relu``.

    Cost:
        9 * M * Dout^2 + M * N * Dout^2 MACs, 1/N + 1/9 of a 3x3 convolution
        (Howard et al. 2017, eq. 5).

    Args:
        x: input tensor with M channels.
        filters: output channels N of the pointwise convolution.
        strides: 1 or 2 (of the depthwise convolution).
        activation: ``"relu"`` (the paper) or ``"relu6"`` (Keras's MobileNet).
        name: prefix of every layer.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    name = _name(name)
    filters = integer(filters, "filters")
    strides = _stride(strides)
    if activation is None:
        raise ValueError("activation must be 'relu' or 'relu6' in a depthwise separable block")
    dw_act = _activation_layer(activation, f"{name}_dw_relu")
    x = layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False, name=f"{name}_dw"
    )(x)
    x = dw_act(_bn(f"{name}_dw_bn")(x))
    return conv_bn_relu(x, filters=filters, kernel_size=1, activation=activation, name=f"{name}_pw")


def fire_module(x, *, squeeze: int, expand1x1: int, expand3x3: int, name: str):
    """SqueezeNet fire module: 1x1 squeeze -> (1x1 expand || 3x3 expand), concatenated.

    Every convolution has a bias and a ReLU and no BatchNorm, as in SqueezeNet v1.0.
    An expand branch with 0 filters is left out (the pct3x3 = 0 % or 100 % ends of the
    paper's design-space sweep).

    Layers: ``{name}_squeeze1x1`` (+ ``_relu``), ``{name}_expand1x1`` (+ ``_relu``),
    ``{name}_expand3x3`` (+ ``_relu``), ``{name}_concat``.

    Cost:
        params = M*s + s + s*e1 + e1 + 9*s*e3 + e3 (weights + bias, Iandola et al. 2016,
        Table 1); MACs = Dout^2 * (M*s + s*e1 + 9*s*e3).

    Args:
        x: input tensor with M channels.
        squeeze: squeeze filters s (s < e1 + e3 in the paper's designs).
        expand1x1: 1x1 expand filters e1 (>= 0).
        expand3x3: 3x3 expand filters e3 (>= 0); e1 + e3 >= 1.
        name: prefix of every layer.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    name = _name(name)
    squeeze = integer(squeeze, "squeeze")
    expand1x1 = integer(expand1x1, "expand1x1", minimum=0)
    expand3x3 = integer(expand3x3, "expand3x3", minimum=0)
    if expand1x1 + expand3x3 == 0:
        raise ValueError("expand1x1 + expand3x3 must be at least 1, got 0")
    s = layers.Conv2D(squeeze, 1, activation=None, name=f"{name}_squeeze1x1")(x)
    s = layers.ReLU(name=f"{name}_squeeze1x1_relu")(s)
    branches = []
    for filters, size in ((expand1x1, 1), (expand3x3, 3)):
        if filters:
            e = layers.Conv2D(filters, size, padding="same", name=f"{name}_expand{size}x{size}")(s)
            branches.append(layers.ReLU(name=f"{name}_expand{size}x{size}_relu")(e))
    if len(branches) == 1:
        return branches[0]
    return layers.Concatenate(name=f"{name}_concat")(branches)


class _ChannelGroups(layers.Layer):
    """A layer over g equal groups of channels: keeps ``groups`` and checks it divides C."""

    def __init__(self, groups: int, **kwargs):
        super().__init__(**kwargs)
        self.groups = integer(groups, "groups")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % self.groups:
            raise ValueError(f"groups={self.groups} does not divide {channels} input channels")
        super().build(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


@keras.saving.register_keras_serializable(package="mobilecourse")
class ChannelSplit(_ChannelGroups):
    """The channels cut into g equal groups: a list of g tensors ``(batch, H, W, C/g)``.

    Group k holds channels ``k * C/g`` to ``(k + 1) * C/g - 1``, the channels group k
    of a group convolution reads (:func:`conv_bn_relu` with ``split_groups=True``).

    Cost:
        no MACs and no parameters (a view of the input).

    Args:
        groups: g, which must divide the channel count.

    Raises:
        ValueError: ``groups`` is not a positive integer, or does not divide the
            channels of the input the layer is built on.
    """

    def call(self, inputs):
        return keras.ops.split(inputs, self.groups, axis=-1)

    def compute_output_shape(self, input_shape):
        *rest, channels = input_shape
        return [(*rest, channels // self.groups)] * self.groups


@keras.saving.register_keras_serializable(package="mobilecourse")
class ChannelShuffle(_ChannelGroups):
    """ShuffleNet's channel shuffle: reshape channels to (g, n), transpose, flatten.

    With C = g * n channels, output channel ``i * g + j`` is input channel
    ``j * n + i``: after the shuffle, every group of the next grouped convolution
    sees channels from every group of the previous one (Zhang et al. 2017, Fig. 1).

    Cost:
        no MACs and no parameters; a pure permutation (memory traffic only).

    Args:
        groups: g, which must divide the channel count.

    Raises:
        ValueError: ``groups`` is not a positive integer, or does not divide the
            channels of the input the layer is built on.
    """

    def call(self, inputs):
        shape = keras.ops.shape(inputs)
        channels = inputs.shape[-1]
        n = channels // self.groups
        x = keras.ops.reshape(inputs, (-1, shape[1], shape[2], self.groups, n))
        x = keras.ops.transpose(x, (0, 1, 2, 4, 3))
        return keras.ops.reshape(x, (-1, shape[1], shape[2], channels))

    def compute_output_shape(self, input_shape):
        return input_shape


def shufflenet_unit(
    x,
    *,
    out_channels: int,
    groups: int,
    strides: int = 1,
    group_first_conv: bool = True,
    shuffle: bool = True,
    split_groups: bool = False,
    name: str,
):
    """ShuffleNet v1 unit (Zhang et al. 2017, Fig. 2 b and c).

    1x1 group conv -> BN -> ReLU -> channel shuffle -> 3x3 depthwise (stride s) -> BN
    (no ReLU) -> 1x1 group conv -> BN. Stride 1: add the input, then ReLU. Stride 2:
    concatenate with a 3x3 average-pooled shortcut, then ReLU; the branch then
    produces ``out_channels - in_channels`` channels. The bottleneck has
    ``out_channels // 4`` channels.

    Layers: ``{name}_gconv1`` (+ ``_bn``, ``_relu``), ``{name}_shuffle``, ``{name}_dw``
    (+ ``_bn``), ``{name}_gconv2`` (+ ``_bn``), ``{name}_add`` or ``{name}_pool`` and
    ``{name}_concat``, ``{name}_relu``.

    Cost:
        h*w*(2*c*m/g + 9*m) MACs for a stride-1 unit with c channels and bottleneck m
        (the paper's Section 3.2, against h*w*(2*c*m + 9*m^2) for a ResNet bottleneck).

    Args:
        x: input tensor with C channels.
        out_channels: channels of the unit's output.
        groups: g for both 1x1 convolutions.
        strides: 1 (then ``out_channels`` must equal C) or 2.
        group_first_conv: ``False`` for the first unit of stage 2, whose input (24
            channels) is too narrow to group.
        shuffle: ``False`` for the paper's no-shuffle ablation (Table 3).
        split_groups: build each group convolution as g convolutions on channel
            slices (:func:`conv_bn_relu`): the same unit, faster to train on a CPU.
        name: prefix of every layer.

    Raises:
        ValueError: on an invalid argument (e.g. groups not dividing the channels).
    """
    name = _name(name)
    out_channels = integer(out_channels, "out_channels")
    groups = integer(groups, "groups")
    strides = _stride(strides)
    in_channels = _channels(x)
    if strides == 1 and out_channels != in_channels:
        raise ValueError(
            f"out_channels={out_channels} must equal the {in_channels} input channels "
            "when strides=1 (the residual add needs matching shapes)"
        )
    branch_channels = out_channels if strides == 1 else out_channels - in_channels
    if branch_channels < 1:
        raise ValueError(
            f"out_channels={out_channels} must exceed the {in_channels} input channels "
            "when strides=2 (the shortcut is concatenated)"
        )
    bottleneck = out_channels // 4
    first_groups = groups if group_first_conv else 1
    for what, channels, g in (
        ("input channels", in_channels, first_groups),
        ("bottleneck channels (out_channels // 4)", bottleneck, groups),
        ("output channels of the branch", branch_channels, groups),
    ):
        if channels < 1 or channels % g:
            raise ValueError(f"groups={g} does not divide the {channels} {what} of {name}")

    y = conv_bn_relu(
        x,
        filters=bottleneck,
        kernel_size=1,
        groups=first_groups,
        split_groups=split_groups,
        name=f"{name}_gconv1",
    )
    if shuffle and groups > 1:
        y = ChannelShuffle(groups, name=f"{name}_shuffle")(y)
    y = layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False, name=f"{name}_dw"
    )(y)
    y = _bn(f"{name}_dw_bn")(y)
    y = conv_bn_relu(
        y,
        filters=branch_channels,
        kernel_size=1,
        groups=groups,
        activation=None,
        split_groups=split_groups,
        name=f"{name}_gconv2",
    )
    if strides == 1:
        out = layers.Add(name=f"{name}_add")([x, y])
    else:
        shortcut = layers.AveragePooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
        out = layers.Concatenate(name=f"{name}_concat")([shortcut, y])
    return layers.ReLU(name=f"{name}_relu")(out)


def inverted_residual_block(x, *, expansion: int, filters: int, strides: int = 1, name: str):
    """MobileNetV2 bottleneck: 1x1 expand (x t) -> 3x3 depthwise -> linear 1x1 projection.

    The expansion is skipped when t = 1. ReLU6 follows the expansion and the depthwise
    convolution; the projection is linear (Sandler et al. 2018, Table 1). The input is
    added to the output when the stride is 1 and the channel counts match.

    Layers: ``{name}_expand`` (+ ``_BN``, ``_relu``), ``{name}_depthwise`` (+ ``_BN``,
    ``_relu``), ``{name}_project`` (+ ``_BN``), ``{name}_add``, the names Keras uses.

    Cost:
        Din^2 * M * tM (expand) + Dout^2 * 9 * tM (depthwise) + Dout^2 * tM * N
        (project) MACs; at stride 1, h*w*M*t*(M + 9 + N), the paper's
        h*w*d'*t*(d' + k^2 + d'') (Sandler et al. 2018, Section 3.3).

    Args:
        x: input tensor with M channels.
        expansion: expansion factor t >= 1.
        filters: output channels N.
        strides: 1 or 2.
        name: prefix of every layer.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    name = _name(name)
    expansion = integer(expansion, "expansion")
    filters = integer(filters, "filters")
    strides = _stride(strides)
    in_channels = _channels(x)
    y = x
    if expansion > 1:
        y = layers.Conv2D(in_channels * expansion, 1, use_bias=False, name=f"{name}_expand")(y)
        y = _bn(f"{name}_expand_BN")(y)
        y = layers.ReLU(6.0, name=f"{name}_expand_relu")(y)
    y = layers.DepthwiseConv2D(
        3, strides=strides, padding="same", use_bias=False, name=f"{name}_depthwise"
    )(y)
    y = _bn(f"{name}_depthwise_BN")(y)
    y = layers.ReLU(6.0, name=f"{name}_depthwise_relu")(y)
    y = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(y)
    y = _bn(f"{name}_project_BN")(y)
    if strides == 1 and in_channels == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y
