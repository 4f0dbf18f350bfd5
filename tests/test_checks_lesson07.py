"""Lesson 07 checkers: each classic mistake is recognised and named by its hint."""

import math

import numpy as np
import pytest

from mobilecourse import checks


def affine(x_min, x_max, bits, *, steps=None, stretch=True, rounded=True):
    """Plain-arithmetic signed affine parameters (independent of the checker)."""
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if stretch:
        x_min, x_max = min(x_min, 0.0), max(x_max, 0.0)
    scale = (x_max - x_min) / (qmax - qmin if steps is None else steps)
    zero_point = qmin - x_min / scale
    if rounded:
        zero_point = max(qmin, min(qmax, round(zero_point)))
    return scale, zero_point


def right_affine(x_min, x_max, bits):
    return affine(x_min, x_max, bits)


def quantize_value(x, scale, zero_point, bits, *, clip=True, rounding=round, zp=True):
    q = rounding(x / scale) + (zero_point if zp else 0)
    if clip:
        q = max(-(2 ** (bits - 1)), min(2 ** (bits - 1) - 1, q))
    return int(q)


def right_quantize_value(x, scale, zero_point, bits):
    return quantize_value(x, scale, zero_point, bits)


def right_storage(n, bits):
    return math.ceil(n * bits / 8) + 4 * 2**bits


def popcount(packed):
    """Ones in a byte array, counted with Python integers (independent of NumPy's)."""
    return bin(int.from_bytes(bytes(packed), "big")).count("1")


def right_binary_dot(a, b, n):
    return n - 2 * popcount(np.bitwise_xor(a, b))


