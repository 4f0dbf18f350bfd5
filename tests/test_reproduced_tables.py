"""The tables lessons 02 and 04 rebuild: MobileNet v1 Tables 5 and 8, Xception Table 3 and
ShuffleNet Tables 4, 5 and 6 (CVPR 2018), and the consistency of the numbers they quote.

Expected counts are worked out by hand from the layer shapes (or are the course brief's
reference numbers), never read from the code under test.
"""

import math

import keras
import pytest

from mobilecourse import models
from mobilecourse.data import available_tables, paper_table
from mobilecourse.profile import profile_model

NEW_TABLES = [
    "mobilenet_v1_table5",
    "mobilenet_v1_table8",
    "xception_table1",
    "xception_table3",
    "shufflenet_table3",
    "shufflenet_table4",
    "shufflenet_table5",
    "shufflenet_table6",
]

# 1.0 MobileNet-224 (course brief, exact): MACs and kernel weights
MOBILENET_MACS, MOBILENET_WEIGHTS = 568_740_352, 4_209_088


def conv_macs(profile):
    """MACs of the convolutions only (the classifier left out)."""
    return sum(r.macs for r in profile.rows if r.type != "Dense")


# ------------------------------------------------------------------ the data files


@pytest.mark.parametrize("name", NEW_TABLES)
def test_new_tables_load_and_name_their_source(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert name in available_tables()
    table = paper_table(name)
    assert len(table) >= 2
    assert table["source"].notna().all() and (table["source"].str.len() > 10).all()
    assert not table["source"].str.contains("http").any()


def test_shufflenet_table5_deltas_are_mobilenet_minus_shufflenet():
    # every ShuffleNet row is compared with the MobileNet row above it (the paper's pairs)
    table = paper_table("shufflenet_table5")
    reference = None
    pairs = 0
    for row in table.itertuples():
        if "MobileNet" in row.model:
            reference = row.top1_error_percent
            assert math.isnan(row.delta_error_percent)
        else:
            assert round(reference - row.top1_error_percent, 1) == row.delta_error_percent
            pairs += 1
    assert pairs == 6


def test_shufflenet_table3_deltas_and_the_larger_gain_at_g8():
    table = paper_table("shufflenet_table3")
    delta = (table["top1_error_no_shuffle_percent"] - table["top1_error_shuffle_percent"]).round(1)
    assert (delta == table["delta_error_percent"]).all() and (delta > 0).all()
    by_width = table.set_index(["width", "groups"])["delta_error_percent"]
    for width in (1.0, 0.5, 0.25):
        assert by_width[(width, 8)] > by_width[(width, 3)]


def test_shufflenet_tables_quote_the_same_networks_alike():
    table4 = paper_table("shufflenet_table4").set_index("shufflenet_model")
    table5 = paper_table("shufflenet_table5").set_index("model")
    table6 = paper_table("shufflenet_table6").set_index("model")
    table3 = paper_table("shufflenet_table3").set_index("model")
    for name in ("ShuffleNet 2x (g = 3)", "ShuffleNet 1x (g = 8)", "ShuffleNet 0.5x (g = 4)"):
        assert table6.loc[name, "top1_error_percent"] == table5.loc[name, "top1_error_percent"]
        assert table6.loc[name, "complexity_million_macs"] == table5.loc[name, "mult_adds_millions"]
    for name in ("ShuffleNet 1x (g = 8)", "ShuffleNet 0.5x (g = 4)"):
        assert (
            table4.loc[name, "shufflenet_error_percent"] == table5.loc[name, "top1_error_percent"]
        )
    assert table3.loc["ShuffleNet 1x (g = 8)", "top1_error_shuffle_percent"] == 32.4
    # ShuffleNet has the lowest error of the five structures at each budget (Table 4)
    others = ["vgg_like_error_percent", "resnet_error_percent", "xception_like_error_percent"]
    others.append("resnext_error_percent")
    assert (table4["shufflenet_error_percent"] < table4[others].min(axis=1)).all()


def test_the_papers_quote_vgg_alexnet_squeezenet_alike_but_not_googlenet():
    table6 = paper_table("shufflenet_table6").set_index("model")
    table8 = paper_table("mobilenet_v1_table8").set_index("model")
    table9 = paper_table("mobilenet_v1_table9").set_index("model")
    # ShuffleNet prints errors, MobileNet accuracies: error = 100 - accuracy
    assert table6.loc["VGG-16", "top1_error_percent"] == round(
        100 - table8.loc["VGG 16", "top1_percent"], 1
    )
    assert (
        table6.loc["VGG-16", "complexity_million_macs"]
        == table8.loc["VGG 16", "mult_adds_millions"]
    )
    for name in ("AlexNet", "SqueezeNet"):
        assert table6.loc[name, "top1_error_percent"] == round(
            100 - table9.loc[name, "top1_percent"], 1
        )
    assert (
        table6.loc["AlexNet", "complexity_million_macs"]
        == table9.loc["AlexNet", "mult_adds_millions"]
    )
    # two GoogLeNets: MobileNet quotes the original, ShuffleNet BVLC's reimplementation
    assert (
        table6.loc["GoogLeNet", "complexity_million_macs"]
        != table8.loc["GoogleNet", "mult_adds_millions"]
    )
    assert table6.loc["GoogLeNet", "top1_error_percent"] != round(
        100 - table8.loc["GoogleNet", "top1_percent"], 1
    )


def test_mobilenet_rows_agree_across_its_tables():
    main = paper_table("mobilenet_v1").set_index("model")
    table5 = paper_table("mobilenet_v1_table5").set_index("model")
    table8 = paper_table("mobilenet_v1_table8").set_index("model")
    columns = ["top1_percent", "mult_adds_millions", "params_millions"]
    assert (
        table5.loc["0.75 MobileNet", columns].tolist()
        == main.loc["0.75 MobileNet-224", columns].tolist()
    )
    assert (
        table8.loc["1.0 MobileNet-224", columns].tolist()
        == main.loc["1.0 MobileNet-224", columns].tolist()
    )
    xception1 = paper_table("xception_table1").set_index("model")
    assert (
        round(100 * xception1.loc["VGG-16", "top1_accuracy"], 1)
        == table8.loc["VGG 16", "top1_percent"]
    )
    assert (xception1["top1_accuracy"] < xception1["top5_accuracy"]).all()


# ------------------------------------------------------------------ MobileNet Table 5


def test_shallow_mobilenet_reproduces_table5():
    # one 14x14x512 depthwise separable layer (Table 3's second row): 3x3 depthwise + 1x1
    block_macs = 14 * 14 * 512 * (9 + 512)
    block_weights = 512 * (9 + 512)
    assert (block_macs, block_weights) == (52_283_392, 266_752)
    shallow_blocks = models.MOBILENET_V1_BLOCKS[:6] + models.MOBILENET_V1_BLOCKS[11:]
    assert len(shallow_blocks) == 8
    model = models.mobilenet_v1(blocks=shallow_blocks)
    shallow = profile_model(model)
    assert shallow.macs == MOBILENET_MACS - 5 * block_macs == 307_323_392
    assert shallow.weights == MOBILENET_WEIGHTS - 5 * block_weights == 2_875_328
    assert model.name == "mobilenet_v1_custom_1.00_224"
    assert model.get_layer("conv_ds_8_pw").output.shape[1:] == (7, 7, 1024)

    paper = paper_table("mobilenet_v1_table5").set_index("model")
    assert round(shallow.macs / 1e6) == paper.loc["Shallow MobileNet", "mult_adds_millions"]
    assert round(shallow.weights / 1e6, 1) == paper.loc["Shallow MobileNet", "params_millions"]
    narrow = profile_model(models.mobilenet_v1(width=0.75))
    assert round(narrow.macs / 1e6) == paper.loc["0.75 MobileNet", "mult_adds_millions"]
    assert round(narrow.weights / 1e6, 1) == paper.loc["0.75 MobileNet", "params_millions"]
    # the thin network costs more MACs and fewer weights than the shallow one
    assert narrow.macs > shallow.macs and narrow.weights < shallow.weights


def test_mobilenet_blocks_must_be_a_table_of_separable_rows():
    with pytest.raises(TypeError, match=r"blocks must be a tuple of SeparableRow"):
        models.mobilenet_v1(blocks=[(64, 1)])
    with pytest.raises(ValueError, match="blocks must not be empty"):
        models.mobilenet_v1(blocks=())
    assert models.mobilenet_v1(blocks=models.MOBILENET_V1_BLOCKS, input_shape=(32, 32, 3)).name == (
        "mobilenet_v1_1.00_32"
    )


# ------------------------------------------------------------------ MobileNet Table 8: VGG16

VGG16_CONVS = [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
]


def vgg16_by_hand():
    """(MACs of the convolutions, MACs in all, parameters) of VGG16 at 224x224."""
    size, channels, conv, params = 224, 3, 0, 0
    for item in VGG16_CONVS:
        if item == "M":
            size //= 2
            continue
        conv += size * size * 9 * channels * item
        params += 9 * channels * item + item
        channels = item
    total = conv
    for n_in, n_out in ((size * size * channels, 4096), (4096, 4096), (4096, 1000)):
        total += n_in * n_out
        params += n_in * n_out + n_out
    return conv, total, params


def test_vgg16_from_keras_applications_against_table8():
    conv, total, params = vgg16_by_hand()
    model = keras.applications.VGG16(weights=None)
    profile = profile_model(model)
    assert (conv_macs(profile), profile.macs, profile.params) == (conv, total, params)
    assert params == 138_357_544 == model.count_params()
    paper = paper_table("mobilenet_v1_table8").set_index("model").loc["VGG 16"]
    assert round(params / 1e6) == paper["params_millions"]
    # 15470M MACs in all, 1.1 % above the printed 15300; the convolutions alone 0.3 % above
    assert abs(total / (paper["mult_adds_millions"] * 1e6) - 1) < 0.012
    assert abs(conv / (paper["mult_adds_millions"] * 1e6) - 1) < 0.004
    # the paper's text: MobileNet is "32 times smaller and 27 times less compute intensive"
    assert int(profile.weights / MOBILENET_WEIGHTS) == 32
    assert round(total / MOBILENET_MACS) == 27


# ------------------------------------------------------------------ Xception Table 3


def test_xception_parameters_are_table3s_without_batchnorm_statistics():
    model = keras.applications.Xception(weights=None)
    profile = profile_model(model)
    paper = paper_table("xception_table3").set_index("model").loc["Xception", "params"]
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert trainable == paper == 22_855_952
    # Keras also counts each BatchNorm channel's moving mean and variance (2 of its 4 numbers)
    assert model.count_params() - paper == profile.batchnorm // 2
    assert profile.weights + profile.bias + profile.batchnorm // 2 == paper
    # 36 convolution layers (a separable one counted once) besides the 4 1x1 shortcuts
    shortcuts = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1)
    ]
    convs = [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.SeparableConv2D))
    ]
    assert len(shortcuts) == 4 and len(convs) - len(shortcuts) == 36


