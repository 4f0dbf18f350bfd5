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
from mobilecourse.data import paper_table

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


# --- XNOR-Net: binary dot products -----------------------------------------------------


def test_pack_signs_bits_by_hand():
    packed = q.pack_signs([0.5, -2.0, 3.0, 0.0, -1.0, 1.0, 1.0, -3.0, 7.0, -7.0])
    # signs + - + + - + + - | + -  ->  10110110 and 10 padded with zeros: 10000000
    assert packed.tolist() == [0b10110110, 0b10000000] and packed.dtype == np.uint8


@pytest.mark.parametrize("n", [1, 7, 8, 9, 64, 100, 1001])
def test_binary_dot_equals_the_float_dot_product(n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    sa, sb = np.where(a >= 0, 1.0, -1.0), np.where(b >= 0, 1.0, -1.0)
    assert q.binary_dot(q.pack_signs(a), q.pack_signs(b), n) == int(sa @ sb)


def test_binary_dot_extremes():
    ones = q.pack_signs(np.ones(13))
    minus = q.pack_signs(-np.ones(13))
    assert q.binary_dot(ones, ones, 13) == 13
    assert q.binary_dot(minus, minus, 13) == 13  # (-1)(-1) = +1: all-zero bits agree
    assert q.binary_dot(ones, minus, 13) == -13


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: q.binary_dot(np.zeros(2), np.zeros(2, "uint8"), 9), TypeError, "a_packed"),
        (lambda: q.binary_dot(np.zeros(2, "uint8"), np.zeros(3, "uint8"), 9), ValueError, "long"),
        (lambda: q.binary_dot(np.zeros(2, "uint8"), np.zeros(2, "uint8"), 17), ValueError, "n"),
        (lambda: q.binary_dot(np.zeros(2, "uint8"), np.zeros(2, "uint8"), 8), ValueError, "n"),
        (lambda: q.binary_dot(np.zeros(2, "uint8"), np.zeros(2, "uint8"), 9.0), TypeError, "n"),
        (lambda: q.pack_signs([]), ValueError, "x"),
    ],
)
def test_binary_dot_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- Deep Compression storage -----------------------------------------------------------


def test_kmeans_with_fewer_clusters_than_codes():
    w = np.random.default_rng(5).standard_normal(2000)
    codebook, indices = q.kmeans_share(w, bits=3, clusters=7)
    assert codebook.shape == (7,) and indices.max() <= 6
    with pytest.raises(ValueError, match="clusters"):
        q.kmeans_share(w, bits=3, clusters=9)
    with pytest.raises(TypeError, match="clusters"):
        q.kmeans_share(w, bits=3, clusters=2.0)


def test_deep_compress_small_kernel_by_hand():
    # keep the 3 largest |w| of 12, 2-bit indices (at most 3 zeros skipped per entry)
    w = np.array([0.1, 0.0, 0.9, 0.2, -0.1, 0.0, 0.05, 0.0, 0.0, -0.8, 0.0, 0.7])
    c = q.deep_compress(w, keep=3, bits=2, index_bits=2)
    # kept at 2, 9, 11: runs 2, then 6 zeros = filler (3 zeros, at 6) + 2, then 1
    assert c.runs.tolist() == [2, 3, 2, 1] and c.filler.tolist() == [False, True, False, False]
    assert c.kept == 3 and c.fillers == 1 and c.entries == 4 and not c.dense
    assert c.codebook[0] == 0.0 and c.codes[1] == 0  # the filler is the stored zero
    # 3 clusters, linearly initialised over [-0.8, 0.9] at -0.8, 0.05, 0.9: 0.7 and 0.9
    # share the centroid 0.8, the middle one (in the gap pruning cut out) stays empty
    np.testing.assert_allclose(c.codebook, [0.0, -0.8, 0.05, 0.8], rtol=1e-6)
    assert c.codes.tolist() == [3, 0, 1, 3]
    expected = np.zeros(12)
    expected[[2, 9, 11]] = [0.8, -0.8, 0.8]
    np.testing.assert_allclose(c.weights(), expected, rtol=1e-6)
    # storage: 4 entries x 2 bits = 1 byte of codes and of indices, 4 float32 centroids
    assert c.storage_bytes() == {"codes": 1, "indices": 1, "codebook": 16, "tables": 0}


