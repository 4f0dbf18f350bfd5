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
    assert row.ours_seconds < row.tf_seconds
    if row.comparable:
        assert row.macs == row.tf_kernel_macs + row.grouped_macs
    else:
        # Only after a grouped convolution can TensorFlow's graph lose the shapes (Keras 3.13):
        # what it counted is then short of ours even with the grouped MACs added.
        assert row.grouped_macs > 0
        assert row.tf_kernel_macs + row.grouped_macs < row.macs


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
    if row.comparable:
        # what TensorFlow reports is 2.4 % short of the real count
        assert round(100 * row.grouped_macs / row.tf_kernel_macs, 1) == 2.4
    else:
        # every kernel after the first depthwise convolution: two pointwise Dense layers in
        # each of the 18 blocks, the 3 downsampling convolutions and the classifier; of
        # 4,455,531,264 MACs it counts only the 4x4 stem's 4x4x3x96 x 56x56 = 14,450,688
        assert row.tf_uncounted == 2 * 18 + 3 + 1
        assert row.tf_kernel_macs == 4 * 4 * 3 * 96 * 56 * 56
    assert all(rows[name].grouped_macs == 0 for name in SUBSET if name != "ConvNeXtTiny")


def test_markdown_summarises_the_rows(rows):
    text = crosscheck.zoo_markdown(list(rows.values()))
    assert text.startswith("| model | input |")
    assert text.count("\n| ") == len(SUBSET)  # one row per model after the header
    comparable = sum(row.comparable for row in rows.values())
    assert f"{comparable} of 4 models: parameters equal Keras's" in text
    assert ("Not comparable here" in text) == (comparable < 4)


def test_compare_model_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="name must be a keras.applications model"):
        crosscheck.compare_model("MobileNetV9")


def test_cli_zoo_refuses_an_unknown_model(capsys):
    assert main(["zoo", "--models", "MobileNetV3Small,Nope"]) == 2
    assert "--models names unknown keras.applications model 'Nope'" in capsys.readouterr().err


def test_markdown_reports_an_incomplete_tensorflow_count_apart():
    # ConvNeXtTiny as profiled under Keras 3.13: TensorFlow counted only the stem and the
    # three downsampling convolutions
    row = crosscheck.ZooRow(
        "ConvNeXtTiny", (224, 224, 3), 28_589_128, 28_589_128, 4_455_531_264, 14_450_688,
        105_106_176, (), 0.5, 5.0, tf_uncounted=40,
    )  # fmt: skip
    assert not row.comparable and not row.macs_equal
    text = crosscheck.zoo_markdown([row])
    assert "| not comparable: TensorFlow counted 0 for 40 kernels |" in text
    assert "0 of 1 models: parameters equal Keras's" in text
    assert "Not comparable here" in text and text.rstrip().endswith("ConvNeXtTiny.")
