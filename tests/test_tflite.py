"""float32 TFLite conversion, the LiteRT runner and the latency benchmark."""

import keras
import numpy as np
import pytest

from mobilecourse import bench, models, tflite


def small_model():
    keras.utils.clear_session()
    return models.shufflenet(groups=2, scale=0.5, input_shape=(32, 32, 3), classes=10)


def test_float32_tflite_matches_keras():
    model = small_model()
    flatbuffer = tflite.to_tflite(model)
    interp = tflite.interpreter(flatbuffer)
    x = np.random.default_rng(0).standard_normal((1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        tflite.run(interp, x), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )


def test_latency_reports_consistent_numbers(capfd):
    result = bench.latency(small_model(), runs=5, warmup=1)
    assert 0 < result.median_ms <= result.p90_ms
    assert (result.runs, result.threads) == (5, 1)
    assert result.tflite_bytes > 4 * small_model().count_params() * 0.9
    assert "XNNPACK" not in capfd.readouterr().err  # LiteRT's notice is kept off stderr


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"runs": 0}, "runs"),
        ({"threads": 0}, "threads"),
        ({"warmup": -1}, "warmup"),
        ({"input_shape": (16, 16, 3)}, "input_shape"),
    ],
)
def test_latency_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench.latency(small_model(), **kwargs)


def test_to_tflite_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        tflite.to_tflite(small_model(), mode="int4")
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        tflite.to_tflite("model")
    with pytest.raises(ValueError, match="threads"):
        tflite.interpreter(b"", threads=0)


def test_modes_and_latency_ms_bad_arguments():
    assert tflite.MODES == ("float32", "float16", "dynamic", "int8")
    for kwargs, name in (
        ({"runs": 0}, "runs"),
        ({"threads": 0}, "threads"),
        ({"warmup": -1}, "warmup"),
    ):
        with pytest.raises(ValueError, match=name):
            tflite.latency_ms(b"", **kwargs)


def test_median_latency_is_the_median_of_the_timed_runs(monkeypatch):
    monkeypatch.setattr(tflite, "latency_ms", lambda fb, runs, threads, warmup: [3.0, 1.0, 2.0])
    assert tflite.median_latency_ms(b"", runs=3) == 2.0
