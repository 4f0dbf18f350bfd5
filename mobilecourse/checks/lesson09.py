"""Checkers for lesson 09: from a model to an app."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mobilecourse import deploy, stream
from mobilecourse.checks._core import Mistake, check_function

__all__ = ["check_cloud_latency", "check_collective_confidence"]


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
