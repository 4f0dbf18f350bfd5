"""Keras model -> TFLite flatbuffer, run with the LiteRT interpreter (``ai_edge_litert``).

Conversion traces the model's inference call once into a TensorFlow function and
converts that (``TFLiteConverter.from_concrete_functions``, the variables frozen into
constants): the same file, operator for operator and weight for weight, as
``TFLiteConverter.from_keras_model``, which first writes the model out as a SavedModel
and takes about four times as long (MobileNetV2-224: 2.5 s against 10.8 s).
The same model (layers and weights) converted the same way twice, in one lesson or in
two, is converted once: :mod:`mobilecourse.cache` keeps the file. Inference uses
``ai_edge_litert.interpreter.Interpreter``, never the deprecated ``tf.lite.Interpreter``.

Post-training quantization modes (:data:`MODES`):

* ``"float32"``: no quantization (4 bytes per weight).
* ``"float16"``: weights stored as float16 (about half the float32 file); the
  interpreter dequantizes them to float32 and computes in float.
* ``"dynamic"``: dynamic-range quantization; weights stored as int8 (about a
  quarter of the file), activations stay float.
* ``"int8"``: full-integer quantization; weights *and* activations are int8, with
  activation ranges calibrated on a representative dataset. The model's input and
  output tensors are int8 too; :func:`run` quantizes and dequantizes for you.

Affine quantization (TFLite's scheme): ``real = scale * (q - zero_point)``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobilecourse import cache
from mobilecourse._validate import boolean, integer

__all__ = [
    "KERNEL_OPERATORS",
    "MODES",
    "MemoryPlan",
    "StoredOp",
    "StoredTensor",
    "fold_batchnorm",
    "TensorLife",
    "TFLiteOp",
    "TFLiteProfile",
    "interpreter",
    "invoke_times",
    "memory_plan",
    "profile_tflite",
    "run",
    "stored_operators",
    "to_tflite",
]

#: Conversion modes: no quantization, float16 weights, dynamic range, full integer.
MODES = ("float32", "float16", "dynamic", "int8")

#: Representative samples fed to the int8 converter for calibration (at most).
REPRESENTATIVE_SAMPLES = 200


def to_tflite(
    model, mode: str = "float32", representative_data=None, per_channel: bool = True
) -> bytes:
    """Convert a Keras model to a TFLite flatbuffer, optionally quantized.

    Cost:
        File size is about ``params * b / 8`` bytes for ``b`` bits per weight:
        32 (``"float32"``), 16 (``"float16"``), 8 (``"dynamic"`` and ``"int8"``),
        plus the graph and the quantization parameters. A quantized kernel and its int32
        bias each store a float32 scale and an int64 zero point per output channel
        (``per_channel=True``: about 24 bytes per channel) or one pair per tensor
        (``per_channel=False``); in a small model those bytes are a visible share of
        the int8 file.

    Args:
        model: a built ``keras.Model`` with fixed per-image input sizes.
        mode: one of :data:`MODES`.
        representative_data: for ``mode="int8"`` only (and required there): an array
            of inputs ``(n, *input_shape)``; up to :data:`REPRESENTATIVE_SAMPLES` of
            them are fed one at a time (batch 1, float32) to calibrate the ranges.
        per_channel: for ``"dynamic"`` and ``"int8"``: one scale per output channel of
            each weight tensor (the converter's default, most accurate) or, if ``False``,
            one scale per convolution kernel (smaller file; accuracy can drop, especially
            for depthwise kernels whose channels have very different ranges). The
            converter keeps per-channel scales on fully connected kernels either way.

    Returns:
        The ``.tflite`` file's bytes.

    Raises:
        ValueError: an unknown ``mode``; ``representative_data`` missing for
            ``"int8"``, given for another mode, empty or of the wrong shape;
            ``per_channel=False`` for a mode with no integer weights.
        TypeError: ``model`` is not a Keras model.
    """
    import keras

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    samples = None
    if mode == "int8":
        if representative_data is None:
            raise ValueError(
                "representative_data is required for mode='int8' (an array of model inputs "
                "to calibrate activation ranges)"
            )
        samples = _representative_array(model, representative_data)
    elif representative_data is not None:
        raise ValueError(
            f"representative_data is only used for mode='int8', not mode={mode!r}; omit it"
        )
    boolean(per_channel, "per_channel")
    if not per_channel and mode not in ("dynamic", "int8"):
        raise ValueError(
            f"per_channel=False applies to mode 'dynamic' or 'int8' (integer weights), "
            f"not mode={mode!r}"
        )
    name = _file_name(model, mode, samples, per_channel)
    cached = cache.lookup(name)
    if cached is not None:
        return cached.read_bytes()
    flatbuffer = _convert(model, mode, samples, per_channel)
    cache.store(name, lambda path: Path(path).write_bytes(flatbuffer))
    return flatbuffer


def _file_name(model, mode: str, samples, per_channel: bool) -> str:
    """The cache file of this conversion: the model's layers and weights, mode, samples."""
    facts = {"mode": mode, "per_channel": per_channel, "model": model.to_json()}
    arrays = list(model.get_weights()) + ([] if samples is None else [samples])
    return f"{model.name}-{mode}-{cache.key(facts, ('tflite.py', 'blocks.py'), *arrays)}.tflite"


def _convert(model, mode: str, samples, per_channel: bool) -> bytes:
    """The conversion itself (:func:`to_tflite` checked the arguments)."""
    import tensorflow as tf

    converter = function_converter(_inference_function(model))
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # No public switch exists: TF 2.21 (pinned) reads this private converter attribute.
    converter._experimental_disable_per_channel = not per_channel
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        return int8_convert(converter, samples)
    with _quiet():
        return converter.convert()


def _inference_function(model):
    """The model's inference call (``training=False``) traced for a free batch dimension."""
    import tensorflow as tf

    specs = [tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype) for tensor in model.inputs]

    def call(*inputs):
        return model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)

    return tf.function(call, autograph=False).get_concrete_function(*specs)


