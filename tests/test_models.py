"""The reference architectures reproduce the papers' numbers (course brief, exact)."""

import keras
import pytest

from mobilecourse import models
from mobilecourse.data import paper_table
from mobilecourse.profile import profile_model


def conv_macs(profile):
    """MACs of the convolutions only (the papers' "complexity" leaves out the classifier)."""
    return sum(r.macs for r in profile.rows if r.type != "Dense")


@pytest.mark.parametrize(
    ("alpha", "macs"),
    [(1.0, 568_740_352), (0.75, 325_400_448), (0.5, 149_497_088), (0.25, 41_030_272)],
)
def test_mobilenet_v1_table6_width_multiplier(alpha, macs):
    profile = profile_model(models.mobilenet_v1(width=alpha))
    assert profile.macs == macs
    paper = paper_table("mobilenet_v1").set_index(["alpha", "resolution"])
    row = paper.loc[[(alpha, 224)]].iloc[0]  # the first row of that key (pandas 2 and 3)
    assert round(profile.macs / 1e6) == row["mult_adds_millions"]
    # the paper's params are kernel weights only, rounded to 0.1M
    assert round(profile.weights / 1e6, 1) == row["params_millions"]


@pytest.mark.parametrize(
    ("size", "macs"), [(192, 418_121_728), (160, 290_675_200), (128, 186_400_768)]
)
def test_mobilenet_v1_table7_resolution_multiplier(size, macs):
    profile = profile_model(models.mobilenet_v1(input_shape=(size, size, 3)))
    assert profile.macs == macs
    paper = paper_table("mobilenet_v1").set_index("model")
    # the paper prints whole millions, sometimes truncated (290.7 -> 290)
    assert abs(profile.macs / 1e6 - paper.loc[f"1.0 MobileNet-{size}", "mult_adds_millions"]) < 1


def test_mobilenet_v1_table4_conv_mobilenet_within_0_1_percent():
    profile = profile_model(models.mobilenet_v1(depthwise=False))
    assert abs(profile.macs / 4866e6 - 1) < 0.001
    assert abs(profile.weights / 29.3e6 - 1) < 0.001


def test_mobilenet_v1_table2_breakdown_by_layer_type():
    table = profile_model(models.mobilenet_v1()).by_type()
    paper = paper_table("mobilenet_v1_table2").set_index("layer_type")
    # printed 1.19 % for Conv 3x3 is a misprint of 1.91 % (the column then sums to 100)
    paper.loc["Conv 3x3", "mult_adds_percent"] = 1.91
    names = {
        "Conv 1x1": "Conv 1x1",
        "Conv DW 3x3": "Conv DW 3x3",
        "Conv 3x3": "Conv 3x3",
        "Fully Connected": "Fully Connected",
    }
    for ours, theirs in names.items():
        assert round(table.loc[ours, "macs_percent"], 2) == paper.loc[theirs, "mult_adds_percent"]
        # parameters: kernel weights only (no FC bias), as the paper counts
        assert round(table.loc[ours, "weights_percent"], 2) == paper.loc[theirs, "params_percent"]


def test_mobilenet_v1_matches_keras_application_parameter_for_parameter():
    ours = models.mobilenet_v1()
    reference = keras.applications.MobileNet(weights=None)
    assert ours.count_params() == reference.count_params() == 4_253_864
    trainable = sum(int(w.numpy().size) for w in ours.trainable_weights)
    assert trainable == 4_231_976


def test_mobilenet_v2_paper_and_keras_numbers():
    model = models.mobilenet_v2()
    profile = profile_model(model)
    assert profile.macs == 300_774_272
    assert profile.weights + profile.bias == 3_470_760  # "3.4M": everything but BatchNorm
    assert model.count_params() == keras.applications.MobileNetV2(weights=None).count_params()
    assert model.count_params() == 3_538_984


