"""The course's timing protocol: alternating rounds, median and spread, claims beyond noise."""

import keras
import pytest

from mobilecourse import bench, models, tflite
from mobilecourse.timing import Timing, time_variants, timing_table


def timing(*round_ms, batch=1, threads=1):
    return Timing(round_ms, batch, threads, runs=10, tflite_bytes=100)


def test_median_spread_and_per_image_time():
    t = timing(3.0, 1.5, 2.0, batch=4)
    assert (t.rounds, t.median_ms, t.low_ms, t.high_ms) == (3, 2.0, 1.5, 3.0)
    assert t.spread_ms == 1.5 and t.per_image_ms == 0.5
    assert str(t) == "2.000 ms (rounds 1.500 to 3.000)"
    with pytest.raises(ValueError, match="at least one round"):
        timing()


def test_a_difference_counts_only_beyond_the_spread():
    fast, slow = timing(0.9, 1.0, 1.1), timing(1.8, 2.0, 2.3)
    overlapping = timing(1.05, 1.15, 1.3)
    assert fast.faster_than(slow) and not slow.faster_than(fast)
    assert fast.compare(slow) == "faster" and slow.compare(fast) == "slower"
    # a lower median is not enough when the rounds overlap
    assert fast.median_ms < overlapping.median_ms and not fast.faster_than(overlapping)
    assert fast.compare(overlapping) == overlapping.compare(fast) == "the same within the spread"


@pytest.mark.parametrize(("rounds", "set_aside"), [(3, 0), (4, 0), (5, 1), (8, 1), (9, 2)])
def test_one_round_in_four_beyond_the_first_is_set_aside(rounds, set_aside):
    t = timing(*range(1, rounds + 1))
    assert t.outlier_rounds == set_aside
    assert (t.typical_low_ms, t.typical_high_ms) == (1 + set_aside, rounds - set_aside)


def test_one_disturbed_round_of_five_neither_makes_nor_breaks_a_claim():
    slow = timing(2.0, 2.1, 1.9, 2.0, 2.2)
    # int8 at about half float32's time, one round slowed 2.5x by another program
    assert timing(1.0, 1.1, 2.5, 1.0, 1.05).faster_than(slow)
    # with three rounds, the same disturbed round does break the claim
    assert not timing(1.0, 2.5, 1.05).faster_than(timing(2.0, 2.1, 1.9))
    # two disturbed rounds of five are more than noise: no claim
    assert not timing(1.0, 2.5, 2.6, 1.0, 1.05).faster_than(slow)
    # one unusually fast round does not make equal variants differ
    equal = timing(2.0, 2.05, 1.95, 2.0, 2.1)
    assert timing(1.0, 2.0, 2.1, 2.0, 1.9).compare(equal) == "the same within the spread"


def test_timings_of_different_batches_or_threads_do_not_compare():
    with pytest.raises(ValueError, match="same batch and threads"):
        timing(1.0, batch=1).faster_than(timing(1.0, batch=8))
    with pytest.raises(ValueError, match="same batch and threads"):
        timing(1.0, threads=1).compare(timing(1.0, threads=2))
    with pytest.raises(TypeError, match="other must be a Timing"):
        timing(1.0).faster_than(1.0)


@pytest.fixture
def fake_clock(monkeypatch):
    """invoke_times replaced by a script: records the order of the calls, returns set times."""
    calls = []
    per_round = {}

    def fake_interpreter(flatbuffer, threads=1, batch=1):
        return flatbuffer.decode()

    def fake_invoke_times(name, runs, warmup=0):
        calls.append(name)
        round_index = calls.count(name) - 1
        return [per_round[name][round_index]] * runs

    monkeypatch.setattr(tflite, "interpreter", fake_interpreter)
    monkeypatch.setattr(tflite, "invoke_times", fake_invoke_times)
    return calls, per_round


