"""Block diagrams drawn from built Keras models, and flow charts of steps.

A figure of a block should not be drawn by hand next to the code that builds it: the
two drift apart. Here the figure is read from the built model, in three stages kept
apart (compute, then lay out, then format):

1. **read**: :func:`diagram_of` reads a model's layer calls through
   :mod:`mobilecourse.graph` and returns a :class:`Diagram`, a plain record of boxes (one
   per layer call, or per merged group of calls) and edges (which box reads which box's
   output). Each box has a kind (``"conv"``, ``"depthwise"``, ``"merge"``, ...), a
   paper-like label computed from the layer (``"1×1 GConv g=3, 60"``, ``"3×3 DWConv
   s2"``, ``"ReLU6"``, ``"Concat"``) and its output shape. Tests assert on it; nothing is
   drawn.
2. **lay out**: :func:`layout` turns boxes and edges into coordinates, with no
   matplotlib: the boxes go top to bottom in ranks (a box sits below every box it
   reads), branches side by side, and an edge that would cross a box is routed beside
   it.
3. **draw**: :func:`draw` puts a diagram and its layout on matplotlib Axes.

:func:`block_diagram` does the three for one model, :func:`compare_blocks` for several
models side by side, and :func:`flow_diagram` draws a chain of steps left to right (a
pipeline such as lesson 08's, which is a flow, not a model). Everything works with the
non-interactive Agg backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import keras
from keras import layers as klayers

from mobilecourse import graph
from mobilecourse._validate import boolean, built_model, choice
from mobilecourse.blocks import ChannelShuffle

__all__ = [
    "COLOURS",
    "KINDS",
    "Box",
    "Diagram",
    "Layout",
    "block_diagram",
    "box_sizes",
    "compare_blocks",
    "diagram_of",
    "draw",
    "flow_diagram",
    "layer_label",
    "layout",
    "shape_text",
]

#: The kinds of box, each drawn in its own colour.
KINDS = (
    "input",
    "conv",
    "group_conv",
    "depthwise",
    "separable",
    "dense",
    "norm",
    "activation",
    "pool",
    "shuffle",
    "merge",
    "pad",
    "other",
    "block",
    "step",
)

#: Fill colour of each kind of box.
COLOURS = {
    "input": "#f0f0f0",
    "conv": "#9ecae1",
    "group_conv": "#c6b3e0",
    "depthwise": "#fdae6b",
    "separable": "#fdd0a2",
    "dense": "#c6dbef",
    "norm": "#e0e0e0",
    "activation": "#c7e9c0",
    "pool": "#bcd8d0",
    "shuffle": "#fff09e",
    "merge": "#fcbba1",
    "pad": "#ffffff",
    "other": "#ffffff",
    "block": "#f6e8c3",
    "step": "#c6dbef",
}

#: What the legend calls each kind.
_KIND_NAMES = {
    "input": "input",
    "conv": "convolution",
    "group_conv": "group convolution",
    "depthwise": "depthwise convolution",
    "separable": "separable convolution",
    "dense": "fully connected",
    "norm": "BatchNorm",
    "activation": "activation",
    "pool": "pooling",
    "shuffle": "channel shuffle",
    "merge": "add / concatenate",
    "pad": "padding",
    "other": "other",
    "block": "block",
    "step": "step",
}

#: Names of Keras activation functions as the papers write them.
_ACTIVATION_NAMES = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "softmax": "Softmax",
    "sigmoid": "Sigmoid",
    "hard_sigmoid": "h-sigmoid",
    "silu": "Swish",
    "swish": "Swish",
    "hard_silu": "h-swish",
    "hard_swish": "h-swish",
    "tanh": "Tanh",
    "gelu": "GELU",
    "elu": "ELU",
    "leaky_relu": "LeakyReLU",
}

#: Merge layers and their labels.
_MERGES = {
    klayers.Add: "Add",
    klayers.Concatenate: "Concat",
    klayers.Multiply: "Multiply",
    klayers.Subtract: "Subtract",
    klayers.Average: "Average",
    klayers.Maximum: "Maximum",
    klayers.Minimum: "Minimum",
}

# Layout, in text units: one unit is the width of a character, two the height of a line.
_LINE = 2.0
_PAD_X = 2.5  # around a label, left + right
_PAD_Y = 1.2  # around the lines, top + bottom
_GAP_X = 3.0  # between boxes of one rank
_GAP_Y = 3.0  # between ranks
_CHAR = 1.1  # widest average character of a label, in units (digits and capitals)


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Box:
    """One box of a diagram: a layer call, or several merged into one.

    Attributes:
        index: position in :attr:`Diagram.boxes` (boxes are in an order where every
            edge goes from a lower index to a higher one).
        kind: one of :data:`KINDS`.
        label: what the box says, e.g. ``"1×1 GConv g=3, 60"`` or, with BatchNorm and
            activation collapsed into the convolution, ``"3×3 Conv, 32 + BN + ReLU"``.
        shape: per-image output shape, e.g. ``(28, 28, 240)``; ``None`` for a step of a
            flow.
        layers: names of the layers the box stands for, in execution order.
    """

    index: int
    kind: str
    label: str
    shape: tuple[int, ...] | None
    layers: tuple[str, ...]


@dataclass(frozen=True)
class Diagram:
    """A model (or a flow) as boxes and edges: :func:`diagram_of` reads one from a model,
    :func:`flow_diagram` makes one from a list of steps.

    Attributes:
        name: the model's (or flow's) name.
        boxes: the boxes, every edge going from a lower index to a higher one.
        edges: ``(source, target)`` box indices; a box's incoming edges are listed in
            the order of its inputs (a Concatenate's first input first).
    """

    name: str
    boxes: tuple[Box, ...]
    edges: tuple[tuple[int, int], ...]

    def labels(self) -> list[str]:
        """Every box's label, in box order."""
        return [box.label for box in self.boxes]

    def find(self, text: str) -> list[Box]:
        """The boxes whose label contains ``text``."""
        return [box for box in self.boxes if text in box.label]

    def box_of(self, layer_name: str) -> Box:
        """The box that holds the layer called ``layer_name``.

        Raises:
            ValueError: no box holds it.
        """
        for box in self.boxes:
            if layer_name in box.layers:
                return box
        raise ValueError(f"layer_name {layer_name!r} is in no box of diagram {self.name!r}")

    def inputs_of(self, box: Box | int) -> list[Box]:
        """The boxes whose outputs ``box`` reads, in the order of its inputs."""
        index = box.index if isinstance(box, Box) else box
        return [self.boxes[s] for s, t in self.edges if t == index]

    def outputs_of(self, box: Box | int) -> list[Box]:
        """The boxes that read the output of ``box``."""
        index = box.index if isinstance(box, Box) else box
        return [self.boxes[t] for s, t in self.edges if s == index]

    def kinds(self) -> list[str]:
        """Every box's kind, in box order."""
        return [box.kind for box in self.boxes]


@dataclass(frozen=True)
class Layout:
    """Where :func:`draw` puts each box and edge (text units; y grows upwards).

    Attributes:
        centres: ``(x, y)`` centre of each box, by box index.
        sizes: ``(width, height)`` of each box as drawn (the boxes of one rank are made
            equally tall, the steps of a flow too).
        routes: for each edge of the diagram, in the same order, the points of its
            polyline from the source box's border to the target box's border.
        bounds: ``(xmin, xmax, ymin, ymax)`` of everything drawn.
        direction: ``"down"`` (ranks top to bottom) or ``"right"`` (left to right).
    """

    centres: tuple[tuple[float, float], ...]
    sizes: tuple[tuple[float, float], ...]
    routes: tuple[tuple[tuple[float, float], ...], ...]
    bounds: tuple[float, float, float, float]
    direction: str


# ---------------------------------------------------------------- labels


def shape_text(shape: tuple[int, ...] | None) -> str:
    """A per-image shape as the papers print it: ``(28, 28, 240)`` -> ``"28×28×240"``."""
    if shape is None:
        return ""
    return "×".join(str(d) for d in shape)


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _size(value) -> str:
    a, b = _pair(value)
    return f"{a}×{b}"


def _stride(value) -> str:
    a, b = _pair(value)
    if (a, b) == (1, 1):
        return ""
    return f" s{a}" if a == b else f" s{a}×{b}"


def _activation_name(function) -> str | None:
    """The paper's name of a Keras activation function; ``None`` when linear."""
    name = getattr(function, "__name__", type(function).__name__)
    if name == "linear":
        return None
    return _ACTIVATION_NAMES.get(name, name)


def _fused(layer) -> str:
    name = _activation_name(getattr(layer, "activation", None))
    return f" + {name}" if name else ""


def layer_label(layer) -> tuple[str, str]:
    """The kind and the paper-like label of one layer (or recorded operation).

    Convolutions give their kernel, stride, groups and output channels
    (``"3×3 Conv s2, 32"``, ``"1×1 GConv g=3, 240"``); a depthwise convolution its kernel
    and stride (``"3×3 DWConv s2"``: its channels are its input's); an activation fused
    into a layer is appended (``"7×7 Conv s2, 96 + ReLU"``).

    Args:
        layer: a Keras layer, or an operation Keras recorded for ``x + y``.

    Returns:
        ``(kind, label)``, the kind one of :data:`KINDS`.
    """
    if isinstance(layer, klayers.DepthwiseConv2D):
        multiplier = f" ×{layer.depth_multiplier}" if layer.depth_multiplier != 1 else ""
        label = f"{_size(layer.kernel_size)} DWConv{_stride(layer.strides)}{multiplier}"
        return "depthwise", label + _fused(layer)
    if isinstance(layer, klayers.SeparableConv2D):
        label = f"{_size(layer.kernel_size)} SepConv{_stride(layer.strides)}, {layer.filters}"
        return "separable", label + _fused(layer)
    if isinstance(layer, klayers.Conv2D):
        grouped = layer.groups > 1
        name = f"GConv g={layer.groups}" if grouped else "Conv"
        dilation = _pair(layer.dilation_rate)
        dilated = f" d{dilation[0]}" if dilation != (1, 1) else ""
        label = f"{_size(layer.kernel_size)} {name}{_stride(layer.strides)}{dilated}"
        return ("group_conv" if grouped else "conv"), f"{label}, {layer.filters}" + _fused(layer)
    if isinstance(layer, klayers.Dense):
        return "dense", f"FC, {layer.units}" + _fused(layer)
    if isinstance(layer, klayers.BatchNormalization):
        return "norm", "BN"
    if isinstance(layer, klayers.LayerNormalization):
        return "norm", "LN"
    if isinstance(layer, klayers.ReLU):
        if layer.max_value is not None and float(layer.max_value) == 6.0:
            return "activation", "ReLU6"
        if layer.negative_slope:
            return "activation", "LeakyReLU"
        if layer.max_value is not None:
            return "activation", f"ReLU (max {float(layer.max_value):g})"
        return "activation", "ReLU"
    if isinstance(layer, klayers.Activation):
        return "activation", _activation_name(layer.activation) or "Linear"
    if isinstance(layer, (klayers.Softmax, klayers.LeakyReLU, klayers.PReLU, klayers.ELU)):
        return "activation", "Softmax" if isinstance(layer, klayers.Softmax) else type(
            layer
        ).__name__
    if isinstance(layer, (klayers.AveragePooling2D, klayers.MaxPooling2D)):
        name = "AvgPool" if isinstance(layer, klayers.AveragePooling2D) else "MaxPool"
        return "pool", f"{_size(layer.pool_size)} {name}{_stride(layer.strides)}"
    if isinstance(layer, klayers.GlobalAveragePooling2D):
        return "pool", "Global AvgPool"
    if isinstance(layer, klayers.GlobalMaxPooling2D):
        return "pool", "Global MaxPool"
    if isinstance(layer, ChannelShuffle):
        return "shuffle", "Channel shuffle"
    for cls, label in _MERGES.items():
        if isinstance(layer, cls):
            return "merge", label
    if isinstance(layer, graph.ELEMENTWISE_OPS):
        return "merge", type(layer).__name__
    if isinstance(layer, klayers.ZeroPadding2D):
        return "pad", "ZeroPad"
    if isinstance(layer, klayers.Dropout):
        return "other", f"Dropout {layer.rate:g}"
    return "other", type(layer).__name__


# ---------------------------------------------------------------- reading a model


class _Draft:
    """A box while the model is read: mutable, merged into, renumbered at the end."""

    def __init__(self, kind: str, label: str, shape, name: str | None):
        self.kind = kind
        self.label = label
        self.shape = shape
        self.layers = [name] if name else []
        self.calls: list = []


def diagram_of(
    model: keras.Model,
    *,
    collapse: bool = False,
    group: Callable[[str], str | None] | None = None,
    input_shape=None,
) -> Diagram:
    """Read a built model as boxes and edges (nothing is drawn).

    One box per layer call and one per model input; an edge from the box that writes a
    tensor to every box that reads it.

    Args:
        model: a built functional or Sequential ``keras.Model`` (nested models are
            flattened).
        collapse: fold each BatchNorm and activation into the box whose output it alone
            reads (``"3×3 Conv, 32 + BN + ReLU"``; ``"Add + ReLU"``), and each
            ``ZeroPadding2D`` into the layer it pads, for compact slides.
        group: a function of a layer name returning a group name or ``None``; the calls
            of one group become one box of kind ``"block"`` labelled with the group name
            (e.g. SqueezeNet's fire modules: ``lambda n: n.split("_")[0] if
            n.startswith("fire") else None``). Calls it returns ``None`` for stay as they
            are.
        input_shape: per-image input shape to read the model at (see
            :func:`mobilecourse.graph.read_graph`); ``None``: the built shapes.

    Returns:
        A :class:`Diagram`.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, ``collapse`` not a bool, ``group``
            not callable (or returning something other than a string or ``None``).
        ValueError: the model is not built or not functional, or a group's calls are
            interleaved with calls outside it so that the boxes would form a cycle.
    """
    built_model(model)
    collapse = boolean(collapse, "collapse")
    if group is not None and not callable(group):
        raise TypeError(f"group must be a function of a layer name or None, got {group!r}")
    read = graph.read_graph(model, input_shape=input_shape)

    consumers: dict[int, int] = {}
    for call in read.calls:
        for tensor in set(call.inputs):
            consumers[tensor] = consumers.get(tensor, 0) + 1
    outputs = set(read.outputs)

    drafts: list[_Draft] = []
    producer: dict[int, _Draft] = {}
    for tensor, shape in zip(read.inputs, read.input_shapes, strict=True):
        drafts.append(_Draft("input", "Input", shape, None))
        producer[tensor] = drafts[-1]
    groups: dict[str, _Draft] = {}

    def sole_reader(tensor: int) -> bool:
        return consumers.get(tensor, 0) == 1 and tensor not in outputs

    for call in read.calls:
        kind, label = layer_label(call.layer)
        shape = call.output_shapes[0] if call.output_shapes else None
        key = group(call.name) if group is not None else None
        if key is not None and not isinstance(key, str):
            raise TypeError(
                f"group must return a group name (str) or None, got {key!r} for layer {call.name!r}"
            )
        source = producer.get(call.inputs[0]) if len(call.inputs) == 1 else None
        if key is not None:
            draft = groups.get(key)
            if draft is None:
                draft = groups[key] = _Draft("block", key, shape, None)
                drafts.append(draft)
            draft.shape = shape
            draft.layers.append(call.name)
        elif (
            collapse
            and kind in ("norm", "activation")
            and source is not None
            and source.kind not in ("input", "block")
            and sole_reader(call.inputs[0])
        ):
            draft = source  # BN / activation folded into the box it alone reads
            draft.label = f"{draft.label} + {label}"
            draft.shape = shape
            draft.layers.append(call.name)
        elif (
            collapse
            and source is not None
            and source.kind == "pad"
            and source.layers
            and sole_reader(call.inputs[0])
        ):
            draft = source  # the padding folded into the layer it pads
            draft.kind, draft.label, draft.shape = kind, label, shape
            draft.layers.append(call.name)
        else:
            draft = _Draft(kind, label, shape, call.name)
            drafts.append(draft)
        draft.calls.append(call)
        for tensor in call.outputs:
            producer[tensor] = draft

    # edges in the order each box reads its inputs
    position = {id(d): i for i, d in enumerate(drafts)}
    edges: list[tuple[int, int]] = []
    for draft in drafts:
        target = position[id(draft)]
        for call in draft.calls:
            for tensor in call.inputs:
                source = position[id(producer[tensor])]
                if source != target and (source, target) not in edges:
                    edges.append((source, target))
    order = _topological(len(drafts), edges, model.name)
    rank = {old: new for new, old in enumerate(order)}
    boxes = tuple(
        Box(new, drafts[old].kind, drafts[old].label, drafts[old].shape, tuple(drafts[old].layers))
        for new, old in enumerate(order)
    )
    edges = [(rank[s], rank[t]) for s, t in edges]
    edges.sort(key=lambda e: e[1])  # stable: each box's inputs keep their order
    return Diagram(model.name, boxes, tuple(edges))


def _topological(count: int, edges: list[tuple[int, int]], name: str) -> list[int]:
    """Kahn's order of the boxes, lowest index first among the ready ones."""
    indegree = [0] * count
    successors: list[list[int]] = [[] for _ in range(count)]
    for s, t in edges:
        indegree[t] += 1
        successors[s].append(t)
    ready = sorted(i for i in range(count) if indegree[i] == 0)
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for t in successors[node]:
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
                ready.sort()
    if len(order) != count:
        raise ValueError(
            f"the boxes of model {name!r} form a cycle: a group's layers are interleaved "
            "with layers outside it; choose a group function whose groups are contiguous"
        )
    return order


# ---------------------------------------------------------------- layout (pure)


def _lines(box: Box, shapes: bool) -> list[str]:
    lines = box.label.split("\n")
    if shapes and box.shape is not None:
        lines.append(shape_text(box.shape))
    return lines


def box_sizes(diagram: Diagram, shapes: bool = True) -> list[tuple[float, float]]:
    """``(width, height)`` of each box in text units, from the length of its text.

    One unit is the width of an average character; a line is two units high.
    """
    sizes = []
    for box in diagram.boxes:
        lines = _lines(box, shapes)
        width = _CHAR * max(len(line) for line in lines) + _PAD_X
        sizes.append((math.ceil(width), len(lines) * _LINE + _PAD_Y))
    return sizes


def _check_diagram(diagram: object) -> Diagram:
    if not isinstance(diagram, Diagram):
        raise TypeError(
            f"diagram must be a Diagram (from diagram_of or flow_diagram), got "
            f"{type(diagram).__name__}"
        )
    return diagram


def layout(
    diagram: Diagram,
    *,
    direction: str = "down",
    shapes: bool = True,
    sizes: list[tuple[float, float]] | None = None,
) -> Layout:
    """Coordinates of every box and edge: pure arithmetic on boxes and edges.

    Ranks: a box sits one rank below the lowest box it reads; a box off the longest
    path (a shortcut's pooling) sits midway between what it reads and what reads it.
    Across: a box with one input sits under it, siblings side by side around it, a
    merge midway between its inputs; boxes of one rank are then pushed apart until
    they do not overlap, and made as tall as the tallest of them. An edge that spans
    several ranks and would cross a box runs beside the boxes it passes.

    Args:
        diagram: from :func:`diagram_of` or :func:`flow_diagram`.
        direction: ``"down"`` (ranks top to bottom) or ``"right"`` (left to right).
        shapes: size the boxes for a second line with the output shape.
        sizes: ``(width, height)`` per box to use instead of :func:`box_sizes`.

    Returns:
        A :class:`Layout`.

    Raises:
        TypeError: ``diagram`` is not a :class:`Diagram`.
        ValueError: ``direction`` is not ``"down"`` or ``"right"``, ``sizes`` does not
            have one entry per box, or an edge goes from a box to itself or backwards.
    """
    diagram = _check_diagram(diagram)
    direction = choice(direction, "direction", ("down", "right"))
    shapes = boolean(shapes, "shapes")
    if sizes is None:
        sizes = box_sizes(diagram, shapes)
    if len(sizes) != len(diagram.boxes):
        raise ValueError(
            f"sizes must give one (width, height) per box ({len(diagram.boxes)}), got {len(sizes)}"
        )
    for s, t in diagram.edges:
        if not 0 <= s < t < len(diagram.boxes):
            raise ValueError(f"edge ({s}, {t}) must go from a box to a later box")
    # lay out top to bottom; "right" is the same layout turned a quarter, its boxes
    # all as tall as the tallest (a row of steps)
    if direction == "right":
        tallest = max(h for _, h in sizes)
        sizes = [(w, tallest) for w, _ in sizes]
    dims = [(w, h) if direction == "down" else (h, w) for w, h in sizes]
    xs, ys, ranks = _place(len(dims), diagram.edges, dims)  # evens out each rank's heights
    routes = _route(diagram.edges, xs, ys, ranks, dims)
    sizes = [(w, h) if direction == "down" else (h, w) for w, h in dims]
    if direction == "right":
        xs, ys = [-y for y in ys], [-x for x in xs]
        routes = [tuple((-y, -x) for x, y in route) for route in routes]
    centres = tuple(zip(xs, ys, strict=True))
    points = [p for route in routes for p in route]
    xmin = min(
        [x - w / 2 for (x, _), (w, _) in zip(centres, sizes, strict=True)] + [p[0] for p in points]
    )
    xmax = max(
        [x + w / 2 for (x, _), (w, _) in zip(centres, sizes, strict=True)] + [p[0] for p in points]
    )
    ymin = min(
        [y - h / 2 for (_, y), (_, h) in zip(centres, sizes, strict=True)] + [p[1] for p in points]
    )
    ymax = max(
        [y + h / 2 for (_, y), (_, h) in zip(centres, sizes, strict=True)] + [p[1] for p in points]
    )
    return Layout(
        centres=centres,
        sizes=tuple((float(w), float(h)) for w, h in sizes),
        routes=tuple(tuple(route) for route in routes),
        bounds=(xmin, xmax, ymin, ymax),
        direction=direction,
    )


def _place(count, edges, dims):
    """x, y centres and rank of each box, ranks top to bottom (y decreasing)."""
    preds: list[list[int]] = [[] for _ in range(count)]
    succs: list[list[int]] = [[] for _ in range(count)]
    for s, t in edges:
        preds[t].append(s)
        succs[s].append(t)
    # ranks: as soon as possible, as late as possible, then midway (keeps every edge
    # going at least one rank down)
    asap = [0] * count
    for i in range(count):
        for p in preds[i]:
            asap[i] = max(asap[i], asap[p] + 1)
    last = max(asap, default=0)
    alap = [last] * count
    for i in reversed(range(count)):
        for t in succs[i]:
            alap[i] = min(alap[i], alap[t] - 1)
    ranks = [(a + b) // 2 for a, b in zip(asap, alap, strict=True)]

    # across: under the one input, siblings side by side, merges midway
    xs = [0.0] * count
    placed_sources = 0.0
    for i in range(count):
        if not preds[i]:
            xs[i] = placed_sources
            placed_sources += dims[i][0] + _GAP_X
        elif len(preds[i]) == 1:
            parent = preds[i][0]
            siblings = [t for t in succs[parent] if len(preds[t]) == 1]
            pitch = max(dims[t][0] for t in siblings) + _GAP_X
            k = siblings.index(i)
            xs[i] = xs[parent] + (k - (len(siblings) - 1) / 2) * pitch
        else:
            xs[i] = sum(xs[p] for p in preds[i]) / len(preds[i])
    # no overlap within a rank: push apart, keep the rank's centre
    by_rank: dict[int, list[int]] = {}
    for i, r in enumerate(ranks):
        by_rank.setdefault(r, []).append(i)
    for members in by_rank.values():
        members.sort(key=lambda i: (xs[i], i))
        wanted = [xs[i] for i in members]
        for a, b in zip(members, members[1:], strict=False):
            least = xs[a] + (dims[a][0] + dims[b][0]) / 2 + _GAP_X
            xs[b] = max(xs[b], least)
        shift = sum(w - xs[i] for w, i in zip(wanted, members, strict=True)) / len(members)
        for i in members:
            xs[i] += shift
    # y: each rank as tall as its tallest box
    heights = [0.0] * (max(ranks, default=0) + 1)
    for i, r in enumerate(ranks):
        heights[r] = max(heights[r], dims[i][1])
    dims[:] = [(w, heights[r]) for (w, _), r in zip(dims, ranks, strict=True)]
    centre_of_rank, top = [], 0.0
    for h in heights:
        centre_of_rank.append(top - h / 2)
        top -= h + _GAP_Y
    ys = [centre_of_rank[r] for r in ranks]
    return xs, ys, ranks


def _crosses(x0, y0, x1, y1, box) -> bool:
    """Whether the segment (x0, y0)-(x1, y1), going down, passes through a box."""
    bx, by, bw, bh = box
    top, bottom = by + bh / 2, by - bh / 2
    if y0 <= bottom or y1 >= top or y0 == y1:
        return False

    def at(y):
        return x0 + (x1 - x0) * (y0 - y) / (y0 - y1)

    lo, hi = sorted((at(min(top, y0)), at(max(bottom, y1))))
    return hi > bx - bw / 2 - 0.5 and lo < bx + bw / 2 + 0.5


def _route(edges, xs, ys, ranks, dims):
    """Polylines of the edges: straight, or beside the boxes a long edge would cross."""
    boxes = [(x, y, w, h) for x, y, (w, h) in zip(xs, ys, dims, strict=True)]
    detours: list[tuple[float, float, float]] = []  # (x, y top, y bottom) already used
    # the x each edge leaves and arrives at, spread over the box's border
    ways = []
    for s, t in edges:
        start = (xs[s], ys[s] - dims[s][1] / 2)
        end = (xs[t], ys[t] + dims[t][1] / 2)
        between = [
            boxes[i] for i, r in enumerate(ranks) if ranks[s] < r < ranks[t] and i not in (s, t)
        ]
        side = None
        if any(_crosses(*start, *end, box) for box in between):
            left = min(x - w / 2 for x, _, w, _ in between) - _GAP_X
            right = max(x + w / 2 for x, _, w, _ in between) + _GAP_X
            side = right if abs(right - xs[s]) <= abs(left - xs[s]) else left
            step = _GAP_X if side == right else -_GAP_X
            y_top, y_bottom = start[1] - _GAP_Y / 2, end[1] + _GAP_Y / 2
            while any(
                abs(x - side) < _GAP_X / 2 and not (y_bottom > t0 or y_top < b0)
                for x, t0, b0 in detours
            ):
                side += step
            detours.append((side, y_top, y_bottom))
        ways.append(side)
    leave = _spread(edges, xs, ways, dims, 0)
    arrive = _spread(edges, xs, ways, dims, 1)
    routes = []
    for (s, t), side, x0, x1 in zip(edges, ways, leave, arrive, strict=True):
        y0, y1 = ys[s] - dims[s][1] / 2, ys[t] + dims[t][1] / 2
        if side is None:
            routes.append([(x0, y0), (x1, y1)])
        else:
            routes.append([(x0, y0), (side, y0 - _GAP_Y / 2), (side, y1 + _GAP_Y / 2), (x1, y1)])
    return routes


def _spread(edges, xs, ways, dims, end):
    """The x where each edge meets its box (``end`` 0: leaving the source, 1: arriving):
    a box's edges are spread over the middle half of its border, in the order of where
    they come from or go to."""
    out = [0.0] * len(edges)
    by_box: dict[int, list[int]] = {}
    for k, edge in enumerate(edges):
        by_box.setdefault(edge[end], []).append(k)
    for box, ks in by_box.items():
        other = [edges[k][1 - end] for k in ks]
        aim = [ways[k] if ways[k] is not None else xs[o] for k, o in zip(ks, other, strict=True)]
        ordered = [k for _, k in sorted(zip(aim, ks, strict=True))]
        width = dims[box][0] / 2
        for j, k in enumerate(ordered):
            offset = 0.0 if len(ks) == 1 else (j / (len(ks) - 1) - 0.5) * width
            out[k] = xs[box] + offset
    return out


# ---------------------------------------------------------------- drawing


def _axes(ax):
    if ax is None:
        return None
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _fontsize(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"fontsize must be a positive number, got {value!r}")
    if not value > 0:
        raise ValueError(f"fontsize must be a positive number, got {value!r}")
    return float(value)


def _title(value) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"title must be a string or None, got {value!r}")
    return value


_MARGIN = 1.0  # text units around a drawing


def _panel(place, title, fontsize) -> tuple[float, float, float, float]:
    """The x and y limits of a drawing's Axes: its layout, a margin, and room for the
    title (in text units; a title is set one point larger than the labels)."""
    xmin, xmax, ymin, ymax = place.bounds
    xmin, xmax = xmin - _MARGIN, xmax + _MARGIN
    if title:
        wanted = _CHAR * len(title) * (fontsize + 1) / fontsize + 2 * _MARGIN
        extra = max(0.0, wanted - (xmax - xmin)) / 2
        xmin, xmax = xmin - extra, xmax + extra
    return xmin, xmax, ymin - _MARGIN, ymax + _MARGIN


def _figure(places, titles, legend_kinds, fontsize):
    """A figure with one Axes per layout, side by side, tops aligned, each drawn at
    exactly one text unit per 0.6 em (so the labels fit their boxes)."""
    import matplotlib.pyplot as plt

    unit = 0.6 * fontsize / 72  # inches per text unit
    title_h = 2.2 * fontsize / 72 if any(titles) else 0.0
    gap = 0.25  # inches between panels
    panels = [_panel(p, t, fontsize) for p, t in zip(places, titles, strict=True)]
    widths = [(x1 - x0) * unit for x0, x1, _, _ in panels]
    heights = [(y1 - y0) * unit for _, _, y0, y1 in panels]
    legend_w = 0.0
    if legend_kinds:
        longest = max(len(_KIND_NAMES[k]) for k in legend_kinds)
        legend_w = (longest * 0.6 + 4) * fontsize / 72
    fig_w = sum(widths) + gap * (len(places) - 1) + legend_w
    fig_h = max(heights) + title_h
    fig = plt.figure(figsize=(fig_w, fig_h))
    axes, left = [], 0.0
    for w, h in zip(widths, heights, strict=True):
        axes.append(
            fig.add_axes((left / fig_w, (fig_h - title_h - h) / fig_h, w / fig_w, h / fig_h))
        )
        left += w + gap
    return fig, axes


def _draw_on(ax, diagram, place, *, shapes, title, legend_kinds, fontsize):
    from matplotlib.patches import FancyBboxPatch, Patch

    for box, (x, y), (w, h) in zip(diagram.boxes, place.centres, place.sizes, strict=True):
        ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.6",
                facecolor=COLOURS[box.kind],
                edgecolor="#404040",
                linewidth=0.8,
            )
        )
        lines = box.label.split("\n")
        shape = shape_text(box.shape) if shapes and box.shape is not None else ""
        count = len(lines) + bool(shape)
        first = y + (count - 1) * _LINE / 2
        for j, line in enumerate(lines):
            ax.text(x, first - j * _LINE, line, ha="center", va="center", fontsize=fontsize)
        if shape:
            ax.text(
                x,
                first - len(lines) * _LINE,
                shape,
                ha="center",
                va="center",
                fontsize=fontsize * 0.85,
                color="#505050",
            )
    for route in place.routes:
        xs, ys = zip(*route, strict=True)
        if len(route) > 2:
            ax.plot(xs[:-1], ys[:-1], color="#303030", linewidth=0.9)
        ax.annotate(
            "",
            xy=route[-1],
            xytext=route[-2],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#303030",
                "lw": 0.9,
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": 8,
            },
        )
    xmin, xmax, ymin, ymax = _panel(place, title, fontsize)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_anchor("N")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    if legend_kinds:
        ax.legend(
            handles=[
                Patch(facecolor=COLOURS[k], edgecolor="#404040", label=_KIND_NAMES[k])
                for k in legend_kinds
            ],
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=fontsize,
            frameon=False,
        )


