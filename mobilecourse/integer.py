"""Integer-only inference of an int8 ``.tflite`` file in NumPy, the way TFLite's kernels do it.

Full-integer quantization (Jacob et al. 2018; TensorFlow Lite's 8-bit quantization
specification) stores every weight as int8 and every activation as int8 with a float
``scale`` and an integer ``zero_point``: ``real = scale * (q - zero_point)``. Between the
int8 input and the int8 output nothing is float: each layer

1. accumulates int8 x int8 products in **int32** (weights are symmetric, zero point 0, so
   only the input's zero point is subtracted);
2. adds an **int32 bias** stored at scale ``s_x * s_w`` with zero point 0;
3. **requantizes** by ``M = s_x * s_w / s_y``, written once (at load time, from the file's
   float scales) as an int32 ``m0`` in ``[2**30, 2**31)`` (the fraction ``m0 / 2**31`` in
   ``[0.5, 1)``) and a power-of-two ``shift``: a rounding doubling high multiply
   (:func:`saturating_rounding_doubling_high_mul`) then a rounding right shift
   (:func:`rounding_divide_by_pot`), together :func:`multiply_by_quantized_multiplier`;
4. adds the output zero point and clamps to ``[-128, 127]`` intersected with the fused
   activation's range (ReLU: ``q >= z_y``; ReLU6: ``z_y <= q <= z_y + round(6 / s_y)``).

:func:`integer_forward` runs a whole file that way (the ops of :data:`SUPPORTED_OPS`), as
TFLite's *reference* kernels compute them (the convolutions round twice, as above; the
reference ``FULLY_CONNECTED`` of this LiteRT build rounds once); :func:`integer_tensors`
returns every intermediate tensor too, and :func:`litert_tensors` the same tensors from
the LiteRT interpreter, to compare. The graph is read with the interpreter's own details (tensors,
per-channel quantization parameters, constant data, the operator list); operator options
(strides, padding, fused activation, ...) are not exposed by the interpreter and are read
from the flatbuffer with the TFLite schema that ships with ``ai_edge_litert``.

Float appears only where TFLite itself uses it while preparing a model: turning the
file's float scales into ``(m0, shift)`` pairs and the fused activation's bounds.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobilecourse._validate import integer, real

__all__ = [
    "KERNELS",
    "SUPPORTED_OPS",
    "int8_dense",
    "integer_forward",
    "integer_tensors",
    "litert_tensors",
    "multiply_by_quantized_multiplier",
    "quantize_multiplier",
    "rounding_divide_by_pot",
    "saturating_rounding_doubling_high_mul",
]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT8_MIN, INT8_MAX = -128, 127

#: The operators :func:`integer_forward` runs (int8 in, int8 out).
SUPPORTED_OPS = (
    "ADD",
    "AVERAGE_POOL_2D",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "MAX_POOL_2D",
    "MEAN",
    "PAD",
    "PADV2",
    "QUANTIZE",
    "RESHAPE",
    "SOFTMAX",
)


# ---------------------------------------------------------------- fixed-point pieces


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """A positive real multiplier as TFLite stores it: an int32 ``m0`` and a ``shift``.

    Formula:
        ``real_multiplier = (m0 / 2**31) * 2**shift`` with ``m0 / 2**31`` in ``[0.5, 1)``:
        ``frexp`` splits off the power of two, the fraction is rounded (half away from
        zero) to 31 bits. ``shift <= 0`` for a multiplier below 1 (a right shift by
        ``-shift``), as TFLite's ``QuantizeMultiplier`` returns it.

    Example:
        >>> quantize_multiplier(0.75)  # 0.75 = (1610612736 / 2**31) * 2**0
        (1610612736, 0)
        >>> quantize_multiplier(2**-10)  # 0.5 * 2**-9
        (1073741824, -9)

    Args:
        real_multiplier: ``M >= 0``, e.g. ``s_x * s_w / s_y``.

    Returns:
        ``(m0, shift)``; ``(0, 0)`` for 0 and for a multiplier too small for 31 bits
        (below ``2**-32``).

    Raises:
        TypeError: not a real number.
        ValueError: negative or not finite.
    """
    value = real(real_multiplier, "real_multiplier")
    if value < 0:
        raise ValueError(f"real_multiplier must be >= 0, got {value!r}")
    if value == 0:
        return 0, 0
    fraction, shift = math.frexp(value)  # value = fraction * 2**shift, fraction in [0.5, 1)
    m0 = int(math.floor(fraction * 2**31 + 0.5))  # exact product; std::round on positives
    if m0 == 2**31:  # the fraction rounded up to 1.0
        m0 //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:  # TFLite saturates multipliers of 2**31 and more
        return INT32_MAX, 30
    return m0, shift


def _int64(value, name: str) -> np.ndarray:
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64)


def _c_divide(numerator: np.ndarray, denominator) -> np.ndarray:
    """Integer division truncating toward zero, as C's ``/`` (NumPy's ``//`` floors)."""
    quotient = np.abs(numerator) // np.abs(denominator)
    return np.where((numerator < 0) != (np.asarray(denominator) < 0), -quotient, quotient)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """The high 32 bits of ``2 * a * b``, rounded: gemmlowp's fixed-point multiply.

    ``a`` and ``b`` are int32 values; read ``b`` as the fraction ``b / 2**31``, and the
    result is ``a * b / 2**31`` rounded to an integer. The 64-bit product gets a nudge of
    ``2**30`` (``1 - 2**30`` when negative) and is divided by ``2**31`` truncating toward
    zero, so ties round up for positive products and toward zero for negative ones. The
    one product that overflows, ``(-2**31) * (-2**31)``, saturates to ``2**31 - 1``.

    Formula:
        ``(a * b + nudge) / 2**31`` (C division), ``nudge = 2**30`` if ``a * b >= 0``
        else ``1 - 2**30``.

    Example:
        >>> int(saturating_rounding_doubling_high_mul(3, 2**30))  # 3 * 0.5 = 1.5 -> 2
        2
        >>> int(saturating_rounding_doubling_high_mul(-3, 2**30))  # -1.5 -> -1
        -1

    Returns:
        An int64 array holding int32 values (broadcast shape of ``a`` and ``b``).

    Raises:
        TypeError: ``a`` or ``b`` does not hold integers.
    """
    a = _int64(a, "a")
    b = _int64(b, "b")
    product = a * b
    nudged = product + np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    # C's division by 2**31 truncates toward zero: the floor (>>) plus one for a negative
    # value with a remainder
    high = (nudged >> 31) + ((nudged < 0) & ((nudged & (2**31 - 1)) != 0))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, high)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """``x / 2**exponent`` rounded to the nearest integer, ties away from zero.

    An arithmetic right shift floors; the remainder (the bits shifted out) decides whether
    to add one: more than half, or exactly half for a positive ``x``.

    Formula:
        ``(x >> e) + (remainder > threshold)`` with ``mask = 2**e - 1``,
        ``remainder = x & mask``, ``threshold = (mask >> 1) + (x < 0)``.

    Example:
        >>> rounding_divide_by_pot([5, -5, 6, -6], 2).tolist()  # 1.25, -1.25, 1.5, -1.5
        [1, -1, 2, -2]

    Args:
        x: integers (int32 values).
        exponent: shift, 0 to 31 (an array broadcasts, one per channel).

    Raises:
        TypeError: ``x`` or ``exponent`` does not hold integers.
        ValueError: an exponent outside 0 to 31.
    """
    x = _int64(x, "x")
    exponent = _int64(exponent, "exponent")
    if np.any(exponent < 0) or np.any(exponent > 31):
        raise ValueError(f"exponent must be from 0 to 31, got {exponent!r}")
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, m0, shift) -> np.ndarray:
    """``x * M`` rounded, with ``M = (m0 / 2**31) * 2**shift`` from :func:`quantize_multiplier`.

    TFLite's ``MultiplyByQuantizedMultiplier``: a left shift for ``shift > 0``, the rounding
    doubling high multiply by ``m0``, then a rounding right shift by ``-shift`` when
    ``shift < 0``. Two roundings, so a value just below a half can end up rounded up.

    Formula:
        ``rounding_divide_by_pot(srdhm(x * 2**max(shift, 0), m0), max(-shift, 0))``.

    Example:
        >>> m0, shift = quantize_multiplier(0.125)
        >>> multiply_by_quantized_multiplier([12, 20, -20], m0, shift).tolist()
        [2, 3, -3]

    Raises:
        TypeError: an argument does not hold integers.
    """
    x = _int64(x, "x")
    m0 = _int64(m0, "m0")
    shift = _int64(shift, "shift")
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x << left, m0), right)


