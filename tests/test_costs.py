"""The cost formulas: published numbers, hand-derived cases, algebra and bad input."""

from fractions import Fraction

import pytest

from mobilecourse import costs

# MobileNet v1 (Howard et al. 2017) Table 3, kernel weights only: 14x14x512 -> 512.
# (description, MACs, params) as the brief gives them exactly.
TABLE3 = {
    "3x3 convolution": (462_422_016, 2_359_296),
    "depthwise separable": (52_283_392, 266_752),
    "alpha = 0.75": (29_578_752, 150_912),
    "rho = 0.714": (15_091_200, 150_912),
}


def table3_costs():
    return {
        "3x3 convolution": costs.conv2d((14, 14, 512), 512, 3, use_bias=False),
        "depthwise separable": costs.separable_conv2d((14, 14, 512), 512, 3, use_bias=False),
        "alpha = 0.75": costs.separable_conv2d((14, 14, 384), 384, 3, use_bias=False),
        "rho = 0.714": costs.separable_conv2d((10, 10, 384), 384, 3, use_bias=False),
    }


@pytest.mark.parametrize("row", list(TABLE3))
def test_mobilenet_table3_exact(row):
    cost = table3_costs()[row]
    print(f"Table 3 {row:>20}: {cost.macs:>11,} MACs {cost.params:>9,} params")
    assert (cost.macs, cost.params) == TABLE3[row]


def test_table3_rounds_to_paper_values():
    # The paper prints millions: 462 / 2.36, 52.3 / 0.27, 29.6 / 0.15, 15.1 / 0.15.
    paper = [(462, 2.36), (52.3, 0.27), (29.6, 0.15), (15.1, 0.15)]
    for cost, (macs_m, params_m) in zip(table3_costs().values(), paper, strict=True):
        assert round(cost.macs / 1e6, 1 if macs_m < 100 else 0) == macs_m
        assert round(cost.params / 1e6, 2) == params_m


def test_separable_ratio_is_one_over_n_plus_one_over_k_squared():
    for n, k in [(512, 3), (64, 5), (32, 7), (1, 3)]:
        standard = costs.conv2d((20, 20, 48), n, k, use_bias=False)
        separable = costs.separable_conv2d((20, 20, 48), n, k, use_bias=False)
        assert Fraction(separable.macs, standard.macs) == Fraction(1, n) + Fraction(1, k * k)


def test_conv2d_by_hand_alexnet_conv1():
    c = costs.conv2d((227, 227, 3), 96, 11, strides=4, padding="valid")
    assert c.output_shape == (55, 55, 96)
    assert c.weights == 11 * 11 * 3 * 96 == 34_848
    assert c.bias == 96
    assert c.macs == 34_848 * 55 * 55


def test_grouped_conv_divides_by_groups():
    plain = costs.conv2d((28, 28, 240), 240, 1, use_bias=False)
    for g in (1, 2, 3, 4, 8):
        grouped = costs.conv2d((28, 28, 240), 240, 1, groups=g, use_bias=False)
        assert grouped.macs * g == plain.macs
        assert grouped.weights * g == plain.weights


def test_depthwise_with_multiplier_and_rectangular_kernel():
    c = costs.depthwise_conv2d((9, 7, 4), (3, 1), strides=(2, 1), depth_multiplier=3)
    assert c.output_shape == (5, 7, 12)
    assert c.weights == 3 * 1 * 12
    assert c.bias == 12
    assert c.macs == 3 * 12 * 5 * 7


def test_dense():
    c = costs.dense(1024, 1000)
    assert (c.macs, c.weights, c.bias, c.output_shape) == (1_024_000, 1_024_000, 1000, (1000,))
    assert costs.dense(1024, 1000, use_bias=False).params == 1_024_000


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [
        (224, 3, 2, "same", 112),
        (7, 3, 2, "same", 4),
        (1, 7, 3, "same", 1),
        (227, 11, 4, "valid", 55),
        (13, 3, 2, "valid", 6),
        (5, 5, 1, "valid", 1),
        (14, 3, 1, "SAME", 14),
    ],
)
def test_output_size(size, kernel, stride, padding, expected):
    assert costs.output_size(size, kernel, stride, padding) == expected


def test_flops_are_twice_macs_and_params_add_up():
    c = costs.conv2d((32, 32, 16), 8, 3)
    assert c.flops == 2 * c.macs
    assert c.params == c.weights + c.bias


