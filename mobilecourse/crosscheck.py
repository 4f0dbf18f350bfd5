"""Our profiler against TensorFlow's: the same counts, independently, and the time each takes.

``tf.compat.v1.profiler`` counts floating-point operations per TensorFlow op type on a
frozen graph. For the convolution and dense kernels (:data:`KERNEL_OPS`) it counts a
multiply and an add apart, so it reports 2 x our MACs for them. One exception, which is
TensorFlow's: Keras's TensorFlow backend runs a ``Conv2D`` with ``groups > 1`` as a call
to an XLA-compiled function, which the frozen graph keeps as a ``StatefulPartitionedCall``
that the profiler does not enter; those convolutions (ConvNeXt's depthwise ones, for
example) are missing from TensorFlow's count, and :func:`compare_model` adds their MACs
from :mod:`mobilecourse.costs` to TensorFlow's before comparing.

The profiler counts an op only when its input shapes are known. Under some Keras versions
(3.13, for one) the grouped convolution's function call leaves its output shape unknown in
the frozen graph, so every kernel after it (ConvNeXt's 36 pointwise ``Dense`` layers, run
as ``BatchMatMulV2``, its 3 downsampling convolutions and its classifier) is counted as 0;
:attr:`TFProfilerCount.uncounted` says how many kernels that left out, and such a row is
reported as not comparable rather than as a mismatch.

:func:`compare_zoo` runs the comparison over every model of ``keras.applications``
(``python -m mobilecourse zoo`` writes it to ``build/zoo.md``).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from mobilecourse._validate import integer

__all__ = [
    "KERNEL_OPS",
    "FREE_INPUT_SIZE",
    "TFProfilerCount",
    "ZooRow",
    "compare_model",
    "compare_profilers",
    "compare_zoo",
    "profile_seconds",
    "tf_float_operations",
    "zoo_markdown",
    "zoo_names",
]

#: TensorFlow op types of the convolution and dense kernels: exactly what our MACs count.
KERNEL_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul")

#: Input size of a ``keras.applications`` model whose input size is free (MobileNetV3).
FREE_INPUT_SIZE = 224


@dataclass(frozen=True)
class TFProfilerCount:
    """TensorFlow's own float-operation count of a Keras model (batch 1).

    Attributes:
        flops: total float operations ``tf.compat.v1.profiler`` counts.
        flops_by_op: the same by TensorFlow op type.
        graph_seconds: wall time to get a graph: trace a ``tf.function`` of the model and
            freeze it with ``convert_variables_to_constants_v2``.
        profile_seconds: wall time of ``tf.compat.v1.profiler.profile`` on that graph.
        uncounted: kernel ops (:data:`KERNEL_OPS` and ``BatchMatMulV2``) whose input shapes
            the frozen graph does not know, which the profiler therefore counts as 0.
    """

    flops: int
    flops_by_op: dict[str, int]
    graph_seconds: float
    profile_seconds: float
    uncounted: int = 0

    @property
    def seconds(self) -> float:
        """Graph plus profile: what TensorFlow needs to count a Keras 3 model."""
        return self.graph_seconds + self.profile_seconds

    @property
    def kernel_flops(self) -> int:
        """Float operations of the :data:`KERNEL_OPS` (2 x their MACs)."""
        return sum(self.flops_by_op.get(op, 0) for op in KERNEL_OPS)


def tf_float_operations(model, input_shape=None) -> TFProfilerCount:
    """Count a Keras model's float operations with ``tf.compat.v1.profiler``, timed.

    The model is traced as a ``tf.function`` at batch 1, frozen with
    ``convert_variables_to_constants_v2`` and profiled with
    ``ProfileOptionBuilder.float_operation()``, output suppressed.

    Args:
        model: a built Keras model with one input.
        input_shape: per-image input shape to trace it at; ``None``: the model's own.
    """
    from mobilecourse import quiet_tensorflow

    quiet_tensorflow()
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    tf.get_logger().setLevel("ERROR")  # a v1-API deprecation notice otherwise
    shape = tuple(model.inputs[0].shape[1:]) if input_shape is None else tuple(input_shape)
    start = time.perf_counter()
    spec = tf.TensorSpec((1, *shape), model.inputs[0].dtype)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    graph = convert_variables_to_constants_v2(concrete).graph
    graph_seconds = time.perf_counter() - start
    uncounted = sum(
        op.type in (*KERNEL_OPS, "BatchMatMulV2")
        and not all(t.shape.is_fully_defined() for t in op.inputs)
        for op in graph.get_operations()
    )

    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    start = time.perf_counter()
    result = tf.compat.v1.profiler.profile(
        graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options
    )
    profile_seconds = time.perf_counter() - start

    by_op: dict[str, int] = {}
    stack = list(result.children)  # the "op" view chains op types as nested children
    while stack:
        node = stack.pop()
        by_op[node.name] = int(node.float_ops)
        stack.extend(node.children)
    by_op = dict(sorted(by_op.items(), key=lambda item: (-item[1], item[0])))
    return TFProfilerCount(
        int(result.total_float_ops), by_op, graph_seconds, profile_seconds, uncounted
    )


def profile_seconds(repeats: int = 5, model=None, input_shape=None) -> float:
    """Median seconds ``profile_model`` takes on a built model (build excluded).

    Args:
        repeats: timed runs (>= 1).
        model: a built ``keras.Model``; default a new MobileNetV2-224.
        input_shape: passed to ``profile_model``.
    """
    from mobilecourse import quiet_tensorflow

    integer(repeats, "repeats")
    quiet_tensorflow()
    from mobilecourse.models import mobilenet_v2
    from mobilecourse.profile import profile_model

    model = mobilenet_v2() if model is None else model
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        profile_model(model, input_shape=input_shape)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare_profilers(repeats: int = 3) -> dict:
    """Our ``profile_model`` against ``tf.compat.v1.profiler`` on MobileNetV2-224.

    Both are timed on the same built model (build excluded), median of ``repeats``.

    Returns:
        A JSON-able dict: times in seconds, our MACs and FLOPs, TensorFlow's FLOPs, their
        difference, and TensorFlow's FLOPs by op type.
    """
    integer(repeats, "repeats")
    from mobilecourse import quiet_tensorflow

    quiet_tensorflow()
    from mobilecourse.models import mobilenet_v2
    from mobilecourse.profile import profile_model

    model = mobilenet_v2()
    ours_seconds = profile_seconds(repeats, model)
    macs = profile_model(model).macs
    counts = [tf_float_operations(model) for _ in range(repeats)]
    tf_flops = counts[-1].flops
    if any(c.flops != tf_flops for c in counts):
        raise RuntimeError("tf.compat.v1.profiler counted differently on repeated runs")
    tf_seconds = statistics.median(c.seconds for c in counts)
    return {
        "model": model.name,
        "input_shape": list(model.inputs[0].shape[1:]),
        "repeats": repeats,
        "ours_seconds": ours_seconds,
        "tf_seconds": tf_seconds,
        "tf_graph_seconds": statistics.median(c.graph_seconds for c in counts),
        "tf_profile_seconds": statistics.median(c.profile_seconds for c in counts),
        "tf_over_ours": tf_seconds / ours_seconds,
        "macs": macs,
        "flops": 2 * macs,
        "tf_flops": tf_flops,
        "tf_minus_ours_flops": tf_flops - 2 * macs,
        "tf_kernel_flops": counts[-1].kernel_flops,
        "tf_kernel_ops": list(KERNEL_OPS),
        "tf_flops_by_op": counts[-1].flops_by_op,
    }


# ---------------------------------------------------------------- the keras.applications zoo


@dataclass(frozen=True)
class ZooRow:
    """One ``keras.applications`` model profiled by us and by TensorFlow.

    Attributes:
        name: the constructor's name, e.g. ``"ConvNeXtTiny"``.
        input_shape: the per-image shape profiled.
        params: our parameter count.
        keras_params: ``model.count_params()``.
        macs: our MACs.
        tf_kernel_macs: TensorFlow's :data:`KERNEL_OPS` float operations / 2.
        grouped_macs: our MACs of grouped ``Conv2D`` layers (which TensorFlow misses).
        unhandled: layer types without a cost handler.
        ours_seconds: time of our ``profile_model`` (model built).
        tf_seconds: time of TensorFlow's trace, freeze and profile.
        tf_uncounted: kernel ops TensorFlow could not count (shapes unknown in its graph);
            0 when its count is complete.
    """

    name: str
    input_shape: tuple[int, ...]
    params: int
    keras_params: int
    macs: int
    tf_kernel_macs: int
    grouped_macs: int
    unhandled: tuple[str, ...]
    ours_seconds: float
    tf_seconds: float
    tf_uncounted: int = 0

    @property
    def comparable(self) -> bool:
        """TensorFlow counted every kernel op, so its MACs can be compared with ours."""
        return self.tf_uncounted == 0

    @property
    def params_equal(self) -> bool:
        """Our parameters equal Keras's."""
        return self.params == self.keras_params

    @property
    def macs_equal(self) -> bool:
        """Our MACs equal TensorFlow's kernel MACs plus the grouped convolutions' MACs."""
        return self.macs == self.tf_kernel_macs + self.grouped_macs


