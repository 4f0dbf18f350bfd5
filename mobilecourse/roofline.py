"""The roofline of this machine: how fast a layer can run, from its arithmetic intensity.

A layer needs ``macs`` multiply-accumulates and moves ``traffic`` bytes (its input, its
parameters and its output, :func:`mobilecourse.costs.memory_traffic`). Its arithmetic
intensity is ``I = macs / traffic`` MACs per byte. A processor that does at most ``P`` MACs
per second and moves at most ``B`` bytes per second runs it at no more than

    attainable(I) = min(P, B * I)

(Williams, Waterman and Patterson 2009). Below the *ridge* ``I = P / B`` the layer waits for
memory, above it for arithmetic. :func:`measure_roof` measures ``P`` and ``B`` with LiteRT
probes on this machine (the runtime the course deploys with), :func:`layer_point` measures
one layer and places it under the roof. Timings follow the course's protocol
(:func:`mobilecourse.timing.time_variants`): they vary with the machine and its load, so a
lesson states what they show, never a number it typed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mobilecourse import costs
from mobilecourse._validate import integer, positive_number

__all__ = ["Point", "Roof", "attainable", "layer_point", "measure_roof", "probe_models"]

#: Bytes per float32 value: the course's float LiteRT files compute in float32.
FLOAT32_BYTES = 4


def attainable(intensity: float, peak_gmacs: float, bandwidth_gbs: float) -> float:
    """The roofline: the most GMAC/s a layer of ``intensity`` MACs per byte can reach.

    Formula:
        ``min(peak_gmacs, bandwidth_gbs * intensity)`` (GMAC/s, with GB = 1e9 bytes).

    Raises:
        ValueError: a non-positive argument.
    """
    intensity = positive_number(intensity, "intensity")
    peak_gmacs = positive_number(peak_gmacs, "peak_gmacs")
    bandwidth_gbs = positive_number(bandwidth_gbs, "bandwidth_gbs")
    return min(peak_gmacs, bandwidth_gbs * intensity)


@dataclass(frozen=True)
class Roof:
    """A measured roofline.

    Attributes:
        peak_gmacs: the highest throughput measured on a compute-bound probe, GMAC/s.
        bandwidth_gbs: the memory bandwidth measured on a streaming probe larger than the
            caches, GB/s (1e9 B/s).
        threads: interpreter threads used for the probes.
        cache_bandwidth_gbs: the same streaming probe on a tensor that fits in the caches
            (:data:`CACHE_STREAM_SHAPE`), or ``None`` if not measured. A layer whose data
            stays in the caches can run above the memory roof, up to this one.
    """

    peak_gmacs: float
    bandwidth_gbs: float
    threads: int = 1
    cache_bandwidth_gbs: float | None = None

    def __post_init__(self):
        positive_number(self.peak_gmacs, "peak_gmacs")
        positive_number(self.bandwidth_gbs, "bandwidth_gbs")
        integer(self.threads, "threads")
        if self.cache_bandwidth_gbs is not None:
            positive_number(self.cache_bandwidth_gbs, "cache_bandwidth_gbs")

    @property
    def ridge(self) -> float:
        """The intensity (MACs per byte) where the two roofs meet: ``peak / bandwidth``."""
        return self.peak_gmacs / self.bandwidth_gbs

    def attainable(self, intensity: float, level: str = "memory") -> float:
        """:func:`attainable` under this roof, GMAC/s.

        Args:
            intensity: MACs per byte.
            level: ``"memory"`` (data streamed from DRAM) or ``"cache"`` (data that stays
                in the caches; needs ``cache_bandwidth_gbs``).

        Raises:
            ValueError: an unknown ``level``, or ``"cache"`` on a roof without it.
        """
        if level == "memory":
            return attainable(intensity, self.peak_gmacs, self.bandwidth_gbs)
        if level == "cache" and self.cache_bandwidth_gbs is not None:
            return attainable(intensity, self.peak_gmacs, self.cache_bandwidth_gbs)
        if level == "cache":
            raise ValueError("level='cache' needs a roof measured with cache_bandwidth_gbs")
        raise ValueError(f"level must be 'memory' or 'cache', got {level!r}")


@dataclass(frozen=True)
class Point:
    """One layer placed under the roof.

    Attributes:
        name: the layer's label.
        macs: multiply-accumulates per image.
        traffic_bytes: bytes it moves per image (float32).
        ms: measured median time of one call of ``batch`` images.
        batch: images per call.
    """

    name: str
    macs: int
    traffic_bytes: int
    ms: float
    batch: int

    @property
    def intensity(self) -> float:
        """MACs per byte moved."""
        return self.macs / self.traffic_bytes

    @property
    def gmacs(self) -> float:
        """Measured throughput, GMAC/s."""
        return self.macs * self.batch / (self.ms * 1e6)


def _layer_model(kind: str, input_shape, filters: int, kernel_size: int):
    """A one-layer Keras model: ``"conv"``, ``"depthwise"`` or ``"add"`` (input + 1)."""
    import keras

    inputs = keras.Input(tuple(input_shape))
    if kind == "conv":
        x = keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(inputs)
    elif kind == "depthwise":
        x = keras.layers.DepthwiseConv2D(kernel_size, padding="same", use_bias=False)(inputs)
    else:
        x = keras.layers.Rescaling(1.0, offset=1.0)(inputs)
    return keras.Model(inputs, x)


def _cost(kind: str, input_shape, filters: int, kernel_size: int) -> costs.LayerCost:
    if kind == "conv":
        return costs.conv2d(input_shape, filters, kernel_size, use_bias=False)
    return costs.depthwise_conv2d(input_shape, kernel_size, use_bias=False)


#: The probes of :func:`measure_roof`: compute-bound convolutions (intensity far above any
#: CPU's ridge) and one streaming layer (4 million float32 values in, 4 million out: 32 MB,
#: more than the caches of a laptop CPU).
COMPUTE_PROBES = (
    ("conv 1x1, 14x14x512 -> 512", (14, 14, 512), 512, 1),
    ("conv 1x1, 28x28x256 -> 256", (28, 28, 256), 256, 1),
    ("conv 3x3, 14x14x256 -> 256", (14, 14, 256), 256, 3),
)
STREAM_SHAPE = (1024, 1024, 4)
#: The cache-resident stream: 128 Ki float32 values in and out, 1 MiB in all.
CACHE_STREAM_SHAPE = (256, 256, 2)


def probe_models():
    """The probes' Keras models: ``{name: model}``: compute probes, ``"stream"``, ``"cache"``."""
    models = {
        name: _layer_model("conv", shape, filters, k) for name, shape, filters, k in COMPUTE_PROBES
    }
    models["stream"] = _layer_model("add", STREAM_SHAPE, 0, 0)
    models["cache"] = _layer_model("add", CACHE_STREAM_SHAPE, 0, 0)
    return models