def test_costs_add_and_sum():
    a = costs.depthwise_conv2d((14, 14, 512), 3, use_bias=False)
    b = costs.conv2d(a.output_shape, 512, 1, use_bias=False)
    total = a + b
    assert total == costs.separable_conv2d((14, 14, 512), 512, 3, use_bias=False)
    assert sum([a, b]) == total
    assert total.output_shape == b.output_shape
    with pytest.raises(TypeError):
        a + 1  # noqa: B018


def test_model_size_bytes():
    assert costs.model_size_bytes(1_248_424, 32) == 4_993_696
    assert costs.model_size_bytes(1_248_424, 6) == 936_318
    assert costs.model_size_bytes(3, 1) == 1  # rounded up to a whole byte


# A value of the wrong type: (call, the argument the message must name).
BAD_TYPE = [
    (lambda: costs.conv2d((32, 32, 3), 8.5, 3), "filters"),
    (lambda: costs.conv2d((32, 32, 3), True, 3), "filters"),
    (lambda: costs.conv2d((32, 32, 3), 16, True), "kernel_size"),
    (lambda: costs.conv2d((32, 32, 3), 16, 3, strides=(1, False)), "strides"),
    (lambda: costs.conv2d((32, 32, 3.0), 8, 3), "input_shape channels"),
    (lambda: costs.conv2d((32, 32, 3), 8, 3, use_bias="yes"), "use_bias"),
    (lambda: costs.dense(10, 2.0), "units"),
]

# A value of the right type that is not allowed: (call, the argument the message must name).
BAD_INPUT = [
    (lambda: costs.conv2d((32, 32, 3), 0, 3), "filters"),
    (lambda: costs.conv2d((32, 32, 3), -8, 3), "filters"),
    (lambda: costs.conv2d((32, 32, 3), 16, 0), "kernel_size"),
    (lambda: costs.conv2d((32, 32, 3), 16, (3, 3, 3)), "kernel_size"),
    (lambda: costs.conv2d((32, 32, 3), 16, 3, strides=0), "strides"),
    (lambda: costs.conv2d((32, 32, 3), 16, 3, padding="full"), "padding"),
    (lambda: costs.conv2d((32, 32, 3), 16, 3, padding=None), "padding"),
    (lambda: costs.conv2d((32, 32, 32), 16, 3, groups=3), "groups=3 does not divide 32"),
    (lambda: costs.conv2d((32, 32, 12), 16, 3, groups=3), "groups=3 does not divide filters"),
    (lambda: costs.conv2d((32, 32, 4), 8, 3, groups=0), "groups"),
    (lambda: costs.conv2d((4, 4, 3), 8, 5, padding="valid"), "kernel_size"),
    (lambda: costs.conv2d((32, 32), 8, 3), "input_shape"),
    (lambda: costs.conv2d((32, 0, 3), 8, 3), "input_shape width"),
    (lambda: costs.depthwise_conv2d((8, 8, 3), 3, depth_multiplier=0), "depth_multiplier"),
    (lambda: costs.depthwise_conv2d((2, 8, 3), 3, padding="valid"), "kernel_size"),
    (lambda: costs.separable_conv2d((8, 8, 3), 0, 3), "filters"),
    (lambda: costs.dense(0, 10), "in_features"),
    (lambda: costs.output_size(3, 5, 1, "valid"), "kernel_size"),
    (lambda: costs.output_size(10, 3, 1, "causal"), "padding"),
    (lambda: costs.output_size(-1, 3, 1, "same"), "size"),
    (lambda: costs.model_size_bytes(100, 0), "bits"),
]


@pytest.mark.parametrize(("call", "argument"), BAD_INPUT)
def test_bad_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


@pytest.mark.parametrize(("call", "argument"), BAD_TYPE)
def test_wrong_type_raises_type_error_naming_the_argument(call, argument):
    with pytest.raises(TypeError, match=argument):
        call()


def test_padding_error_lists_allowed_values():
    with pytest.raises(ValueError, match=r"\('same', 'valid'\)"):
        costs.conv2d((8, 8, 3), 4, 3, padding="full")


def test_costs_module_imports_no_keras():
    import subprocess
    import sys

    code = (
        "import sys, mobilecourse.costs, mobilecourse.checks, mobilecourse.units;"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
