"""Checkers for lesson 03: fire modules (SqueezeNet, Iandola et al. 2016).

The references use the ``costs`` formulas and SqueezeNet's design-space rules
(``models.squeezenet_design``), re-stated here so that importing the checkers
needs no TensorFlow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from mobilecourse import costs
from mobilecourse.checks._blocks import check_block
from mobilecourse.checks._core import CheckFailed, Mistake, check_function

__all__ = [
    "check_fire_design",
    "check_fire_macs",
    "check_fire_module",
    "check_fire_params",
    "check_squeezenet_design_params",
]

#: Expand channels of SqueezeNet's eight fire modules: base_e = 128, incr_e = 128, freq = 2.
_EXPAND_PER_FIRE = tuple(128 + 128 * (i // 2) for i in range(8))
_CONV1_FILTERS = 96
_CLASSES = 1000


# ---------------------------------------------------------------- references


def _fire_cost(input_shape, s1x1, e1x1, e3x3) -> costs.LayerCost:
    """Squeeze 1x1, then expand 1x1 and expand 3x3 ("same"), as ``blocks.fire_module``."""
    squeeze = costs.conv2d(input_shape, s1x1, 1)
    total = squeeze
    for filters, k in ((e1x1, 1), (e3x3, 3)):
        if filters:
            total = total + costs.conv2d(squeeze.output_shape, filters, k)
    return total


def _fire_params(in_channels, s1x1, e1x1, e3x3) -> int:
    return _fire_cost((3, 3, in_channels), s1x1, e1x1, e3x3).params


def _fire_macs(input_shape, s1x1, e1x1, e3x3) -> int:
    return _fire_cost(tuple(input_shape), s1x1, e1x1, e3x3).macs


def _design(e_total, squeeze_ratio, pct3x3) -> tuple[int, int, int]:
    e3x3 = int(pct3x3 * e_total)
    return max(1, int(squeeze_ratio * e_total)), e_total - e3x3, e3x3


def _network_params(squeeze_ratio, pct3x3, chain="output", conv1=True, conv10=True) -> int:
    """SqueezeNet's weights + biases for one design; ``chain`` names how modules connect."""
    total = costs.conv2d((227, 227, 3), _CONV1_FILTERS, 7, 2, "valid").params if conv1 else 0
    channels = _CONV1_FILTERS
    for e in _EXPAND_PER_FIRE:
        s, e1, e3 = _design(e, squeeze_ratio, pct3x3)
        total += _fire_params(channels, s, e1, e3)
        if chain == "output":
            channels = e1 + e3
        elif chain == "squeeze":
            channels = s
    if conv10:
        total += costs.conv2d((1, 1, channels), _CLASSES, 1).params
    return total


# ---------------------------------------------------------------- checkers


def check_fire_params(fn: Callable[[int, int, int, int], int]) -> None:
    """Lesson 03: ``fn(in_channels, s1x1, e1x1, e3x3)`` is a fire module's weights + biases."""

    def no_bias(m, s, e1, e3):
        return m * s + s * e1 + 9 * s * e3

    def three_like_one(m, s, e1, e3):
        return m * s + s + s * e1 + e1 + s * e3 + e3

    def expand_from_input(m, s, e1, e3):
        return m * s + s + m * e1 + e1 + 9 * m * e3 + e3

    def nine_for_both(m, s, e1, e3):
        return m * s + s + 9 * s * e1 + e1 + 9 * s * e3 + e3

    def no_squeeze(m, s, e1, e3):
        return s * e1 + e1 + 9 * s * e3 + e3

    check_function(
        "fire module parameters",
        fn,
        cases=[
            (96, 16, 64, 64),
            (128, 16, 64, 64),
            (512, 64, 256, 256),
            (10, 3, 4, 5),
            (256, 48, 192, 0),
        ],
        reference=_fire_params,
        mistakes=[
            Mistake(
                "Bias forgotten: every convolution of a fire module has one bias per filter, "
                "and SqueezeNet counts weights + bias.",
                no_bias,
            ),
            Mistake(
                "The 3x3 expand filters are counted like 1x1 ones: a 3x3 filter has "
                "3 * 3 = 9 weights per input channel.",
                three_like_one,
            ),
            Mistake(
                "The input channels of the expand layers are taken from the module input: "
                "both expand layers read the squeeze output, which has s1x1 channels.",
                expand_from_input,
            ),
            Mistake(
                "The 1x1 expand filters have one weight per input channel; only the 3x3 "
                "branch has 9.",
                nine_for_both,
            ),
            Mistake(
                "The squeeze layer is missing: it has in_channels * s1x1 weights + s1x1 biases.",
                no_squeeze,
            ),
        ],
    )