def test_rounds_alternate_and_the_result_is_the_median_of_round_medians(fake_clock):
    calls, per_round = fake_clock
    per_round["a"] = [1.0, 5.0, 2.0, 1.5, 1.2]  # one slow round (another program ran)
    per_round["b"] = [3.0, 3.1, 2.9, 3.3, 3.0]
    per_round["c"] = [2.0, 2.8, 3.0, 3.1, 2.9]
    result = time_variants({"a": b"a", "b": b"b", "c": b"c"}, rounds=5, runs=3)
    assert calls == ["a", "b", "c"] * 5
    a, b, c = result["a"], result["b"], result["c"]
    assert a.round_ms == (1.0, 5.0, 2.0, 1.5, 1.2)
    assert (a.median_ms, a.low_ms, a.high_ms) == (1.5, 1.0, 5.0)
    assert (b.median_ms, b.low_ms, b.high_ms) == (3.0, 2.9, 3.3)
    assert (a.rounds, a.runs, a.batch, a.threads, a.tflite_bytes) == (5, 3, 1, 1, 1)
    # the slow round is set aside: a still beats b; c's overlaps b
    assert a.compare(b) == "faster" and c.compare(b) == "the same within the spread"
    table = timing_table(result, reference="b")
    assert table.loc["a", "time vs b"] == pytest.approx(0.5)
    assert table.loc["a", "vs b"] == "faster"
    assert table.loc["c", "vs b"] == "the same within the spread"
    assert list(table.columns[:3]) == ["median (ms)", "fastest round (ms)", "slowest round (ms)"]
    with pytest.raises(ValueError, match="reference must be one of"):
        timing_table(result, reference="d")


def test_a_call_too_short_to_time_is_refused(fake_clock):
    _, per_round = fake_clock
    per_round["tiny"] = [0.004] * 3
    with pytest.raises(ValueError, match=r"'tiny' takes 4\.0 us per call.*larger batch"):
        time_variants({"tiny": b"tiny"}, rounds=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rounds": 2}, "rounds must be an integer >= 3"),
        ({"runs": 0}, "runs"),
        ({"batch": 0}, "batch"),
        ({"threads": 0}, "threads"),
        ({"warmup": -1}, "warmup"),
    ],
)
def test_bad_numbers_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        time_variants({"a": b""}, **kwargs)


def test_bad_variants_are_refused():
    with pytest.raises(ValueError, match="non-empty dict"):
        time_variants({})
    with pytest.raises(TypeError, match="variants must be a dict"):
        time_variants([b""])
    with pytest.raises(TypeError, match="keras.Model"):
        time_variants({"a": "not a model"})


def test_real_models_a_much_larger_one_is_clearly_slower():
    keras.utils.clear_session()
    small = models.digits_cnn(width=0.5)  # 123k MACs
    large = models.digits_cnn(width=2.0)  # 1.49M MACs: 12x the MACs
    result = time_variants({"small": small, "large": large}, batch=16, rounds=3, runs=5)
    assert result["small"].faster_than(result["large"])
    assert result["large"].compare(result["small"]) == "slower"
    for t in result.values():
        assert 0 < t.low_ms <= t.median_ms <= t.high_ms and t.batch == 16
    assert result["large"].tflite_bytes > 4 * large.count_params() * 0.9
    assert bench.MIN_ROUNDS == 3


def test_cold_start_records_load_first_and_steady_calls():
    from mobilecourse.timing import ColdStart, cold_start

    keras.utils.clear_session()
    flatbuffer = tflite.to_tflite(models.digits_cnn(width=1.0))
    start = cold_start(flatbuffer, threads=2, batch=4, runs=7)
    assert (start.threads, start.batch, start.file_bytes) == (2, 4, len(flatbuffer))
    assert len(start.steady_ms) == 7 and start.load_ms > 0 and start.first_ms > 0
    made = ColdStart(10.0, 6.0, (1.0, 3.0, 2.0), 1, 1, 100)
    assert made.steady_median_ms == 2.0 and made.first_over_steady == 3.0
    with pytest.raises(ValueError, match="runs"):
        cold_start(flatbuffer, runs=0)
    with pytest.raises(TypeError, match="flatbuffer must be"):
        cold_start("model.tflite")
