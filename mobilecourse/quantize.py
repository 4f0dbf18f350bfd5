"""Quantization maths for teaching: affine int quantization, k-means weight sharing, binary weights.

NumPy only (Keras is imported inside the two model helpers), so every formula can be
read and tested on its own; lesson 07 then checks it against the TFLite converter
(:mod:`mobilecourse.tflite`).

* **Affine quantization** (TFLite's scheme, Jacob et al. 2018): a real value is
  ``real = scale * (q - zero_point)`` with an integer ``q`` of ``bits`` bits. The range
  is stretched to include 0, so zero is exactly representable (zero padding, ReLU).
* **Weight sharing** (Deep Compression, Han et al. 2016): cluster a layer's weights
  with k-means into ``2**bits`` centroids; store a codebook of centroids and a
  ``bits``-bit index per weight.
* **Binary weights** (Binary-Weight-Networks, BWN, of Rastegari et al. 2016, the
  XNOR-Net paper): ``W ~ alpha * sign(W)`` with ``alpha = mean |W|`` per output channel
  (1 bit per weight plus one float per channel). XNOR-Net binarizes the inputs too; a
  dot product of two packed sign vectors is then an XOR and a popcount
  (:func:`binary_dot`).
* **Integer-only inference** (Jacob et al. 2018): :func:`integer_forward` runs an int8
  ``.tflite`` file in NumPy integer arithmetic, with the fixed-point requantization
  (:func:`quantize_multiplier`, :func:`multiply_by_quantized_multiplier`) of TFLite's
  reference kernels; it lives in :mod:`mobilecourse.integer` and is re-exported here.
* **Deep Compression's storage** (Han et al. 2016): :func:`deep_compress` prunes a
  kernel by magnitude, shares the kept weights with k-means and stores them with
  relative indices, Huffman coding optional (:mod:`mobilecourse.coding`).

Sizes use the course convention: model size at ``b`` bits = ``params * b / 8`` bytes.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from mobilecourse import coding, costs
from mobilecourse._validate import axis as axis_index
from mobilecourse._validate import integer, real, real_array
from mobilecourse.integer import (
    int8_dense,
    integer_forward,
    integer_tensors,
    litert_tensors,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

__all__ = [
    "CompressedKernel",
    "affine_params",
    "apply_binarization",
    "apply_fake_quantization",
    "apply_weight_sharing",
    "binarize",
    "binarized_weights",
    "binary_dot",
    "deep_compress",
    "dequantize",
    "int8_dense",
    "integer_forward",
    "integer_tensors",
    "kmeans_share",
    "litert_tensors",
    "multiply_by_quantized_multiplier",
    "network_storage_bytes",
    "pack_signs",
    "quantize",
    "quantize_multiplier",
    "qrange",
    "round_trip_error",
    "rounding_divide_by_pot",
    "saturating_rounding_doubling_high_mul",
    "shared_size_bytes",
    "shared_weights",
    "squeezenet_densities",
    "straight_through_callback",
    "symmetric_fake_quant",
]

#: Iterations of Lloyd's algorithm in :func:`kmeans_share` (it stops early once stable).
KMEANS_ITERATIONS = 30


def _bits(value, name: str = "bits", maximum: int = 16) -> int:
    return integer(value, name, 1, maximum=maximum)


def qrange(bits: int = 8, signed: bool = True) -> tuple[int, int]:
    """The integer range ``(qmin, qmax)`` of a ``bits``-bit integer.

    Formula:
        signed: ``(-2**(bits-1), 2**(bits-1) - 1)``; unsigned: ``(0, 2**bits - 1)``.

    Example:
        >>> qrange(8), qrange(8, signed=False)
        ((-128, 127), (0, 255))
    """
    bits = _bits(bits)
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def affine_params(
    x_min: float, x_max: float, bits: int = 8, signed: bool = True
) -> tuple[float, int]:
    """Scale and zero point of asymmetric affine quantization for the range ``[x_min, x_max]``.

    As TFLite does, the range is first stretched to include 0 (``x_min <= 0 <= x_max``),
    so that real 0 maps exactly to the integer ``zero_point``.

    Formula:
        ``scale = (x_max - x_min) / (qmax - qmin)``,
        ``zero_point = clip(round(qmin - x_min / scale), qmin, qmax)``.

    Example:
        >>> affine_params(-1.0, 1.0)  # 255 steps over a width of 2; -128 + 127.5 rounds to -1
        (0.00784313725490196, -1)
        >>> affine_params(0.0, 6.0, signed=False)  # ReLU6 in uint8
        (0.023529411764705882, 0)

    Args:
        x_min: smallest real value to represent.
        x_max: largest real value to represent.
        bits: integer width, 1 to 16.
        signed: signed (int8: -128..127) or unsigned (uint8: 0..255) integers.

    Returns:
        ``(scale, zero_point)``; a range of width 0 (both ends 0) gives scale 1.0.

    Raises:
        ValueError: ``x_min > x_max``, a non-finite bound or ``bits`` out of range.
        TypeError: a bound or ``bits`` is not a number.
    """
    x_min = real(x_min, "x_min")
    x_max = real(x_max, "x_max")
    if x_min > x_max:
        raise ValueError(f"x_min must be <= x_max, got x_min={x_min!r} > x_max={x_max!r}")
    qmin, qmax = qrange(bits, signed)
    x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    scale = (x_max - x_min) / (qmax - qmin)
    if scale == 0.0:
        return 1.0, int(qmin if not signed else 0)
    zero_point = int(np.clip(_round_half_away(qmin - x_min / scale), qmin, qmax))
    return float(scale), zero_point


def _round_half_away(v):
    """Round half away from zero (TFLite's ``std::round``), not NumPy's half-to-even."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize(x, scale: float, zero_point: int, bits: int = 8, signed: bool = True) -> np.ndarray:
    """Real values to ``bits``-bit integers: round to the nearest level, clip to the range.

    Formula:
        ``q = clip(round(x / scale) + zero_point, qmin, qmax)``.

    Args:
        x: real values (any shape).
        scale: positive step between levels (from :func:`affine_params`).
        zero_point: integer that represents real 0.
        bits: integer width, 1 to 16.
        signed: signed or unsigned integers.

    Returns:
        ``int32`` array of the shape of ``x``.

    Raises:
        ValueError: a non-positive ``scale``, non-finite ``x`` or ``zero_point`` out of range.
    """
    x = real_array(x, "x")
    scale = real(scale, "scale")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    qmin, qmax = qrange(bits, signed)
    if isinstance(zero_point, bool) or not isinstance(zero_point, numbers.Integral):
        raise TypeError(f"zero_point must be an integer, got {zero_point!r}")
    if not qmin <= zero_point <= qmax:
        raise ValueError(f"zero_point must be in [{qmin}, {qmax}], got {zero_point!r}")
    q = _round_half_away(x / scale) + int(zero_point)
    return np.clip(q, qmin, qmax).astype("int32")


def dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """Integers back to real values.

    Formula:
        ``real = scale * (q - zero_point)``.

    Returns:
        ``float64`` array of the shape of ``q``.
    """
    scale = real(scale, "scale")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return scale * (np.asarray(q, dtype="float64") - int(zero_point))


def round_trip_error(x, bits: int = 8) -> float:
    """Largest error of quantizing ``x`` with its own range and back (signed, ``bits`` bits).

    Formula:
        ``max |dequantize(quantize(x)) - x| <= scale / 2`` with
        ``scale = (max(x, 0) - min(x, 0)) / (2**bits - 1)``.

    Example:
        >>> round_trip_error([0.0, 0.5, 1.0], bits=2) <= (1.0 / 3) / 2
        True

    Raises:
        ValueError: ``x`` empty or non-finite, ``bits`` out of range.
    """
    x = real_array(x, "x")
    scale, zero_point = affine_params(float(x.min()), float(x.max()), bits=bits)
    back = dequantize(quantize(x, scale, zero_point, bits=bits), scale, zero_point)
    return float(np.max(np.abs(back - x)))


def kmeans_share(
    weights, bits: int, iterations: int = KMEANS_ITERATIONS, clusters: int | None = None
):
    """Cluster weights into ``2**bits`` shared values with 1-D k-means (Deep Compression).

    Centroids start linearly spaced between ``min(W)`` and ``max(W)`` (Deep Compression's
    "linear initialization", which keeps the rare large weights), then Lloyd's algorithm
    runs for at most ``iterations`` steps. Deterministic: no random init, no sklearn.

    Formula:
        ``index[i] = argmin_k |w_i - c_k|``; ``c_k = mean{w_i : index[i] = k}``
        (an empty cluster keeps its centroid).

    Args:
        weights: array of weights (any shape).
        bits: index width, 1 to 16; ``2**bits`` clusters.
        iterations: maximum Lloyd iterations (>= 1).
        clusters: how many centroids, 1 to ``2**bits`` (default ``2**bits``); fewer leave
            index values free, e.g. one for the stored zero of a sparse layer
            (:func:`deep_compress`).

    Returns:
        ``(codebook, indices)``: ``float32`` centroids of shape ``(clusters,)`` in
        increasing order, and integer indices (``uint8`` for ``bits <= 8``, else
        ``uint16``) of the shape of ``weights``, each ``< clusters``.

    Raises:
        TypeError: ``clusters`` is not an integer.
        ValueError: ``bits`` out of range, ``weights`` empty or non-finite, bad ``iterations``
            or ``clusters``.
    """
    w = real_array(weights, "weights")
    bits = _bits(bits)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    flat = w.ravel()
    k = 2**bits if clusters is None else integer(clusters, "clusters", 1, maximum=2**bits)
    # In 1-D each cluster is a run of the sorted values, cut where one centroid gets nearer
    # than the next: an assignment is k - 1 cut points, found by binary search.
    values = np.sort(flat)
    codebook = np.linspace(values[0], values[-1], k)
    cuts = _cuts(values, codebook)
    for _ in range(iterations):
        starts = np.concatenate([[0], cuts])
        counts = np.diff(np.concatenate([starts, [values.size]]))
        sums = np.zeros(k)
        sums[counts > 0] = np.add.reduceat(values, starts[counts > 0])
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), codebook)
        updated.sort()  # 1-D means stay ordered; sorting guards empty clusters
        new_cuts = _cuts(values, updated)
        codebook = updated
        if np.array_equal(new_cuts, cuts):
            break
        cuts = new_cuts
    dtype = "uint8" if bits <= 8 else "uint16"
    indices = _nearest(flat, codebook)
    return codebook.astype("float32"), indices.astype(dtype).reshape(w.shape)