def signs_dot(a, b, n):
    """Another right answer: unpack each bit by hand and multiply +-1 values."""
    bit = lambda packed, i: (int(packed[i // 8]) >> (7 - i % 8)) & 1  # noqa: E731
    return sum((2 * bit(a, i) - 1) * (2 * bit(b, i) - 1) for i in range(n))


def relative(positions, bits, *, minus=1, start=-1, step=None, fits=lambda run, top: run <= top):
    """Zeros skipped before each kept weight, with fillers; switches give the mistakes."""
    top = 2**bits - 1
    step = top + 1 if step is None else step
    out, previous = [], start
    for p in positions:
        run = p - previous - minus
        while not fits(run, top):
            out.append(top)
            run -= step
        out.append(run)
        previous = p
    return out


def right_relative(positions, bits):
    return relative(positions, bits)


def dense(
    x_q,
    w_q,
    bias_q,
    s_x,
    zp_x,
    s_w,
    s_y,
    zp_y,
    *,
    zp=True,
    bias="in",
    rounding="fixed",
    clip=True,
    per_channel=True,
    wide=True,
):
    """An int8 dense layer with Python integers (independent of the package); switches
    give the classic mistakes."""
    units = len(w_q)
    scales = [float(v) for v in np.broadcast_to(s_w, (units,))]
    if not per_channel:
        scales = [scales[0]] * units
    out = []
    for j in range(units):
        if wide:
            shift = int(zp_x) if zp else 0
            acc = sum(int(w) * (int(x) - shift) for w, x in zip(w_q[j], x_q, strict=True))
        else:  # int8 maths, wrapping
            diffs = (np.asarray(x_q) - np.int8(zp_x if zp else 0)).astype(np.int8)
            products = (np.asarray(w_q[j]).astype(np.int8) * diffs).astype(np.int8)
            acc = int(products.sum(dtype=np.int8))
        if bias == "in":
            acc += int(bias_q[j])
        real = s_x * scales[j] / s_y
        if rounding == "fixed":
            fraction, exponent = math.frexp(real)
            m0 = math.floor(fraction * 2**31 + 0.5)
            if m0 == 2**31:
                m0, exponent = m0 // 2, exponent + 1
            product = acc * m0
            high = product + (2**30 if product >= 0 else 1 - 2**30)
            high = high // 2**31 if high >= 0 else -((-high) // 2**31)
            e = -exponent
            y = high >> e
            remainder, threshold = high & (2**e - 1), ((2**e - 1) >> 1) + (high < 0)
            y += remainder > threshold
        elif rounding == "round":
            y = round(acc * real)  # Python rounds ties to even
        elif rounding == "trunc":
            y = int(acc * real)
        if bias == "after":
            y += int(bias_q[j])
        y += int(zp_y)
        if clip:
            y = max(-128, min(127, y))
        out.append(int(y))
    return np.array(out)


def right_dense(*args):
    return dense(*args)


MISTAKES = [
    # scale and zero point
    (
        checks.check_affine_scale_zero_point,
        lambda a, b, n: affine(a, b, n, steps=2**n),
        "2**b - 1",
    ),
    (
        checks.check_affine_scale_zero_point,
        lambda a, b, n: affine(a, b, n, stretch=False),
        "include 0",
    ),
    (
        checks.check_affine_scale_zero_point,
        lambda a, b, n: affine(a, b, n, rounded=False),
        "round",
    ),
    # quantize one value
    (
        checks.check_quantize_value,
        lambda x, s, z, b: quantize_value(x, s, z, b, clip=False),
        "clipped",
    ),
    (
        checks.check_quantize_value,
        lambda x, s, z, b: quantize_value(x, s, z, b, rounding=int),
        "do not truncate or round down",
    ),
    (
        checks.check_quantize_value,
        lambda x, s, z, b: quantize_value(x, s, z, b, rounding=int, clip=False),
        "do not truncate or round down",
    ),
    (
        checks.check_quantize_value,
        lambda x, s, z, b: quantize_value(x, s, z, b, rounding=math.floor),
        "do not truncate or round down",
    ),
    (
        checks.check_quantize_value,
        lambda x, s, z, b: quantize_value(x, s, z, b, zp=False),
        "zero point",
    ),
    # k-means storage
    (checks.check_kmeans_storage_bytes, lambda n, b: math.ceil(n * b / 8), "codebook"),
    (checks.check_kmeans_storage_bytes, lambda n, b: 4 * n + 4 * 2**b, "32-bit"),
    (checks.check_kmeans_storage_bytes, lambda n, b: 4 * n, "32-bit"),
    (
        checks.check_kmeans_storage_bytes,
        lambda n, b: math.ceil(n * b / 8) + 4 * b,
        "2**bits centroids",
    ),
    (checks.check_kmeans_storage_bytes, lambda n, b: n * b + 32 * 2**b, "bits, not bytes"),
    (
        checks.check_kmeans_storage_bytes,
        lambda n, b: math.ceil(n * b / 8) + 2**b,
        "4 bytes, not 1",
    ),
    # binary dot product (XNOR-Net)
    (checks.check_binary_dot, lambda a, b, n: popcount(a ^ b), "disagree"),
    (checks.check_binary_dot, lambda a, b, n: n - popcount(a ^ b), "agreements only"),
    (checks.check_binary_dot, lambda a, b, n: popcount(~(a ^ b)), "padding"),
    (checks.check_binary_dot, lambda a, b, n: popcount(a & b), "Bit 0 stands for -1"),
    (
        checks.check_binary_dot,
        lambda a, b, n: 8 * len(a) - 2 * popcount(a ^ b),
        "not 8 * len",
    ),
    (
        checks.check_binary_dot,
        lambda a, b, n: 2 * popcount(~(a ^ b)) - n,
        "XNOR of the padding bits",
    ),
    # an int8 dense layer in integers
    (checks.check_int8_dense, lambda *a: dense(*a, zp=False), "zero point first"),
    (checks.check_int8_dense, lambda *a: dense(*a, wide=False), "Widen to 32 bits"),
    (checks.check_int8_dense, lambda *a: dense(*a, bias="after"), "not to the output"),
    (checks.check_int8_dense, lambda *a: dense(*a, bias="none"), "int32 bias"),
    (checks.check_int8_dense, lambda *a: dense(*a, per_channel=False), "its own weight scale"),
    (checks.check_int8_dense, lambda *a: dense(*a, rounding="trunc"), "do not truncate"),
    (checks.check_int8_dense, lambda *a: dense(*a, rounding="round"), "integer multiplier"),
    (checks.check_int8_dense, lambda *a: dense(*a, clip=False), "Saturate"),
    # relative indices with fillers (Deep Compression)
    (checks.check_relative_indices, lambda p, b: list(p), "absolute position"),
    (
        checks.check_relative_indices,
        lambda p, b: relative(p, b, fits=lambda run, top: True),
        "needs filler",
    ),
    (checks.check_relative_indices, lambda p, b: relative(p, b, minus=0), "wastes one value"),
    (checks.check_relative_indices, lambda p, b: relative(p, b, start=0), "first entry"),
    (checks.check_relative_indices, lambda p, b: relative(p, b, step=2**b - 1), "entry too"),
    (
        checks.check_relative_indices,
        lambda p, b: relative(p, b, fits=lambda run, top: run < top),
        "exactly 2",
    ),
]


@pytest.mark.parametrize(("checker", "wrong", "words"), MISTAKES)
def test_mistake_is_named(checker, wrong, words):
    with pytest.raises(checks.CheckFailed, match=words.replace("*", r"\*")):
        checker(wrong)


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (checks.check_affine_scale_zero_point, right_affine),
        (checks.check_quantize_value, right_quantize_value),
        (checks.check_kmeans_storage_bytes, right_storage),
        (checks.check_binary_dot, right_binary_dot),
        (checks.check_binary_dot, signs_dot),
        (checks.check_relative_indices, right_relative),
        (checks.check_int8_dense, right_dense),
    ],
)
def test_independent_solutions_pass(checker, right, capsys):
    checker(right)
    assert capsys.readouterr().out.startswith("Correct:")


def test_unknown_wrong_answer_still_fails():
    with pytest.raises(checks.CheckFailed, match="expected"):
        checks.check_kmeans_storage_bytes(lambda n, b: 1)


@pytest.mark.parametrize(
    "checker", [checks.check_binary_dot, checks.check_relative_indices, checks.check_int8_dense]
)
def test_an_untouched_stub_is_not_attempted(checker, capsys):
    def stub(*args):
        raise NotImplementedError

    checker(stub)
    assert "not attempted yet" in capsys.readouterr().out


def test_wrong_answers_without_a_known_mistake_still_fail():
    with pytest.raises(checks.CheckFailed, match="expected"):
        checks.check_binary_dot(lambda a, b, n: 0)
    with pytest.raises(checks.CheckFailed, match="expected"):
        checks.check_relative_indices(lambda p, b: [0] * len(p))