def zoo_names() -> list[str]:
    """The model constructors of ``keras.applications``, sorted."""
    import inspect

    import keras

    return sorted(
        name
        for name, value in vars(keras.applications).items()
        if name[:1].isupper() and inspect.isfunction(value)
    )


def compare_model(name: str, input_size: int = FREE_INPUT_SIZE) -> ZooRow:
    """Profile ``keras.applications.NAME(weights=None)`` with ours and with TensorFlow's.

    Args:
        name: one of :func:`zoo_names`.
        input_size: input height and width for a model whose input size is free (others are
            profiled at their own, e.g. 299 for InceptionV3).

    Raises:
        ValueError: ``name`` is not a ``keras.applications`` model.
    """
    import warnings

    import keras

    from mobilecourse.profile import profile_model

    if name not in zoo_names():
        raise ValueError(
            f"name must be a keras.applications model, one of {', '.join(zoo_names())}; "
            f"got {name!r}"
        )
    input_size = integer(input_size, "input_size")
    keras.utils.clear_session()
    model = getattr(keras.applications, name)(weights=None)
    shape = tuple(model.inputs[0].shape[1:])
    input_shape = (input_size, input_size, shape[-1]) if None in shape else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the unhandled types are recorded
        ours_seconds = profile_seconds(1, model, input_shape)
        profile = profile_model(model, input_shape=input_shape)
    theirs = tf_float_operations(model, input_shape)
    grouped = sum(
        row.macs
        for row, call in zip(profile.rows, profile.graph.calls, strict=True)
        if isinstance(call.layer, keras.layers.Conv2D) and getattr(call.layer, "groups", 1) > 1
    )
    return ZooRow(
        name=name,
        input_shape=tuple(profile.input_shapes[0]),
        params=profile.params,
        keras_params=model.count_params(),
        macs=profile.macs,
        tf_kernel_macs=theirs.kernel_flops // 2,
        grouped_macs=grouped,
        unhandled=tuple(profile.unhandled),
        ours_seconds=ours_seconds,
        tf_seconds=theirs.seconds,
        tf_uncounted=theirs.uncounted,
    )