def test_deep_compress_dense_kernel_has_no_index():
    w = np.random.default_rng(6).standard_normal((3, 3, 4, 8))
    c = q.deep_compress(w, keep=w.size, bits=4)
    assert c.dense and c.fillers == 0 and c.kept == w.size and c.runs is None
    codebook, indices = q.kmeans_share(w, 4)
    np.testing.assert_array_equal(c.weights(), codebook[indices])
    assert c.storage_bytes() == {"codes": 288 * 4 // 8, "indices": 0, "codebook": 64, "tables": 0}
    huff = c.storage_bytes(huffman=True)
    assert huff["indices"] == 0 and huff["tables"] == 16 and huff["codes"] <= 288 * 4 // 8


def test_deep_compress_matches_prune_then_share():
    rng = np.random.default_rng(7)
    w = rng.uniform(-1, 1, (3, 3, 16, 32)).astype("float32")
    keep = 1521  # 33 % of 4608, rounded up
    c = q.deep_compress(w, keep=keep, bits=6, index_bits=4)
    # independent route: threshold at the keep-th largest |w|, k-means on the survivors
    threshold = np.sort(np.abs(w).ravel())[-keep]
    mask = np.abs(w) >= threshold
    assert mask.sum() == keep == c.kept
    codebook, indices = q.kmeans_share(w[mask], 6, clusters=63)
    expected = np.zeros_like(w)
    expected[mask] = codebook[indices]
    np.testing.assert_array_equal(c.weights(), expected)
    # fillers: a run of z zeros between kept weights costs z // 16 of them
    zeros = np.diff(np.concatenate([[-1], np.flatnonzero(mask.ravel())])) - 1
    assert c.fillers == (zeros // 16).sum()
    fixed = c.storage_bytes()
    assert fixed["codes"] == math.ceil(c.entries * 6 / 8)
    assert fixed["indices"] == math.ceil(c.entries * 4 / 8) and fixed["codebook"] == 4 * 64
    huff = c.storage_bytes(huffman=True)
    assert huff["indices"] < fixed["indices"] and huff["tables"] == 64 + 16


def test_squeezenet_table1_kept_counts_follow_the_densities():
    # Table 1's compression columns (data/squeezenet_table1.csv): keeping ceil(d * n) weights
    # of each kernel and every bias gives each printed count but fire8's, which repeats
    # fire9's 77,581; fire8's own densities give 82,005. Kernel sizes derived here by hand.
    table = paper_table("squeezenet_table1").set_index("layer")
    inputs = {
        "fire2": 96,
        "fire3": 128,
        "fire4": 128,
        "fire5": 256,
        "fire6": 256,
        "fire7": 384,
        "fire8": 384,
        "fire9": 512,
    }
    ours = {
        "conv1": 7 * 7 * 3 * 96 + 96,
        "conv10": math.ceil(20 * 512 * 1000 / 100) + 1000,
    }
    for name, c_in in inputs.items():
        row = table.loc[name]
        s, e1, e3 = int(row["s1x1"]), int(row["e1x1"]), int(row["e3x3"])
        sizes = [c_in * s, s * e1, 9 * s * e3]
        densities = [row[f"{k}_density_percent"] for k in ("s1x1", "e1x1", "e3x3")]
        ours[name] = sum(-(-int(d) * n // 100) for d, n in zip(densities, sizes, strict=True))
        ours[name] += s + e1 + e3
    printed = table["params_after_pruning"]
    assert {k for k in ours if ours[k] != printed[k]} == {"fire8"}
    assert ours["fire8"] == 82_005 and printed["fire8"] == printed["fire9"] == 77_581
    assert printed.sum() == 421_098 and sum(ours.values()) == 421_098 - 77_581 + 82_005
    assert (table["bits"] == 6).all()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: q.deep_compress(np.ones(10), keep=0, bits=4), ValueError, "keep"),
        (lambda: q.deep_compress(np.ones(10), keep=11, bits=4), ValueError, "keep"),
        (lambda: q.deep_compress(np.ones(10), keep=5.0, bits=4), TypeError, "keep"),
        (lambda: q.deep_compress(np.ones(10), keep=5, bits=1), ValueError, "bits"),
        (lambda: q.deep_compress(np.ones(10), keep=5, bits=4, index_bits=0), ValueError, "index"),
        (lambda: q.deep_compress([], keep=1, bits=4), ValueError, "kernel"),
    ],
)
def test_deep_compress_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_network_storage_bytes_adds_the_kernels_parts_and_float32_biases():
    # the small kernel by hand above (1 + 1 + 16 bytes) and a dense 2-bit one: 16 weights
    # in 4 bytes of codes, 4 centroids in 16 bytes, no index
    sparse = q.deep_compress(
        np.array([0.1, 0.0, 0.9, 0.2, -0.1, 0.0, 0.05, 0.0, 0.0, -0.8, 0.0, 0.7]), 3, 2, 2
    )
    dense = q.deep_compress(np.linspace(-1.0, 1.0, 16), 16, 2)
    assert q.network_storage_bytes([sparse, dense], biases=10) == {
        "codes": 1 + 4, "indices": 1, "codebook": 16 + 16, "tables": 0, "biases": 40
    }  # fmt: skip
    huffman = q.network_storage_bytes({"a": sparse, "b": dense}.values(), huffman=True)
    assert huffman["tables"] == (4 + 4) + 4 and huffman["biases"] == 0  # code, index, code
    assert huffman["codes"] <= 1 + 4 and huffman["indices"] <= 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"compressed": []}, ValueError, "compressed"),
        ({"compressed": [np.ones(3)]}, TypeError, "compressed"),
        ({"huffman": 1}, TypeError, "huffman"),
        ({"biases": -1}, ValueError, "biases"),
        ({"biases": 2.0}, TypeError, "biases"),
    ],
)
def test_network_storage_bytes_refuses_bad_input(kwargs, error, match):
    kernel = q.deep_compress(np.linspace(-1.0, 1.0, 16), 16, 2)
    with pytest.raises(error, match=match):
        q.network_storage_bytes(**{"compressed": [kernel], **kwargs})


