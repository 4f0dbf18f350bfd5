"""Checkers for lesson 07: quantization (affine int8, an int8 dense layer in integers,
k-means weight sharing, XNOR-Net's binary dot product, Deep Compression's relative
indices)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from mobilecourse import quantize
from mobilecourse.checks._core import Mistake, check_function

__all__ = [
    "check_affine_scale_zero_point",
    "check_binary_dot",
    "check_int8_dense",
    "check_kmeans_storage_bytes",
    "check_quantize_value",
    "check_relative_indices",
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


# ---------------------------------------------------------------- XNOR-Net: binary dot product


def _bits_of(packed, n: int):
    import numpy as np

    return np.unpackbits(np.asarray(packed, dtype="uint8"))[:n].astype(int)


def _binary_dot(a_packed, b_packed, n: int) -> int:
    """The reference: NumPy's dot product of the two +-1 vectors (bit 1 -> +1, 0 -> -1)."""
    import numpy as np

    a, b = 2 * _bits_of(a_packed, n) - 1, 2 * _bits_of(b_packed, n) - 1
    return int(np.dot(a, b))


def _popcount(x) -> int:
    import numpy as np

    return int(np.unpackbits(np.asarray(x, dtype="uint8")).sum())


def _binary_dot_cases() -> list[tuple]:
    import numpy as np

    rng = np.random.default_rng(7)
    cases = []
    for n in (13, 16, 1, 64, 100, 29):
        a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
        cases.append((np.packbits(a), np.packbits(b), n))
    return cases


def check_binary_dot(fn: Callable) -> None:
    """Lesson 07: ``fn(a_packed, b_packed, n)`` is the +-1 dot product via XOR and popcount."""

    def xor_count(a, b, n):
        return _popcount(a ^ b)

    check_function(
        "dot product of two binary vectors (XNOR-Net)",
        fn,
        cases=_binary_dot_cases(),
        reference=_binary_dot,
        mistakes=[
            Mistake(
                "popcount(a XOR b) counts the positions where the signs disagree; the dot "
                "product is agreements minus disagreements.",
                xor_count,
            ),
            Mistake(
                "n - popcount(a XOR b), which is popcount(a XNOR b), counts the agreements "
                "only; the dot product is agreements minus disagreements: "
                "2 * agreements - n.",
                lambda a, b, n: n - xor_count(a, b, n),
            ),
            Mistake(
                "~(a ^ b) over whole bytes counts the zero padding of the last byte as "
                "agreements, and agreements alone are not the dot product: it is "
                "agreements minus disagreements, n - 2 * popcount(a XOR b).",
                lambda a, b, n: _popcount(~(a ^ b)),
            ),
            Mistake(
                "Bit 0 stands for -1, not 0: popcount(a AND b) is the dot product of 0/1 "
                "vectors. Two bits that are both 0 agree too (-1 times -1 = +1).",
                lambda a, b, n: _popcount(a & b),
            ),
            Mistake(
                "n is the vectors' length, not 8 * len(a_packed): the last byte is padded "
                "with zero bits, which are not entries.",
                lambda a, b, n: 8 * len(a) - 2 * xor_count(a, b, n),
            ),
            Mistake(
                "The XNOR of the padding bits (0 and 0) is 1: counted over whole bytes it "
                "adds agreements that are not entries. Count XNOR over the n real bits only, "
                "or use n - 2 * popcount(a XOR b) (the padding's XOR is 0).",
                lambda a, b, n: 2 * _popcount(~(a ^ b)) - n,
            ),
        ],
    )


# ---------------------------------------------------------------- relative indices


def _relative_indices(positions, index_bits: int) -> list[int]:
    from mobilecourse import coding

    return coding.relative_indices(positions, index_bits)[0].tolist()


def _relative_wrong(
    positions, index_bits, *, minus_one=True, first_from=-1, step=None, strict=True, fillers=True
):
    """Relative indices with switches that reproduce classic mistakes."""
    largest = 2**index_bits - 1
    step = largest + 1 if step is None else step
    out, previous = [], first_from
    for p in positions:
        run = p - previous - (1 if minus_one else 0)
        while fillers and (run > largest if strict else run >= largest):
            out.append(largest)
            run -= step
        out.append(run)
        previous = p
    return out


RELATIVE_CASES = [
    ([1, 2, 12], 2),
    ([0, 1, 2], 4),
    ([3, 7], 2),
    ([5], 2),
    ([0, 3, 4, 20], 3),
    ([40], 3),
    ([2, 18, 19, 51], 4),
]