def _saturating_left_shift(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's ``SaturatingRoundingMultiplyByPOT`` for a positive exponent."""
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def _srdhm(a, b) -> np.ndarray:
    return saturating_rounding_doubling_high_mul(a, b)


def int8_dense(x_q, w_q, bias_q, s_x, zp_x, s_w, s_y, zp_y) -> np.ndarray:
    """One int8 dense layer without activation, as TFLite's convolution kernels compute it.

    A 1x1 convolution is this layer at every pixel: ``CONV_2D``'s reference kernel gives
    exactly these values (before its fused activation's clamp). LiteRT's reference
    ``FULLY_CONNECTED`` kernel differs in one detail: it rounds once,
    ``(acc * m0 + 2**(30 - shift)) >> (31 - shift)``, instead of twice.

    Formula:
        ``acc[j] = sum_k w_q[j, k] * (x_q[k] - zp_x) + bias_q[j]`` in int32;
        ``(m0[j], shift[j]) = quantize_multiplier(s_x * s_w[j] / s_y)``;
        ``y[j] = clip(multiply_by_quantized_multiplier(acc[j], m0[j], shift[j]) + zp_y,
        -128, 127)``.

    Args:
        x_q: int8 input vector ``(n,)`` (or a batch ``(b, n)``).
        w_q: int8 weights ``(units, n)``, symmetric (zero point 0).
        bias_q: int32 bias ``(units,)`` at scale ``s_x * s_w``, zero point 0.
        s_x: input scale.
        zp_x: input zero point.
        s_w: weight scales, one per unit (a single number for one per tensor).
        s_y: output scale.
        zp_y: output zero point.

    Returns:
        The int8 output ``(units,)`` (or ``(b, units)``).

    Raises:
        TypeError: an integer argument that does not hold integers.
        ValueError: shapes that do not fit, or a scale that is not positive.
    """
    x = _int64(x_q, "x_q")
    w = _int64(w_q, "w_q")
    bias = _int64(bias_q, "bias_q")
    if w.ndim != 2 or x.shape[-1] != w.shape[1] or bias.shape != (w.shape[0],):
        raise ValueError(
            f"x_q (n,), w_q (units, n) and bias_q (units,) must fit, got {x.shape}, "
            f"{w.shape}, {bias.shape}"
        )
    scales = np.broadcast_to(np.asarray(s_w, dtype=np.float64), (w.shape[0],))
    for name, value in (("s_x", s_x), ("s_y", s_y), ("s_w", float(scales.min()))):
        if real(value, name) <= 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
    pairs = [quantize_multiplier(float(s_x) * float(s) / float(s_y)) for s in scales]
    m0 = np.array([p[0] for p in pairs])
    shift = np.array([p[1] for p in pairs])
    acc = (x - int(zp_x)) @ w.T + bias
    y = multiply_by_quantized_multiplier(acc, m0, shift) + int(zp_y)
    return np.clip(y, INT8_MIN, INT8_MAX).astype(np.int8)


# ---------------------------------------------------------------- reading a file


@dataclass
class _Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scales: np.ndarray  # float32, one per channel or one
    zero_points: np.ndarray
    data: np.ndarray | None  # constant tensors only

    @property
    def scale(self) -> float:
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0])