def _cuts(values: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """For sorted ``values``: how many go to centroids ``0..j`` for each ``j < k - 1``
    (a value on a midpoint goes to the lower centroid, as in :func:`_nearest`)."""
    midpoints = (codebook[1:] + codebook[:-1]) / 2
    return np.searchsorted(values, midpoints, side="right")


def _nearest(flat: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid of a sorted codebook (ties go to the lower one)."""
    midpoints = (codebook[1:] + codebook[:-1]) / 2
    return np.searchsorted(midpoints, flat, side="left").astype("int64")


def shared_weights(codebook, indices) -> np.ndarray:
    """Reconstruct weights from a codebook and indices: ``W[i] = codebook[indices[i]]``."""
    codebook = np.asarray(codebook)
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= len(codebook)):
        raise ValueError(f"indices must be in [0, {len(codebook)}), the codebook's length")
    return codebook[indices]


def shared_size_bytes(n_weights: int, bits: int, codebook_bits: int = 32) -> int:
    """Bytes to store ``n_weights`` shared weights: packed indices plus the codebook.

    Formula:
        ``ceil(n_weights * bits / 8) + ceil(2**bits * codebook_bits / 8)``
        (Deep Compression's accounting, before Huffman coding; the float32 layer takes
        ``4 * n_weights``).

    Example:
        1,000,000 weights at 4 bits: ``500,000`` bytes of indices + ``16 * 4 = 64`` bytes of
        codebook = 500,064 bytes, 8.0x smaller than the 4,000,000 bytes of float32.

        >>> shared_size_bytes(1_000_000, 4)
        500064
        >>> shared_size_bytes(1_000_000, 8)  # 256 float32 centroids = 1,024 bytes
        1001024

    Raises:
        ValueError: a negative ``n_weights``; ``bits`` or ``codebook_bits`` out of range.
    """
    if isinstance(n_weights, bool) or not isinstance(n_weights, numbers.Integral):
        raise TypeError(f"n_weights must be an integer, got {n_weights!r}")
    if n_weights < 0:
        raise ValueError(f"n_weights must be >= 0, got {n_weights!r}")
    bits = _bits(bits)
    codebook_bits = _bits(codebook_bits, "codebook_bits", maximum=64)
    return math.ceil(n_weights * bits / 8) + math.ceil(2**bits * codebook_bits / 8)


def binarize(weights, axis: int | None = -1):
    """Binary weights as Binary-Weight-Networks (BWN) store them: ``W ~ alpha * sign(W)``.

    Rastegari et al. (ECCV 2016) introduce BWN (binary weights, real inputs) and
    XNOR-Net (binary weights and binary inputs, see :func:`binary_dot`).

    Formula:
        ``sign(w) = +1 if w >= 0 else -1`` (zeros go to +1);
        ``alpha_c = mean |W[..., c]|`` over every axis but the output-channel ``axis``
        (the L2-optimal scale for fixed signs).

    Args:
        weights: a kernel; for Conv2D ``(kh, kw, in, out)`` and Dense ``(in, out)`` the
            output channels are the last axis; for DepthwiseConv2D ``(kh, kw, in, 1)``
            use ``axis=2``.
        axis: output-channel axis, or ``None`` for one ``alpha`` for the whole tensor.

    Returns:
        ``(signs, alpha)``: ``int8`` signs (+1 or -1) of the shape of ``weights`` and
        ``float32`` ``alpha`` of shape ``(weights.shape[axis],)`` (a 0-d array for ``None``).

    Raises:
        ValueError: empty or non-finite ``weights``; ``axis`` out of range.
    """
    w = real_array(weights, "weights")
    signs = np.where(w >= 0, 1, -1).astype("int8")
    if axis is None:
        return signs, np.asarray(np.mean(np.abs(w)), dtype="float32")
    axis = axis_index(axis, "axis", w.ndim)
    others = tuple(a for a in range(w.ndim) if a != axis)
    return signs, np.mean(np.abs(w), axis=others).astype("float32")


def binarized_weights(signs, alpha, axis: int | None = -1) -> np.ndarray:
    """Reconstruct binary weights: ``signs * alpha`` with ``alpha`` along ``axis``.

    Formula:
        ``W_hat[..., c, ...] = alpha_c * sign(W[..., c, ...])``.
    """
    signs = np.asarray(signs, dtype="float32")
    alpha = np.asarray(alpha, dtype="float32")
    if axis is None:
        return signs * alpha
    axis = axis_index(axis, "axis", signs.ndim)
    if alpha.shape != (signs.shape[axis],):
        raise ValueError(
            f"alpha must have shape ({signs.shape[axis]},) for axis {axis}, got {alpha.shape}"
        )
    shape = [1] * signs.ndim
    shape[axis] = -1
    return signs * alpha.reshape(shape)


def pack_signs(x) -> np.ndarray:
    """The signs of ``x`` as packed bits, 8 per byte: bit 1 for ``x >= 0`` (+1), 0 for -1.

    The zero-padding of the last byte is 0 in every packed vector.

    Example:
        >>> [format(byte, "08b") for byte in pack_signs([0.5, -2, 3, -0.1, 1, 1, -1, 2, -4])]
        ['10101101', '00000000']

    Returns:
        ``uint8`` array of ``ceil(x.size / 8)`` bytes (``x`` flattened in C order).

    Raises:
        TypeError: ``x`` is not an array of real numbers.
        ValueError: ``x`` is empty or non-finite.
    """
    x = real_array(x, "x").ravel()
    return np.packbits(x >= 0)


def binary_dot(a_packed, b_packed, n: int) -> int:
    """Dot product of two ``±1`` vectors of length ``n`` from their packed sign bits.

    With bit 1 for +1 and bit 0 for -1, two entries agree (product +1) when their bits
    are equal and disagree (product -1) when they differ, i.e. where ``a XOR b`` is 1.
    XNOR-Net (Rastegari et al. 2016) computes its binary convolutions this way, 64
    entries per machine word; the padding bits of the last byte are 0 in both vectors,
    so their XOR is 0 and they add nothing.

    Formula:
        ``sum_i a_i b_i = agreements - disagreements = n - 2 * popcount(a XOR b)``
        ``= 2 * popcount(a XNOR b) - n`` (the XNOR counted over the ``n`` real bits).

    Example:
        >>> a, b = pack_signs([1, -1, 1, 1, -1]), pack_signs([1, 1, -1, 1, -1])
        >>> binary_dot(a, b, 5)  # 1 - 1 - 1 + 1 + 1
        1

    Args:
        a_packed: ``uint8`` packed sign bits (:func:`pack_signs`, ``np.packbits``).
        b_packed: the same for the other vector, as many bytes.
        n: the vectors' length, ``8 * (len(a_packed) - 1) < n <= 8 * len(a_packed)``.

    Returns:
        The dot product, an ``int`` from ``-n`` to ``n``.

    Raises:
        TypeError: the packed arrays are not ``uint8``; ``n`` is not an integer.
        ValueError: they differ in length, or ``n`` does not fit their length.
    """
    a, b = np.asarray(a_packed), np.asarray(b_packed)
    for name, value in (("a_packed", a), ("b_packed", b)):
        if value.dtype != np.uint8:
            raise TypeError(f"{name} must be a uint8 array of packed bits, got {value.dtype}")
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"a_packed and b_packed must be 1-D and as long, got {a.shape} and {b.shape}"
        )
    n = integer(n, "n")
    if not 8 * (a.size - 1) < n <= 8 * a.size:
        raise ValueError(f"n must be from {8 * a.size - 7} to {8 * a.size} for {a.size} bytes")
    return n - 2 * int(np.bitwise_count(a ^ b).sum())


def _transformed_copy(model, transform):
    """A copy of ``model`` whose Conv2D, DepthwiseConv2D and Dense kernels are
    ``transform(layer, kernel)`` (SeparableConv2D layers are copied unchanged)."""
    import keras

    from mobilecourse.graph import clone_with_weights, layers_of

    clone = clone_with_weights(model)
    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
    for layer in layers_of(clone):
        if isinstance(layer, kinds):  # SeparableConv2D is none of these in Keras 3
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            new = transform(layer, kernel)
            layer.kernel.assign(new.astype(kernel.dtype))
    return clone


def apply_weight_sharing(model, bits: int):
    """A copy of ``model`` whose conv and dense kernels use ``2**bits`` shared values per layer.

    Each Conv2D, DepthwiseConv2D and Dense kernel is replaced by
    ``shared_weights(*kmeans_share(kernel, bits))``; biases and BatchNorm are copied
    unchanged. The copy is still float32 in memory: it shows the accuracy of sharing,
    while :func:`shared_size_bytes` gives the size it would take.

    Cost:
        One k-means per layer, ``O(iterations * n_weights * log 2**bits)``.

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: ``bits`` out of range.
    """
    _bits(bits)
    return _transformed_copy(model, lambda _layer, k: shared_weights(*kmeans_share(k, bits)))


def apply_binarization(model):
    """A copy of ``model`` whose conv and dense kernels are ``alpha * sign(W)`` (BWN).

    ``alpha`` is per output channel: the last kernel axis for Conv2D and Dense, the
    input-channel axis (2) for DepthwiseConv2D. Biases and BatchNorm are copied unchanged.

    Cost:
        1 bit per kernel weight plus one float per output channel.

    Raises:
        TypeError: ``model`` is not a Keras model.
    """
    import keras

    def transform(layer, kernel):
        axis = 2 if isinstance(layer, keras.layers.DepthwiseConv2D) else -1
        return binarized_weights(*binarize(kernel, axis=axis), axis=axis)

    return _transformed_copy(model, transform)


def symmetric_fake_quant(kernel, bits: int, axis: int = -1) -> np.ndarray:
    """A kernel quantized to ``bits``-bit symmetric integers per channel, returned in float.

    "Fake" quantization: the values are those an integer kernel would hold (times its
    scale), kept as floats so that a float network can compute with them.

    Formula:
        per channel ``c`` (every index along ``axis``), ``top = 2**(bits-1) - 1``,
        ``s_c = max |W_c| / top`` and ``W_hat = s_c * clip(round(W / s_c), -top, top)``,
        rounding half away from zero (a channel of zeros stays zero).

    Example:
        >>> symmetric_fake_quant([[0.7, -0.1], [0.35, 0.2]], bits=2).tolist()
        [[0.7, -0.2], [0.7, 0.2]]

    Raises:
        ValueError: ``bits`` below 2 or above 16, a bad ``axis``, non-finite values.
    """
    w = real_array(kernel, "kernel")
    bits = integer(bits, "bits", 2, maximum=16)
    axis = axis_index(axis, "axis", w.ndim)
    top = 2 ** (bits - 1) - 1
    others = tuple(i for i in range(w.ndim) if i != axis)
    scale = np.abs(w).max(axis=others, keepdims=True) / top
    scale = np.where(scale == 0, 1.0, scale)
    return scale * np.clip(_round_half_away(w / scale), -top, top)


def _kernel_axis(layer) -> int:
    import keras

    return 2 if isinstance(layer, keras.layers.DepthwiseConv2D) else -1


def apply_fake_quantization(model, bits: int):
    """A copy of ``model`` whose conv and dense kernels are :func:`symmetric_fake_quant`.

    Post-training quantization of the weights to ``bits`` bits, one scale per output
    channel (the input-channel axis of a DepthwiseConv2D kernel); biases and BatchNorm are
    copied unchanged.

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: ``bits`` out of range.
    """
    integer(bits, "bits", 2, maximum=16)
    return _transformed_copy(
        model, lambda layer, k: symmetric_fake_quant(k, bits, axis=_kernel_axis(layer))
    )


def straight_through_callback(model, bits: int):
    """A Keras callback that trains ``model`` with fake-quantized kernels (straight-through).

    Quantization-aware training with the straight-through estimator: before each batch
    every conv and dense kernel ``W`` (kept in float) is replaced by its quantized
    ``W_hat = symmetric_fake_quant(W, bits)``, so the forward pass and the gradients are
    those of the quantized network; after the batch the optimizer's step
    ``W_hat' - W_hat`` is added to the float ``W``, as if ``d W_hat / d W = 1`` (rounding
    has zero gradient almost everywhere, so the true derivative would stop all learning).
    After training, :func:`apply_fake_quantization` gives the quantized network.

    Formula:
        ``W <- W + (optimizer_step(W_hat) - W_hat)`` with ``W_hat = Q(W)``.

    Args:
        model: the Keras model being trained (its kernels are changed in place).
        bits: weight bits, 2 to 16.

    Returns:
        A ``keras.callbacks.Callback`` to pass to ``fit``.

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: ``bits`` out of range.
    """
    import keras

    from mobilecourse.graph import layers_of

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    bits = integer(bits, "bits", 2, maximum=16)
    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
    layers = [layer for layer in layers_of(model) if isinstance(layer, kinds)]

    class StraightThrough(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.float_kernels = [keras.ops.convert_to_numpy(la.kernel) for la in layers]
            self.quantized = []
            for layer, w in zip(layers, self.float_kernels, strict=True):
                w_hat = symmetric_fake_quant(w, bits, axis=_kernel_axis(layer)).astype(w.dtype)
                layer.kernel.assign(w_hat)
                self.quantized.append(w_hat)

        def on_train_batch_end(self, batch, logs=None):
            for layer, w, w_hat in zip(layers, self.float_kernels, self.quantized, strict=True):
                step = keras.ops.convert_to_numpy(layer.kernel) - w_hat
                layer.kernel.assign(w + step)

    return StraightThrough()


# ---------------------------------------------------------------- Deep Compression storage

#: Bytes of one codebook entry (a float32 centroid).
CODEBOOK_ENTRY_BYTES = 4


@dataclass(frozen=True)
class CompressedKernel:
    """A kernel as Deep Compression stores it: shared-weight codes and relative indices.

    Built by :func:`deep_compress`. The stored entries are in C order of the kernel;
    each has a ``bits``-wide code into the codebook and, for a sparse kernel, an
    ``index_bits``-wide relative index (zeros skipped since the previous entry).

    Attributes:
        shape: the kernel's shape.
        bits: bits per code; the codebook has ``2**bits`` entries.
        index_bits: bits per relative index, ``None`` for a kernel kept whole (dense:
            the positions are implicit, no index is stored).
        codebook: ``float32`` shared values; in a sparse kernel entry 0 is the stored
            zero of the filler entries and the kept weights use the other ``2**bits - 1``.
        codes: the code of every stored entry (fillers included), ``int64``.
        runs: the relative index of every stored entry (``None`` when dense).
        filler: True for the filler entries (``None`` when dense).
    """

    shape: tuple[int, ...]
    bits: int
    index_bits: int | None
    codebook: np.ndarray
    codes: np.ndarray
    runs: np.ndarray | None
    filler: np.ndarray | None

    @property
    def dense(self) -> bool:
        """Whether every weight is kept (no index stored)."""
        return self.index_bits is None

    @property
    def entries(self) -> int:
        """Stored entries: the kept weights plus the fillers."""
        return int(self.codes.size)

    @property
    def fillers(self) -> int:
        """Filler entries (stored zeros that bridge runs too long for the index)."""
        return 0 if self.dense else int(self.filler.sum())

    @property
    def kept(self) -> int:
        """Weights kept by pruning (the stored entries that are not fillers)."""
        return self.entries - self.fillers

    def weights(self) -> np.ndarray:
        """The decoded kernel: every kept weight replaced by its shared value, zeros elsewhere."""
        values = self.codebook[self.codes]
        if self.dense:
            return values.reshape(self.shape)
        out = np.zeros(int(np.prod(self.shape)), dtype=self.codebook.dtype)
        positions = coding.decode_relative_indices(self.runs)
        out[positions] = values  # fillers write their stored 0.0
        return out.reshape(self.shape)

    def storage_bytes(self, huffman: bool = False) -> dict[str, int]:
        """Bytes of each part of the stored kernel, each part rounded up to whole bytes.

        Cost:
            codes: ``entries * bits`` bits, or the Huffman-coded stream;
            indices: ``entries * index_bits`` bits, or Huffman-coded (0 when dense);
            codebook: ``2**bits`` float32 centroids; tables: with ``huffman=True`` the
            canonical Huffman code tables, one byte (a codeword length) per symbol of
            each coded stream (Deep Compression, Han et al. 2016, Sections 2-4).

        Args:
            huffman: Huffman-code the codes and the relative indices.

        Returns:
            ``{"codes": ..., "indices": ..., "codebook": ..., "tables": ...}`` in bytes.
        """
        code_counts = np.bincount(self.codes, minlength=2**self.bits)
        if huffman:
            code_bits = coding.huffman_bits(code_counts)
            table_symbols = 2**self.bits
        else:
            code_bits = self.entries * self.bits
            table_symbols = 0
        index_bits = 0
        if not self.dense:
            if huffman:
                run_counts = np.bincount(self.runs, minlength=2**self.index_bits)
                index_bits = coding.huffman_bits(run_counts)
                table_symbols += 2**self.index_bits
            else:
                index_bits = self.entries * self.index_bits
        return {
            "codes": math.ceil(code_bits / 8),
            "indices": math.ceil(index_bits / 8),
            "codebook": CODEBOOK_ENTRY_BYTES * 2**self.bits,
            "tables": table_symbols,
        }


def deep_compress(kernel, keep: int, bits: int, index_bits: int = 4) -> CompressedKernel:
    """Prune a kernel by magnitude, share the kept weights with k-means, store them sparse.

    Deep Compression's three stages on one kernel, without the retraining between them
    (Han et al., ICLR 2016): keep the ``keep`` weights of largest ``|w|`` (ties go to
    the lower position); cluster them with :func:`kmeans_share`; store a ``bits``-wide
    code per kept weight and, unless every weight is kept, a relative index per entry
    (:func:`mobilecourse.coding.relative_indices`), with filler entries of code 0 (the
    value 0.0) where a run of zeros is too long for ``index_bits``. Huffman coding is
    the accounting option of :meth:`CompressedKernel.storage_bytes`.

    Cost:
        ``storage_bytes()``: ``ceil(entries * bits / 8) + ceil(entries * index_bits / 8)
        + 4 * 2**bits`` bytes for a sparse kernel (``entries`` = ``keep`` + fillers);
        ``ceil(n * bits / 8) + 4 * 2**bits`` for a dense one.

    Args:
        kernel: the weights (any shape).
        keep: how many weights to keep, 1 to ``kernel.size``.
        bits: bits per code, 1 to 16 (``2**bits`` codebook entries, one of them the
            stored zero when the kernel is sparse).
        index_bits: bits per relative index, 1 to 16 (unused when ``keep`` is
            ``kernel.size``).

    Returns:
        A :class:`CompressedKernel`; its ``weights()`` are the pruned, shared kernel.

    Raises:
        TypeError: a count is not an integer.
        ValueError: ``kernel`` empty or non-finite; ``keep``, ``bits`` or ``index_bits``
            out of range.
    """
    w = real_array(kernel, "kernel")
    flat = w.ravel()
    keep = integer(keep, "keep", 1, maximum=flat.size)
    bits = _bits(bits)
    index_bits = integer(index_bits, "index_bits", 1, maximum=16)
    if keep == flat.size:
        codebook, indices = kmeans_share(flat, bits)
        return CompressedKernel(
            w.shape, bits, None, codebook, indices.astype("int64").ravel(), None, None
        )
    if bits == 1:
        raise ValueError("bits must be >= 2 for a sparse kernel (one code is the stored zero)")
    positions = np.sort(np.argsort(-np.abs(flat), kind="stable")[:keep])
    shared, indices = kmeans_share(flat[positions], bits, clusters=2**bits - 1)
    runs, filler = coding.relative_indices(positions, index_bits)
    codes = np.zeros(runs.size, dtype="int64")
    codes[~filler] = indices.astype("int64") + 1
    codebook = np.concatenate([np.zeros(1, dtype="float32"), shared])
    return CompressedKernel(w.shape, bits, index_bits, codebook, codes, runs, filler)


def network_storage_bytes(compressed, huffman: bool = False, biases: int = 0) -> dict[str, int]:
    """Bytes of a whole network stored with Deep Compression, part by part.

    Adds up :meth:`CompressedKernel.storage_bytes` over the network's kernels (each kernel's
    parts rounded up to whole bytes) and stores the biases whole, in float32. Nothing else
    is counted: no file header, no layer shapes.

    Cost:
        codes + indices + codebooks + tables as in :meth:`CompressedKernel.storage_bytes`,
        summed over the kernels, plus ``4 * biases`` bytes.

    Args:
        compressed: the network's :class:`CompressedKernel` objects (a list, or a dict's
            ``values()``), e.g. from :func:`deep_compress`.
        huffman: Huffman-code the codes and the relative indices.
        biases: how many bias values the network has (kept whole, float32).

    Returns:
        ``{"codes": ..., "indices": ..., "codebook": ..., "tables": ..., "biases": ...}``
        in bytes.

    Raises:
        TypeError: an item of ``compressed`` is not a :class:`CompressedKernel`, ``huffman``
            is not a bool, or ``biases`` not an integer.
        ValueError: ``compressed`` is empty or ``biases`` negative.
    """
    kernels = list(compressed)
    if not kernels:
        raise ValueError("compressed must hold at least one CompressedKernel")
    for kernel in kernels:
        if not isinstance(kernel, CompressedKernel):
            raise TypeError(
                f"compressed must hold CompressedKernel objects, got {type(kernel).__name__}"
            )
    if not isinstance(huffman, bool):
        raise TypeError(f"huffman must be True or False, got {huffman!r}")
    biases = integer(biases, "biases", 0)
    total = {"codes": 0, "indices": 0, "codebook": 0, "tables": 0}
    for kernel in kernels:
        for part, size in kernel.storage_bytes(huffman).items():
            total[part] += size
    return {**total, "biases": costs.model_size_bytes(biases, 32) if biases else 0}


def squeezenet_densities() -> dict[str, int]:
    """The percent of each kernel's weights that Deep Compression keeps in SqueezeNet v1.0.

    Iandola et al. 2016, Table 1, last columns (``paper_table("squeezenet_table1")``; the
    paper heads them "sparsity", but they hold the share kept: conv1's 100 % keeps it
    whole). Keyed by the kernel's layer in :func:`mobilecourse.models.squeezenet`, in the
    table's order: ``conv1``, ``fire2_squeeze1x1``, ``fire2_expand1x1``,
    ``fire2_expand3x3``, ..., ``conv10``. Keeping ``ceil(d * n)`` of a kernel's ``n``
    weights reproduces every printed count of kept parameters but fire8's (lesson 07).

    Returns:
        ``{layer name: percent kept}``, 26 kernels.
    """
    from mobilecourse.data import paper_table

    density = {}
    for name, row in paper_table("squeezenet_table1").set_index("layer").iterrows():
        if name.startswith("fire"):
            for part, column in (
                ("squeeze1x1", "s1x1"),
                ("expand1x1", "e1x1"),
                ("expand3x3", "e3x3"),
            ):
                density[f"{name}_{part}"] = int(row[f"{column}_density_percent"])
        else:
            density[name] = int(row["conv_density_percent"])
    return density
