"""The course's timing protocol: LiteRT latency that agrees with its text on any machine.

:func:`time_variants` times several models or ``.tflite`` files together: rounds alternate
between the variants, each variant reports the median of its rounds and their spread
(fastest to slowest round), small models are timed on batches so that the interpreter's
per-call overhead does not dominate, and :meth:`Timing.faster_than` claims a difference
only when it exceeds both spreads (one round in four beyond the first set aside as a
possible outlier). Every lesson that times something uses it (also
available as ``mobilecourse.bench.time_variants``).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from mobilecourse._validate import integer

__all__ = [
    "MIN_CALL_MS",
    "MIN_ROUNDS",
    "ColdStart",
    "Timing",
    "cold_start",
    "time_variants",
    "timing_table",
]

#: Fewest rounds :func:`time_variants` accepts: with fewer, the spread says nothing.
MIN_ROUNDS = 3

#: Shortest call :func:`time_variants` accepts, in milliseconds. A LiteRT call costs about
#: a microsecond on a desktop core whatever the model (more on a phone); below this the
#: overhead would be a large part of what is timed.
MIN_CALL_MS = 0.01


@dataclass(frozen=True)
class Timing:
    """One variant timed by the course's protocol (:func:`time_variants`).

    Each round times ``runs`` calls of ``batch`` images and keeps their median; the
    rounds alternate between the variants, so a change of the CPU's speed during the
    measurement (another program, a frequency change) hits every variant alike.

    Attributes:
        round_ms: each round's median for one call, in the order timed.
        batch: images per call.
        threads: interpreter threads.
        runs: timed calls per round.
        tflite_bytes: size of the timed ``.tflite`` file.
    """

    round_ms: tuple[float, ...]
    batch: int
    threads: int
    runs: int
    tflite_bytes: int

    def __post_init__(self):
        if len(self.round_ms) < 1:
            raise ValueError("round_ms must hold at least one round")

    @property
    def rounds(self) -> int:
        """Rounds timed."""
        return len(self.round_ms)

    @property
    def median_ms(self) -> float:
        """Median over the rounds of each round's median, for one call."""
        return statistics.median(self.round_ms)

    @property
    def low_ms(self) -> float:
        """The fastest round's median."""
        return min(self.round_ms)

    @property
    def high_ms(self) -> float:
        """The slowest round's median."""
        return max(self.round_ms)

    @property
    def spread_ms(self) -> float:
        """Slowest minus fastest round median: the run-to-run noise of this measurement."""
        return self.high_ms - self.low_ms

    @property
    def per_image_ms(self) -> float:
        """``median_ms / batch``."""
        return self.median_ms / self.batch

    @property
    def outlier_rounds(self) -> int:
        """Rounds set aside at each end before a claim: one in four beyond the first.

        0 for 3 or 4 rounds, 1 for 5 to 8, 2 for 9 to 12. A round that another program
        disturbed (a slowdown of 2x is common on a laptop) then cannot decide a claim.
        """
        return (self.rounds - 1) // 4

    @property
    def typical_low_ms(self) -> float:
        """The fastest round's median once :attr:`outlier_rounds` are set aside."""
        return sorted(self.round_ms)[self.outlier_rounds]

    @property
    def typical_high_ms(self) -> float:
        """The slowest round's median once :attr:`outlier_rounds` are set aside."""
        return sorted(self.round_ms)[-1 - self.outlier_rounds]

    def faster_than(self, other: Timing) -> bool:
        """True only if this variant's slowest typical round beats ``other``'s fastest.

        With :attr:`outlier_rounds` set aside at both ends of both variants (one of five
        rounds), so one disturbed round neither makes nor breaks a claim.
        """
        if not isinstance(other, Timing):
            raise TypeError(f"other must be a Timing, got {type(other).__name__}")
        if (other.batch, other.threads) != (self.batch, self.threads):
            raise ValueError(
                "timings compare only at the same batch and threads, got "
                f"batch {self.batch} / {other.batch}, threads {self.threads} / {other.threads}"
            )
        return self.typical_high_ms < other.typical_low_ms

    def compare(self, other: Timing) -> str:
        """``"faster"``, ``"slower"`` or ``"the same within the spread"`` than ``other``."""
        if self.faster_than(other):
            return "faster"
        if other.faster_than(self):
            return "slower"
        return "the same within the spread"

    def __str__(self) -> str:
        return f"{self.median_ms:.3f} ms (rounds {self.low_ms:.3f} to {self.high_ms:.3f})"