@dataclass
class _Op:
    index: int
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict = field(default_factory=dict)


@dataclass
class _Graph:
    tensors: dict[int, _Tensor]
    ops: list[_Op]
    input: int
    output: int


def _flatbuffer(tflite_model) -> bytes:
    if isinstance(tflite_model, (str, os.PathLike)):
        path = Path(tflite_model)
        if not path.is_file():
            raise ValueError(f"tflite_model: no such .tflite file: {path}")
        return path.read_bytes()
    if isinstance(tflite_model, (bytes, bytearray)):
        return bytes(tflite_model)
    raise TypeError(
        "tflite_model must be the bytes of an int8 .tflite file or its path, got "
        f"{type(tflite_model).__name__}"
    )


_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def _options(schema, operator, name: str) -> dict:
    """The builtin options of one flatbuffer operator that the kernels need."""
    table = operator.BuiltinOptions()

    def read(cls_name):
        opts = getattr(schema, cls_name)()
        opts.Init(table.Bytes, table.Pos)
        return opts

    if table is None:
        return {}
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        opts = read("Conv2DOptions" if name == "CONV_2D" else "DepthwiseConv2DOptions")
        out = {
            "padding": "SAME" if opts.Padding() == schema.Padding.SAME else "VALID",
            "stride": (opts.StrideH(), opts.StrideW()),
            "dilation": (opts.DilationHFactor(), opts.DilationWFactor()),
            "activation": opts.FusedActivationFunction(),
        }
        if name == "DEPTHWISE_CONV_2D":
            out["depth_multiplier"] = opts.DepthMultiplier()
        return out
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        opts = read("Pool2DOptions")
        return {
            "padding": "SAME" if opts.Padding() == schema.Padding.SAME else "VALID",
            "stride": (opts.StrideH(), opts.StrideW()),
            "filter": (opts.FilterHeight(), opts.FilterWidth()),
            "activation": opts.FusedActivationFunction(),
        }
    if name == "FULLY_CONNECTED":
        opts = read("FullyConnectedOptions")
        return {"activation": opts.FusedActivationFunction(), "keep_num_dims": opts.KeepNumDims()}
    if name == "ADD":
        return {"activation": read("AddOptions").FusedActivationFunction()}
    if name == "MEAN":
        return {"keep_dims": bool(read("ReducerOptions").KeepDims())}
    if name == "SOFTMAX":
        return {"beta": float(read("SoftmaxOptions").Beta())}
    return {}


