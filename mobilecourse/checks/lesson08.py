"""Checkers for lesson 08: the deployment budget, distillation (soft targets, the loss),
MnasNet's reward."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from mobilecourse import deploy, training
from mobilecourse.checks._core import CheckFailed, Mistake, check_function, not_attempted

__all__ = [
    "check_budget",
    "check_design",
    "check_distillation_loss",
    "check_mnas_reward",
    "check_soft_targets",
]


# ---------------------------------------------------------------- the budget


def check_budget(
    measured: deploy.Measurement, budget: deploy.Budget = deploy.CAPSTONE_BUDGET, strict=True
) -> None:
    """Print every constraint of ``budget`` as met or missed, with both numbers.

    Args:
        measured: a :class:`deploy.Measurement` (``deploy.measure(...)``).
        budget: the brief; lesson 08's by default.
        strict: raise :class:`CheckFailed` when a measured constraint is missed (set
            ``False`` to only report, e.g. for a baseline that is expected to miss).

    Raises:
        CheckFailed: ``strict`` and at least one constraint missed.
    """
    verdicts = deploy.check_against(measured, budget)
    print("\n".join(_lines(verdicts)))
    missed = [v for v in verdicts if v.met is False]
    if missed and strict:
        raise CheckFailed(_missed_text(missed))
    if not missed:
        unmeasured = [v.constraint for v in verdicts if v.met is None]
        rest = f" ({', '.join(unmeasured)} not measured)" if unmeasured else ""
        print(f"Budget met: {sum(v.met is True for v in verdicts)} constraints{rest}.")


#: How a report line starts: met, missed, not measured.
_MARKS = {True: "[x]", False: "[ ]", None: "[?]"}


def _lines(verdicts: list[deploy.Verdict]) -> list[str]:
    return [f"{_MARKS[v.met]} {v.text}" for v in verdicts]


def _missed_text(missed: list[deploy.Verdict]) -> str:
    return "budget missed: " + "; ".join(v.text.replace("  MISSED", "") for v in missed)


def check_design(
    fn: Callable[[], object],
    reference: bytes | None = None,
    budget: deploy.Budget = deploy.CAPSTONE_BUDGET,
):
    """Lesson 08: ``fn()`` builds an untrained Keras model that fits the budget before training.

    The model is profiled (MACs, params), converted to a full-integer int8 ``.tflite``
    (calibrated on random images: the file's size and speed do not depend on the
    weights) and timed with LiteRT against ``reference`` (:func:`deploy.measure`).
    Accuracy needs training, so it is not checked here.

    Args:
        fn: the student's function.
        reference: the ``.tflite`` file the budget's relative latency refers to (in
            lesson 08, the teacher's float32 file).
        budget: the brief; lesson 08's by default.

    Raises:
        TypeError: ``fn`` is not callable.
        ValueError: the budget limits the relative latency and ``reference`` is missing.
        CheckFailed: ``fn()`` does not return a digit classifier, or a constraint is missed.
    """
    import keras

    from mobilecourse import tflite

    exercise = "a design that fits the budget"
    if not callable(fn):
        raise TypeError(f"fn must be the function you wrote for {exercise!r}, got {fn!r}")
    keras.utils.clear_session()
    try:
        model = fn()
    except NotImplementedError:
        return not_attempted(exercise)
    if budget.max_relative_latency is not None and reference is None:
        raise ValueError(
            "reference is required: the budget limits the latency relative to a reference "
            "model; pass its .tflite bytes (lesson 08: reference=teacher_float32)"
        )
    if not isinstance(model, keras.Model):
        raise CheckFailed(
            f"{exercise}: {fn.__name__}() must return a keras.Model, got {type(model).__name__}"
        )
    shape = tuple(model.inputs[0].shape[1:])
    outputs = model.outputs[0].shape[-1]
    if len(shape) != 3 or shape[-1] != 1 or any(d is None or d > 28 for d in shape[:2]):
        raise CheckFailed(
            f"{exercise}: the input must be (height, width, 1) grey images of at most 28x28 "
            f"(resize the digits down), got {shape}"
        )
    if outputs != 10:
        raise CheckFailed(f"{exercise}: the model must output 10 classes, got {outputs}")
    sample = np.random.default_rng(0).random((50, *shape), dtype=np.float32)
    flatbuffer = tflite.to_tflite(model, "int8", representative_data=sample)
    verdicts = deploy.check_against(deploy.measure(model, flatbuffer, reference=reference), budget)
    missed = [v for v in verdicts if v.met is False]
    if missed:
        print("\n".join(_lines(verdicts)))
        raise CheckFailed(f"{exercise}: {_missed_text(missed)}")
    print(
        f"Correct: {exercise} (MACs, params, int8 file and latency checked; train it to "
        "measure the accuracy)."
    )
    print("\n".join(_lines(verdicts)))


# ---------------------------------------------------------------- soft targets


def _softmax_of(z, temperature):
    return training.soft_targets(z, temperature).tolist()


def _exp(z, temperature, scale=None, normalise=True):
    """exp(z / T) (or exp(z * scale)), optionally normalised: classic wrong softmaxes."""
    factor = 1 / temperature if scale is None else scale
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(z, dtype="float64") * factor)
        return (e / e.sum() if normalise else e).tolist()


def check_soft_targets(fn: Callable[[object, float], object]) -> None:
    """Lesson 08: ``fn(logits, temperature)`` is ``softmax(logits / T)`` for one example."""
    exercise = "soft targets at temperature T"
    if not callable(fn):
        raise TypeError(f"fn must be the function you wrote for {exercise!r}, got {fn!r}")

    @functools.wraps(fn)
    def finite(logits, temperature):
        got = fn(logits, temperature)
        values = np.asarray(got, dtype="float64") if got is not None else None
        if values is not None and values.shape == (len(logits),) and not np.isfinite(values).all():
            raise CheckFailed(
                f"{exercise}: {fn.__name__}({logits!r}, {temperature!r}) returned {got!r}. "
                "exp(1000 / T) overflows to inf and inf / inf is nan. Subtract the largest "
                "logit first: softmax(z) = softmax(z - max(z))."
            )
        return got

    check_function(
        exercise,
        finite,
        cases=[
            ([2.0, 1.0, 0.1], 1.0),
            ([2.0, 1.0, 0.1], 4.0),
            ([5.0, -1.0, 0.0, 3.0], 2.0),
            ([0.3, 0.3], 10.0),
            ([1000.0, 990.0, 980.0], 1.0),
            ([4000.0, 3996.0], 4.0),
        ],
        reference=_softmax_of,
        mistakes=[
            Mistake(
                "The temperature divides the logits before the softmax: softmax(z / T). "
                "With T = 1 this is the ordinary softmax; a larger T must make it flatter.",
                lambda z, t: _softmax_of(z, 1.0),
            ),
            Mistake(
                "Divide the logits by T, do not multiply: a larger T must flatten the "
                "distribution, not sharpen it.",
                lambda z, t: _exp(z, t, scale=t),
            ),
            Mistake(
                "The outputs must sum to 1: divide exp(z / T) by its sum over the classes.",
                lambda z, t: _exp(z, t, normalise=False),
            ),
            Mistake(
                "The outputs must sum to 1: divide exp(z / T) by its sum over the classes.",
                lambda z, t: _exp(np.subtract(z, max(z)), t, normalise=False),
            ),
        ],
    )


# ---------------------------------------------------------------- the distillation loss


def _softmax(z, temperature=1.0):
    z = np.asarray(z, dtype="float64") / temperature
    e = np.exp(z - z.max())
    return e / e.sum()


def _kl(p, q):
    """KL(p || q) of two distributions."""
    return float(np.sum(p * (np.log(p) - np.log(q))))


def _loss_parts(student_logits, teacher_logits, label, temperature):
    """(hard cross-entropy, soft KL at T, the teacher's entropy at T) of one example."""
    hard = -float(np.log(_softmax(student_logits)[label]))
    q_t, q_s = _softmax(teacher_logits, temperature), _softmax(student_logits, temperature)
    return hard, _kl(q_t, q_s), -float(np.sum(q_t * np.log(q_t)))


def _package_loss(student_logits, teacher_logits, label, temperature, alpha):
    """``training.distillation_loss`` on one example given by logits (the reference)."""
    classes = len(student_logits)
    one_hot = np.eye(classes)[label]
    y_true = np.concatenate([one_hot, training.soft_targets(teacher_logits, temperature)])
    y_pred = _softmax(student_logits)  # the student's softmax output
    loss = training.distillation_loss(temperature, alpha)
    return float(np.asarray(loss(y_true[np.newaxis], y_pred[np.newaxis]))[0])


def _with_cross_entropy(student_logits, teacher_logits, label, temperature, alpha):
    """The same loss with cross-entropy to the soft targets instead of KL (also right:
    it differs by alpha T^2 times the teacher's entropy, which no gradient sees)."""
    entropy = _loss_parts(student_logits, teacher_logits, label, temperature)[2]
    base = _package_loss(student_logits, teacher_logits, label, temperature, alpha)
    return base + alpha * temperature**2 * entropy


def _wrong_loss(**change):
    """A classic wrong distillation loss, as a function of the exercise's arguments."""

    def loss(student_logits, teacher_logits, label, temperature, alpha):
        t_student = 1.0 if change.get("student_without_t") else temperature
        if change.get("probabilities"):  # softmax outputs fed where logits belong
            student_logits = _softmax(student_logits)
            teacher_logits = _softmax(teacher_logits)
        q_t = _softmax(teacher_logits, temperature)
        q_s = _softmax(student_logits, t_student)
        hard_t = temperature if change.get("hard_at_t") else 1.0
        hard = -float(np.log(_softmax(student_logits, hard_t)[label]))
        soft = _kl(q_s, q_t) if change.get("reverse_kl") else _kl(q_t, q_s)
        scale = 1.0 if change.get("no_t_squared") else temperature**2
        weight_soft = 1 - alpha if change.get("alpha_swapped") else alpha
        return (1 - weight_soft) * hard + weight_soft * scale * soft

    return loss


#: Each case: student logits, teacher logits, label, temperature, alpha. alpha != 1/2 and
#: T != 1 in the first case, so that each classic mistake fails there.
_DISTILLATION_CASES = [
    ([2.0, 1.0, 0.1], [3.0, 1.0, -1.0], 0, 4.0, 0.3),
    ([0.5, 2.5, -1.0, 0.0], [1.0, 3.0, 0.0, -2.0], 1, 2.0, 0.7),
    ([1.0, 0.0, 3.0], [0.0, 0.5, 2.0], 2, 1.0, 0.5),
    ([-1.0, 2.0, 0.0, 1.0, 0.5], [0.0, 4.0, -1.0, 2.0, 1.0], 3, 10.0, 0.9),
    ([0.2, -0.3, 1.5], [2.0, 0.0, 1.0], 0, 3.0, 0.0),
]


def check_distillation_loss(fn: Callable[..., float]) -> None:
    """Lesson 08: ``fn(student_logits, teacher_logits, label, temperature, alpha)`` is
    Hinton et al.'s distillation loss of one example, as ``training.distillation_loss``.

    Formula:
        ``(1 - alpha) * CE(y, softmax(z_s)) + alpha * T**2 * KL(softmax(z_t / T) ||
        softmax(z_s / T))``; the soft term may also be the cross-entropy to the soft
        targets (it differs by a constant, the teacher's entropy).
    """
    exercise = "the distillation loss"
    if not callable(fn):
        raise TypeError(f"fn must be the function you wrote for {exercise!r}, got {fn!r}")
    reference = _package_loss
    try:
        first = fn(*_DISTILLATION_CASES[0])
    except NotImplementedError:
        return not_attempted(exercise)
    cross_entropy_form = False
    if first is not None and not isinstance(first, (str, bytes)):
        try:
            value = float(np.asarray(first))
        except (TypeError, ValueError):
            value = None
        if value is not None and np.isclose(
            value, _with_cross_entropy(*_DISTILLATION_CASES[0]), rtol=1e-5, atol=0
        ):
            reference, cross_entropy_form = _with_cross_entropy, True

    @functools.wraps(fn)
    def as_float(*args):
        got = fn(*args)
        try:
            return float(np.asarray(got))  # a NumPy scalar or 0-d array is a number
        except (TypeError, ValueError):
            return got

    check_function(
        exercise,
        as_float,
        cases=_DISTILLATION_CASES,
        reference=reference,
        mistakes=[
            Mistake(
                "The soft term is multiplied by T**2: its gradients shrink as 1/T**2, and "
                "the factor keeps them the same size whatever T is.",
                _wrong_loss(no_t_squared=True),
            ),
            Mistake(
                "The student's soft output is also taken at temperature T: "
                "KL(softmax(z_t / T) || softmax(z_s / T)), not softmax(z_s).",
                _wrong_loss(student_without_t=True),
            ),
            Mistake(
                "alpha weighs the soft (teacher) term and 1 - alpha the hard (label) term, "
                "not the other way round.",
                _wrong_loss(alpha_swapped=True),
            ),
            Mistake(
                "The temperature divides logits, not probabilities: softmax(softmax(z) / T) "
                "is not a softened softmax(z). Use the logits themselves.",
                _wrong_loss(probabilities=True),
            ),
            Mistake(
                "The KL divergence goes from the teacher to the student: "
                "KL(q_teacher || q_student) = sum q_t (log q_t - log q_s).",
                _wrong_loss(reverse_kl=True),
            ),
            Mistake(
                "The hard term is the ordinary cross-entropy with the label, at T = 1: "
                "-log softmax(z_s)[label].",
                _wrong_loss(hard_at_t=True),
            ),
        ],
        rel_tol=1e-5,
    )
    if cross_entropy_form:
        print(
            "(You used the cross-entropy to the soft targets: it differs from the KL "
            "divergence by alpha T^2 times the teacher's entropy, a constant that no "
            "gradient sees, so it trains the same.)"
        )


# ---------------------------------------------------------------- MnasNet reward


def check_mnas_reward(fn: Callable[..., float]) -> None:
    """Lesson 08: ``fn(accuracy, latency_ms, target_ms, alpha, beta)`` is MnasNet's reward."""
    check_function(
        "MnasNet reward",
        fn,
        cases=[
            (0.9, 0.010, 0.010, -0.07, -0.07),
            (0.9, 0.020, 0.010, -0.07, -0.07),
            (0.8, 0.005, 0.010, -0.07, -0.07),
            (0.95, 0.004, 0.010, 0.0, -1.0),
            (0.95, 0.015, 0.010, 0.0, -1.0),
            (0.7, 0.030, 0.012, -0.05, -0.2),
            (0.7, 0.006, 0.012, -0.05, -0.2),
        ],
        reference=deploy.mnas_reward,
        mistakes=[
            Mistake(
                "The ratio is LAT / T (measured over target), not T / LAT: with a negative "
                "exponent a slower model must score lower.",
                lambda a, lat, t, al, be: a * (t / lat) ** (al if lat <= t else be),
            ),
            Mistake(
                "The exponent depends on the side of the target: w = alpha when LAT <= T, "
                "and beta when LAT > T.",
                lambda a, lat, t, al, be: a * (lat / t) ** (be if lat <= t else al),
            ),
            Mistake(
                "The exponent depends on the side of the target: w = alpha when LAT <= T, "
                "and beta when LAT > T.",
                lambda a, lat, t, al, be: a * (lat / t) ** al,
            ),
            Mistake(
                "(LAT / T) is raised to the power w, not multiplied by it.",
                lambda a, lat, t, al, be: a * (lat / t) * (al if lat <= t else be),
            ),
        ],
        rel_tol=1e-9,
    )