def compare_zoo(names=None, out=None) -> list[ZooRow]:
    """:func:`compare_model` for each name (default: the whole zoo), in order.

    Args:
        names: constructor names; ``None`` for :func:`zoo_names`.
        out: called with one line per model as it finishes (e.g. ``print``), or ``None``.
    """
    rows = []
    for name in zoo_names() if names is None else list(names):
        row = compare_model(name)
        rows.append(row)
        if out is not None:
            out(_line(row))
    return rows


def _macs_verdict(row: ZooRow) -> str:
    if not row.comparable:
        return f"not comparable: TensorFlow counted 0 for {row.tf_uncounted} kernels"
    return "yes" if row.macs_equal else "NO"


def _line(row: ZooRow) -> str:
    macs = (
        f"{'=' if row.macs_equal else '!='} TensorFlow's"
        if row.comparable
        else f"not comparable (TensorFlow's graph leaves {row.tf_uncounted} kernels unshaped)"
    )
    return (
        f"{row.name}: params {'=' if row.params_equal else '!='} Keras, MACs {macs}"
        + (f" + grouped {row.grouped_macs:,}" if row.grouped_macs and row.comparable else "")
        + f"; ours {1000 * row.ours_seconds:.1f} ms, TensorFlow {row.tf_seconds:.2f} s"
    )


def zoo_markdown(rows: list[ZooRow]) -> str:
    """The comparison as a Markdown table, with a summary line."""
    lines = [
        "| model | input | params (= Keras) | MACs | TensorFlow kernel MACs | grouped conv "
        "MACs (TensorFlow misses) | MACs equal | ours (ms) | TensorFlow (s) | TF / ours |",
        "|---|---|---|--:|--:|--:|---|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {'x'.join(map(str, r.input_shape))} | {r.params:,} "
            f"({'yes' if r.params_equal else f'no: Keras {r.keras_params:,}'}) | {r.macs:,} | "
            f"{r.tf_kernel_macs:,} | {r.grouped_macs:,} | {_macs_verdict(r)} | "
            f"{1000 * r.ours_seconds:.1f} | {r.tf_seconds:.2f} | "
            f"{r.tf_seconds / r.ours_seconds:,.0f}x |"
        )
    exact = sum(r.params_equal and r.comparable and r.macs_equal for r in rows)
    lines.append("")
    lines.append(
        f"{exact} of {len(rows)} models: parameters equal Keras's and MACs equal "
        "TensorFlow's kernel operations / 2 (plus the grouped convolutions it misses)."
    )
    apart = [r.name for r in rows if not r.comparable]
    if apart:
        lines.append(
            f"Not comparable here (TensorFlow's frozen graph loses the shapes after a grouped "
            f"convolution, so its profiler counts the later kernels as 0): {', '.join(apart)}."
        )
    unhandled = sorted({t for r in rows for t in r.unhandled})
    if unhandled:
        lines.append(f"Layer types without a cost handler: {', '.join(unhandled)}.")
    return "\n".join(lines) + "\n"