def check_relative_indices(fn: Callable) -> None:
    """Lesson 07: ``fn(positions, index_bits)`` lists the stored relative indices (fillers too)."""
    check_function(
        "relative indices with filler entries (Deep Compression)",
        fn,
        cases=RELATIVE_CASES,
        reference=_relative_indices,
        mistakes=[
            Mistake(
                "Store how many zeros were skipped since the previous entry, not the "
                "absolute position: small numbers are what make a few bits enough.",
                lambda p, b: list(p),
            ),
            Mistake(
                "A b-bit index holds at most 2**b - 1: a longer run of zeros needs filler "
                "entries (each storing 2**b - 1) before the weight.",
                lambda p, b: _relative_wrong(p, b, fillers=False),
            ),
            Mistake(
                "Store the zeros skipped, p[i] - p[i-1] - 1, so that neighbours store 0; "
                "the difference p[i] - p[i-1] wastes one value.",
                lambda p, b: _relative_wrong(p, b, minus_one=False),
            ),
            Mistake(
                "Store the zeros skipped, p[i] - p[i-1] - 1, so that neighbours store 0; "
                "the difference p[i] - p[i-1] wastes one value.",
                lambda p, b: _relative_wrong(p, b, minus_one=False, fillers=False),
            ),
            Mistake(
                "The first entry counts the zeros before it from the start of the kernel: "
                "a weight at position p stores p (as if the previous entry were at -1).",
                lambda p, b: _relative_wrong(p, b, first_from=0),
            ),
            Mistake(
                "A filler is an entry too: it skips 2**b - 1 zeros and takes one more "
                "position itself, so each filler uses up 2**b positions of the run.",
                lambda p, b: _relative_wrong(p, b, step=2**b - 1),
            ),
            Mistake(
                "A run of exactly 2**b - 1 zeros still fits in b bits: add a filler only "
                "when the run is longer.",
                lambda p, b: _relative_wrong(p, b, strict=False),
            ),
        ],
    )


# ---------------------------------------------------------------- an int8 dense layer


def _int8_dense(x_q, w_q, bias_q, s_x, zp_x, s_w, s_y, zp_y) -> tuple[int, ...]:
    """The package's reference (tied to LiteRT's FULLY_CONNECTED by the tests)."""
    return tuple(int(v) for v in quantize.int8_dense(x_q, w_q, bias_q, s_x, zp_x, s_w, s_y, zp_y))


def _dense_wrong(
    x_q,
    w_q,
    bias_q,
    s_x,
    zp_x,
    s_w,
    s_y,
    zp_y,
    *,
    zero_point=True,
    bias="inside",
    requantize="fixed",
    saturate="clip",
    scales="channel",
    wide=True,
):
    """The layer with switches that reproduce the classic mistakes."""
    kind = np.int64 if wide else np.int8
    x = np.asarray(x_q).astype(kind)
    w = np.asarray(w_q).astype(kind)
    if zero_point:
        x = x - np.asarray(zp_x).astype(kind)
    acc = (w @ x).astype(np.int64)
    if bias == "inside":
        acc = acc + np.asarray(bias_q, dtype=np.int64)
    s_w = np.broadcast_to(np.asarray(s_w, dtype=np.float64), (w.shape[0],))
    if scales == "first":
        s_w = np.full_like(s_w, s_w[0])
    elif scales == "max":
        s_w = np.full_like(s_w, s_w.max())
    real = s_x * s_w / s_y
    if requantize == "fixed":
        pairs = [quantize.quantize_multiplier(float(m)) for m in real]
        y = quantize.multiply_by_quantized_multiplier(
            acc, [p[0] for p in pairs], [p[1] for p in pairs]
        )
    elif requantize == "even":
        y = np.round(acc * real)
    elif requantize == "floor_half":
        y = np.floor(acc * real + 0.5)
    elif requantize == "half_away":
        y = np.sign(acc * real) * np.floor(np.abs(acc * real) + 0.5)
    elif requantize == "trunc":
        y = np.trunc(acc * real)
    else:  # "floor": a plain right shift
        y = np.floor(acc * real)
    y = np.asarray(y, dtype=np.int64)
    if bias == "after":
        y = y + np.asarray(bias_q, dtype=np.int64)
    y = y + int(zp_y)
    if saturate == "clip":
        y = np.clip(y, -128, 127)
    elif saturate == "wrap":
        y = y.astype(np.int8)
    return tuple(int(v) for v in y)


