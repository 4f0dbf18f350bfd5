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


# ---------------------------------------------------------------- the distillation loss
# Written here from Hinton et al. (2015), independently of the checker's own formulas.


def probs(z, t=1.0):
    e = [math.exp((v - max(z)) / t) for v in z]
    return [v / sum(e) for v in e]


def kl(p, q):
    return sum(a * (math.log(a) - math.log(b)) for a, b in zip(p, q, strict=True))


def distillation(
    zs, zt, y, t, a, *, t2=True, student_t=True, swap=False, reverse=False, hard_t=False, soft="kl"
):
    q_t, q_s = probs(zt, t), probs(zs, t if student_t else 1.0)
    hard = -math.log(probs(zs, t if hard_t else 1.0)[y])
    if soft == "kl":
        term = kl(q_s, q_t) if reverse else kl(q_t, q_s)
    else:  # cross-entropy to the soft targets
        term = -sum(p * math.log(q) for p, q in zip(q_t, q_s, strict=True))
    w = 1 - a if swap else a
    return (1 - w) * hard + w * (t * t if t2 else 1.0) * term


def test_the_distillation_loss_accepts_kl_and_cross_entropy(capsys):
    checks.check_distillation_loss(distillation)
    assert capsys.readouterr().out.startswith("Correct: the distillation loss (5 cases checked)")
    checks.check_distillation_loss(lambda *args: distillation(*args, soft="ce"))
    out = capsys.readouterr().out
    assert out.startswith("Correct:") and "teacher's entropy" in out


def test_the_distillation_loss_accepts_numpy_scalars(capsys):
    checks.check_distillation_loss(lambda *args: np.float32(distillation(*args)))
    assert capsys.readouterr().out.startswith("Correct:")


def test_the_distillation_loss_agrees_with_the_training_loss_by_hand():
    # one case worked through: T = 2, alpha = 0.25, label 0
    zs, zt = [1.0, 0.0], [2.0, 0.0]
    by_hand = 0.75 * math.log(1 + math.exp(-1.0))  # -log softmax(zs)[0]
    q_t = [1 / (1 + math.exp(-1.0)), 1 / (1 + math.exp(1.0))]  # softmax(zt / 2)
    q_s = [1 / (1 + math.exp(-0.5)), 1 / (1 + math.exp(0.5))]  # softmax(zs / 2)
    by_hand += 0.25 * 4 * sum(p * math.log(p / q) for p, q in zip(q_t, q_s, strict=True))
    from mobilecourse.checks.lesson08 import _package_loss

    assert _package_loss(zs, zt, 0, 2.0, 0.25) == pytest.approx(by_hand, rel=1e-6)


def probabilities_as_logits(zs, zt, y, t, a):
    return distillation(probs(zs), probs(zt), y, t, a)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *args: distillation(*args, t2=False), r"T\*\*2"),
        (lambda *args: distillation(*args, student_t=False), "student's soft output"),
        (lambda *args: distillation(*args, swap=True), "alpha weighs the soft"),
        (probabilities_as_logits, "divides logits, not probabilities"),
        (lambda *args: distillation(*args, reverse=True), "from the teacher to the student"),
        (lambda *args: distillation(*args, hard_t=True), "at T = 1"),
    ],
)
def test_distillation_loss_mistakes_are_named(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        checks.check_distillation_loss(wrong)


def test_distillation_loss_stub_and_missing_return(capsys):
    def stub(*args):
        raise NotImplementedError

    checks.check_distillation_loss(stub)
    assert "not attempted yet" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="forget `return`"):
        checks.check_distillation_loss(lambda *args: None)
    with pytest.raises(TypeError, match="fn must be"):
        checks.check_distillation_loss(3)
