"""The measurements behind ``make bench``: lessons run headless, probes, machine, sizes.

``make bench`` (``python -m mobilecourse bench``) runs
:func:`mobilecourse.bench_report.run_bench`, which measures with this module, in one run:

* the wall time of every lesson executed headless (:func:`run_lesson`), against the
  targets :data:`LESSON_TARGET_SECONDS` and :data:`TOTAL_TARGET_SECONDS`;
* what the lessons themselves measured in that run: when a lesson listed in
  :data:`PROBES` is executed, one extra code cell (a *probe*, appended in memory; the
  notebook file is never written) evaluates an expression over names the lesson defined
  and prints one line ``PROBE_MARKER + json``, parsed back by :func:`read_probe`;
* our profiler against TensorFlow's ``tf.compat.v1.profiler`` on MobileNetV2-224
  (:func:`mobilecourse.crosscheck.compare_profilers`);
* the size of the installed environment (:func:`environment_size`).

It also runs lessons perturbed (another seed, fewer CPUs: :func:`perturbed`) for ``python
-m mobilecourse perturb``. The lesson list lives in :mod:`mobilecourse.lessons` and the
timing protocol in :mod:`mobilecourse.timing`.

Measuring, aggregating and formatting are kept apart: the functions here measure and
return dataclasses or dicts; :mod:`mobilecourse.bench_report` aggregates and formats
them. Conventions: MACs are multiply-accumulates, FLOPs = 2 x MACs; sizes in binary
units (KiB, MiB).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mobilecourse._validate import integer
from mobilecourse.cache import machine_info

# What lessons and students use from this module lives in its own modules; the names are
# kept here so that lesson code such as ``bench.time_variants(...)`` reads the same.
from mobilecourse.lessons import MEASURING_CALL, NOTEBOOK_DIR, lesson_paths, select_lessons
from mobilecourse.timing import MIN_CALL_MS, MIN_ROUNDS, Timing, time_variants, timing_table

__all__ = [
    "LESSON_TARGET_SECONDS",
    "MEASURING_CALL",
    "MIN_CALL_MS",
    "MIN_ROUNDS",
    "NOTEBOOK_DIR",
    "PROBES",
    "PROBE_MARKER",
    "TOTAL_TARGET_SECONDS",
    "LessonRun",
    "Timing",
    "cpu_subset",
    "directory_bytes",
    "environment_size",
    "environment_variable",
    "error_line",
    "execute_notebook",
    "git_commit",
    "largest_distributions",
    "lesson_paths",
    "machine_info",
    "perturbed",
    "probe_cell_source",
    "read_probe",
    "run_lesson",
    "run_notebook",
    "select_lessons",
    "time_variants",
    "timing_table",
    "versions",
]


def cpu_subset(cpus: int) -> set[int]:
    """The first ``cpus`` CPUs this process may run on (Linux), for a run on fewer cores.

    Raises:
        ValueError: ``cpus`` is not a positive integer, is more than this process may
            use, or the platform cannot pin a process to CPUs.
    """
    cpus = integer(cpus, "cpus")
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError(f"cpus: pinning to CPUs needs Linux, not {platform.system()}")
    allowed = sorted(os.sched_getaffinity(0))
    if cpus > len(allowed):
        raise ValueError(f"cpus must be at most {len(allowed)} here, got {cpus}")
    return set(allowed[:cpus])


@contextlib.contextmanager
def environment_variable(name: str, value: str | None):
    """Within the block, ``os.environ[name]`` is ``value`` (unchanged if ``None``).

    A kernel started inside inherits it; the old value (or its absence) is restored.
    """
    saved = os.environ.get(name)
    try:
        if value is not None:
            os.environ[name] = value
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


@contextlib.contextmanager
def perturbed(seed: int | None = None, cpus: int | None = None):
    """Within the block, kernels started by this process get another seed or fewer CPUs.

    Sets ``MOBILECOURSE_SEED`` (read by :func:`mobilecourse.setup_notebook`) and pins this
    process to :func:`cpu_subset` ``(cpus)``; a kernel started inside inherits both, so
    TensorFlow sizes its thread pools for those CPUs. Both are restored afterwards.
    """
    from mobilecourse import SEED_ENV

    value = None if seed is None else str(integer(seed, "seed", 0))
    subset = cpu_subset(cpus) if cpus is not None else None
    saved_cpus = os.sched_getaffinity(0) if subset is not None else None
    with environment_variable(SEED_ENV, value):
        try:
            if subset is not None:
                os.sched_setaffinity(0, subset)
            yield
        finally:
            if saved_cpus is not None:
                os.sched_setaffinity(0, saved_cpus)


def execute_notebook(
    path: Path,
    timeout: int = 600,
    extra_cells: Sequence[str] = (),
    seed: int | None = None,
    cpus: int | None = None,
):
    """Execute a notebook headless in its own folder, without saving it.

    Args:
        path: the ``.ipynb`` file.
        timeout: seconds allowed per cell.
        extra_cells: sources of code cells appended (in memory only) after the last cell.
        seed: run the kernel with ``MOBILECOURSE_SEED`` set to this (:func:`perturbed`).
        cpus: run the kernel on this many CPUs (:func:`perturbed`); ``None`` for all.

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
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    client = NotebookClient(
        nb,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport notice on stderr
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    with perturbed(seed, cpus):
        launch = {}
        if cpus is not None:
            # Pinning this thread is not enough: the client may start the kernel from
            # another thread (one with its own event loop), whose affinity the kernel
            # would inherit. The kernel pins itself between fork and exec instead.
            launch["preexec_fn"] = functools.partial(os.sched_setaffinity, 0, cpu_subset(cpus))
        client.execute(**launch)
    return nb, time.perf_counter() - start


def run_notebook(path: Path, timeout: int = 600) -> float:
    """Execute a notebook headless (:func:`execute_notebook`); return its wall time in seconds."""
    return execute_notebook(path, timeout)[1]


# ------------------------------------------------------------------ the bench report

#: Target wall time of one lesson executed headless on 2 cores, in seconds.
LESSON_TARGET_SECONDS = 90
#: Target wall time of all lessons together on 2 cores, in seconds.
TOTAL_TARGET_SECONDS = 420

#: Start of the one line a probe cell prints; the JSON follows on the same line.
PROBE_MARKER = "@@mobilecourse-bench-probe@@"

#: What the bench reads from a lesson it executes: lesson stem -> a Python expression
#: over names the lesson defined, evaluated in the lesson's kernel after its last cell.
#: Its value must be JSON-able once NumPy scalars and arrays are made plain.
PROBES: dict[str, str] = {
    "02_depthwise_separable": (
        'measured[["MAC ratio (x)", "measured speed-up (x)", "standard ms", "separable ms", '
        '"spread (% of median)"]].to_dict(orient="index")'
    ),
    "04_group_conv_and_shuffle": (
        'measured[["MACs vs ResNet", "traffic vs ResNet", "latency (ms)", "spread (ms)", '
        '"latency vs ResNet"]].to_dict(orient="index")'
    ),
    "06_pruning": (
        '{"baseline test accuracy (%)": base_acc, '
        '"one-shot 50 %, by layer (%)": curve.loc[0.5, "layer"], '
        '"one-shot 50 %, BatchNorm re-estimated (%)": '
        'curve.loc[0.5, "layer + BatchNorm re-estimated"], '
        '"mean drop at 80 %, 9-weight-filter layers (points)": small[0.8].mean(), '
        '"mean drop at 80 %, other layers (points)": large[0.8].mean(), '
        '"least sensitive at 80 %": ", ".join(drop[0.8].sort_values().index[:2]), '
        '"gradual pruning to 80 % (%)": sparse_acc, '
        '"filter-pruned, fine-tuned (%)": slim_acc, '
        '"80 % sparse vs dense time": '
        'timings["80 % sparse"].median_ms / timings["dense"].median_ms, '
        '"filter-pruned vs dense time": '
        'timings["50 % filters removed"].median_ms / timings["dense"].median_ms}'
    ),
    "07_quantization": (
        '{"table": table[["size (KiB)", "size ratio", "test accuracy", "LiteRT ms per image"]]'
        '.to_dict(orient="index"), '
        '"v2_latency_ms": v2_latency, '
        '"v2_spread_ms": {mode: t.spread_ms for mode, t in v2_timings.items()}, '
        '"v2_size_ratio": v2_ratio, '
        '"v2_bytes": {mode: len(flatbuffer) for mode, flatbuffer in v2_files.items()}}'
    ),
    "08_deploy_capstone": "capstone_summary",
    "09_deploy_in_practice": (
        '{"model card accuracy (%)": right, '
        '**{f"cost of {k} (points)": right - v for k, v in mistakes.items() if k != "model card"}, '
        '**{f"{m}, {k} per class (%)": mean[m][k] for m in mean for k in mean[m]}, '
        '"flicker, frame by frame (%)": flicker.iloc[0], '
        '"flicker, collective confidence (%)": flicker.iloc[1], '
        '"MobileNetV2-224 float32, 1 thread (ms)": one, '
        '"MobileNetV2-224 float32, 2 threads (ms)": two, '
        '"cloud floor, 150 ms round trip, 1 Mbit/s (ms)": one_mbit}'
    ),
}

_PROBE_TEMPLATE = """\
import json as _bench_json


def _bench_plain(value):
    for method in ("tolist", "item"):  # NumPy arrays and scalars
        if hasattr(value, method):
            return getattr(value, method)()
    raise TypeError(f"{{type(value).__name__}} is not JSON-able")


try:
    _bench_result = {{"value": eval({expression!r}, globals())}}
    _bench_line = _bench_json.dumps(_bench_result, default=_bench_plain)
except Exception as _bench_error:
    _bench_message = str(_bench_error).strip().splitlines()
    _bench_line = _bench_json.dumps(
        {{"error": ": ".join([type(_bench_error).__name__, *_bench_message[:1]])}}
    )
print({marker!r} + _bench_line)
"""


#: Start of the line the memory cell prints; the peak resident memory in bytes follows.
MEMORY_MARKER = "@@mobilecourse-bench-peak-rss@@"

#: The cell the bench appends last: the kernel's peak resident set size, and that of the
#: largest process it started and waited for (``getrusage`` reports KiB on Linux, bytes on
#: macOS; Windows has no ``resource`` module, so nothing is printed there).
MEMORY_CELL = f"""\
try:
    import resource as _bench_resource
    import sys as _bench_sys
except ImportError:
    pass
else:
    _bench_peak = max(
        _bench_resource.getrusage(_bench_resource.RUSAGE_SELF).ru_maxrss,
        _bench_resource.getrusage(_bench_resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print({MEMORY_MARKER!r} + str(_bench_peak * (1 if _bench_sys.platform == "darwin" else 1024)))
"""


def memory_per_student(peaks: Sequence[int]) -> int:
    """Memory (bytes) to give each student on a hub: two kernels at the largest lesson's
    peak (the previous lesson is often left running), rounded up to half a GiB.

    Args:
        peaks: peak resident memory of each lesson's kernel, in bytes.

    Raises:
        TypeError: a peak is not an integer.
        ValueError: ``peaks`` is empty or holds a peak below 1.
    """
    peaks = [integer(peak, "each of peaks") for peak in peaks]
    if not peaks:
        raise ValueError("peaks must hold at least one lesson's peak, got none")
    half_gib = 1024**3 // 2
    return -(-2 * max(peaks) // half_gib) * half_gib


def read_peak_rss(notebook) -> int | None:
    """The peak resident memory (bytes) :data:`MEMORY_CELL` printed, or ``None``."""
    for line in _marked_lines(notebook, MEMORY_MARKER):
        return int(line)
    return None


def _marked_lines(notebook, marker: str) -> list[str]:
    """What follows ``marker`` on the stdout lines of the notebook's appended cells."""
    lines = []
    for cell in notebook.cells[-2:]:  # the probe and memory cells are appended last
        text = "".join(
            out.get("text", "")
            for out in cell.get("outputs", [])
            if out.get("output_type") == "stream" and out.get("name") == "stdout"
        )
        lines += [line[len(marker) :] for line in text.splitlines() if line.startswith(marker)]
    return lines


def probe_cell_source(expression: str) -> str:
    """The source of the probe cell that prints ``expression``'s value as one JSON line.

    The cell never raises: an exception while evaluating or encoding ``expression`` is
    printed as ``{"error": "Type: message"}`` instead of ``{"value": ...}``.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f"expression must be a non-empty string, got {expression!r}")
    return _PROBE_TEMPLATE.format(expression=expression, marker=PROBE_MARKER)


def _finite(value):
    """``value`` with every non-finite float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def read_probe(notebook) -> tuple[object, str | None]:
    """Parse the probe line from an executed notebook's appended cells.

    Returns:
        ``(value, error)``: the probed value (non-finite floats as ``None``) and
        ``None``, or ``None`` and a one-line error.
    """
    for line in _marked_lines(notebook, PROBE_MARKER):
        try:
            result = json.loads(line)
        except ValueError as err:
            return None, f"probe output is not JSON: {err}"
        if "error" in result:
            return None, str(result["error"])
        return _finite(result["value"]), None
    return None, "the probe cell printed no probe line"


@dataclass(frozen=True)
class LessonRun:
    """One lesson executed headless by the bench.

    Attributes:
        stem: the notebook's name without ``.ipynb``.
        seconds: wall time (kernel start, every cell and the probe cell; up to the
            failing cell if one raised).
        error: one line if a cell of the lesson raised (or timed out), else ``None``.
        probe: the expression probed, or ``None`` if the lesson has no probe.
        probe_value: the probed value, if the probe ran and succeeded.
        probe_error: one line if the probe failed, else ``None``.
        peak_rss: the kernel's peak resident memory in bytes (:data:`MEMORY_CELL`), or
            ``None`` if a cell raised or the platform has no ``getrusage``.
    """

    stem: str
    seconds: float
    error: str | None = None
    probe: str | None = None
    probe_value: object = None
    probe_error: str | None = None
    peak_rss: int | None = None


#: Colour codes in the tracebacks of a kernel.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_line(err: BaseException) -> str:
    """One line for an exception, or for a cell's error: its type, message, and for a cell
    the source line that raised (an ``assert`` has no message of its own)."""
    name = getattr(err, "ename", None) or type(err).__name__
    message = getattr(err, "evalue", None) if getattr(err, "ename", None) else str(err)
    lines = str(message or "").strip().splitlines()
    text = f"{name}: {lines[0]}" if lines else name
    pointed = [
        line.split("--->", 1)[1].strip()
        for line in _ANSI.sub("", str(getattr(err, "traceback", "") or "")).splitlines()
        if "--->" in line
    ]
    if pointed:
        source = pointed[-1].split(None, 1)[-1]  # drop the line number
        text += f" (at: {source})"
    return text


def run_lesson(
    path: Path,
    probe: str | None = None,
    timeout: int = 600,
    seed: int | None = None,
    cpus: int | None = None,
) -> LessonRun:
    """Execute one lesson headless, with ``probe`` (an expression) evaluated after it and
    the kernel's peak memory read last (:data:`MEMORY_CELL`).

    A cell that raises does not raise here: it is recorded in ``LessonRun.error`` (and
    the probe is then not run). ``seed`` and ``cpus`` are :func:`execute_notebook`'s.
    """
    path = Path(path)
    extra = (() if probe is None else (probe_cell_source(probe),)) + (MEMORY_CELL,)
    start = time.perf_counter()
    try:
        notebook, seconds = execute_notebook(path, timeout, extra, seed, cpus)
    except Exception as err:  # a lesson cell raised, timed out or the kernel died
        return LessonRun(path.stem, time.perf_counter() - start, error_line(err), probe)
    peak = read_peak_rss(notebook)
    if probe is None:
        return LessonRun(path.stem, seconds, peak_rss=peak)
    value, probe_error = read_probe(notebook)
    return LessonRun(path.stem, seconds, None, probe, value, probe_error, peak)


# ---------------------------------------------------------------- environment size


def directory_bytes(folder: Path) -> int:
    """Total size of the regular files under ``folder``, in bytes (symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:  # removed while walking
                continue
            if not os.path.islink(os.path.join(root, name)):
                total += info.st_size
    return total


def largest_distributions(paths: Sequence[Path | str], top: int = 10) -> list[dict]:
    """The ``top`` installed distributions under ``paths`` with the most bytes on disk.

    A distribution's size is the sum of the sizes of the files its ``RECORD`` lists that
    exist (found with ``importlib.metadata``).

    Returns:
        ``[{"name", "version", "bytes"}, ...]``, largest first.
    """
    from importlib import metadata

    integer(top, "top")
    sizes: dict[str, dict] = {}
    for dist in metadata.distributions(path=[str(p) for p in paths]):
        name = dist.metadata["Name"]
        if not name or name.lower() in sizes:
            continue
        total = 0
        for file in dist.files or ():
            located = Path(dist.locate_file(file))
            if located.is_file() and not located.is_symlink():
                total += located.stat().st_size
        sizes[name.lower()] = {"name": name, "version": dist.version, "bytes": total}
    return sorted(sizes.values(), key=lambda d: (-d["bytes"], d["name"].lower()))[:top]


def environment_size(
    prefix: Path | str | None = None, node_modules: Path | str | None = None, top: int = 10
) -> dict:
    """Bytes of the installed environment: the venv, ``slides/node_modules``, top packages.

    Args:
        prefix: the environment's root (default ``sys.prefix``).
        node_modules: the slides' npm folder (default ``slides/node_modules`` of the
            repository); reported as ``None`` if absent.
        top: how many of the largest distributions to list.
    """
    prefix = Path(sys.prefix if prefix is None else prefix)
    if node_modules is None:
        node_modules = NOTEBOOK_DIR.parent / "slides" / "node_modules"
    node_modules = Path(node_modules)
    import site

    site_packages = [p for p in site.getsitepackages([str(prefix)]) if Path(p).is_dir()]
    return {
        "prefix": str(prefix),
        "prefix_bytes": directory_bytes(prefix),
        "node_modules": str(node_modules),
        "node_modules_bytes": directory_bytes(node_modules) if node_modules.is_dir() else None,
        "site_packages": site_packages,
        "largest_distributions": largest_distributions(site_packages, top),
    }


# ---------------------------------------------------------------- machine and versions


def versions() -> dict:
    """Versions of Python and of the packages the lessons measure with (``None`` if absent)."""
    from importlib import metadata

    def version(*names: str) -> str | None:
        for name in names:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return None

    from mobilecourse import __version__

    return {
        "python": platform.python_version(),
        "tensorflow": version("tensorflow-cpu", "tensorflow"),
        "keras": version("keras"),
        "ai-edge-litert": version("ai-edge-litert"),
        "numpy": version("numpy"),
        "mobilecourse": __version__,
    }


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the repository, or ``None`` (no git, not a work tree)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=NOTEBOOK_DIR.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None
