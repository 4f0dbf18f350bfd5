"""Per-layer cost profile of a Keras 3 model, computed with the formulas of ``costs``.

The profiler walks a functional (or built Sequential) model node by node and asks a
**handler**, looked up by layer class, for the layer's cost. Handlers are pure
functions ``handler(layer, input_shapes, output_shapes) -> LayerCost`` (shapes per
image, without the batch axis); they return values and change nothing. Register one
for a new layer type with :func:`register_cost_handler`. A layer with no handler is
listed in ``ModelProfile.unhandled``, its parameters are still taken from Keras, and a
warning is issued: it is never counted as zero MACs in silence.

Nested models are walked recursively; their rows are named ``outer/inner``.

Conventions are those of :mod:`mobilecourse.costs` (MACs of convolution and dense
kernels, batch 1; FLOPs = 2 x MACs; params equal ``model.count_params()``).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
from keras import layers

from mobilecourse import costs
from mobilecourse._validate import integer
from mobilecourse.blocks import INVERTED_RESIDUAL_PARTS, ChannelShuffle, ChannelSplit
from mobilecourse.costs import LayerCost
from mobilecourse.graph import (
    APPLICATION_SCALE_LAYERS,
    ELEMENTWISE_OPS,
    Graph,
    held_params,
    read_graph,
)

__all__ = [
    "FUSED_INTO_PRODUCER",
    "LayerRow",
    "ModelProfile",
    "inverted_residual_block_of",
    "profile_model",
    "register_cost_handler",
]

Shape = tuple[int, ...]
Handler = Callable[[keras.layers.Layer, list[Shape], list[Shape]], LayerCost]

_HANDLERS: dict[type, Handler] = {}


def register_cost_handler(layer_cls: type, fn: Handler) -> None:
    """Use ``fn`` to cost every layer of class ``layer_cls`` (and its subclasses).

    Args:
        layer_cls: a ``keras.layers.Layer`` subclass (or a ``keras.Operation``
            subclass, for operations such as ``x + y`` recorded in a functional graph).
        fn: ``fn(layer, input_shapes, output_shapes) -> costs.LayerCost``, shapes per
            image without the batch axis. It must not modify the layer.

    Raises:
        TypeError: ``layer_cls`` is not a Layer subclass or ``fn`` is not callable.
    """
    if not (isinstance(layer_cls, type) and issubclass(layer_cls, keras.Operation)):
        raise TypeError(f"layer_cls must be a keras.layers.Layer subclass, got {layer_cls!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    _HANDLERS[layer_cls] = fn


def _handler_for(layer) -> Handler | None:
    for cls in type(layer).__mro__:  # the most specific registered class wins
        if cls in _HANDLERS:
            return _HANDLERS[cls]
    return None


# ---------------------------------------------------------------- handlers


def _no_cost(layer, input_shapes, output_shapes) -> LayerCost:
    return LayerCost(macs=0, weights=0, bias=0, output_shape=output_shapes[0])


def _conv2d(layer, input_shapes, output_shapes) -> LayerCost:
    if tuple(layer.dilation_rate) != (1, 1):
        # Dilation spreads the same weights wider: the MACs per output are unchanged.
        base = costs.conv2d(
            output_shapes[0][:2] + input_shapes[0][2:],
            layer.filters,
            layer.kernel_size,
            1,
            "same",
            layer.groups,
            layer.use_bias,
        )
        return LayerCost(base.macs, base.weights, base.bias, output_shapes[0])
    return costs.conv2d(
        input_shapes[0],
        layer.filters,
        layer.kernel_size,
        layer.strides,
        layer.padding,
        layer.groups,
        layer.use_bias,
    )


def _depthwise(layer, input_shapes, output_shapes) -> LayerCost:
    return costs.depthwise_conv2d(
        input_shapes[0],
        layer.kernel_size,
        layer.strides,
        layer.padding,
        layer.depth_multiplier,
        layer.use_bias,
    )


def _separable(layer, input_shapes, output_shapes) -> LayerCost:
    return costs.separable_conv2d(
        input_shapes[0],
        layer.filters,
        layer.kernel_size,
        layer.strides,
        layer.padding,
        layer.use_bias,
        layer.depth_multiplier,
    )


def _dense(layer, input_shapes, output_shapes) -> LayerCost:
    *positions, in_features = input_shapes[0]
    one = costs.dense(in_features, layer.units, layer.use_bias)
    return LayerCost(one.macs * math.prod(positions), one.weights, one.bias, output_shapes[0])


def _batch_norm(layer, input_shapes, output_shapes) -> LayerCost:
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    # Keras counts a positive axis with the batch axis; per-image shapes have none.
    channels = input_shapes[0][axis - 1 if axis > 0 else axis]
    norm = costs.batch_norm((channels,), layer.center, layer.scale)
    return LayerCost(0, 0, 0, output_shapes[0], batchnorm=norm.batchnorm)


def _held_weights(layer, input_shapes, output_shapes) -> LayerCost:
    """Per-channel statistics or scales, no MACs: what the layer holds as weights.

    Cost: 0 MACs; parameters = the layer's own variables (a Normalization layer adapted
    to data holds a mean, a variance and a count; one given ``mean=`` and ``variance=``
    holds none; LayerNormalization holds gamma and beta; ConvNeXt's LayerScale a gamma).
    """
    return LayerCost(0, 0, 0, output_shapes[0], batchnorm=held_params(layer))


for _cls, _fn in {
    layers.Conv2D: _conv2d,
    layers.DepthwiseConv2D: _depthwise,
    layers.SeparableConv2D: _separable,
    layers.Dense: _dense,
    layers.BatchNormalization: _batch_norm,
    layers.Normalization: _held_weights,
    layers.LayerNormalization: _held_weights,
    layers.GroupNormalization: _held_weights,
    layers.UnitNormalization: _held_weights,
    **dict.fromkeys(APPLICATION_SCALE_LAYERS, _held_weights),
}.items():
    register_cost_handler(_cls, _fn)

#: Layers with neither MACs nor parameters: pooling, merges, reshapes, activations.
SHAPE_ONLY_LAYERS = (
    layers.InputLayer,
    layers.MaxPooling2D,
    layers.AveragePooling2D,
    layers.GlobalAveragePooling2D,
    layers.GlobalMaxPooling2D,
    layers.Add,
    layers.Subtract,
    layers.Multiply,
    layers.Average,
    layers.Maximum,
    layers.Minimum,
    layers.Concatenate,
    layers.Reshape,
    layers.Permute,
    layers.Flatten,
    layers.ZeroPadding2D,
    layers.Cropping2D,
    layers.Dropout,
    layers.SpatialDropout2D,
    layers.Activation,
    layers.ReLU,
    layers.Softmax,
    layers.LeakyReLU,
    layers.Rescaling,
    layers.Identity,
    ChannelShuffle,
    ChannelSplit,
)
for _cls in SHAPE_ONLY_LAYERS:
    register_cost_handler(_cls, _no_cost)

for _cls in ELEMENTWISE_OPS:
    register_cost_handler(_cls, _no_cost)

#: Elementwise layers that run in place on their producer's output at inference, so
#: they add no tensor of their own to peak memory.
FUSED_INTO_PRODUCER = (
    layers.BatchNormalization,
    layers.Activation,
    layers.ReLU,
    layers.LeakyReLU,
    layers.Softmax,
    layers.Dropout,
    layers.SpatialDropout2D,
)


# ---------------------------------------------------------------- the profile


@dataclass(frozen=True)
class LayerRow:
    """One layer call in the profile.

    Attributes:
        name: the layer's name (``outer/inner`` inside a nested model).
        type: the layer's class name.
        output_shape: per-image output shape (the first output's, for several).
        macs: multiply-accumulates (``None`` for an unhandled layer: unknown).
        weights: kernel weights.
        bias: bias parameters.
        batchnorm: normalization parameters: BatchNorm's gamma, beta, moving mean and
            variance (a Normalization layer's mean, variance and count).
        other_params: parameters of layers without a handler (taken from Keras).
        activations: elements of all the layer's outputs for one image.
        kind: the MobileNet Table 2 category, e.g. ``"Conv 1x1"``, or ``""``.
        handled: whether a cost handler counted this layer.
    """

    name: str
    type: str
    output_shape: Shape
    macs: int | None
    weights: int
    bias: int
    batchnorm: int
    other_params: int
    activations: int
    kind: str
    handled: bool = True

    @property
    def params(self) -> int:
        """All parameters of the layer."""
        return self.weights + self.bias + self.batchnorm + self.other_params


def inverted_residual_block_of(layer_name: str) -> str | None:
    """The inverted residual block a layer belongs to, from its name, else ``None``.

    ``block_3_expand_BN`` -> ``block_3``; works for ``mobilecourse.models.mobilenet_v2``
    and for Keras's ``MobileNetV2`` (whose first block is ``expanded_conv``).
    """
    match = _BLOCK_PATTERN.fullmatch(layer_name.rsplit("/", 1)[-1])
    if match is None:
        return None
    prefix = layer_name.rsplit("/", 1)[0] + "/" if "/" in layer_name else ""
    return prefix + match.group(1)


_BLOCK_PATTERN = re.compile(
    r"(.+?)_("
    + "|".join(sorted(map(re.escape, INVERTED_RESIDUAL_PARTS), key=len, reverse=True))
    + ")"
)


@dataclass(repr=False)
class ModelProfile:
    """The cost of a model, layer by layer. Build it with :func:`profile_model`.

    Attributes:
        name: the model's name.
        input_shapes: per-image input shapes.
        rows: one :class:`LayerRow` per layer call, in execution order.
        unhandled: names of layer types that had no cost handler.
        graph: the layer calls and tensors the profile was computed from
            (:func:`mobilecourse.graph.read_graph`), for the memory analysis.
    """

    name: str
    input_shapes: list[Shape]
    rows: list[LayerRow]
    unhandled: list[str] = field(default_factory=list)
    graph: Graph | None = field(default=None, repr=False)

    # totals ---------------------------------------------------------
    @property
    def macs(self) -> int:
        """Total multiply-accumulates (of the handled layers; see ``unhandled``)."""
        return sum(r.macs for r in self.rows if r.macs is not None)

    @property
    def flops(self) -> int:
        """Floating-point operations: 2 x MACs."""
        return 2 * self.macs

    @property
    def weights(self) -> int:
        """Kernel weights (what the MobileNet paper counts as parameters)."""
        return sum(r.weights for r in self.rows)

    @property
    def bias(self) -> int:
        """Bias parameters."""
        return sum(r.bias for r in self.rows)

    @property
    def batchnorm(self) -> int:
        """BatchNorm parameters (4 per channel: 2 trainable, 2 not)."""
        return sum(r.batchnorm for r in self.rows)

    @property
    def other_params(self) -> int:
        """Parameters of layers without a cost handler."""
        return sum(r.other_params for r in self.rows)

    @property
    def params(self) -> int:
        """All parameters; equals ``model.count_params()``."""
        return self.weights + self.bias + self.batchnorm + self.other_params

    # aggregation ----------------------------------------------------
    def by_type(self):
        """MACs and parameters per kind of layer (MobileNet v1, Table 2).

        Returns:
            A DataFrame indexed by kind (``"Conv 1x1"``, ``"Conv DW 3x3"``,
            ``"Conv 3x3"``, ``"Fully Connected"``, ...) with columns ``macs``,
            ``macs_percent``, ``weights`` (kernel only, as the paper counts),
            ``weights_percent`` and ``params``, sorted by MACs.
        """
        import pandas as pd

        frame = pd.DataFrame(
            [(r.kind, r.macs or 0, r.weights, r.params) for r in self.rows if r.kind],
            columns=["kind", "macs", "weights", "params"],
        )
        grouped = frame.groupby("kind").sum()
        grouped.insert(1, "macs_percent", 100 * grouped["macs"] / grouped["macs"].sum())
        grouped.insert(3, "weights_percent", 100 * grouped["weights"] / grouped["weights"].sum())
        return grouped.sort_values("macs", ascending=False)

    def peak_activation_bytes(
        self, bits: int = 32, block_of: Callable[[str], str | None] | None = None
    ) -> int:
        """Peak activation memory under memory-efficient inference (MobileNetV2, Section 5.1).

        The rule: an operation needs its input and output tensors in memory at the same
        time, so peak memory = max over operations of (sum of inputs + sum of outputs).
        Two refinements make "operation" mean what an inference engine runs:

        * BatchNorm, activations and dropout run in place on the tensor that feeds
          them (they are fused into the producing operation);
        * a block whose inner tensors are disposable counts as one operation from the
          tensors entering it to the tensors leaving it. By default these are the
          inverted residual blocks (``block_of=inverted_residual_block_of``): their
          wide expanded tensor can be computed a slice of channels at a time, so it
          never has to exist whole.

        Args:
            bits: bits per activation value (32 for float32, 16, 8, ...).
            block_of: maps a layer name to its block's name, or ``None`` for a layer
                outside any such block. Pass ``lambda name: None`` for no blocks.

        Returns:
            Bytes for one image, rounded up.

        Raises:
            ValueError: ``bits`` is not a positive integer.
        """
        integer(bits, "bits")
        block_of = inverted_residual_block_of if block_of is None else block_of
        calls = self.graph.calls
        group = {op.name: op.name for op in calls}
        producer = {t: op.name for op in calls for t in op.outputs}

        def find(name):
            while group[name] != name:
                group[name] = group[group[name]]
                name = group[name]
            return name

        def union(a, b):
            group[find(a)] = find(b)

        blocks: dict[str, str] = {}
        for op in calls:
            if isinstance(op.layer, FUSED_INTO_PRODUCER) and len(op.inputs) == 1:
                source = producer.get(op.inputs[0])
                if source is not None:
                    union(op.name, source)
            block = block_of(op.name)
            if block is not None:
                if block in blocks:
                    union(op.name, blocks[block])
                else:
                    blocks[block] = op.name

        members: dict[str, list] = {}
        for op in calls:
            members.setdefault(find(op.name), []).append(op)
        consumers: dict[int, set[str]] = {}
        for op in calls:
            for t in op.inputs:
                consumers.setdefault(t, set()).add(find(op.name))

        peak = 0
        for root, ops in members.items():
            produced = {t for op in ops for t in op.outputs}
            ins = {t for op in ops for t in op.inputs if t not in produced}
            outs = {
                t for t in produced if t in self.graph.outputs or consumers.get(t, set()) - {root}
            }
            elements = sum(self.graph.elements[t] for t in ins | outs)
            peak = max(peak, elements)
        return -(-peak * bits // 8)

    # formatting -----------------------------------------------------
    def table(self):
        """The per-layer rows as a pandas DataFrame (one row per layer call)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "name": [r.name for r in self.rows],
                "type": [r.type for r in self.rows],
                "output_shape": [r.output_shape for r in self.rows],
                "macs": pd.array([r.macs for r in self.rows], dtype="Int64"),
                "weights": [r.weights for r in self.rows],
                "bias": [r.bias for r in self.rows],
                "batchnorm": [r.batchnorm for r in self.rows],
                "other_params": [r.other_params for r in self.rows],
                "activations": [r.activations for r in self.rows],
            }
        )

    def totals(self) -> dict[str, int]:
        """The totals as a dict (MACs, FLOPs, params and their parts, peak memory)."""
        return {
            "macs": self.macs,
            "flops": self.flops,
            "params": self.params,
            "weights": self.weights,
            "bias": self.bias,
            "batchnorm": self.batchnorm,
            "other_params": self.other_params,
            "peak_activation_bytes": self.peak_activation_bytes(),
        }

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """A notebook shows the profile as its table of layers and its totals."""
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"

    def summary(self, skip_empty: bool = True) -> str:
        """A readable text table of the layers and the totals.

        Args:
            skip_empty: leave out layers with neither MACs nor parameters.
        """
        from mobilecourse.report import profile_text

        return profile_text(self, skip_empty=skip_empty)