def test_mobilenet_v2_width_rounding():
    assert [models.make_divisible(c * 0.35) for c in (32, 16, 24, 96, 320)] == [16, 8, 8, 32, 112]
    small = models.mobilenet_v2(width=0.5)
    big = models.mobilenet_v2(width=1.4)
    assert small.get_layer("Conv_1").filters == 1280  # kept for alpha <= 1
    assert big.get_layer("Conv_1").filters == 1792
    assert small.get_layer("block_16_project").filters == 160


def test_squeezenet_table1_per_layer_and_total():
    profile = profile_model(models.squeezenet())
    per_layer = {}
    for row in profile.rows:
        layer = row.name.split("_")[0]
        per_layer[layer] = per_layer.get(layer, 0) + row.weights + row.bias
    paper = paper_table("squeezenet_table1").set_index("layer")["params"]
    assert {k: per_layer[k] for k in paper.index} == paper.to_dict()
    assert profile.params == 1_248_424


def test_squeezenet_spatial_sizes_are_the_papers():
    model = models.squeezenet()
    sizes = [
        model.get_layer(n).output.shape[1] for n in ("conv1", "pool1", "pool4", "pool8", "conv10")
    ]
    assert sizes == [111, 55, 27, 13, 13]


@pytest.mark.parametrize("groups", [1, 2, 3, 4, 8])
def test_shufflenet_table1_complexity_within_half_a_percent(groups):
    model = models.shufflenet(groups=groups)
    paper = paper_table("shufflenet_table1").set_index("groups")
    expected = paper.loc[groups, "complexity_million_macs"] * 1e6
    assert abs(conv_macs(profile_model(model)) / expected - 1) < 0.005
    stage_channels = [model.get_layer(f"stage{s}_unit2_add").output.shape[-1] for s in (2, 3, 4)]
    assert (
        stage_channels
        == paper.loc[groups, ["stage2_channels", "stage3_channels", "stage4_channels"]].tolist()
    )


def test_shufflenet_without_shuffle_has_the_same_cost():
    with_shuffle = profile_model(models.shufflenet(groups=8))
    without = models.shufflenet(groups=8, shuffle=False)
    assert not any("shuffle" in layer.name for layer in without.layers)
    assert profile_model(without).macs == with_shuffle.macs
    assert without.count_params() == with_shuffle.params


@pytest.mark.parametrize(
    "factory", [models.mobilenet_v1, models.mobilenet_v2, models.squeezenet, models.shufflenet]
)
@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_small_inputs_build_and_run(factory, shape):
    model = factory(input_shape=shape, classes=10)
    out = model(keras.ops.zeros((2, *shape)))
    assert tuple(out.shape) == (2, 10)
    assert profile_model(model).params == model.count_params()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: models.mobilenet_v1(input_shape=(16, 16, 3)), "at least 17x17"),
        (lambda: models.mobilenet_v2(input_shape=(8, 64, 3)), "too small for mobilenet_v2"),
        (lambda: models.squeezenet(input_shape=(20, 20, 3)), "at least 21x21"),
        (lambda: models.shufflenet(input_shape=(12, 12, 3)), "too small for shufflenet"),
        (lambda: models.mobilenet_v1(width=0), "width"),
        (lambda: models.mobilenet_v1(width=0.01), "width=0.01"),
        (lambda: models.mobilenet_v2(classes=0), "classes"),
        (lambda: models.squeezenet(input_shape=(227, 227)), "input_shape"),
        (lambda: models.shufflenet(groups=5), r"groups must be one of \(1, 2, 3, 4, 8\)"),
        (lambda: models.shufflenet(groups=8, width=0), "width"),
    ],
)
def test_bad_arguments_are_refused_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: models.mobilenet_v1(depthwise="no"), "depthwise must be True or False"),
        (lambda: models.mobilenet_v2(width="1.0"), "width must be a positive number"),
        (lambda: models.digits_cnn(classes=10.0), "classes must be a positive integer"),
    ],
)
def test_arguments_of_the_wrong_type_are_a_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_squeezenet_design_space_defaults_are_v1_0():
    assert models.squeezenet_design() == models.SQUEEZENET_V1_0
    wide = models.squeezenet_design(squeeze_ratio=1.0, pct3x3=0.0)
    assert [(r.squeeze, r.expand1x1, r.expand3x3) for r in wide[:2]] == [(128, 128, 0)] * 2
    assert (
        models.squeezenet(fires=wide, input_shape=(32, 32, 3), classes=10).name
        == "squeezenet_custom"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"squeeze_ratio": 0}, "squeeze_ratio"),
        ({"pct3x3": 1.5}, "pct3x3"),
        ({"incr_e": -1}, "incr_e"),
        ({"freq": 0}, "freq"),
    ],
)
def test_squeezenet_design_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.squeezenet_design(**kwargs)


