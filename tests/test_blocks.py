"""Block builders: names, structure, costs against the papers' formulas, bad arguments."""

import numpy as np
import pytest
from keras import Input, Model, layers, ops, saving, utils

from mobilecourse import blocks
from mobilecourse.profile import profile_model


def build(block, shape, **kwargs):
    utils.clear_session()
    inputs = Input(shape)
    return Model(inputs, block(inputs, **kwargs))


def names(model):
    return [layer.name for layer in model.layers[1:]]


def test_layer_names_read_like_the_paper():
    model = build(
        blocks.inverted_residual_block, (14, 14, 32), expansion=6, filters=32, name="block_3"
    )
    assert names(model) == [
        "block_3_expand",
        "block_3_expand_BN",
        "block_3_expand_relu",
        "block_3_depthwise",
        "block_3_depthwise_BN",
        "block_3_depthwise_relu",
        "block_3_project",
        "block_3_project_BN",
        "block_3_add",
    ]
    model = build(blocks.depthwise_separable_block, (8, 8, 4), filters=8, name="conv_ds_1")
    assert names(model) == [
        "conv_ds_1_dw",
        "conv_ds_1_dw_bn",
        "conv_ds_1_dw_relu",
        "conv_ds_1_pw",
        "conv_ds_1_pw_bn",
        "conv_ds_1_pw_relu",
    ]


def test_inverted_residual_shortcut_rules():
    def has_add(**kw):
        return any(
            isinstance(layer, layers.Add)
            for layer in build(blocks.inverted_residual_block, **kw).layers
        )

    assert has_add(shape=(8, 8, 16), expansion=6, filters=16, strides=1, name="b")
    assert not has_add(shape=(8, 8, 16), expansion=6, filters=16, strides=2, name="b")  # stride 2
    assert not has_add(
        shape=(8, 8, 16), expansion=6, filters=24, strides=1, name="b"
    )  # widths differ
    t1 = build(blocks.inverted_residual_block, (8, 8, 16), expansion=1, filters=8, name="b")
    assert "b_expand" not in names(t1)
    # the projection is linear: no activation after it
    model = build(blocks.inverted_residual_block, (8, 8, 16), expansion=6, filters=24, name="b")
    assert names(model)[-1] == "b_project_BN"


def test_depthwise_separable_cost_is_one_over_n_plus_one_over_nine():
    n, m, d = 64, 32, 16
    separable = profile_model(
        build(blocks.depthwise_separable_block, (d, d, m), filters=n, name="ds")
    )
    full = profile_model(build(blocks.conv_bn_relu, (d, d, m), filters=n, kernel_size=3, name="c"))
    assert separable.macs * 9 * n == full.macs * (9 + n)


def test_fire_module_parameters_and_output():
    model = build(
        blocks.fire_module, (55, 55, 96), squeeze=16, expand1x1=64, expand3x3=64, name="fire2"
    )
    assert model.count_params() == 11_920  # SqueezeNet Table 1
    assert model.output.shape[-1] == 128
    one_branch = build(blocks.fire_module, (8, 8, 8), squeeze=4, expand1x1=0, expand3x3=6, name="f")
    assert one_branch.output.shape[-1] == 6 and "f_concat" not in names(one_branch)


# ShuffleNet paper, Section 3.2: for input c x h x w and bottleneck m, a unit costs
# ResNet hw(2cm + 9m^2), ResNeXt hw(2cm + 9m^2/g), ShuffleNet hw(2cm/g + 9m) MACs.
H = W = 28
C = 240
M = C // 4


def resnet_bottleneck(x, groups=1):
    y = blocks.conv_bn_relu(x, filters=M, kernel_size=1, name="reduce")
    y = blocks.conv_bn_relu(y, filters=M, kernel_size=3, groups=groups, name="conv3x3")
    y = blocks.conv_bn_relu(y, filters=C, kernel_size=1, activation=None, name="expand")
    return layers.Add(name="add")([x, y])


