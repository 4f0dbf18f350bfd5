"""Design under a budget (lesson 08): constraints, measurements and a latency-aware search.

A deployment brief is a :class:`Budget`: limits on MACs, parameters, the ``.tflite``
file, its measured LiteRT latency and its accuracy. :func:`measure` takes those numbers
off a model and its exported file, and :func:`check_against` compares them, one
:class:`Verdict` per constraint. Latency is timed with the course's protocol
(:func:`mobilecourse.timing.time_variants`) on batches of :data:`LATENCY_BATCH` images, so
that the interpreter's per-call overhead does not dominate a small model's time; a limit
relative to a reference model timed in the same rounds holds on any CPU, where a limit in
milliseconds holds only on the machine it was set for.

The search part follows MnasNet (Tan et al. 2019) and scores designs with
:func:`mnas_reward`, which trades accuracy against measured latency instead of MACs.
:func:`search` builds, trains, exports and times each candidate of a small space. Lesson
08's larger space (:data:`SEARCH_SPACE`: width, input size, depth, depthwise kernel,
expansion; 48 candidates) is scored without training or timing each one, as FBNet
(Wu et al. 2019) does: latency from a lookup table of the candidates' parts measured on
this machine (:func:`measure_latency_table`, checked against whole candidates), accuracy
from a table of short proxy trainings shipped with the course (:func:`accuracy_table`,
``python -m mobilecourse search-table``), and a regularized evolution (:func:`evolve`)
searches the space.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

from mobilecourse._validate import choice, integer, items, positive_number
from mobilecourse.units import KIB, format_bytes

__all__ = [
    "ACCURACY_TABLE",
    "CAPSTONE_BUDGET",
    "LARGE_SEARCH_SPACE",
    "LATENCY_BATCH",
    "MNAS_HARD",
    "MAX_DEPTH",
    "MNAS_SOFT",
    "PROXY_EPOCHS",
    "PROXY_SEEDS",
    "SEARCH_SPACE",
    "SMALL_SEARCH_SPACE",
    "Budget",
    "Candidate",
    "Measurement",
    "Verdict",
    "budget_table",
    "check_against",
    "cloud_latency_ms",
    "KERNEL_SIZES",
    "LUT_BATCH",
    "MIN_ROW_MACS",
    "LatencyTable",
    "Unit",
    "accuracy_table",
    "depth_blocks",
    "evolve",
    "kendall_tau",
    "latency_file",
    "measure_latency_table",
    "proxy_accuracy",
    "row_name",
    "search_digits",
    "unit_macs",
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
    """One point of the design space: ``digits_cnn`` scaled in width, input size and depth,
    with a choice of depthwise kernel and of an expansion before it.

    The network is a 3x3/2 convolution (``conv1``), ``depth`` blocks ``ds1``, ``ds2``, ...
    (:func:`depth_blocks`' filters and strides) and the head (global average pooling, dense
    softmax). A block is MobileNet v1's depthwise separable block with a ``kernel_size``
    depthwise convolution; with ``expansion`` t > 1 a 1x1 convolution first widens its
    input M channels to tM (``ds{i}_expand``, as MobileNetV2's bottleneck does, here with
    ReLU after the projection too and no shortcut). With the defaults (3x3, t = 1) the
    model is ``models.digits_cnn`` layer for layer.

    Cost:
        per block, Din^2 * M * tM (expansion, t > 1 only) + Dout^2 * k^2 * tM (depthwise)
        + Dout^2 * tM * N (pointwise) MACs (Howard et al. 2017, eq. 5; Sandler et al.
        2018, Section 3.3).

    Attributes:
        width: width multiplier of every layer (each keeps at least 8 filters).
        input_size: input height and width (the digits are resized to it).
        depth: number of blocks (1 to :data:`MAX_DEPTH`).
        kernel_size: the depthwise kernel, 3 or 5 (MnasNet's two choices).
        expansion: expansion factor t from 1 to 6 (1: no expansion layer).
    """

    width: float
    input_size: int
    depth: int
    kernel_size: int = 3
    expansion: int = 1

    def __post_init__(self):
        positive_number(self.width, "width")
        integer(self.input_size, "input_size", 8)
        _check_depth(self.depth)
        choice(self.kernel_size, "kernel_size", KERNEL_SIZES)
        integer(self.expansion, "expansion", 1, maximum=6)

    @property
    def name(self) -> str:
        """``w{width}_r{input_size}_d{depth}``, then ``_k5`` and ``_e{t}`` when not 3 and 1."""
        name = f"w{self.width:g}_r{self.input_size}_d{self.depth}"
        if self.kernel_size != 3:
            name += f"_k{self.kernel_size}"
        if self.expansion != 1:
            name += f"_e{self.expansion}"
        return name

    def units(self) -> tuple[Unit, ...]:
        """The candidate cut into the rows of a latency lookup table, input to output."""
        filters = _filters(self.width)
        size, channels = self.input_size, 1
        stem = Unit("stem", size, channels, filters(16), 3, 2)
        out = [stem]
        size, channels = stem.output_size, stem.out_channels
        for row in depth_blocks(self.depth):
            block = Unit(
                "block",
                size,
                channels,
                filters(row.filters),
                self.kernel_size,
                row.strides,
                self.expansion,
            )
            out.append(block)
            size, channels = block.output_size, block.out_channels
        out.append(Unit("head", size, channels, 10, 1, 1))
        return tuple(out)

    def rows(self) -> tuple[tuple[Unit, ...], ...]:
        """The candidate's parts grouped into the rows of its latency lookup table.

        Parts are taken in order and a row closes once it holds at least
        :data:`MIN_ROW_MACS` MACs per image; what is left at the end (the head and any
        small last blocks) joins the last row. A row that small would take a few
        microseconds per call, no more than the interpreter's overhead.
        """
        rows, current = [], []
        for unit in self.units():
            current.append(unit)
            if sum(unit_macs(u) for u in current) >= MIN_ROW_MACS:
                rows.append(tuple(current))
                current = []
        if current:
            if rows:
                rows[-1] = rows[-1] + tuple(current)
            else:
                rows.append(tuple(current))
        return tuple(rows)

    def build(self, classes: int = 10):
        """The Keras model of this candidate (untrained)."""
        import keras

        units = self.units()
        inputs = keras.Input((self.input_size, self.input_size, 1), name="image")
        x = inputs
        for index, unit in enumerate(units):
            if unit.kind == "head":
                unit = dataclasses.replace(unit, out_channels=integer(classes, "classes"))
            x = unit.apply(x, f"ds{index}")
        return keras.Model(inputs, x, name=f"digits_{self.name}")


#: Fewest MACs per image in a row of a latency lookup table (:meth:`Candidate.rows`):
#: at :data:`LUT_BATCH` images a call then does 1.6 million MACs, well above the
#: interpreter's per-call overhead.
MIN_ROW_MACS = 200_000

#: Images per timed call of a row of a lookup table and of a whole candidate checked
#: against it: few enough that the largest candidate's activations stay in a core's
#: cache, as in a phone's one-image call (on this course's machine, 1 MB of L2 per core,
#: the largest candidate timed whole ran 3x slower than the sum of its rows at 16 images
#: and up to 10x at 64; at 4 as predicted).
LUT_BATCH = 8

#: The depthwise kernels a candidate may use (MnasNet's search space: 3x3 and 5x5).
KERNEL_SIZES = (3, 5)

#: The deepest candidate: ``digits_cnn``'s three separable blocks and one more.
MAX_DEPTH = 4


def _filters(width: float) -> Callable[[int], int]:
    return lambda base: max(8, int(base * width))  # as models.digits_cnn


@dataclass(frozen=True)
class Unit:
    """One row of a latency lookup table: a part of a candidate, in its place.

    Two candidates share a row when they share the part with the same input size,
    channels, kernel, stride and expansion, so the table has far fewer rows than the
    candidates have parts (FBNet's lookup table, Wu et al. 2019, is built the same way).

    Attributes:
        kind: ``"stem"`` (3x3 convolution, BatchNorm, ReLU), ``"block"`` (optional 1x1
            expansion, k x k depthwise, 1x1 pointwise, each with BatchNorm and ReLU) or
            ``"head"`` (global average pooling, dense softmax).
        input_size: side of the square input feature map.
        in_channels: input channels M.
        out_channels: output channels N (classes for the head).
        kernel_size: the (depthwise) kernel.
        strides: 1 or 2.
        expansion: t of a block (1: no expansion layer).
    """

    kind: str
    input_size: int
    in_channels: int
    out_channels: int
    kernel_size: int = 3
    strides: int = 1
    expansion: int = 1

    def __post_init__(self):
        choice(self.kind, "kind", ("stem", "block", "head"))
        integer(self.input_size, "input_size")
        integer(self.in_channels, "in_channels")
        integer(self.out_channels, "out_channels")
        integer(self.kernel_size, "kernel_size")
        choice(self.strides, "strides", (1, 2))
        integer(self.expansion, "expansion")

    @property
    def output_size(self) -> int:
        """Side of the output feature map ("same" padding: ceil(size / stride))."""
        return 1 if self.kind == "head" else -(-self.input_size // self.strides)

    @property
    def name(self) -> str:
        """A short label, e.g. ``block 14x14x32->64 k5/2 e2``."""
        text = f"{self.kind} {self.input_size}x{self.input_size}x{self.in_channels}"
        text += f"->{self.out_channels}"
        if self.kind != "head":
            text += f" k{self.kernel_size}/{self.strides}"
        return text + (f" e{self.expansion}" if self.expansion != 1 else "")

    def apply(self, x, name: str):
        """Call this part's layers on ``x`` (a ``(batch, size, size, in_channels)`` tensor).

        ``name`` names a block's layers (``{name}_expand``, ``{name}_dw``, ``{name}_pw``);
        the stem is always ``conv1`` and the head ``global_pool``, ``predictions``, as in
        ``models.digits_cnn``.
        """
        import keras

        from mobilecourse import blocks

        layers = keras.layers
        if self.kind == "stem":
            return blocks.conv_bn_relu(
                x,
                filters=self.out_channels,
                kernel_size=self.kernel_size,
                strides=self.strides,
                name="conv1",
            )
        if self.kind == "head":
            x = layers.GlobalAveragePooling2D(name="global_pool")(x)
            return layers.Dense(self.out_channels, activation="softmax", name="predictions")(x)
        if self.expansion > 1:
            x = blocks.conv_bn_relu(
                x,
                filters=self.expansion * self.in_channels,
                kernel_size=1,
                name=f"{name}_expand",
            )
        if self.kernel_size == 3:  # MobileNet v1's block, as digits_cnn builds it
            return blocks.depthwise_separable_block(
                x, filters=self.out_channels, strides=self.strides, name=name
            )
        x = layers.DepthwiseConv2D(
            self.kernel_size,
            strides=self.strides,
            padding="same",
            use_bias=False,
            name=f"{name}_dw",
        )(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_dw_bn")(x)  # as blocks'
        x = layers.ReLU(name=f"{name}_dw_relu")(x)
        return blocks.conv_bn_relu(x, filters=self.out_channels, kernel_size=1, name=f"{name}_pw")

    def build(self):
        """This part alone as a Keras model, for timing."""
        import keras

        inputs = keras.Input((self.input_size, self.input_size, self.in_channels))
        return keras.Model(inputs, self.apply(inputs, "ds1"), name="unit")


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


def search_space(
    widths, input_sizes, depths, kernel_sizes=(3,), expansions=(1,)
) -> list[Candidate]:
    """Every combination of the given widths, input sizes, depths, kernels and expansions."""
    return [
        Candidate(*settings)
        for settings in itertools.product(widths, input_sizes, depths, kernel_sizes, expansions)
    ]


#: The default search of lesson 08: 3 candidates that vary all three dimensions and
#: include two with nearly the same MACs (w2_r14_d3, w1_r28_d3); about 15 s on 2 cores.
SMALL_SEARCH_SPACE = (
    Candidate(1.0, 20, 2),
    Candidate(1.0, 28, 3),
    Candidate(2.0, 14, 3),
)
#: The opt-in larger search: the full grid of 3 widths x 3 input sizes x 3 depths.
LARGE_SEARCH_SPACE = tuple(search_space((0.5, 1.0, 2.0), (14, 20, 28), (2, 3, 4)))
#: Lesson 08's latency-aware search: 2 widths x 2 input sizes x 3 depths x 2 kernels x
#: 2 expansions = 48 candidates, scored from a latency lookup table of 74 rows and the
#: accuracy table ``data/search_accuracy.csv`` (``python -m mobilecourse search-table``).
SEARCH_SPACE = tuple(search_space((1.0, 2.0), (14, 28), (2, 3, 4), KERNEL_SIZES, (1, 2)))


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


# ---------------------------------------------------------------- latency lookup table


def latency_file(units, seed: int = 0) -> bytes:
    """A full-integer int8 ``.tflite`` file of a chain of parts, with untrained weights.

    Latency depends on the operators and their shapes, not on the weights, so the parts
    are written directly as TensorFlow operations (convolution, depthwise convolution,
    bias, ReLU; mean, matrix product, softmax) on constant Glorot-uniform kernels and zero
    biases, which is what an untrained Keras candidate becomes once the converter has
    folded its BatchNorm (gamma 1, beta 0, mean 0, variance 1) and fused its ReLU. The
    file has the operators of ``tflite.to_tflite(candidate.build(), "int8", ...)``
    (tests/test_deploy.py compares them) and takes about 0.2 s to convert instead of the
    Keras route's 1.5 s, which is what lets a lesson measure a table of seventy parts.

    Args:
        units: consecutive :class:`Unit` parts (one part for a row of the table, all of
            a candidate's for the whole model).
        seed: for the kernels and the 8 random calibration images.
    """
    import numpy as np
    import tensorflow as tf

    units = items(units, "units", Unit, "deploy.Unit")
    rng = np.random.default_rng(integer(seed, "seed", 0))

    def glorot(*shape, fan_in, fan_out):
        limit = (6 / (fan_in + fan_out)) ** 0.5
        return tf.constant(rng.uniform(-limit, limit, shape).astype("float32"))

    def conv(k, m, n):  # a Keras Conv2D kernel and its (folded) zero bias
        return glorot(k, k, m, n, fan_in=k * k * m, fan_out=k * k * n), tf.zeros(n)

    steps = []
    for unit in units:
        m, n, k, s = unit.in_channels, unit.out_channels, unit.kernel_size, unit.strides
        if unit.kind == "stem":
            steps.append(("conv", *conv(k, m, n), s))
        elif unit.kind == "head":
            steps.append(("head", glorot(m, n, fan_in=m, fan_out=n), tf.zeros(n), 1))
        else:
            t = unit.expansion * m
            if unit.expansion > 1:
                steps.append(("conv", *conv(1, m, t), 1))
            depthwise = glorot(k, k, t, 1, fan_in=k * k * t, fan_out=k * k)
            steps.append(("depthwise", depthwise, tf.zeros(t), s))
            steps.append(("conv", *conv(1, t, n), 1))
    first = units[0]
    shape = (first.input_size, first.input_size, first.in_channels)

    def forward(x):
        for op, kernel, bias, s in steps:
            if op == "conv":
                x = tf.nn.relu(tf.nn.conv2d(x, kernel, s, "SAME") + bias)
            elif op == "depthwise":
                x = tf.nn.relu(tf.nn.depthwise_conv2d(x, kernel, [1, s, s, 1], "SAME") + bias)
            else:
                x = tf.nn.softmax(tf.matmul(tf.reduce_mean(x, axis=[1, 2]), kernel) + bias)
        return x

    function = tf.function(forward, autograph=False).get_concrete_function(
        tf.TensorSpec((None, *shape), tf.float32)
    )
    samples = rng.random((8, *shape), dtype=np.float32)
    from mobilecourse.tflite import function_converter, int8_convert

    return int8_convert(function_converter(function), samples)


def cloud_latency_ms(
    upload_bytes: int,
    uplink_mbit_s: float,
    *,
    round_trip_ms: float,
    server_ms: float,
    download_bytes: int = 0,
    downlink_mbit_s: float | None = None,
) -> float:
    """Time from pressing the button to the answer of a cloud API, in milliseconds.

    Formula:
        ``round_trip_ms + 8 * upload_bytes / (1000 * uplink_mbit_s) + server_ms
        + 8 * download_bytes / (1000 * downlink_mbit_s)``: one network round trip (the
        request's first byte out, the answer's first byte back), the upload at the
        uplink's rate (1 Mbit/s = 1,000 bits per millisecond), the server's work and the
        download of the answer. Connection set-up (DNS, TLS) and the phone's own encoding
        are left out, so this is a lower bound.

    Args:
        upload_bytes: bytes sent (e.g. a JPEG, :func:`mobilecourse.preprocess.jpeg_bytes`).
        uplink_mbit_s: upload rate in Mbit/s (> 0).
        round_trip_ms: network round-trip time (>= 0).
        server_ms: time the server takes to answer (>= 0).
        download_bytes: bytes of the answer (>= 0).
        downlink_mbit_s: download rate in Mbit/s; required when ``download_bytes > 0``.

    Raises:
        TypeError: an argument that is not a number.
        ValueError: a negative size or time, a rate that is not positive, or
            ``download_bytes`` without ``downlink_mbit_s``.
    """
    upload_bytes = integer(upload_bytes, "upload_bytes", 0)
    download_bytes = integer(download_bytes, "download_bytes", 0)
    uplink = positive_number(uplink_mbit_s, "uplink_mbit_s")
    times = {"round_trip_ms": round_trip_ms, "server_ms": server_ms}
    for name, value in times.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number of milliseconds, got {value!r}")
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    total = float(round_trip_ms) + 8 * upload_bytes / (1000 * uplink) + float(server_ms)
    if download_bytes:
        if downlink_mbit_s is None:
            raise ValueError("downlink_mbit_s is required when download_bytes > 0")
        total += 8 * download_bytes / (1000 * positive_number(downlink_mbit_s, "downlink_mbit_s"))
    return total


def row_name(row) -> str:
    """A row of a lookup table as text: its parts' names joined by ``" + "``."""
    return " + ".join(unit.name for unit in row)


@dataclass(frozen=True)
class LatencyTable:
    """A latency lookup table, measured with the course's timing protocol.

    Attributes:
        timings: ``{row: Timing}``, a row being a tuple of consecutive :class:`Unit`
            parts (:meth:`Candidate.rows`) timed alone as one int8 file
            (:func:`latency_file`) on batches of :attr:`batch` images.
        whole: ``{candidate name: Timing}``: whole candidates timed in the same
            alternating rounds, to check the table against.
        batch: images per timed call.
    """

    timings: dict
    whole: dict
    batch: int

    def row_ms(self, row) -> float:
        """Milliseconds per image of one row (its median round over the batch)."""
        if row not in self.timings:
            raise ValueError(f"row must be a row of the table, got {row!r}")
        return self.timings[row].per_image_ms

    def predict_ms(self, candidate: Candidate) -> float:
        """Predicted LiteRT milliseconds per image of a candidate: the sum of its rows.

        Formula:
            ``LAT(m) = sum over the rows r of m of LAT(r)`` (the lookup-table latency of
            FBNet, Wu et al. 2019, eq. 5).

        Raises:
            ValueError: a row of ``candidate`` is not in the table.
        """
        if not isinstance(candidate, Candidate):
            raise TypeError(f"candidate must be a deploy.Candidate, got {candidate!r}")
        return sum(self.row_ms(row) for row in candidate.rows())

    def frame(self):
        """The table as a ``pandas.DataFrame``: one row per row of parts with its MACs,
        milliseconds per image and their spread (slowest minus fastest round)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "row": row_name(row),
                    "MACs": sum(unit_macs(unit) for unit in row),
                    "ms per image": timed.per_image_ms,
                    "spread (ms)": timed.spread_ms / timed.batch,
                }
                for row, timed in self.timings.items()
            ]
        )

    def check(self, candidates):
        """Predicted against measured for the candidates timed whole.

        Returns:
            A ``pandas.DataFrame`` indexed by candidate name: ``rows`` (how many),
            ``predicted (ms)``, ``measured (ms)`` (per image) and ``error``
            (predicted / measured - 1).

        Raises:
            ValueError: a candidate was not timed whole.
        """
        import pandas as pd

        rows = {}
        for candidate in items(candidates, "candidates", Candidate, "deploy.Candidate"):
            if candidate.name not in self.whole:
                raise ValueError(f"candidates must have been timed whole, got {candidate.name}")
            predicted = self.predict_ms(candidate)
            measured = self.whole[candidate.name].per_image_ms
            rows[candidate.name] = {
                "rows": len(candidate.rows()),
                "predicted (ms)": predicted,
                "measured (ms)": measured,
                "error": predicted / measured - 1,
            }
        return pd.DataFrame.from_dict(rows, orient="index")


def unit_macs(unit: Unit) -> int:
    """MACs per image of one part, from the cost formulas.

    Cost:
        stem: k^2 * M * N * Dout^2 (a convolution); block: Din^2 * M * tM (expansion,
        t > 1) + Dout^2 * k^2 * tM (depthwise) + Dout^2 * tM * N (pointwise); head:
        M * N (the dense layer; pooling adds, it does not multiply). Howard et al. 2017,
        eqs. 1 and 5; Sandler et al. 2018, Section 3.3.
    """
    from mobilecourse import costs

    if not isinstance(unit, Unit):
        raise TypeError(f"unit must be a deploy.Unit, got {type(unit).__name__}")
    out, m, n, k = unit.output_size, unit.in_channels, unit.out_channels, unit.kernel_size
    if unit.kind == "stem":
        return costs.conv2d((unit.input_size, unit.input_size, m), n, k, unit.strides).macs
    if unit.kind == "head":
        return m * n
    expanded = unit.expansion * m
    macs = unit.input_size**2 * m * expanded if unit.expansion > 1 else 0
    return macs + out * out * k * k * expanded + out * out * expanded * n


def measure_latency_table(
    candidates,
    check=(),
    *,
    batch: int = LUT_BATCH,
    rounds: int = 5,
    runs: int = 20,
) -> LatencyTable:
    """Build a candidate space's latency lookup table and check it on whole candidates.

    Every distinct row of ``candidates`` (:meth:`Candidate.rows`) becomes one int8 file
    (:func:`latency_file`), the candidates of ``check`` are converted whole, and all
    are timed together with :func:`timing.time_variants` (alternating rounds, one
    thread), so a change of the CPU's speed hits the table and the whole models alike.

    Args:
        candidates: the space whose rows make the table.
        check: candidates to time whole as well (for :meth:`LatencyTable.check`).
        batch: images per timed call (:data:`LUT_BATCH`).
        rounds, runs: of :func:`timing.time_variants`.

    Returns:
        A :class:`LatencyTable`.
    """
    from mobilecourse import timing

    candidates = items(candidates, "candidates", Candidate, "deploy.Candidate")
    check = list(check) and items(check, "check", Candidate, "deploy.Candidate")
    rows = list(dict.fromkeys(row for candidate in candidates for row in candidate.rows()))
    files = {row: latency_file(row) for row in rows}
    files.update({candidate.name: latency_file(candidate.units()) for candidate in check})
    timed = timing.time_variants(files, batch=batch, rounds=rounds, runs=runs)
    return LatencyTable(
        timings={row: timed[row] for row in rows},
        whole={candidate.name: timed[candidate.name] for candidate in check},
        batch=batch,
    )


# ---------------------------------------------------------------- the accuracy table

#: The proxy training of lesson 08's search (``python -m mobilecourse search-table``):
#: the search digits (3,000 of the 4,000 training digits, ``stratified_split(x_train,
#: y_train, 0.25, seed=1)``), 3 epochs of batches of 64 with a cosine learning rate;
#: accuracy of the Keras model on the other 1,000 (validation) digits.
PROXY_EPOCHS = 3
#: Seeds of the shipped accuracy table.
PROXY_SEEDS = (0, 1)
#: The shipped table's name (``data/search_accuracy.csv``, read by ``data.paper_table``).
ACCURACY_TABLE = "search_accuracy"


def search_digits():
    """The proxy task's data: ``((x_search, y_search), (x_val, y_val))`` from the training
    digits (the test digits stay unseen), as lesson 08 splits them."""
    from mobilecourse.data import load_digits_dataset, stratified_split

    (x_train, y_train), _ = load_digits_dataset()
    return stratified_split(x_train, y_train, 0.25, seed=1)


def proxy_accuracy(
    candidate: Candidate, train, validation, *, seed: int = 0, epochs: int = PROXY_EPOCHS
) -> float:
    """Validation accuracy of a candidate after the short proxy training.

    The images are resized to the candidate's input size; the model is built after
    ``keras.utils.set_random_seed(seed)`` and trained with ``training.fit`` (batches of
    64, cosine learning rate) for ``epochs``.
    """
    import keras

    from mobilecourse import training
    from mobilecourse.data import resize_images

    if not isinstance(candidate, Candidate):
        raise TypeError(f"candidate must be a deploy.Candidate, got {type(candidate).__name__}")
    seed = integer(seed, "seed", 0)
    epochs = integer(epochs, "epochs")
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    model = candidate.build()
    x_train = resize_images(train[0], candidate.input_size)
    training.fit(model, (x_train, train[1]), epochs=epochs, batch_size=64, schedule="cosine")
    x_val = resize_images(validation[0], candidate.input_size)
    return training.accuracy(model, (x_val, validation[1]))


def accuracy_table(
    candidates=SEARCH_SPACE,
    seeds: Sequence[int] = PROXY_SEEDS,
    *,
    epochs: int = PROXY_EPOCHS,
    date: str | None = None,
    out: Callable[[str], None] | None = None,
):
    """Proxy-train every candidate on every seed: the table lesson 08's search reads.

    Returns:
        A ``pandas.DataFrame``, one row per candidate: ``name``, ``width``,
        ``input_size``, ``depth``, ``kernel_size``, ``expansion``, ``macs``, ``params``,
        ``accuracy_seed{s}`` per seed, ``accuracy`` (their mean) and ``source`` (the
        command, recipe, seeds and ``date``).
    """
    import pandas as pd

    from mobilecourse.profile import profile_model

    candidates = items(candidates, "candidates", Candidate, "deploy.Candidate")
    seeds = [integer(s, "seeds", 0) for s in seeds]
    train, validation = search_digits()
    source = (
        f"python -m mobilecourse search-table ({date or 'undated'}): {epochs} epochs on "
        f"3,000 training digits, accuracy on 1,000 held-out, seeds {' '.join(map(str, seeds))}"
    )
    rows = []
    for candidate in candidates:
        start = time.perf_counter()
        model = candidate.build()
        row = {
            "name": candidate.name,
            "width": candidate.width,
            "input_size": candidate.input_size,
            "depth": candidate.depth,
            "kernel_size": candidate.kernel_size,
            "expansion": candidate.expansion,
            "macs": profile_model(model).macs,
            "params": model.count_params(),
        }
        for seed in seeds:
            row[f"accuracy_seed{seed}"] = round(
                proxy_accuracy(candidate, train, validation, seed=seed, epochs=epochs), 4
            )
        row["accuracy"] = round(sum(row[f"accuracy_seed{s}"] for s in seeds) / len(seeds), 4)
        row["source"] = source
        rows.append(row)
        if out is not None:
            seconds = time.perf_counter() - start
            out(f"{candidate.name:<18} accuracy {row['accuracy']:.3f} ({seconds:.0f} s)")
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the search loop


def kendall_tau(first: Sequence[float], second: Sequence[float]) -> float:
    """Kendall's rank correlation of two sequences (tau-a: ties count as neither).

    Formula:
        ``tau = (concordant - discordant) / (n (n - 1) / 2)`` over all pairs i < j, a
        pair being concordant when both sequences order it the same way.

    Raises:
        ValueError: sequences of different lengths or fewer than 2 values.
    """
    first, second = list(first), list(second)
    if len(first) != len(second) or len(first) < 2:
        raise ValueError(
            "first and second must have the same length, at least 2, got "
            f"{len(first)} and {len(second)}"
        )
    score = 0
    for i, j in itertools.combinations(range(len(first)), 2):
        product = float(first[i] - first[j]) * float(second[i] - second[j])
        score += (product > 0) - (product < 0)
    n = len(first)
    return score / (n * (n - 1) / 2)


def evolve(
    space: Sequence[Candidate],
    score: Callable[[Candidate], float],
    *,
    evaluations: int = 16,
    population: int = 6,
    sample: int = 3,
    seed: int = 0,
) -> list[tuple[Candidate, float]]:
    """A small regularized evolution (Real et al. 2019) over a finite candidate space.

    Start from ``population`` random candidates; then, until ``evaluations`` distinct
    candidates have been scored, pick ``sample`` members of the population at random,
    mutate the best of them (change one of width, input size, depth, kernel or expansion
    to another value found in ``space``), score the child if it is new, add it and drop
    the oldest member.

    Args:
        space: the candidates the search may visit.
        score: the objective to maximise (e.g. :func:`mnas_reward` of a candidate's
            accuracy and latency).
        evaluations: distinct candidates to score (at most ``len(space)``).
        population, sample: the evolution's sizes (``sample <= population``).
        seed: of the random choices.

    Returns:
        ``[(candidate, score), ...]`` in the order scored.
    """
    import random

    space = items(space, "space", Candidate, "deploy.Candidate")
    evaluations = integer(evaluations, "evaluations", maximum=len(space))
    population = integer(population, "population", maximum=evaluations)
    sample = integer(sample, "sample", maximum=population)
    rng = random.Random(integer(seed, "seed", 0))
    fields_ = ("width", "input_size", "depth", "kernel_size", "expansion")
    scored: dict[Candidate, float] = {}

    def evaluate(candidate):
        if candidate not in scored:
            scored[candidate] = float(score(candidate))
        return candidate

    members = [evaluate(c) for c in rng.sample(space, population)]
    stalls = 0
    while len(scored) < evaluations and stalls < 100 * len(space):
        parent = max(rng.sample(members, sample), key=scored.__getitem__)
        neighbours = [
            c for c in space if sum(getattr(c, f) != getattr(parent, f) for f in fields_) == 1
        ]
        child = rng.choice(neighbours) if neighbours else rng.choice(space)
        stalls = stalls + 1 if child in scored else 0
        members = [*members[1:], evaluate(child)]
    return list(scored.items())