def test_squeezenet_densities_are_table_1s_by_kernel_layer():
    density = q.squeezenet_densities()
    model = models.squeezenet()
    kernels = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert list(density) == kernels and len(kernels) == 26  # conv1, 8 x 3, conv10
    # Table 1's last columns, read off the paper
    assert density["conv1"] == 100 and density["conv10"] == 20
    assert density["fire9_expand3x3"] == 30 and density["fire8_expand1x1"] == 50
    assert sum(v == 33 for v in density.values()) == 7


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


# ---------------------------------------------------------------- quantization-aware training


def test_symmetric_fake_quant_by_hand():
    kernel = np.array([[0.7, -0.1], [0.35, 0.2]])
    # 2 bits: levels -1, 0, 1 times s_c = max |W_c|: column 0 has s = 0.7 (0.35 / 0.7 = 0.5
    # rounds away from zero to 1), column 1 s = 0.2 (-0.1 / 0.2 = -0.5 -> -1)
    np.testing.assert_allclose(q.symmetric_fake_quant(kernel, bits=2), [[0.7, -0.2], [0.7, 0.2]])
    # per row instead (axis 0): row 0 s = 0.7 (-0.1 / 0.7 rounds to 0), row 1 s = 0.35
    np.testing.assert_allclose(
        q.symmetric_fake_quant(kernel, bits=2, axis=0), [[0.7, 0.0], [0.35, 0.35]]
    )
    w = np.random.default_rng(0).standard_normal((3, 3, 8, 16))
    w_hat = q.symmetric_fake_quant(w, bits=8)
    scale = np.abs(w).max(axis=(0, 1, 2)) / 127
    assert np.all(np.abs(w_hat - w) <= scale / 2 + 1e-12)
    assert len(np.unique(np.round(w_hat[..., 0] / scale[0]))) <= 255
    with pytest.raises(ValueError, match="bits"):
        q.symmetric_fake_quant(w, bits=1)


def test_straight_through_step_uses_the_gradient_at_the_quantized_weights():
    # one SGD step on a linear model: the float weights move by -lr * dL/dW evaluated at
    # the quantized weights (derived by hand for the mean squared error)
    keras.utils.clear_session()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3)).astype("float32")
    y = rng.standard_normal((8, 2)).astype("float32")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, use_bias=False)(inputs))
    w = rng.standard_normal((3, 2)).astype("float32")
    model.layers[1].kernel.assign(w)
    lr = 0.1
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    callback = q.straight_through_callback(model, bits=2)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    w_hat = q.symmetric_fake_quant(w, bits=2)
    gradient = 2 * x.T @ (x @ w_hat - y) / y.size
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.layers[1].kernel), w - lr * gradient, rtol=1e-5, atol=1e-6
    )
    with pytest.raises(TypeError, match="model"):
        q.straight_through_callback("model", 2)


@pytest.mark.parametrize("seed", [0, 1])
def test_two_bit_weights_need_quantization_aware_training(seed):
    # post-training 2-bit weights (BatchNorm re-estimated) lose far more than two epochs of
    # training through the quantizer do, on the course's digits CNN
    from mobilecourse.data import load_digits_dataset

    (x_train, y_train), (x_test, y_test) = load_digits_dataset()
    keras.utils.clear_session()
    model = training.trained_baseline((x_train, y_train), seed)
    float_accuracy = training.accuracy(model, (x_test, y_test))
    ptq = training.reestimate_batchnorm(q.apply_fake_quantization(model, 2), x_train)
    ptq_accuracy = training.accuracy(ptq, (x_test, y_test))
    qat = keras.models.clone_model(model)
    qat.set_weights(model.get_weights())
    callback = q.straight_through_callback(qat, 2)
    training.fit(
        qat,
        (x_train, y_train),
        epochs=2,
        learning_rate=3e-3,
        schedule="cosine",
        callbacks=[callback],
    )
    qat_accuracy = training.accuracy(q.apply_fake_quantization(qat, 2), (x_test, y_test))
    assert qat_accuracy > ptq_accuracy + 0.1, (ptq_accuracy, qat_accuracy)
    assert float_accuracy - qat_accuracy < 0.1, (float_accuracy, qat_accuracy)