# ---------------------------------------------------------------- the walk


def _kind(layer) -> str:
    if isinstance(layer, layers.DepthwiseConv2D):
        return "Conv DW {}x{}".format(*layer.kernel_size)
    if isinstance(layer, layers.SeparableConv2D):
        return "Separable {}x{}".format(*layer.kernel_size)
    if isinstance(layer, layers.Conv2D):
        return "Conv {}x{}".format(*layer.kernel_size)
    if isinstance(layer, layers.Dense):
        return "Fully Connected"
    return ""


def _row(call) -> LayerRow:
    """The profile row of one layer call: its handler's cost, or Keras's parameters."""
    layer = call.layer
    activations = sum(math.prod(shape) for shape in call.output_shapes)
    handler = _handler_for(layer)
    if handler is None:
        has_params = isinstance(layer, keras.layers.Layer) and not call.repeated
        return LayerRow(
            name=call.name,
            type=type(layer).__name__,
            output_shape=call.output_shapes[0],
            macs=None,
            weights=0,
            bias=0,
            batchnorm=0,
            other_params=held_params(layer) if has_params else 0,
            activations=activations,
            kind="",
            handled=False,
        )
    cost = handler(layer, list(call.input_shapes), list(call.output_shapes))
    if call.repeated:  # a layer called again: MACs again, weights only once
        cost = LayerCost(cost.macs, 0, 0, cost.output_shape)
    elif isinstance(layer, keras.layers.Layer) and cost.params != held_params(layer):
        raise ValueError(
            f"layer {call.name!r} holds {held_params(layer):,} parameters but its inputs "
            f"{list(call.input_shapes)} give {cost.params:,}: the input shape does not fit "
            "the weights it was built with"
        )
    return LayerRow(
        name=call.name,
        type=type(layer).__name__,
        output_shape=call.output_shapes[0],
        macs=cost.macs,
        weights=cost.weights,
        bias=cost.bias,
        batchnorm=cost.batchnorm,
        other_params=0,
        activations=activations,
        kind=_kind(layer),
    )


