"""Design under a budget (lesson 08): constraints, measurements and a latency-aware search.

A deployment brief is a :class:`Budget`: limits on MACs, parameters, the ``.tflite``
file, its measured LiteRT latency and its accuracy. :func:`measure` takes those numbers
off a model and its exported file, and :func:`check_against` compares them, one
:class:`Verdict` per constraint. Latency is timed with the course's protocol
(:func:`mobilecourse.timing.time_variants`) on batches of :data:`LATENCY_BATCH` images, so
that the interpreter's per-call overhead does not dominate a small model's time; a limit
relative to a reference model timed in the same rounds holds on any CPU, where a limit in
milliseconds holds only on the machine it was set for.

The search part follows MnasNet (Tan et al. 2019): each candidate of a small design space
(width multiplier, input size, depth) is built, trained briefly, exported and
*timed*, and scored with :func:`mnas_reward`, which trades accuracy against measured
latency instead of MACs.
"""

from __future__ import annotations

import itertools
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

from mobilecourse._validate import integer, items, positive_number
from mobilecourse.units import KIB, format_bytes

__all__ = [
    "CAPSTONE_BUDGET",
    "LARGE_SEARCH_SPACE",
    "LATENCY_BATCH",
    "MNAS_HARD",
    "MAX_DEPTH",
    "MNAS_SOFT",
    "SMALL_SEARCH_SPACE",
    "Budget",
    "Candidate",
    "Measurement",
    "Verdict",
    "budget_table",
    "check_against",
    "depth_blocks",
    "measure",
    "mnas_reward",
    "pareto_mask",
    "search",
    "search_space",
]


# ---------------------------------------------------------------- the budget


@dataclass(frozen=True)
class Budget:
    """Limits a deployed model must meet; ``None`` means no limit on that quantity.

    Attributes:
        max_macs: multiply-accumulates per image (batch 1).
        max_params: parameters as Keras counts them (``model.count_params()``).
        max_file_bytes: size of the deployed ``.tflite`` file.
        max_latency_ms: LiteRT milliseconds per image (median, one thread, batches of
            :data:`LATENCY_BATCH`) on the machine the limit was set for.
        max_relative_latency: LiteRT time as a fraction of a reference model's, both
            timed together on the same CPU (0.5: "twice as fast as the reference").
        min_accuracy: top-1 accuracy of the deployed file on the test images.
    """

    max_macs: int | None = None
    max_params: int | None = None
    max_file_bytes: int | None = None
    max_latency_ms: float | None = None
    max_relative_latency: float | None = None
    min_accuracy: float | None = None

    def __post_init__(self):
        for field in fields(self):
            if getattr(self, field.name) is not None:
                positive_number(getattr(self, field.name), field.name)
        if self.min_accuracy is not None and self.min_accuracy > 1:
            raise ValueError(f"min_accuracy must be at most 1, got {self.min_accuracy!r}")


#: The brief of lesson 08's capstone: a digit classifier for a small device, at least twice
#: as fast on any CPU as the model the app ships today (lesson 07's network, the capstone's
#: teacher, exported as a float32 file).
CAPSTONE_BUDGET = Budget(
    max_macs=300_000,
    max_params=12_000,
    max_file_bytes=24 * KIB,
    max_relative_latency=0.5,
    min_accuracy=0.92,
)


@dataclass(frozen=True)
class Measurement:
    """What was measured of one design; ``None`` for a quantity not measured (yet).

    Attributes:
        macs: MACs per image, from :func:`mobilecourse.profile.profile_model`.
        params: ``model.count_params()``.
        file_bytes: length of the ``.tflite`` file.
        latency_ms: LiteRT milliseconds per image: the median time of a batch of
            :data:`LATENCY_BATCH` images on one thread, divided by the batch.
        relative_latency: that time over a reference model's, timed in the same rounds.
        accuracy: top-1 accuracy of the ``.tflite`` file on the test images.
    """

    macs: int | None = None
    params: int | None = None
    file_bytes: int | None = None
    latency_ms: float | None = None
    relative_latency: float | None = None
    accuracy: float | None = None