@functools.lru_cache(maxsize=4)
def _read_graph(flatbuffer: bytes) -> _Graph:
    """Tensors (with quantization and constant data), operators and their options."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from mobilecourse.tflite import _quiet_native_stderr

    try:
        with _quiet_native_stderr():
            interp = Interpreter(
                model_content=flatbuffer,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise ValueError(f"tflite_model is not a TFLite flatbuffer: {err}") from None
    details = interp.get_tensor_details()
    ops = interp._get_ops_details()  # LiteRT's only API for the operator list
    produced = {int(i) for op in ops for i in op["outputs"]}
    input_detail = interp.get_input_details()[0]
    output_detail = interp.get_output_details()[0]
    graph_input = int(input_detail["index"])
    for role, detail in (("input", input_detail), ("output", output_detail)):
        if np.dtype(detail["dtype"]) != np.int8:
            raise ValueError(
                f"tflite_model must be a full-integer int8 file (tflite.to_tflite(model, "
                f"'int8', ...)); its {role} is {np.dtype(detail['dtype']).name}"
            )
    tensors = {}
    for d in details:
        index = int(d["index"])
        q = d["quantization_parameters"]
        constant = index not in produced and index != graph_input
        tensors[index] = _Tensor(
            index=index,
            name=d["name"],
            shape=tuple(int(s) for s in d["shape"]),
            dtype=np.dtype(d["dtype"]),
            scales=np.asarray(q["scales"], dtype=np.float32),
            zero_points=np.asarray(q["zero_points"], dtype=np.int64),
            data=interp.get_tensor(index).copy() if constant else None,
        )
    model = schema.Model.GetRootAs(flatbuffer, 0)
    subgraph = model.Subgraphs(0)
    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    if subgraph.OperatorsLength() != len(ops):
        raise ValueError("tflite_model: the interpreter's operators differ from the file's")
    graph_ops = []
    for op in ops:
        name = op["op_name"]
        operator = subgraph.Operators(int(op["index"]))
        opcode = model.OperatorCodes(operator.OpcodeIndex())
        code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
        if codes.get(code) != name:
            raise ValueError(
                f"tflite_model: operator {op['index']} is {codes.get(code)}, not {name}"
            )
        graph_ops.append(
            _Op(
                index=int(op["index"]),
                name=name,
                inputs=[int(i) for i in op["inputs"]],
                outputs=[int(i) for i in op["outputs"]],
                options=_options(schema, operator, name),
            )
        )
    return _Graph(tensors, graph_ops, graph_input, int(output_detail["index"]))


# ---------------------------------------------------------------- the kernels


def _activation_range(activation: int, tensor: _Tensor) -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized``: the int8 range of a fused activation."""
    scale, zero_point = np.float32(tensor.scale), tensor.zero_point

    def q(value: float) -> int:  # at prepare time, from the float scale (as TFLite)
        ratio = float(np.float32(value) / scale)
        return zero_point + int(math.copysign(math.floor(abs(ratio) + 0.5), ratio))

    if activation == 0:
        return INT8_MIN, INT8_MAX
    if activation == 1:
        return max(INT8_MIN, q(0.0)), INT8_MAX
    if activation == 3:
        return max(INT8_MIN, q(0.0)), min(INT8_MAX, q(6.0))
    if activation == 2:
        return max(INT8_MIN, q(-1.0)), min(INT8_MAX, q(1.0))
    raise ValueError(
        f"tflite_model: fused activation {activation} is not supported "
        f"(supported: {', '.join(_ACTIVATIONS.values())})"
    )


def _channel_multipliers(s_x: float, scales: np.ndarray, s_y: float):
    """Per-channel ``(m0, shift)`` of ``s_x * s_w / s_y``, in double as TFLite's prepare step."""
    pairs = [quantize_multiplier(float(s_x) * float(s) / float(s_y)) for s in scales]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def _requantize(acc, m0, shift, zero_point: int, bounds: tuple[int, int]) -> np.ndarray:
    if np.any(acc > INT32_MAX) or np.any(acc < INT32_MIN):  # cannot happen for int8 (int32 bound)
        raise ValueError("an int32 accumulator overflowed")
    y = multiply_by_quantized_multiplier(acc, m0, shift) + zero_point
    return np.clip(y, *bounds).astype(np.int8)


def _same_padding(size: int, stride: int, kernel: int, dilation: int, padding: str):
    """Output size and (before, after) padding, as TFLite's ``ComputePaddingHeightWidth``."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        out = (size + stride - 1) // stride
    else:
        out = (size - effective + stride) // stride
    total = max((out - 1) * stride + effective - size, 0)
    return out, (total // 2, total - total // 2)


def _windows(x: np.ndarray, kernel, stride, dilation, padding, fill):
    """``(N, H_out, W_out, C, k_h, k_w)`` views of the padded input, one per output position."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    out_h, pad_h = _same_padding(x.shape[1], sh, kh, dh, padding)
    out_w, pad_w = _same_padding(x.shape[2], sw, kw, dw, padding)
    xp = np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)), constant_values=fill)
    eff_h, eff_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    view = np.lib.stride_tricks.sliding_window_view(xp, (eff_h, eff_w), axis=(1, 2))
    return view[:, : (out_h - 1) * sh + 1 : sh, : (out_w - 1) * sw + 1 : sw, :, ::dh, ::dw]


