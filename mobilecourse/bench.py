"""Timing helpers behind ``make bench``: how long each lesson takes to run headless."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["NOTEBOOK_DIR", "lesson_paths", "profile_seconds", "run_lessons", "run_notebook"]

#: The repository's ``notebooks/`` folder, found from the package location.
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def lesson_paths(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The lesson notebooks ``NN_name.ipynb`` in teaching order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: Path, timeout: int = 600) -> float:
    """Execute a notebook headless in its own folder, without saving it; return seconds.

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
    return time.perf_counter() - start


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
