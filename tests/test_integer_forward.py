"""Integer-only inference (mobilecourse.integer) against LiteRT and against hand-derived values.

Expected values of the fixed-point pieces are worked out by hand in the comments (the
binary fractions are exact); the whole-network tests compare every tensor with what the
LiteRT interpreter computes (``experimental_preserve_all_tensors``), with TFLite's
reference kernels (which ``integer_forward`` follows: bit-exact) and with the XNNPACK
delegate that LiteRT uses by default (float requantization: within one step).
"""

import numpy as np
import pytest

from mobilecourse import integer
from mobilecourse.quantize import integer_forward  # the brief's import path

INT32_MAX = 2**31 - 1


# ---------------------------------------------------------------- fixed-point pieces


@pytest.mark.parametrize(
    ("real", "expected"),
    [
        (0.75, (3 * 2**29, 0)),  # 0.75 = 0.75 * 2**0; 0.75 * 2**31 = 3 * 2**29
        (2**-10, (2**30, -9)),  # 2**-10 = 0.5 * 2**-9
        (1.0, (2**30, 1)),  # 1 = 0.5 * 2**1
        (0.1875, (3 * 2**29, -2)),  # 3/16 = 0.75 * 2**-2
        (1 - 2**-40, (2**30, 1)),  # the fraction rounds up to 1.0: renormalized
        (0.0, (0, 0)),
        (2**-40, (0, 0)),  # below 2**-32: no 31-bit multiplier with a shift >= -31
    ],
)
def test_quantize_multiplier_by_hand(real, expected):
    assert integer.quantize_multiplier(real) == expected


def test_quantize_multiplier_recovers_the_real_value():
    for real in np.random.default_rng(0).uniform(1e-6, 0.999, 200):
        m0, shift = integer.quantize_multiplier(float(real))
        assert 2**30 <= m0 < 2**31
        assert abs(m0 / 2**31 * 2.0**shift - real) <= 2.0**shift / 2**32  # half a step


def test_quantize_multiplier_errors():
    with pytest.raises(ValueError, match="real_multiplier"):
        integer.quantize_multiplier(-0.5)
    with pytest.raises(TypeError, match="real_multiplier"):
        integer.quantize_multiplier("0.5")


def test_doubling_high_mul_by_hand():
    srdhm = integer.saturating_rounding_doubling_high_mul
    # b = 2**30 is the fraction 1/2: 3 * 1/2 = 1.5 rounds up to 2, but -1.5 goes toward
    # zero (-1): the nudge for negative products is 1 - 2**30, then C division truncates
    assert srdhm([3, -3, 5, -5, 4, -4], 2**30).tolist() == [2, -1, 3, -2, 2, -2]
    # the one overflow saturates: (-2**31) * (-2**31) * 2 / 2**32 = 2**31
    assert int(srdhm(-(2**31), -(2**31))) == INT32_MAX
    # (2**31 - 1)**2 / 2**31 = 2**31 - 2 + 2**-31: rounds to 2**31 - 2
    assert int(srdhm(INT32_MAX, INT32_MAX)) == 2**31 - 2


def test_rounding_divide_by_pot_by_hand():
    rdbp = integer.rounding_divide_by_pot
    # /4: 1.25, -1.25, 1.5, -1.5, 1.75, -1.75 -> ties away from zero
    assert rdbp([5, -5, 6, -6, 7, -7], 2).tolist() == [1, -1, 2, -2, 2, -2]
    assert rdbp([5, -5], 0).tolist() == [5, -5]
    assert rdbp([5, 5], [0, 1]).tolist() == [5, 3]  # one exponent per channel
    with pytest.raises(ValueError, match="exponent"):
        rdbp(5, 32)
    with pytest.raises(TypeError, match="x"):
        rdbp(5.0, 2)


def test_multiply_by_quantized_multiplier_by_hand():
    m0, shift = integer.quantize_multiplier(0.125)  # (2**30, -2)
    # 12/8 = 1.5 -> 2, 20/8 = 2.5 -> 3, -1.5 -> -2, -2.5 -> -3: away from zero overall
    assert integer.multiply_by_quantized_multiplier([12, 20, -12, -20], m0, shift).tolist() == [
        2,
        3,
        -2,
        -3,
    ]
    # two roundings: 13 * 0.1875 = 2.4375 (nearest: 2), but the high multiply first
    # rounds 13 * 0.75 = 9.75 to 10, and the shift then rounds 10 / 4 = 2.5 to 3
    m0, shift = integer.quantize_multiplier(0.1875)
    assert int(integer.multiply_by_quantized_multiplier(13, m0, shift)) == 3
    # a multiplier above 1 shifts left first: 1.5 = 0.75 * 2**1
    m0, shift = integer.quantize_multiplier(1.5)
    assert shift == 1 and integer.multiply_by_quantized_multiplier([7, -7], m0, shift).tolist() == [
        11,  # 10.5 -> 11
        -10,  # -10.5: the high multiply takes the tie toward zero
    ]