def check_fire_macs(fn: Callable[[tuple[int, int, int], int, int, int], int]) -> None:
    """Lesson 03: ``fn((H, W, M), s1x1, e1x1, e3x3)`` is a stride-1 fire module's MACs."""

    def with_bias(shape, s, e1, e3):
        h, w, _ = shape
        return _fire_macs(shape, s, e1, e3) + h * w * (s + e1 + e3)

    def expand_from_input(shape, s, e1, e3):
        h, w, m = shape
        return h * w * (m * s + m * e1 + 9 * m * e3)

    def three_like_one(shape, s, e1, e3):
        h, w, m = shape
        return h * w * (m * s + s * e1 + s * e3)

    def no_positions(shape, s, e1, e3):
        _, _, m = shape
        return m * s + s * e1 + 9 * s * e3

    def height_squared(shape, s, e1, e3):
        h, _, m = shape
        return h * h * (m * s + s * e1 + 9 * s * e3)

    check_function(
        "fire module MACs",
        fn,
        cases=[
            ((55, 55, 96), 16, 64, 64),
            ((13, 13, 512), 64, 256, 256),
            ((27, 27, 256), 32, 128, 128),
            ((7, 5, 10), 3, 4, 5),
        ],
        reference=_fire_macs,
        mistakes=[
            Mistake(
                "Bias adds are not MACs: count only the multiply-accumulates of the kernels.",
                with_bias,
            ),
            Mistake(
                "The input channels of the expand layers are taken from the module input: "
                "both expand layers read the squeeze output, which has s1x1 channels.",
                expand_from_input,
            ),
            Mistake(
                "That is FLOPs (2 x MACs: a multiply and an add counted apart). "
                "Report multiply-accumulates.",
                lambda *a: 2 * _fire_macs(*a),
            ),
            Mistake(
                "The 3x3 expand filters are counted like 1x1 ones: each 3x3 filter does "
                "9 MACs per input channel at every position.",
                three_like_one,
            ),
            Mistake(
                "That is the weight count: every weight is used once per output position, "
                "so multiply by H * W.",
                no_positions,
            ),
            Mistake(
                "The feature map need not be square: multiply by H * W, not H * H.",
                height_squared,
            ),
        ],
    )


def _squeeze_not_narrower(exercise: str, fn: Callable[..., object]) -> Callable[..., object]:
    """Wrap ``fn`` to turn lists into tuples and catch a squeeze at least as wide as the expand."""

    @functools.wraps(fn)
    def wrapped(e_total, squeeze_ratio, pct3x3):
        got = fn(e_total, squeeze_ratio, pct3x3)
        if isinstance(got, list) or type(got).__name__ == "ndarray":
            got = tuple(got)
        want = _design(e_total, squeeze_ratio, pct3x3)
        if got != want and isinstance(got, tuple) and len(got) == 3:
            s1x1, e1x1, e3x3 = got
            if s1x1 >= e1x1 + e3x3:
                call = f"{fn.__name__}({e_total!r}, {squeeze_ratio!r}, {pct3x3!r})"
                raise CheckFailed(
                    f"{exercise}: {call} returned {got!r}, expected {want!r}. "
                    f"Squeeze wider than expand: s1x1 = {s1x1} is not narrower than "
                    f"e1x1 + e3x3 = {e1x1 + e3x3}. The squeeze is the bottleneck, "
                    "s1x1 = SR * e_total with SR < 1: multiply by the squeeze ratio, "
                    "do not divide by it."
                )
        return got

    return wrapped


def check_fire_design(fn: Callable[[int, float, float], tuple[int, int, int]]) -> None:
    """Lesson 03: ``fn(e_total, squeeze_ratio, pct3x3)`` is a fire module's (s1x1, e1x1, e3x3)."""
    exercise = "fire module design"

    def swapped(e, sr, pct):
        s, e1, e3 = _design(e, sr, pct)
        return s, e3, e1

    def rounded(e, sr, pct):
        e3 = round(pct * e)
        return max(1, round(sr * e)), e - e3, e3

    def no_minimum(e, sr, pct):
        e3 = int(pct * e)
        return int(sr * e), e - e3, e3

    def ratio_of_one_branch(e, sr, pct):
        e3 = int(pct * e)
        return max(1, int(sr * e3)), e - e3, e3

    check_function(
        exercise,
        _squeeze_not_narrower(exercise, fn),
        cases=[
            (128, 0.125, 0.5),
            (384, 0.125, 0.5),
            (512, 0.75, 0.25),
            (100, 0.25, 0.375),
            (64, 0.01, 0.5),
        ],
        reference=_design,
        mistakes=[
            Mistake(
                "e1x1 and e3x3 are swapped: pct3x3 is the share of 3x3 filters, "
                "e3x3 = pct3x3 * e_total; the rest are 1x1.",
                swapped,
            ),
            Mistake(
                "Round down with int(), as the design space does (the paper's "
                "channel counts are whole filters, never rounded up).",
                rounded,
            ),
            Mistake(
                "A layer needs at least one filter: keep s1x1 >= 1 (max(1, ...)) "
                "when SR * e_total is below 1.",
                no_minimum,
            ),
            Mistake(
                "The squeeze ratio is relative to the whole expand layer, e1x1 + e3x3 "
                "= e_total, not to one branch.",
                ratio_of_one_branch,
            ),
        ],
    )