def function_converter(function):
    """A TFLite converter for a traced TensorFlow function, its variables frozen.

    Args:
        function: a concrete ``tf.function`` (``get_concrete_function`` with input specs).
    """
    import tensorflow as tf

    absl = logging.getLogger("absl")  # warns that a frozen function has no trackable object
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        return tf.lite.TFLiteConverter.from_concrete_functions([function])
    finally:
        absl.setLevel(level)


def int8_convert(converter, samples) -> bytes:
    """Run a TFLite converter for a full-integer file: int8 operators, input and output.

    Args:
        converter: a ``tf.lite.TFLiteConverter`` (from a Keras model or a function).
        samples: float32 calibration inputs, one per row.
    """
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([sample[np.newaxis]] for sample in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with _quiet(), warnings.catch_warnings():  # the calibrator logs to fd 2
        # int8 input and output: the converter takes their ranges from the calibration
        # (the input's scale is 1/255 for [0, 1] pixels) and says it had no others
        warnings.filterwarnings("ignore", "Statistics for quantized inputs were expected")
        return converter.convert()


def _representative_array(model, data) -> np.ndarray:
    """Check ``data`` against the model's input shape; return float32 samples."""
    try:
        array = np.asarray(data, dtype="float32")
    except (TypeError, ValueError) as error:
        raise ValueError(f"representative_data must be an array of inputs: {error}") from None
    shape = tuple(model.inputs[0].shape[1:])
    if array.ndim != len(shape) + 1 or len(array) == 0:
        raise ValueError(
            f"representative_data must have shape (n, *{shape}) with n >= 1, got {array.shape}"
        )
    if any(m is not None and m != s for m, s in zip(shape, array.shape[1:], strict=True)):
        raise ValueError(f"representative_data must have shape (n, *{shape}), got {array.shape}")
    return array[:REPRESENTATIVE_SAMPLES]


def interpreter(flatbuffer: bytes, threads: int = 1, batch: int = 1):
    """A LiteRT interpreter for ``flatbuffer``, its input resized to ``batch`` images, allocated.

    Args:
        flatbuffer: the ``.tflite`` file's bytes.
        threads: interpreter threads (>= 1).
        batch: images per call (>= 1); the file must have a free batch dimension (the
            course's conversions keep it) unless ``batch`` is its fixed batch size.

    Raises:
        ValueError: a bad ``threads`` or ``batch``, or a ``batch`` the file cannot take.
    """
    from ai_edge_litert.interpreter import Interpreter

    integer(threads, "threads")
    integer(batch, "batch")
    with _quiet_native_stderr():  # LiteRT prints "INFO: Created ... XNNPACK delegate"
        interp = Interpreter(model_content=flatbuffer, num_threads=threads)
        detail = interp.get_input_details()[0]
        shape = list(detail["shape_signature"])
        if shape and shape[0] == -1:
            interp.resize_tensor_input(detail["index"], [batch, *shape[1:]])
        elif batch != (shape[0] if shape else 1):
            raise ValueError(
                f"batch must be {shape[0] if shape else 1} for this file (its batch size is "
                f"fixed), got {batch}"
            )
        interp.allocate_tensors()
    return interp


@contextlib.contextmanager
def _quiet():
    """Silence Python's stdout and what native code writes to file descriptor 2."""
    with contextlib.redirect_stdout(io.StringIO()), _quiet_native_stderr():
        yield


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what native code writes to file descriptor 2 (Python's stderr is kept)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _is_integer_dtype(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.integer)


def _as_input(detail: dict, x) -> np.ndarray:
    """Float input ``x`` in the input tensor's dtype (quantized with its scale and zero point)."""
    dtype = np.dtype(detail["dtype"])
    if not _is_integer_dtype(dtype):
        return np.asarray(x, dtype=dtype)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype="float32") / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def run(interp, x: np.ndarray) -> np.ndarray:
    """Run one input batch (of 1) through an allocated interpreter; return the first output.

    Callers always pass and get float32. For an integer (``"int8"``) model the float
    input is quantized with the input tensor's ``(scale, zero_point)`` and the integer
    output is dequantized with the output tensor's.

    Formula:
        ``q = clip(round(x / scale) + zero_point, qmin, qmax)`` on the way in,
        ``y = scale * (q - zero_point)`` on the way out.
    """
    detail = interp.get_input_details()[0]
    interp.set_tensor(detail["index"], _as_input(detail, x))
    interp.invoke()
    out_detail = interp.get_output_details()[0]
    out = interp.get_tensor(out_detail["index"])
    if _is_integer_dtype(out.dtype):
        scale, zero_point = out_detail["quantization"]
        return (scale * (out.astype("float32") - zero_point)).astype("float32")
    return out.astype("float32", copy=False)


def invoke_times(interp, runs: int, warmup: int = 0) -> list[float]:
    """Milliseconds of ``runs`` calls of ``interp.invoke()`` after ``warmup`` untimed ones.

    Only ``Interpreter.invoke()`` is timed, as LiteRT's own ``benchmark_model`` does: the
    input tensor is filled once with random values (seed 0) in its own dtype. Python's work
    around a call (tensor details, quantizing the input, copying the output) is left out.
    A call still pays a fixed overhead of a few microseconds, so time small models on a
    batch of images (:func:`interpreter`'s ``batch``); to compare models use
    :func:`mobilecourse.timing.time_variants`, the course's protocol, which calls this.

    Raises:
        ValueError: a bad ``runs`` (>= 1) or ``warmup`` (>= 0).
    """
    integer(runs, "runs")
    integer(warmup, "warmup", 0)
    detail = interp.get_input_details()[0]
    x = np.random.default_rng(0).standard_normal(detail["shape"]).astype("float32")
    interp.set_tensor(detail["index"], _as_input(detail, x))
    for _ in range(warmup):
        interp.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - start) * 1000)
    return times


