"""Property tests: for random valid layers, the formulas agree with Keras 3 itself."""

import keras
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobilecourse import costs

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes = st.integers(min_value=1, max_value=33)
pairs = st.one_of(
    st.integers(min_value=1, max_value=5), st.tuples(st.integers(1, 5), st.integers(1, 5))
)
paddings = st.sampled_from(["same", "valid"])


def as_pair(value):
    return value if isinstance(value, tuple) else (value, value)


@st.composite
def spatial(draw):
    """A (height, width) input, kernel, strides and padding that Keras accepts."""
    kernel = draw(pairs)
    strides = draw(pairs)
    padding = draw(paddings)
    kh, kw = as_pair(kernel)
    if padding == "valid":
        height, width = draw(st.integers(kh, kh + 30)), draw(st.integers(kw, kw + 30))
    else:
        height, width = draw(sizes), draw(sizes)
    return height, width, kernel, strides, padding


def keras_facts(layer, input_shape):
    layer.build((None, *input_shape))
    return layer.count_params(), tuple(layer.compute_output_shape((None, *input_shape))[1:])


@SETTINGS
@given(
    spatial(),
    st.integers(1, 4),  # channels per group in
    st.integers(1, 4),  # filters per group
    st.sampled_from([1, 2, 3, 4]),
    st.booleans(),
)
def test_conv2d_matches_keras(geometry, in_per_group, out_per_group, groups, use_bias):
    height, width, kernel, strides, padding = geometry
    channels, filters = in_per_group * groups, out_per_group * groups
    shape = (height, width, channels)
    cost = costs.conv2d(shape, filters, kernel, strides, padding, groups, use_bias)
    layer = keras.layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, groups=groups, use_bias=use_bias
    )
    assert (cost.params, cost.output_shape) == keras_facts(layer, shape)


@SETTINGS
@given(spatial(), st.integers(1, 8), st.integers(1, 3), st.booleans())
def test_depthwise_matches_keras(geometry, channels, depth_multiplier, use_bias):
    height, width, kernel, strides, padding = geometry
    shape = (height, width, channels)
    cost = costs.depthwise_conv2d(shape, kernel, strides, padding, depth_multiplier, use_bias)
    layer = keras.layers.DepthwiseConv2D(
        kernel,
        strides=strides,
        padding=padding,
        depth_multiplier=depth_multiplier,
        use_bias=use_bias,
    )
    assert (cost.params, cost.output_shape) == keras_facts(layer, shape)


@SETTINGS
@given(spatial(), st.integers(1, 8), st.integers(1, 16), st.booleans())
def test_separable_matches_keras(geometry, channels, filters, use_bias):
    height, width, kernel, strides, padding = geometry
    shape = (height, width, channels)
    cost = costs.separable_conv2d(shape, filters, kernel, strides, padding, use_bias)
    layer = keras.layers.SeparableConv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=use_bias
    )
    assert (cost.params, cost.output_shape) == keras_facts(layer, shape)


@SETTINGS
@given(st.integers(1, 300), st.integers(1, 300), st.booleans())
def test_dense_matches_keras(in_features, units, use_bias):
    cost = costs.dense(in_features, units, use_bias)
    layer = keras.layers.Dense(units, use_bias=use_bias)
    assert (cost.params, cost.output_shape) == keras_facts(layer, (in_features,))
