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