def _legend_kinds(legend: bool, diagrams) -> list[str]:
    if not boolean(legend, "legend"):
        return []
    present = {kind for d in diagrams for kind in d.kinds()}
    return [k for k in KINDS if k in present]


def draw(
    diagram: Diagram,
    ax=None,
    *,
    shapes: bool = True,
    title: str | None = None,
    legend: bool = False,
    direction: str = "down",
    fontsize: float = 8,
):
    """Draw a diagram on matplotlib Axes (a new figure sized to fit when ``ax`` is None).

    Args:
        diagram: from :func:`diagram_of` or :func:`flow_diagram`.
        ax: Axes to draw on, or ``None`` for a new figure whose size follows the
            diagram and ``fontsize`` (so every label fits its box).
        shapes: a second line in each box with its output shape.
        title: the Axes' title.
        legend: a legend of the kinds of box drawn.
        direction: ``"down"`` or ``"right"`` (see :func:`layout`).
        fontsize: of the labels, in points.

    Returns:
        The Axes.

    Raises:
        TypeError: ``diagram`` is not a Diagram, ``ax`` not Axes, ``title`` not a string,
            ``fontsize`` not a number.
        ValueError: ``direction`` is neither ``"down"`` nor ``"right"``, ``fontsize`` not
            positive.
    """
    diagram = _check_diagram(diagram)
    ax = _axes(ax)
    title = _title(title)
    fontsize = _fontsize(fontsize)
    kinds = _legend_kinds(legend, [diagram])
    place = layout(diagram, direction=direction, shapes=shapes)
    if ax is None:
        _, (ax,) = _figure([place], [title], kinds, fontsize)
    _draw_on(ax, diagram, place, shapes=shapes, title=title, legend_kinds=kinds, fontsize=fontsize)
    return ax


