"""profile_tflite: what a converted file costs, read from the file itself."""

import keras
import numpy as np
import pytest

from mobilecourse import models, tflite
from mobilecourse.profile import profile_model


def tiny():
    inputs = keras.Input((8, 8, 3))
    # biases of ones: the converter may drop or share all-zero constants
    x = keras.layers.Conv2D(4, 3, bias_initializer="ones", name="conv")(inputs)  # 6x6x4
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, bias_initializer="ones", name="fc")(x))


def test_a_hand_counted_model():
    keras.utils.clear_session()
    file = tflite.profile_tflite(tflite.to_tflite(tiny()))
    by_op = {o.op: o for o in file.ops}
    conv, fc = by_op["CONV_2D"], by_op["FULLY_CONNECTED"]
    assert conv.output_shape == (6, 6, 4) and conv.macs == 6 * 6 * 4 * 3 * 3 * 3
    assert conv.weights == 4 * 3 * 3 * 3 and conv.dtype == "float32"
    assert conv.param_bytes == (108 + 4) * 4  # kernel and bias, float32
    assert fc.macs == fc.weights == 4 * 2 and fc.param_bytes == (8 + 2) * 4
    assert file.macs == conv.macs + fc.macs
    assert by_op["MEAN"].macs == 0 and by_op["MEAN"].dtype == ""


COURSE_MODELS = {
    "digits_cnn": lambda: models.digits_cnn(width=1.0),
    "mobilenet_v2_0.35_96": lambda: models.mobilenet_v2(
        width=0.35, input_shape=(96, 96, 3), classes=10
    ),
    "shufflenet_g3_64": lambda: models.shufflenet(groups=3, input_shape=(64, 64, 3), classes=10),
    "squeezenet_64": lambda: models.squeezenet(input_shape=(64, 64, 3), classes=10),
}


@pytest.mark.parametrize("mode", ["float32", "int8"])
@pytest.mark.parametrize("name", list(COURSE_MODELS))
def test_the_file_costs_what_the_keras_model_costs(name, mode):
    keras.utils.clear_session()
    model = COURSE_MODELS[name]()
    samples = np.random.default_rng(0).random((4, *model.inputs[0].shape[1:]), "float32")
    flatbuffer = tflite.to_tflite(
        model, mode, representative_data=samples if mode == "int8" else None
    )
    file, keras_profile = tflite.profile_tflite(flatbuffer), profile_model(model)
    assert file.macs == keras_profile.macs
    assert file.weights == keras_profile.weights  # BatchNorm is folded: compare kernels
    kernel_types = {o.dtype for o in file.ops if o.weights}
    assert kernel_types == {mode}
    assert file.param_bytes < file.file_bytes


def test_float16_kernels_are_read_through_their_dequantize():
    keras.utils.clear_session()
    model = models.digits_cnn(width=1.0)
    half = tflite.profile_tflite(tflite.to_tflite(model, "float16"))
    full = tflite.profile_tflite(tflite.to_tflite(model, "float32"))
    assert {o.dtype for o in half.ops if o.weights} == {"float16"}
    assert half.macs == full.macs and half.weights == full.weights
    # the kernels (and biases) are stored in half the bytes; each kernel's bytes are
    # counted at its operator, not at the DEQUANTIZE that reads them
    assert all(o.param_bytes == 0 for o in half.ops if o.op == "DEQUANTIZE")

    def kernel_bytes(p):
        return sum(o.param_bytes for o in p.ops if o.weights)

    assert 2 * kernel_bytes(half) == kernel_bytes(full) > 4 * full.weights - 1


def test_a_path_works_and_the_table_and_text_show_the_ops(tmp_path):
    keras.utils.clear_session()
    path = tmp_path / "tiny.tflite"
    path.write_bytes(tflite.to_tflite(tiny()))
    file = tflite.profile_tflite(path)
    assert list(file.table()["op"]) == [o.op for o in file.ops]
    text = repr(file)
    assert "CONV_2D" in text and f"MACs: {file.macs:,}" in text
    assert f"{file.file_bytes:,}-byte file" in text and file.file_bytes == path.stat().st_size


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (42, TypeError, "flatbuffer must be a .tflite file.s bytes or path"),
        ("no/such/file.tflite", ValueError, "no such .tflite file"),
        (b"not a flatbuffer", ValueError, "not a TFLite flatbuffer"),
    ],
)
def test_bad_input(value, error, match):
    with pytest.raises(error, match=match):
        tflite.profile_tflite(value)


def test_memory_plan_of_a_residual_branch():
    keras.utils.clear_session()
    inputs = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    b = keras.layers.Conv2D(4, 1, activation="relu")(a)
    c = keras.layers.Add()([a, b])
    d = keras.layers.GlobalAveragePooling2D()(c)
    model = keras.Model(inputs, keras.layers.Dense(5)(d))
    plan = tflite.memory_plan(tflite.to_tflite(model))
    assert plan.ops == ("CONV_2D", "CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED")
    # float32, one image: input 8*8*3*4 = 768 B, a, b, c 8*8*4*4 = 1024 B each, d 16, out 20
    assert plan.live_bytes() == [768 + 1024, 1024 + 1024, 3 * 1024, 1024 + 16, 16 + 20]
    # the branch keeps a alive across the second convolution: the peak is at the ADD
    assert (plan.peak_bytes, plan.ops[plan.peak_op]) == (3072, "ADD")
    assert plan.total_bytes == 768 + 3 * 1024 + 16 + 20
    with pytest.raises(TypeError, match="flatbuffer"):
        tflite.memory_plan(3)


