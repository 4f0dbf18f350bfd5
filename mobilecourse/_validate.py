"""Argument checks shared by every module: one wording for every bad-input message.

Each function returns the value normalised (``int``, ``float``, ``bool``, ``str``) or
raises an error naming the argument, the allowed values and what was given: ``TypeError``
for a value of the wrong type (a string where a number belongs, ``True`` for a count),
``ValueError`` for a value of the right type outside what is allowed. No Keras import at
module level: :mod:`mobilecourse.costs` uses these too.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "axis",
    "boolean",
    "built_model",
    "choice",
    "dataset",
    "fraction",
    "integer",
    "items",
    "layer_names",
    "positive_number",
    "real",
    "real_array",
    "shape",
]


def _is_number(value: object, kind=numbers.Real) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def integer(
    value: object,
    name: str,
    minimum: int = 1,
    what: str | None = None,
    maximum: int | None = None,
) -> int:
    """``value`` as an int from ``minimum`` to ``maximum`` (no upper limit by default).

    Raises:
        TypeError: not an integer (``bool`` and floats such as ``2.0`` included).
        ValueError: below ``minimum`` or above ``maximum``.
    """
    if what is None:
        if maximum is not None:
            what = f"an integer from {minimum} to {maximum}"
        else:
            what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if not _is_number(value, numbers.Integral):
        raise TypeError(f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def real(value: object, name: str) -> float:
    """``value`` as a finite float.

    Raises:
        TypeError: not a real number (``bool`` included).
        ValueError: infinite or NaN.
    """
    if not _is_number(value):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def real_array(value: object, name: str):
    """``value`` as a non-empty float64 NumPy array of finite numbers.

    Raises:
        TypeError: not convertible to an array of real numbers.
        ValueError: empty, or holding an infinity or NaN.
    """
    import numpy as np

    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be an array of real numbers, got {type(value).__name__}"
        ) from None
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite values only")
    return array


def axis(value: object, name: str, ndim: int) -> int:
    """``value`` as an axis of an array with ``ndim`` dimensions, counted from 0.

    Raises:
        TypeError: not an integer.
        ValueError: outside ``[-ndim, ndim)``.
    """
    if not _is_number(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer or None, got {value!r}")
    if not -ndim <= value < ndim:
        raise ValueError(f"{name} must be in [{-ndim}, {ndim}), got {value!r}")
    return int(value) % ndim


def positive_number(value: object, name: str) -> float:
    """``value`` as a float > 0.

    Raises:
        TypeError: not a real number (``bool`` included).
        ValueError: zero, negative or NaN.
    """
    if not _is_number(value):
        raise TypeError(f"{name} must be a positive number, got {value!r} ({type(value).__name__})")
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def fraction(value: object, name: str) -> float:
    """``value`` as a float in [0, 1) (a sparsity, a share of filters to remove).

    Raises:
        TypeError: not a real number (``bool`` included).
        ValueError: outside [0, 1).
    """
    if not _is_number(value):
        raise TypeError(
            f"{name} must be a number in [0, 1), got {value!r} ({type(value).__name__})"
        )
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def boolean(value: object, name: str) -> bool:
    """``value`` if it is exactly ``True`` or ``False``.

    Raises:
        TypeError: anything else (0 and 1, strings).
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
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


def items(value: object, name: str, kind: type, what: str) -> list:
    """``value`` as a non-empty list whose items are all ``kind`` instances.

    Raises:
        TypeError: not a tuple or list of ``kind`` (``what`` says it in words).
        ValueError: empty.
    """
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, kind) for v in value):
        raise TypeError(f"{name} must be a tuple of {what}, got {value!r}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return list(value)


def dataset(value: object, name: str = "data"):
    """``value = (x, y)`` as NumPy arrays: inputs and integer labels, one per sample.

    One-hot label rows ``(n, classes)`` become integer labels.

    Raises:
        TypeError: not a pair ``(x, y)``.
        ValueError: empty, or ``x`` and ``y`` of different lengths, or labels that are
            neither ``(n,)`` nor ``(n, classes)``.
    """
    import numpy as np

    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(
            f"{name} must be a pair (x, y) of inputs and labels, got {type(value).__name__}"
        )
    x, y = np.asarray(value[0]), np.asarray(value[1])
    if y.ndim == 2:
        y = y.argmax(axis=1)
    if x.ndim < 1 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"{name} must hold as many (>= 1) inputs as integer labels, got x of shape "
            f"{x.shape} and y of shape {np.asarray(value[1]).shape}"
        )
    return x, y
