"""Quantization maths (NumPy, exact) and post-training quantization through TFLite/LiteRT."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mobilecourse import models, tflite, training
from mobilecourse import quantize as q

# --- affine quantization ------------------------------------------------------------


def test_affine_params_known_ranges():
    scale, zero_point = q.affine_params(0.0, 6.0, bits=8, signed=False)  # ReLU6 in uint8
    assert scale == pytest.approx(6 / 255) and zero_point == 0
    scale, zero_point = q.affine_params(-1.0, 3.0, bits=8, signed=True)
    assert scale == pytest.approx(4 / 255)
    assert zero_point == round(-128 + 1.0 / (4 / 255))  # -64.25 -> -64
    # the range is stretched to include 0, as TFLite does
    assert q.affine_params(2.0, 6.0) == q.affine_params(0.0, 6.0)
    assert q.affine_params(-6.0, -2.0) == q.affine_params(-6.0, 0.0)
    assert q.qrange(8) == (-128, 127) and q.qrange(4, signed=False) == (0, 15)


@pytest.mark.parametrize(("x_min", "x_max"), [(0.3, 2.7), (-5.0, 1.0), (-0.7, -0.1), (-1, 1)])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_zero_is_exactly_representable(x_min, x_max, bits):
    scale, zero_point = q.affine_params(x_min, x_max, bits=bits)
    assert q.dequantize(q.quantize(0.0, scale, zero_point, bits=bits), scale, zero_point) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        st.integers(1, 50),
        elements=st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False),
    ),
    bits=st.integers(2, 12),
)
def test_round_trip_error_at_most_half_a_step(x, bits):
    scale, _ = q.affine_params(float(x.min()), float(x.max()), bits=bits)
    assert q.round_trip_error(x, bits=bits) <= scale / 2 * (1 + 1e-9) + 1e-12


def test_quantize_rounds_and_clips():
    scale, zero_point = 0.5, 0
    got = q.quantize([-100.0, -0.26, 0.24, 0.75, 100.0], scale, zero_point, bits=4)
    np.testing.assert_array_equal(got, [-8, -1, 0, 2, 7])  # 0.75 / 0.5 = 1.5 -> 2 (away)
    np.testing.assert_allclose(q.dequantize(got, scale, zero_point), [-4, -0.5, 0, 1, 3.5])


def test_round_trip_error_shrinks_with_bits():
    x = np.random.default_rng(0).standard_normal(1000)
    errors = [q.round_trip_error(x, bits=b) for b in (2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: q.affine_params(0.0, 1.0, bits=0), ValueError, "bits"),
        (lambda: q.affine_params(0.0, 1.0, bits=2.5), TypeError, "bits"),
        (lambda: q.affine_params(2.0, 1.0), ValueError, "x_min must be <= x_max"),
        (lambda: q.affine_params(float("nan"), 1.0), ValueError, "x_min"),
        (lambda: q.quantize([1.0], 0.0, 0), ValueError, "scale"),
        (lambda: q.quantize([1.0], 0.1, 300), ValueError, "zero_point"),
        (lambda: q.round_trip_error([], bits=8), ValueError, "x must not be empty"),
        (lambda: q.kmeans_share([1.0, 2.0], bits=0), ValueError, "bits"),
        (lambda: q.shared_size_bytes(-1, 4), ValueError, "n_weights"),
        (lambda: q.binarize(np.ones((2, 3)), axis=2), ValueError, "axis"),
        (lambda: q.binarized_weights(np.ones((2, 3)), np.ones(2)), ValueError, "alpha"),
        (lambda: q.shared_weights([0.0, 1.0], np.array([0, 2])), ValueError, "indices"),
    ],
)
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- k-means weight sharing ---------------------------------------------------------


def test_kmeans_one_bit_recovers_two_centres():
    rng = np.random.default_rng(0)
    w = np.concatenate([rng.normal(-1.0, 0.05, 500), rng.normal(2.0, 0.05, 300)])
    codebook, indices = q.kmeans_share(w, bits=1)
    np.testing.assert_allclose(codebook, [-1.0, 2.0], atol=0.02)
    assert indices.shape == w.shape and indices.dtype == np.uint8
    assert (indices[:500] == 0).all() and (indices[500:] == 1).all()


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_kmeans_indices_and_determinism(bits):
    w = np.random.default_rng(1).standard_normal((3, 3, 8, 16))
    codebook, indices = q.kmeans_share(w, bits)
    assert codebook.shape == (2**bits,) and indices.shape == w.shape
    assert indices.max() < 2**bits and np.all(np.diff(codebook) >= 0)
    again = q.kmeans_share(w, bits)
    np.testing.assert_array_equal(again[0], codebook)
    np.testing.assert_array_equal(again[1], indices)
    assert len(np.unique(q.shared_weights(codebook, indices))) <= 2**bits


def test_sharing_error_shrinks_with_bits():
    w = np.random.default_rng(2).standard_normal(5000)
    errors = [np.abs(q.shared_weights(*q.kmeans_share(w, b)) - w).mean() for b in (2, 4, 8)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.01


def test_shared_size_bytes_accounting():
    assert q.shared_size_bytes(1_000_000, 4) == 500_000 + 16 * 4
    assert q.shared_size_bytes(1_000_000, 8) == 1_000_000 + 256 * 4
    assert q.shared_size_bytes(10, 3) == math.ceil(30 / 8) + 8 * 4  # 4 + 32
    assert q.shared_size_bytes(1000, 2, codebook_bits=16) == 250 + 4 * 2
    assert q.shared_size_bytes(0, 1) == 8


# --- binary weights -----------------------------------------------------------------


def test_binarize_signs_and_alpha():
    w = np.random.default_rng(3).standard_normal((3, 3, 4, 6))
    w[0, 0, 0, 0] = 0.0
    signs, alpha = q.binarize(w)
    assert set(np.unique(signs)) <= {-1, 1} and signs[0, 0, 0, 0] == 1
    np.testing.assert_array_equal(signs, np.where(w >= 0, 1, -1))
    np.testing.assert_allclose(alpha, np.abs(w).reshape(-1, 6).mean(axis=0), rtol=1e-6)
    recon = q.binarized_weights(signs, alpha)
    np.testing.assert_allclose(np.abs(recon[..., 2]), alpha[2], rtol=1e-6)
    _, single = q.binarize(w, axis=None)
    assert single == pytest.approx(np.abs(w).mean(), rel=1e-6)


# --- Keras models and TFLite --------------------------------------------------------


def tiny_model():
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.Conv2D(128, 1, activation="relu")(x)
    x = keras.layers.Conv2D(128, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10)(x)  # logits, so outputs differ between inputs
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def converted():
    model = tiny_model()
    x = np.random.default_rng(0).standard_normal((64, 16, 16, 3)).astype("float32")
    files = {
        mode: tflite.to_tflite(model, mode, representative_data=x if mode == "int8" else None)
        for mode in tflite.MODES
    }
    return model, x, files


def test_quantized_files_run_and_shrink(converted):
    model, x, files = converted
    sizes = {mode: len(flatbuffer) for mode, flatbuffer in files.items()}
    assert 0.45 <= sizes["float16"] / sizes["float32"] <= 0.6
    assert sizes["int8"] <= 0.35 * sizes["float32"]
    assert sizes["dynamic"] <= 0.35 * sizes["float32"]
    reference = keras.ops.convert_to_numpy(model(x[:1]))
    for mode in ("float32", "float16"):
        out = tflite.run(tflite.interpreter(files[mode]), x[:1])
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, reference, atol=1e-3)
    for mode in ("dynamic", "int8"):
        out = tflite.run(tflite.interpreter(files[mode]), x[:1])
        assert out.dtype == np.float32 and out.shape == reference.shape
        np.testing.assert_allclose(out, reference, atol=0.1 * np.abs(reference).max())


def test_int8_file_has_int8_input_and_output(converted):
    _, _, files = converted
    interp = tflite.interpreter(files["int8"])
    assert interp.get_input_details()[0]["dtype"] == np.int8
    assert interp.get_output_details()[0]["dtype"] == np.int8
    scale, _ = interp.get_input_details()[0]["quantization"]
    assert scale > 0
    assert tflite.interpreter(files["float32"]).get_input_details()[0]["dtype"] == np.float32


def test_accuracy_of_a_tflite_file_against_keras_labels(converted):
    model, x, files = converted
    labels = keras.ops.convert_to_numpy(model(x)).argmax(axis=1)
    assert training.accuracy(files["float32"], (x, labels)) == 1.0
    assert training.accuracy(files["int8"], (x, labels)) >= 0.7
    one_hot = np.eye(10)[labels]
    assert training.accuracy(files["float16"], (x, one_hot)) >= 0.95
    with pytest.raises(ValueError, match="as many"):
        training.accuracy(files["float32"], (x, labels[:-1]))
    with pytest.raises(TypeError, match="data must be a pair"):
        training.accuracy(files["float32"], x)


def test_invoke_times_helper(converted):
    _, _, files = converted
    interp = tflite.interpreter(files["int8"], batch=4)
    times = tflite.invoke_times(interp, runs=3, warmup=1)
    assert len(times) == 3 and all(t > 0 for t in times)
    with pytest.raises(ValueError, match="runs"):
        tflite.invoke_times(interp, runs=0)
    with pytest.raises(ValueError, match="warmup"):
        tflite.invoke_times(interp, runs=1, warmup=-1)


def test_to_tflite_representative_data_rules():
    model = tiny_model()
    with pytest.raises(ValueError, match="representative_data is required"):
        tflite.to_tflite(model, "int8")
    with pytest.raises(ValueError, match="representative_data is only used"):
        tflite.to_tflite(model, "float16", representative_data=np.zeros((2, 16, 16, 3)))
    with pytest.raises(ValueError, match="representative_data must have shape"):
        tflite.to_tflite(model, "int8", representative_data=np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="mode must be one of"):
        tflite.to_tflite(model, "int4")


def test_apply_weight_sharing_and_binarization():
    model = tiny_model()
    x = np.random.default_rng(4).standard_normal((2, 16, 16, 3)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    shared = q.apply_weight_sharing(model, bits=2)
    binary = q.apply_binarization(model)
    for copy in (shared, binary):
        assert copy is not model
        for layer, original in zip(copy.layers, model.layers, strict=True):
            if isinstance(layer, keras.layers.BatchNormalization | keras.layers.ReLU):
                for a, b in zip(layer.get_weights(), original.get_weights(), strict=True):
                    np.testing.assert_array_equal(a, b)
            if getattr(layer, "bias", None) is not None:
                np.testing.assert_array_equal(layer.bias.numpy(), original.bias.numpy())
        assert copy(x).shape == (2, 10)
    for layer in shared.layers:
        if hasattr(layer, "kernel"):
            assert len(np.unique(layer.kernel.numpy())) <= 4
    for layer in binary.layers:
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense):
            kernel = layer.kernel.numpy()
            assert (np.unique(np.abs(kernel), axis=None).size) <= kernel.shape[-1]
            np.testing.assert_allclose(
                np.abs(kernel).reshape(-1, kernel.shape[-1]).max(axis=0),
                np.abs(kernel).reshape(-1, kernel.shape[-1]).min(axis=0),
            )
    for a, b in zip(model.get_weights(), before, strict=True):  # the original is untouched
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="model"):
        q.apply_binarization("model")


def _conv_channels(model) -> int:
    """Output channels of every convolution kernel (standard and depthwise)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            total += layer.kernel.shape[2] * layer.kernel.shape[3]
        elif isinstance(layer, keras.layers.Conv2D):
            total += layer.kernel.shape[-1]
    return total


