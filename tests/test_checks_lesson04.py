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
