"""The checking machinery shared by every lesson's checkers."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AUTOGRADER_ENV",
    "NOT_ATTEMPTED",
    "CheckFailed",
    "Mistake",
    "check_function",
    "not_attempted",
]

#: What a checker prints for an exercise whose stub still raises ``NotImplementedError``.
NOT_ATTEMPTED = "not attempted yet"

#: Set (to any non-empty value) by nbgrader's autograder while it runs a submission.
AUTOGRADER_ENV = "NBGRADER_EXECUTION"


class CheckFailed(AssertionError):
    """An exercise answer is wrong; the message says which case and, if known, why."""


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: what it returns for given arguments, and the hint to show.

    Attributes:
        hint: one or two sentences that point at the fix without giving it away.
        answer: the mistaken formula, called with the same arguments as the
            student's function.
    """

    hint: str
    answer: Callable[..., Any]


def not_attempted(exercise: str) -> None:
    """Report an exercise whose stub still raises ``NotImplementedError``.

    In a student's notebook this prints "... not attempted yet", so the notebook runs top
    to bottom. Under nbgrader's autograder (:data:`AUTOGRADER_ENV` set) it raises
    :class:`CheckFailed` instead, so the exercise's check cell scores 0.

    Args:
        exercise: the exercise's title.

    Raises:
        CheckFailed: under the autograder.
    """
    message = f"{exercise}: {NOT_ATTEMPTED} (replace `raise NotImplementedError` with your code)"
    if os.environ.get(AUTOGRADER_ENV):
        raise CheckFailed(message)
    print(message)


def _same(got: Any, want: Any, rel_tol: float) -> bool:
    if isinstance(want, (tuple, list)) and hasattr(got, "__len__") and not isinstance(got, str):
        # a list, tuple or 1-D array answer compares element by element
        got = list(got)
        return len(got) == len(want) and all(
            _same(g, w, rel_tol) for g, w in zip(got, want, strict=False)
        )
    if isinstance(got, bool) or isinstance(want, bool):
        return got is want
    if isinstance(got, numbers.Real) and isinstance(want, numbers.Real):
        if isinstance(got, numbers.Integral) and isinstance(want, numbers.Integral):
            return int(got) == int(want)
        return math.isclose(float(got), float(want), rel_tol=rel_tol, abs_tol=0.0)
    return got == want


def _call_text(fn: Callable[..., Any], args: Sequence[Any]) -> str:
    name = getattr(fn, "__name__", "your function")
    return f"{name}({', '.join(repr(a) for a in args)})"


def check_function(
    exercise: str,
    fn: Callable[..., Any],
    cases: Sequence[Sequence[Any]],
    reference: Callable[..., Any],
    mistakes: Sequence[Mistake] = (),
    rel_tol: float = 1e-9,
) -> None:
    """Check a student's function against a reference on several cases.

    Args:
        exercise: the exercise's title, used in every message.
        fn: the student's function.
        cases: argument tuples to call ``fn`` and ``reference`` with.
        reference: the correct formula.
        mistakes: classic mistakes to recognise, tried in order.
        rel_tol: relative tolerance for float answers (integers compare exactly).

    Returns:
        ``None`` (so a check cell shows only the printed message).

    Raises:
        TypeError: ``fn`` is not callable.
        CheckFailed: an answer is wrong.
    """
    if not callable(fn):
        raise TypeError(f"fn must be the function you wrote for {exercise!r}, got {fn!r}")
    for args in cases:
        try:
            got = fn(*args)
        except NotImplementedError:
            return not_attempted(exercise)
        want = reference(*args)
        if _same(got, want, rel_tol):
            continue
        call = _call_text(fn, args)
        if got is None:
            raise CheckFailed(f"{exercise}: {call} returned None. Did you forget `return`?")
        for mistake in mistakes:
            if _same(got, mistake.answer(*args), rel_tol):
                raise CheckFailed(
                    f"{exercise}: {call} returned {got!r}, expected {want!r}. {mistake.hint}"
                )
        raise CheckFailed(f"{exercise}: {call} returned {got!r}, expected {want!r}.")
    print(f"Correct: {exercise} ({len(cases)} cases checked).")
