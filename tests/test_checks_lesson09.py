"""Lesson 09 checkers: a cloud call's latency, the collective confidence, a frame's preparation.

The right answers below are written from the formulas in the lesson, independently of the
package's reference functions; each classic mistake must be named by its hint.
"""

import numpy as np
import pytest

from mobilecourse import checks


def latency(size, rate, rtt, server):
    return rtt + size * 8 / (rate * 1e6) * 1000 + server


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s, r, rtt, sv: rtt + s / (r * 1e6) * 1000 + sv, "A byte is 8 bits"),
        (lambda s, r, rtt, sv: rtt + s * 8 / (r * 2**20) * 1000 + sv, "decimal units"),
        (lambda s, r, rtt, sv: s * 8 / (r * 1e6) * 1000 + sv, "round trip"),
        (lambda s, r, rtt, sv: rtt + s * 8 / (r * 1e6) * 1000, "server's own"),
        (lambda s, r, rtt, sv: rtt + s * 8 / (r * 1e6) + sv, "Milliseconds"),
    ],
)
def test_cloud_latency_mistakes_are_named(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        checks.check_cloud_latency(wrong)


def test_cloud_latency_right_answer_and_stub(capsys):
    checks.check_cloud_latency(latency)
    assert capsys.readouterr().out.startswith("Correct: cloud call latency")

    def stub(size, rate, rtt, server):
        raise NotImplementedError

    checks.check_cloud_latency(stub)
    assert "not attempted yet" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="expected"):
        checks.check_cloud_latency(lambda s, r, rtt, sv: 42.0)


def causal_mean(probabilities, frames):
    rows = np.asarray(probabilities, dtype=float)
    return np.array([rows[max(0, t - frames + 1) : t + 1].mean(axis=0) for t in range(len(rows))])


def centred_mean(probabilities, frames):
    rows = np.asarray(probabilities, dtype=float)
    return np.array(
        [
            rows[max(0, t - frames // 2) : t - frames // 2 + frames].mean(axis=0)
            for t in range(len(rows))
        ]
    )


def divided_by_frames(probabilities, frames):
    rows = np.asarray(probabilities, dtype=float)
    return np.array(
        [rows[max(0, t - frames + 1) : t + 1].sum(axis=0) / frames for t in range(len(rows))]
    )


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (centred_mean, "frames from the future"),
        (divided_by_frames, "divide by how"),
        (lambda p, k: causal_mean(p, k + 1), "including the current one: t - frames \\+ 1 to t\\."),
        (lambda p, k: causal_mean(p, max(1, k - 1)), "both ends included"),
        (lambda p, k: np.broadcast_to(np.mean(p, axis=0), np.shape(p)), "whole stream"),
    ],
)
def test_collective_confidence_mistakes_are_named(wrong, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        checks.check_collective_confidence(wrong)


def test_collective_confidence_takes_arrays_or_lists(capsys):
    checks.check_collective_confidence(causal_mean)
    assert capsys.readouterr().out.startswith("Correct: collective confidence")
    checks.check_collective_confidence(lambda p, k: causal_mean(p, k).tolist())
    assert capsys.readouterr().out.startswith("Correct:")


def _prepare(frame, *, scale="unit", order="RGB", crop="centre", resample="BILINEAR"):
    """The model card written out with Pillow, independently of preprocess.prepare."""
    from PIL import Image

    h, w = frame.shape[:2]
    filt = getattr(Image.Resampling, resample)
    if crop == "squash":
        out = Image.fromarray(frame).resize((24, 24), filt)
    else:  # cut the centre square first, then resize it (the lesson's other order)
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        out = Image.fromarray(frame[top : top + s, left : left + s]).resize((24, 24), filt)
    x = np.asarray(out, dtype="float32")
    if order == "BGR":
        x = x[..., ::-1]
    return {"unit": x / 255, "symmetric": x / 127.5 - 1, "raw": x}[scale]


def test_prepare_frame_accepts_either_order_of_crop_and_resize(capsys):
    checks.check_prepare_frame(_prepare)
    assert capsys.readouterr().out.startswith("Correct: prepare a frame")

    def stub(frame):
        raise NotImplementedError

    checks.check_prepare_frame(stub)
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        ({"scale": "symmetric"}, r"not \[-1, 1\]"),
        ({"scale": "raw"}, "not 0 to 255"),
        ({"order": "BGR"}, "reversed"),
        ({"crop": "squash"}, "squashed"),
        ({"resample": "NEAREST"}, "not nearest"),
        ({"resample": "BICUBIC"}, "not bicubic"),
        ({"resample": "BOX"}, "not box"),
    ],
)
def test_prepare_frame_mistakes_are_named(change, hint):
    with pytest.raises(checks.CheckFailed, match=hint):
        checks.check_prepare_frame(lambda frame: _prepare(frame, **change))


def test_prepare_frame_wrong_shape_none_and_unknown_errors():
    with pytest.raises(checks.CheckFailed, match=r"shape \(24, 24\)"):
        checks.check_prepare_frame(lambda frame: _prepare(frame)[..., 0])
    with pytest.raises(checks.CheckFailed, match="returned None"):
        checks.check_prepare_frame(lambda frame: None)
    with pytest.raises(checks.CheckFailed, match="differs from the model card"):
        checks.check_prepare_frame(lambda frame: 1 - _prepare(frame))
    with pytest.raises(TypeError, match="fn must be"):
        checks.check_prepare_frame("prepare")
