"""Checking a "build this block in Keras" exercise against the package's own builder.

:func:`check_block` builds the student's block and the reference block (a builder of
:mod:`mobilecourse.blocks`) on the same input shapes and arguments, reads both with
:func:`mobilecourse.profile.profile_model` (whose graph comes from
:mod:`mobilecourse.graph`, the package's one reader of Keras graphs) and walks the two
graphs together from the input. The first layer where they differ is reported:

* as a classic mistake of the lesson when the student's block is, layer for layer, the
  block one of the given :class:`~mobilecourse.checks._core.Mistake` builders makes (its
  hint is shown);
* else as a named classic mistake the walk recognises by itself: a missing or extra
  BatchNorm, an activation missing or where none belongs, the stride on the wrong
  layer, a missing or extra residual add or concatenation, an add where a
  concatenation belongs (or the reverse), a wrong channel count, a concatenation in
  the wrong order, a layer in the wrong place;
* else as a plain difference naming the student's layer and what differs (type,
  kernel, stride, groups, padding, bias, output shape, MACs, parameters).

Layer names never matter. An activation given as ``activation="relu"`` of a
convolution counts as that convolution followed by a ReLU layer, and
``layers.Activation("relu")``, ``layers.ReLU()`` and ``keras.activations.relu`` are
the same layer. Keras is imported only when a check runs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mobilecourse.checks._core import CheckFailed, Mistake, not_attempted

__all__ = ["check_block"]

#: Single-input layers that keep their input's shape and hold at most per-channel
#: parameters: the layers a builder most often forgets, adds or misplaces.
_ELEMENTWISE = ("BatchNormalization", "ReLU", "ReLU6", "ChannelShuffle")

#: Merges of several tensors, and the classic mistake each one's absence is.
_MERGES = {"Add": "residual add", "Concatenate": "concatenation"}

#: Attribute labels used in messages, in the order they are compared.
_ATTRIBUTE_NAMES = {
    "kernel_size": "kernel size",
    "filters": "output channels (filters)",
    "units": "output units",
    "strides": "stride",
    "padding": "padding",
    "groups": "groups",
    "depth_multiplier": "depth multiplier",
    "dilation_rate": "dilation rate",
    "use_bias": "bias",
    "pool_size": "pool size",
    "center": "beta (center)",
    "scale": "gamma (scale)",
    "axis": "axis",
    "shuffle_groups": "shuffle groups",
}


# ---------------------------------------------------------------- a block as layers


@dataclass(frozen=True)
class _Op:
    """One layer of a block, as the comparison sees it (names are only for messages)."""

    kind: str
    attrs: tuple[tuple[str, Any], ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    output_shape: tuple[int, ...]
    macs: int | None
    params: int
    name: str

    def attr(self, key: str, default: Any = None) -> Any:
        return dict(self.attrs).get(key, default)


@dataclass(frozen=True)
class _Block:
    """A built block: its layers in execution order, its input and output tensors."""

    ops: tuple[_Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shape: tuple[int, ...]


@dataclass(frozen=True)
class _Error:
    """A builder that raised while building: what it raised (numbers in the text kept)."""

    kind: str
    text: str

    @property
    def signature(self) -> tuple[str, str]:
        return self.kind, re.sub(r"keras_tensor_\d+", "keras_tensor", self.text)


@dataclass(frozen=True)
class _Difference:
    """The first place two blocks differ: the classic mistake it is (or ``""``) and how."""

    mistake: str
    text: str

    def message(self) -> str:
        return f"{self.mistake}: {self.text}" if self.mistake else self.text


def _pair(value) -> Any:
    if isinstance(value, (tuple, list)):
        values = tuple(int(v) for v in value)
        return values[0] if len(set(values)) == 1 else values
    return value


def _activation_kind(name: str) -> str | None:
    """The op kind of a Keras activation name; ``None`` for the identity."""
    if name in (None, "linear"):
        return None
    if not isinstance(name, str):  # a serialized custom activation
        name = str(name.get("config", name) if isinstance(name, dict) else name)
    return {"relu": "ReLU", "relu6": "ReLU6"}.get(name, f"Activation({name})")


def _relu_kind(config: dict) -> str:
    max_value = config.get("max_value")
    slope = config.get("negative_slope") or 0.0
    threshold = config.get("threshold") or 0.0
    if slope:
        return "LeakyReLU"
    if threshold:
        return f"ReLU(threshold={threshold})"
    if max_value is None:
        return "ReLU"
    return "ReLU6" if float(max_value) == 6.0 else f"ReLU(max_value={max_value})"


def _describe_layer(layer, rank: int) -> tuple[str | None, tuple, str | None]:
    """(kind, attributes, fused activation kind) of one layer or recorded operation.

    ``kind`` is ``None`` for a layer that passes its input through (Identity, Dropout,
    a linear Activation). ``rank`` is the rank of the layer's output without the batch.
    """
    from keras import layers

    from mobilecourse.blocks import ChannelShuffle

    def conv_attrs(extra=()):
        kernel = _pair(layer.kernel_size)
        return (
            ("kernel_size", kernel),
            *extra,
            ("strides", _pair(layer.strides)),
            # a 1x1 kernel needs no padding: "same" and "valid" give the same output
            ("padding", None if kernel == 1 else layer.padding),
            ("dilation_rate", _pair(layer.dilation_rate)),
            ("use_bias", bool(layer.use_bias)),
        )

    if isinstance(layer, layers.Layer):
        config = layer.get_config()
        activation = _activation_kind(config.get("activation"))
        if isinstance(layer, layers.SeparableConv2D):
            extra = (("filters", layer.filters), ("depth_multiplier", layer.depth_multiplier))
            return "SeparableConv2D", conv_attrs(extra), activation
        if isinstance(layer, layers.DepthwiseConv2D):
            extra = (("depth_multiplier", layer.depth_multiplier),)
            return "DepthwiseConv2D", conv_attrs(extra), activation
        if isinstance(layer, layers.Conv2D):
            extra = (("filters", layer.filters), ("groups", layer.groups))
            return "Conv2D", conv_attrs(extra), activation
        if isinstance(layer, layers.Dense):
            return "Dense", (("units", layer.units), ("use_bias", bool(layer.use_bias))), activation
        if isinstance(layer, layers.BatchNormalization):
            return "BatchNormalization", (("center", layer.center), ("scale", layer.scale)), None
        if isinstance(layer, layers.ReLU):
            return _relu_kind(config), (), None
        if isinstance(layer, layers.Activation):
            return activation, (), None
        if isinstance(layer, ChannelShuffle):
            return "ChannelShuffle", (("shuffle_groups", layer.groups),), None
        if isinstance(layer, (layers.Identity, layers.Dropout, layers.SpatialDropout2D)):
            return None, (), None
        if isinstance(layer, layers.Concatenate):
            axis = layer.axis if layer.axis >= 0 else rank + 1 + layer.axis
            return "Concatenate", (("axis", "channels" if axis == rank else axis),), None
        if isinstance(layer, (layers.AveragePooling2D, layers.MaxPooling2D)):
            attrs = (
                ("pool_size", _pair(layer.pool_size)),
                ("strides", _pair(layer.strides)),
                ("padding", layer.padding),
            )
            return type(layer).__name__, attrs, None
        return type(layer).__name__, (), activation
    # an operation Keras recorded from code such as ``x + y`` or ``keras.activations.relu``
    name = type(layer).__name__
    kinds = {"add": "Add", "relu": "ReLU", "relu6": "ReLU6", "concatenate": "Concatenate"}
    kind = kinds.get(name.lower(), name)
    if kind == "Concatenate":
        return kind, (("axis", "channels"),), None
    return kind, (), None


def _read_block(model, input_shape: tuple[int, ...]) -> _Block:
    """The block of ``model`` as :class:`_Op` records (fused activations split off)."""
    from mobilecourse.profile import profile_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a layer without a cost handler: MACs unknown
        profile = profile_model(model)
    graph = profile.graph
    alias: dict[int, int] = {}
    next_id = max([*graph.elements, *graph.inputs, -1]) + 1

    def resolve(t: int) -> int:
        while t in alias:
            t = alias[t]
        return t

    ops: list[_Op] = []
    for call, row in zip(graph.calls, profile.rows, strict=True):
        shape = tuple(call.output_shapes[0])
        kind, attrs, activation = _describe_layer(call.layer, len(shape))
        inputs = tuple(resolve(t) for t in call.inputs)
        if kind is None:
            alias[call.outputs[0]] = inputs[0]
            continue
        outputs = tuple(call.outputs)
        if activation is not None:
            inner = (next_id,)
            next_id += 1
            layer_op = _Op(kind, attrs, inputs, inner, shape, row.macs, row.params, call.name)
            ops.append(layer_op)
            name = f"the activation={activation.lower()!r} of {_name(layer_op)}"
            ops.append(_Op(activation, (), inner, outputs, shape, 0, 0, name))
        else:
            ops.append(_Op(kind, attrs, inputs, outputs, shape, row.macs, row.params, call.name))
    return _Block(
        ops=tuple(ops),
        inputs=tuple(graph.inputs),
        outputs=tuple(resolve(t) for t in graph.outputs),
        input_shape=tuple(graph.input_shapes[0]),
    )


def _build(builder: Callable[..., Any], input_shape: tuple[int, ...], kwargs: dict):
    """Build ``builder`` on a fresh input: a :class:`_Block`, an :class:`_Error` or a text.

    ``NotImplementedError`` propagates (the stub of the student release).
    """
    import keras

    inputs = keras.Input(input_shape)
    try:
        output = builder(inputs, **kwargs)
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 (whatever the student's code raises is reported)
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return _Error(type(err).__name__, text)
    if output is None:
        return "returned None. Did you forget `return`?"
    if not isinstance(output, keras.KerasTensor):
        return (
            f"returned a {type(output).__name__}, not the block's output tensor "
            "(return the tensor the last layer gives)"
        )
    try:
        model = keras.Model(inputs, output)
    except Exception:  # noqa: BLE001 (Keras's message about disconnected graphs is long)
        return (
            "returned a tensor that is not computed from the input it was given: build "
            "every layer on `x` or on tensors computed from it (do not make a new keras.Input)"
        )
    return _read_block(model, tuple(input_shape))


# ---------------------------------------------------------------- comparing two blocks


def _describe(op: _Op) -> str:
    """A short description of a layer, e.g. ``3x3 DepthwiseConv2D, stride 2``."""
    a = dict(op.attrs)
    kernel = a.get("kernel_size")
    size = "x".join(map(str, kernel)) if isinstance(kernel, tuple) else f"{kernel}x{kernel}"
    parts = []
    if op.kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
        parts.append(f"{size} {op.kind}")
        if "filters" in a:
            parts.append(f"{a['filters']} filters")
        if a.get("groups", 1) != 1:
            parts.append(f"groups={a['groups']}")
        if a.get("strides", 1) != 1:
            parts.append(f"stride {a['strides']}")
        if kernel != 1:
            parts.append(f"padding={a['padding']!r}")
    elif op.kind in ("AveragePooling2D", "MaxPooling2D"):
        parts.append(f"{a['pool_size']}x{a['pool_size']} {op.kind}")
        parts.append(f"stride {a['strides']}")
    elif op.kind == "Dense":
        parts.append(f"Dense, {a['units']} units")
    elif op.kind == "ChannelShuffle":
        parts.append(f"ChannelShuffle(groups={a['shuffle_groups']})")
    else:
        parts.append(op.kind)
    return ", ".join(parts)


def _name(op: _Op) -> str:
    if "`" in op.name:  # an activation given as a layer argument
        return op.name
    return f"`{op.name}` ({_describe(op)})"


def _a(text: str) -> str:
    """``text`` with its indefinite article (``an Add``, ``a 3x3 Conv2D``)."""
    return ("an " if text[:1] in "AEIOU8" else "a ") + text


class _Walk:
    """Both blocks walked together from the input, the reference's layers in order."""

    def __init__(self, got: _Block, want: _Block):
        self.got, self.want = got, want
        self.mapped = dict(zip(want.inputs, got.inputs, strict=True))
        self.unmatched = list(range(len(got.ops)))
        self.got_producer = {t: op for op in got.ops for t in op.outputs}
        self.want_producer = {t: op for op in want.ops for t in op.outputs}
        self.want_consumers: dict[int, list[_Op]] = {}
        for op in want.ops:
            for t in op.inputs:
                self.want_consumers.setdefault(t, []).append(op)

    def source(self, t: int) -> str:
        """The student's layer that writes tensor ``t`` (``the block's input`` for it)."""
        op = self.got_producer.get(t)
        return "the block's input" if op is None else _name(op)

    def readers(self, tensors) -> list[_Op]:
        """Unmatched student layers that read any of ``tensors``, in the student's order."""
        found = []
        for j in self.unmatched:
            if set(self.got.ops[j].inputs) & set(tensors):
                found.append(self.got.ops[j])
        return found

    def run(self) -> _Difference | None:
        for want_op in self.want.ops:
            difference = self.step(want_op)
            if difference is not None:
                return difference
        if self.unmatched:
            return self.extra(self.got.ops[self.unmatched[0]])
        want_out = tuple(self.mapped[t] for t in self.want.outputs)
        if want_out != self.got.outputs:
            return _Difference(
                "Wrong output",
                f"your block returns the output of {self.source(self.got.outputs[0])}; the "
                f"reference returns the output of its last layer, which is your "
                f"{self.source(want_out[0])}",
            )
        return None

    def step(self, want_op: _Op) -> _Difference | None:
        ins = tuple(self.mapped[t] for t in want_op.inputs)
        exact = [j for j in self.unmatched if sorted(self.got.ops[j].inputs) == sorted(ins)]
        same_kind = [j for j in exact if self.got.ops[j].kind == want_op.kind]
        if same_kind:
            j = min(same_kind, key=lambda j: _attribute_distance(self.got.ops[j], want_op))
            got_op = self.got.ops[j]
            difference = self.compare(got_op, want_op, ins)
            if difference is not None:
                return difference
            self.unmatched.remove(j)
            self.mapped.update(zip(want_op.outputs, got_op.outputs, strict=True))
            return None
        return self.mismatch(want_op, ins, [self.got.ops[j] for j in exact])

    # ---------------------------------------------------------------- same kind
    def compare(self, got: _Op, want: _Op, ins: tuple[int, ...]) -> _Difference | None:
        where = _name(got)
        got_attrs, want_attrs = dict(got.attrs), dict(want.attrs)
        for key in [*_ATTRIBUTE_NAMES, *sorted(set(got_attrs) | set(want_attrs))]:
            g, w = got_attrs.get(key), want_attrs.get(key)
            if g == w:
                continue
            return self.attribute_difference(got, want, key, g, w, where)
        if got.inputs != ins:  # same inputs in another order
            if want.kind == "Concatenate":
                order = ", ".join(self.source(t) for t in got.inputs)
                want_order = ", ".join(self.source(t) for t in ins)
                return _Difference(
                    "Wrong order of concatenation",
                    f"{where} joins [{order}]; the reference joins them as [{want_order}]",
                )
        if got.output_shape != want.output_shape:
            return _Difference(
                "Wrong output shape",
                f"{where} outputs {_shape(got.output_shape)}; the reference's layer "
                f"outputs {_shape(want.output_shape)}",
            )
        if got.macs is not None and want.macs is not None and got.macs != want.macs:
            return _Difference("", f"{where} does {got.macs:,} MACs; the reference {want.macs:,}")
        if got.params != want.params:
            return _Difference(
                "", f"{where} holds {got.params:,} parameters; the reference {want.params:,}"
            )
        return None

    def attribute_difference(self, got, want, key, g, w, where) -> _Difference:
        label = _ATTRIBUTE_NAMES.get(key, key)
        text = f"{where} has {label} {_value(key, g)}; the reference's has {_value(key, w)}"
        if key in ("filters", "units"):
            return _Difference("Wrong channel count", text)
        if key == "strides":
            strided = [op for op in self.want.ops if op.attr("strides", 1) != 1]
            if strided and w == 1:
                text += f" (the reference downsamples in its {_describe(strided[0])})"
            elif w != 1 and g == 1:
                mine = [op for op in self.got.ops if op.attr("strides", 1) != 1]
                if mine:
                    text += f" (yours downsamples in {_name(mine[0])} instead)"
            return _Difference("Wrong stride placement", text)
        if key == "use_bias" and w is False:
            text += (
                " (a convolution followed by BatchNorm needs no bias: BatchNorm's beta replaces it)"
            )
        return _Difference("", text)

    # ---------------------------------------------------------------- another layer
    def mismatch(self, want: _Op, ins: tuple[int, ...], exact: list[_Op]) -> _Difference:
        """The student's layers after ``ins`` are not the reference's ``want``: why not."""
        after = " and ".join(self.source(t) for t in dict.fromkeys(ins))
        next_kinds = {op.kind for op in self.want_consumers.get(want.outputs[0], [])}
        readers = exact or self.readers(ins)
        if want.kind in _ELEMENTWISE:
            for got in readers:
                if got.kind in next_kinds:
                    return self.missing(want, after, f"it goes straight to {_name(got)}")
        for got in readers:
            if got.kind in _ELEMENTWISE and self.feeds(got, want):
                return self.extra(got)
        if exact and want.kind in _MERGES and exact[0].kind in _MERGES:
            got = exact[0]
            return _Difference(
                f"{got.kind} instead of {want.kind}",
                f"{_name(got)} merges {after}; the reference "
                + (
                    "adds them (same shapes, summed)"
                    if want.kind == "Add"
                    else "concatenates them (channels stacked)"
                ),
            )
        if want.kind in _MERGES:
            detail = f"{_name(readers[0])} comes next" if readers else "nothing follows it"
            return self.missing(want, after, detail)
        for got in readers:
            if got.kind in _MERGES:
                return self.extra(got)
        if readers:
            got = readers[0]
            return _Difference(
                "",
                f"after {after}, the reference has {_a(_describe(want))}; yours has "
                f"{_name(got)}, which reads {' and '.join(self.source(t) for t in got.inputs)}",
            )
        return self.missing(want, after, "nothing follows it")

    def feeds(self, got: _Op, want: _Op) -> bool:
        """Whether the student's ``got`` feeds a layer of ``want``'s kind (then it is extra)."""
        return any(
            self.got.ops[j].kind == want.kind and set(got.outputs) & set(self.got.ops[j].inputs)
            for j in self.unmatched
        )

    def count(self, block: _Block, kind: str) -> int:
        return sum(op.kind == kind for op in block.ops)

    def missing(self, want: _Op, after: str, detail: str) -> _Difference:
        if self.count(self.got, want.kind) >= self.count(self.want, want.kind):
            return self.misplaced(want.kind)
        if want.kind == "BatchNormalization":
            mistake = "Missing BatchNorm"
        elif want.kind in ("ReLU", "ReLU6") or want.kind.startswith("Activation"):
            mistake = "Missing activation"
        elif want.kind in _MERGES:
            mistake = f"Missing {_MERGES[want.kind]}"
        else:
            mistake = f"Missing {want.kind}"
        return _Difference(
            mistake, f"the reference has {_a(_describe(want))} after {after}; in yours, {detail}"
        )

    def extra(self, got: _Op) -> _Difference:
        if self.count(self.got, got.kind) <= self.count(self.want, got.kind):
            return self.misplaced(got.kind)
        if got.kind == "BatchNormalization":
            mistake = "BatchNorm where none belongs"
        elif got.kind in ("ReLU", "ReLU6") or got.kind.startswith("Activation"):
            mistake = "Activation where none belongs"
        elif got.kind in _MERGES:
            mistake = f"Extra {_MERGES[got.kind]}"
        else:
            mistake = f"Extra {got.kind}"
        after = " and ".join(self.source(t) for t in got.inputs)
        return _Difference(mistake, f"{_name(got)} after {after} is not in the reference")

    def misplaced(self, kind: str) -> _Difference:
        """A layer of ``kind`` that the student has, but elsewhere than the reference."""
        got = next(self.got.ops[j] for j in self.unmatched if self.got.ops[j].kind == kind)
        matched = set(self.mapped)
        want = next(op for op in self.want.ops if op.kind == kind and op.outputs[0] not in matched)
        before = " and ".join(
            "the block's input"
            if t in self.want.inputs
            else f"its {_describe(self.want_producer[t])}"
            for t in want.inputs
        )
        return _Difference(
            f"{kind} in the wrong place",
            f"yours is {_name(got)} after {' and '.join(self.source(t) for t in got.inputs)}; "
            f"the reference has its {_describe(want)} right after {before}",
        )