# ------------------------------------------------------------------ ShuffleNet Tables 4-6


def shufflenet_by_hand(conv1, stage2, groups, classes=1000):
    """(conv MACs, all MACs) of ShuffleNet at 224x224, from the unit formulas hw(2cm/g + 9m)."""
    macs = 112 * 112 * 3 * 3 * 3 * conv1
    channels_in, channels, size = conv1, stage2, 28
    for stage, repeats in enumerate((4, 8, 4)):
        m = channels // 4
        first_groups = 1 if stage == 0 else groups  # stage 2's first 1x1 is not grouped
        macs += (2 * size) ** 2 * channels_in * m // first_groups  # 1x1 on the input map
        macs += size * size * 9 * m  # 3x3 depthwise, stride 2
        macs += size * size * m * (channels - channels_in) // groups  # 1x1 to the concat
        macs += (repeats - 1) * size * size * (2 * channels * m // groups + 9 * m)
        channels_in, channels, size = channels, 2 * channels, size // 2
    return macs, macs + channels_in * classes


@pytest.mark.parametrize(
    ("kwargs", "conv1", "stage2"),
    [
        ({"groups": 3, "width": 1.5, "conv1_filters": 24}, 24, 360),
        ({"groups": 3, "width": 1.5}, 36, 360),
        ({"groups": 4, "width": 0.5}, 12, 144),
        ({"groups": 8, "width": 0.25}, 8, 96),
    ],
)
def test_shufflenet_variants_cost_what_the_unit_formulas_give(kwargs, conv1, stage2):
    model = models.shufflenet(**kwargs)
    profile = profile_model(model)
    assert model.get_layer("conv1").filters == conv1
    assert model.get_layer("stage2_unit2_add").output.shape[-1] == stage2
    assert (conv_macs(profile), profile.macs) == shufflenet_by_hand(conv1, stage2, kwargs["groups"])


def test_shufflenet_table5_costs_and_their_differences():
    table5 = paper_table("shufflenet_table5").set_index("model")["mult_adds_millions"]
    # 1.5x with conv1 at 24 filters, as the authors' released code has it: the printed 292M
    _, authors = shufflenet_by_hand(24, 360, 3)
    assert round(authors / 1e6) == table5["ShuffleNet 1.5x (g = 3)"] == 292
    _, scaled = shufflenet_by_hand(36, 360, 3)  # conv1 scaled to 36 like every other layer
    assert 0.02 < scaled / 292e6 - 1 < 0.03
    # 1x g=8: Table 1 prints its convolutions as 137M, Table 5 the same network as 140
    conv, total = shufflenet_by_hand(24, 384, 8)
    table1 = paper_table("shufflenet_table1").set_index("groups")["complexity_million_macs"]
    assert round(conv / 1e6) == table1[8] == 137 and table5["ShuffleNet 1x (g = 8)"] == 140
    assert abs(total / 140e6 - 1) < 0.02
    # 0.5x g=4 at the package's widths (144 = 272 / 2 rounded up to a multiple of 4g): 7 % above
    _, half = shufflenet_by_hand(12, 144, 4)
    assert 0.06 < half / (table5["ShuffleNet 0.5x (g = 4)"] * 1e6) - 1 < 0.08


def test_shufflenet_table4_budgets():
    table4 = paper_table("shufflenet_table4").set_index("shufflenet_model")[
        "complexity_million_macs"
    ]
    for (conv1, stage2, groups), name, tolerance in (
        ((24, 384, 8), "ShuffleNet 1x (g = 8)", 0.02),
        ((12, 144, 4), "ShuffleNet 0.5x (g = 4)", 0.08),
        ((8, 96, 8), "ShuffleNet 0.25x (g = 8)", 0.05),
    ):
        _, total = shufflenet_by_hand(conv1, stage2, groups)
        assert abs(total / (table4[name] * 1e6) - 1) < tolerance, name


def test_shufflenet_conv1_filters_is_checked():
    with pytest.raises(ValueError, match="conv1_filters must be a multiple of groups=3"):
        models.shufflenet(groups=3, conv1_filters=25)
    with pytest.raises(ValueError, match="below the stage 2 width 240"):
        models.shufflenet(groups=3, conv1_filters=240)
    with pytest.raises(TypeError, match="conv1_filters must be a positive integer"):
        models.shufflenet(conv1_filters=24.0)
    small = models.shufflenet(groups=3, conv1_filters=12, input_shape=(32, 32, 3), classes=10)
    assert small.get_layer("conv1").filters == 12 and small.name.endswith("_conv1_12")


def alexnet_by_hand():
    """(MACs, parameters) of Caffe's AlexNet at 227x227 (conv2, conv4, conv5 in 2 groups)."""
    layers = [  # (output side, kernel, input channels per group, filters)
        (55, 11, 3, 96),
        (27, 5, 48, 256),
        (13, 3, 256, 384),
        (13, 3, 192, 384),
        (13, 3, 192, 256),
    ]
    macs = sum(side * side * k * k * c * n for side, k, c, n in layers)
    params = sum(k * k * c * n + n for _, k, c, n in layers)
    for n_in, n_out in ((6 * 6 * 256, 4096), (4096, 4096), (4096, 1000)):
        macs += n_in * n_out
        params += n_in * n_out + n_out
    return macs, params


def test_alexnet_squeezenet_and_vgg_against_shufflenet_table6():
    table6 = paper_table("shufflenet_table6").set_index("model")["complexity_million_macs"]
    macs, params = alexnet_by_hand()
    model = models.alexnet()
    profile = profile_model(model)
    assert (profile.macs, profile.params) == (macs, params) == (724_406_816, 60_965_224)
    assert model.count_params() == params
    assert abs(macs / (table6["AlexNet"] * 1e6) - 1) < 0.01  # 724.4M against the printed 720
    # SqueezeNet v1.0 (lesson 03): 832.7M MACs, the printed 833
    assert round(profile_model(models.squeezenet()).macs / 1e6) == table6["SqueezeNet"]
    _, total, _ = vgg16_by_hand()
    assert abs(total / (table6["VGG-16"] * 1e6) - 1) < 0.012


def test_alexnet_on_small_inputs_and_bad_ones():
    model = models.alexnet(input_shape=(67, 67, 3), classes=10)
    assert tuple(model(keras.ops.zeros((1, 67, 67, 3))).shape) == (1, 10)
    with pytest.raises(ValueError, match="at least 67x67"):
        models.alexnet(input_shape=(66, 66, 3))
    with pytest.raises(TypeError, match="classes must be a positive integer"):
        models.alexnet(classes=10.0)


# ------------------------------------------------------------------ ResNet on CIFAR-10


def cifar_resnet_params(layers, batchnorm):
    """He et al.'s 6n+2-layer CIFAR ResNet, counted by hand from its description (section 4.2).

    conv1 is 3x3x3x16; stage 1 has 2n 3x3 16->16 convolutions; stages 2 and 3 open with one
    3x3 convolution that doubles the width (16->32, 32->64), then 2n-1 at that width; the
    identity shortcuts hold nothing; a 64->10 dense layer with bias. BatchNorm adds gamma and
    beta for each of conv1's 16 channels and each convolution's output channels.
    """
    n = (layers - 2) // 6
    convs = 9 * (
        3 * 16 + 2 * n * 16 * 16 + 16 * 32 + (2 * n - 1) * 32 * 32 + 32 * 64 + (2 * n - 1) * 64 * 64
    )
    bn = 2 * (16 + 2 * n * (16 + 32 + 64))
    return convs + 64 * 10 + 10 + (bn if batchnorm else 0)


def test_resnet_cifar10_table6_parameters_need_batchnorms_gamma_and_beta():
    table = paper_table("resnet_cifar10")
    resnets = table[table["method"] == "ResNet"]
    assert list(resnets["layers"]) == [20, 32, 44, 56, 110, 1202]
    assert cifar_resnet_params(20, batchnorm=True) == 269_722  # 268,346 + 2 x 688 channels
    for layers, printed in zip(resnets["layers"], resnets["params_millions"], strict=True):
        decimals = len(f"{printed:g}".partition(".")[2])
        assert round(cifar_resnet_params(int(layers), True) / 1e6, decimals) == printed
    # without gamma and beta the deepest network misses its printed 19.4M
    assert round(cifar_resnet_params(1202, False) / 1e6, 1) == 19.3


def test_resnet20_built_in_keras_has_the_hand_counted_parameters():
    """The description above, built as a Keras model, holds the same trainable numbers."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    for width in (16, 32, 64):
        for block in range(3):
            stride = 2 if block == 0 and width > 16 else 1
            y = keras.layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False)(x)
            y = keras.layers.ReLU()(keras.layers.BatchNormalization()(y))
            y = keras.layers.BatchNormalization()(
                keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(y)
            )
            shortcut = x
            if stride == 2:  # option A: subsample, zero-pad the new channels, no parameters
                pad = [[0, 0], [0, 0], [0, 0], [width // 4, width // 4]]
                shortcut = keras.layers.Lambda(
                    lambda t, pad=pad: keras.ops.pad(t[:, ::2, ::2, :], pad)
                )(x)
            x = keras.layers.ReLU()(keras.layers.Add()([y, shortcut]))
    outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    assert trainable == cifar_resnet_params(20, batchnorm=True)
