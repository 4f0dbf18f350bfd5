"""Predictions on a video stream: frame by frame, or with a collective confidence.

A classifier run on every frame of a camera stream answers each frame on its own, and a
network that is right on most frames still *flickers*: small changes between frames (sensor
noise, a hand that shakes, light) push a close call back and forth, and the label on the
screen jumps. The Koul, Ganju and Kasam deck ("Deep learning on mobile phones", slide 105)
names the simple cure: a collective confidence over several frames, here the mean of the
class probabilities of the last ``frames`` frames, which costs no extra inference.

Pure NumPy: the functions take the probabilities a model produced, frame after frame, and
a stream of perturbed frames to feed it (:func:`perturbed_frames`).
"""

from __future__ import annotations

import numpy as np

from mobilecourse._validate import integer, real, real_array

__all__ = ["collective_confidence", "flicker_rate", "perturbed_frames"]


def _probabilities(value, name: str) -> np.ndarray:
    array = real_array(value, name)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a (frames, classes) array, got shape {array.shape}")
    return array


def collective_confidence(probabilities, frames: int = 5) -> np.ndarray:
    """Each frame's class probabilities averaged with those of the frames just before it.

    Formula:
        ``p̄_t = mean(p_{t-k+1}, ..., p_t)`` with ``k = min(frames, t + 1)``: a causal
        moving mean (the first frames average what there is), so a label needs the
        evidence of several frames to change. ``frames=1`` returns the input.

    Args:
        probabilities: ``(frames, classes)`` class probabilities, one row per frame, in
            the order the frames arrived.
        frames: how many of the latest frames to average (>= 1).

    Returns:
        An array of the same shape: the averaged probabilities.

    Raises:
        TypeError: ``frames`` is not an integer; ``probabilities`` not numeric.
        ValueError: ``probabilities`` is not 2-D or holds a NaN; ``frames`` < 1.
    """
    p = _probabilities(probabilities, "probabilities")
    frames = integer(frames, "frames")
    totals = np.cumsum(p, axis=0)
    shifted = np.zeros_like(totals)
    shifted[frames:] = totals[:-frames]
    counts = np.minimum(np.arange(1, len(p) + 1), frames)[:, np.newaxis]
    return (totals - shifted) / counts


def flicker_rate(labels) -> float:
    """The share of consecutive frames whose label differs from the frame before.

    Formula:
        ``#{t >= 1 : label_t != label_{t-1}} / (n - 1)`` over ``n`` frames: 0 for a label
        that never changes, 1 for one that changes on every frame.

    Args:
        labels: the label shown on each frame (at least two frames), e.g. the arg-max of
            each row of the probabilities.

    Raises:
        ValueError: fewer than two frames, or ``labels`` is not 1-D.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) < 2:
        raise ValueError(
            f"labels must be a 1-D sequence of at least 2 frames, got shape {labels.shape}"
        )
    return float(np.mean(labels[1:] != labels[:-1]))


def perturbed_frames(
    image,
    frames: int,
    *,
    noise: float = 0.05,
    shift: int = 1,
    brightness: float = 0.1,
    seed: int = 0,
) -> np.ndarray:
    """A stream of frames of one still image, each slightly disturbed as a camera would.

    Every frame is the image moved by a random whole-pixel shift in each direction (edges
    repeated), scaled by a random brightness factor and given Gaussian noise, then clipped
    to [0, 1]. The draws come from ``numpy.random.default_rng(seed)``.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` pixels in [0, 1].
        frames: how many frames (>= 1).
        noise: standard deviation of the per-pixel noise (>= 0).
        shift: largest shift in pixels, each direction (>= 0).
        brightness: the brightness factor is drawn uniformly from
            ``[1 - brightness, 1 + brightness]`` (0 <= brightness < 1).
        seed: the random generator's seed (>= 0).

    Returns:
        ``(frames, *image.shape)`` float32 frames.

    Raises:
        TypeError, ValueError: a bad argument, named in the message.
    """
    pixels = real_array(image, "image")
    if pixels.ndim not in (2, 3) or min(pixels.shape[:2]) < 1:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {pixels.shape}")
    if pixels.min() < 0 or pixels.max() > 1:
        raise ValueError("image must hold pixels in [0, 1]")
    frames = integer(frames, "frames")
    noise = real(noise, "noise")
    brightness = real(brightness, "brightness")
    shift = integer(shift, "shift", 0)
    seed = integer(seed, "seed", 0)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    if not 0 <= brightness < 1:
        raise ValueError(f"brightness must be in [0, 1), got {brightness!r}")
    rng = np.random.default_rng(seed)
    pad = [(shift, shift), (shift, shift)] + [(0, 0)] * (pixels.ndim - 2)
    padded = np.pad(pixels, pad, mode="edge")
    height, width = pixels.shape[:2]
    out = np.empty((frames, *pixels.shape), dtype="float32")
    for i in range(frames):
        dy, dx = rng.integers(0, 2 * shift + 1, size=2)
        frame = padded[dy : dy + height, dx : dx + width]
        frame = frame * rng.uniform(1 - brightness, 1 + brightness)
        frame = frame + rng.normal(0.0, noise, size=frame.shape)
        out[i] = np.clip(frame, 0.0, 1.0)
    return out