def _attribute_distance(got: _Op, want: _Op) -> int:
    a, b = dict(got.attrs), dict(want.attrs)
    return sum(a.get(k) != b.get(k) for k in set(a) | set(b))


def _value(key: str, value: Any) -> str:
    if key == "use_bias":
        return "yes" if value else "no"
    if key in ("kernel_size", "pool_size") and isinstance(value, int):
        return f"{value}x{value}"
    return repr(value)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _compare(got: _Block, want: _Block) -> _Difference | None:
    """The first difference of ``got`` from ``want``, or ``None`` if they are the same block."""
    return _Walk(got, want).run()


def _same(got, other) -> bool:
    """Whether two build results are the same block (or the same build error)."""
    if isinstance(got, _Error) or isinstance(other, _Error):
        return (
            isinstance(got, _Error)
            and isinstance(other, _Error)
            and got.signature == other.signature
        )
    if isinstance(got, _Block) and isinstance(other, _Block):
        return _compare(got, other) is None
    return False


# ---------------------------------------------------------------- the checker


def _case_text(input_shape: tuple[int, ...], kwargs: dict) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"input {_shape(input_shape)}" + (f", {args}" if args else "")


def _merge_hint(error: _Error) -> str:
    text = error.text
    if "incompatible shapes" in text or "matching shapes" in text:
        return (
            " The tensors you merge have different shapes: check that every branch keeps "
            "the same height and width (padding='same', the same stride) and, for an add, "
            "the same channels."
        )
    return ""


