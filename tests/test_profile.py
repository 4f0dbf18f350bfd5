"""The profiler: totals equal Keras's, MACs equal the formulas, nothing is dropped in silence."""

import os
from pathlib import Path

import keras
import pytest
from keras import layers

from mobilecourse import blocks, costs, models
from mobilecourse.__main__ import main
from mobilecourse.profile import ModelProfile, profile_model, register_cost_handler

GOLDEN = Path(__file__).parent / "golden"


def formula_macs(model):
    """Independent sum of the costs formulas over the model's conv and dense layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += formula_macs(layer)
            continue
        if not isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D, layers.Dense)):
            continue
        shape = tuple(layer.input.shape[1:])
        if isinstance(layer, layers.DepthwiseConv2D):
            total += costs.depthwise_conv2d(
                shape, layer.kernel_size, layer.strides, layer.padding, layer.depth_multiplier
            ).macs
        elif isinstance(layer, layers.SeparableConv2D):
            total += costs.separable_conv2d(
                shape, layer.filters, layer.kernel_size, layer.strides, layer.padding
            ).macs
        elif isinstance(layer, layers.Conv2D):
            total += costs.conv2d(
                shape, layer.filters, layer.kernel_size, layer.strides, layer.padding, layer.groups
            ).macs
        elif isinstance(layer, layers.Dense):
            total += costs.dense(shape[-1], layer.units).macs
    return total


BUILDERS = {
    "mobilenet_v1 0.5 128": lambda: models.mobilenet_v1(width=0.5, input_shape=(128, 128, 3)),
    "conv mobilenet_v1 28": lambda: models.mobilenet_v1(
        depthwise=False, input_shape=(28, 28, 1), classes=10
    ),
    "mobilenet_v2 1.4 96": lambda: models.mobilenet_v2(width=1.4, input_shape=(96, 96, 3)),
    "mobilenet_v2 0.35 32": lambda: models.mobilenet_v2(
        width=0.35, input_shape=(32, 32, 3), classes=10
    ),
    "squeezenet 227": models.squeezenet,
    "squeezenet 28": lambda: models.squeezenet(input_shape=(28, 28, 1), classes=10),
    "shufflenet g2 0.5x": lambda: models.shufflenet(groups=2, width=0.5),
    "shufflenet g8 32": lambda: models.shufflenet(groups=8, input_shape=(32, 32, 3), classes=10),
}
APPLICATIONS = {
    "MobileNet": keras.applications.MobileNet,
    "MobileNetV2": keras.applications.MobileNetV2,
    "MobileNetV3Small": keras.applications.MobileNetV3Small,
    "EfficientNetB0": keras.applications.EfficientNetB0,
    "ResNet50": keras.applications.ResNet50,
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_builders_params_and_macs(name):
    model = BUILDERS[name]()
    profile = profile_model(model)
    assert profile.params == model.count_params()
    assert profile.macs == formula_macs(model)
    assert profile.flops == 2 * profile.macs
    assert not profile.unhandled


@pytest.mark.parametrize("name", list(APPLICATIONS))
def test_keras_applications_params_and_macs(name):
    model = APPLICATIONS[name](weights=None, input_shape=(224, 224, 3))
    profile = profile_model(model)
    assert profile.params == model.count_params()
    assert profile.macs == formula_macs(model)
    assert not profile.unhandled


def test_keras_mobilenet_v2_matches_our_builder_exactly():
    ours = profile_model(models.mobilenet_v2())
    theirs = profile_model(keras.applications.MobileNetV2(weights=None))
    assert (ours.macs, ours.weights, ours.bias, ours.batchnorm) == (
        theirs.macs,
        theirs.weights,
        theirs.bias,
        theirs.batchnorm,
    )


def tiny_model():
    keras.utils.clear_session()
    inputs = keras.Input((16, 16, 3), name="image")
    x = blocks.conv_bn_relu(inputs, filters=8, strides=2, name="stem")
    x = blocks.inverted_residual_block(x, expansion=4, filters=8, name="block_1")
    x = blocks.fire_module(x, squeeze=4, expand1x1=8, expand3x3=8, name="fire")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="tiny")


def test_rows_split_weights_bias_and_batchnorm():
    profile = profile_model(tiny_model())
    rows = {r.name: r for r in profile.rows}
    assert (rows["stem"].weights, rows["stem"].bias, rows["stem"].macs) == (216, 0, 8 * 8 * 216)
    assert rows["stem_bn"].batchnorm == 32 and rows["stem_bn"].macs == 0
    assert (rows["logits"].weights, rows["logits"].bias) == (160, 10)
    assert rows["block_1_add"].output_shape == (8, 8, 8)
    assert rows["fire_concat"].activations == 8 * 8 * 16
    table = profile.table()
    assert list(table["name"]) == [r.name for r in profile.rows]
    assert table["macs"].sum() == profile.macs


def test_peak_memory_follows_the_documented_rule():
    profile = profile_model(tiny_model())
    # The stem (conv + BN + ReLU fused): input 16*16*3 + output 8*8*8 = 768 + 512 elements.
    # block_1 counts as one operation: input 8*8*8 + output 8*8*8 (its 8*8*32 inner tensors
    # are disposable). The fire module's ops run one by one: the 1x1 and 3x3 expands each
    # read the 4-channel squeeze output and write 8 channels (256 + 512), the concat reads
    # both halves and writes 16 channels: 512 + 512 + 1024 = 2048 elements -- the peak.
    assert profile.peak_activation_bytes(bits=32) == 2048 * 4
    assert profile.peak_activation_bytes(bits=8) == 2048
    # Without disposable blocks the expanded tensor counts: the depthwise conv reads and
    # writes 8*8*32 elements.
    assert profile.peak_activation_bytes(block_of=lambda name: None) == (2048 + 2048) * 4
    with pytest.raises(ValueError, match="bits"):
        profile.peak_activation_bytes(bits=0)


def test_peak_memory_v2_blocks_beat_v1_layers():
    v1 = profile_model(models.mobilenet_v1()).peak_activation_bytes(16)
    v2 = profile_model(models.mobilenet_v2()).peak_activation_bytes(16)
    # V1: the 1x1 conv 32 -> 64 at 112x112; V2: block_0 (32 in, 16 out at 112x112).
    assert v1 == 112 * 112 * (32 + 64) * 2
    assert v2 == 112 * 112 * (32 + 16) * 2
    keras_v2 = profile_model(keras.applications.MobileNetV2(weights=None))
    assert keras_v2.peak_activation_bytes(16) == v2  # its block_N_pad layers join their block


def test_by_type_percentages_sum_to_100():
    table = profile_model(models.mobilenet_v2()).by_type()
    assert abs(table["macs_percent"].sum() - 100) < 1e-9
    assert table["macs"].sum() == profile_model(models.mobilenet_v2()).macs


def test_nested_and_sequential_models():
    keras.utils.clear_session()
    inner = keras.Sequential(
        [
            keras.Input((8, 8, 4)),
            layers.Conv2D(6, 3, name="c1"),
            layers.BatchNormalization(name="bn"),
        ],
        name="inner",
    )
    inputs = keras.Input((8, 8, 4))
    x = inner(inputs)
    x = layers.Flatten(name="flat")(x)
    outer = keras.Model(inputs, layers.Dense(3, name="head")(x), name="outer")
    profile = profile_model(outer)
    assert [r.name for r in profile.rows] == ["inner/c1", "inner/bn", "flat", "head"]
    assert profile.params == outer.count_params()
    assert profile.macs == 6 * 6 * 9 * 4 * 6 + 6 * 6 * 6 * 3


def test_shared_layer_counts_macs_per_call_and_weights_once():
    keras.utils.clear_session()
    conv = layers.Conv2D(4, 3, padding="same", name="shared")
    a, b = keras.Input((8, 8, 4)), keras.Input((8, 8, 4))
    model = keras.Model([a, b], layers.Add(name="sum")([conv(a), conv(b)]))
    profile = profile_model(model)
    assert profile.params == model.count_params() == 148
    assert profile.macs == 2 * 8 * 8 * 9 * 4 * 4


class Mystery(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), name="w")

    def call(self, x):
        return x * self.w


def mystery_model():
    keras.utils.clear_session()
    inputs = keras.Input((4, 4, 2))
    return keras.Model(inputs, Mystery(name="odd")(layers.Conv2D(2, 1, name="c")(inputs)))


def test_unhandled_layer_is_reported_and_warned_never_silently_zero():
    model = mystery_model()
    with pytest.warns(UserWarning, match="no cost handler for Mystery"):
        profile = profile_model(model)
    assert profile.unhandled == ["Mystery"]
    row = next(r for r in profile.rows if r.name == "odd")
    assert row.macs is None and not row.handled and row.other_params == 2
    assert profile.params == model.count_params()
    assert "NOT COUNTED (no cost handler): Mystery" in profile.summary()


def test_registered_handler_is_used():
    register_cost_handler(
        Mystery,
        lambda layer, ins, outs: costs.LayerCost(
            ins[0][0] * ins[0][1] * ins[0][2], ins[0][2], 0, outs[0]
        ),
    )
    try:
        profile = profile_model(mystery_model())
        assert not profile.unhandled
        assert next(r for r in profile.rows if r.name == "odd").macs == 32
        assert profile.params == 8
    finally:
        from mobilecourse.profile import _HANDLERS

        _HANDLERS.pop(Mystery)


def test_bad_input_to_the_profiler():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        profile_model("mobilenet")
    with pytest.raises(ValueError, match="undefined shape"):
        profile_model(keras.applications.MobileNetV3Small(weights=None))
    with pytest.raises(TypeError, match="layer_cls"):
        register_cost_handler(int, lambda *a: None)


def test_golden_text_summary():
    text = profile_model(tiny_model()).summary() + "\n"
    golden = GOLDEN / "tiny_summary.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_profile_is_a_model_profile():
    assert isinstance(profile_model(tiny_model()), ModelProfile)


# ------------------------------------------------------------------ command line


def test_cli_profile_text(capsys):
    assert main(["profile", "mobilenet_v2", "--width", "1.4", "--input-size", "224"]) == 0
    out = capsys.readouterr().out
    assert "block_16_project" in out
    expected = profile_model(models.mobilenet_v2(width=1.4)).macs
    assert f"MACs: {expected:,}" in out


def test_cli_profile_csv_and_markdown(capsys):
    assert main(["profile", "squeezenet", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("name,type,output_shape,macs,weights,bias")
    assert main(["profile", "shufflenet", "--groups", "8", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| name | type |") and "stage4_unit4_gconv2" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["profile", "resnet"], "unknown model 'resnet'"),
        (["profile", "squeezenet", "--width", "2"], "--width applies only to"),
        (["profile", "mobilenet_v1", "--input-size", "8"], "too small"),
        (["profile", "mobilenet_v1", "--width", "-1"], "width must be a positive number"),
        (["profile", "mobilenet_v1", "--format", "pdf"], "invalid choice"),
        (["profile", "mobilenet_v1", "--width", "x"], "invalid float value"),
    ],
)
def test_cli_errors_are_one_line_with_status_2(argv, message, capsys):
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and err.count("\n") == 1


def test_a_profile_shows_itself_as_its_table():
    keras.utils.clear_session()
    profile = profile_model(models.digits_cnn(width=1.0))
    assert repr(profile) == profile.summary()
    assert repr(profile).splitlines()[0].startswith("Model: digits_cnn_1x")
    # conv1 14*14*16*9 + dw 14*14*16*9 + pw 196*16*32 + dw 49*32*9 + pw 49*32*64
    # + dw 16*64*9 + pw 16*64*128 + dense 128*10
    macs = 28_224 + 28_224 + 100_352 + 14_112 + 100_352 + 9_216 + 131_072 + 1_280
    html = profile._repr_html_()
    assert html.startswith("<pre>") and f"MACs: {macs:,}" in html