def measure_roof(threads: int = 1, rounds: int = 5, runs: int = 5) -> Roof:
    """Measure this machine's roof with LiteRT: peak GMAC/s and memory bandwidth.

    The peak is the best median throughput of :data:`COMPUTE_PROBES`; a bandwidth is a
    streaming probe's bytes (read the input, write the output: 2 x 4 B per value) over its
    median time, once on a tensor larger than the caches (:data:`STREAM_SHAPE`, the memory
    roof) and once on one that fits in them (:data:`CACHE_STREAM_SHAPE`, the cache roof).
    All probes are timed together by the course's protocol.

    Args:
        threads: interpreter threads (1 = one core).
        rounds: alternating rounds (>= 3).
        runs: timed calls per round.

    Returns:
        A :class:`Roof`.

    Raises:
        ValueError: a bad ``threads``, ``rounds`` or ``runs``.
    """
    from mobilecourse.timing import time_variants

    integer(threads, "threads")
    timings = time_variants(probe_models(), threads=threads, rounds=rounds, runs=runs)
    peak = max(
        _cost("conv", shape, filters, k).macs / (timings[name].median_ms * 1e6)
        for name, shape, filters, k in COMPUTE_PROBES
    )
    bandwidth = {
        name: 2 * math.prod(shape) * FLOAT32_BYTES / (timings[name].median_ms * 1e6)
        for name, shape in (("stream", STREAM_SHAPE), ("cache", CACHE_STREAM_SHAPE))
    }
    return Roof(peak, bandwidth["stream"], threads, cache_bandwidth_gbs=bandwidth["cache"])


def layer_point(
    name: str,
    kind: str,
    input_shape,
    filters: int | None = None,
    kernel_size: int = 3,
    *,
    timing=None,
    batch: int = 1,
) -> Point:
    """A layer's MACs, traffic and (given its timing) measured throughput.

    Args:
        name: a label for the layer.
        kind: ``"conv"`` (standard or 1x1 convolution) or ``"depthwise"``.
        input_shape: ``(H, W, C)`` per image.
        filters: output channels of a ``"conv"`` (ignored for ``"depthwise"``).
        kernel_size: the kernel's side.
        timing: a :class:`mobilecourse.timing.Timing` of :func:`layer_model`'s model, or
            ``None`` for a point without a measurement (``ms`` = nan).
        batch: images per timed call (the timing's batch wins when given).

    Raises:
        ValueError: an unknown ``kind`` or a bad shape.
    """
    if kind not in ("conv", "depthwise"):
        raise ValueError(f"kind must be 'conv' or 'depthwise', got {kind!r}")
    cost = _cost(kind, input_shape, filters if kind == "conv" else 0, kernel_size)
    traffic = costs.memory_traffic(input_shape, cost) * FLOAT32_BYTES
    ms = timing.median_ms if timing is not None else float("nan")
    batch = timing.batch if timing is not None else integer(batch, "batch")
    return Point(str(name), cost.macs, traffic, ms, batch)


def layer_model(kind: str, input_shape, filters: int | None = None, kernel_size: int = 3):
    """The one-layer Keras model :func:`layer_point` describes (for timing it).

    Raises:
        ValueError: an unknown ``kind``.
    """
    if kind not in ("conv", "depthwise"):
        raise ValueError(f"kind must be 'conv' or 'depthwise', got {kind!r}")
    return _layer_model(kind, input_shape, filters or 0, kernel_size)