@pytest.mark.parametrize("g", [1, 2, 3, 4])
def test_unit_costs_match_the_shufflenet_formulas(g):
    resnet = profile_model(build(resnet_bottleneck, (H, W, C))).macs
    resnext = profile_model(build(resnet_bottleneck, (H, W, C), groups=g)).macs
    shuffle = profile_model(
        build(blocks.shufflenet_unit, (H, W, C), out_channels=C, groups=g, name="unit")
    ).macs
    assert resnet == H * W * (2 * C * M + 9 * M * M)
    assert resnext == H * W * (2 * C * M + 9 * M * M // g)
    assert shuffle == H * W * (2 * C * M // g + 9 * M)
    assert shuffle < resnext <= resnet


def test_shufflenet_stride2_unit_concatenates_pooled_shortcut():
    model = build(
        blocks.shufflenet_unit, (28, 28, 240), out_channels=480, groups=3, strides=2, name="u"
    )
    assert tuple(model.output.shape[1:]) == (14, 14, 480)
    assert model.get_layer("u_gconv2").filters == 240  # out - in
    assert isinstance(model.get_layer("u_pool"), layers.AveragePooling2D)
    # no ReLU after the depthwise convolution
    assert not any(n.startswith("u_dw_relu") for n in names(model))


def test_channel_split_cuts_the_channels_in_order():
    x = np.arange(12, dtype="float32").reshape(1, 1, 1, 12)
    parts = [ops.convert_to_numpy(p)[0, 0, 0].tolist() for p in blocks.ChannelSplit(3)(x)]
    assert parts == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


@pytest.mark.parametrize("strides", [1, 2])
def test_split_groups_builds_the_same_unit(strides):
    # The same ShuffleNet unit twice: Conv2D(groups=3), and three Conv2D on channel slices.
    out_channels = 24 if strides == 1 else 48
    kwargs = dict(out_channels=out_channels, groups=3, strides=strides, name="u")
    grouped = build(blocks.shufflenet_unit, (8, 8, 24), **kwargs)
    split = build(blocks.shufflenet_unit, (8, 8, 24), split_groups=True, **kwargs)
    conv_names = [layer.name for layer in split.layers if isinstance(layer, layers.Conv2D)]
    assert conv_names == [f"u_gconv{i}_g{k}" for i in (1, 2) for k in (1, 2, 3)]
    assert isinstance(split.get_layer("u_gconv1_split"), blocks.ChannelSplit)
    a, b = profile_model(grouped), profile_model(split)
    assert (a.macs, a.params) == (b.macs, b.params)
    # group k of the grouped kernel (its output channels k*N/g ...) is split conv k's kernel;
    # the other layers' weights (depthwise kernel, BatchNorm) are copied by name, BatchNorm's
    # set to random values first so that its statistics are not the trivial ones
    rng = np.random.default_rng(3)
    for layer in grouped.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if type(layer) is layers.Conv2D:
            step = weights[0].shape[-1] // 3
            for k in range(3):
                part = weights[0][..., k * step : (k + 1) * step]
                split.get_layer(f"{layer.name}_g{k + 1}").set_weights([part])
            continue
        if isinstance(layer, layers.BatchNormalization):
            weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in weights]
            layer.set_weights(weights)
        split.get_layer(layer.name).set_weights(weights)
    x = rng.standard_normal((2, 8, 8, 24)).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(split(x)), ops.convert_to_numpy(grouped(x)), rtol=1e-5, atol=1e-5
    )


def reference_shuffle(x, groups):
    *batch, c = x.shape
    n = c // groups
    return x.reshape(*batch, groups, n).swapaxes(-1, -2).reshape(*batch, c)


def test_channel_shuffle_is_the_reference_permutation():
    labels = np.arange(12, dtype="float32").reshape(1, 1, 1, 12)
    out = ops.convert_to_numpy(blocks.ChannelShuffle(3)(labels))[0, 0, 0]
    # groups [0 1 2 3][4 5 6 7][8 9 10 11] -> take one from each group in turn
    assert out.tolist() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    x = np.random.default_rng(0).standard_normal((2, 5, 4, 24)).astype("float32")
    for g in (1, 2, 3, 4, 8):
        np.testing.assert_array_equal(
            ops.convert_to_numpy(blocks.ChannelShuffle(g)(x)), reference_shuffle(x, g)
        )


