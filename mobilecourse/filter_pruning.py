"""Structured filter pruning: remove whole filters and the channels they feed (lesson 06).

:func:`prune_filters` drops the output filters of smallest L1 norm from chosen ``Conv2D``
layers (Li et al. 2017, "Pruning Filters for Efficient ConvNets"; ThiNet, Luo et al.
2017, picks them by the next layer's reconstruction error instead) and rebuilds the model
with the matching channels removed downstream: a genuinely smaller dense network with
fewer MACs, unlike magnitude pruning (:mod:`mobilecourse.pruning`), whose zeros keep
their place.

The rebuild walks the graph once (:func:`mobilecourse.graph.nodes_in_order`) and asks a
**narrowing handler**, looked up by layer class as the profiler's cost handlers are, what
each layer becomes given which channels of its inputs are kept: ``handler(layer, step)
-> (kept output channels, config, weights)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import keras
import numpy as np
from keras import layers as klayers

from mobilecourse._validate import built_model, layer_names
from mobilecourse._validate import fraction as fraction_value
from mobilecourse.graph import call_count, nodes_in_order
from mobilecourse.graph import functional as functional_graph

__all__ = ["prune_filters"]

#: Layers that act on each channel independently: pruned channels pass through.
_CHANNELWISE = (
    klayers.Activation,
    klayers.ReLU,
    klayers.LeakyReLU,
    klayers.MaxPooling2D,
    klayers.AveragePooling2D,
    klayers.GlobalAveragePooling2D,
    klayers.GlobalMaxPooling2D,
    klayers.Dropout,
    klayers.SpatialDropout2D,
    klayers.ZeroPadding2D,
    klayers.Cropping2D,
    klayers.Identity,
)


def _filters_to_keep(kernel: np.ndarray, fraction: float) -> np.ndarray:
    """Indices (ascending) of the output filters of largest L1 norm."""
    n = kernel.shape[-1]
    n_drop = min(int(math.floor(fraction * n + 1e-9)), n - 1)
    l1 = np.abs(kernel).reshape(-1, n).sum(axis=0)
    order = np.argsort(-l1, kind="stable")  # largest first; ties keep the lower index
    return np.sort(order[: n - n_drop])


def prune_filters(
    model: keras.Model, fraction: float, layers: Iterable[str] | None = None
) -> keras.Model:
    """Structured pruning: drop the lowest-L1 filters of Conv2D layers (Li et al. 2017).

    For each chosen ``Conv2D``, ``floor(fraction * filters)`` output filters with the
    smallest sum of |w| are removed (at least one is kept), with their bias. The
    matching channels are removed downstream: from a following BatchNormalization
    (gamma, beta, moving mean and variance), a DepthwiseConv2D (and what follows it),
    channel-wise layers (ReLU, pooling, dropout, padding), Flatten and Concatenate,
    and the input rows of the next Conv2D, SeparableConv2D or Dense layer. Kept
    weights are copied exactly, so the result computes the same function as the
    original whenever the removed filters were all zero (ignoring any bias and
    BatchNorm offsets of those channels).

    Args:
        model: a functional (or built Sequential) Keras model with no shared layers;
            it is not modified.
        fraction: fraction of filters to remove from each chosen layer, in [0, 1).
        layers: names of the Conv2D layers to prune; ``None`` = every ungrouped
            Conv2D whose channels can be removed.

    Returns:
        A new, smaller functional model with the same inputs and output shapes.

    Raises:
        ValueError: on an invalid argument, a grouped convolution, or a chosen layer
            whose pruned channels reach an Add/Multiply (residual) connection, a layer
            that cannot be narrowed, or a model output; the message names the layer.
    """
    model = built_model(model)
    fraction = fraction_value(fraction, "fraction")
    functional = functional_graph(model)
    convs = [
        layer
        for layer in functional.layers
        if isinstance(layer, klayers.Conv2D)
        and not isinstance(layer, (klayers.DepthwiseConv2D, klayers.SeparableConv2D))
    ]
    available = [layer.name for layer in convs]
    if layers is None:
        chosen = {layer.name for layer in convs if layer.groups == 1}
        auto = True
    else:
        chosen = set(layer_names(layers, "layers"))
        unknown = sorted(chosen - set(available))
        if unknown:
            raise ValueError(
                f"layers names unknown or non-Conv2D layers {unknown} of model "
                f"{model.name!r}; the Conv2D layers are {available}"
            )
        auto = False
    if auto:
        chosen = _auto_prunable(functional, chosen)
        if not chosen:
            raise ValueError(
                f"layers=None found no Conv2D of {model.name!r} to prune: the channels of "
                f"each of {available} reach a residual merge, a layer prune_filters cannot "
                "narrow, or the model output"
            )
    if not chosen:
        raise ValueError(f"layers names no Conv2D layer to prune in {model.name!r}")
    return _rebuild(functional, chosen, fraction, model.name)


def _auto_prunable(functional, candidates: set[str]) -> set[str]:
    """Candidates whose removal the rebuild accepts (a dry run per layer)."""
    ok = set()
    for name in candidates:
        try:
            _rebuild(functional, {name}, 0.5, functional.name, dry_run=True)
        except ValueError:
            continue
        ok.add(name)
    return ok


class _Keep:
    """Kept channel indices of a tensor and the pruned layers they come from."""

    __slots__ = ("index", "sources")

    def __init__(self, index: np.ndarray | None, sources: frozenset = frozenset()):
        self.index = index
        self.sources = sources


_FULL = _Keep(None)


def _rebuild(functional, chosen: set[str], fraction: float, name: str, dry_run: bool = False):
    new_tensors: dict[int, object] = {}
    keeps: dict[int, _Keep] = {}
    for t in functional.inputs:
        keeps[id(t)] = _FULL
        if not dry_run:
            new_tensors[id(t)] = keras.Input(
                shape=t.shape[1:], batch_size=t.shape[0], dtype=t.dtype, name=t.name
            )
    for node in nodes_in_order(functional):
        layer = node.operation
        if isinstance(layer, klayers.InputLayer):
            continue
        if not isinstance(layer, keras.layers.Layer) or isinstance(layer, keras.Model):
            ins = [keeps.get(id(t), _FULL) for t in node.input_tensors]
            if any(k.index is not None for k in ins):
                raise ValueError(
                    f"cannot prune {sorted(set().union(*[k.sources for k in ins]))}: "
                    f"their channels reach {getattr(layer, 'name', layer)!r} "
                    f"({type(layer).__name__}), which prune_filters cannot narrow"
                )
            if not dry_run:
                raise ValueError(
                    f"prune_filters supports plain Keras layers only; {layer.name!r} is a "
                    f"{type(layer).__name__}"
                )
            for t in node.outputs:
                keeps[id(t)] = _FULL
            continue
        if call_count(layer) > 1:
            raise ValueError(f"layer {layer.name!r} is shared; prune_filters cannot rebuild it")
        in_tensors = list(node.input_tensors)
        ins = [keeps.get(id(t), _FULL) for t in in_tensors]
        out_keep, config, weights = _narrow(layer, ins, in_tensors, chosen, fraction)
        outs = list(node.outputs)
        for t in outs:
            keeps[id(t)] = out_keep
        if dry_run:
            continue
        new_layer = type(layer).from_config(config)
        args = [new_tensors[id(t)] for t in in_tensors]
        call_args = args if len(args) > 1 or isinstance(layer, klayers.Concatenate) else args[0]
        result = new_layer(call_args)
        results = result if isinstance(result, (list, tuple)) else [result]
        for t, r in zip(outs, results, strict=True):
            new_tensors[id(t)] = r
        if weights:
            new_layer.set_weights(weights)
    for t in functional.outputs:
        k = keeps[id(t)]
        if k.index is not None:
            raise ValueError(
                f"cannot prune {sorted(k.sources)}: their channels reach the model output "
                f"{t.name!r}, whose shape must not change"
            )
    if dry_run:
        return None
    outputs = [new_tensors[id(t)] for t in functional.outputs]
    return keras.Model(
        [new_tensors[id(t)] for t in functional.inputs]
        if len(functional.inputs) > 1
        else new_tensors[id(functional.inputs[0])],
        outputs if len(outputs) > 1 else outputs[0],
        name=f"{name}_filter_pruned",
    )


def _channel_axis_last(layer) -> None:
    fmt = getattr(layer, "data_format", "channels_last")
    if fmt != "channels_last":
        raise ValueError(f"layer {layer.name!r} uses {fmt}; prune_filters needs channels_last")


class _Step:
    """What a narrowing handler gets: one layer call and the channels its inputs keep."""

    __slots__ = ("layer", "ins", "in_tensors", "chosen", "fraction", "config", "weights")

    def __init__(self, layer, ins, in_tensors, chosen, fraction):
        self.layer = layer
        self.ins = ins
        self.in_tensors = in_tensors
        self.chosen = chosen
        self.fraction = fraction
        self.config = layer.get_config()
        self.weights = [np.asarray(w) for w in layer.get_weights()]

    @property
    def keep(self) -> _Keep:
        """The kept channels of the first input."""
        return self.ins[0] if self.ins else _FULL

    @property
    def pruned_in(self) -> bool:
        return any(i.index is not None for i in self.ins)

    def unchanged(self, keep: _Keep | None = None):
        return (_FULL if keep is None else keep), self.config, self.weights

    def refuse(self, why: str):
        sources = frozenset().union(*[i.sources for i in self.ins]) if self.ins else frozenset()
        raise ValueError(
            f"cannot prune {sorted(sources)}: their channels reach {self.layer.name!r} "
            f"({type(self.layer).__name__}), {why}"
        )


def _narrow_depthwise_kernel(step: _Step) -> np.ndarray:
    """Keep the depthwise kernel's input channels; return the kept output channels.

    With depth multiplier m, input channel c feeds outputs c*m ... c*m + m - 1.
    """
    m = step.layer.depth_multiplier
    step.weights[0] = step.weights[0][:, :, step.keep.index, :]
    return (step.keep.index[:, None] * m + np.arange(m)[None, :]).ravel()


def _depthwise(step: _Step):
    _channel_axis_last(step.layer)
    if step.keep.index is None:
        return step.unchanged()
    out_index = _narrow_depthwise_kernel(step)
    if step.layer.use_bias:
        step.weights[1] = step.weights[1][out_index]
    return _Keep(out_index, step.keep.sources), step.config, step.weights


def _separable(step: _Step):
    _channel_axis_last(step.layer)
    if step.keep.index is None:
        return step.unchanged()
    mid = _narrow_depthwise_kernel(step)  # the pointwise kernel reads these channels
    step.weights[1] = step.weights[1][:, :, mid, :]
    return step.unchanged()


def _conv2d(step: _Step):
    layer, k, weights = step.layer, step.keep, step.weights
    _channel_axis_last(layer)
    if k.index is not None:
        if layer.groups != 1:
            step.refuse("a grouped convolution")
        weights[0] = weights[0][:, :, k.index, :]
    if layer.name not in step.chosen:
        return step.unchanged()
    if layer.groups != 1:
        raise ValueError(f"layers: {layer.name!r} is a grouped Conv2D; it cannot be pruned")
    keep = _filters_to_keep(weights[0], step.fraction)
    weights[0] = weights[0][..., keep]
    if layer.use_bias:
        weights[1] = weights[1][keep]
    step.config["filters"] = int(len(keep))
    return _Keep(keep, frozenset({layer.name})), step.config, weights


def _dense(step: _Step):
    if step.keep.index is not None:
        step.weights[0] = step.weights[0][step.keep.index, :]
    return step.unchanged()


def _batch_norm(step: _Step):
    layer, k = step.layer, step.keep
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    if axis not in (-1, len(step.in_tensors[0].shape) - 1):
        step.refuse(f"normalizing axis {layer.axis}, not the channels")
    step.weights = [w[k.index] for w in step.weights]
    return k, step.config, step.weights


def _channelwise(step: _Step):
    return step.unchanged(step.keep)


def _flatten(step: _Step):
    k = step.keep
    shape = step.in_tensors[0].shape[1:]
    if any(d is None for d in shape):
        step.refuse("with an undefined input shape")
    channels = int(shape[-1])
    positions = math.prod(int(d) for d in shape[:-1])
    index = (np.arange(positions)[:, None] * channels + k.index[None, :]).ravel()
    return _Keep(index, k.sources), step.config, step.weights


def _concatenate(step: _Step):
    layer = step.layer
    if layer.axis not in (-1, len(step.in_tensors[0].shape) - 1):
        step.refuse(f"concatenating along axis {layer.axis}, not the channels")
    parts, offset = [], 0
    for t, i in zip(step.in_tensors, step.ins, strict=True):
        c = int(t.shape[-1])
        parts.append((np.arange(c) if i.index is None else i.index) + offset)
        offset += c
    sources = frozenset().union(*[i.sources for i in step.ins])
    return _Keep(np.concatenate(parts), sources), step.config, step.weights


def _merge(step: _Step):
    step.refuse("a residual/elementwise merge whose inputs must keep matching channels")


#: Handlers for layers that change whether or not their inputs were narrowed.
_ALWAYS: dict[type, Callable] = {
    klayers.DepthwiseConv2D: _depthwise,
    klayers.SeparableConv2D: _separable,
    klayers.Conv2D: _conv2d,
    klayers.Dense: _dense,
}
#: Handlers asked only when an input lost channels (otherwise the layer is copied as is).
_WHEN_NARROWED: dict[type, Callable] = {
    klayers.BatchNormalization: _batch_norm,
    **dict.fromkeys(_CHANNELWISE, _channelwise),
    klayers.Flatten: _flatten,
    klayers.Concatenate: _concatenate,
    **dict.fromkeys((klayers.Add, klayers.Subtract, klayers.Multiply, klayers.Average), _merge),
}


def _lookup(table: dict[type, Callable], layer) -> Callable | None:
    for cls in type(layer).__mro__:  # the most specific registered class wins
        if cls in table:
            return table[cls]
    return None


def _narrow(layer, ins: list[_Keep], in_tensors, chosen, fraction):
    """The output keep, new config and new weights of one layer."""
    step = _Step(layer, ins, in_tensors, chosen, fraction)
    handler = _lookup(_ALWAYS, layer)
    if handler is not None:
        return handler(step)
    if not step.pruned_in:
        return step.unchanged()
    handler = _lookup(_WHEN_NARROWED, layer)
    if handler is None:
        step.refuse("which prune_filters cannot narrow")
    return handler(step)
