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
* **Binary weights** (XNOR-Net, Rastegari et al. 2016): ``W ~ alpha * sign(W)`` with
  ``alpha = mean |W|`` per output channel (1 bit per weight plus one float per channel).

Sizes use the course convention: model size at ``b`` bits = ``params * b / 8`` bytes.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from mobilecourse._validate import axis as axis_index
from mobilecourse._validate import integer, real, real_array

__all__ = [
    "affine_params",
    "apply_binarization",
    "apply_weight_sharing",
    "binarize",
    "binarized_weights",
    "dequantize",
    "kmeans_share",
    "quantize",
    "qrange",
    "round_trip_error",
    "shared_size_bytes",
    "shared_weights",
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


def kmeans_share(weights, bits: int, iterations: int = KMEANS_ITERATIONS):
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

    Returns:
        ``(codebook, indices)``: ``float32`` centroids of shape ``(2**bits,)`` in increasing
        order, and integer indices (``uint8`` for ``bits <= 8``, else ``uint16``) of the
        shape of ``weights``, each ``< 2**bits``.

    Raises:
        ValueError: ``bits`` out of range, ``weights`` empty or non-finite, bad ``iterations``.
    """
    w = real_array(weights, "weights")
    bits = _bits(bits)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    flat = w.ravel()
    k = 2**bits
    codebook = np.linspace(flat.min(), flat.max(), k)
    indices = _nearest(flat, codebook)
    for _ in range(iterations):
        counts = np.bincount(indices, minlength=k)
        sums = np.bincount(indices, weights=flat, minlength=k)
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), codebook)
        updated.sort()  # 1-D means stay ordered; sorting guards empty clusters
        new_indices = _nearest(flat, updated)
        codebook = updated
        if np.array_equal(new_indices, indices):
            break
        indices = new_indices
    dtype = "uint8" if bits <= 8 else "uint16"
    return codebook.astype("float32"), indices.astype(dtype).reshape(w.shape)


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
    """Binary weights, XNOR-Net style: ``W ~ alpha * sign(W)``.

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
    """A copy of ``model`` whose conv and dense kernels are ``alpha * sign(W)`` (XNOR-Net).

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
