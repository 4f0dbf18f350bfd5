"""Lesson 02 checkers: each classic mistake is recognised and named in the hint."""

import math
import re

import pytest

from mobilecourse import checks


def _out(size, strides):
    return math.ceil(size / strides)


def _positions(shape, strides):
    return _out(shape[0], strides) * _out(shape[1], strides)


def separable_right(shape, n, k, s):
    return k * k * shape[2] * _positions(shape, s) + shape[2] * n * _positions(shape, s)


def first_layer_right(alpha, r):
    return 27 * int(32 * alpha) * _out(r, 2) ** 2


def scaled_right(alpha, rho):
    m, d = int(alpha * 512), round(rho * 14)
    return 9 * m * d * d + m * m * d * d


SEPARABLE_MISTAKES = [
    # depthwise counted as a full convolution, M -> M
    (
        lambda shape, n, k, s: (
            k * k * shape[2] * shape[2] * _positions(shape, s) + shape[2] * n * _positions(shape, s)
        ),
        "counted as a full convolution",
    ),
    # depthwise counted as a full convolution, M -> N
    (
        lambda shape, n, k, s: (
            k * k * shape[2] * n * _positions(shape, s) + shape[2] * n * _positions(shape, s)
        ),
        "counted as a full convolution",
    ),
    (lambda shape, n, k, s: k * k * shape[2] * n * _positions(shape, s), "standard convolution"),
    (lambda shape, n, k, s: k * k * shape[2] * _positions(shape, s), "add the 1x1 pointwise"),
    (lambda shape, n, k, s: shape[2] * n * _positions(shape, s), "add the depthwise"),
    (
        lambda shape, n, k, s: (
            k * k * shape[2] * shape[0] * shape[1] + shape[2] * n * shape[0] * shape[1]
        ),
        "input size",
    ),
    (
        lambda shape, n, k, s: (
            k * k * shape[2] * _positions(shape, s) + shape[2] * n * shape[0] * shape[1]
        ),
        "already shrank",
    ),
    (lambda *a: 2 * separable_right(*a), "FLOPs"),
    # a square map assumed: the height used for the width too
    (
        lambda shape, n, k, s: separable_right((shape[0], shape[0], shape[2]), n, k, s),
        "need not be square",
    ),
]

RATIO_MISTAKES = [
    (lambda n, k: 1 / (1 / n + 1 / k**2), "inverted"),
    (lambda n, k: 1 / n + 1 / k, "square the kernel size"),
    (lambda n, k: 1 / k**2, "adds 1/N"),
    (lambda n, k: 1 / n, "adds 1/Dk^2"),
    (lambda n, k: 1 / (n * k**2), "costs add"),
]

FIRST_LAYER_MISTAKES = [
    (lambda a, r: 9 * (3 * a) * int(32 * a) * _out(r, 2) ** 2, "input image's channels"),
    (lambda a, r: 9 * max(1, int(3 * a)) * int(32 * a) * _out(r, 2) ** 2, "3 channels (RGB)"),
    (lambda a, r: 9 * 3 * 32 * a * 32 * a / 32 * _out(r, 2) ** 2, "input image's channels"),
    (lambda a, r: 27 * 32 * _out(r, 2) ** 2, "alpha is missing"),
    (lambda a, r: 27 * int(32 * a) * r * r, "stride 2"),
    (lambda a, r: 27 * int(32 * a) * (r // 2) ** 2, "rounded up"),
    (lambda a, r: 2 * first_layer_right(a, r), "FLOPs"),
]


def _table3(m, d):
    return 9 * m * d * d + m * m * d * d


SCALED_MISTAKES = [
    (lambda a, rho: _table3(int(a * rho * 512), 14), "applied to the channels"),
    (lambda a, rho: _table3(int(a * rho * 512), round(rho * 14)), "applied to the channels"),
    (
        lambda a, rho: (
            9 * int(a * 512) * 14 * round(rho * 14) + int(a * 512) ** 2 * 14 * round(rho * 14)
        ),
        "rho squared",
    ),
    (lambda a, rho: _table3(int(a * 512), 14) * rho**2, "whole number of pixels"),
    (
        lambda a, rho: 9 * 512 * round(rho * 14) ** 2 + 512 * int(a * 512) * round(rho * 14) ** 2,
        "input channels M",
    ),
]

CASES = (
    [(checks.check_separable_macs, wrong, hint) for wrong, hint in SEPARABLE_MISTAKES]
    + [(checks.check_separable_ratio, wrong, hint) for wrong, hint in RATIO_MISTAKES]
    + [
        (checks.check_mobilenet_first_layer_macs, wrong, hint)
        for wrong, hint in FIRST_LAYER_MISTAKES
    ]
    + [(checks.check_scaled_separable_macs, wrong, hint) for wrong, hint in SCALED_MISTAKES]
)


@pytest.mark.parametrize(("checker", "wrong", "hint"), CASES)
def test_lesson02_checker_names_classic_mistake(checker, wrong, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checker(wrong)


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (checks.check_separable_macs, separable_right),
        (checks.check_separable_ratio, lambda n, k: (n + k * k) / (n * k * k)),
        (checks.check_mobilenet_first_layer_macs, first_layer_right),
        (checks.check_scaled_separable_macs, scaled_right),
    ],
)
def test_lesson02_checker_accepts_an_independent_solution(checker, right, capsys):
    checker(right)
    assert capsys.readouterr().out.startswith("Correct:")


def test_lesson02_checkers_are_exported():
    for name in (
        "check_separable_macs",
        "check_separable_ratio",
        "check_mobilenet_first_layer_macs",
        "check_scaled_separable_macs",
    ):
        assert name in checks.__all__


def test_lesson02_unknown_wrong_answer_still_shows_expected_value():
    with pytest.raises(checks.CheckFailed, match="expected 52283392"):
        checks.check_separable_macs(lambda *args: 7)


def test_lesson02_not_attempted_is_reported(capsys):
    def stub(alpha, rho):
        raise NotImplementedError

    checks.check_scaled_separable_macs(stub)
    assert checks.NOT_ATTEMPTED in capsys.readouterr().out
