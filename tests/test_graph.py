"""Reading a Keras graph: layer calls, tensors and shapes, and profiling at any input size."""

import keras
import pytest

from mobilecourse import graph, models
from mobilecourse.__main__ import main
from mobilecourse.profile import profile_model


@pytest.fixture(scope="module")
def v3_any_size():
    """Keras's MobileNetV3Small as shipped: input (None, None, 3)."""
    keras.utils.clear_session()
    return keras.applications.MobileNetV3Small(weights=None, input_shape=(None, None, 3))


def test_undefined_sizes_need_an_input_shape(v3_any_size):
    with pytest.raises(ValueError, match=r"pass input_shape=\(height, width, channels\)"):
        profile_model(v3_any_size)


@pytest.mark.parametrize("size", [224, 160])
def test_propagated_shapes_equal_a_model_built_at_that_size(v3_any_size, size):
    fixed = keras.applications.MobileNetV3Small(weights=None, input_shape=(size, size, 3))
    built, propagated = profile_model(fixed), profile_model(v3_any_size, (size, size, 3))
    assert propagated.macs == built.macs and propagated.params == built.params
    assert propagated.params == v3_any_size.count_params()
    assert [r.output_shape for r in propagated.rows] == [r.output_shape for r in built.rows]
    assert propagated.input_shapes == [(size, size, 3)]
    # peak memory reads the propagated tensors too
    assert propagated.peak_activation_bytes() == built.peak_activation_bytes()


def test_a_fixed_size_model_is_reprofiled_at_another_resolution():
    keras.utils.clear_session()
    at_224 = models.mobilenet_v2()
    at_160 = profile_model(models.mobilenet_v2(input_shape=(160, 160, 3)))
    again = profile_model(at_224, input_shape=(160, 160, 3))
    assert again.macs == at_160.macs < profile_model(at_224).macs
    assert again.params == at_224.count_params()
    # the model itself is unchanged: still 224
    assert tuple(at_224.inputs[0].shape) == (None, 224, 224, 3)
    assert profile_model(at_224).input_shapes == [(224, 224, 3)]


@pytest.mark.parametrize(
    ("shape", "error", "match"),
    [
        ((224, 224, 1), ValueError, "keep the model's 3 input channels"),
        ((224, 224), ValueError, r"3 positive sizes"),
        ((0, 224, 3), ValueError, r"3 positive sizes"),
        ("224", TypeError, "tuple of integers"),
        ((224.0, 224, 3), TypeError, "tuple of integers"),
        # Keras 3.15 refuses the shape, Keras 3.13 computes an empty output: either way the
        # error names the layer
        (
            (8, 8, 3),
            ValueError,
            "(does not fit|is too small for) layer 'expanded_conv_3_depthwise'",
        ),
    ],
)
def test_bad_input_shapes_are_named(v3_any_size, shape, error, match):
    with pytest.raises(error, match=match):
        profile_model(v3_any_size, input_shape=shape)


def test_a_size_the_dense_weights_do_not_fit_is_refused():
    keras.utils.clear_session()
    model = models.squeezenet()  # global pooling: any size fits
    assert profile_model(model, input_shape=(256, 256, 3)).params == model.count_params()
    inputs = keras.Input((32, 32, 3))
    flat = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, name="c")(inputs))
    fixed = keras.Model(inputs, keras.layers.Dense(10, name="fc")(flat))
    with pytest.raises(ValueError, match=r"layer 'fc' holds 36,010 parameters"):
        profile_model(fixed, input_shape=(64, 64, 3))


def test_read_graph_numbers_tensors_and_flattens_nested_models():
    inner_in = keras.Input((8, 8, 4))
    inner = keras.Model(inner_in, keras.layers.ReLU(name="r")(inner_in), name="inner")
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 1, name="c")(x)
    z = inner(y)
    model = keras.Model(x, keras.layers.Add(name="add")([y, z]), name="outer")
    read = graph.read_graph(model)
    assert [c.name for c in read.calls] == ["c", "inner/r", "add"]
    c, r, add = read.calls
    assert r.inputs == c.outputs and set(add.inputs) == {c.outputs[0], r.outputs[0]}
    assert read.outputs == add.outputs and read.inputs == c.inputs
    assert read.elements[c.outputs[0]] == 8 * 8 * 4
    assert not any(call.repeated for call in read.calls)


def test_read_graph_marks_a_layer_called_twice():
    x = keras.Input((5,))
    shared = keras.layers.Dense(5, name="d")
    model = keras.Model(x, shared(shared(x)))
    first, second = graph.read_graph(model).calls
    assert (first.repeated, second.repeated) == (False, True)
    assert profile_model(model).params == model.count_params() == 30


def test_read_graph_refuses_what_it_cannot_read():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        graph.read_graph("model")
    with pytest.raises(ValueError, match="has not been built"):
        graph.read_graph(keras.Sequential([keras.layers.Dense(2)]))

    class Sub(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="subclassed"):
        graph.read_graph(Sub())


def test_kernels_and_clone():
    keras.utils.clear_session()
    model = models.mobilenet_v1(width=0.25, input_shape=(32, 32, 3), classes=10)
    held = [layer for layer in graph.layers_of(model) if graph.kernels(layer)]
    assert {type(layer).__name__ for layer in held} == {"Conv2D", "DepthwiseConv2D", "Dense"}
    clone = graph.clone_with_weights(model)
    assert clone is not model
    for a, b in zip(model.weights, clone.weights, strict=True):
        assert a is not b and (keras.ops.convert_to_numpy(a) == keras.ops.convert_to_numpy(b)).all()


def test_cli_profiles_a_keras_application_at_a_size(capsys):
    assert main(["profile", "keras:MobileNetV3Small", "--input-size", "160"]) == 0
    out = capsys.readouterr().out
    expected = keras.applications.MobileNetV3Small(weights=None, input_shape=(160, 160, 3))
    assert f"MACs: {profile_model(expected).macs:,}" in out
    assert main(["profile", "keras:NoSuchNet"]) == 2
    assert "unknown keras.applications model 'NoSuchNet'" in capsys.readouterr().err
    assert main(["profile", "keras:MobileNetV3Small", "--width", "2"]) == 2
    assert "--width applies only to the course's models" in capsys.readouterr().err
