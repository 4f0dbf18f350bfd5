"""Checkers for lesson 09: from a model to an app."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mobilecourse import deploy, preprocess, stream
from mobilecourse.checks._core import CheckFailed, Mistake, check_function, not_attempted

__all__ = [
    "MODEL_CARD",
    "check_cloud_latency",
    "check_collective_confidence",
    "check_prepare_frame",
]

#: How lesson 09's deployed model was trained to see a camera frame: the options of
#: :func:`mobilecourse.preprocess.prepare` (input side 24 pixels).
MODEL_CARD = {
    "size": 24,
    "scale": "unit",
    "channel_order": "RGB",
    "crop": "centre",
    "interpolation": "bilinear",
}

#: Mean absolute difference (in [0, 1] pixel units) within which an answer equals the
#: model card's input: resizing before or after cutting the centre square differs by about
#: 0.001; a different resampling filter by 0.01 or more.
PREPARE_TOLERANCE = 0.005


def check_cloud_latency(fn: Callable[[int, float, float, float], float]) -> None:
    """Lesson 09: ``fn(upload_bytes, uplink_mbit_s, round_trip_ms, server_ms)`` in ms."""

    def reference(size, rate, rtt, server):
        return deploy.cloud_latency_ms(size, rate, round_trip_ms=rtt, server_ms=server)

    def upload_ms(size, rate, bits_per_byte=8, bits_per_mbit=1_000_000):
        return 1000 * size * bits_per_byte / (rate * bits_per_mbit)

    check_function(
        "cloud call latency",
        fn,
        cases=[
            (86_017, 5.0, 60.0, 40.0),  # a 224 px JPEG at quality 90 over a 5 Mbit/s uplink
            (30_000, 1.0, 120.0, 25.0),
            (250_000, 20.0, 30.0, 80.0),
        ],
        reference=reference,
        mistakes=[
            Mistake(
                "A byte is 8 bits: the uplink's rate is in megabits per second, the file's "
                "size in bytes.",
                lambda s, r, rtt, sv: rtt + upload_ms(s, r, bits_per_byte=1) + sv,
            ),
            Mistake(
                "Network rates use decimal units: 1 Mbit/s is 1,000,000 bits per second, "
                "not 2**20.",
                lambda s, r, rtt, sv: rtt + upload_ms(s, r, bits_per_mbit=2**20) + sv,
            ),
            Mistake(
                "The answer waits for one network round trip too (the request goes out, the "
                "reply comes back), however fast the uplink.",
                lambda s, r, rtt, sv: upload_ms(s, r) + sv,
            ),
            Mistake(
                "The server's own inference time is part of what the user waits for.",
                lambda s, r, rtt, sv: rtt + upload_ms(s, r),
            ),
            Mistake(
                "Milliseconds, not seconds: bits / (bits per second) is in seconds; "
                "multiply by 1000.",
                lambda s, r, rtt, sv: rtt + upload_ms(s, r) / 1000 + sv,
            ),
        ],
    )


def check_collective_confidence(fn: Callable[[list, int], object]) -> None:
    """Lesson 09: ``fn(probabilities, frames)``: each row averaged with the rows before it.

    ``probabilities`` is a list of rows (one per frame); the answer may be a NumPy array or
    a list of rows.
    """
    p = np.array(
        [
            [0.9, 0.1],
            [0.2, 0.8],
            [0.6, 0.4],
            [0.3, 0.7],
            [0.8, 0.2],
            [0.7, 0.3],
        ]
    )

    def reference(probabilities, frames):
        return stream.collective_confidence(probabilities, frames).tolist()

    def centred(probabilities, frames):
        rows = np.asarray(probabilities)
        half = frames // 2
        return [
            rows[max(0, t - half) : t - half + frames].mean(axis=0).tolist()
            for t in range(len(rows))
        ]

    def zero_padded(probabilities, frames):
        rows = np.asarray(probabilities)
        return [
            (rows[max(0, t - frames + 1) : t + 1].sum(axis=0) / frames).tolist()
            for t in range(len(rows))
        ]

    def one_too_many(probabilities, frames):
        return stream.collective_confidence(probabilities, frames + 1).tolist()

    def one_too_few(probabilities, frames):
        return stream.collective_confidence(probabilities, max(1, frames - 1)).tolist()

    def whole_stream_mean(probabilities, frames):
        rows = np.asarray(probabilities)
        return np.broadcast_to(rows.mean(axis=0), rows.shape).tolist()

    check_function(
        "collective confidence",
        fn,
        cases=[(p.tolist(), 3), (p.tolist(), 2), (p.tolist(), 1), (p.tolist(), 4)],
        reference=reference,
        mistakes=[
            Mistake(
                "A frame's answer may use only the frames already seen: a window centred on "
                "the frame needs frames from the future (the app would have to wait for them).",
                centred,
            ),
            Mistake(
                "The first frames have fewer than `frames` frames before them: divide by how "
                "many there are, not by `frames` (the first answers would be too low).",
                zero_padded,
            ),
            Mistake(
                "The window is `frames` frames including the current one: t - frames + 1 to t.",
                one_too_many,
            ),
            Mistake(
                "The window is `frames` frames including the current one: t - frames + 1 to "
                "t, both ends included.",
                one_too_few,
            ),
            Mistake(
                "Average over the latest frames only, not over the whole stream: the label "
                "must follow the object when it changes.",
                whole_stream_mean,
            ),
        ],
    )


#: The mistakes :func:`check_prepare_frame` names: the option that differs from
#: :data:`MODEL_CARD`, and the hint.
_PREPARE_MISTAKES = (
    ({"scale": "symmetric"}, "The model card's pixels are in [0, 1] (x / 255), not [-1, 1]."),
    ({"scale": "raw"}, "Scale the bytes: the model saw pixels in [0, 1], not 0 to 255."),
    (
        {"channel_order": "BGR"},
        "The channels are reversed (BGR, as OpenCV reads images); the model saw RGB.",
    ),
    (
        {"crop": "squash"},
        "The frame was squashed to a square; the model saw the centre square of the frame, "
        "shapes undistorted: resize the shorter side to 24 and cut the middle out.",
    ),
    ({"interpolation": "nearest"}, "Resample with the bilinear filter, not nearest-neighbour."),
    ({"interpolation": "bicubic"}, "Resample with the bilinear filter, not bicubic."),
    ({"interpolation": "box"}, "Resample with the bilinear filter, not box (area averaging)."),
)


def _camera_frames() -> dict[str, np.ndarray]:
    """Two small frames cut from a real photograph: portrait and landscape."""
    from PIL import Image

    photo = preprocess.sample_photo()  # 600 x 512
    bilinear = Image.Resampling.BILINEAR
    return {
        "a 60x40 portrait frame": np.asarray(Image.fromarray(photo).resize((40, 60), bilinear)),
        "a 32x64 landscape frame": np.asarray(
            Image.fromarray(photo[100:356]).resize((64, 32), bilinear)
        ),
    }


def check_prepare_frame(fn: Callable[[np.ndarray], object]) -> None:
    """Lesson 09: ``fn(frame)`` turns a uint8 RGB camera frame into :data:`MODEL_CARD`'s input.

    The answer must be a ``(24, 24, 3)`` array within :data:`PREPARE_TOLERANCE` (mean
    absolute difference) of :func:`preprocess.prepare` with the model card's options; an
    answer that matches one option changed is named (wrong range, channel order, crop
    or filter).
    """
    if not callable(fn):
        raise TypeError(f"fn must be the function you wrote for 'prepare a frame', got {fn!r}")
    card = dict(MODEL_CARD)
    size = card.pop("size")
    for where, frame in _camera_frames().items():
        try:
            got = fn(frame.copy())
        except NotImplementedError:
            return not_attempted("prepare a frame")
        if got is None:
            raise CheckFailed(
                "prepare a frame: your function returned None. Did you forget `return`?"
            )
        answer = np.asarray(got, dtype="float64")
        if answer.shape != (size, size, 3):
            raise CheckFailed(
                f"prepare a frame: on {where} your function returned shape {answer.shape}; "
                f"the model takes ({size}, {size}, 3)."
            )
        want = preprocess.prepare(frame, size, **card)
        if np.abs(answer - want).mean() <= PREPARE_TOLERANCE:
            continue
        for change, hint in _PREPARE_MISTAKES:
            wrong = preprocess.prepare(frame, size, **{**card, **change})
            low, high = preprocess.SCALE_RANGES[change.get("scale", card["scale"])]
            span = high - low  # the tolerance, in the pixel units of the mistaken range
            if np.abs(answer - wrong).mean() <= PREPARE_TOLERANCE * span:
                raise CheckFailed(f"prepare a frame: on {where}, {hint}")
        raise CheckFailed(
            f"prepare a frame: on {where} your input differs from the model card's by "
            f"{np.abs(answer - want).mean():.3f} on average (allowed: {PREPARE_TOLERANCE}). "
            "Check each step: centre square, bilinear resize to 24, RGB, x / 255."
        )
    print("Correct: prepare a frame (2 frames checked).")
