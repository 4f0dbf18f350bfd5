"""Timing helpers behind ``make bench``: how long each lesson takes to run headless."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from mobilecourse._validate import integer

__all__ = [
    "NOTEBOOK_DIR",
    "Latency",
    "latency",
    "execute_notebook",
    "lesson_paths",
    "profile_seconds",
    "run_lessons",
    "run_notebook",
]

#: The repository's ``notebooks/`` folder, found from the package location.
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def lesson_paths(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The lesson notebooks ``NN_name.ipynb`` in teaching order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(path: Path, timeout: int = 600):
    """Execute a notebook headless in its own folder, without saving it.

    Returns:
        ``(notebook, seconds)``: the executed ``nbformat`` node and the wall time.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised.
    """
    import nbformat
    from nbclient import NotebookClient

    from mobilecourse import QUIET_TF_ENV

    os.environ.update(QUIET_TF_ENV)
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport notice on stderr
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def run_notebook(path: Path, timeout: int = 600) -> float:
    """Execute a notebook headless (:func:`execute_notebook`); return its wall time in seconds."""
    return execute_notebook(path, timeout)[1]


def run_lessons(paths: list[Path] | None = None, out=print) -> dict[str, float]:
    """Run every lesson, print a line per lesson and the total; return seconds by name."""
    paths = lesson_paths() if paths is None else paths
    if not paths:
        raise FileNotFoundError(f"no lesson notebooks NN_*.ipynb in {NOTEBOOK_DIR}")
    times: dict[str, float] = {}
    out(f"{'lesson':<32} {'wall time':>10}")
    for path in paths:
        times[path.stem] = run_notebook(path)
        out(f"{path.stem:<32} {times[path.stem]:>8.1f} s")
    out(f"{'total':<32} {sum(times.values()):>8.1f} s")
    return times


def profile_seconds(repeats: int = 5) -> float:
    """Median seconds ``profile_model`` takes on a built MobileNetV2-224 (build excluded)."""
    import statistics

    from mobilecourse import quiet_tensorflow

    quiet_tensorflow()
    from mobilecourse.models import mobilenet_v2
    from mobilecourse.profile import profile_model

    model = mobilenet_v2()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        profile_model(model)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Latency:
    """Measured LiteRT latency of one inference (batch 1), in milliseconds.

    Attributes:
        median_ms: median over the timed runs.
        p90_ms: 90th percentile over the timed runs.
        runs: timed runs (after the warm-up).
        threads: interpreter threads.
        tflite_bytes: size of the float32 ``.tflite`` file.
    """

    median_ms: float
    p90_ms: float
    runs: int
    threads: int
    tflite_bytes: int


def latency(model, input_shape=None, runs: int = 30, threads: int = 1, warmup: int = 3) -> Latency:
    """Convert a Keras model to float32 TFLite and time it with the LiteRT interpreter.

    Args:
        model: a built ``keras.Model``.
        input_shape: per-image input shape; defaults to the model's (which must be fixed).
        runs: timed inferences (>= 1).
        threads: interpreter threads (1 = one core, as the papers' phone numbers).
        warmup: untimed inferences first.

    Returns:
        A :class:`Latency`.

    Raises:
        ValueError: a bad ``runs``, ``threads``, ``warmup`` or ``input_shape``.
    """
    import numpy as np

    from mobilecourse import tflite

    for name, value, minimum in (("runs", runs, 1), ("threads", threads, 1), ("warmup", warmup, 0)):
        integer(value, name, minimum)
    model_shape = tuple(model.inputs[0].shape[1:])
    shape = model_shape if input_shape is None else tuple(input_shape)
    if (
        any(d is None for d in shape)
        or len(shape) != len(model_shape)
        or any(m is not None and m != s for m, s in zip(model_shape, shape, strict=True))
    ):
        raise ValueError(
            f"input_shape must match the model's input {model_shape}, got {input_shape!r}"
        )
    flatbuffer = tflite.to_tflite(model)
    interp = tflite.interpreter(flatbuffer, threads=threads)
    x = np.random.default_rng(0).standard_normal((1, *shape)).astype("float32")
    for _ in range(warmup):
        tflite.run(interp, x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        tflite.run(interp, x)
        times.append((time.perf_counter() - start) * 1000)
    return Latency(
        median_ms=float(np.median(times)),
        p90_ms=float(np.percentile(times, 90)),
        runs=runs,
        threads=threads,
        tflite_bytes=len(flatbuffer),
    )
