"""Argument checks shared by every module: one wording for every bad-input message.

Each function returns the value normalised (``int``, ``float``, ``bool``, ``str``) or
raises ``ValueError`` naming the argument, the allowed values and what was given. No
Keras import here: :mod:`mobilecourse.costs` uses these too.
"""

from __future__ import annotations

import numbers

__all__ = ["boolean", "choice", "fraction", "integer", "positive_number", "shape"]


def integer(value: object, name: str, minimum: int = 1, what: str | None = None) -> int:
    """``value`` as an int >= ``minimum`` (``bool`` is refused)."""
    if what is None:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def positive_number(value: object, name: str) -> float:
    """``value`` as a float > 0 (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def fraction(value: object, name: str) -> float:
    """``value`` as a float in [0, 1) (a sparsity, a share of filters to remove)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def boolean(value: object, name: str) -> bool:
    """``value`` if it is exactly ``True`` or ``False`` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def choice(value: object, name: str, allowed: tuple) -> object:
    """``value`` if it is one of ``allowed``."""
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def shape(value: object, name: str, rank: int) -> tuple[int, ...]:
    """``value`` as a tuple of ``rank`` positive ints (a per-image shape such as
    ``(224, 224, 3)``).

    Raises:
        TypeError: ``value`` is not a tuple or list of integers.
        ValueError: it has another length, or a size below 1.
    """
    example = "(224, 224, 3)" if rank == 3 else f"a tuple of {rank} sizes"
    if not isinstance(value, (tuple, list)) or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in value
    ):
        raise TypeError(f"{name} must be a tuple of integers such as {example}, got {value!r}")
    if len(value) != rank or any(v < 1 for v in value):
        raise ValueError(f"{name} must be {rank} positive sizes such as {example}, got {value!r}")
    return tuple(int(v) for v in value)
