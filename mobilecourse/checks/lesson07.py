"""Checkers for lesson 07: quantization (affine int8, k-means weight sharing)."""

from __future__ import annotations

import math
from collections.abc import Callable

from mobilecourse import quantize
from mobilecourse.checks._core import Mistake, check_function

__all__ = [
    "check_affine_scale_zero_point",
    "check_kmeans_storage_bytes",
    "check_quantize_value",
]


def _half_away(v: float) -> int:
    """Round half away from zero (TFLite's rounding; the cases avoid exact ties anyway)."""
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


# ---------------------------------------------------------------- scale and zero point


def _affine(x_min: float, x_max: float, bits: int) -> tuple[float, int]:
    return quantize.affine_params(x_min, x_max, bits)


def _affine_wrong(x_min, x_max, bits, *, levels=None, stretch=True, rounded=True, clip=True):
    """Signed affine parameters with switches that reproduce classic mistakes."""
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if stretch:
        x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    steps = (qmax - qmin) if levels is None else levels
    scale = (x_max - x_min) / steps
    zero_point = qmin - x_min / scale
    if rounded:
        zero_point = _half_away(zero_point)
    if clip:
        zero_point = min(max(zero_point, qmin), qmax)
    return scale, zero_point


def check_affine_scale_zero_point(fn: Callable[[float, float, int], tuple[float, int]]) -> None:
    """Lesson 07: ``fn(x_min, x_max, bits)`` is signed affine ``(scale, zero_point)``."""
    check_function(
        "scale and zero point of affine quantization",
        fn,
        cases=[
            (-1.0, 3.0, 8),
            (-0.3, 0.9, 8),
            (0.5, 2.0, 8),
            (-4.0, -1.0, 8),
            (-2.5, 1.2, 4),
            (0.0, 6.0, 8),
        ],
        reference=_affine,
        mistakes=[
            Mistake(
                "A b-bit integer has 2**b levels but only 2**b - 1 steps between the lowest "
                "and the highest: divide the range by qmax - qmin = 2**b - 1.",
                lambda a, b, n: _affine_wrong(a, b, n, levels=2**n),
            ),
            Mistake(
                "The range must first be stretched to include 0 (x_min <= 0 <= x_max), so "
                "that real zero is exactly representable (padding, ReLU outputs).",
                lambda a, b, n: _affine_wrong(a, b, n, stretch=False),
            ),
            Mistake(
                "The range must first be stretched to include 0 (x_min <= 0 <= x_max), so "
                "that real zero is exactly representable (padding, ReLU outputs).",
                lambda a, b, n: _affine_wrong(a, b, n, stretch=False, clip=False),
            ),
            Mistake(
                "The zero point is an integer (the code that stands for real 0): round "
                "qmin - x_min / scale to the nearest integer.",
                lambda a, b, n: _affine_wrong(a, b, n, rounded=False),
            ),
            Mistake(
                "The zero point is an integer (the code that stands for real 0): round "
                "qmin - x_min / scale to the nearest integer, do not truncate it.",
                lambda a, b, n: (
                    _affine(a, b, n)[0],
                    int(_affine_wrong(a, b, n, rounded=False)[1]),
                ),
            ),
        ],
    )


# ---------------------------------------------------------------- quantize one value


def _quantize_value(x: float, scale: float, zero_point: int, bits: int) -> int:
    return int(quantize.quantize(x, scale, zero_point, bits))


def _qlimits(bits: int) -> tuple[int, int]:
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _clip(q: int, bits: int) -> int:
    qmin, qmax = _qlimits(bits)
    return min(max(q, qmin), qmax)


def check_quantize_value(fn: Callable[[float, float, int, int], int]) -> None:
    """Lesson 07: ``fn(x, scale, zero_point, bits)`` is the signed integer code of ``x``."""
    check_function(
        "quantize one value",
        fn,
        cases=[
            (0.3, 0.1, 0, 8),
            (0.77, 0.03, -10, 8),
            (-0.77, 0.03, -10, 8),
            (0.0, 0.05, 7, 8),
            (100.0, 0.1, 0, 8),
            (-100.0, 0.1, 3, 8),
            (0.49, 0.1, 2, 4),
            (2.0, 0.1, 2, 4),
        ],
        reference=_quantize_value,
        mistakes=[
            Mistake(
                "Values outside the range must be clipped to [qmin, qmax] = "
                "[-2**(b-1), 2**(b-1) - 1]: an int8 cannot hold 1000.",
                lambda x, s, z, b: _half_away(x / s) + z,
            ),
            Mistake(
                "Round to the *nearest* level, do not truncate or round down: int() and floor() "
                "cut 2.99 to 2, and the error can then reach a whole step instead of half a step.",
                lambda x, s, z, b: _clip(int(x / s) + z, b),
            ),
            Mistake(
                "Round to the *nearest* level, do not truncate or round down: int() and floor() "
                "cut 2.99 to 2, and the error can then reach a whole step instead of half a step.",
                lambda x, s, z, b: int(x / s) + z,
            ),
            Mistake(
                "Round to the *nearest* level, do not truncate or round down: int() and floor() "
                "cut 2.99 to 2, and the error can then reach a whole step instead of half a step.",
                lambda x, s, z, b: _clip(math.floor(x / s) + z, b),
            ),
            Mistake(
                "The zero point must be added after dividing by the scale: "
                "q = round(x / scale) + zero_point.",
                lambda x, s, z, b: _clip(_half_away(x / s), b),
            ),
        ],
    )


# ---------------------------------------------------------------- k-means storage


def _kmeans_bytes(n_weights: int, bits: int) -> int:
    return quantize.shared_size_bytes(n_weights, bits)


def check_kmeans_storage_bytes(fn: Callable[[int, int], int]) -> None:
    """Lesson 07: ``fn(n_weights, bits)`` is the bytes of a k-means shared layer."""
    check_function(
        "storage of k-means weight sharing",
        fn,
        cases=[
            (18_432, 2),
            (1_000_000, 4),
            (1_000_000, 8),
            (4_608, 4),
            (1_001, 3),
            (100, 8),
        ],
        reference=_kmeans_bytes,
        mistakes=[
            Mistake(
                "The codebook is stored too: 2**bits float32 centroids of 4 bytes each.",
                lambda n, b: math.ceil(n * b / 8),
            ),
            Mistake(
                "Each weight stores only a bits-wide index into the codebook, not a 32-bit "
                "integer: the indices take n_weights * bits / 8 bytes.",
                lambda n, b: 4 * n + 4 * 2**b,
            ),
            Mistake(
                "Each weight stores only a bits-wide index into the codebook, not a 32-bit "
                "integer: the indices take n_weights * bits / 8 bytes.",
                lambda n, b: 4 * n,
            ),
            Mistake(
                "The codebook holds 2**bits centroids (one per index value), not bits of them.",
                lambda n, b: math.ceil(n * b / 8) + 4 * b,
            ),
            Mistake(
                "That is bits, not bytes: divide by 8 (and round the packed indices up).",
                lambda n, b: n * b + 32 * 2**b,
            ),
            Mistake(
                "Each centroid is a float32: 4 bytes, not 1.",
                lambda n, b: math.ceil(n * b / 8) + 2**b,
            ),
        ],
    )