def block_diagram(
    model: keras.Model,
    ax=None,
    *,
    collapse: bool = False,
    group: Callable[[str], str | None] | None = None,
    shapes: bool = True,
    title: str | None = None,
    legend: bool = False,
    input_shape=None,
    fontsize: float = 8,
):
    """Draw a built model as a block diagram, top to bottom.

    Reads the model with :func:`diagram_of`, lays it out with :func:`layout` and draws
    it with :func:`draw`.

    Args:
        model: a built functional or Sequential ``keras.Model``.
        ax: Axes to draw on, or ``None`` for a new figure sized to fit.
        collapse: fold BatchNorm and activations into the box before them (see
            :func:`diagram_of`).
        group: merge the calls of each named group into one box (see :func:`diagram_of`).
        shapes: print each box's output shape under its label.
        title: the title; ``None``: none.
        legend: a legend of the kinds of box.
        input_shape: read the model at this per-image input shape.
        fontsize: of the labels, in points.

    Returns:
        ``(figure, diagram)``: the matplotlib Figure and the :class:`Diagram` drawn.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, or another argument has the wrong
            type (the message names it).
        ValueError: the model is not built or not functional, or a bad value.
    """
    diagram = diagram_of(model, collapse=collapse, group=group, input_shape=input_shape)
    axes = draw(diagram, ax, shapes=shapes, title=title, legend=legend, fontsize=fontsize)
    return axes.figure, diagram