def test_channel_shuffle_survives_keras_save_and_load(tmp_path):
    model = build(blocks.shufflenet_unit, (8, 8, 24), out_channels=24, groups=3, name="u")
    path = tmp_path / "unit.keras"
    model.save(path)
    loaded = saving.load_model(path)
    assert isinstance(loaded.get_layer("u_shuffle"), blocks.ChannelShuffle)
    assert loaded.get_layer("u_shuffle").get_config()["groups"] == 3
    x = np.random.default_rng(1).standard_normal((1, 8, 8, 24)).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded(x)), ops.convert_to_numpy(model(x)), rtol=1e-6, atol=1e-6
    )


def test_channel_shuffle_survives_tflite_conversion(tmp_path):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    utils.clear_session()
    inputs = Input((4, 4, 12), batch_size=1)
    model = Model(inputs, blocks.ChannelShuffle(4, name="shuffle")(inputs))
    model.export(str(tmp_path / "saved"), verbose=False)
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved")).convert()
    interpreter = Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    x = np.random.default_rng(2).standard_normal((1, 4, 4, 12)).astype("float32")
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_array_equal(out, reference_shuffle(x, 4))


BAD = [
    (
        lambda x: blocks.conv_bn_relu(x, filters=16, groups=3, name="c"),
        "groups=3 does not divide 32",
    ),
    (
        lambda x: blocks.conv_bn_relu(x, filters=10, groups=4, name="c"),
        "groups=4 does not divide filters=10",
    ),
    (lambda x: blocks.conv_bn_relu(x, filters=16, strides=3, name="c"), "strides must be 1 or 2"),
    (lambda x: blocks.conv_bn_relu(x, filters=16, activation="gelu", name="c"), "activation"),
    (lambda x: blocks.conv_bn_relu(x, filters=16, name=""), "name"),
    (lambda x: blocks.inverted_residual_block(x, expansion=0, filters=16, name="b"), "expansion"),
    (
        lambda x: blocks.inverted_residual_block(x, expansion=6, filters=16, strides=0, name="b"),
        "strides",
    ),
    (lambda x: blocks.fire_module(x, squeeze=0, expand1x1=8, expand3x3=8, name="f"), "squeeze"),
    (
        lambda x: blocks.fire_module(x, squeeze=4, expand1x1=0, expand3x3=0, name="f"),
        "expand1x1 \\+ expand3x3",
    ),
    (
        lambda x: blocks.shufflenet_unit(x, out_channels=32, groups=3, name="u"),
        "groups=3 does not divide",
    ),
    (
        lambda x: blocks.shufflenet_unit(x, out_channels=64, groups=2, name="u"),
        "must equal the 32 input",
    ),
    (
        lambda x: blocks.shufflenet_unit(x, out_channels=32, groups=2, strides=2, name="u"),
        "must exceed",
    ),
    (lambda x: blocks.ChannelShuffle(5)(x), "groups=5 does not divide 32"),
    (lambda x: blocks.ChannelShuffle(0), "groups"),
    (lambda x: blocks.ChannelSplit(3)(x), "groups=3 does not divide 32"),
    (
        lambda x: blocks.conv_bn_relu(x, filters=16, groups=3, split_groups=True, name="c"),
        "groups=3 does not divide 32",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_arguments_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call(Input((8, 8, 32)))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x: blocks.inverted_residual_block(x, expansion=0.5, filters=16, name="b"),
            "expansion must be a positive integer",
        ),
        (lambda x: blocks.conv_bn_relu(x, filters=8, name=3), "name must be a non-empty string"),
        (
            lambda x: blocks.conv_bn_relu(x, filters=8, groups=2, split_groups=1, name="c"),
            "split_groups must be True or False",
        ),
    ],
)
def test_arguments_of_the_wrong_type_are_a_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call(Input((8, 8, 32)))
