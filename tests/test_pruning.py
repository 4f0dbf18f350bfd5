"""Tests of mobilecourse.pruning: schedules, magnitude pruning, filter pruning, sizes."""

import keras
import numpy as np
import pytest
from keras import layers

from mobilecourse import models
from mobilecourse.profile import profile_model
from mobilecourse.pruning import (
    MagnitudePruning,
    PolynomialSchedule,
    compressed_size,
    prunable_weights,
    prune_filters,
    prune_to_sparsity,
    sensitivity_scan,
    sparsity_report,
    strip_pruning,
)


def small_cnn(seed: int = 0, bn: bool = True, bias: bool = False) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(16, 3, padding="same", use_bias=bias, name="conv1")(inputs)
    if bn:
        x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.Conv2D(32, 3, padding="same", use_bias=bias, name="conv2")(x)
    if bn:
        x = layers.BatchNormalization(name="bn2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(20, activation="relu", name="fc1")(x)
    outputs = layers.Dense(4, activation="softmax", name="fc2")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def flatten_cnn() -> keras.Model:
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((8, 8, 2)),
            layers.Conv2D(8, 3, name="c1"),
            layers.ReLU(),
            layers.Conv2D(6, 3, name="c2"),
            layers.Flatten(),
            layers.Dense(3, name="out"),
        ]
    )


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 12, 12, 3)).astype("float32"), rng.integers(0, 4, n)


def kernel_sparsity(model, name):
    df = sparsity_report(model).set_index("name")
    return df.loc[name, "zeros"], df.loc[name, "weights"]


# ---------------------------------------------------------------- schedule


def test_schedule_values():
    s = PolynomialSchedule(0.1, 0.8, begin_step=10, end_step=110)
    assert s(0) == pytest.approx(0.1)
    assert s(10) == pytest.approx(0.1)
    assert s(110) == pytest.approx(0.8)
    assert s(500) == pytest.approx(0.8)
    # middle: s_f + (s_i - s_f) (1 - 1/2)^3
    assert s(60) == pytest.approx(0.8 - 0.7 * 0.125)
    assert PolynomialSchedule(0, 0.5, 0, 10, power=1)(5) == pytest.approx(0.25)
    values = [s(t) for t in range(0, 120, 5)]
    assert values == sorted(values)


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"initial_sparsity": -0.1}, "initial_sparsity"),
        ({"final_sparsity": 1.0}, "final_sparsity"),
        ({"initial_sparsity": 0.6, "final_sparsity": 0.5}, "final_sparsity"),
        ({"begin_step": 10, "end_step": 5}, "end_step"),
        ({"begin_step": -1}, "begin_step"),
        ({"power": 0}, "power"),
    ],
)
def test_schedule_rejects(kwargs, arg):
    full = {"initial_sparsity": 0.0, "final_sparsity": 0.5, "begin_step": 0, "end_step": 10}
    full.update(kwargs)
    with pytest.raises(ValueError, match=arg):
        PolynomialSchedule(**full)


# ---------------------------------------------------------------- one-shot


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.8])
def test_prune_to_sparsity_per_layer_exact(sparsity):
    model = small_cnn()
    pruned = prune_to_sparsity(model, sparsity)
    for key, var in prunable_weights(pruned).items():
        w = keras.ops.convert_to_numpy(var)
        assert abs(np.count_nonzero(w == 0) - sparsity * w.size) <= 1, key
    # the original is untouched and the kept weights are the large ones, unchanged
    orig = keras.ops.convert_to_numpy(model.get_layer("conv2").kernel)
    new = keras.ops.convert_to_numpy(pruned.get_layer("conv2").kernel)
    assert np.count_nonzero(orig == 0) == 0
    kept = new != 0
    np.testing.assert_array_equal(new[kept], orig[kept])
    if sparsity:
        assert np.abs(orig[~kept]).max() <= np.abs(orig[kept]).min()