def compare_blocks(
    models: Mapping[str, keras.Model],
    *,
    collapse: bool = True,
    group: Callable[[str], str | None] | None = None,
    shapes: bool = True,
    legend: bool = False,
    fontsize: float = 8,
):
    """Several models' block diagrams side by side, one column each, on one scale.

    Args:
        models: title -> built model, in the order to draw them (e.g. MobileNet v1's,
            ShuffleNet's and MobileNetV2's blocks on the same input).
        collapse: fold BatchNorm and activations into the box before them (the default
            here, for a compact comparison).
        group: merge the calls of each named group into one box (see :func:`diagram_of`).
        shapes: print each box's output shape under its label.
        legend: a legend of the kinds of box, right of the last column.
        fontsize: of the labels, in points.

    Returns:
        ``(figure, diagrams)``: the Figure and a dict title -> :class:`Diagram`.

    Raises:
        TypeError: ``models`` is not a mapping of titles (str) to ``keras.Model``.
        ValueError: ``models`` is empty, or a model cannot be read.
    """
    if not isinstance(models, Mapping):
        raise TypeError(
            f"models must be a mapping of titles to keras.Model, got {type(models).__name__}"
        )
    if not models:
        raise ValueError("models must hold at least one title -> model")
    for title, model in models.items():
        if not isinstance(title, str):
            raise TypeError(f"models must have string titles, got {title!r}")
        built_model(model, f"models[{title!r}]")
    fontsize = _fontsize(fontsize)
    diagrams = {
        title: diagram_of(model, collapse=collapse, group=group) for title, model in models.items()
    }
    kinds = _legend_kinds(legend, diagrams.values())
    places = [layout(d, shapes=shapes) for d in diagrams.values()]
    fig, axes = _figure(places, list(diagrams), kinds, fontsize)
    for k, (ax, place, (title, diagram)) in enumerate(
        zip(axes, places, diagrams.items(), strict=True)
    ):
        last = k == len(diagrams) - 1
        _draw_on(
            ax,
            diagram,
            place,
            shapes=shapes,
            title=title,
            legend_kinds=kinds if last else [],
            fontsize=fontsize,
        )
    return fig, diagrams


