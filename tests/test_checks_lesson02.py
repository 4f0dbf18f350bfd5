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


# ------------------------------------------------------------------ build the block in Keras


def keras_separable(x, filters, strides, mistake=None):
    """The block written independently of the checker: one switch per classic mistake."""
    from keras import layers

    m = x.shape[-1]
    if mistake == "keras_separable_layer":
        y = layers.SeparableConv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        return layers.Activation("relu")(layers.BatchNormalization()(y))
    if mistake == "pointwise_first":
        y = layers.Conv2D(filters, 1, use_bias=False)(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(y)
        return layers.ReLU()(layers.BatchNormalization()(y))
    if mistake == "standard":
        y = layers.Conv2D(m, 3, strides=strides, padding="same", use_bias=False)(x)
    elif mistake == "groups":
        y = layers.Conv2D(m, 3, strides=strides, padding="same", groups=m, use_bias=False)(x)
    else:
        dw_stride = 1 if mistake == "stride_on_pointwise" else strides
        y = layers.DepthwiseConv2D(3, strides=dw_stride, padding="same", use_bias=False)(x)
    if mistake not in ("no_middle", "no_bn_middle"):
        y = layers.BatchNormalization()(y)
    if mistake != "no_middle":
        y = layers.ReLU()(y)
    pw_stride = strides if mistake == "stride_on_pointwise" else 1
    y = layers.Conv2D(filters, 1, strides=pw_stride, use_bias=mistake == "bias")(y)
    if mistake != "no_bn_end":
        y = layers.BatchNormalization()(y)
    return y if mistake == "no_relu_end" else layers.ReLU()(y)


@pytest.mark.parametrize(
    ("mistake", "hint"),
    [
        ("standard", "Use keras.layers.DepthwiseConv2D"),
        ("groups", "one channel per group: the same weights, MACs and outputs"),
        ("pointwise_first", "The 1x1 pointwise convolution comes second"),
        ("stride_on_pointwise", "The stride belongs to the depthwise convolution"),
        ("no_middle", "Xception's): nothing between the two convolutions"),
        ("keras_separable_layer", "keras.layers.SeparableConv2D runs the depthwise"),
        ("no_bn_middle", "Missing BatchNorm"),
        ("no_bn_end", "Missing BatchNorm"),
        ("no_relu_end", "Missing activation"),
        ("bias", "needs no bias"),
    ],
)
def test_separable_block_builder_mistakes(mistake, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checks.check_separable_block(
            lambda x, filters, strides: keras_separable(x, filters, strides, mistake)
        )


def test_separable_block_builder_right_and_stub(capsys):
    checks.check_separable_block(keras_separable)
    out = capsys.readouterr().out
    assert out == "Correct: build a depthwise separable block (3 cases checked).\n"

    def stub(x, filters, strides):
        raise NotImplementedError

    checks.check_separable_block(stub)
    assert "not attempted yet" in capsys.readouterr().out


def test_separable_block_with_relu_given_as_an_argument_is_right(capsys):
    from keras import layers

    def fused(x, filters, strides):
        y = layers.DepthwiseConv2D(3, strides, padding="same", use_bias=False)(x)
        y = layers.Activation("relu")(layers.BatchNormalization()(y))
        y = layers.Conv2D(filters, 1, use_bias=False)(y)
        return layers.ReLU()(layers.BatchNormalization()(y))

    checks.check_separable_block(fused)
    assert capsys.readouterr().out.startswith("Correct:")
