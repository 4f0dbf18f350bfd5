"""Lesson 03 checkers: each classic mistake is recognised and named by its hint."""

import re

import numpy as np
import pytest

from mobilecourse import checks, models, widgets

EXPANDS = [128, 128, 256, 256, 384, 384, 512, 512]


def fire_params(m, s, e1, e3):
    return m * s + s + s * e1 + e1 + 9 * s * e3 + e3


def design_fire(e, sr, pct):
    e3 = int(pct * e)
    return max(1, int(sr * e)), e - e3, e3


def network(sr, pct, chain="output", conv1=True, conv10=True):
    total = 7 * 7 * 3 * 96 + 96 if conv1 else 0
    channels = 96
    for e in EXPANDS:
        s, e1, e3 = design_fire(e, sr, pct)
        total += fire_params(channels, s, e1, e3)
        channels = {"output": e1 + e3, "squeeze": s, "conv1": channels}[chain]
    return total + (channels * 1000 + 1000 if conv10 else 0)


MISTAKES = [
    # fire_params(in_channels, s1x1, e1x1, e3x3)
    (
        checks.check_fire_params,
        lambda m, s, e1, e3: m * s + s * e1 + 9 * s * e3,
        "Bias forgotten",
    ),
    (
        checks.check_fire_params,
        lambda m, s, e1, e3: m * s + s + s * e1 + e1 + s * e3 + e3,
        "counted like 1x1",
    ),
    (
        checks.check_fire_params,
        lambda m, s, e1, e3: m * s + s + m * e1 + e1 + 9 * m * e3 + e3,
        "taken from the module input",
    ),
    (
        checks.check_fire_params,
        lambda m, s, e1, e3: m * s + s + 9 * s * e1 + e1 + 9 * s * e3 + e3,
        "only the 3x3",
    ),
    (
        checks.check_fire_params,
        lambda m, s, e1, e3: s * e1 + e1 + 9 * s * e3 + e3,
        "squeeze layer is missing",
    ),
    # fire_macs((H, W, M), s1x1, e1x1, e3x3)
    (
        checks.check_fire_macs,
        lambda sh, s, e1, e3: sh[0] * sh[1] * (sh[2] * s + s * e1 + 9 * s * e3 + s + e1 + e3),
        "Bias adds are not MACs",
    ),
    (
        checks.check_fire_macs,
        lambda sh, s, e1, e3: sh[0] * sh[1] * (sh[2] * s + sh[2] * e1 + 9 * sh[2] * e3),
        "taken from the module input",
    ),
    (
        checks.check_fire_macs,
        lambda sh, s, e1, e3: 2 * sh[0] * sh[1] * (sh[2] * s + s * e1 + 9 * s * e3),
        "FLOPs",
    ),
    (
        checks.check_fire_macs,
        lambda sh, s, e1, e3: sh[0] * sh[1] * (sh[2] * s + s * e1 + s * e3),
        "counted like 1x1",
    ),
    (
        checks.check_fire_macs,
        lambda sh, s, e1, e3: sh[2] * s + s * e1 + 9 * s * e3,
        "H * W",
    ),
    (
        checks.check_fire_macs,
        lambda sh, s, e1, e3: sh[0] * sh[0] * (sh[2] * s + s * e1 + 9 * s * e3),
        "need not be square",
    ),
    # design_fire(e_total, squeeze_ratio, pct3x3)
    (
        checks.check_fire_design,
        lambda e, sr, pct: (int(e / sr), e - int(pct * e), int(pct * e)),
        "Squeeze wider than expand",
    ),
    (
        checks.check_fire_design,
        lambda e, sr, pct: (e, e - int(pct * e), int(pct * e)),
        "Squeeze wider than expand",
    ),
    (
        checks.check_fire_design,
        lambda e, sr, pct: (max(1, int(sr * e)), int(pct * e), e - int(pct * e)),
        "swapped",
    ),
    (
        checks.check_fire_design,
        lambda e, sr, pct: (max(1, round(sr * e)), e - round(pct * e), round(pct * e)),
        "Round down",
    ),
    (
        checks.check_fire_design,
        lambda e, sr, pct: (int(sr * e), e - int(pct * e), int(pct * e)),
        "at least one filter",
    ),
    (
        checks.check_fire_design,
        lambda e, sr, pct: (max(1, int(sr * int(pct * e))), e - int(pct * e), int(pct * e)),
        "not to one branch",
    ),
    # squeezenet_design_params(squeeze_ratio, pct3x3)
    (
        checks.check_squeezenet_design_params,
        lambda sr, pct: network(sr, pct, chain="squeeze"),
        "the squeeze is internal",
    ),
    (
        checks.check_squeezenet_design_params,
        lambda sr, pct: network(sr, pct, chain="conv1"),
        "previous module's output",
    ),
    (
        checks.check_squeezenet_design_params,
        lambda sr, pct: network(sr, pct, conv10=False),
        "conv10",
    ),
    (
        checks.check_squeezenet_design_params,
        lambda sr, pct: network(sr, pct, conv1=False),
        "conv1 (96 filters",
    ),
]


