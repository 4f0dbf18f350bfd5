"""The profiler on keras.applications models, against Keras's parameters and TensorFlow's
own operation count (a representative subset; `python -m mobilecourse zoo` runs them all).

Chosen for what each exercises: MobileNetV3Small (input size free, hard-swish written as
`x * relu6(x + 3) / 6` ops), EfficientNetV2B0 (a Normalization layer given its mean and
variance, so holding no weights), ConvNeXtTiny (LayerNormalization, LayerScale, and
depthwise convolutions written as grouped Conv2D, which TensorFlow's profiler misses),
InceptionResNetV2 (CustomScaleLayer).
"""

import pytest

from mobilecourse import crosscheck
from mobilecourse.__main__ import main

SUBSET = ["MobileNetV3Small", "EfficientNetV2B0", "ConvNeXtTiny", "InceptionResNetV2"]


@pytest.fixture(scope="module")
def rows():
    return {name: crosscheck.compare_model(name) for name in SUBSET}


@pytest.mark.parametrize("name", SUBSET)
def test_params_equal_keras_and_macs_equal_tensorflow(rows, name):
    row = rows[name]
    assert row.unhandled == ()
    assert row.params == row.keras_params
    assert row.macs == row.tf_kernel_macs + row.grouped_macs
    assert row.ours_seconds < row.tf_seconds


def test_a_free_input_size_is_profiled_at_224(rows):
    assert rows["MobileNetV3Small"].input_shape == (224, 224, 3)
    assert rows["InceptionResNetV2"].input_shape == (299, 299, 3)  # its own size


def test_tensorflow_misses_exactly_convnexts_depthwise_convolutions(rows):
    # ConvNeXt-T: stages of 3, 3, 9, 3 blocks at 56, 28, 14, 7 px with 96 to 768 channels;
    # each block has one 7x7 depthwise convolution (a Conv2D with groups = channels).
    stages = [(3, 56, 96), (3, 28, 192), (9, 14, 384), (3, 7, 768)]
    depthwise = sum(blocks * size * size * channels * 7 * 7 for blocks, size, channels in stages)
    row = rows["ConvNeXtTiny"]
    assert row.grouped_macs == depthwise == 105_106_176
    # what TensorFlow reports is 2.4 % short of the real count
    assert round(100 * row.grouped_macs / row.tf_kernel_macs, 1) == 2.4
    assert all(rows[name].grouped_macs == 0 for name in SUBSET if name != "ConvNeXtTiny")


def test_markdown_summarises_the_rows(rows):
    text = crosscheck.zoo_markdown(list(rows.values()))
    assert text.startswith("| model | input |")
    assert text.count("\n| ") == len(SUBSET)  # one row per model after the header
    assert "4 of 4 models: parameters equal Keras's" in text


def test_compare_model_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="name must be a keras.applications model"):
        crosscheck.compare_model("MobileNetV9")


def test_cli_zoo_refuses_an_unknown_model(capsys):
    assert main(["zoo", "--models", "MobileNetV3Small,Nope"]) == 2
    assert "--models names unknown keras.applications model 'Nope'" in capsys.readouterr().err