def _ms(value: float) -> str:
    return f"{value:.4f} ms"


def _times(value: float) -> str:
    return f"{value:.2f}x"


#: (budget field, measurement field, label, relation, formatter) per constraint.
_CONSTRAINTS: tuple[tuple[str, str, str, str, Callable[[float], str]], ...] = (
    ("max_macs", "macs", "MACs", "<=", lambda v: f"{int(v):,}"),
    ("max_params", "params", "params", "<=", lambda v: f"{int(v):,}"),
    ("max_file_bytes", "file_bytes", ".tflite file", "<=", format_bytes),
    ("max_latency_ms", "latency_ms", "LiteRT latency per image", "<=", _ms),
    ("max_relative_latency", "relative_latency", "LiteRT time vs reference", "<=", _times),
    ("min_accuracy", "accuracy", "test accuracy", ">=", lambda v: f"{v:.3f}"),
)


@dataclass(frozen=True)
class Verdict:
    """One constraint of a budget checked against a measurement.

    Attributes:
        constraint: what is limited (``"MACs"``, ``".tflite file"``, ...).
        relation: ``"<="`` for a maximum, ``">="`` for a minimum.
        limit: the budget's number.
        measured: the measured number, ``None`` if not measured.
        met: ``True``/``False``, or ``None`` if not measured.
        limit_text: the limit in the constraint's unit (``"24.0 KiB"``).
        measured_text: the measurement in that unit, ``None`` if not measured.
        text: a one-line account with both numbers.
    """

    constraint: str
    relation: str
    limit: float
    measured: float | None
    met: bool | None
    limit_text: str
    measured_text: str | None
    text: str


def check_against(measured: Measurement, budget: Budget = CAPSTONE_BUDGET) -> list[Verdict]:
    """Compare a measurement with every limit the budget sets, in a fixed order.

    Args:
        measured: a :class:`Measurement` (quantities left ``None`` are "not measured").
        budget: the :class:`Budget`.

    Returns:
        One :class:`Verdict` per limit set in ``budget``.

    Raises:
        TypeError: the arguments are not a Measurement and a Budget.
    """
    if not isinstance(measured, Measurement):
        raise TypeError(f"measured must be a deploy.Measurement, got {type(measured).__name__}")
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a deploy.Budget, got {type(budget).__name__}")
    verdicts = []
    for limit_field, value_field, label, relation, fmt in _CONSTRAINTS:
        limit = getattr(budget, limit_field)
        if limit is None:
            continue
        value = getattr(measured, value_field)
        limit_text, value_text = fmt(limit), None if value is None else fmt(value)
        if value is None:
            met, text = None, f"{label}: not measured (limit {relation} {limit_text})"
        else:
            met = value <= limit if relation == "<=" else value >= limit
            state = "met" if met else "MISSED"
            text = f"{label}: {value_text} {relation if met else _negate(relation)} {limit_text}"
            text = f"{text}  {state}"
            if not met and relation == "<=":
                text += f" ({value / limit:.2f}x the limit)"
        verdicts.append(Verdict(label, relation, limit, value, met, limit_text, value_text, text))
    return verdicts


def _negate(relation: str) -> str:
    return ">" if relation == "<=" else "<"


def budget_table(measurements: dict[str, Measurement], budget: Budget = CAPSTONE_BUDGET):
    """Several designs against one budget as a table: a column per design.

    Args:
        measurements: ``{design name: Measurement}``.
        budget: the :class:`Budget`.

    Returns:
        A ``pandas.DataFrame`` indexed by constraint (with its limit) whose cells read
        ``"<number> met"``, ``"<number> MISSED"`` or ``"not measured"``, and a last row
        ``"budget"`` saying whether every measured constraint is met.
    """
    import pandas as pd

    columns = {}
    for name, measured in measurements.items():
        verdicts = check_against(measured, budget)
        cells = {
            f"{v.constraint} {v.relation} {v.limit_text}": "not measured"
            if v.met is None
            else f"{v.measured_text} {'met' if v.met else 'MISSED'}"
            for v in verdicts
        }
        missed = [v.constraint for v in verdicts if v.met is False]
        cells["budget"] = "MISSED: " + ", ".join(missed) if missed else "met"
        columns[name] = cells
    return pd.DataFrame(columns)


