"""Self-checking exercises for the lessons.

Every exercise asks for a function. A checker calls it on a few cases and
compares the answers with the package's reference formula:

* all answers right: prints ``Correct: ...``;
* the function still raises ``NotImplementedError`` (the student release's
  stub): prints ``... not attempted yet``, so a student notebook still runs
  top to bottom;
* a wrong answer: raises :class:`CheckFailed` (an ``AssertionError``). When
  the answer matches a classic mistake, the message names the mistake and
  gives a hint.

New exercises add a ``check_*`` function built on :func:`check_function`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mobilecourse import costs
from mobilecourse.units import MIB

__all__ = [
    "NOT_ATTEMPTED",
    "CheckFailed",
    "Mistake",
    "check_conv_macs",
    "check_conv_output_size",
    "check_function",
    "check_model_size_mib",
    "check_receptive_field",
    "check_weight_fetch_energy_mj",
]

#: What a checker prints for an exercise whose stub still raises ``NotImplementedError``.
NOT_ATTEMPTED = "not attempted yet"


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


def _same(got: Any, want: Any, rel_tol: float) -> bool:
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
            print(
                f"{exercise}: {NOT_ATTEMPTED} (replace `raise NotImplementedError` with your code)"
            )
            return
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


# ------------------------------------------------------------ lesson 00


def _dram_read_pj() -> float:
    from mobilecourse.data import paper_table

    table = paper_table("energy")
    row = table[(table["operation"] == "DRAM read") & (table["bits"] == 32)]
    return float(row["energy_pj"].iloc[0])


def _sram_read_pj() -> float:
    from mobilecourse.data import paper_table

    table = paper_table("energy")
    row = table[(table["operation"] == "SRAM cache read") & (table["bits"] == 32)]
    return float(row["energy_pj"].iloc[0])


def check_model_size_mib(fn: Callable[[int, int], float]) -> None:
    """Lesson 00: ``fn(params, bits)`` is the model size in MiB at ``bits`` bits per weight."""
    check_function(
        "model size in MiB",
        fn,
        cases=[(4_231_976, 32), (1_248_424, 8), (3_470_760, 4), (1_248_424, 6)],
        reference=lambda p, b: costs.model_size_bytes(p, b) / MIB,
        mistakes=[
            Mistake("That counts bits, not bytes: a byte has 8 bits.", lambda p, b: p * b / MIB),
            Mistake(
                "That is in decimal megabytes (10**6 bytes); a MiB is 2**20 = 1,048,576 bytes.",
                lambda p, b: p * b / 8 / 1e6,
            ),
            Mistake(
                "The size depends on the bits per weight: use `bits`, not a fixed 32.",
                lambda p, b: p * 4 / MIB,
            ),
        ],
    )


def check_weight_fetch_energy_mj(fn: Callable[[int], float]) -> None:
    """Lesson 00: ``fn(params)`` is the energy in mJ to read every 32-bit weight once from DRAM."""
    dram, sram = _dram_read_pj(), _sram_read_pj()
    check_function(
        "energy to fetch the weights",
        fn,
        cases=[(4_231_976,), (1_248_424,), (60_000_000,)],
        reference=lambda p: p * dram * 1e-9,
        mistakes=[
            Mistake(
                "That uses the SRAM cost; weights this large do not fit on chip, "
                "so they come from DRAM.",
                lambda p: p * sram * 1e-9,
            ),
            Mistake("That is in joules: 1 pJ = 1e-12 J = 1e-9 mJ.", lambda p: p * dram * 1e-12),
            Mistake(
                "That is in microjoules: 1 pJ = 1e-6 uJ but 1e-9 mJ.", lambda p: p * dram * 1e-6
            ),
        ],
    )


# ------------------------------------------------------------ lesson 01


def check_conv_output_size(fn: Callable[[int, int, int, str], int]) -> None:
    """Lesson 01: ``fn(size, kernel_size, strides, padding)`` is the output size along one axis."""
    check_function(
        "convolution output size",
        fn,
        cases=[
            (224, 3, 2, "same"),
            (7, 3, 2, "same"),
            (227, 11, 4, "valid"),
            (32, 5, 1, "valid"),
            (14, 3, 1, "same"),
        ],
        reference=costs.output_size,
        mistakes=[
            Mistake(
                'With padding="same" the output is the input divided by the stride, '
                "rounded up (ceil), not down.",
                lambda s, k, st, p: s // st if p == "same" else (s - k) // st + 1,
            ),
            Mistake(
                'With padding="valid" count the positions: floor((size - k) / stride) + 1; '
                "the +1 is missing.",
                lambda s, k, st, p: -(-s // st) if p == "same" else (s - k) // st,
            ),
            Mistake(
                'With padding="valid" the kernel also moves by the stride: divide by it.',
                lambda s, k, st, p: -(-s // st) if p == "same" else s - k + 1,
            ),
        ],
    )


def _conv_macs(shape, filters, kernel_size, strides, padding):
    return costs.conv2d(shape, filters, kernel_size, strides, padding).macs


def _conv_out(shape, filters, kernel_size, strides, padding):
    return costs.conv2d(shape, filters, kernel_size, strides, padding).output_shape


def check_conv_macs(fn: Callable[..., int]) -> None:
    """Lesson 01: ``fn(input_shape, filters, kernel_size, strides, padding)`` is a conv's MACs."""

    def per_input_position(shape, filters, k, s, p):
        return shape[0] * shape[1] * k * k * shape[2] * filters

    def with_bias(shape, filters, k, s, p):
        oh, ow, n = _conv_out(shape, filters, k, s, p)
        return _conv_macs(shape, filters, k, s, p) + oh * ow * n

    def no_input_channels(shape, filters, k, s, p):
        oh, ow, n = _conv_out(shape, filters, k, s, p)
        return oh * ow * k * k * n

    check_function(
        "convolution MACs",
        fn,
        cases=[
            ((112, 112, 32), 64, 3, 2, "same"),
            ((14, 14, 512), 512, 3, 1, "same"),
            ((32, 32, 16), 8, 5, 1, "valid"),
            ((224, 224, 3), 32, 3, 2, "same"),
        ],
        reference=_conv_macs,
        mistakes=[
            Mistake(
                "You used the input size. The kernel is applied once per *output* "
                "position, and with stride 2 there are 4x fewer of them.",
                per_input_position,
            ),
            Mistake(
                "Bias adds are not MACs: a MAC is a multiply-accumulate of a kernel "
                "weight with an input value.",
                with_bias,
            ),
            Mistake(
                "That is FLOPs (2 x MACs: a multiply and an add counted apart). "
                "Report multiply-accumulates.",
                lambda *a: 2 * _conv_macs(*a),
            ),
            Mistake(
                "Each filter looks at every input channel: multiply by the input channels too.",
                no_input_channels,
            ),
        ],
    )


def check_receptive_field(fn: Callable[[Sequence[int]], int]) -> None:
    """Lesson 01: ``fn(kernel_sizes)`` is the receptive field of stacked stride-1 convolutions."""
    check_function(
        "receptive field of a stack",
        fn,
        cases=[([3, 3],), ([3, 3, 3],), ([5],), ([1, 3],), ([7, 3, 1],)],
        reference=lambda ks: 1 + sum(k - 1 for k in ks),
        mistakes=[
            Mistake(
                "Adding the kernel sizes double-counts: neighbouring windows overlap, "
                "so each layer adds k - 1 pixels.",
                lambda ks: sum(ks),
            ),
            Mistake(
                "Receptive fields grow additively with stride 1, not multiplicatively.",
                lambda ks: math.prod(ks),
            ),
            Mistake("Every layer widens the view, not only the largest.", lambda ks: max(ks)),
        ],
    )