def test_converter_folds_batchnorm_as_fold_batchnorm_says():
    keras.utils.clear_session()
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="conv_bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.BatchNormalization(name="dw_bn")(x)
    x = keras.layers.ReLU()(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, x)
    rng = np.random.default_rng(7)
    for name in ("conv_bn", "dw_bn"):
        bn = model.get_layer(name)
        gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(0, 1, 4)
        mean, variance = rng.normal(0, 1, 4), rng.uniform(0.2, 3, 4)
        bn.set_weights([gamma, beta, mean, variance])
    interp = tflite.interpreter(tflite.to_tflite(model))
    ops = {op["op_name"]: op for op in interp._get_ops_details()}
    assert "MUL" not in ops and "ADD" not in ops  # nothing left of BatchNorm
    for op_name, layer in (("CONV_2D", "conv"), ("DEPTHWISE_CONV_2D", "dw")):
        kernel, bias = tflite.fold_batchnorm(model.get_layer(layer), model.get_layer(f"{layer}_bn"))
        bn = model.get_layer(f"{layer}_bn")
        gamma, beta, mean, variance = bn.get_weights()
        s = gamma / np.sqrt(variance + bn.epsilon)  # the formula, written out here
        raw = model.get_layer(layer).get_weights()[0]
        expected = raw * (s if op_name == "CONV_2D" else s[:, np.newaxis])
        np.testing.assert_allclose(kernel, expected, rtol=1e-6)
        np.testing.assert_allclose(bias, beta - mean * s, rtol=1e-6, atol=1e-7)
        stored_kernel = interp.get_tensor(int(ops[op_name]["inputs"][1]))  # (1 or N, k, k, C)
        stored_bias = interp.get_tensor(int(ops[op_name]["inputs"][2]))
        np.testing.assert_allclose(stored_kernel, kernel.transpose(3, 0, 1, 2), rtol=1e-5)
        np.testing.assert_allclose(stored_bias, bias, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="batchnorm must be a BatchNormalization"):
        tflite.fold_batchnorm(model.get_layer("conv"), model.get_layer("dw"))


def test_stored_operators_show_folded_kernels_fused_activations_and_int8_scales():
    keras.utils.clear_session()
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="conv_bn")(x)
    x = keras.layers.ReLU(6.0, name="conv_relu6")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="fc")(x))
    bn = model.get_layer("conv_bn")
    rng = np.random.default_rng(3)
    bn.set_weights(
        [rng.uniform(0.5, 2, 4), rng.normal(0, 1, 4), rng.normal(0, 1, 4), rng.uniform(0.2, 3, 4)]
    )
    ops = tflite.stored_operators(tflite.to_tflite(model))
    assert [op.op for op in ops] == ["CONV_2D", "MEAN", "FULLY_CONNECTED"]
    conv = ops[0]
    image, kernel, bias = conv.inputs
    assert image.value is None and image.shape == (1, 6, 6, 3) and image.dtype == "float32"
    gamma, beta, mean, variance = bn.get_weights()
    s = gamma / np.sqrt(variance + bn.epsilon)
    raw = model.get_layer("conv").get_weights()[0]  # (3, 3, 3, 4)
    np.testing.assert_allclose(kernel.value, (raw * s).transpose(3, 0, 1, 2), rtol=1e-5)
    np.testing.assert_allclose(bias.value, beta - mean * s, rtol=1e-5, atol=1e-6)
    assert "relu6" in conv.outputs[0].name.lower()  # the ReLU6 lives on in the CONV_2D
    assert conv.outputs[0].shape == (1, 4, 4, 4) and conv.outputs[0].value is None
    assert kernel.scales == () and kernel.zero_points == ()

    samples = rng.uniform(0, 1, (16, 6, 6, 3)).astype("float32")
    int8 = tflite.stored_operators(tflite.to_tflite(model, "int8", representative_data=samples))
    conv8 = next(op for op in int8 if op.op == "CONV_2D")
    kernel8, bias8 = conv8.inputs[1], conv8.inputs[2]
    assert (kernel8.dtype, bias8.dtype, conv8.outputs[0].dtype) == ("int8", "int32", "int8")
    assert len(kernel8.scales) == 4 and set(kernel8.zero_points) == {0}  # per channel, symmetric
    # stored int8 x scale gives back the folded float kernel to within half a step
    folded = (raw * s).transpose(3, 0, 1, 2)
    restored = kernel8.value * np.array(kernel8.scales)[:, None, None, None]
    assert np.all(
        np.abs(restored - folded) <= np.array(kernel8.scales)[:, None, None, None] / 2 + 1e-7
    )
    with pytest.raises(TypeError, match="flatbuffer"):
        tflite.stored_operators([1, 2])