# ---------------------------------------------------------------- measuring a design


#: Images per timed LiteRT call: the digit models run in microseconds per image, about
#: the interpreter's fixed cost per call, so they are timed on batches (a page of digits).
LATENCY_BATCH = 64


def measure(model, flatbuffer: bytes | None = None, test=None, reference: bytes | None = None):
    """Measure a design: MACs and params of the Keras model, size, latency, accuracy of its file.

    Args:
        model: the Keras model (the one the file was converted from).
        flatbuffer: the deployed ``.tflite`` bytes; without it size, latency and
            accuracy are left unmeasured.
        test: ``(x, y)`` test images and integer labels for the file's accuracy
            (run through LiteRT one image at a time); ``None`` leaves it unmeasured.
        reference: another ``.tflite`` file to time the design against (the relative
            latency); ``None`` leaves the relative latency unmeasured.

    Returns:
        A :class:`Measurement`. Latency comes from :func:`mobilecourse.timing.time_variants`
        on batches of :data:`LATENCY_BATCH` images, one thread, alternating with
        ``reference`` when it is given.

    Raises:
        ValueError: ``reference`` without ``flatbuffer``.
    """
    from mobilecourse import timing, training
    from mobilecourse.profile import profile_model

    if reference is not None and flatbuffer is None:
        raise ValueError("reference needs flatbuffer: there is no file to time against it")
    file_bytes = latency = relative = accuracy = None
    if flatbuffer is not None:
        file_bytes = len(flatbuffer)
        variants = {"design": flatbuffer}
        if reference is not None:
            variants["reference"] = reference
        timings = timing.time_variants(variants, batch=LATENCY_BATCH)
        latency = timings["design"].per_image_ms
        if reference is not None:
            relative = timings["design"].median_ms / timings["reference"].median_ms
        if test is not None:
            accuracy = training.accuracy(flatbuffer, test)
    return Measurement(
        macs=profile_model(model).macs,
        params=model.count_params(),
        file_bytes=file_bytes,
        latency_ms=latency,
        relative_latency=relative,
        accuracy=accuracy,
    )


# ---------------------------------------------------------------- latency-aware search

#: MnasNet's soft latency constraint: w = -0.07 on both sides of the target.
MNAS_SOFT = (-0.07, -0.07)
#: MnasNet's hard constraint: no reward above the target's accuracy below it, -1 above.
MNAS_HARD = (0.0, -1.0)