def test_requantization_is_two_exact_roundings():
    # an independent derivation with exact fractions: first x * m0 / 2**31 rounded to an
    # integer (ties up; toward zero when negative), then that / 2**-shift rounded (ties
    # away from zero); never more than one step from the exact nearest integer
    from fractions import Fraction

    def half_away(v):
        return int(v + Fraction(1, 2)) if v >= 0 else -int(-v + Fraction(1, 2))

    acc = np.random.default_rng(1).integers(-(2**20), 2**20, 1000)
    for real in (0.0123, 0.00071, 0.3):
        m0, shift = integer.quantize_multiplier(real)
        got = integer.multiply_by_quantized_multiplier(acc, m0, shift)
        for a, g in zip(acc.tolist(), got.tolist(), strict=True):
            high = Fraction(a * m0, 2**31)
            tie_below_zero = high < 0 and high.denominator == 2
            first = int(high + Fraction(1, 2)) if tie_below_zero else half_away(high)
            assert g == half_away(Fraction(first, 2**-shift))
            assert abs(g - half_away(high * Fraction(2) ** shift)) <= 1


# ---------------------------------------------------------------- files, converted once


def as_int8(flatbuffer, images):
    """Float images quantized with the input tensor's scale and zero point (by hand)."""
    from ai_edge_litert.interpreter import Interpreter

    detail = Interpreter(model_content=flatbuffer).get_input_details()[0]
    scale, zero_point = detail["quantization"]
    q = np.floor(np.asarray(images, dtype=np.float64) / scale + 0.5) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


@pytest.fixture(scope="module")
def digits():
    """Lesson 07's int8 file: the trained baseline converted with 200 training images."""
    import keras

    from mobilecourse import tflite, training
    from mobilecourse.data import load_digits_dataset

    (x_train, y_train), (x_test, y_test) = load_digits_dataset()
    keras.utils.clear_session()
    model = training.trained_baseline((x_train, y_train), 0)
    flatbuffer = tflite.to_tflite(model, "int8", representative_data=x_train[:200])
    return flatbuffer, as_int8(flatbuffer, x_test), y_test


@pytest.fixture(scope="module")
def mobilenet():
    """An untrained int8 MobileNetV2 at 64x64, calibrated on 16 random images.

    Untrained, its activations shrink layer after layer (scales near 1e-8 at the end);
    BatchNorm statistics re-estimated on the calibration images keep them near 1, as a
    trained network's would be.
    """
    import keras

    from mobilecourse import models, tflite, training

    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    calibration = rng.standard_normal((16, 64, 64, 3)).astype("float32")
    model = models.mobilenet_v2(input_shape=(64, 64, 3), classes=100)
    model = training.reestimate_batchnorm(model, calibration)
    flatbuffer = tflite.to_tflite(model, "int8", representative_data=calibration)
    return flatbuffer, as_int8(flatbuffer, rng.standard_normal((8, 64, 64, 3)))