def flow_diagram(steps, ax=None, *, title: str | None = None, fontsize: float = 9):
    """A chain of labelled steps, left to right (a pipeline, not a model).

    Args:
        steps: the steps' labels, in order; ``"\\n"`` breaks a label into lines.
        ax: Axes to draw on, or ``None`` for a new figure sized to fit.
        title: the title.
        fontsize: of the labels, in points.

    Returns:
        ``(figure, diagram)``: the Figure and the :class:`Diagram` (boxes of kind
        ``"step"``, an edge from each step to the next).

    Raises:
        TypeError: ``steps`` is not a list or tuple of strings.
        ValueError: ``steps`` is empty or holds an empty label.
    """
    if not isinstance(steps, (list, tuple)) or not all(isinstance(s, str) for s in steps):
        raise TypeError(f"steps must be a list of strings, got {steps!r}")
    if not steps:
        raise ValueError("steps must hold at least one step")
    if any(not s.strip() for s in steps):
        raise ValueError(f"steps must be non-empty labels, got {list(steps)!r}")
    diagram = Diagram(
        "flow",
        tuple(Box(i, "step", s, None, ()) for i, s in enumerate(steps)),
        tuple((i, i + 1) for i in range(len(steps) - 1)),
    )
    axes = draw(diagram, ax, shapes=False, title=title, direction="right", fontsize=fontsize)
    return axes.figure, diagram