def test_prune_to_sparsity_global_and_exclude():
    model = small_cnn()
    pruned = prune_to_sparsity(model, 0.6, exclude=["conv1"], scope="global")
    report = sparsity_report(pruned).set_index("name")
    assert report.loc["conv1", "zeros"] == 0
    chosen = report.drop("conv1")
    total = chosen["weights"].sum()
    assert abs(chosen["zeros"].sum() - 0.6 * total) <= 1
    # one global threshold: the layers end up with different sparsities
    assert chosen["sparsity"].std() > 0.01
    np.testing.assert_array_equal(
        pruned.get_layer("conv1").get_weights()[0], model.get_layer("conv1").get_weights()[0]
    )


def test_sparsity_report_numbers():
    pruned = prune_to_sparsity(small_cnn(), 0.5, layers=["conv2", "fc1"])
    df = sparsity_report(pruned)
    assert list(df.columns) == ["name", "type", "weights", "zeros", "sparsity"]
    assert list(df["name"]) == ["conv1", "dw", "conv2", "fc1", "fc2"]
    row = df.set_index("name").loc["conv2"]
    assert row["type"] == "Conv2D"
    assert row["weights"] == 3 * 3 * 16 * 32
    assert row["zeros"] == 3 * 3 * 16 * 32 // 2
    assert row["sparsity"] == pytest.approx(0.5)
    assert df.set_index("name").loc["fc1", "weights"] == 32 * 20
    total = df.attrs["total"]
    assert total["weights"] == df["weights"].sum()
    assert total["zeros"] == df["zeros"].sum()
    assert total["sparsity"] == pytest.approx(total["zeros"] / total["weights"])


def test_separable_both_kernels_pruned():
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((6, 6, 4)), layers.SeparableConv2D(8, 3, name="sep"), layers.Flatten()]
    )
    pruned = prune_to_sparsity(model, 0.5)
    df = sparsity_report(pruned)
    assert df.loc[0, "weights"] == 3 * 3 * 4 + 4 * 8
    assert df.loc[0, "zeros"] == 18 + 16
    assert strip_pruning(pruned).get_weights()[0].tolist() == pruned.get_weights()[0].tolist()


# ---------------------------------------------------------------- callback


def test_callback_keeps_zeros_and_follows_schedule():
    model = small_cnn()
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    x, y = data()
    schedule = PolynomialSchedule(0.0, 0.75, begin_step=0, end_step=8)
    callback = MagnitudePruning(schedule, exclude=["fc2"], frequency=1)
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[callback], verbose=0)  # 4 steps
    assert callback.step == 4
    assert [s for s, _ in callback.history] == [0, 1, 2, 3]
    for key, var in prunable_weights(model, exclude=["fc2"]).items():
        w = keras.ops.convert_to_numpy(var)
        assert abs(np.count_nonzero(w == 0) - schedule(3) * w.size) <= 1, key
    assert np.count_nonzero(model.get_layer("fc2").get_weights()[0] == 0) == 0
    zeros_before = {
        k: keras.ops.convert_to_numpy(v) == 0 for k, v in prunable_weights(model).items()
    }
    model.fit(x, y, batch_size=16, epochs=2, callbacks=[callback], verbose=0)  # steps 4..11
    assert callback.step == 12
    assert callback.sparsity == pytest.approx(0.75)
    for key, var in prunable_weights(model, exclude=["fc2"]).items():
        w = keras.ops.convert_to_numpy(var)
        assert np.all(w[zeros_before[key]] == 0), key  # once pruned, stays zero
        assert abs(np.count_nonzero(w == 0) - 0.75 * w.size) <= 1, key
    plain = strip_pruning(model)
    assert sparsity_report(plain)["zeros"].tolist() == sparsity_report(model)["zeros"].tolist()


def test_callback_global_scope_and_frequency():
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data()
    schedule = PolynomialSchedule(0.2, 0.6, begin_step=1, end_step=3)
    callback = MagnitudePruning(schedule, layers=["conv2", "fc1"], scope="global", frequency=2)
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[callback], verbose=0)
    assert [s for s, _ in callback.history] == [1, 3]
    df = sparsity_report(model).set_index("name").loc[["conv2", "fc1"]]
    assert abs(df["zeros"].sum() - 0.6 * df["weights"].sum()) <= 1
    assert sparsity_report(model).set_index("name").loc["conv1", "zeros"] == 0


