"""Lesson 03's cross-network figures: SqueezeNet's bypasses, FaceNet's NN1 and NN2, the
UNC deck's Netscope table, DenseNet-121. Expected values are derived by hand from the
layer shapes (or are the published figures), not read from the code under test."""

import math

import keras
import numpy as np
import pytest

from mobilecourse import models
from mobilecourse.data import paper_table
from mobilecourse.profile import profile_model

SQUEEZENET_PARAMS = 1_248_424  # Iandola et al. 2016, Table 1
SQUEEZENET_MACS = 832_667_936  # lesson 03, section 1 (tests/test_models.py)
UNITS = {"K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}


def rounds_to(value, text):
    """Whether ``value`` rounds to a printed figure such as '861.34M' at its precision."""
    unit = UNITS.get(text[-1], 1)
    digits = text[:-1] if text[-1] in UNITS else text
    decimals = len(digits.partition(".")[2])
    return round(value / unit, decimals) == round(float(digits), decimals)


def shape_only(factory):
    with keras.StatelessScope(initialize_variables=False):
        return factory(weights=None)


# ------------------------------------------------------------------ SqueezeNet bypasses

# (fire, input channels M, output channels N) of SqueezeNet v1.0, from Table 1
FIRES = [
    ("fire2", 96, 128),
    ("fire3", 128, 128),
    ("fire4", 128, 256),
    ("fire5", 256, 256),
    ("fire6", 256, 384),
    ("fire7", 384, 384),
    ("fire8", 384, 512),
    ("fire9", 512, 512),
]


def test_simple_bypass_adds_no_parameters_around_the_matching_fires():
    model = models.squeezenet(bypass="simple")
    assert model.count_params() == SQUEEZENET_PARAMS
    adds = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert adds == ["fire3_bypass", "fire5_bypass", "fire7_bypass", "fire9_bypass"]
    assert model.name == "squeezenet_v1_0_simple_bypass"


def test_complex_bypass_adds_a_1x1_conv_where_channels_differ():
    model = models.squeezenet(bypass="complex")
    # by hand: 96*128+128 + 128*256+256 + 256*384+384 + 384*512+512
    extra = 12_416 + 33_024 + 98_688 + 197_120
    assert extra == 341_248
    assert model.count_params() == SQUEEZENET_PARAMS + extra == 1_589_672
    convs = [layer.name for layer in model.layers if layer.name.endswith("_bypass_conv")]
    assert convs == [
        "fire2_bypass_conv",
        "fire4_bypass_conv",
        "fire6_bypass_conv",
        "fire8_bypass_conv",
    ]
    adds = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 8
    # the 1x1 convolutions' MACs: M * N per position of their map
    extra_macs = (
        55 * 55 * 96 * 128 + 55 * 55 * 128 * 256 + 27 * 27 * 256 * 384 + 27 * 27 * 384 * 512
    )
    assert profile_model(model).macs == SQUEEZENET_MACS + extra_macs


def test_bypass_sizes_against_table3():
    table3 = paper_table("squeezenet_table3").set_index("architecture")["model_size_mb"]
    mib = {
        kind: models.squeezenet(bypass=kind).count_params() * 4 / 2**20
        for kind in ("none", "simple", "complex")
    }
    assert round(mib["none"], 1) == table3["Vanilla SqueezeNet"] == 4.8
    assert round(mib["simple"], 1) == table3["SqueezeNet + Simple Bypass"] == 4.8
    # Fig. 2's complex bypass gives 6.06 MiB (6.36 MB): Table 3's 7.7 is not reproduced
    assert round(mib["complex"], 2) == 6.06
    assert table3["SqueezeNet + Complex Bypass"] == 7.7
    all_eight = SQUEEZENET_PARAMS + sum(m * n + n for _, m, n in FIRES)
    assert round(all_eight * 4 / 2**20, 2) == 7.94  # a 1x1 conv on every bypass overshoots


def test_bypass_variants_run_on_small_inputs():
    x = np.zeros((2, 32, 32, 3), "float32")
    for kind in ("none", "simple", "complex"):
        model = models.squeezenet(input_shape=(32, 32, 3), classes=10, bypass=kind)
        assert model(x).shape == (2, 10)
    custom = models.squeezenet(fires=models.squeezenet_design(0.25, 0.5), bypass="simple")
    assert custom.name == "squeezenet_custom_simple_bypass"


@pytest.mark.parametrize(
    ("bypass", "error"),
    [(1, TypeError), (None, TypeError), ("Simple", ValueError), ("both", ValueError)],
)
def test_bypass_bad_values(bypass, error):
    with pytest.raises(error, match="bypass must be one of"):
        models.squeezenet(bypass=bypass)


# ------------------------------------------------------------------ FaceNet NN1 and NN2


def conv(size_in, c_in, c_out, k, stride=1):
    """(params with bias, MACs, MACs + one add per bias) of a 'same' convolution."""
    side = -(-size_in // stride)
    weights = k * k * c_in * c_out
    return weights + c_out, weights * side * side, (weights + c_out) * side * side


def test_facenet_nn1_flops_are_multiply_adds_with_bias_adds():
    rows = paper_table("facenet_nn1").set_index("layer")
    layers = {
        "conv1": conv(220, 3, 64, 7, 2),
        "conv2a": conv(55, 64, 64, 1),
        "conv2": conv(55, 64, 192, 3),
        "conv3a": conv(28, 192, 192, 1),
        "conv3": conv(28, 192, 384, 3),
        "conv4a": conv(14, 384, 384, 1),
        "conv4": conv(14, 384, 256, 3),
        "conv5a": conv(14, 256, 256, 1),
        "conv5": conv(14, 256, 256, 3),
        "conv6a": conv(14, 256, 256, 1),
        "conv6": conv(14, 256, 256, 3),
        # maxout p = 2: 7*7*256 -> 2 * 4096 and 4096 -> 2 * 4096; then 4096 -> 128
        "fc1": (12544 * 8192 + 8192, 12544 * 8192, 12544 * 8192 + 8192),
        "fc2": (4096 * 8192 + 8192, 4096 * 8192, 4096 * 8192 + 8192),
        "fc7128": (4096 * 128 + 128, 4096 * 128, 4096 * 128 + 128),
    }
    for name, (params, _, with_bias) in layers.items():
        assert rounds_to(params, rows.loc[name, "params_printed"]), name
        flops = rows.loc[name, "flops_printed"]
        if isinstance(flops, str):
            assert rounds_to(with_bias, flops), name
    # conv1 and conv3 print the bias adds: 114M / 520M without them
    assert not rounds_to(layers["conv1"][1], "115M") and not rounds_to(layers["conv3"][1], "521M")
    params = sum(v[0] for v in layers.values())
    macs = sum(v[1] for v in layers.values())
    assert rounds_to(params, rows.loc["total", "params_printed"])  # 140M
    assert rounds_to(macs, rows.loc["total", "flops_printed"])  # 1.6B multiply-adds
    assert not rounds_to(2 * macs, rows.loc["total", "flops_printed"])  # not 2 x MACs


def test_facenet_nn2_totals_and_an_inception_row():
    rows = paper_table("facenet_nn2").set_index("type")
    # inception (3a) on 28x28x192: 1x1 64 | 96 -> 3x3 128 | 16 -> 5x5 32 | pool -> 32
    weights = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    bias = 64 + 96 + 128 + 16 + 32 + 32
    assert rounds_to(weights + bias, rows.loc["inception (3a)", "params_printed"])  # 164K
    assert not rounds_to(weights, rows.loc["inception (3a)", "params_printed"])  # 163K
    assert rounds_to(weights * 28 * 28, rows.loc["inception (3a)", "flops_printed"])  # 128M
    # conv1 at 112x112: (7*7*3*64 + 64) * 112^2 prints 119M; the MACs alone 118M
    assert rounds_to((9408 + 64) * 112 * 112, rows.loc["conv1 (7x7x3, 2)", "flops_printed"])
    assert not rounds_to(9408 * 112 * 112, rows.loc["conv1 (7x7x3, 2)", "flops_printed"])
    assert (
        rows.loc["total", "params_printed"] == "7.5M"
        and rows.loc["total", "flops_printed"] == "1.6B"
    )


# ------------------------------------------------------------------ the Netscope table


@pytest.fixture(scope="module")
def unc():
    return paper_table("unc_network_stats").set_index("model")


def test_squeezenet_row_has_a_padded_conv10(unc):
    # conv10 (1x1, 512 -> 1000) on a 13x13 map padded to 15x15
    assert rounds_to(SQUEEZENET_MACS + 512 * 1000 * (15**2 - 13**2), unc.loc["SqueezeNet", "macc"])
    assert not rounds_to(SQUEEZENET_MACS, unc.loc["SqueezeNet", "macc"])
    assert rounds_to(15 * 15 * 1000 + 1000, unc.loc["SqueezeNet", "add"])  # avg pool + softmax
    profile = profile_model(models.squeezenet())
    outputs = sum(r.activations for r in profile.rows)  # every layer, as Netscope counts
    padded = outputs + 227 * 227 * 3 + 2 * (15**2 - 13**2) * 1000  # + input, conv10 and its ReLU
    assert rounds_to(padded, unc.loc["SqueezeNet", "activations"])
    assert rounds_to(SQUEEZENET_PARAMS, unc.loc["SqueezeNet", "params"])


def test_alexnet_row_is_ten_images(unc):
    # Caffe's AlexNet, 227x227, conv2/4/5 in two groups
    convs = [
        (55, 96, 11 * 11 * 3),
        (27, 256, 5 * 5 * 48),
        (13, 384, 3 * 3 * 256),
        (13, 384, 3 * 3 * 192),
        (13, 256, 3 * 3 * 192),
    ]
    macs = (
        sum(side * side * n * per for side, n, per in convs)
        + 9216 * 4096
        + 4096 * 4096
        + 4096 * 1000
    )
    assert macs == 724_406_816
    lrn = 55 * 55 * 96 + 27 * 27 * 256  # LRN after conv1 and conv2: 5 MACs per element
    per_image = {
        "macc": macs + 5 * lrn,
        "add": lrn + 1000,  # LRN's one add per element, softmax
        "div": 2 * lrn + 1000,
        # input; conv + ReLU outputs; the two LRNs; pools (27x27x96, 13x13x256, 6x6x256);
        # fc6, fc7 with ReLU and dropout; fc8; softmax
        "activations": 227 * 227 * 3
        + 2 * sum(s * s * n for s, n, _ in convs)
        + lrn
        + 27 * 27 * 96
        + 13 * 13 * 256
        + 6 * 6 * 256
        + 6 * 4096
        + 2 * 1000,
    }
    for column, value in per_image.items():
        assert rounds_to(10 * value, unc.loc["AlexNet", column]), column
        assert not rounds_to(value, unc.loc["AlexNet", column]), column
    assert rounds_to(60_965_224, unc.loc["AlexNet", "params"])  # one model, not ten


def test_vgg16_row_is_ten_images(unc):
    stages = [(224, 64, 2), (112, 128, 2), (56, 256, 3), (28, 512, 3), (14, 512, 3)]
    macs, conv_out, pooled, c_in = 0, 0, 0, 3
    for side, c, repeats in stages:
        for _ in range(repeats):
            macs += side * side * 9 * c_in * c
            conv_out += side * side * c
            c_in = c
        pooled += (side // 2) ** 2 * c
    macs += 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert macs == 15_470_264_320
    assert profile_model(shape_only(keras.applications.VGG16)).macs == macs
    activations = 224 * 224 * 3 + 2 * conv_out + pooled + 6 * 4096 + 2 * 1000
    comparisons = conv_out + 4 * 4096 + 4 * pooled  # ReLUs, fc ReLUs and dropouts, 2x2 max-pools
    for column, value in {
        "macc": macs,
        "activations": activations,
        "comp": comparisons,
        "add": 1000,
        "div": 1000,
    }.items():
        assert rounds_to(10 * value, unc.loc["VGG16", column]), column
    assert rounds_to(138_357_544, unc.loc["VGG16", "params"])


@pytest.mark.parametrize(
    ("name", "factory"), [("ResNet-50", "ResNet50"), ("ResNet-152", "ResNet152")]
)
def test_resnet_rows_count_caffes_scale_layers(unc, name, factory):
    model = shape_only(getattr(keras.applications, factory))
    profile = profile_model(model)

    def outputs(kind):
        return sum(r.activations for r in profile.rows if r.type == kind)

    bn = outputs("BatchNormalization")
    bn_channels = sum(r.output_shape[-1] for r in profile.rows if r.type == "BatchNormalization")
    assert rounds_to(profile.macs + bn, unc.loc[name, "macc"])  # + one multiply per Scale element
    assert not rounds_to(profile.macs, unc.loc[name, "macc"]) or name == "ResNet-152"
    assert rounds_to(bn + 1000, unc.loc[name, "div"])  # BatchNorm's divisions, softmax
    # Caffe: convolutions without bias, 2 numbers per BatchNorm channel, the classifier's bias
    assert rounds_to(profile.weights + 1000 + 2 * bn_channels, unc.loc[name, "params"])
    caffe = (
        math.prod(model.input_shape[1:])
        + sum(r.activations for r in profile.rows if r.type != "ZeroPadding2D")
        + bn
        + 1000
    )  # input, every layer, the Scale layers, a separate softmax
    assert rounds_to(caffe, unc.loc[name, "activations"])


def test_size_column_is_mib_for_six_rows(unc):
    fits = [
        model
        for model, row in unc.iterrows()
        if abs(float(row["params"][:-1]) * 1e6 * 4 / 2**20 - row["size_mb"])
        < (0.5 if row["size_mb"] % 1 == 0 else 0.05)
    ]
    assert fits == ["SimpleNet", "Inception v4", "Inception v3", "Incep-Resv2", "ResNet-152", "NIN"]
    assert (
        int(SQUEEZENET_PARAMS * 4 / 2**20 * 10) / 10 == unc.loc["SqueezeNet", "size_mb"]
    )  # 4.76 cut


# ------------------------------------------------------------------ DenseNet-121


def test_densenet121_parameters_by_formula():
    k, c, params = 32, 64, 7 * 7 * 3 * 64 + 4 * 64
    widths = []
    for i, layers in enumerate((6, 12, 24, 16)):
        for ell in range(layers):
            c_in = c + ell * k  # k0 + (l - 1) k channels reach layer l = ell + 1
            params += 4 * c_in + c_in * 4 * k + 4 * 4 * k + 9 * 4 * k * k
        c += layers * k
        widths.append(c)
        if i < 3:
            params += 4 * c + c * (c // 2)
            c //= 2
    params += 4 * c + c * 1000 + 1000
    assert widths == [256, 512, 1024, 1024]
    model = shape_only(keras.applications.DenseNet121)
    assert model.count_params() == params == 8_062_504
