"""Argument checks shared by every module: one wording for every bad-input message.

Each function returns the value normalised (``int``, ``float``, ``bool``, ``str``) or
raises ``ValueError`` naming the argument, the allowed values and what was given (the
newer checks raise ``TypeError`` for a value of the wrong type). No Keras import at
module level: :mod:`mobilecourse.costs` uses these too.
"""

from __future__ import annotations

import numbers

__all__ = [
    "boolean",
    "built_model",
    "choice",
    "fraction",
    "integer",
    "layer_names",
    "positive_number",
    "shape",
]


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


def built_model(value: object, name: str = "model"):
    """``value`` if it is a built ``keras.Model``.

    Raises:
        TypeError: it is not a ``keras.Model``.
        ValueError: it is not built.
    """
    import keras

    if not isinstance(value, keras.Model):
        raise TypeError(f"{name} must be a keras.Model, got {type(value).__name__}")
    if not value.built:
        raise ValueError(f"{name} {value.name!r} is not built; build it with an input shape")
    return value


def layer_names(value: object, name: str) -> list[str]:
    """Layer names from a name, a layer, or a list of either; ``None`` gives ``[]``.

    Raises:
        TypeError: ``value`` is neither, or holds something else.
    """
    import keras

    if value is None:
        return []
    if isinstance(value, (str, keras.layers.Layer)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name} must be a layer name or a list of names, got {value!r}") from None
    out = []
    for item in items:
        if isinstance(item, keras.layers.Layer):
            item = item.name
        if not isinstance(item, str):
            raise TypeError(f"{name} must contain layer names (str), got {item!r}")
        out.append(item)
    return out
