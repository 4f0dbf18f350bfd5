"""Reading a Keras 3 model as a graph: the package's one home for Keras internals.

The profiler, filter pruning and the weight transforms all need the same things from a
model: its layer calls in execution order (nested models flattened), the tensors each
call reads and writes with their per-image shapes, which layers hold a kernel, and a
copy with the same weights. They get them here; no other module of the package touches
a private Keras attribute.

:func:`read_graph` returns a :class:`Graph`, a plain record of the model's layer calls.
Given ``input_shape`` it propagates that shape through the layers (each layer's
``compute_output_spec``), so a model built for any resolution (``(None, None, 3)``, as
Keras's MobileNetV3) can be read at a fixed one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import layers as klayers
from keras.src.ops import numpy as _keras_numpy_ops

from mobilecourse._validate import shape as _shape

__all__ = [
    "APPLICATION_SCALE_LAYERS",
    "ELEMENTWISE_OPS",
    "KERNEL_LAYERS",
    "Graph",
    "LayerCall",
    "call_count",
    "clone_with_weights",
    "functional",
    "held_params",
    "kernels",
    "layers_of",
    "nodes_in_order",
    "read_graph",
]

Shape = tuple[int, ...]

#: Layer classes that hold a convolution or dense kernel (pruned, quantized, counted).
KERNEL_LAYERS = (klayers.Conv2D, klayers.DepthwiseConv2D, klayers.SeparableConv2D, klayers.Dense)

#: Elementwise operations that Keras records when a model's code writes ``x + y`` or
#: ``x * y`` on symbolic tensors (e.g. in MobileNetV3's hard-swish).
ELEMENTWISE_OPS = tuple(
    getattr(_keras_numpy_ops, name)
    for name in (
        "Add",
        "Subtract",
        "Multiply",
        "Divide",
        "TrueDivide",
        "Maximum",
        "Minimum",
        "Negative",
        "Abs",
        "Clip",
    )
    if hasattr(_keras_numpy_ops, name)
)


def _application_layers() -> tuple[type, ...]:
    from keras.src.applications import convnext, inception_resnet_v2

    found = (
        getattr(convnext, "LayerScale", None),
        getattr(convnext, "StochasticDepth", None),
        getattr(inception_resnet_v2, "CustomScaleLayer", None),
    )
    return tuple(cls for cls in found if cls is not None)


#: Scaling layers private to ``keras.applications`` models (ConvNeXt's LayerScale and
#: StochasticDepth, InceptionResNetV2's CustomScaleLayer): elementwise, no kernels.
APPLICATION_SCALE_LAYERS = _application_layers()


def functional(model: keras.Model) -> keras.Model:
    """The functional graph behind ``model`` (a built Sequential model has one inside).

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: ``model`` is a Sequential model that has not been built.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if isinstance(model, keras.Sequential):
        inner = getattr(model, "_functional", None)
        if inner is None:
            raise ValueError(
                f"model {model.name!r} is a Sequential model that has not been built; "
                "start it with keras.Input(shape) or call model.build(input_shape)"
            )
        return inner
    if not hasattr(model, "_nodes_by_depth"):
        raise ValueError(
            f"model {model.name!r} is a subclassed model; the course reads functional and "
            "Sequential models only"
        )
    return model


def nodes_in_order(model: keras.Model) -> list:
    """The functional model's nodes, inputs first; within a depth, in layer order."""
    model = functional(model)
    order = {id(op): i for i, op in enumerate(model.operations)}
    nodes = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        nodes.extend(
            sorted(model._nodes_by_depth[depth], key=lambda n: order.get(id(n.operation), -1))
        )
    return nodes


def layers_of(model: keras.Model) -> list:
    """Every layer of ``model`` in model order, nested models flattened."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(layers_of(layer))
        else:
            out.append(layer)
    return out


def kernels(layer) -> list:
    """The kernel variables of one layer: both of a SeparableConv2D, else its ``kernel``.

    Empty for a layer that is not one of :data:`KERNEL_LAYERS`.
    """
    if isinstance(layer, klayers.SeparableConv2D):
        return [layer.depthwise_kernel, layer.pointwise_kernel]
    if isinstance(layer, KERNEL_LAYERS):
        return [layer.kernel]
    return []


def held_params(layer) -> int:
    """Values in the layer's own variables (trainable or not): its ``count_params()``."""
    return sum(math.prod(v.shape) for v in layer.weights)


