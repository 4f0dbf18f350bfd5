"""The digits CNN trains to the accuracy the lessons rely on, reproducibly."""

import keras
import numpy as np
import pytest

from mobilecourse import cache, data, models, training
from mobilecourse.profile import profile_model


def test_digits_cnn_size_and_cost():
    model = models.digits_cnn()
    profile = profile_model(model)
    assert profile.params == model.count_params() == 50_698
    assert profile.macs == 1_489_216
    assert models.digits_cnn(width=0.1).get_layer("conv1").filters == 8


def test_digits_cnn_learns_the_offline_digits():
    keras.utils.set_random_seed(0)
    train, test = data.load_digits_dataset()
    model = models.digits_cnn(width=1.0)
    training.fit(model, train, epochs=4)
    assert training.accuracy(model, test) > 0.85


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"epochs": 0}, "epochs"), ({"learning_rate": 0}, "learning_rate")]
)
def test_bad_training_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training.fit(models.digits_cnn(), data.load_digits_dataset()[0], **kwargs)


def test_fit_recompiles_a_clone_with_its_own_learning_rate():
    """A clone of a compiled model comes back compiled; fit must not inherit its optimizer."""
    keras.utils.set_random_seed(0)
    train, _ = data.load_digits_dataset()
    small = (train[0][:128], train[1][:128])
    model = models.digits_cnn(width=0.5)
    training.fit(model, small, epochs=1, learning_rate=3e-3)
    clone = keras.models.clone_model(model)
    assert clone.compiled  # the trap this test is about
    training.fit(clone, small, epochs=1, learning_rate=1e-4)
    assert clone.optimizer is not model.optimizer
    assert float(clone.optimizer.learning_rate) == pytest.approx(1e-4)
    assert int(clone.optimizer.iterations) == 2  # fresh: 128 samples / 64 per step


def test_cosine_schedule_decays_to_zero_over_the_run():
    keras.utils.set_random_seed(0)
    train, _ = data.load_digits_dataset()
    small = (train[0][:200], train[1][:200])
    model = models.digits_cnn(width=0.5)
    training.fit(model, small, epochs=2, batch_size=50, learning_rate=1e-3, schedule="cosine")
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(4)) == pytest.approx(5e-4)  # halfway through 8 steps
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"schedule": "linear"}, r"schedule must be one of \('constant', 'cosine'\)"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"epochs": 0}, "epochs must be a positive integer"),
    ],
)
def test_bad_schedule_and_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training.fit(models.digits_cnn(), data.load_digits_dataset()[0], **kwargs)


def test_sizes_of_the_wrong_type_are_a_type_error():
    with pytest.raises(TypeError, match="epochs must be a positive integer, got True"):
        training.fit(models.digits_cnn(), data.load_digits_dataset()[0], epochs=True)


def test_every_step_is_a_full_batch_and_every_sample_is_seen():
    """Each epoch drops the remainder: 70 samples in batches of 16 are 4 full steps."""
    keras.utils.set_random_seed(0)
    assert training.steps_per_epoch(70, 16) == 4 and training.steps_per_epoch(64, 16) == 4
    sizes = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            sizes.append(batch)  # one call per optimizer step

    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    x = np.arange(70, dtype="float32")[:, None]
    history = training.fit(
        model, (x, np.zeros(70, int)), epochs=6, batch_size=16, callbacks=[Record()]
    )
    assert int(model.optimizer.iterations) == 6 * 4 == len(sizes)
    assert len(history.history["loss"]) == 6
    with pytest.raises(ValueError, match=r"batch_size must be at most the number of samples \(8\)"):
        training.fit(model, (x[:8], np.zeros(8, int)), batch_size=16)


# ---------------------------------------------------------------- knowledge distillation


def test_soft_targets_is_a_tempered_softmax():
    import numpy as np

    z = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]])
    q = training.soft_targets(z, 2.0)
    by_hand = np.exp(z / 2.0) / np.exp(z / 2.0).sum(axis=1, keepdims=True)
    assert np.allclose(q, by_hand) and np.allclose(q.sum(axis=1), 1.0)
    assert np.allclose(q[1], 1 / 3)
    # higher temperature flattens; huge logits do not overflow
    assert training.soft_targets(z[0], 10.0).max() < training.soft_targets(z[0], 1.0).max()
    assert np.allclose(training.soft_targets([1000.0, 0.0], 1.0), [1.0, 0.0])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, 2.0], 0), "temperature"),
        (([1.0, float("nan")], 1.0), "logits"),
        (([], 1.0), "logits"),
    ],
)
def test_soft_targets_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        training.soft_targets(*args)


def test_distillation_loss_matches_its_formula():
    import numpy as np

    t, alpha = 3.0, 0.4
    p_student = np.array([[0.7, 0.2, 0.1]], dtype="float32")
    teacher_q = training.soft_targets(np.log([[0.6, 0.3, 0.1]]), t)
    y = np.concatenate([[[1.0, 0.0, 0.0]], teacher_q], axis=1).astype("float32")
    got = float(keras.ops.convert_to_numpy(training.distillation_loss(t, alpha)(y, p_student))[0])
    student_q = training.soft_targets(np.log(p_student), t)
    kl = float(np.sum(teacher_q * (np.log(teacher_q) - np.log(student_q))))
    want = (1 - alpha) * -np.log(0.7) + alpha * t**2 * kl
    assert got == pytest.approx(want, rel=1e-5)
    # alpha = 0 is plain cross-entropy
    plain = training.distillation_loss(t, 0.0)(y, p_student)
    assert float(keras.ops.convert_to_numpy(plain)[0]) == pytest.approx(-np.log(0.7), rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"alpha": 1.0}, "alpha"), ({"temperature": -1}, "temperature")]
)
def test_distillation_loss_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.distillation_loss(**kwargs)


