"""Collective confidence, flicker rate and perturbed frames (mobilecourse.stream)."""

import numpy as np
import pytest

from mobilecourse import stream


def test_collective_confidence_is_a_causal_moving_mean():
    p = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    smoothed = stream.collective_confidence(p, frames=2)
    expected = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(smoothed, expected)
    # three frames: the first rows average what there is
    smoothed = stream.collective_confidence(p, frames=3)
    np.testing.assert_allclose(smoothed[1], [0.5, 0.5])
    np.testing.assert_allclose(smoothed[3], [1 / 3, 2 / 3])
    np.testing.assert_allclose(smoothed[4], [2 / 3, 1 / 3])
    np.testing.assert_allclose(stream.collective_confidence(p, frames=1), p)
    # a window longer than the stream is the running mean from the start
    np.testing.assert_allclose(stream.collective_confidence(p, frames=99)[-1], [0.6, 0.4])


def test_flicker_rate_counts_label_changes():
    assert stream.flicker_rate([3, 3, 3, 3]) == 0.0
    assert stream.flicker_rate([0, 1, 0, 1, 0]) == 1.0
    assert stream.flicker_rate([0, 0, 1, 1, 1]) == 0.25


def test_smoothing_removes_flicker_of_a_close_call():
    # right (class 0 at 0.6) on two frames of three, wrong (0.4) on the third
    p0 = np.tile([0.6, 0.6, 0.4], 7)
    p = np.stack([p0, 1 - p0], axis=1)
    assert stream.flicker_rate(p.argmax(axis=1)) == pytest.approx(13 / 20)
    # any three consecutive frames average to 1.6 / 3 > 0.5: class 0 on every frame
    smoothed = stream.collective_confidence(p, 3)
    assert (smoothed.argmax(axis=1) == 0).all()
    assert stream.flicker_rate(smoothed.argmax(axis=1)) == 0.0


def test_perturbed_frames_stay_close_to_the_image():
    image = np.linspace(0, 1, 64 * 64).reshape(64, 64) * 0.5 + 0.25
    frames = stream.perturbed_frames(image, 10, noise=0.02, shift=1, brightness=0.05, seed=3)
    assert frames.shape == (10, 64, 64) and frames.dtype == np.float32
    assert 0 <= frames.min() and frames.max() <= 1
    assert np.abs(frames - image).mean() < 0.05
    assert not np.array_equal(frames[0], frames[1])
    again = stream.perturbed_frames(image, 10, noise=0.02, shift=1, brightness=0.05, seed=3)
    np.testing.assert_array_equal(frames, again)
    still = stream.perturbed_frames(image, 3, noise=0.0, shift=0, brightness=0.0)
    np.testing.assert_allclose(still, np.broadcast_to(image, (3, 64, 64)), atol=1e-7)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"\(frames, classes\)"):
        stream.collective_confidence([0.2, 0.8])
    with pytest.raises(ValueError, match="frames"):
        stream.collective_confidence([[0.2, 0.8]], frames=0)
    with pytest.raises(TypeError, match="frames"):
        stream.collective_confidence([[0.2, 0.8]], frames=2.5)
    with pytest.raises(ValueError, match="at least 2 frames"):
        stream.flicker_rate([1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stream.perturbed_frames(np.full((4, 4), 2.0), 3)
    with pytest.raises(ValueError, match="brightness"):
        stream.perturbed_frames(np.zeros((4, 4)), 3, brightness=1.5)
    with pytest.raises(ValueError, match="noise"):
        stream.perturbed_frames(np.zeros((4, 4)), 3, noise=-0.1)