def check_squeezenet_design_params(fn: Callable[[float, float], int]) -> None:
    """Lesson 03: ``fn(squeeze_ratio, pct3x3)`` is a design-space SqueezeNet's weights + biases."""
    check_function(
        "SqueezeNet parameters from the design space",
        fn,
        cases=[(0.125, 0.5), (0.25, 0.5), (0.5, 0.01), (0.75, 0.99), (0.01, 0.3)],
        reference=_network_params,
        mistakes=[
            Mistake(
                "A fire module outputs the concatenation of its expand layers "
                "(e1x1 + e3x3 channels); the squeeze is internal. Feed that to the next module.",
                lambda sr, pct: _network_params(sr, pct, chain="squeeze"),
            ),
            Mistake(
                "Every fire module reads the previous module's output channels; only "
                "fire2 reads conv1's 96.",
                lambda sr, pct: _network_params(sr, pct, chain="conv1"),
            ),
            Mistake(
                "conv10 (1x1, 1000 filters + bias, on the last fire module's output) is "
                "missing; it is the largest layer.",
                lambda sr, pct: _network_params(sr, pct, conv10=False),
            ),
            Mistake(
                "conv1 (96 filters of 7x7x3 + bias) is missing.",
                lambda sr, pct: _network_params(sr, pct, conv1=False),
            ),
        ],
    )


# ---------------------------------------------------------------- build a fire module


def _fire(
    x,
    squeeze,
    expand1x1,
    expand3x3,
    *,
    padding="same",
    merge="concat",
    squeeze_relu=True,
    order=(0, 1),
    expand_from="squeeze",
):
    """A fire module written with plain Keras layers; each switch makes one classic mistake."""
    from keras import layers

    s = layers.Conv2D(squeeze, 1)(x)
    if squeeze_relu:
        s = layers.ReLU()(s)
    source = s if expand_from == "squeeze" else x
    e1 = layers.ReLU()(layers.Conv2D(expand1x1, 1)(source))
    e3 = layers.ReLU()(layers.Conv2D(expand3x3, 3, padding=padding)(source))
    branches = [(e1, e3)[i] for i in order]
    return layers.Concatenate()(branches) if merge == "concat" else layers.Add()(branches)


def _reference_fire(x, squeeze, expand1x1, expand3x3):
    from mobilecourse import blocks

    return blocks.fire_module(
        x, squeeze=squeeze, expand1x1=expand1x1, expand3x3=expand3x3, name="reference"
    )


def check_fire_module(fn: Callable[..., object]) -> None:
    """Lesson 03: ``fn(x, squeeze, expand1x1, expand3x3)`` builds a fire module in Keras.

    Compared layer by layer with ``blocks.fire_module`` (names do not matter; a ReLU may
    be a layer or a convolution's ``activation="relu"``).
    """

    def wrong(**switches):
        return lambda x, squeeze, expand1x1, expand3x3: _fire(
            x, squeeze, expand1x1, expand3x3, **switches
        )

    check_block(
        "build a fire module",
        fn,
        cases=[
            ((55, 55, 96), {"squeeze": 16, "expand1x1": 64, "expand3x3": 64}),
            ((13, 13, 384), {"squeeze": 48, "expand1x1": 192, "expand3x3": 192}),
            ((9, 9, 10), {"squeeze": 3, "expand1x1": 4, "expand3x3": 5}),
        ],
        reference=_reference_fire,
        mistakes=[
            Mistake(
                "The 3x3 expand convolution needs padding='same': without it its map is two "
                "pixels smaller than the 1x1 branch's, and maps of different sizes cannot "
                "be concatenated.",
                wrong(padding="valid"),
            ),
            Mistake(
                "A fire module concatenates its two expand branches (the output has "
                "e1x1 + e3x3 channels); an Add would sum them, needs equal widths and "
                "halves the output channels.",
                wrong(merge="add"),
            ),
            Mistake(
                "The squeeze convolution has a ReLU too: in SqueezeNet every convolution "
                "is followed by one.",
                wrong(squeeze_relu=False),
            ),
            Mistake(
                "Concatenate the 1x1 branch first, then the 3x3 one, as SqueezeNet's "
                "released model and blocks.fire_module do: the order decides which output "
                "channels come from which branch, so weights trained for one order do not "
                "fit the other.",
                wrong(order=(1, 0)),
            ),
            Mistake(
                "Both expand convolutions read the squeeze layer's output, not the module's "
                "input: the squeeze is what makes the 3x3 filters cheap (strategy 2).",
                wrong(expand_from="input"),
            ),
        ],
    )