# ---------------------------------------------------------------- the cost of a file

#: LiteRT operators with a kernel, and how their MACs are counted.
KERNEL_OPERATORS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass(frozen=True)
class TFLiteOp:
    """One operator of a ``.tflite`` file.

    Attributes:
        index: its position in the file's execution plan.
        op: the LiteRT operator name, e.g. ``"CONV_2D"``.
        output_shape: its first output's shape per image (no batch axis).
        macs: multiply-accumulates per image (0 for an operator without a kernel).
        weights: elements of its kernel (0 without one).
        param_bytes: bytes of the constant tensors it reads first (kernel, bias, ...;
            a constant shared by several operators is counted at its first reader).
        dtype: the kernel's stored type (``"float32"``, ``"float16"``, ``"int8"``) or ``""``.
    """

    index: int
    op: str
    output_shape: tuple[int, ...]
    macs: int
    weights: int
    param_bytes: int
    dtype: str


@dataclass(frozen=True)
class TFLiteProfile:
    """The cost of a ``.tflite`` file, operator by operator. Build it with :func:`profile_tflite`.

    Attributes:
        ops: the operators in execution order.
        file_bytes: size of the flatbuffer.
    """

    ops: tuple[TFLiteOp, ...]
    file_bytes: int

    @property
    def macs(self) -> int:
        """Total multiply-accumulates per image (FLOPs = 2 x MACs)."""
        return sum(o.macs for o in self.ops)

    @property
    def weights(self) -> int:
        """Kernel elements: ``profile_model(...).weights`` of the Keras model converted."""
        return sum(o.weights for o in self.ops)

    @property
    def param_bytes(self) -> int:
        """Bytes of all constant tensors (kernels, biases, scales stored as tensors)."""
        return sum(o.param_bytes for o in self.ops)

    def table(self):
        """The operators as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(
            [
                (o.index, o.op, o.output_shape, o.macs, o.weights, o.param_bytes, o.dtype)
                for o in self.ops
            ],
            columns=["index", "op", "output_shape", "macs", "weights", "param_bytes", "dtype"],
        )

    def __repr__(self) -> str:
        return (
            f"{self.table().to_string(index=False)}\n\nMACs: {self.macs:,} (FLOPs = 2 x MACs = "
            f"{2 * self.macs:,}); kernel weights: {self.weights:,}; constant tensors: "
            f"{self.param_bytes:,} bytes of a {self.file_bytes:,}-byte file"
        )


def fold_batchnorm(conv, batchnorm) -> tuple[np.ndarray, np.ndarray]:
    """The kernel and bias of a convolution with the BatchNorm after it folded in.

    At inference BatchNorm is a fixed affine map per channel, so a converter merges it
    into the convolution before it, which then computes both in one pass.

    Formula:
        ``s = gamma / sqrt(moving_variance + epsilon)``; kernel' = kernel x s (per output
        channel); bias' = (bias - moving_mean) x s + beta (bias 0 without one).

    Args:
        conv: a built ``keras.layers.Conv2D`` or ``DepthwiseConv2D`` (depth multiplier 1).
        batchnorm: the built ``keras.layers.BatchNormalization`` over its output channels.

    Returns:
        ``(kernel, bias)`` as float32 arrays, the kernel in Keras's layout.

    Raises:
        TypeError: a layer of another kind.
        ValueError: the BatchNorm's channels differ from the convolution's outputs.
    """
    import keras

    if not isinstance(conv, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
        raise TypeError(
            f"conv must be a Conv2D or DepthwiseConv2D layer, got {type(conv).__name__}"
        )
    if not isinstance(batchnorm, keras.layers.BatchNormalization):
        raise TypeError(
            f"batchnorm must be a BatchNormalization layer, got {type(batchnorm).__name__}"
        )
    kernel = np.asarray(keras.ops.convert_to_numpy(conv.kernel), dtype="float64")
    channels = (
        kernel.shape[2] if isinstance(conv, keras.layers.DepthwiseConv2D) else kernel.shape[3]
    )
    if isinstance(conv, keras.layers.DepthwiseConv2D) and kernel.shape[3] != 1:
        raise ValueError(f"conv must have depth_multiplier 1, got {kernel.shape[3]}")

    def weight(name: str, default: float) -> np.ndarray:
        variable = getattr(batchnorm, name, None)
        if variable is None:  # center=False or scale=False
            return np.full(channels, default)
        return np.asarray(keras.ops.convert_to_numpy(variable), dtype="float64")

    gamma, beta = weight("gamma", 1.0), weight("beta", 0.0)
    mean, variance = weight("moving_mean", 0.0), weight("moving_variance", 1.0)
    if len(mean) != channels:
        raise ValueError(f"batchnorm has {len(mean)} channels, the convolution {channels} outputs")
    scale = gamma / np.sqrt(variance + batchnorm.epsilon)
    bias = np.zeros(channels)
    if conv.use_bias:
        bias = np.asarray(keras.ops.convert_to_numpy(conv.bias), dtype="float64")
    if isinstance(conv, keras.layers.DepthwiseConv2D):
        folded = kernel * scale[np.newaxis, np.newaxis, :, np.newaxis]
    else:
        folded = kernel * scale
    return folded.astype("float32"), ((bias - mean) * scale + beta).astype("float32")


def _read(flatbuffer):
    """A ``.tflite`` file's bytes (from bytes or a path) and an interpreter without delegates."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if isinstance(flatbuffer, (str, os.PathLike)):
        path = Path(flatbuffer)
        if not path.is_file():
            raise ValueError(f"flatbuffer: no such .tflite file: {path}")
        flatbuffer = path.read_bytes()
    elif isinstance(flatbuffer, (bytes, bytearray)):
        flatbuffer = bytes(flatbuffer)
    else:
        raise TypeError(
            f"flatbuffer must be a .tflite file's bytes or path, got {type(flatbuffer).__name__}"
        )
    try:
        with _quiet_native_stderr():
            interp = Interpreter(
                model_content=flatbuffer,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
    except ValueError as err:
        raise ValueError(f"flatbuffer is not a TFLite flatbuffer: {err}") from None
    return flatbuffer, interp


def profile_tflite(flatbuffer) -> TFLiteProfile:
    """Count the MACs and parameter bytes of a ``.tflite`` file, operator by operator.

    Read with the LiteRT interpreter's operator and tensor details (no delegate, so the
    file's own operators are listed). Cost: ``CONV_2D`` H_out x W_out x C_out x k_h x k_w
    x C_in, ``DEPTHWISE_CONV_2D`` H_out x W_out x C_out x k_h x k_w, ``FULLY_CONNECTED``
    units x inputs per position (the same conventions as :mod:`mobilecourse.costs`); every
    other operator (pooling, adds, reshapes, softmax, (de)quantize) 0 MACs. A kernel
    stored as float16 is read through its ``DEQUANTIZE``.

    Args:
        flatbuffer: the file's bytes, or a path to a ``.tflite`` file.

    Returns:
        A :class:`TFLiteProfile`; for a file converted from a Keras model its ``macs`` and
        ``weights`` equal ``profile_model``'s of that model (BatchNorm is folded into the
        kernels and biases, so parameters are compared by kernel weights).

    Raises:
        TypeError: ``flatbuffer`` is neither bytes nor a path.
        ValueError: the file does not exist or is not a TFLite flatbuffer.
    """
    flatbuffer, interp = _read(flatbuffer)
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()  # LiteRT's only API for the operator list
    produced = {int(i): op for op in ops for i in op["outputs"]}
    graph_inputs = {int(t["index"]) for t in interp.get_input_details()}

    def constant(index: int) -> bool:
        return index >= 0 and index not in produced and index not in graph_inputs

    def stored(index: int) -> int:
        """The constant a tensor comes from, through a DEQUANTIZE (float16 kernels)."""
        op = produced.get(index)
        if op is not None and op["op_name"] == "DEQUANTIZE" and constant(int(op["inputs"][0])):
            return int(op["inputs"][0])
        return index

    counted: set[int] = set()
    rows = []
    for op in ops:
        name = op["op_name"]
        inputs = [int(i) for i in op["inputs"]]
        output = tensors[int(op["outputs"][0])]
        out_shape = tuple(int(d) for d in output["shape"][1:])
        macs = weights = 0
        dtype = ""
        if name in KERNEL_OPERATORS:
            kernel = tensors[stored(inputs[1])]
            shape = tuple(int(d) for d in kernel["shape"])
            weights = math.prod(shape)
            dtype = np.dtype(kernel["dtype"]).name
            # Each output position uses every kernel weight once: CONV_2D's kernel is
            # (C_out, k_h, k_w, C_in), DEPTHWISE_CONV_2D's (1, k_h, k_w, C_out) and
            # FULLY_CONNECTED's (units, inputs).
            macs = math.prod(out_shape[:-1]) * weights
        param_bytes = 0
        reads = [] if name == "DEQUANTIZE" else [stored(i) for i in inputs if i >= 0]
        for index in dict.fromkeys(reads):  # a DEQUANTIZE's constant: at its reader
            if constant(index) and index not in counted:
                counted.add(index)
                detail = tensors[index]
                param_bytes += math.prod(detail["shape"]) * np.dtype(detail["dtype"]).itemsize
        param_bytes = int(param_bytes)
        rows.append(TFLiteOp(int(op["index"]), name, out_shape, macs, weights, param_bytes, dtype))
    return TFLiteProfile(tuple(rows), len(flatbuffer))


@dataclass(frozen=True)
class StoredTensor:
    """One tensor an operator of a ``.tflite`` file reads or writes, as the file stores it.

    Attributes:
        name: the tensor's name in the file (a fused activation shows in it, e.g.
            ``.../Relu6``).
        dtype: its stored type, e.g. ``"float32"``, ``"float16"``, ``"int8"``, ``"int32"``.
        shape: its shape (an activation's first axis is the batch).
        scales: per-tensor (one) or per-channel quantization scales; empty if not quantized.
        zero_points: the matching zero points; real value = scale x (stored - zero point).
        value: the stored values of a constant (kernel, bias); ``None`` for an activation.
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    value: np.ndarray | None


@dataclass(frozen=True)
class StoredOp:
    """One operator of a ``.tflite`` file with its tensors (:func:`stored_operators`).

    Attributes:
        index: its position in the execution plan.
        op: the LiteRT operator name, e.g. ``"CONV_2D"``.
        inputs: the tensors it reads, in the operator's order (a convolution: input,
            kernel, bias).
        outputs: the tensors it writes.
    """

    index: int
    op: str
    inputs: tuple[StoredTensor, ...]
    outputs: tuple[StoredTensor, ...]


def stored_operators(flatbuffer) -> tuple[StoredOp, ...]:
    """Every operator of a ``.tflite`` file with the tensors it reads and writes.

    What the converter wrote, read back through the LiteRT interpreter: the kernels and
    biases with BatchNorm folded in (compare :func:`fold_batchnorm`), the int8 tensors
    with their scales and zero points, the activation tensors' names and shapes.

    Args:
        flatbuffer: the file's bytes, or a path to a ``.tflite`` file.

    Returns:
        The operators in execution order.

    Raises:
        TypeError: ``flatbuffer`` is neither bytes nor a path.
        ValueError: the file does not exist or is not a TFLite flatbuffer.
    """
    _, interp = _read(flatbuffer)
    interp.allocate_tensors()
    details = {int(t["index"]): t for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()  # LiteRT's only API for the operator list
    written = {int(i) for op in ops for i in op["outputs"]}
    written |= {int(t["index"]) for t in interp.get_input_details()}

    def tensor(index: int) -> StoredTensor:
        detail = details[index]
        quantization = detail["quantization_parameters"]
        value = None if index in written else np.array(interp.get_tensor(index))
        return StoredTensor(
            detail["name"],
            np.dtype(detail["dtype"]).name,
            tuple(int(d) for d in detail["shape"]),
            tuple(float(v) for v in quantization["scales"]),
            tuple(int(v) for v in quantization["zero_points"]),
            value,
        )

    return tuple(
        StoredOp(
            int(op["index"]),
            op["op_name"],
            tuple(tensor(int(i)) for i in op["inputs"] if int(i) >= 0),
            tuple(tensor(int(i)) for i in op["outputs"]),
        )
        for op in ops
    )


@dataclass(frozen=True)
class TensorLife:
    """One activation tensor of a ``.tflite`` file and when it must be in memory.

    Attributes:
        name: the tensor's name in the file.
        nbytes: its size for one image.
        first: index of the operator that writes it (0 for the model's input).
        last: index of the last operator that reads it (the last operator for an output).
    """

    name: str
    nbytes: int
    first: int
    last: int


@dataclass(frozen=True)
class MemoryPlan:
    """The activation tensors of a ``.tflite`` file with their lifetimes.

    Build it with :func:`memory_plan`. A runtime keeps every tensor from the operator
    that writes it to the last one that reads it and may reuse its memory afterwards
    (LiteRT plans one arena this way before the first inference).

    Attributes:
        ops: operator names in execution order.
        tensors: the activation tensors (the model's inputs and every operator's outputs).
    """

    ops: tuple[str, ...]
    tensors: tuple[TensorLife, ...]

    def live_bytes(self) -> list[int]:
        """Bytes of the tensors alive while each operator runs, in execution order."""
        return [
            sum(t.nbytes for t in self.tensors if t.first <= i <= t.last)
            for i in range(len(self.ops))
        ]

    @property
    def peak_bytes(self) -> int:
        """The most bytes alive at once: no memory plan can use less for activations."""
        return max(self.live_bytes())

    @property
    def peak_op(self) -> int:
        """Index of the (first) operator at which :attr:`peak_bytes` is reached."""
        live = self.live_bytes()
        return live.index(max(live))

    @property
    def total_bytes(self) -> int:
        """Bytes of all activation tensors together: the memory without any reuse."""
        return sum(t.nbytes for t in self.tensors)


def memory_plan(flatbuffer) -> MemoryPlan:
    """The lifetimes of a ``.tflite`` file's activation tensors, for one image.

    Cost:
        peak = max over operators i of the bytes of the tensors t with
        first(t) <= i <= last(t): an operator's inputs and outputs, and every tensor
        written earlier and read later (a residual branch's input). The per-operator rule
        of MobileNetV2's Section 5.1 (``profile.peak_activation_bytes``) counts only an
        operation's own inputs and outputs, with its block's inner tensors computed in
        slices; this is what an engine that runs whole operators needs.

    Args:
        flatbuffer: the file's bytes, or a path to a ``.tflite`` file.

    Returns:
        A :class:`MemoryPlan`.

    Raises:
        TypeError: ``flatbuffer`` is neither bytes nor a path.
        ValueError: the file does not exist or is not a TFLite flatbuffer.
    """
    _, interp = _read(flatbuffer)
    tensors = {int(t["index"]): t for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()  # LiteRT's only API for the operator list
    outputs = {int(t["index"]) for t in interp.get_output_details()}
    first = {int(t["index"]): 0 for t in interp.get_input_details()}
    for op in ops:
        for index in op["outputs"]:
            first.setdefault(int(index), int(op["index"]))
    last = dict(first)
    for op in ops:
        for index in op["inputs"]:
            if int(index) in first:
                last[int(index)] = max(last[int(index)], int(op["index"]))
    for index in outputs:
        last[index] = len(ops) - 1
    lives = []
    for index in sorted(first, key=lambda i: (first[i], i)):
        detail = tensors[index]
        shape = [int(d) for d in detail["shape"][1:]]  # per image
        nbytes = math.prod(shape) * np.dtype(detail["dtype"]).itemsize
        lives.append(TensorLife(detail["name"], int(nbytes), first[index], last[index]))
    return MemoryPlan(tuple(op["op_name"] for op in ops), tuple(lives))
