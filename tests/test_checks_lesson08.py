"""Lesson 08 checkers: soft targets, the MnasNet reward, the budget and the design check."""

import math
import re

import numpy as np
import pytest

from mobilecourse import checks, deploy, models


def softmax_without_max(z, t):
    """The classic overflow: exp(z / T) of large logits is inf, and inf / inf is nan."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(z) / t)
        return e / e.sum()


def softmax(z, t):
    e = [math.exp((v - max(z)) / t) for v in z]
    return [v / sum(e) for v in e]


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda z, t: softmax(z, 1.0), "divides the logits"),
        (lambda z, t: softmax([v * t * t for v in z], t), "not multiply"),
        (lambda z, t: [math.exp((v - max(z)) / t) for v in z], "sum to 1"),
        (lambda z, t: softmax_without_max(z, t), "Subtract the largest"),
    ],
)
def test_soft_target_mistakes_are_named(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        checks.check_soft_targets(wrong)


def test_soft_targets_accepts_lists_and_arrays(capsys):
    checks.check_soft_targets(softmax)
    assert capsys.readouterr().out.startswith("Correct:")


def right_reward(a, lat, t, alpha, beta):
    return a * (lat / t) ** (alpha if lat <= t else beta)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda a, lat, t, al, be: a * (t / lat) ** (al if lat <= t else be), "LAT / T"),
        (lambda a, lat, t, al, be: a * (lat / t) ** (be if lat <= t else al), "side of the target"),
        (lambda a, lat, t, al, be: a * (lat / t) ** al, "side of the target"),
        (lambda a, lat, t, al, be: a * (lat / t) * (al if lat <= t else be), "power"),
    ],
)
def test_mnas_reward_mistakes_are_named(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        checks.check_mnas_reward(wrong)


def test_mnas_reward_right_answer(capsys):
    checks.check_mnas_reward(right_reward)
    assert capsys.readouterr().out.startswith("Correct: MnasNet reward")


def test_check_budget_reports_every_line_and_raises_only_when_strict(capsys):
    budget = deploy.Budget(max_macs=10, min_accuracy=0.5)
    missed = deploy.Measurement(macs=20, accuracy=0.9)
    checks.check_budget(missed, budget, strict=False)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "[ ] MACs: 20 > 10  MISSED (2.00x the limit)",
        "[x] test accuracy: 0.900 >= 0.500  met",
    ]
    with pytest.raises(checks.CheckFailed, match=r"budget missed: MACs: 20 > 10 \(2.00x"):
        checks.check_budget(missed, budget)
    checks.check_budget(deploy.Measurement(macs=10), budget)
    out = capsys.readouterr().out
    assert "[?] test accuracy: not measured" in out
    assert out.rstrip().endswith("Budget met: 1 constraints (test accuracy not measured).")


@pytest.fixture
def reference(teacher_float32):
    return teacher_float32


def test_check_design_measures_a_real_model(capsys, reference):
    checks.check_design(lambda: models.digits_cnn(width=0.5), reference)
    out = capsys.readouterr().out
    assert out.startswith("Correct: a design that fits the budget")
    assert "[x] MACs: 123,472 <= 300,000  met" in out and "[?] test accuracy" in out
    # 12x fewer MACs than the float32 reference, and int8: well under half its time
    assert re.search(r"\[x\] LiteRT time vs reference: 0\.[0-4]\dx <= 0\.50x  met", out), out


@pytest.mark.parametrize(
    ("design", "match"),
    [
        (
            lambda: models.digits_cnn(width=2.0),
            r"MACs: 1,489,216 > 300,000.*params: 50,698",
        ),
        (lambda: "a model", "must return a keras.Model"),
        (lambda: models.digits_cnn(width=0.5, input_shape=(32, 32, 1)), "at most 28x28"),
        (lambda: models.digits_cnn(width=0.5, input_shape=(28, 28, 3)), r"\(height, width, 1\)"),
        (lambda: models.digits_cnn(width=0.5, classes=5), "10 classes"),
    ],
)
def test_check_design_rejects_what_misses_the_brief(design, match, reference):
    with pytest.raises(checks.CheckFailed, match=match):
        checks.check_design(design, reference)


def test_check_design_needs_the_reference_of_a_relative_latency_limit():
    with pytest.raises(ValueError, match="reference is required"):
        checks.check_design(lambda: models.digits_cnn(width=0.5))
    # a budget in absolute milliseconds needs none
    checks.check_design(
        lambda: models.digits_cnn(width=0.5), budget=deploy.Budget(max_latency_ms=1000.0)
    )


def test_check_design_not_attempted(capsys):
    def design_network():
        raise NotImplementedError

    checks.check_design(design_network)
    assert checks.NOT_ATTEMPTED in capsys.readouterr().out