@pytest.mark.parametrize(("checker", "wrong", "hint"), MISTAKES)
def test_checker_names_classic_mistake(checker, wrong, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checker(wrong)


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (checks.check_fire_params, fire_params),
        (
            checks.check_fire_macs,
            lambda sh, s, e1, e3: sh[0] * sh[1] * (sh[2] * s + s * e1 + 9 * s * e3),
        ),
        (checks.check_fire_design, design_fire),
        (checks.check_fire_design, lambda e, sr, pct: list(design_fire(e, sr, pct))),
        (checks.check_fire_design, lambda e, sr, pct: np.array(design_fire(e, sr, pct))),
        (checks.check_squeezenet_design_params, network),
    ],
)
def test_checker_accepts_right_answers(checker, right, capsys):
    checker(right)
    assert capsys.readouterr().out.startswith("Correct:")


def test_design_reference_is_the_packages_design_space():
    for sr, pct in [(0.125, 0.5), (0.25, 0.375), (0.75, 0.99), (0.01, 0.3)]:
        rows = models.squeezenet_design(sr, pct)
        assert [(r.squeeze, r.expand1x1, r.expand3x3) for r in rows] == [
            design_fire(e, sr, pct) for e in EXPANDS
        ]
        assert network(sr, pct) == widgets.squeezenet_size(sr, pct)["params"]


def test_stub_is_not_attempted_and_unknown_wrong_answer_shows_expected(capsys):
    def stub(*args):
        raise NotImplementedError

    checks.check_fire_design(stub)
    assert checks.NOT_ATTEMPTED in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match=re.escape("expected (16, 64, 64)")):
        checks.check_fire_design(lambda e, sr, pct: (3, 4, 5))
    with pytest.raises(checks.CheckFailed, match="expected 11920"):
        checks.check_fire_params(lambda *args: 7)


# ---------------------------------------------------------------- build a fire module


def keras_fire(x, squeeze, expand1x1, expand3x3, *, mistake=None):
    """A student's fire module (fused ReLUs, own names); ``mistake`` makes one classic slip."""
    from keras import layers

    relu = None if mistake == "no squeeze relu" else "relu"
    s = layers.Conv2D(squeeze, 1, activation=relu, name="sq")(x)
    source = x if mistake == "expand from input" else s
    padding = "valid" if mistake == "no padding" else "same"
    a = layers.Conv2D(expand1x1, 1, activation="relu", name="ex1")(source)
    b = layers.Conv2D(expand3x3, (3, 3), padding=padding, activation="relu", name="ex3")(source)
    if mistake == "add":
        return layers.Add(name="merge")([a, b])
    return layers.Concatenate(name="merge")([b, a] if mistake == "order" else [a, b])


@pytest.mark.parametrize(
    ("mistake", "hint"),
    [
        ("no padding", "padding='same'"),
        ("add", "concatenates its two expand branches"),
        ("no squeeze relu", "The squeeze convolution has a ReLU too"),
        ("order", "1x1 branch first"),
        ("expand from input", "read the squeeze layer's output"),
    ],
)
def test_fire_module_builder_mistakes(mistake, hint):
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checks.check_fire_module(
            lambda x, squeeze, expand1x1, expand3x3: keras_fire(
                x, squeeze, expand1x1, expand3x3, mistake=mistake
            )
        )


def test_fire_module_builder_right_and_stub(capsys):
    checks.check_fire_module(keras_fire)
    assert capsys.readouterr().out == "Correct: build a fire module (3 cases checked).\n"

    def stub(x, squeeze, expand1x1, expand3x3):
        raise NotImplementedError

    checks.check_fire_module(stub)
    assert "not attempted yet" in capsys.readouterr().out


def test_fire_module_builder_unknown_slip_names_the_layer():
    from keras import layers

    def no_expand_relu(x, squeeze, expand1x1, expand3x3):
        s = layers.Conv2D(squeeze, 1, activation="relu")(x)
        a = layers.Conv2D(expand1x1, 1, name="my_e1")(s)
        b = layers.Conv2D(expand3x3, 3, padding="same", activation="relu")(s)
        return layers.Concatenate()([a, b])

    with pytest.raises(checks.CheckFailed, match=r"Missing activation: .*`my_e1`"):
        checks.check_fire_module(no_expand_relu)