def profile_model(model: keras.Model, input_shape=None) -> ModelProfile:
    """Count the MACs, parameters and activations of every layer of a Keras model.

    Args:
        model: a functional model, or a built Sequential model.
        input_shape: per-image input shape, e.g. ``(224, 224, 3)``: profile the model
            at this resolution (needed for a model built with undefined sizes such as
            ``(None, None, 3)``; a fixed-size model is re-profiled at another size).
            ``None``: the sizes the model was built with.

    Returns:
        A :class:`ModelProfile`. Its ``params`` equal ``model.count_params()``.

    Raises:
        TypeError: ``model`` is not a Keras model, or ``input_shape`` not a tuple of ints.
        ValueError: the model is not built, has undefined sizes and no ``input_shape``,
            or ``input_shape`` does not fit it (the message names the layer).

    Warns:
        UserWarning: for each layer type without a cost handler (see ``unhandled``).
    """
    graph = read_graph(model, input_shape)
    rows = [_row(call) for call in graph.calls]
    unhandled = list(dict.fromkeys(r.type for r in rows if not r.handled))
    if unhandled:
        warnings.warn(
            f"no cost handler for {', '.join(unhandled)} in model {model.name!r}: "
            "their MACs are not counted (their parameters are); register one with "
            "mobilecourse.profile.register_cost_handler",
            UserWarning,
            stacklevel=2,
        )
    return ModelProfile(
        name=model.name,
        input_shapes=list(graph.input_shapes),
        rows=rows,
        unhandled=unhandled,
        graph=graph,
    )
