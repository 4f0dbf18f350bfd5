"""Checkers for lesson 01: convolution cost."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from mobilecourse import costs
from mobilecourse.checks._core import Mistake, check_function

__all__ = ["check_conv_macs", "check_conv_output_size", "check_receptive_field"]


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
            (224, 11, 4, "valid"),  # (224 - 11) / 4 = 53.25: floor, not ceil
            (32, 5, 2, "valid"),
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
                'With padding="valid" a window that does not fit is dropped: round '
                "(size - k) / stride down (floor), not up.",
                lambda s, k, st, p: -(-s // st) if p == "same" else -(-(s - k) // st) + 1,
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

    def height_twice(shape, filters, k, s, p):
        oh, _, n = _conv_out(shape, filters, k, s, p)
        return oh * oh * k * k * shape[2] * n

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
            ((28, 20, 16), 32, 3, 2, "same"),  # not square: height and width differ
            ((17, 9, 4), 8, 3, 2, "valid"),
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
            Mistake(
                "The output is H_out x W_out positions, not H_out squared: a map need not "
                "be square.",
                height_twice,
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
