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
