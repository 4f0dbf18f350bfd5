"""Lesson 04 checkers: every classic mistake they name is recognised, with its hint."""

import re

import numpy as np
import pytest

from mobilecourse import checks


def reference_shuffle(x, groups):
    *batch, c = x.shape
    return x.reshape(*batch, groups, c // groups).swapaxes(-1, -2).reshape(*batch, c)


def full_conv_macs(shape, filters, k, g):
    h, w, c = shape
    return h * w * k * k * c * filters


GROUP_CONV_MISTAKES = [
    (full_conv_macs, "groups were forgotten"),
    (lambda shape, n, k, g: full_conv_macs(shape, n, k, g) // (g * g), "divided by g twice"),
    (lambda shape, n, k, g: 2 * full_conv_macs(shape, n, k, g) // g, "FLOPs"),
]

SHUFFLE_MISTAKES = [
    (lambda x, g: x.reshape(*x.shape[:-1], g, x.shape[-1] // g).reshape(x.shape), "transpose"),
    (lambda x, g: x, "original order"),
    (lambda x, g: reference_shuffle(x, x.shape[-1] // g), "inverse shuffle"),
    (
        lambda x, g: x.reshape(*x.shape[:-1], x.shape[-1] // g, g).transpose(0, 1, 2, 4, 3),
        "input's shape",
    ),
    (lambda x, g: x.reshape(g, -1).T.reshape(x.shape), "between pixels"),
]

UNIT_MISTAKES = [
    (lambda h, w, c, m, g: h * w * (2 * c * m // g + 9 * m * m), "9*m*m"),
    (lambda h, w, c, m, g: h * w * (2 * c * m // g + 9 * m * m // g), "ResNeXt"),
    (lambda h, w, c, m, g: h * w * (c * m + c * m // g + 9 * m), "first 1x1"),
    (lambda h, w, c, m, g: h * w * (2 * c * m + 9 * m), "Neither 1x1"),
    (lambda h, w, c, m, g: h * w * (2 * c * m + 9 * m * m), "ResNet bottleneck"),
    (lambda h, w, c, m, g: h * w * (c * m // g + 9 * m), "both 1x1"),
    (lambda h, w, c, m, g: 2 * h * w * (2 * c * m // g + 9 * m), "FLOPs"),
]


@pytest.mark.parametrize(("wrong", "hint"), GROUP_CONV_MISTAKES)
def test_group_conv_macs_mistakes(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checks.check_group_conv_macs(wrong)


@pytest.mark.parametrize(("wrong", "hint"), SHUFFLE_MISTAKES)
def test_channel_shuffle_mistakes(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checks.check_channel_shuffle(wrong)


@pytest.mark.parametrize(("wrong", "hint"), UNIT_MISTAKES)
def test_shufflenet_unit_macs_mistakes(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checks.check_shufflenet_unit_macs(wrong)


def test_correct_answers_pass(capsys):
    checks.check_group_conv_macs(lambda s, n, k, g: s[0] * s[1] * k * k * (s[2] // g) * n)
    checks.check_channel_shuffle(reference_shuffle)
    checks.check_shufflenet_unit_macs(lambda h, w, c, m, g: h * w * (2 * c * m / g + 9 * m))
    out = capsys.readouterr().out
    assert out.count("Correct:") == 3


def test_channel_shuffle_accepts_lists_and_other_dtypes(capsys):
    checks.check_channel_shuffle(lambda x, g: reference_shuffle(x.astype(np.int64), g).tolist())
    assert capsys.readouterr().out.startswith("Correct:")


def test_channel_shuffle_failure_names_the_call_and_the_channel_order():
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_channel_shuffle(lambda x, g: x)
    message = str(info.value)
    assert "np.arange(12).reshape(1, 1, 1, 12), 3)" in message
    assert "expected (0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11)" in message


def test_channel_shuffle_missing_return_and_not_attempted(capsys):
    def forgot_return(x, groups):
        reference_shuffle(x, groups)

    with pytest.raises(checks.CheckFailed, match="forget `return`"):
        checks.check_channel_shuffle(forgot_return)

    def stub(x, groups):
        raise NotImplementedError

    checks.check_channel_shuffle(stub)
    assert checks.NOT_ATTEMPTED in capsys.readouterr().out


def test_channel_shuffle_does_not_let_an_in_place_edit_pass():
    def in_place(x, groups):
        x[...] = reference_shuffle(x, groups)
        return x

    # shuffling in place and returning the array is fine: the checker gives a copy
    checks.check_channel_shuffle(in_place)


def test_unknown_wrong_shuffle_still_fails():
    with pytest.raises(checks.CheckFailed, match="expected"):
        checks.check_channel_shuffle(lambda x, g: x[..., ::-1])


# ---------------------------------------------------------------- build a ShuffleNet unit


def student_unit(x, out_channels, groups, strides, *, slip=None):
    """A student's unit with its own names; ``slip`` makes one classic mistake."""
    from keras import layers

    from mobilecourse.blocks import ChannelShuffle

    c = x.shape[-1]
    wide = strides == 1 or slip == "add wide"
    out = out_channels if wide else out_channels - c
    g1 = 1 if slip == "first ungrouped" else groups
    g2 = 1 if slip == "second ungrouped" else groups
    y = layers.Conv2D(out_channels // 4, 1, groups=g1, use_bias=False, name="u_g1")(x)
    y = layers.BatchNormalization(name="u_bn1")(y)
    y = layers.Activation("relu", name="u_r1")(y)
    if slip != "no shuffle" and slip != "shuffle late":
        y = ChannelShuffle(groups, name="u_sh")(y)
    y = layers.DepthwiseConv2D((3, 3), strides, padding="same", use_bias=False, name="u_dw")(y)
    y = layers.BatchNormalization(name="u_bn2")(y)
    if slip == "dw relu":
        y = layers.ReLU(name="u_r2")(y)
    if slip == "shuffle late":
        y = ChannelShuffle(groups, name="u_sh")(y)
    y = layers.Conv2D(out, 1, groups=g2, use_bias=False, name="u_g2")(y)
    y = layers.BatchNormalization(name="u_bn3")(y)
    if strides == 1:
        merged = layers.Add(name="u_add")([y, x])  # the other order: an add is symmetric
    else:
        pool = layers.AveragePooling2D(3, 2, padding="same", name="u_pool")(x)
        merge = layers.Add if slip in ("add", "add wide") else layers.Concatenate
        merged = merge(name="u_merge")([pool, y])
    return layers.ReLU(name="u_out")(merged)


@pytest.mark.parametrize(
    ("slip", "hint"),
    [
        ("no shuffle", "The channel shuffle is missing"),
        ("shuffle late", "right after the first 1x1 group convolution"),
        ("dw relu", "No ReLU after the depthwise convolution"),
        ("add", "At stride 2 the unit concatenates"),
        ("add wide", "At stride 2 the unit concatenates"),
        ("first ungrouped", "Both 1x1 convolutions are group convolutions"),
        ("second ungrouped", "Both 1x1 convolutions are group convolutions"),
    ],
)
def test_shufflenet_unit_builder_mistakes(slip, hint):
    def wrong(x, out_channels, groups, strides):
        return student_unit(x, out_channels, groups, strides, slip=slip)

    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checks.check_shufflenet_unit(wrong)


def test_shufflenet_unit_builder_right_and_stub(capsys):
    checks.check_shufflenet_unit(student_unit)
    assert capsys.readouterr().out == "Correct: build a ShuffleNet unit (4 cases checked).\n"

    def stub(x, out_channels, groups, strides):
        raise NotImplementedError

    checks.check_shufflenet_unit(stub)
    assert "not attempted yet" in capsys.readouterr().out


def test_shufflenet_unit_builder_unlisted_slip_is_diagnosed():
    from keras import layers

    def relu_twice(x, out_channels, groups, strides):
        y = student_unit(x, out_channels, groups, strides)
        return layers.ReLU(name="twice")(y)

    with pytest.raises(checks.CheckFailed, match=r"Activation where none belongs: `twice`"):
        checks.check_shufflenet_unit(relu_twice)
