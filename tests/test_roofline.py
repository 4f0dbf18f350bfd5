"""The roofline: the formula, layers' intensity worked out by hand, and the probes."""

import math

import pytest

from mobilecourse import costs, roofline


def test_attainable_is_the_lower_of_the_two_roofs():
    # 20 GB/s and 30 GMAC/s meet at 1.5 MACs per byte
    roof = roofline.Roof(peak_gmacs=30.0, bandwidth_gbs=20.0)
    assert roof.ridge == 1.5
    assert roof.attainable(0.5) == 10.0  # memory-bound: 20 GB/s x 0.5 MAC/B
    assert roof.attainable(1.5) == 30.0
    assert roof.attainable(40.0) == 30.0  # compute-bound
    with pytest.raises(ValueError, match="cache_bandwidth_gbs"):
        roof.attainable(0.5, level="cache")
    cached = roofline.Roof(peak_gmacs=30.0, bandwidth_gbs=20.0, cache_bandwidth_gbs=60.0)
    assert cached.attainable(0.25, level="cache") == 15.0 and cached.attainable(0.25) == 5.0
    with pytest.raises(ValueError, match="level"):
        cached.attainable(1.0, level="L2")


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_attainable_refuses_non_positive_numbers(bad):
    with pytest.raises(ValueError, match="intensity"):
        roofline.attainable(bad, 30.0, 20.0)
    with pytest.raises(ValueError, match="bandwidth_gbs"):
        roofline.Roof(peak_gmacs=30.0, bandwidth_gbs=bad)


def test_memory_traffic_of_a_pointwise_layer_is_shufflenet_v2s_formula():
    # Ma et al. 2018: a 1x1 convolution moves hw(c1 + c2) + c1 c2 values
    h = w = 14
    c1, c2 = 512, 256
    cost = costs.conv2d((h, w, c1), c2, 1, use_bias=False)
    assert costs.memory_traffic((h, w, c1), cost) == h * w * (c1 + c2) + c1 * c2
    with pytest.raises(TypeError, match="cost must be a LayerCost"):
        costs.memory_traffic((h, w, c1), 3)


def test_layer_points_have_the_hand_counted_intensity():
    pointwise = roofline.layer_point("pw", "conv", (14, 14, 512), 512, 1)
    assert pointwise.macs == 196 * 512 * 512
    assert pointwise.traffic_bytes == 4 * (2 * 196 * 512 + 512 * 512)
    depthwise = roofline.layer_point("dw", "depthwise", (56, 56, 128), kernel_size=3)
    assert depthwise.macs == 56 * 56 * 128 * 9
    assert depthwise.traffic_bytes == 4 * (2 * 56 * 56 * 128 + 9 * 128)
    # a depthwise 3x3 does about one MAC per byte; a standard 3x3 at 14x14x512 about 45
    assert 1.0 < depthwise.intensity < 1.2
    assert math.isnan(depthwise.gmacs)
    standard = roofline.layer_point("std", "conv", (14, 14, 512), 512, 3)
    assert 45 < standard.intensity < 46
    with pytest.raises(ValueError, match="kind"):
        roofline.layer_point("x", "pool", (8, 8, 8))


def test_the_probes_are_one_layer_each_and_the_stream_is_a_single_add():
    from ai_edge_litert.interpreter import Interpreter

    from mobilecourse import tflite

    models = roofline.probe_models()
    assert list(models)[-2:] == ["stream", "cache"]
    assert len(models) == len(roofline.COMPUTE_PROBES) + 2
    for name in ("stream", "cache"):
        stream = Interpreter(model_content=tflite.to_tflite(models[name]))
        assert [op["op_name"] for op in stream._get_ops_details()] == ["ADD"]
    # the memory stream moves 32 MiB, more than a laptop's caches; the cache stream 1 MiB
    assert 2 * 4 * math.prod(roofline.STREAM_SHAPE) == 32 * 2**20
    assert 2 * 4 * math.prod(roofline.CACHE_STREAM_SHAPE) == 2**20
    for name, shape, filters, kernel in roofline.COMPUTE_PROBES:
        cost = costs.conv2d(shape, filters, kernel, use_bias=False)
        # far above any CPU's ridge: at least 25 MACs per byte
        assert cost.macs / (4 * costs.memory_traffic(shape, cost)) > 25, name


def test_measure_roof_gives_a_finite_positive_roof():
    roof = roofline.measure_roof(rounds=3, runs=1)
    assert 0 < roof.bandwidth_gbs < math.inf and 0 < roof.peak_gmacs < math.inf
    assert 0 < roof.cache_bandwidth_gbs < math.inf
    assert roof.threads == 1