def test_shufflenet_2x_matches_table5_budget():
    # ShuffleNet 2x (g = 3) against 1.0 MobileNet-224 at equal budget (Table 5: 524M, 569M)
    paper = paper_table("shufflenet_table5").set_index("model")["mult_adds_millions"]
    shufflenet = profile_model(models.shufflenet(groups=3, width=2.0)).macs
    mobilenet = profile_model(models.mobilenet_v1()).macs
    assert abs(shufflenet / (paper["ShuffleNet 2x (g = 3)"] * 1e6) - 1) < 0.005
    assert abs(mobilenet / (paper["1.0 MobileNet-224"] * 1e6) - 1) < 0.005
    assert models.shufflenet(groups=3, width=2.0).get_layer("conv1").filters == 48


def test_digits_cnn_depth_from_its_blocks_table():
    shallow = models.digits_cnn(width=1.0, blocks=models.DIGITS_CNN_BLOCKS[:2], name="shallow")
    names = [layer.name for layer in shallow.layers]
    assert shallow.name == "shallow" and "ds2_pw" in names and "ds3_pw" not in names
    # the dense layer now reads 64 channels: params = full network minus ds3 and 64 dense rows
    full = models.digits_cnn(width=1.0)
    ds3_layers = ("ds3_dw", "ds3_dw_bn", "ds3_pw", "ds3_pw_bn")
    ds3 = sum(full.get_layer(n).count_params() for n in ds3_layers)
    assert shallow.count_params() == full.count_params() - ds3 - (128 - 64) * 10
    with pytest.raises(TypeError, match=r"blocks must be a tuple of SeparableRow"):
        models.digits_cnn(blocks=[(32, 1)])
    with pytest.raises(ValueError, match="blocks must not be empty"):
        models.digits_cnn(blocks=())
    with pytest.raises(ValueError, match="too small|at least"):
        models.digits_cnn(input_shape=(4, 4, 1))


def test_mobilenet_table9_macs_and_squeezenet_flops():
    """Table 9: 0.50 MobileNet-160's mult-adds are MACs; SqueezeNet's "1700" are FLOPs."""
    table9 = paper_table("mobilenet_v1_table9").set_index("model")
    half = profile_model(models.mobilenet_v1(width=0.5, input_shape=(160, 160, 3)))
    paper = table9.loc["0.50 MobileNet-160", "mult_adds_millions"]
    assert paper == 76 and abs(half.macs / 1e6 / paper - 1) < 0.01  # 76.5M: the paper rounds down
    assert round(half.weights / 1e6, 2) == table9.loc["0.50 MobileNet-160", "params_millions"]
    squeezenet = profile_model(models.squeezenet())
    assert round(squeezenet.params / 1e6, 2) == table9.loc["SqueezeNet", "params_millions"]
    # 832.7M MACs: the printed 1700 is twice that (FLOPs), not the MAC count
    assert round(2 * squeezenet.macs / 1e8) * 100 == table9.loc["SqueezeNet", "mult_adds_millions"]
    assert abs(squeezenet.macs / 1e6 - 1700) > 800
