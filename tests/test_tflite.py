"""float32 TFLite conversion and the LiteRT runner (the timing protocol: test_timing.py)."""

import keras
import numpy as np
import pytest

from mobilecourse import models, tflite


def small_model():
    keras.utils.clear_session()
    return models.shufflenet(groups=2, width=0.5, input_shape=(32, 32, 3), classes=10)


def test_float32_tflite_matches_keras():
    model = small_model()
    flatbuffer = tflite.to_tflite(model)
    interp = tflite.interpreter(flatbuffer)
    x = np.random.default_rng(0).standard_normal((1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        tflite.run(interp, x), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )


def test_conversion_prints_nothing(capfd):
    tflite.to_tflite(small_model())
    x = np.random.default_rng(2).random((4, 32, 32, 3), dtype=np.float32)
    tflite.to_tflite(small_model(), "int8", representative_data=x)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_to_tflite_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        tflite.to_tflite(small_model(), mode="int4")
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        tflite.to_tflite("model")
    with pytest.raises(ValueError, match="threads"):
        tflite.interpreter(b"", threads=0)
    with pytest.raises(ValueError, match="batch"):
        tflite.interpreter(b"", batch=0)


def test_interpreter_takes_a_batch_and_runs_it_like_keras(capfd):
    model = small_model()
    interp = tflite.interpreter(tflite.to_tflite(model), batch=3)
    assert list(interp.get_input_details()[0]["shape"]) == [3, 32, 32, 3]
    x = np.random.default_rng(1).standard_normal((3, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        tflite.run(interp, x), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )
    assert "XNNPACK" not in capfd.readouterr().err  # LiteRT's notice is kept off stderr


def test_modes_and_interpreter_bad_arguments():
    assert tflite.MODES == ("float32", "float16", "dynamic", "int8")
    for kwargs, name in (({"threads": 0}, "threads"), ({"batch": 0}, "batch")):
        with pytest.raises(ValueError, match=name):
            tflite.interpreter(b"", **kwargs)


def _file_contents(flatbuffer, x):
    """A file's operators, constant tensors (shape, dtype, values) and output on ``x``."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=flatbuffer)
    ops = interp._get_ops_details()
    produced = {index for op in ops for index in op["outputs"]}
    (input_detail,) = interp.get_input_details()
    interp.resize_tensor_input(input_detail["index"], x.shape)
    interp.allocate_tensors()
    operands = {index for op in ops for index in op["inputs"] if index >= 0}
    constants = sorted(
        (
            (tuple(detail["shape"]), str(detail["dtype"]), interp.get_tensor(detail["index"]))
            for detail in interp.get_tensor_details()
            if detail["index"] in operands - produced - {input_detail["index"]}
        ),
        key=lambda item: (item[0], item[1], item[2].tobytes()),
    )
    if input_detail["dtype"] == np.int8:
        scale, zero_point = input_detail["quantization"]
        x = np.clip(np.round(x / scale + zero_point), -128, 127).astype(np.int8)
    interp.set_tensor(input_detail["index"], x)
    interp.invoke()
    output = interp.get_tensor(interp.get_output_details()[0]["index"])
    return [op["op_name"] for op in ops], constants, output


@pytest.mark.parametrize("mode", tflite.MODES)
def test_traced_conversion_equals_tensorflows_keras_converter(mode):
    # to_tflite traces the model instead of going through a SavedModel: the file must
    # hold the same operators, the same weights and give the same output as
    # TFLiteConverter.from_keras_model with the same settings
    import tensorflow as tf

    from mobilecourse import blocks

    keras.utils.clear_session()
    inputs = keras.Input((32, 32, 3))
    x = blocks.conv_bn_relu(inputs, filters=16, strides=2, name="stem")
    x = blocks.inverted_residual_block(x, expansion=4, filters=16, name="residual")
    x = blocks.inverted_residual_block(x, expansion=4, filters=24, strides=2, name="down")
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    rng = np.random.default_rng(3)
    samples = rng.random((8, 32, 32, 3), dtype=np.float32) if mode == "int8" else None
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    with tflite._quiet():
        reference = (
            tflite.int8_convert(converter, samples) if mode == "int8" else converter.convert()
        )
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    ops, constants, output = _file_contents(tflite.to_tflite(model, mode, samples), x)
    reference_ops, reference_constants, reference_output = _file_contents(reference, x)
    assert ops == reference_ops
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD"} <= set(ops)
    assert len(constants) == len(reference_constants)
    for (shape, dtype, values), (ref_shape, ref_dtype, ref_values) in zip(
        constants, reference_constants, strict=True
    ):
        assert (shape, dtype) == (ref_shape, ref_dtype)
        np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(output, reference_output)
