"""Lesson 06 targets on the offline digits: pruned models stay close to the dense baseline."""

import keras
import pytest

from mobilecourse.data import load_digits_dataset
from mobilecourse.profile import profile_model
from mobilecourse.pruning import (
    MagnitudePruning,
    PolynomialSchedule,
    compressed_size,
    prune_filters,
    sparsity_report,
    strip_pruning,
)
from mobilecourse.training import accuracy, fit, steps_per_epoch, trained_baseline

BATCH = 64
SENSITIVE = ["conv1", "ds1_dw", "ds2_dw", "ds3_dw"]  # left dense (lesson 06, section 4)
POINTWISE = ["ds1_pw", "ds2_pw", "ds3_pw"]


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset()


@pytest.fixture(scope="module")
def baseline(digits):
    """The network lessons 06-08 start from (the course's recipe and cache), seed 0."""
    train, test = digits
    keras.utils.clear_session()
    model = trained_baseline(train, 0)
    return model, accuracy(model, test)


def test_baseline_trains(baseline):
    _, acc = baseline
    assert acc > 0.93


def test_80_percent_sparse_after_fine_tuning(digits, baseline):
    train, test = digits
    model, base_acc = baseline
    keras.utils.set_random_seed(1)
    sizes = sparsity_report(model).set_index("name")["weights"]
    final = round(0.8 * sizes.sum() / sizes.drop(SENSITIVE).sum(), 4)
    steps = steps_per_epoch(len(train[0]), BATCH)
    sparse = strip_pruning(model)
    # lesson 06's recipe: sparsity ramps over 2 epochs, then 2 more epochs at 80 %
    schedule = PolynomialSchedule(0.0, final, begin_step=0, end_step=2 * steps)
    fit(
        sparse,
        train,
        epochs=4,
        batch_size=BATCH,
        callbacks=[MagnitudePruning(schedule, exclude=SENSITIVE, frequency=10)],
    )
    total = sparsity_report(sparse).attrs["total"]
    assert total["sparsity"] == pytest.approx(0.8, abs=0.005)
    sparse_acc = accuracy(sparse, test)
    # the lesson's claim: within 3 points (seeds 0-9 gave -1.8 to +1.0 points)
    assert sparse_acc >= base_acc - 0.03, (sparse_acc, base_acc)
    _, dense_gzip = compressed_size(model)
    _, sparse_gzip = compressed_size(sparse)
    assert sparse_gzip <= 0.45 * dense_gzip, (sparse_gzip, dense_gzip)


def test_half_the_filters_cut_macs_and_keep_accuracy(digits, baseline):
    """Half the filters of every pointwise layer; conv1 and the depthwise layers are kept."""
    train, test = digits
    model, base_acc = baseline
    keras.utils.set_random_seed(2)
    slim = prune_filters(model, 0.5, layers=POINTWISE)
    assert [slim.get_layer(n).filters for n in POINTWISE] == [32, 64, 128]
    cut = 1 - profile_model(slim).macs / profile_model(model).macs
    assert cut >= 0.40, cut
    fit(slim, train, epochs=4, batch_size=BATCH, schedule="cosine")
    slim_acc = accuracy(slim, test)
    assert slim_acc >= base_acc - 0.02, (slim_acc, base_acc)