def _accumulator_type(w: np.ndarray, bias) -> type:
    """int32, as TFLite, when no input can overflow it: ``sum |w| * 255 + |b| < 2**31``."""
    worst = np.abs(w.reshape(w.shape[0], -1).astype(np.int64)).sum(axis=1).max() * 255
    worst += 0 if bias is None else int(np.abs(bias.astype(np.int64)).max())
    return np.int32 if worst < 2**31 else np.int64


def _conv(graph: _Graph, op: _Op, x: np.ndarray) -> np.ndarray:
    t_x, t_w = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    t_y = graph.tensors[op.outputs[0]]
    w = t_w.data  # CONV_2D (C_out, k_h, k_w, C_in); depthwise (1, k_h, k_w, C_out)
    bias = graph.tensors[op.inputs[2]].data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    kind = _accumulator_type(w if op.name == "CONV_2D" else w[0].transpose(2, 0, 1), bias)
    o = op.options
    x = x.astype(kind) - kind(t_x.zero_point)  # padding then adds real zeros
    w = w.astype(kind)
    if op.name == "CONV_2D":
        n = x.shape[0]
        if w.shape[1:3] == (1, 1) and o["stride"] == (1, 1):  # a dense layer at every pixel
            oh, ow = x.shape[1:3]
            patches = x.reshape(-1, x.shape[-1])
        else:
            cols = _windows(x, w.shape[1:3], o["stride"], o["dilation"], o["padding"], 0)
            oh, ow = cols.shape[1:3]
            patches = cols.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, -1)
        acc = np.einsum("pk,ok->po", patches, w.reshape(w.shape[0], -1)).reshape(n, oh, ow, -1)
    else:
        multiplier = o["depth_multiplier"]
        if multiplier > 1:
            x = np.repeat(x, multiplier, axis=-1)  # output channel c * multiplier + m
        cols = _windows(x, w.shape[1:3], o["stride"], o["dilation"], o["padding"], 0)
        acc = np.einsum("nhwcij,ijc->nhwc", cols, w[0])
    acc = acc.astype(np.int64)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        acc = acc + graph.tensors[op.inputs[2]].data.astype(np.int64)
    scales = np.broadcast_to(t_w.scales, (acc.shape[-1],))
    m0, shift = _channel_multipliers(t_x.scale, scales, t_y.scale)
    bounds = _activation_range(o["activation"], t_y)
    return _requantize(acc, m0, shift, t_y.zero_point, bounds)


def _fully_connected(graph: _Graph, op: _Op, x: np.ndarray) -> np.ndarray:
    t_x, t_w = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    t_y = graph.tensors[op.outputs[0]]
    w = t_w.data  # (units, inputs)
    bias = graph.tensors[op.inputs[2]].data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    kind = _accumulator_type(w, bias)
    rows = x.reshape(-1, w.shape[1]).astype(kind) - kind(t_x.zero_point)
    acc = np.einsum("pk,ok->po", rows, w.astype(kind)).astype(np.int64)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        acc = acc + graph.tensors[op.inputs[2]].data.astype(np.int64)
    if t_w.scales.size > 1:  # per channel: s_x * s_w / s_y in double
        m0, shift = _channel_multipliers(t_x.scale, t_w.scales, t_y.scale)
    else:  # per tensor: TFLite multiplies the two float32 scales first
        product = float(np.float32(t_x.scale) * np.float32(t_w.scale))
        m0, shift = quantize_multiplier(product / float(t_y.scale))
    bounds = _activation_range(op.options["activation"], t_y)
    if np.any(acc > INT32_MAX) or np.any(acc < INT32_MIN):
        raise ValueError("an int32 accumulator overflowed")
    # LiteRT's reference FULLY_CONNECTED rounds once, (acc * m0 + half) >> (31 - shift),
    # where the convolutions round twice (measured: tests/test_integer_forward.py)
    total_shift = 31 - np.asarray(shift, dtype=np.int64)
    single = (
        acc * np.asarray(m0, dtype=np.int64) + (np.int64(1) << (total_shift - 1))
    ) >> total_shift
    y = np.clip(single + t_y.zero_point, *bounds).astype(np.int8)
    if op.options.get("keep_num_dims"):
        return y.reshape(*x.shape[:-1], w.shape[0])
    return y.reshape(-1, *t_y.shape[1:]) if len(t_y.shape) > 1 else y