def mnas_reward(
    accuracy: float,
    latency_ms: float,
    target_ms: float,
    alpha: float = MNAS_SOFT[0],
    beta: float = MNAS_SOFT[1],
) -> float:
    """The MnasNet search reward of one model.

    Formula:
        ``ACC * (LAT / T) ** w`` with ``w = alpha`` if ``LAT <= T`` else ``beta``
        (Tan et al. 2019, eq. 2). With ``alpha = beta = -0.07`` twice the latency costs
        about 5 % of the reward (``2 ** -0.07 = 0.953``) whichever side of ``T`` it is.

    Args:
        accuracy: in [0, 1].
        latency_ms: measured latency, > 0.
        target_ms: the target latency ``T``, > 0.
        alpha: exponent at or below the target (<= 0).
        beta: exponent above the target (<= 0).

    Raises:
        ValueError: an accuracy outside [0, 1], a non-positive latency or target, or a
            positive exponent.
    """
    if (
        isinstance(accuracy, bool)
        or not isinstance(accuracy, numbers.Real)
        or not (0 <= accuracy <= 1)
    ):
        raise ValueError(f"accuracy must be a number in [0, 1], got {accuracy!r}")
    latency_ms = positive_number(latency_ms, "latency_ms")
    target_ms = positive_number(target_ms, "target_ms")
    for name, value in (("alpha", alpha), ("beta", beta)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value > 0:
            raise ValueError(f"{name} must be a number <= 0, got {value!r}")
    w = alpha if latency_ms <= target_ms else beta
    return float(accuracy) * (latency_ms / target_ms) ** w


def pareto_mask(costs: Sequence[float], accuracies: Sequence[float]) -> list[bool]:
    """Which points are Pareto-optimal: no other point is as cheap and as accurate, and
    strictly better in one of the two.

    Args:
        costs: latency, MACs, ... (lower is better).
        accuracies: same length (higher is better).

    Returns:
        A list of booleans, ``True`` for points on the front.

    Raises:
        ValueError: sequences of different lengths.
    """
    costs, accuracies = list(costs), list(accuracies)
    if len(costs) != len(accuracies):
        raise ValueError(
            f"costs and accuracies must have the same length, got {len(costs)} and "
            f"{len(accuracies)}"
        )
    points = list(zip(costs, accuracies, strict=True))
    return [
        not any(c <= cost and a >= acc and (c < cost or a > acc) for c, a in points)
        for cost, acc in points
    ]


@dataclass(frozen=True)
class Candidate:
    """One point of the design space: ``digits_cnn`` scaled in width, input size and depth.

    Attributes:
        width: width multiplier of every layer.
        input_size: input height and width (the digits are resized to it).
        depth: number of depthwise separable blocks (1 to :data:`MAX_DEPTH`).
    """

    width: float
    input_size: int
    depth: int

    def __post_init__(self):
        positive_number(self.width, "width")
        integer(self.input_size, "input_size", 8)
        _check_depth(self.depth)

    @property
    def name(self) -> str:
        return f"w{self.width:g}_r{self.input_size}_d{self.depth}"

    def build(self, classes: int = 10):
        """The Keras model of this candidate (``models.digits_cnn`` with these settings)."""
        from mobilecourse import models

        return models.digits_cnn(
            width=self.width,
            input_shape=(self.input_size, self.input_size, 1),
            classes=classes,
            blocks=depth_blocks(self.depth),
            name=f"digits_{self.name}",
        )


#: The deepest candidate: ``digits_cnn``'s three separable blocks and one more.
MAX_DEPTH = 4


def _check_depth(depth) -> int:
    """``depth`` as an int from 1 to :data:`MAX_DEPTH`, or an error naming it."""
    return integer(depth, "depth", 1, maximum=MAX_DEPTH)


def depth_blocks(depth: int):
    """The first ``depth`` separable blocks: ``digits_cnn``'s, then one more at the last width.

    Raises:
        ValueError: ``depth`` outside 1 to :data:`MAX_DEPTH`.
    """
    from mobilecourse.models import DIGITS_CNN_BLOCKS, SeparableRow

    _check_depth(depth)
    extra = SeparableRow(DIGITS_CNN_BLOCKS[-1].filters, 1)
    return (*DIGITS_CNN_BLOCKS, extra)[:depth]


def search_space(widths, input_sizes, depths) -> list[Candidate]:
    """Every combination of the given widths, input sizes and depths."""
    return [Candidate(w, r, d) for w, r, d in itertools.product(widths, input_sizes, depths)]


#: The default search of lesson 08: 3 candidates that vary all three dimensions and
#: include two with nearly the same MACs (w2_r14_d3, w1_r28_d3); about 15 s on 2 cores.
SMALL_SEARCH_SPACE = (
    Candidate(1.0, 20, 2),
    Candidate(1.0, 28, 3),
    Candidate(2.0, 14, 3),
)
#: The opt-in larger search: the full grid of 3 widths x 3 input sizes x 3 depths.
LARGE_SEARCH_SPACE = tuple(search_space((0.5, 1.0, 2.0), (14, 20, 28), (2, 3, 4)))


def search(
    candidates: Sequence[Candidate],
    train,
    validation,
    target_ms: float,
    epochs: int = 2,
    batch_size: int = 64,
    alpha: float = MNAS_SOFT[0],
    beta: float = MNAS_SOFT[1],
    seed: int = 0,
    out: Callable[[str], None] | None = None,
):
    """Latency-aware search: train, export, time and score every candidate.

    For each candidate: build it, train it for ``epochs`` (a short proxy run, as MnasNet
    trains each sample for 5 epochs), convert it to a full-integer int8 ``.tflite`` and
    measure its accuracy on ``validation``; images are resized to each candidate's
    input size. Then all the files are timed together with the course's protocol
    (:func:`mobilecourse.timing.time_variants`: rounds alternating between the candidates,
    batches of :data:`LATENCY_BATCH` images, one thread) and scored with
    :func:`mnas_reward` on their time per image.

    Args:
        candidates: the :class:`Candidate` designs.
        train: ``(x, y)`` images ``(n, 28, 28, 1)`` and integer labels to train on.
        validation: ``(x, y)`` held-out images to score on (not the test set).
        target_ms: the latency target ``T``, in milliseconds per image.
        epochs: proxy training epochs per candidate.
        batch_size: proxy training batch size. Each fit pays about two seconds to trace
            its training step; a few cheap epochs of small batches make the proxy.
        alpha, beta: the reward's exponents (:data:`MNAS_SOFT` or :data:`MNAS_HARD`).
        seed: seed before building each candidate.
        out: called with one progress line per candidate trained (e.g. ``print``), or
            ``None``.

    Returns:
        A ``pandas.DataFrame`` indexed by candidate name with columns width, input size,
        depth, MACs, params, file bytes, latency (ms) per image, its spread (ms; slowest
        minus fastest round), accuracy, reward, seconds, and
        whether the candidate is on the accuracy-latency and accuracy-MACs Pareto fronts;
        sorted by reward, best first.

    Raises:
        ValueError: no candidates, or a bad argument.
    """
    import keras
    import pandas as pd

    from mobilecourse import tflite, timing, training
    from mobilecourse.data import resize_images

    candidates = items(candidates, "candidates", Candidate, "deploy.Candidate")
    epochs = integer(epochs, "epochs")
    seed = integer(seed, "seed", 0)
    mnas_reward(0.5, 1.0, target_ms, alpha, beta)  # validates target and exponents
    rows, flatbuffers = {}, {}
    for candidate in candidates:
        start = time.perf_counter()
        x_train = resize_images(train[0], candidate.input_size)
        x_val = resize_images(validation[0], candidate.input_size)
        keras.utils.clear_session()
        keras.utils.set_random_seed(seed)
        model = candidate.build()
        training.fit(
            model, (x_train, train[1]), epochs=epochs, batch_size=batch_size, schedule="cosine"
        )
        flatbuffers[candidate.name] = tflite.to_tflite(
            model, "int8", representative_data=x_train[:100]
        )
        static = measure(model)  # MACs and params; the file is timed below
        accuracy = training.accuracy(flatbuffers[candidate.name], (x_val, validation[1]))
        rows[candidate.name] = {
            "width": candidate.width,
            "input size": candidate.input_size,
            "depth": candidate.depth,
            "MACs": static.macs,
            "params": static.params,
            "file bytes": len(flatbuffers[candidate.name]),
            "accuracy": accuracy,
            "seconds": time.perf_counter() - start,
        }
        if out is not None:
            out(
                f"{candidate.name:<14} {static.macs:>9,} MACs  accuracy {accuracy:.3f}"
                f"  ({rows[candidate.name]['seconds']:.1f} s)"
            )
    timings = timing.time_variants(flatbuffers, batch=LATENCY_BATCH)
    for name, row in rows.items():
        row["latency (ms)"] = timings[name].per_image_ms
        row["latency spread (ms)"] = timings[name].spread_ms / LATENCY_BATCH
        row["reward"] = mnas_reward(row["accuracy"], row["latency (ms)"], target_ms, alpha, beta)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["front (latency)"] = pareto_mask(table["latency (ms)"], table["accuracy"])
    table["front (MACs)"] = pareto_mask(table["MACs"], table["accuracy"])
    return table.sort_values("reward", ascending=False, kind="stable")