def test_callback_unknown_layer_lists_available():
    model = small_cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data(16)
    callback = MagnitudePruning(PolynomialSchedule(0, 0.5, 0, 2), layers=["nope"])
    with pytest.raises(ValueError, match=r"layers.*nope.*conv1"):
        model.fit(x, y, epochs=1, callbacks=[callback], verbose=0)


# ---------------------------------------------------------------- sensitivity


def test_sensitivity_scan_shape():
    model = small_cnn()
    x, y = data(40)
    before = [w.copy() for w in model.get_weights()]
    table = sensitivity_scan(model, (x, y), [0.0, 0.5, 0.9])
    assert table.shape == (5, 3)
    assert list(table.index) == ["conv1", "dw", "conv2", "fc1", "fc2"]
    assert list(table.columns) == [0.0, 0.5, 0.9]
    assert table.notna().all().all()
    assert ((table >= 0) & (table <= 1)).all().all()
    np.testing.assert_allclose(table[0.0], table.attrs["baseline"])
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    one_hot = np.eye(4)[y]
    small = sensitivity_scan(model, (x, one_hot), [0.5], layers=["conv1"])
    assert small.loc["conv1", 0.5] == table.loc["conv1", 0.5]


# ---------------------------------------------------------------- filter pruning


def test_prune_filters_shrinks_params_and_macs():
    model = small_cnn()
    small = prune_filters(model, 0.5)
    before, after = profile_model(model), profile_model(small)
    assert small.output_shape == model.output_shape
    assert small.get_layer("conv1").filters == 8
    assert small.get_layer("conv2").filters == 16
    assert small.get_layer("dw").get_weights()[0].shape == (3, 3, 8, 1)
    assert small.get_layer("bn2").get_weights()[0].shape == (16,)
    assert small.get_layer("fc1").get_weights()[0].shape == (16, 20)
    assert after.params < before.params
    assert after.macs <= 0.6 * before.macs
    x, _ = data(4)
    assert small.predict(x, verbose=0).shape == (4, 4)


def test_prune_filters_kept_channels_identical():
    model = small_cnn(bn=False, bias=True)
    conv1 = model.get_layer("conv1")
    kernel, bias = conv1.get_weights()
    dead = [1, 4, 5, 6, 9, 10, 13, 15]
    kernel[..., dead] = 0
    bias[dead] = 0
    conv1.set_weights([kernel, bias])
    small = prune_filters(model, 0.5, layers=["conv1"])
    assert small.get_layer("conv1").filters == 8
    assert small.count_params() < model.count_params()
    x, _ = data(8)
    np.testing.assert_allclose(
        small.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    keep = [c for c in range(16) if c not in dead]
    feat = keras.Model(model.inputs, model.get_layer("conv1").output)
    small_feat = keras.Model(small.inputs, small.get_layer("conv1").output)
    np.testing.assert_array_equal(
        small_feat.predict(x, verbose=0), feat.predict(x, verbose=0)[..., keep]
    )


def test_prune_filters_flatten_dense():
    model = flatten_cnn()
    small = prune_filters(model, 0.5)
    assert small.get_layer("c1").filters == 4
    assert small.get_layer("c2").filters == 3
    assert small.get_layer("out").get_weights()[0].shape == (4 * 4 * 3, 3)
    assert small.output_shape == model.output_shape
    # zero the lowest-L1 filters: the pruned model then matches exactly
    c2 = model.get_layer("c2")
    k, b = c2.get_weights()
    l1 = np.abs(k).reshape(-1, 6).sum(0)
    dead = np.argsort(l1)[:3]
    k[..., dead], b[dead] = 0, 0
    c2.set_weights([k, b])
    small = prune_filters(model, 0.5, layers="c2")
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 2)).astype("float32")
    np.testing.assert_allclose(small.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_prune_filters_mobilenet_v1():
    model = models.mobilenet_v1(width=0.25, input_shape=(28, 28, 1), classes=10)
    small = prune_filters(model, 0.5)
    before, after = profile_model(model), profile_model(small)
    assert small.output_shape == model.output_shape
    assert after.params < 0.5 * before.params
    assert after.macs < 0.5 * before.macs
    assert small.get_layer("conv_ds_1_dw").get_weights()[0].shape[2] == 4


def test_prune_filters_refuses_residual():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 4))
    y = layers.Conv2D(4, 3, padding="same", name="branch")(inputs)
    out = layers.Add(name="add")([inputs, y])
    out = layers.Conv2D(2, 1, name="head")(out)
    model = keras.Model(inputs, layers.GlobalAveragePooling2D()(out))
    with pytest.raises(ValueError, match=r"branch.*add"):
        prune_filters(model, 0.5, layers=["branch"])
    # automatic selection skips the residual branch and prunes the head... whose
    # channels reach the output, so nothing is left
    with pytest.raises(ValueError, match="layers"):
        prune_filters(model, 0.5)