def _dense_cases() -> list[tuple]:
    """Small layers, each built so that one classic mistake shows (see the comments)."""
    i8 = np.int8
    general = (  # zero point -128 (a ReLU output), per-channel scales far apart
        np.array([-128, -50, 0, 77, 127], i8),
        np.array([[12, -7, 33, -90, 5], [127, -127, 64, 0, -3], [-1, 2, -3, 4, -5]], i8),
        np.array([100, -2000, 37], np.int32),
        0.02,
        -128,
        np.array([0.004, 0.0011, 0.03]),
        0.05,
        -10,
    )
    ties = (  # M = 0.5 * 0.25 / 1 = 1/8 exactly: accumulators 20 and -20 are 2.5 and -2.5
        np.array([3, 1, -1], i8),
        np.array([[4, 2, 0], [-4, -2, 0], [4, 0, 0]], i8),
        np.array([0, 0, -4], np.int32),
        0.5,
        -1,
        np.array([0.25, 0.25, 0.25]),
        1.0,
        0,
    )
    twice = (  # M = 0.1875: 13 * M = 2.4375, but 13 * 0.75 rounds to 10 first: 10 / 4 -> 3
        np.array([13, 0], i8),
        np.array([[1, 0], [2, 1]], i8),
        np.array([0, 0], np.int32),
        0.75,
        0,
        np.array([0.25, 0.25]),
        1.0,
        5,
    )
    saturating = (  # large products: the output leaves [-128, 127] both ways
        np.array([127, 127, -128, 100], i8),
        np.array([[127, 127, -127, 120], [-127, -127, 127, -120], [1, 0, 0, 0]], i8),
        np.array([5000, -5000, 0], np.int32),
        0.05,
        3,
        np.array([0.01, 0.01, 0.2]),
        0.02,
        -5,
    )
    wrapping = (  # int8 maths overflows: 100 - (-100) = 200 does not fit
        np.array([100, -90], i8),
        np.array([[90, 80], [-70, 3]], i8),
        np.array([1200, -300], np.int32),
        0.01,
        -100,
        np.array([0.002, 0.003]),
        0.1,
        0,
    )
    return [general, ties, twice, saturating, wrapping]


def check_int8_dense(fn: Callable) -> None:
    """Lesson 07: ``fn(x_q, w_q, bias_q, s_x, zp_x, s_w, s_y, zp_y)`` is an int8 dense layer."""
    fixed = (
        "Requantize with the integer multiplier, as TFLite does: (m0, shift) = "
        "quantize.quantize_multiplier(s_x * s_w / s_y), then "
        "quantize.multiply_by_quantized_multiplier(acc, m0, shift). A float product rounds "
        "ties, and values the fixed point rounds twice, one step differently."
    )
    check_function(
        "an int8 dense layer in integers",
        fn,
        cases=_dense_cases(),
        reference=_int8_dense,
        mistakes=[
            Mistake(
                "Subtract the input's zero point first: the real input is s_x * (x_q - zp_x), "
                "so the products are w_q * (x_q - zp_x).",
                lambda *a: _dense_wrong(*a, zero_point=False),
            ),
            Mistake(
                "Widen to 32 bits (x_q.astype(np.int32)) before subtracting the zero point and "
                "multiplying: int8 arithmetic wraps around, the accumulator must be int32.",
                lambda *a: _dense_wrong(*a, wide=False),
            ),
            Mistake(
                "The bias is stored at the accumulator's scale s_x * s_w (zero point 0): add "
                "it to the int32 sum before requantizing, not to the output.",
                lambda *a: _dense_wrong(*a, bias="after"),
            ),
            Mistake(
                "Add the int32 bias to the accumulator before requantizing.",
                lambda *a: _dense_wrong(*a, bias="none"),
            ),
            Mistake(
                "Each output channel has its own weight scale: M = s_x * s_w[j] / s_y per "
                "channel, not one scale for the whole tensor.",
                lambda *a: _dense_wrong(*a, scales="first"),
            ),
            Mistake(
                "Each output channel has its own weight scale: M = s_x * s_w[j] / s_y per "
                "channel, not one scale for the whole tensor.",
                lambda *a: _dense_wrong(*a, scales="max"),
            ),
            Mistake(
                "Round to the nearest integer, do not truncate: a plain right shift (or int()) "
                "cuts 2.9 to 2. " + fixed,
                lambda *a: _dense_wrong(*a, requantize="trunc"),
            ),
            Mistake(
                "Round to the nearest integer, do not truncate: a plain right shift (or int()) "
                "cuts 2.9 to 2. " + fixed,
                lambda *a: _dense_wrong(*a, requantize="floor"),
            ),
            Mistake(fixed, lambda *a: _dense_wrong(*a, requantize="even")),
            Mistake(fixed, lambda *a: _dense_wrong(*a, requantize="floor_half")),
            Mistake(fixed, lambda *a: _dense_wrong(*a, requantize="half_away")),
            Mistake(
                "Saturate: clip the output to the int8 range [-128, 127] after adding the "
                "output zero point (a cast to int8 wraps 200 around to -56).",
                lambda *a: _dense_wrong(*a, saturate="none"),
            ),
            Mistake(
                "Saturate: clip the output to the int8 range [-128, 127] after adding the "
                "output zero point (a cast to int8 wraps 200 around to -56).",
                lambda *a: _dense_wrong(*a, saturate="wrap"),
            ),
        ],
    )
