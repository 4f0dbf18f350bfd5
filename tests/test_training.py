"""The digits CNN trains to the accuracy the lessons rely on, reproducibly."""

import keras
import pytest

from mobilecourse import data, models, training
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
        ({"epochs": True}, "epochs must be a positive integer"),
    ],
)
def test_bad_schedule_and_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training.fit(models.digits_cnn(), data.load_digits_dataset()[0], **kwargs)
