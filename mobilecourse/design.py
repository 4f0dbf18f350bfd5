"""A network as a table of rows: its costs in pure integer maths, and the Keras model.

A design is an input shape, a list of :class:`DesignRow` and a classifier head (global
average pooling, then a dense softmax over ``classes``). Each row is one of :data:`KINDS`:

* ``"conv"``: a convolution, optionally grouped, with BatchNorm and ReLU
  (:func:`mobilecourse.blocks.conv_bn_relu`);
* ``"separable"``: MobileNet v1's 3x3 depthwise + 1x1 pointwise block
  (:func:`mobilecourse.blocks.depthwise_separable_block`);
* ``"bottleneck"``: MobileNetV2's inverted residual block with expansion factor t
  (:func:`mobilecourse.blocks.inverted_residual_block`);
* ``"maxpool"``: a max-pool, no parameters.

:func:`design_costs` counts every row with :mod:`mobilecourse.costs` and never builds a
model, so the network designer (:func:`mobilecourse.widgets.network_designer`) can update
on every key press; a row that cannot be built carries the reason in words and is left
out of the totals. :func:`build` makes the Keras model with the course's block builders;
its profile (:func:`mobilecourse.profile.profile_model`) has the same MACs, parameters
and peak activation memory as the design (tested). :data:`STARTS` are course models as
designs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from mobilecourse import costs
from mobilecourse._validate import choice, integer, items

__all__ = [
    "KINDS",
    "STARTS",
    "Design",
    "DesignLayer",
    "DesignRow",
    "build",
    "design_costs",
    "rows_source",
]

#: The row kinds a design may use.
KINDS = ("conv", "separable", "bottleneck", "maxpool")

#: Strides a row may use (the block builders take 1 or 2).
STRIDES = (1, 2)


class DesignRow(NamedTuple):
    """One row of a design.

    Attributes:
        kind: one of :data:`KINDS`.
        filters: output channels (ignored by ``"maxpool"``, which keeps its input's).
        kernel_size: the kernel's side of a ``"conv"`` or ``"maxpool"``; 3 for the blocks.
        strides: 1 or 2.
        expansion: expansion factor t of a ``"bottleneck"`` (1 skips the expansion); 1
            for the other kinds.
        groups: groups g of a ``"conv"``, dividing its input and output channels; 1 for
            the other kinds.
    """

    kind: str
    filters: int = 16
    kernel_size: int = 3
    strides: int = 1
    expansion: int = 1
    groups: int = 1


@dataclass(frozen=True)
class DesignLayer:
    """The cost of one row of a design, or of the head.

    Attributes:
        label: ``"1 conv"``, ``"2 separable"``, ... or ``"head"``.
        output_shape: the row's output shape (its input's when the row is invalid).
        macs: multiply-accumulates per image.
        params: parameters as Keras counts them (BatchNorm's four per channel included).
        stored: numbers a deployed file stores: weights and biases with BatchNorm folded
            into the kernels (one bias per BatchNorm channel).
        peak: the most activation values the row holds at once: an operation's input plus
            its output, an inverted residual block counted as one operation (MobileNetV2,
            Section 5.1; :meth:`mobilecourse.profile.ModelProfile.peak_activation_bytes`).
        error: why the row cannot be built, or ``None``.
    """

    label: str
    output_shape: tuple[int, ...]
    macs: int = 0
    params: int = 0
    stored: int = 0
    peak: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Design:
    """A design's rows and their costs (:func:`design_costs`).

    Attributes:
        input_shape: ``(H, W, C)`` per image.
        classes: outputs of the dense head.
        rows: the rows as given.
        layers: one :class:`DesignLayer` per row, then the head's.
    """

    input_shape: tuple[int, int, int]
    classes: int
    rows: tuple[DesignRow, ...]
    layers: tuple[DesignLayer, ...]

    @property
    def errors(self) -> list[str]:
        """The invalid rows, each as ``"row 3 (conv): reason"``."""
        return [
            f"row {layer.label.replace(' ', ' (', 1)}): {layer.error}"
            for layer in self.layers
            if layer.error
        ]

    @property
    def valid(self) -> bool:
        """Whether every row can be built."""
        return not self.errors

    @property
    def macs(self) -> int:
        """MACs per image of the valid rows and the head."""
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        """Parameters as Keras counts them (``model.count_params()`` of :func:`build`)."""
        return sum(layer.params for layer in self.layers)

    @property
    def stored(self) -> int:
        """Numbers a deployed file stores (BatchNorm folded into kernels and biases)."""
        return sum(layer.stored for layer in self.layers)

    def peak_activation_bytes(self, bits: int = 32) -> int:
        """Peak activation memory per image at ``bits`` bits per value, rounded up to bytes.

        Cost:
            max over operations of (input + output values) x bits / 8 (MobileNetV2,
            Sandler et al. 2018, Section 5.1), an inverted residual block as one operation.
        """
        bits = integer(bits, "bits")
        return -(-max(layer.peak for layer in self.layers) * bits // 8)

    def size_bytes(self, bits: int = 32) -> int:
        """Bytes of the stored numbers at ``bits`` bits each (:func:`costs.model_size_bytes`;
        a ``.tflite`` file adds its graph and, for int8, 32-bit biases and scales)."""
        return costs.model_size_bytes(self.stored, bits)


def _with_bn(cost: costs.LayerCost) -> costs.LayerCost:
    """A convolution (no bias) followed by BatchNorm on its output."""
    return cost + costs.batch_norm(cost.output_shape)


def _row_cost(row: DesignRow, shape: tuple[int, int, int]) -> tuple[costs.LayerCost, int]:
    """The row's cost and peak activation values on an input of ``shape``."""
    cin = shape[2]
    if row.kind == "maxpool":
        h = costs.output_size(shape[0], row.kernel_size, row.strides)
        w = costs.output_size(shape[1], row.kernel_size, row.strides)
        out = (h, w, cin)
        return costs.LayerCost(0, 0, 0, out), math.prod(shape) + math.prod(out)
    if row.kind == "conv":
        cost = _with_bn(
            costs.conv2d(
                shape, row.filters, row.kernel_size, row.strides, "same", row.groups, use_bias=False
            )
        )
        return cost, math.prod(shape) + math.prod(cost.output_shape)
    if row.kind == "separable":
        dw = _with_bn(costs.depthwise_conv2d(shape, 3, row.strides, use_bias=False))
        pw = _with_bn(costs.conv2d(dw.output_shape, row.filters, 1, use_bias=False))
        middle = math.prod(dw.output_shape)
        peak = max(math.prod(shape) + middle, middle + math.prod(pw.output_shape))
        return dw + pw, peak
    # bottleneck: expand (t > 1), depthwise, linear projection; one operation for the peak
    cost = costs.LayerCost(0, 0, 0, shape)
    if row.expansion > 1:
        cost = _with_bn(costs.conv2d(shape, cin * row.expansion, 1, use_bias=False))
    cost = cost + _with_bn(
        costs.depthwise_conv2d(cost.output_shape, 3, row.strides, use_bias=False)
    )
    cost = cost + _with_bn(costs.conv2d(cost.output_shape, row.filters, 1, use_bias=False))
    return cost, math.prod(shape) + math.prod(cost.output_shape)


def _row_error(row: object) -> str | None:
    """Why ``row`` is not a row at all (wrong kind or values), else ``None``."""
    if not isinstance(row, DesignRow):
        return f"a row must be a DesignRow, got {type(row).__name__}"
    if row.kind not in KINDS:
        return f"kind must be one of {KINDS}, got {row.kind!r}"
    try:
        for field in ("filters", "kernel_size", "expansion", "groups"):
            integer(getattr(row, field), field)
        choice(row.strides, "strides", STRIDES)
    except (TypeError, ValueError) as err:
        return str(err)
    if row.kind == "maxpool" and row.kernel_size < row.strides:
        return f"a max-pool's kernel_size must be at least its strides={row.strides}"
    if row.groups != 1 and row.kind != "conv":
        return f"groups={row.groups}: only a conv row is grouped (set groups to 1)"
    if row.expansion != 1 and row.kind != "bottleneck":
        return f"expansion={row.expansion}: only a bottleneck expands (set expansion to 1)"
    if row.kernel_size != 3 and row.kind in ("separable", "bottleneck"):
        return f"kernel_size={row.kernel_size}: a {row.kind} block's depthwise kernel is 3x3"
    return None


def _head_cost(shape: tuple[int, ...], classes: int) -> DesignLayer:
    dense = costs.dense(shape[-1], classes)
    pooled = shape[-1]
    peak = max(math.prod(shape) + pooled, pooled + classes)
    params = dense.params
    return DesignLayer("head", (classes,), dense.macs, params, params, peak)


def design_costs(rows, input_shape=(28, 28, 1), classes: int = 10) -> Design:
    """The costs of a design, row by row, without building it.

    Each row is counted on the output of the last valid row before it. A row that cannot
    be built (groups that do not divide the channels, a stride of 3, ...) gets an
    ``error`` in words and no cost; :attr:`Design.errors` lists them.

    Cost:
        conv: Dk^2 (M/g) N Dout^2 MACs (ShuffleNet, Zhang et al. 2017); separable:
        9 M Dout^2 + M N Dout^2 (MobileNet, Howard et al. 2017, eq. 5); bottleneck:
        Din^2 M tM + Dout^2 9 tM + Dout^2 tM N (MobileNetV2, Sandler et al. 2018); head:
        C x classes. BatchNorm adds 4 parameters per channel and no MACs.

    Args:
        rows: a list or tuple of :class:`DesignRow` (may be empty: the head alone).
        input_shape: ``(H, W, C)`` per image.
        classes: outputs of the dense head.

    Returns:
        A :class:`Design`.

    Raises:
        TypeError: ``rows`` is not a list or tuple.
        ValueError: a bad ``input_shape`` or ``classes``.
    """
    if isinstance(rows, DesignRow) or not isinstance(rows, (list, tuple)):
        raise TypeError(f"rows must be a list or tuple of DesignRow, got {type(rows).__name__}")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    shape = first = tuple(integer(d, "input_shape") for d in input_shape)
    classes = integer(classes, "classes")
    layers = []
    for i, row in enumerate(rows, start=1):
        kind = row.kind if isinstance(row, DesignRow) else "?"
        label = f"{i} {kind}"
        error = _row_error(row)
        if error is None:
            try:
                cost, peak = _row_cost(row, shape)
            except ValueError as err:  # the formulas' own checks, e.g. groups
                error = str(err)
        if error is not None:
            layers.append(DesignLayer(label, shape, error=error))
            continue
        folded = cost.batchnorm // 4  # after folding, one bias per BatchNorm channel
        layers.append(
            DesignLayer(
                label,
                cost.output_shape,
                cost.macs,
                cost.params,
                cost.weights + cost.bias + folded,
                peak,
            )
        )
        shape = cost.output_shape
    layers.append(_head_cost(shape, classes))
    return Design(first, classes, tuple(rows), tuple(layers))


def build(rows, input_shape=(28, 28, 1), classes: int = 10, name: str = "my_design"):
    """The design as an untrained Keras model, built with the course's block builders.

    Row ``i`` names its layers ``conv{i}``, ``ds{i}``, ``block_{i}`` or ``pool{i}`` (so the
    profiler recognises the inverted residual blocks); the head is ``global_pool`` and
    ``predictions``.

    Args:
        rows: a non-empty list or tuple of :class:`DesignRow`.
        input_shape: ``(H, W, C)`` per image.
        classes: outputs of the dense head.
        name: the model's name.

    Returns:
        A ``keras.Model``.

    Raises:
        TypeError: ``rows`` is not a list or tuple of :class:`DesignRow`.
        ValueError: a row cannot be built (the message lists every such row).
    """
    items(
        rows, "rows", DesignRow, "DesignRow(kind, filters, kernel_size, strides, expansion, groups)"
    )
    design = design_costs(rows, input_shape, classes)
    if not design.valid:
        raise ValueError("the design cannot be built: " + "; ".join(design.errors))
    from mobilecourse import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from mobilecourse import blocks
    from mobilecourse.models import _head

    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    for i, row in enumerate(rows, start=1):
        if row.kind == "conv":
            x = blocks.conv_bn_relu(
                x,
                filters=row.filters,
                kernel_size=row.kernel_size,
                strides=row.strides,
                groups=row.groups,
                name=f"conv{i}",
            )
        elif row.kind == "separable":
            x = blocks.depthwise_separable_block(
                x, filters=row.filters, strides=row.strides, name=f"ds{i}"
            )
        elif row.kind == "bottleneck":
            x = blocks.inverted_residual_block(
                x,
                expansion=row.expansion,
                filters=row.filters,
                strides=row.strides,
                name=f"block_{i}",
            )
        else:
            x = keras.layers.MaxPooling2D(
                row.kernel_size, row.strides, padding="same", name=f"pool{i}"
            )(x)
    return keras.Model(inputs, _head(x, classes), name=name)


def rows_source(rows, input_shape=(28, 28, 1), classes: int = 10) -> str:
    """Python code that rebuilds the design with :func:`build` (for a notebook cell).

    Fields at their defaults are left out, so the code reads like the table.
    """
    defaults = DesignRow("conv")
    lines = ["rows = ["]
    for row in rows:
        extra = "".join(
            f", {field}={getattr(row, field)!r}"
            for field in ("kernel_size", "strides", "expansion", "groups")
            if getattr(row, field) != getattr(defaults, field)
        )
        lines.append(f"    DesignRow({row.kind!r}, {row.filters!r}{extra}),")
    lines.append("]")
    lines.append(
        f"model = design.build(rows, input_shape={tuple(input_shape)!r}, classes={classes!r})"
    )
    return "\n".join(lines)


def _digits_rows() -> tuple[DesignRow, ...]:
    from mobilecourse.models import DIGITS_CNN_BLOCKS

    return (DesignRow("conv", 16, strides=2),) + tuple(
        DesignRow("separable", row.filters, strides=row.strides) for row in DIGITS_CNN_BLOCKS
    )


def _mobilenet_v1_rows() -> tuple[DesignRow, ...]:
    from mobilecourse.models import MOBILENET_V1_BLOCKS

    return (DesignRow("conv", 32, strides=2),) + tuple(
        DesignRow("separable", row.filters, strides=row.strides) for row in MOBILENET_V1_BLOCKS
    )


def _mobilenet_v2_rows() -> tuple[DesignRow, ...]:
    from mobilecourse.models import MOBILENET_V2_BLOCKS

    body = tuple(
        DesignRow(
            "bottleneck", row.filters, strides=row.strides if r == 0 else 1, expansion=row.expansion
        )
        for row in MOBILENET_V2_BLOCKS
        for r in range(row.repeats)
    )
    return (DesignRow("conv", 32, strides=2), *body, DesignRow("conv", 1280, kernel_size=1))


#: Course models as designs: name -> (input_shape, classes, rows). Each has the MACs,
#: parameters and peak memory of the course's own model (tested):
#: ``models.digits_cnn(width=1.0)`` (lesson 08's student), ``models.mobilenet_v1()`` and
#: ``models.mobilenet_v2()``.
STARTS = {
    "digits_cnn 1.0x (lesson 08)": ((28, 28, 1), 10, _digits_rows()),
    "MobileNet v1 1.0-224": ((224, 224, 3), 1000, _mobilenet_v1_rows()),
    "MobileNetV2 1.0-224": ((224, 224, 3), 1000, _mobilenet_v2_rows()),
}
