"""Lesson 05 checkers: each classic mistake is recognised and named by its hint."""

import math
import re

import pytest

from mobilecourse import checks


def _out(size, stride):
    return math.ceil(size / stride)


def block_macs(
    h,
    w,
    c_in,
    c_out,
    t,
    stride,
    *,
    hidden=None,
    full_dw=False,
    at_output=False,
    expand_t1=False,
    add=False,
    ignore_stride=False,
):
    """Plain-arithmetic block cost with switches for the mistakes (independent of the checker)."""
    m = t * c_in if hidden is None else hidden
    s = 1 if ignore_stride else stride
    oh, ow = _out(h, s), _out(w, s)
    expand = (oh * ow if at_output else h * w) * c_in * m if (t > 1 or expand_t1) else 0
    depthwise = oh * ow * 9 * (m if full_dw else 1) * m
    project = oh * ow * m * c_out
    residual = oh * ow * c_out if add and stride == 1 and c_in == c_out else 0
    return expand + depthwise + project + residual


def right_block_macs(h, w, c_in, c_out, t, stride):
    return block_macs(h, w, c_in, c_out, t, stride)


def right_width(c, alpha):
    v = c * alpha
    r = max(8, int(v + 4) // 8 * 8)
    return r + 8 if r < 0.9 * v else r


MISTAKES = [
    # residual rule
    (checks.check_has_residual, lambda ci, co, s: ci == co, "stride-2"),
    (checks.check_has_residual, lambda ci, co, s: True, "stride-2"),
    (checks.check_has_residual, lambda ci, co, s: s == 1, "in_channels == out_channels"),
    (checks.check_has_residual, lambda ci, co, s: False, "default"),
    # block cost
    (
        checks.check_inverted_residual_macs,
        lambda h, w, ci, co, t, s: block_macs(h, w, ci, co, t, s, hidden=t * co),
        "*input* channels",
    ),
    (
        checks.check_inverted_residual_macs,
        lambda h, w, ci, co, t, s: block_macs(h, w, ci, co, t, s, full_dw=True),
        "depthwise",
    ),
    (
        checks.check_inverted_residual_macs,
        lambda h, w, ci, co, t, s: block_macs(h, w, ci, co, t, s, ignore_stride=True),
        "halved output size",
    ),
    (
        checks.check_inverted_residual_macs,
        lambda h, w, ci, co, t, s: block_macs(h, w, ci, co, t, s, at_output=True),
        "input size h x w",
    ),
    (
        checks.check_inverted_residual_macs,
        lambda h, w, ci, co, t, s: block_macs(h, w, ci, co, t, s, expand_t1=True),
        "t = 1",
    ),
    (
        checks.check_inverted_residual_macs,
        lambda h, w, ci, co, t, s: block_macs(h, w, ci, co, t, s, add=True),
        "residual add is not a MAC",
    ),
    (
        checks.check_inverted_residual_macs,
        lambda *a: 2 * right_block_macs(*a),
        "FLOPs",
    ),
    # width multiplier
    (checks.check_v2_width, lambda c, a: int(c * a), "make_divisible rounding forgotten"),
    (checks.check_v2_width, lambda c, a: round(c * a), "make_divisible rounding forgotten"),
    (checks.check_v2_width, lambda c, a: c * a, "make_divisible rounding forgotten"),
    (checks.check_v2_width, lambda c, a: max(8, int(c * a + 4) // 8 * 8), "10 %"),
    (checks.check_v2_width, lambda c, a: max(8, math.floor(c * a / 8) * 8), "not down"),
    (checks.check_v2_width, lambda c, a: max(8, math.ceil(c * a / 8) * 8), "not up"),
    # linear bottleneck
    (checks.check_bottleneck_activation, lambda layer: True, "ReLU after the projection"),
    (
        checks.check_bottleneck_activation,
        lambda layer: layer in ("expand", "depthwise", "project"),
        "ReLU after the projection",
    ),
    (checks.check_bottleneck_activation, lambda layer: layer == "expand", "ShuffleNet"),
    (checks.check_bottleneck_activation, lambda layer: False, "expansion writes"),
    (checks.check_bottleneck_activation, lambda layer: layer == "project", "expansion writes"),
]


@pytest.mark.parametrize(("checker", "wrong", "hint"), MISTAKES)
def test_lesson05_checker_names_classic_mistake(checker, wrong, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checker(wrong)


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (checks.check_has_residual, lambda ci, co, s: s == 1 and ci == co),
        (checks.check_inverted_residual_macs, right_block_macs),
        (checks.check_v2_width, right_width),
        (checks.check_bottleneck_activation, lambda layer: layer != "project"),
    ],
)
def test_lesson05_checker_accepts_independent_solution(checker, right, capsys):
    checker(right)
    assert capsys.readouterr().out.startswith("Correct:")


def test_lesson05_reference_widths_match_the_package():
    from mobilecourse.models import make_divisible

    for c in (16, 24, 32, 64, 96, 160, 320, 1280):
        for alpha in (0.1, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
            assert right_width(c, alpha) == make_divisible(c * alpha, 8)


def test_lesson05_block_cost_matches_the_profiler():
    import keras

    from mobilecourse import blocks
    from mobilecourse.profile import profile_model

    for h, c_in, c_out, t, stride in [(15, 32, 64, 6, 2), (8, 16, 16, 1, 1), (9, 24, 24, 6, 1)]:
        inputs = keras.Input((h, h, c_in))
        out = blocks.inverted_residual_block(
            inputs, expansion=t, filters=c_out, strides=stride, name="b"
        )
        macs = profile_model(keras.Model(inputs, out)).macs
        assert macs == right_block_macs(h, h, c_in, c_out, t, stride)


def test_lesson05_unrecognised_wrong_answer_shows_expected_value():
    with pytest.raises(checks.CheckFailed, match="expected 8"):
        checks.check_v2_width(lambda c, a: 7 if c == 16 and a == 0.1 else right_width(c, a))


# ------------------------------------------------------------------ build the block in Keras


def keras_bottleneck(x, expansion, filters, strides, mistake=None):
    """MobileNetV2's block written independently of the checker, one switch per mistake."""
    from keras import layers

    def relu6():
        return layers.ReLU() if mistake == "plain_relu" else layers.Activation("relu6")

    c = x.shape[-1]
    wide = expansion * (filters if mistake == "hidden_from_output" else c)
    y = x
    if expansion != 1 or mistake == "expand_at_t1":
        expand_stride = strides if mistake == "stride_on_expand" else 1
        y = layers.Conv2D(wide, 1, strides=expand_stride, use_bias=False)(y)
        y = relu6()(layers.BatchNormalization()(y))
    dw_stride = 1 if mistake in ("stride_on_expand", "stride_on_project") else strides
    if mistake == "full_3x3":
        y = layers.Conv2D(y.shape[-1], 3, dw_stride, padding="same", use_bias=False)(y)
    else:
        y = layers.DepthwiseConv2D(3, dw_stride, padding="same", use_bias=False)(y)
    if mistake != "no_bn_depthwise":
        y = layers.BatchNormalization()(y)
    y = relu6()(y)
    project_stride = strides if mistake == "stride_on_project" else 1
    y = layers.Conv2D(filters, 1, strides=project_stride, use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if mistake == "relu_after_project":
        y = relu6()(y)
    shortcut = {
        "add_when_channels_match": c == filters,
        "add_when_stride_1": strides == 1,
        "never_add": False,
    }.get(mistake, strides == 1 and c == filters)
    return layers.Add()([y, x]) if shortcut else y


@pytest.mark.parametrize(
    ("mistake", "hint"),
    [
        ("relu_after_project", "ReLU after the projection"),
        ("add_when_channels_match", "although the block has stride 2"),
        ("add_when_stride_1", "although the channels differ"),
        ("never_add", "The residual add is missing"),
        ("stride_on_expand", "A strided 1x1 expansion"),
        ("stride_on_project", "not to the 1x1 projection"),
        ("plain_relu", "MobileNetV2 uses ReLU6"),
        ("hidden_from_output", "not expansion * filters"),
        ("expand_at_t1", "With expansion 1 there is nothing to expand"),
        ("full_3x3", "not a standard convolution over all channels"),
        ("no_bn_depthwise", "Missing BatchNorm"),
    ],
)
def test_inverted_residual_builder_mistakes(mistake, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checks.check_inverted_residual_block(
            lambda x, expansion, filters, strides: keras_bottleneck(
                x, expansion, filters, strides, mistake
            )
        )


def test_inverted_residual_builder_right_and_stub(capsys):
    checks.check_inverted_residual_block(keras_bottleneck)
    out = capsys.readouterr().out
    assert out == "Correct: build an inverted residual block (5 cases checked).\n"

    def stub(x, expansion, filters, strides):
        raise NotImplementedError

    checks.check_inverted_residual_block(stub)
    assert "not attempted yet" in capsys.readouterr().out
