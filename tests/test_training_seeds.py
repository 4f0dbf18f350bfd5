"""training.accuracy_over_seeds, accuracy_over_seeds_per_set and spread: results over seeds."""

import math

import keras
import numpy as np
import pytest

from mobilecourse import training


def _tiny():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))


@pytest.fixture(scope="module")
def blobs():
    # two Gaussian blobs, 4-D: any small network separates them
    rng = np.random.default_rng(0)
    y = np.arange(256) % 2
    x = (rng.standard_normal((256, 4)) + 3.0 * y[:, None]).astype("float32")
    return (x[:192], y[:192]), (x[192:], y[192:])


def test_each_seed_is_repeatable_and_seeds_differ(blobs):
    train, test = blobs
    quick = {"epochs": 4, "batch_size": 16}
    first = training.accuracy_over_seeds(_tiny, train, test, seeds=[0, 1, 5], **quick)
    again = training.accuracy_over_seeds(_tiny, train, test, seeds=[5, 0], **quick)
    assert len(first) == 3 and all(0.5 < a <= 1.0 for a in first)
    # a seed's accuracy does not depend on the seeds trained before it in the same call
    assert again == [first[2], first[0]]


def test_the_weights_start_afresh_for_every_seed(blobs):
    # a seed trained after many others scores what it scores alone: nothing carries over
    train, test = blobs
    alone = training.accuracy_over_seeds(_tiny, train, test, seeds=[3], epochs=3)
    later = training.accuracy_over_seeds(_tiny, train, test, seeds=[0, 1, 2, 3], epochs=3)
    assert later[-1] == alone[0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"build": "model"}, TypeError, "build must be a function"),
        ({"seeds": 3}, TypeError, "seeds must be a list"),
        ({"seeds": []}, ValueError, "at least one seed"),
        ({"seeds": [-1]}, ValueError, "seeds must be an integer from 0"),
        ({"build": lambda: 3}, TypeError, r"build\(\) must return a keras.Model"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"schedule": "step"}, ValueError, "schedule"),
    ],
)
def test_bad_arguments(blobs, kwargs, error, match):
    train, test = blobs
    args = {"build": _tiny, "train": train, "test": test, **kwargs}
    with pytest.raises(error, match=match):
        training.accuracy_over_seeds(**args)


def test_per_set_training_takes_exactly_the_given_steps_on_every_set(blobs):
    train, test = blobs
    x, y = train
    sets = {"4 examples": (x[:4], y[:4]), "all": train}
    result = training.accuracy_over_seeds_per_set(
        _tiny, sets, test, seeds=[0, 1], steps=40, batch_size=16
    )
    assert list(result) == ["4 examples", "all"] and all(len(v) == 2 for v in result.values())
    # the whole set learns the blobs; the same seed and set give the same number again
    assert min(result["all"]) > 0.6
    again = training.accuracy_over_seeds_per_set(
        _tiny, {"all": train}, test, seeds=[1], steps=40, batch_size=16
    )
    assert again["all"] == [result["all"][1]]
    # a set of 4 examples is repeated to fill 16-sample batches: 7 steps, no fewer
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = _tiny()
    training.compile_model(model)
    batches = training._shuffled_batches(x[:4], y[:4], 16, steps=7)
    model.fit(batches, epochs=1, shuffle=False, verbose=0, callbacks=[Count()])
    assert len(seen) == 7


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"train_sets": {}}, TypeError, "train_sets must be a non-empty dict"),
        ({"train_sets": [(1, 2)]}, TypeError, "train_sets must be a non-empty dict"),
        ({"steps": 0}, ValueError, "steps"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"seeds": []}, ValueError, "at least one seed"),
    ],
)
def test_per_set_bad_arguments(blobs, kwargs, error, match):
    train, test = blobs
    args = {"build": _tiny, "train_sets": {"a": train}, "test": test, **kwargs}
    with pytest.raises(error, match=match):
        training.accuracy_over_seeds_per_set(**args)


def test_spread_is_mean_sample_sd_and_range():
    # 60, 62, 67: mean 63, deviations -3, -1, 4, sum of squares 26, sd sqrt(13)
    assert training.spread([60, 62, 67]) == f"63.0 ± {math.sqrt(13):.1f} (60.0 to 67.0)"
    assert training.spread([71.25]) == "71.2 ± 0.0 (71.2 to 71.2)"
    with pytest.raises(ValueError, match="values"):
        training.spread([])