def _add(graph: _Graph, op: _Op, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TFLite's int8 ADD: both inputs brought to a common scale with 20 bits of headroom."""
    t_a, t_b = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    t_y = graph.tensors[op.outputs[0]]
    left_shift = 20
    twice_max = 2 * max(float(t_a.scales[0]), float(t_b.scales[0]))
    m_a = quantize_multiplier(float(t_a.scales[0]) / twice_max)
    m_b = quantize_multiplier(float(t_b.scales[0]) / twice_max)
    m_y = quantize_multiplier(twice_max / (float(np.float32(2**left_shift) * t_y.scales[0])))
    scaled_a = multiply_by_quantized_multiplier(
        (a.astype(np.int64) - t_a.zero_point) << left_shift, *m_a
    )
    scaled_b = multiply_by_quantized_multiplier(
        (b.astype(np.int64) - t_b.zero_point) << left_shift, *m_b
    )
    y = multiply_by_quantized_multiplier(scaled_a + scaled_b, *m_y) + t_y.zero_point
    bounds = _activation_range(op.options["activation"], t_y)
    return np.clip(y, *bounds).astype(np.int8)


def _pool(graph: _Graph, op: _Op, x: np.ndarray) -> np.ndarray:
    """Average (rounded half away from zero, padding not counted) or max pooling."""
    o = op.options
    t_y = graph.tensors[op.outputs[0]]
    bounds = _activation_range(o["activation"], t_y)
    if op.name == "MAX_POOL_2D":
        lowest = -(2**40)  # below any int8: padding never wins
        cols = _windows(x.astype(np.int64), o["filter"], o["stride"], (1, 1), o["padding"], lowest)
        return np.clip(cols.max(axis=(-2, -1)), *bounds).astype(np.int8)
    cols = _windows(x.astype(np.int64), o["filter"], o["stride"], (1, 1), o["padding"], 0)
    ones = np.ones((1, *x.shape[1:3], 1), dtype=np.int64)
    count = _windows(ones, o["filter"], o["stride"], (1, 1), o["padding"], 0).sum(axis=(-2, -1))
    total = cols.sum(axis=(-2, -1))
    half = count // 2
    average = np.where(total > 0, _c_divide(total + half, count), _c_divide(total - half, count))
    return np.clip(average, *bounds).astype(np.int8)


def _mean(graph: _Graph, op: _Op, x: np.ndarray) -> np.ndarray:
    """TFLite's integer mean: the sum of ``q - z_x`` times ``s_x / (count * s_y)``, plus ``z_y``."""
    t_x, t_y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    axes = tuple(int(a) % x.ndim for a in np.atleast_1d(graph.tensors[op.inputs[1]].data))
    count = math.prod(x.shape[a] for a in axes)
    total = (x.astype(np.int64) - t_x.zero_point).sum(axis=axes, keepdims=op.options["keep_dims"])
    m0, shift = quantize_multiplier(float(t_x.scale) / (count * float(t_y.scale)))
    y = multiply_by_quantized_multiplier(total, m0, shift) + t_y.zero_point
    return np.clip(y, INT8_MIN, INT8_MAX).astype(np.int8)


def _exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """gemmlowp's ``exp_on_negative_values`` for an input with 5 integer bits (Q5.26)."""
    one_quarter = 1 << 24
    a_mod = (a & (one_quarter - 1)) - one_quarter  # in [-1/4, 0)
    # exp on [-1/4, 0): a Taylor expansion around -1/8, in Q0.31
    x = (a_mod << 5) + (1 << 28)
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(_srdhm(x4_over_4 + x3, 715827883) + x2, 1)
    exp_neg_eighth = 1895147668
    result = exp_neg_eighth + _srdhm(exp_neg_eighth, x + poly)
    remainder = a_mod - a
    # multiply by exp(-2**k) for each bit k of the remainder (a barrel shifter)
    for exponent, multiplier in (
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ):
        bit = (remainder & (1 << (26 + exponent))) != 0
        result = np.where(bit, _srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def _one_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """gemmlowp's ``1 / (1 + x)`` for ``x`` in [0, 1) in Q0.31: three Newton-Raphson steps."""
    total = a + INT32_MAX
    half_denominator = _c_divide(total + np.where(total >= 0, 1, -1), 2)
    x = 1515870810 + _srdhm(half_denominator, -1010580540)  # 48/17 - 32/17 * d, in Q2.29
    for _ in range(3):
        one_minus = (1 << 29) - _srdhm(half_denominator, x)
        x = x + _saturating_left_shift(_srdhm(x, one_minus), 2)
    return _saturating_left_shift(x, 1)


def _softmax(graph: _Graph, op: _Op, x: np.ndarray) -> np.ndarray:
    """TFLite's reference int8 softmax (gemmlowp fixed point; output scale 1/256, zp -128)."""
    t_x = graph.tensors[op.inputs[0]]
    integer_bits = 5
    real_multiplier = min(
        float(op.options["beta"]) * float(t_x.scale) * (1 << (31 - integer_bits)), 2.0**31 - 1.0
    )
    # (TFLite's reference kernel requires real_multiplier >= 1 and aborts otherwise; a
    # smaller one, from a tiny input scale, is applied here with a rounding right shift)
    m0, left_shift = quantize_multiplier(real_multiplier)
    radius = math.floor(((1 << integer_bits) - 1) * 2.0 ** (31 - integer_bits - left_shift))
    diff = x.astype(np.int64) - x.max(axis=-1, keepdims=True)
    used = diff >= -radius
    exps = _exp_on_negative_values(multiply_by_quantized_multiplier(diff, m0, left_shift))
    exps = np.where(used, exps, 0)
    total = rounding_divide_by_pot(exps, 12).sum(axis=-1, keepdims=True)  # Q12.19
    bits = np.array([int(v).bit_length() for v in total.ravel()]).reshape(total.shape)
    headroom = 32 - bits  # leading zeros of the sum as a uint32
    bits_over_unit = 12 - headroom
    shifted = ((total << headroom) & 0xFFFFFFFF) - (1 << 31)
    scale = _one_over_one_plus_x(shifted)
    out = rounding_divide_by_pot(_srdhm(scale, exps), bits_over_unit + 31 - 8) + INT8_MIN
    out = np.where(used, out, INT8_MIN)
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)


def _pad(graph: _Graph, op: _Op, x: np.ndarray) -> np.ndarray:
    t_y = graph.tensors[op.outputs[0]]
    pads = graph.tensors[op.inputs[1]].data.astype(int)
    value = t_y.zero_point
    if op.name == "PADV2" and len(op.inputs) > 2:
        value = int(graph.tensors[op.inputs[2]].data.reshape(-1)[0])
    return np.pad(x, [tuple(p) for p in pads], constant_values=value).astype(np.int8)


def _quantize(graph: _Graph, op: _Op, x: np.ndarray) -> np.ndarray:
    """int8 -> int8 requantization (``s_x / s_y``); float input is not integer-only."""
    t_x, t_y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if t_x.dtype != np.int8 or t_y.dtype != np.int8:
        raise ValueError(
            f"tflite_model: QUANTIZE from {t_x.dtype.name} to {t_y.dtype.name} is not "
            "integer-only; only int8 -> int8 is supported"
        )
    m0, shift = quantize_multiplier(float(t_x.scale) / float(t_y.scale))
    y = multiply_by_quantized_multiplier(x.astype(np.int64) - t_x.zero_point, m0, shift)
    return np.clip(y + t_y.zero_point, INT8_MIN, INT8_MAX).astype(np.int8)


def _run(graph: _Graph, op: _Op, values: dict) -> np.ndarray:
    x = values[op.inputs[0]]
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return _conv(graph, op, x)
    if op.name == "FULLY_CONNECTED":
        return _fully_connected(graph, op, x)
    if op.name == "ADD":
        b = values.get(op.inputs[1])
        if b is None:
            b = graph.tensors[op.inputs[1]].data
        return _add(graph, op, x, b)
    if op.name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return _pool(graph, op, x)
    if op.name == "MEAN":
        return _mean(graph, op, x)
    if op.name == "SOFTMAX":
        return _softmax(graph, op, x)
    if op.name in ("PAD", "PADV2"):
        return _pad(graph, op, x)
    if op.name == "QUANTIZE":
        return _quantize(graph, op, x)
    if op.name == "RESHAPE":
        shape = graph.tensors[op.outputs[0]].shape
        return x.reshape(x.shape[0], *shape[1:]) if len(shape) > 1 else x.reshape(shape)
    raise ValueError(  # _check_supported reports it before anything runs
        f"tflite_model: operator {op.name} is not supported; supported: {', '.join(SUPPORTED_OPS)}"
    )


def _check_input(graph: _Graph, x) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array of int8 inputs, got {type(x).__name__}")
    expected = graph.tensors[graph.input].shape
    if x.dtype != np.int8:
        raise ValueError(
            f"x must be int8 (the input LiteRT takes: quantize with the input's scale and "
            f"zero point), got {x.dtype}"
        )
    if x.ndim != len(expected) or x.shape[1:] != expected[1:] or x.shape[0] < 1:
        raise ValueError(
            f"x must be a batch of inputs of shape (n, {', '.join(map(str, expected[1:]))}), "
            f"got {x.shape}"
        )
    return x


def _graph_of(tflite_model) -> _Graph:
    graph = _read_graph(_flatbuffer(tflite_model))
    unsupported = sorted({op.name for op in graph.ops} - set(SUPPORTED_OPS))
    if unsupported:
        raise ValueError(
            f"tflite_model holds operators integer_forward does not support: "
            f"{', '.join(unsupported)}; supported: {', '.join(SUPPORTED_OPS)}"
        )
    return graph


def integer_tensors(tflite_model, x, given: dict | None = None) -> dict[int, np.ndarray]:
    """Every tensor of an int8 file computed in integers: the input and each op's output.

    Args:
        tflite_model: the bytes of an int8 ``.tflite`` file (``tflite.to_tflite(model,
            "int8", ...)``) or its path.
        x: int8 input batch ``(n, *input_shape)``, as the LiteRT interpreter takes it.
        given: ``None`` to chain the operators (each reads what the previous ones
            computed here), or the tensors of another run (:func:`litert_tensors`) to
            compute each operator alone from that run's inputs (differences then do not
            add up along the network).

    Returns:
        ``{tensor index: int8 array}`` in the file's tensor numbering (the interpreter's).

    Raises:
        TypeError: ``tflite_model`` is neither bytes nor a path; ``x`` is not an array.
        ValueError: not a TFLite file, not full-integer int8 (float input or output), an
            operator outside :data:`SUPPORTED_OPS`, or ``x`` not int8 or of the wrong shape.
    """
    graph = _graph_of(tflite_model)
    x = _check_input(graph, x)
    if given is not None and not isinstance(given, dict):
        raise TypeError(f"given must be None or a dict of tensors, got {type(given).__name__}")
    values = {graph.input: x}
    for op in graph.ops:
        values[op.outputs[0]] = _run(graph, op, values if given is None else given)
    return values


def integer_forward(tflite_model, x) -> np.ndarray:
    """Run an int8 ``.tflite`` file in NumPy integer arithmetic; the int8 output LiteRT gives.

    Between the int8 input and the int8 output every step is int32/int64 integer maths
    (accumulate, add the int32 bias, requantize with ``(m0, shift)``, add the zero point,
    clamp), as TFLite's reference kernels compute it; see the module docstring.

    Formula:
        per layer, ``q_y = clamp(z_y + M * (sum q_w (q_x - z_x) + q_b))`` with
        ``M = s_x s_w / s_y`` applied as :func:`multiply_by_quantized_multiplier`.

    Args:
        tflite_model: the bytes of an int8 ``.tflite`` file or its path.
        x: int8 input batch ``(n, *input_shape)`` with ``n >= 1``.

    Returns:
        The int8 output batch, shaped as the interpreter's output.

    Raises:
        TypeError: ``tflite_model`` is neither bytes nor a path; ``x`` is not an array.
        ValueError: not a TFLite file, not full-integer int8 (a float model), an operator
            outside :data:`SUPPORTED_OPS` (named, with the supported list), or ``x`` not
            int8 or of the wrong shape.
    """
    graph = _graph_of(tflite_model)
    return integer_tensors(tflite_model, x)[graph.output]


#: How :func:`litert_tensors` runs the interpreter.
KERNELS = ("xnnpack", "builtin", "reference")


def litert_tensors(tflite_model, x, kernels: str = "xnnpack", threads: int = 1) -> dict:
    """The same tensors as :func:`integer_tensors`, computed by the LiteRT interpreter.

    The interpreter keeps every intermediate tensor (``experimental_preserve_all_tensors``).

    Args:
        tflite_model: the bytes of an int8 ``.tflite`` file or its path.
        x: int8 input batch ``(n, *input_shape)``.
        kernels: ``"xnnpack"``: as deployed, the XNNPACK delegate (one partition per
            operator, ``experimental_disable_delegate_node_fusion``, so that each
            operator's output is written out) and TFLite's optimized kernels for what it
            does not take; ``"builtin"``: TFLite's optimized kernels without XNNPACK;
            ``"reference"``: TFLite's reference kernels (``OpResolverType.BUILTIN_REF``),
            which :func:`integer_forward` follows.
        threads: interpreter threads.

    Returns:
        ``{tensor index: array}`` for the input and every operator's output.

    Raises:
        TypeError, ValueError: as :func:`integer_tensors`; an unknown ``kernels``.
    """
    import warnings

    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from mobilecourse._validate import choice
    from mobilecourse.tflite import _quiet_native_stderr

    graph = _graph_of(tflite_model)
    x = _check_input(graph, x)
    choice(kernels, "kernels", KERNELS)
    integer(threads, "threads")
    resolver = {
        "xnnpack": OpResolverType.BUILTIN,
        "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        "reference": OpResolverType.BUILTIN_REF,
    }[kernels]
    with _quiet_native_stderr(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "intended for debugging purposes only"
        interp = Interpreter(
            model_content=_flatbuffer(tflite_model),
            experimental_op_resolver_type=resolver,
            experimental_preserve_all_tensors=True,
            experimental_disable_delegate_node_fusion=kernels == "xnnpack",
            num_threads=threads,
        )
        interp.resize_tensor_input(graph.input, list(x.shape))
        interp.allocate_tensors()
        interp.set_tensor(graph.input, x)
        interp.invoke()
    out = {graph.input: x}
    for op in graph.ops:
        out[op.outputs[0]] = interp.get_tensor(op.outputs[0]).copy()
    return out