def check_block(
    exercise: str,
    fn: Callable[..., Any],
    cases: Sequence[tuple[tuple[int, ...], dict[str, Any]]],
    reference: Callable[..., Any],
    mistakes: Sequence[Mistake] = (),
) -> None:
    """Check a student's Keras block builder against a reference builder.

    Each case builds ``fn(x, **kwargs)`` and ``reference(x, **kwargs)`` on a fresh
    ``keras.Input(input_shape)`` and compares the two blocks layer by layer (type,
    kernel, stride, groups, padding, bias, activation, connections, output shapes,
    MACs and parameters; never names).

    Args:
        exercise: the exercise's title, used in every message.
        fn: the student's builder ``fn(x, **kwargs) -> output tensor``.
        cases: ``(input_shape, kwargs)`` pairs, ``input_shape`` per image.
        reference: the correct builder, called like ``fn``.
        mistakes: classic mistakes, each a :class:`Mistake` whose ``answer`` is a wrong
            builder called like ``fn``; a student's block equal to one (or raising the
            same error) gets its hint. Tried in order, before the generic diagnosis.

    Returns:
        ``None`` (a check cell shows only the printed message).

    Raises:
        TypeError: ``fn`` is not callable.
        ValueError: ``cases`` is empty.
        CheckFailed: the block differs from the reference on a case.
    """
    if not callable(fn):
        raise TypeError(f"fn must be the builder you wrote for {exercise!r}, got {fn!r}")
    if not cases:
        raise ValueError("cases must hold at least one (input_shape, kwargs) pair")
    for input_shape, kwargs in cases:
        input_shape = tuple(input_shape)
        try:
            got = _build(fn, input_shape, kwargs)
        except NotImplementedError:
            return not_attempted(exercise)
        want = _build(reference, input_shape, kwargs)
        if not isinstance(want, _Block):
            raise RuntimeError(f"the reference of {exercise!r} does not build: {want}")
        where = f"{exercise} ({_case_text(input_shape, kwargs)})"
        if isinstance(got, str):
            raise CheckFailed(f"{where}: your builder {got}")
        if isinstance(got, _Block):
            difference = _compare(got, want)
            if difference is None:
                continue
            what = difference.message() + "."
        else:
            what = f"building your block raised {got.kind}: {got.text}"
            what += "" if what.endswith((".", "!", "?")) else "."
        for mistake in mistakes:
            if _same(got, _build(mistake.answer, input_shape, kwargs)):
                raise CheckFailed(f"{where}: {what} {mistake.hint}")
        hint = _merge_hint(got) if isinstance(got, _Error) else ""
        raise CheckFailed(f"{where}: {what}{hint}")
    print(f"Correct: {exercise} ({len(cases)} cases checked).")