@pytest.fixture(scope="module")
def zoo():
    """A small network with the operators the two above lack (pools, pad, reshape, ...)."""
    import keras

    from mobilecourse import tflite

    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((13, 13, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu6")(inputs)  # VALID, ReLU6
    x = keras.layers.ZeroPadding2D(((1, 0), (0, 1)))(x)
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
    a = keras.layers.MaxPooling2D(2, padding="same")(x)
    b = keras.layers.AveragePooling2D(3, strides=2, padding="same")(x)
    b = keras.layers.Conv2D(16, 3, padding="same")(b)
    x = keras.layers.ReLU()(keras.layers.Add()([a, b]))
    x = keras.layers.Lambda(lambda t: keras.ops.reshape(t, (-1, 4 * 4 * 16)))(x)  # RESHAPE
    x = keras.layers.Dense(12, activation="relu")(x)
    outputs = keras.layers.Dense(5)(x)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    calibration = rng.standard_normal((32, 13, 13, 3)).astype("float32")
    flatbuffer = tflite.to_tflite(model, "int8", representative_data=calibration)
    return flatbuffer, as_int8(flatbuffer, rng.standard_normal((16, 13, 13, 3)))


def op_names(flatbuffer):
    from ai_edge_litert.interpreter import Interpreter

    return {op["op_name"] for op in Interpreter(model_content=flatbuffer)._get_ops_details()}


def output_index(flatbuffer):
    from ai_edge_litert.interpreter import Interpreter

    return int(Interpreter(model_content=flatbuffer).get_output_details()[0]["index"])


def differences(ours, theirs):
    """Per tensor: (max |difference|, share of values equal)."""
    out = {}
    for index, value in theirs.items():
        d = np.abs(ours[index].astype(np.int64) - value.astype(np.int64))
        out[index] = (int(d.max()), float((d == 0).mean()))
    return out


# ---------------------------------------------------------------- whole files vs LiteRT


def test_the_files_hold_the_operators_named_in_the_brief(digits, mobilenet, zoo):
    assert op_names(digits[0]) == {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MEAN",
        "FULLY_CONNECTED",
        "SOFTMAX",
    }
    assert {"ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "MEAN"} <= op_names(mobilenet[0])
    assert {"AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD", "RESHAPE"} <= op_names(zoo[0])
    for flatbuffer in (digits[0], mobilenet[0], zoo[0]):
        assert op_names(flatbuffer) <= set(integer.SUPPORTED_OPS)


@pytest.mark.parametrize("name", ["digits", "mobilenet", "zoo"])
def test_bit_exact_with_the_reference_kernels(name, request):
    flatbuffer, x = request.getfixturevalue(name)[:2]
    x = x[:200]
    ours = integer.integer_tensors(flatbuffer, x)
    theirs = integer.litert_tensors(flatbuffer, x, kernels="reference")
    assert len(theirs) > 5
    found = differences(ours, theirs)
    assert all(d == (0, 1.0) for d in found.values()), {i: d for i, d in found.items() if d[0]}
    np.testing.assert_array_equal(integer_forward(flatbuffer, x), theirs[output_index(flatbuffer)])


@pytest.mark.parametrize("name", ["digits", "mobilenet", "zoo"])
def test_within_one_step_of_xnnpack_operator_by_operator(name, request):
    # XNNPACK requantizes in float32 (round to nearest even): each operator, fed the
    # interpreter's own inputs, is off by at most one step, and rarely
    flatbuffer, x = request.getfixturevalue(name)[:2]
    x = x[:200]
    theirs = integer.litert_tensors(flatbuffer, x, kernels="xnnpack")
    ours = integer.integer_tensors(flatbuffer, x, given=theirs)
    found = differences(ours, theirs)
    assert max(d for d, _ in found.values()) <= 1
    sizes = {i: v.size for i, v in theirs.items()}
    equal = sum(share * sizes[i] for i, (_, share) in found.items()) / sum(sizes.values())
    assert equal >= 0.99, equal


def test_same_top1_as_litert_on_the_digits_test_set(digits):
    flatbuffer, x, y = digits
    ours = integer_forward(flatbuffer, x)
    reference = integer.litert_tensors(flatbuffer, x, kernels="reference")
    deployed = integer.litert_tensors(flatbuffer, x, kernels="xnnpack")  # LiteRT's default
    index = output_index(flatbuffer)
    assert ours.dtype == np.int8 and ours.shape == (len(x), 10)
    assert np.array_equal(ours.argmax(axis=1), reference[index].argmax(axis=1))
    # XNNPACK's one-step differences add up along the network: a few digits whose two
    # best classes are nearly tied can swap
    agree = (ours.argmax(axis=1) == deployed[index].argmax(axis=1)).mean()
    assert agree >= 0.99, agree
    assert (ours.argmax(axis=1) == y).mean() > 0.9


def test_int8_dense_is_the_1x1_convolution_at_each_pixel(digits):
    # the exercise's reference, on the weights and tensors LiteRT itself reads and writes:
    # every 1x1 CONV_2D of the digits file, then its fused ReLU's clamp at the zero point
    from ai_edge_litert.interpreter import Interpreter

    flatbuffer, x, _ = digits
    interp = Interpreter(model_content=flatbuffer)
    details = {d["index"]: d for d in interp.get_tensor_details()}
    interp.allocate_tensors()
    theirs = integer.litert_tensors(flatbuffer, x[:50], kernels="reference")
    checked = 0
    for op in interp._get_ops_details():
        if op["op_name"] != "CONV_2D":
            continue
        x_index, w_index, b_index = (int(i) for i in op["inputs"])
        if tuple(details[w_index]["shape"][1:3]) != (1, 1):
            continue
        y_index = int(op["outputs"][0])
        w = interp.get_tensor(w_index)[:, 0, 0, :]
        bias = interp.get_tensor(b_index)
        s_x, zp_x = details[x_index]["quantization"]
        s_y, zp_y = details[y_index]["quantization"]
        s_w = details[w_index]["quantization_parameters"]["scales"]
        assert w.dtype == np.int8 and bias.dtype == np.int32 and s_w.size == w.shape[0]
        pixels = theirs[x_index].reshape(-1, w.shape[1])
        got = integer.int8_dense(pixels, w, bias, s_x, zp_x, s_w, s_y, zp_y)
        relu = np.maximum(got, zp_y)  # the convolutions of the digits CNN fuse a ReLU
        np.testing.assert_array_equal(relu, theirs[y_index].reshape(relu.shape))
        checked += relu.size
    assert checked > 100_000


def test_xnnpack_requantizes_in_float32_with_ties_to_even(digits):
    # why XNNPACK differs: the dense layer's int32 sums times the float32 scale, rounded
    # half to even, reproduce its output exactly (the integer steps do not, always)
    from ai_edge_litert.interpreter import Interpreter

    flatbuffer, x, _ = digits
    interp = Interpreter(model_content=flatbuffer)
    details = {d["index"]: d for d in interp.get_tensor_details()}
    fc = next(op for op in interp._get_ops_details() if op["op_name"] == "FULLY_CONNECTED")
    x_index, w_index, b_index = (int(i) for i in fc["inputs"])
    y_index = int(fc["outputs"][0])
    interp.allocate_tensors()
    w = interp.get_tensor(w_index).astype(np.int64)
    bias = interp.get_tensor(b_index).astype(np.int64)
    s_x, zp_x = details[x_index]["quantization"]
    s_y, zp_y = details[y_index]["quantization"]
    s_w = details[w_index]["quantization_parameters"]["scales"]
    theirs = integer.litert_tensors(flatbuffer, x, kernels="xnnpack")
    acc = (theirs[x_index].astype(np.int64) - zp_x) @ w.T + bias
    scale = (np.float32(s_x) * s_w.astype(np.float32) / np.float32(s_y)).astype(np.float32)
    as_float = np.clip(np.rint(acc.astype(np.float32) * scale) + zp_y, -128, 127)
    np.testing.assert_array_equal(as_float, theirs[y_index])


# ---------------------------------------------------------------- errors


def test_bad_arguments(digits, tmp_path):
    flatbuffer, x, _ = digits
    with pytest.raises(TypeError, match="tflite_model"):
        integer_forward(123, x[:1])
    with pytest.raises(ValueError, match="tflite_model"):
        integer_forward(b"not a flatbuffer at all", x[:1])
    with pytest.raises(ValueError, match="tflite_model"):
        integer_forward(tmp_path / "missing.tflite", x[:1])
    path = tmp_path / "digits.tflite"
    path.write_bytes(flatbuffer)
    np.testing.assert_array_equal(integer_forward(path, x[:3]), integer_forward(flatbuffer, x[:3]))
    with pytest.raises(TypeError, match="x"):
        integer_forward(flatbuffer, x[:1].tolist())
    with pytest.raises(ValueError, match="x must be int8"):
        integer_forward(flatbuffer, x[:1].astype(np.float32))
    with pytest.raises(ValueError, match="x must be a batch"):
        integer_forward(flatbuffer, x[0])
    with pytest.raises(ValueError, match="kernels"):
        integer.litert_tensors(flatbuffer, x[:1], kernels="fast")


def test_a_float_file_is_refused(teacher_float32):
    x = np.zeros((1, 28, 28, 1), dtype=np.int8)
    with pytest.raises(ValueError, match="tflite_model must be a full-integer int8 file"):
        integer_forward(teacher_float32, x)


def test_an_unsupported_operator_is_named(digits, monkeypatch):
    flatbuffer, x, _ = digits
    monkeypatch.setattr(
        integer, "SUPPORTED_OPS", tuple(o for o in integer.SUPPORTED_OPS if o != "SOFTMAX")
    )
    with pytest.raises(ValueError, match=r"SOFTMAX; supported: ADD, AVERAGE_POOL_2D"):
        integer_forward(flatbuffer, x[:1])