def test_per_tensor_int8_drops_about_24_bytes_per_conv_channel():
    keras.utils.clear_session()
    model = models.digits_cnn(width=2.0)
    x = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
    per_channel = tflite.to_tflite(model, "int8", representative_data=x)
    per_tensor = tflite.to_tflite(model, "int8", representative_data=x, per_channel=False)
    channels = _conv_channels(model)
    assert channels == 704
    # kernel and int32 bias each carry a float32 scale and an int64 zero point per channel
    assert len(per_channel) - len(per_tensor) == pytest.approx(24 * channels, rel=0.05)
    per_channel_tensors = [
        (d["name"], len(d["quantization_parameters"]["scales"]))
        for d in tflite.interpreter(per_tensor).get_tensor_details()
        if len(d["quantization_parameters"]["scales"]) > 1
    ]
    # only the dense kernel keeps a scale per output (the converter's rule for MatMul)
    assert [n for _, n in per_channel_tensors] == [10], per_channel_tensors
    dynamic = tflite.to_tflite(model, "dynamic", per_channel=False)
    assert len(dynamic) < len(tflite.to_tflite(model, "dynamic"))


def test_per_channel_argument_rules():
    model = tiny_model()
    with pytest.raises(ValueError, match="per_channel=False applies to mode 'dynamic' or 'int8'"):
        tflite.to_tflite(model, "float16", per_channel=False)
    with pytest.raises(TypeError, match="per_channel must be True or False"):
        tflite.to_tflite(model, "dynamic", per_channel="no")