def test_distill_trains_the_student_toward_the_teacher():
    import numpy as np

    keras.utils.set_random_seed(0)
    train, test = data.load_digits_dataset()
    small = (train[0][:2000], train[1][:2000])
    teacher = models.digits_cnn(width=0.5, name="teacher")
    training.fit(teacher, small, epochs=2)
    assert training.accuracy(teacher, test) > 0.5
    student = models.digits_cnn(width=0.5, name="student")
    before = training.accuracy(student, test)
    history = training.distill(student, teacher, small, epochs=2)
    assert len(history.history["loss"]) == 2
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert training.accuracy(student, test) > before + 0.2
    # the loss it was compiled with is the distillation loss (no accuracy metric on 20 columns)
    assert student.compiled and not student.metrics_names[1:]
    assert np.isfinite(history.history["loss"]).all()


def test_distill_refuses_mismatched_classes():
    teacher = models.digits_cnn(width=0.5, classes=5)
    with pytest.raises(ValueError, match="same classes"):
        training.distill(models.digits_cnn(width=0.5), teacher, data.load_digits_dataset()[0])


# ---------------------------------------------------------------- BatchNorm re-estimation


def _inputs_of(model, layer, x):
    """What ``layer`` receives from ``x`` in inference mode (upstream statistics as they are)."""
    probe = keras.Model(model.inputs[0], layer.input)
    return keras.ops.convert_to_numpy(probe(x, training=False))


def test_reestimated_statistics_are_those_of_each_layers_input():
    keras.utils.clear_session()
    keras.utils.set_random_seed(4)
    model = models.digits_cnn(width=0.5)
    x = np.random.default_rng(4).random((300, 28, 28, 1), dtype=np.float32)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) >= 4
    stale = _inputs_of(model, norms[-1], x[:100])  # a fresh layer assumes variance 1
    assert not np.allclose(
        keras.ops.convert_to_numpy(norms[-1].moving_variance), stale.var(axis=(0, 1, 2)), rtol=0.1
    )
    momenta = [layer.momentum for layer in norms]
    assert training.reestimate_batchnorm(model, x, samples=100) is model
    assert [layer.momentum for layer in norms] == momenta  # restored
    for layer in norms:  # in network order, each with the upstream layers already updated
        a = _inputs_of(model, layer, x[:100])
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(layer.moving_mean), a.mean(axis=(0, 1, 2)), atol=1e-4
        )
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(layer.moving_variance),
            a.var(axis=(0, 1, 2)),
            rtol=1e-3,
            atol=1e-5,
        )
        assert layer.trainable


def test_reestimation_refuses_random_layers_and_bad_input():
    keras.utils.clear_session()
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(2, 3)(inputs))
    noisy = keras.Model(inputs, keras.layers.Dropout(0.5, name="drop")(x))
    data = np.zeros((4, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match=r"random in training mode \(drop\)"):
        training.reestimate_batchnorm(noisy, data)
    clean = keras.Model(inputs, x)
    with pytest.raises(ValueError, match="samples"):
        training.reestimate_batchnorm(clean, data, samples=1)
    with pytest.raises(ValueError, match=r"x must have shape \(n >= 2, \*\(8, 8, 1\)\)"):
        training.reestimate_batchnorm(clean, np.zeros((4, 8, 8), np.float32))
    with pytest.raises(TypeError, match="keras.Model"):
        training.reestimate_batchnorm("model", data)


# ---------------------------------------------------------------- the cached baseline


@pytest.fixture
def quick_recipe(monkeypatch, tmp_path):
    """One epoch, a cache in tmp_path: the behaviour without 12 s of training per call."""
    monkeypatch.setitem(training.BASELINE_RECIPE, "epochs", 1)
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    train, _ = data.load_digits_dataset()
    return (train[0][:256], train[1][:256]), tmp_path / "cache"


def _weights(model):
    return np.concatenate([np.ravel(w) for w in model.get_weights()])


def _random_state():
    return float(keras.random.uniform(())), float(np.random.rand())


def test_the_baseline_is_trained_once_then_loaded_bit_for_bit(quick_recipe):
    train, folder = quick_recipe
    keras.utils.clear_session()
    trained = training.trained_baseline(train, 3)
    after_training = _random_state()
    files = list(folder.iterdir())
    assert len(files) == 1 and files[0].name.startswith("digits_cnn_2x-")
    assert trained.count_params() == 50_698 and int(trained.optimizer.iterations) == 4
    keras.utils.clear_session()
    loaded = training.trained_baseline(train, 3)
    assert not loaded.compiled  # not trained again: read from the cache
    np.testing.assert_array_equal(_weights(loaded), _weights(trained))
    assert _random_state() == after_training  # the lesson goes on as if it had trained
    # another seed or other data is another network
    training.trained_baseline(train, 4)
    training.trained_baseline((train[0][:192], train[1][:192]), 3)
    assert len(list(folder.iterdir())) == 3


def test_with_the_cache_off_every_lesson_trains(quick_recipe, monkeypatch):
    train, folder = quick_recipe
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    training.trained_baseline(train, 0)
    assert not folder.exists()


def test_baseline_rejects_a_bad_seed(quick_recipe):
    train, _ = quick_recipe
    with pytest.raises(ValueError, match="seed"):
        training.trained_baseline(train, -1)