def time_variants(
    variants,
    *,
    batch: int = 1,
    threads: int = 1,
    rounds: int = 5,
    runs: int = 20,
    warmup: int = 2,
) -> dict[str, Timing]:
    """The course's timing protocol: LiteRT, alternating rounds, median and spread.

    Every variant gets its own interpreter (``threads`` threads, input resized to
    ``batch`` images). Then, ``rounds`` times, each variant in turn makes ``warmup``
    untimed and ``runs`` timed calls (:func:`mobilecourse.tflite.invoke_times`), and the
    round's median is kept. A variant's result is the median of its round medians,
    with the fastest and slowest round as its spread. Claim that one variant is faster
    than another only when :meth:`Timing.faster_than` says so.

    Args:
        variants: ``{name: keras.Model or .tflite bytes}``; a Keras model is converted to
            float32 TFLite first.
        batch: images per call (>= 1). Batch small models until one call takes well over
            :data:`MIN_CALL_MS`, so the per-call overhead does not dominate.
        threads: interpreter threads (1 = one core, as the papers' phone numbers).
        rounds: alternating rounds (>= :data:`MIN_ROUNDS`).
        runs: timed calls per variant and round (>= 1).
        warmup: untimed calls per variant and round (>= 0).

    Returns:
        ``{name: Timing}`` in the order of ``variants``.

    Raises:
        TypeError: ``variants`` is not a dict; a variant that is neither bytes nor a
            Keras model.
        ValueError: no variants, a bad number, or a variant whose calls take less than
            :data:`MIN_CALL_MS` (time it on a larger batch).
    """
    from mobilecourse import tflite

    if not hasattr(variants, "items"):
        raise TypeError(f"variants must be a dict {{name: model or bytes}}, got {variants!r}")
    if not variants:
        raise ValueError("variants must be a non-empty dict {name: model or bytes}, got {}")
    batch = integer(batch, "batch")
    threads = integer(threads, "threads")
    rounds = integer(rounds, "rounds", MIN_ROUNDS)
    runs = integer(runs, "runs")
    warmup = integer(warmup, "warmup", 0)
    files = {}
    for name, variant in variants.items():
        files[name] = (
            bytes(variant) if isinstance(variant, (bytes, bytearray)) else tflite.to_tflite(variant)
        )
    interpreters = {
        name: tflite.interpreter(flatbuffer, threads=threads, batch=batch)
        for name, flatbuffer in files.items()
    }
    medians: dict[str, list[float]] = {name: [] for name in files}
    for _ in range(rounds):
        for name, interp in interpreters.items():
            medians[name].append(statistics.median(tflite.invoke_times(interp, runs, warmup)))
    timings = {
        name: Timing(tuple(values), batch, threads, runs, tflite_bytes=len(files[name]))
        for name, values in medians.items()
    }
    for name, timing in timings.items():
        if timing.median_ms < MIN_CALL_MS:
            raise ValueError(
                f"variant {name!r} takes {1000 * timing.median_ms:.1f} us per call, too little "
                f"to time apart from the interpreter's overhead (>= {MIN_CALL_MS} ms): time it "
                f"on a larger batch (batch={batch} now)"
            )
    return timings


@dataclass(frozen=True)
class ColdStart:
    """What an app waits for the first time it runs a model (:func:`cold_start`).

    Attributes:
        load_ms: creating the interpreter from the file's bytes and planning its memory
            (``allocate_tensors``), XNNPACK's set-up included.
        first_ms: the first ``invoke()``.
        steady_ms: the calls after it, in order.
        threads: interpreter threads.
        batch: images per call.
        file_bytes: size of the ``.tflite`` file.
    """

    load_ms: float
    first_ms: float
    steady_ms: tuple[float, ...]
    threads: int
    batch: int
    file_bytes: int

    @property
    def steady_median_ms(self) -> float:
        """Median of the calls after the first."""
        return statistics.median(self.steady_ms)

    @property
    def first_over_steady(self) -> float:
        """The first call's time in units of a steady call."""
        return self.first_ms / self.steady_median_ms


def cold_start(flatbuffer, *, threads: int = 1, batch: int = 1, runs: int = 20) -> ColdStart:
    """Time loading a ``.tflite`` file, its first call and the calls after it.

    One measurement, not a protocol: a single load and a single first call are each one
    draw, so repeat :func:`cold_start` to see their spread before comparing two files.

    Args:
        flatbuffer: the file's bytes.
        threads: interpreter threads (>= 1).
        batch: images per call (>= 1).
        runs: steady calls timed after the first (>= 1).

    Raises:
        TypeError: ``flatbuffer`` is not bytes.
        ValueError: a bad ``threads``, ``batch`` or ``runs``.
    """
    from mobilecourse import tflite

    if not isinstance(flatbuffer, (bytes, bytearray)):
        raise TypeError(
            f"flatbuffer must be a .tflite file's bytes, got {type(flatbuffer).__name__}"
        )
    threads = integer(threads, "threads")
    batch = integer(batch, "batch")
    runs = integer(runs, "runs")
    start = time.perf_counter()
    interp = tflite.interpreter(bytes(flatbuffer), threads=threads, batch=batch)
    load_ms = (time.perf_counter() - start) * 1000
    first, *steady = tflite.invoke_times(interp, runs + 1)
    return ColdStart(load_ms, first, tuple(steady), threads, batch, len(flatbuffer))


def timing_table(timings: dict[str, Timing], reference: str | None = None):
    """:func:`time_variants`' result as a table, optionally relative to one variant.

    Returns:
        A ``pandas.DataFrame`` indexed by variant with the columns ``median (ms)``,
        ``fastest round (ms)``, ``slowest round (ms)`` and, with ``reference``,
        ``time vs <reference>`` (median over the reference's median) and ``<reference>``
        (``faster``, ``slower`` or ``the same within the spread``).

    Raises:
        ValueError: ``reference`` is not one of the variants.
    """
    import pandas as pd

    table = pd.DataFrame(
        {
            "median (ms)": {k: t.median_ms for k, t in timings.items()},
            "fastest round (ms)": {k: t.low_ms for k, t in timings.items()},
            "slowest round (ms)": {k: t.high_ms for k, t in timings.items()},
        }
    )
    if reference is not None:
        if reference not in timings:
            raise ValueError(f"reference must be one of {list(timings)}, got {reference!r}")
        ref = timings[reference]
        table[f"time vs {reference}"] = table["median (ms)"] / ref.median_ms
        table[f"vs {reference}"] = {k: t.compare(ref) for k, t in timings.items()}
    return table