def test_prune_filters_rejects_bad_input():
    model = small_cnn()
    with pytest.raises(ValueError, match="fraction"):
        prune_filters(model, 1.0)
    with pytest.raises(ValueError, match=r"layers.*fc1.*conv1"):
        prune_filters(model, 0.5, layers=["fc1"])
    with pytest.raises(TypeError, match="model must be a keras.Model, got str"):
        prune_filters("model", 0.5)


# ---------------------------------------------------------------- size & errors


def test_compressed_size_sparse_vs_dense():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), layers.Dense(256, name="a"), layers.Dense(128, name="b")]
    )
    raw, packed = compressed_size(model)
    assert raw == 4 * model.count_params()
    sparse = prune_to_sparsity(model, 0.8)
    raw_s, packed_s = compressed_size(sparse)
    assert raw_s == raw  # unstructured pruning: no smaller until compressed
    assert packed_s <= 0.45 * packed
    assert compressed_size(b"\0" * 1000)[0] == 1000
    assert compressed_size(b"\0" * 1000)[1] < 100


def test_bad_inputs_name_argument(tmp_path):
    model = small_cnn()
    with pytest.raises(ValueError, match="sparsity"):
        prune_to_sparsity(model, 1.0)
    with pytest.raises(ValueError, match="sparsity"):
        prune_to_sparsity(model, -0.1)
    with pytest.raises(ValueError, match="scope"):
        prune_to_sparsity(model, 0.5, scope="net")
    with pytest.raises(ValueError, match=r"exclude.*nope.*conv1.*fc2"):
        prune_to_sparsity(model, 0.5, exclude=["nope"])
    with pytest.raises(ValueError, match=r"layers.*relu1"):
        prune_to_sparsity(model, 0.5, layers=["relu1"])
    with pytest.raises(ValueError, match="frequency"):
        MagnitudePruning(PolynomialSchedule(0, 0.5, 0, 1), frequency=0)
    with pytest.raises(ValueError, match="scope"):
        MagnitudePruning(PolynomialSchedule(0, 0.5, 0, 1), scope="all")
    with pytest.raises(TypeError, match="schedule"):
        MagnitudePruning(0.5)
    with pytest.raises(ValueError, match="sparsities"):
        sensitivity_scan(model, data(8), [1.5])
    with pytest.raises(TypeError, match=r"data must be a pair \(x, y\)"):
        sensitivity_scan(model, np.zeros((8, 12, 12, 3)), [0.5])
    with pytest.raises(ValueError, match="data must hold as many"):
        sensitivity_scan(model, (np.zeros((8, 12, 12, 3)), np.zeros(7)), [0.5])
    with pytest.raises(ValueError, match="metric"):
        sensitivity_scan(model, data(8), [0.5], metric="f1")
    with pytest.raises(TypeError, match="model_or_bytes must be a keras.Model, bytes"):
        compressed_size(3)
    with pytest.raises(ValueError, match="model_or_bytes"):
        compressed_size(tmp_path / "missing.tflite")
    with pytest.raises(TypeError, match="model must be a keras.Model, got NoneType"):
        sparsity_report(None)