def clone_with_weights(model: keras.Model) -> keras.Model:
    """A new model with the same architecture and a copy of every weight.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


@dataclass(frozen=True)
class LayerCall:
    """One call of a layer (or a recorded operation such as ``x + y``) in a model.

    Attributes:
        name: the layer's name, ``outer/inner`` inside a nested model.
        layer: the layer or operation object.
        inputs: ids of the tensors it reads (numbers local to its :class:`Graph`).
        outputs: ids of the tensors it writes.
        input_shapes: per-image shapes (no batch axis) of ``inputs``.
        output_shapes: per-image shapes of ``outputs``.
        repeated: the layer was called earlier in the model (its weights are shared).
    """

    name: str
    layer: object
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    repeated: bool = False


@dataclass(frozen=True)
class Graph:
    """A model read as layer calls. Build it with :func:`read_graph`.

    Attributes:
        name: the model's name.
        input_shapes: per-image shapes of the model's inputs.
        calls: the layer calls in execution order (nested models flattened, input
            layers left out).
        inputs: ids of the model's input tensors.
        outputs: ids of the model's output tensors.
        elements: values per image of every tensor, by id.
    """

    name: str
    input_shapes: tuple[Shape, ...]
    calls: tuple[LayerCall, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    elements: dict[int, int]


def _per_image(shape, where: str) -> Shape:
    dims = tuple(shape)[1:]
    if any(d is None for d in dims):
        raise ValueError(
            f"{where} has an undefined shape {tuple(shape)}; pass input_shape=(height, "
            "width, channels), e.g. profile_model(model, input_shape=(224, 224, 3))"
        )
    return tuple(int(d) for d in dims)


class _Reader:
    """Walks a functional model once, numbering tensors and recording layer calls."""

    def __init__(self, specs: bool):
        self.specs = specs  # propagate shapes (True) or read the stored ones
        self.ids: dict[int, int] = {}
        self.values: dict[int, object] = {}  # propagated KerasTensor per original id
        self.elements: dict[int, int] = {}
        self.calls: list[LayerCall] = []
        self.seen: set[int] = set()

    def tensor(self, t, shape: Shape | None = None) -> int:
        if id(t) not in self.ids:
            self.ids[id(t)] = len(self.ids)
        number = self.ids[id(t)]
        if shape is not None:
            self.elements[number] = math.prod(shape)
        return number

    def shape(self, t, where: str) -> Shape:
        if self.specs:
            return _per_image(self.values[id(t)].shape, where)
        return _per_image(t.shape, where)

    def walk(self, model, prefix: str) -> None:
        for node in nodes_in_order(model):
            layer = node.operation
            if isinstance(layer, klayers.InputLayer):
                continue
            name = prefix + layer.name
            in_shapes = tuple(
                self.shape(t, f"the input of layer {name!r}") for t in node.input_tensors
            )
            in_ids = tuple(
                self.tensor(t, s) for t, s in zip(node.input_tensors, in_shapes, strict=True)
            )
            if isinstance(layer, keras.Model):
                self.nested(layer, node, name)
                continue
            if self.specs:
                self.propagate(layer, node, name)
            out_shapes = tuple(
                self.shape(t, f"the output of layer {name!r}") for t in node.output_tensors
            )
            out_ids = tuple(
                self.tensor(t, s) for t, s in zip(node.output_tensors, out_shapes, strict=True)
            )
            repeated = id(layer) in self.seen
            self.seen.add(id(layer))
            self.calls.append(
                LayerCall(name, layer, in_ids, out_ids, in_shapes, out_shapes, repeated)
            )

    def nested(self, model, node, name: str) -> None:
        inner = functional(model)
        for inner_input, t in zip(inner.inputs, node.input_tensors, strict=True):
            self.ids[id(inner_input)] = self.ids[id(t)]
            if self.specs:
                self.values[id(inner_input)] = self.values[id(t)]
        self.walk(inner, name + "/")
        for inner_output, t in zip(inner.outputs, node.output_tensors, strict=True):
            self.ids[id(t)] = self.ids[id(inner_output)]
            if self.specs:
                self.values[id(t)] = self.values[id(inner_output)]

    def propagate(self, layer, node, name: str) -> None:
        args, kwargs = node.arguments.fill_in(self.values)
        try:
            result = layer.compute_output_spec(*args, **kwargs)
        except Exception as err:  # Keras raises many types for a shape that does not fit
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"input_shape does not fit layer {name!r}: {first}") from None
        outputs = keras.tree.flatten(result)
        for t, value in zip(node.output_tensors, outputs, strict=True):
            dims = tuple(value.shape)[1:]
            if any(d is not None and d <= 0 for d in dims):
                raise ValueError(
                    f"input_shape is too small for layer {name!r}: its output would be {dims}"
                )
            self.values[id(t)] = value


def read_graph(model: keras.Model, input_shape=None) -> Graph:
    """Read a functional (or built Sequential) model as its layer calls.

    Args:
        model: the model; not modified.
        input_shape: per-image input shape, e.g. ``(224, 224, 3)``, to read the model at
            (a model with undefined spatial sizes needs one; a fixed-size model may be
            read at another resolution). ``None``: the shapes the model was built with.

    Returns:
        A :class:`Graph`.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: the model is not built, is subclassed, has undefined sizes and no
            ``input_shape``, or ``input_shape`` does not fit it (the message names the
            first layer that refuses it).
    """
    graph_model = functional(model)
    reader = _Reader(specs=input_shape is not None)
    if input_shape is not None:
        if len(graph_model.inputs) != 1:
            raise ValueError(
                f"input_shape works for a model with one input; {model.name!r} has "
                f"{len(graph_model.inputs)}"
            )
        (model_input,) = graph_model.inputs
        rank = len(model_input.shape) - 1
        input_shape = _shape(input_shape, "input_shape", rank)
        fixed = tuple(model_input.shape)[1:]
        for axis, (want, have) in enumerate(zip(input_shape, fixed, strict=True)):
            if have is not None and axis == rank - 1 and want != have:
                raise ValueError(
                    f"input_shape must keep the model's {have} input channels, got {input_shape}"
                )
        reader.values[id(model_input)] = keras.KerasTensor(
            (1, *input_shape), dtype=model_input.dtype
        )
    input_shapes = tuple(reader.shape(t, "the model input") for t in graph_model.inputs)
    inputs = tuple(
        reader.tensor(t, s) for t, s in zip(graph_model.inputs, input_shapes, strict=True)
    )
    reader.walk(graph_model, "")
    return Graph(
        name=model.name,
        input_shapes=input_shapes,
        calls=tuple(reader.calls),
        inputs=inputs,
        outputs=tuple(reader.ids[id(t)] for t in graph_model.outputs),
        elements=reader.elements,
    )


def call_count(layer) -> int:
    """How many times ``layer`` is called in the models built so far (shared layers: > 1)."""
    return len(layer._inbound_nodes)
