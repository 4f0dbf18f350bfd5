"""The ``make bench`` report: aggregate the measurements of :mod:`mobilecourse.bench`
and format them.

:func:`run_bench` measures everything in one run (with the functions of
:mod:`mobilecourse.bench`), :func:`collect_results` aggregates the measurements into one
JSON-able dict, :func:`render_markdown` formats that dict as ``bench.md`` and
:func:`write_json` writes it unchanged as ``bench.json`` (:func:`write_report` does both).
Conventions: MACs are multiply-accumulates, FLOPs = 2 x MACs; sizes in binary units
(KiB, MiB).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from mobilecourse import bench, crosscheck
from mobilecourse import lessons as lesson_list
from mobilecourse.cache import CACHE_ENV
from mobilecourse.units import MIB

__all__ = ["collect_results", "render_markdown", "run_bench", "write_json", "write_report"]


# ---------------------------------------------------------------- aggregation


def _records(table: dict, columns: Sequence[str]) -> list[list]:
    """Rows ``[index, *columns]`` from a ``DataFrame.to_dict(orient="index")`` value."""
    return [[label, *(row[c] for c in columns)] for label, row in table.items()]


def _ratio(numerator, denominator):
    if numerator is None or denominator in (None, 0):
        return None
    return numerator / denominator


def _depthwise_tables(value: dict) -> list[dict]:
    columns = [
        "layer",
        "theoretical speed-up = MAC ratio (x)",
        "measured speed-up (x)",
        "measured / theoretical",
        "standard ms",
        "separable ms",
        "spread (% of median)",
    ]
    rows = [
        [
            layer,
            row["MAC ratio (x)"],
            row["measured speed-up (x)"],
            _ratio(row["measured speed-up (x)"], row["MAC ratio (x)"]),
            row["standard ms"],
            row["separable ms"],
            row["spread (% of median)"],
        ]
        for layer, row in value.items()
    ]
    return [{"columns": columns, "rows": rows}]


def _shuffle_tables(value: dict) -> list[dict]:
    """Speed-ups relative to the first row, the ResNet stack (as the lesson's ratios)."""
    columns = [
        "model",
        "MACs vs ResNet",
        "theoretical speed-up (x)",
        "measured speed-up (x)",
        "traffic vs ResNet",
        "latency (ms)",
        "spread (ms)",
    ]
    reference_ms = next(iter(value.values()))["latency (ms)"] if value else None
    rows = [
        [
            label,
            row["MACs vs ResNet"],
            _ratio(1, row["MACs vs ResNet"]),
            _ratio(reference_ms, row["latency (ms)"]),
            row["traffic vs ResNet"],
            row["latency (ms)"],
            row["spread (ms)"],
        ]
        for label, row in value.items()
    ]
    return [{"columns": columns, "rows": rows}]


def _compression_tables(value: dict) -> list[dict]:
    columns = ["size (KiB)", "size ratio", "test accuracy", "LiteRT ms per image"]
    return [{"columns": ["variant", *columns], "rows": _records(value["table"], columns)}]


def _int8_tables(value: dict) -> list[dict]:
    ms, spread, sizes = value["v2_latency_ms"], value["v2_spread_ms"], value["v2_bytes"]
    rows = [
        [mode, sizes[mode], sizes[mode] / MIB, ms[mode], spread[mode]]
        for mode in ("float32", "int8")
    ]
    ratios = [
        ["int8 / float32 file size", value["v2_size_ratio"]],
        ["speed-up: float32 ms / int8 ms (x)", _ratio(ms["float32"], ms["int8"])],
    ]
    return [
        {
            "columns": [
                "mode",
                ".tflite bytes",
                ".tflite (MiB)",
                "LiteRT latency (ms)",
                "spread (ms)",
            ],
            "rows": rows,
        },
        {"columns": ["quantity", "value"], "rows": ratios},
    ]


def _figures_tables(value) -> list[dict]:
    """A lesson's dict of figures (names to numbers or text), as one key-value table."""
    if not isinstance(value, dict):
        raise TypeError(f"the probed figures must be a dict, got {type(value).__name__}")
    return [{"columns": ["key", "value"], "rows": [[str(k), v] for k, v in value.items()]}]


#: The report's sections built from the probes: (key, title, lesson stem, tables builder).
_SECTIONS: tuple[tuple[str, str, str, Callable[[object], list[dict]]], ...] = (
    (
        "depthwise_separable",
        "Depthwise separable: theoretical vs measured speed-up (lesson 02)",
        "02_depthwise_separable",
        _depthwise_tables,
    ),
    (
        "group_conv_and_shuffle",
        "Group convolution and shuffle: theoretical vs measured speed-up (lesson 04)",
        "04_group_conv_and_shuffle",
        _shuffle_tables,
    ),
    (
        "pruning",
        "Pruning: the figures lesson 06 asserts (lesson 06)",
        "06_pruning",
        _figures_tables,
    ),
    ("compression", "Compression table (lesson 07)", "07_quantization", _compression_tables),
    (
        "mobilenet_v2_int8",
        "MobileNetV2-224: int8 vs float32 (lesson 07)",
        "07_quantization",
        _int8_tables,
    ),
    ("capstone", "Capstone (lesson 08)", "08_deploy_capstone", _figures_tables),
    (
        "practice",
        "Deploy in practice: the figures lesson 09 asserts (lesson 09)",
        "09_deploy_in_practice",
        _figures_tables,
    ),
)


def _section(title, stem, build, runs: dict[str, bench.LessonRun], available: set[str]) -> dict:
    """One report section from the run of its lesson: tables, or why there are none."""
    section = {"title": title, "lesson": stem, "status": "ok", "error": None, "tables": []}
    run = runs.get(stem)
    if run is None:
        section["status"] = "not run"
        section["error"] = (
            "lesson not selected (--lessons)" if stem in available else "lesson does not exist yet"
        )
    elif run.error is not None:
        section["status"], section["error"] = "error", f"the lesson failed: {run.error}"
    elif run.probe_error is not None:
        section["status"], section["error"] = "error", f"probe failed: {run.probe_error}"
    else:
        try:
            section["tables"] = build(run.probe_value)
        except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError) as err:
            section["status"] = "error"
            section["error"] = f"unexpected probe value: {bench.error_line(err)}"
    return section


def collect_results(
    runs: Sequence[bench.LessonRun],
    profilers: dict | None,
    environment: dict | None,
    *,
    selection: str | None = None,
    available: Sequence[str] = (),
    machine: dict | None = None,
    versions_in_use: dict | None = None,
    commit: str | None = None,
    date: str | None = None,
    seed: int | None = None,
) -> dict:
    """Aggregate the measurements into the JSON-able results dict of the report.

    Args:
        runs: the lessons executed, in order.
        profilers: :func:`crosscheck.compare_profilers`'s dict (or ``{"error": ...}``).
        environment: :func:`bench.environment_size`'s dict (or ``{"error": ...}``).
        selection: the ``--lessons`` argument, ``None`` for every lesson.
        available: stems of every lesson notebook present.
        machine, versions_in_use, commit, date: defaults :func:`bench.machine_info`,
            :func:`bench.versions`, the git commit if known, and now (ISO 8601, UTC).
        seed: the ``MOBILECOURSE_SEED`` the lessons ran with (``None`` if not known).

    Returns:
        The dict :func:`render_markdown` formats and :func:`write_json` writes; its
        ``"errors"`` list is empty when everything ran.
    """
    by_stem = {run.stem: run for run in runs}
    lessons = [
        {
            "lesson": run.stem,
            "seconds": run.seconds,
            "over_target": run.seconds > bench.LESSON_TARGET_SECONDS,
            "error": run.error,
            "peak_rss_bytes": run.peak_rss,
        }
        for run in runs
    ]
    peaks = [run.peak_rss for run in runs if run.peak_rss is not None]
    total_seconds = sum(run.seconds for run in runs)
    sections = {
        key: _section(title, stem, build, by_stem, set(available))
        for key, title, stem, build in _SECTIONS
    }
    errors = [f"lesson {run.stem}: {run.error}" for run in runs if run.error]
    errors += [
        f"probe {run.stem}: {run.probe_error}" for run in runs if run.probe_error and not run.error
    ]
    errors += [
        f"section {s['title']}: {s['error']}"
        for s in sections.values()
        if s["status"] == "error" and s["error"].startswith("unexpected probe value")
    ]
    for name, part in (("profiler comparison", profilers), ("environment size", environment)):
        if part and "error" in part:
            errors.append(f"{name}: {part['error']}")
    return {
        "date": date or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit,
        "machine": bench.machine_info() if machine is None else machine,
        "versions": bench.versions() if versions_in_use is None else versions_in_use,
        "seed": seed,
        "lessons_run": [run.stem for run in runs],
        "selection": selection,
        "targets": {
            "lesson_seconds": bench.LESSON_TARGET_SECONDS,
            "total_seconds": bench.TOTAL_TARGET_SECONDS,
        },
        "lessons": lessons,
        "total_seconds": total_seconds,
        "total_over_target": total_seconds > bench.TOTAL_TARGET_SECONDS,
        "peak_rss_bytes": max(peaks, default=None),
        "memory_per_student_bytes": bench.memory_per_student(peaks) if peaks else None,
        "profilers": profilers,
        "experiments": sections,
        "environment": environment,
        "errors": errors,
    }


def run_bench(
    lessons: Sequence[Path],
    selection: str | None = None,
    out=print,
    timeout: int = 600,
    seed: int | None = None,
    cpus: int | None = None,
) -> dict:
    """Measure everything the report holds in one run; return :func:`collect_results`.

    Args:
        lessons: the lesson notebooks to execute (see :func:`select_lessons`).
        selection: the ``--lessons`` argument, recorded in the report.
        out: called with one progress line per lesson and per measurement.
        timeout: seconds allowed per cell.
        seed: run the lessons with ``MOBILECOURSE_SEED`` set to this (``None``: as set in
            the environment, else the lessons' default 0).
        cpus: run the lessons on this many CPUs (``None``: all); the report's machine
            section then counts these cores.
    """
    from mobilecourse import default_seed

    if cpus is not None:
        bench.cpu_subset(cpus)  # a bad value fails now, not after the first lesson
    default_seed()  # so does a bad MOBILECOURSE_SEED
    runs = []
    # The lessons share trained weights and converted files through a cache
    # (mobilecourse.cache). The bench starts it empty, as for a student who opens the
    # lessons for the first time: the first lesson that needs a result pays for it.
    with tempfile.TemporaryDirectory() as folder, bench.environment_variable(CACHE_ENV, folder):
        for path in lessons:
            run = bench.run_lesson(path, bench.PROBES.get(path.stem), timeout, seed, cpus)
            runs.append(run)
            status = f"   ERROR {run.error}" if run.error else ""
            status += f"   probe failed: {run.probe_error}" if run.probe_error else ""
            peak = "" if run.peak_rss is None else f" {run.peak_rss / MIB:>8,.0f} MiB peak"
            out(f"{run.stem:<32} {run.seconds:>8.1f} s{peak}{status}")
    out(f"{'total':<32} {sum(run.seconds for run in runs):>8.1f} s")
    try:
        profilers = crosscheck.compare_profilers()
        out(
            f"{'profile_model (MobileNetV2-224)':<32} {1000 * profilers['ours_seconds']:>8.1f} ms"
            f"   tf.compat.v1.profiler {1000 * profilers['tf_seconds']:.1f} ms"
        )
    except Exception as err:  # the report is still written
        profilers = {"error": bench.error_line(err)}
        out(f"profiler comparison failed: {profilers['error']}")
    try:
        environment = bench.environment_size()
        out(f"{'environment (sys.prefix)':<32} {environment['prefix_bytes'] / MIB:>8.1f} MiB")
    except Exception as err:
        environment = {"error": bench.error_line(err)}
        out(f"environment size failed: {environment['error']}")
    with bench.perturbed(seed, cpus):  # what the lessons had: their seed, their cores
        machine = bench.machine_info()
        lesson_seed = default_seed()
    return collect_results(
        runs,
        profilers,
        environment,
        selection=selection,
        available=[p.stem for p in lesson_list.lesson_paths()],
        machine=machine,
        commit=bench.git_commit(),
        seed=lesson_seed,
    )


# ---------------------------------------------------------------- formatting


def _decimals(value: float) -> int:
    """Decimals that show a float to about three significant digits (at most 3)."""
    size = abs(value)
    if size >= 1000:
        return 0
    if size >= 100:
        return 1
    if size >= 1 or size == 0:
        return 2
    return 3


def _format(value, decimals: int | None = None) -> str:
    """One table cell: thousands separators for ints, ``decimals`` (or 0 to 3) for floats."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{_decimals(value) if decimals is None else decimals}f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value).replace("|", "\\|")
    return str(value).replace("|", "\\|").replace("\n", " ")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _markdown_table(columns: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    """A Markdown table; numeric columns right-aligned, each float column one precision."""
    numeric, decimals = [], []
    for i in range(len(columns)):
        values = [row[i] for row in rows]
        numeric.append(bool(rows) and all(_is_number(v) or v is None for v in values))
        floats = [v for v in values if isinstance(v, float)]
        decimals.append(max(map(_decimals, floats)) if floats else None)
    lines = ["| " + " | ".join(columns) + " |"]
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    lines += [
        "| " + " | ".join(_format(v, d) for v, d in zip(row, decimals, strict=True)) + " |"
        for row in rows
    ]
    return lines


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _seed_text(seed) -> str:
    return "unknown" if seed is None else str(seed)


def _header(results: dict) -> list[str]:
    machine, v = results["machine"], results["versions"]
    ram = machine.get("ram_bytes")
    lessons = results["lessons_run"]
    selection = (
        f"all {len(lessons)}"
        if results["selection"] is None
        else f"{len(lessons)} (--lessons {results['selection']})"
    )
    return [
        "# mobilecourse bench",
        "",
        f"- date: {results['date']}",
        f"- git commit: {results['git_commit'] or 'unknown'}",
        f"- machine: {machine.get('cpu') or 'unknown CPU'}, {machine.get('cores')} usable cores, "
        + (f"{ram / 1024**3:.1f} GiB RAM" if ram else "RAM unknown")
        + f" ({machine.get('os')})",
        f"- versions: Python {v.get('python')}, TensorFlow {v.get('tensorflow')}, "
        f"Keras {v.get('keras')}, ai-edge-litert {v.get('ai-edge-litert')}, "
        f"NumPy {v.get('numpy')}, mobilecourse {v.get('mobilecourse')}",
        f"- lessons run: {selection}: {', '.join(lessons) or 'none'}",
        f"- seed (MOBILECOURSE_SEED): {_seed_text(results.get('seed'))}",
        f"- errors: {len(results['errors'])}",
        *[f"  - {error}" for error in results["errors"]],
    ]


def _lessons_part(results: dict) -> list[str]:
    targets = results["targets"]
    lines = [
        "",
        "## Wall time of the lessons (headless)",
        "",
        f"Targets: each lesson ≤ {targets['lesson_seconds']} s, "
        f"total ≤ {targets['total_seconds'] / 60:g} min ({targets['total_seconds']} s). "
        "Times include the kernel start and the bench's probe cell. The cache the lessons "
        "share (`mobilecourse.cache`: trained weights, converted files) starts empty: the "
        "first lesson that needs a result computes it, later ones load it. Peak memory is the "
        "kernel's peak resident set size (`getrusage`), or that of the largest process it "
        "started if larger.",
        "",
        "| lesson | wall time | target | status | peak memory |",
        "|---|---:|---:|---|---:|",
    ]
    for lesson in results["lessons"]:
        if lesson["error"]:
            status = f"ERROR: {_format(lesson['error'])}"
        elif lesson["over_target"]:
            status = f"**over {targets['lesson_seconds']} s**"
        else:
            status = "ok"
        lines.append(
            f"| {lesson['lesson']} | {_seconds(lesson['seconds'])} | "
            f"≤ {targets['lesson_seconds']} s | {status} | {_mib(lesson.get('peak_rss_bytes'))} |"
        )
    total_status = (
        f"**over {targets['total_seconds'] / 60:g} min**" if results["total_over_target"] else "ok"
    )
    if results["selection"] is not None:
        total_status += " (subset of the lessons)"
    lines.append(
        f"| **total** | {_seconds(results['total_seconds'])} | "
        f"≤ {targets['total_seconds']} s | {total_status} | "
        f"{_mib(results.get('peak_rss_bytes'))} (largest) |"
    )
    student = results.get("memory_per_student_bytes")
    if student is not None:
        lines += [
            "",
            f"Memory per student on a hub: {student / 1024**3:g} GiB, room for two kernels at "
            "the largest peak (a student who leaves the previous lesson running), rounded up "
            "to half a GiB.",
        ]
    return lines


def _mib(value) -> str:
    return "n/a" if value is None else f"{value / MIB:,.0f} MiB"


def _profilers_part(p: dict | None) -> list[str]:
    lines = ["", "## Profiler time: ours vs tf.compat.v1.profiler (MobileNetV2-224)", ""]
    if not p or "error" in p:
        return [*lines, f"Not measured: {(p or {}).get('error', 'not run')}"]
    shape = "x".join(str(d) for d in p["input_shape"])
    other = {op: n for op, n in p["tf_flops_by_op"].items() if op not in p["tf_kernel_ops"]}
    kernels = " + ".join(p["tf_kernel_ops"])
    same = "= 2 × our MACs" if p["tf_kernel_flops"] == p["flops"] else "≠ 2 × our MACs"
    lines += [
        f"Model `{p['model']}`, input {shape}, batch 1; median of {p['repeats']} runs each, "
        "model build excluded.",
        "",
        "| profiler | what is timed | time | count |",
        "|---|---|---:|---|",
        f"| mobilecourse `profile_model` | the profile of the built model "
        f"| {1000 * p['ours_seconds']:.1f} ms "
        f"| {p['macs']:,} MACs = {p['flops']:,} FLOPs (2 × MACs) |",
        f"| `tf.compat.v1.profiler` float_operation | getting a graph (trace a `tf.function` "
        f"and freeze it: {1000 * p['tf_graph_seconds']:.1f} ms) + profile "
        f"({1000 * p['tf_profile_seconds']:.1f} ms) | {1000 * p['tf_seconds']:.1f} ms "
        f"| {p['tf_flops']:,} FLOPs |",
        "",
        f"- TensorFlow takes {p['tf_over_ours']:.1f}× the time of ours.",
        f"- TensorFlow's FLOPs minus our FLOPs (2 × MACs): {p['tf_minus_ours_flops']:+,} "
        f"({100 * p['tf_minus_ours_flops'] / p['flops']:+.2f} % of ours).",
        f"- Its kernel ops ({kernels}) alone: {p['tf_kernel_flops']:,} FLOPs {same}; "
        "the rest is what our MAC count leaves out (bias adds, unfolded BatchNorm, residual "
        "adds, pooling, softmax): "
        + ", ".join(f"{op} {n:,}" for op, n in other.items() if n)
        + ".",
    ]
    return lines


def _experiments_part(experiments: dict) -> list[str]:
    lines = ["", "## Measured by the lessons in this run"]
    for section in experiments.values():
        lines += ["", f"### {section['title']}", ""]
        if section["status"] == "not run":
            lines.append(f"Not run: {section['error']}.")
        elif section["status"] == "error":
            lines.append(f"**Error:** {_format(section['error'])}")
        else:
            for i, table in enumerate(section["tables"]):
                if i:
                    lines.append("")
                lines += _markdown_table(table["columns"], table["rows"])
    return lines


def _environment_part(env: dict | None) -> list[str]:
    lines = ["", "## Size of the installed environment", ""]
    if not env or "error" in env:
        return [*lines, f"Not measured: {(env or {}).get('error', 'not run')}"]
    node = env["node_modules_bytes"]
    lines += [
        "Sizes are sums of regular file sizes (symlinks not followed), in MiB (2^20 bytes).",
        "",
        "| what | path | size (MiB) |",
        "|---|---|---:|",
        f"| virtual environment (sys.prefix) | `{env['prefix']}` "
        f"| {env['prefix_bytes'] / MIB:.1f} |",
        f"| slides/node_modules | `{env['node_modules']}` | "
        + (f"{node / MIB:.1f} |" if node is not None else "not present |"),
        "",
        f"Largest {len(env['largest_distributions'])} installed distributions:",
        "",
        "| distribution | version | size (MiB) |",
        "|---|---|---:|",
    ]
    lines += [
        f"| {d['name']} | {d['version']} | {d['bytes'] / MIB:.1f} |"
        for d in env["largest_distributions"]
    ]
    return lines


def render_markdown(results: dict) -> str:
    """The report as Markdown, formatted from :func:`collect_results`'s dict only."""
    lines = [
        *_header(results),
        *_lessons_part(results),
        *_profilers_part(results["profilers"]),
        *_experiments_part(results["experiments"]),
        *_environment_part(results["environment"]),
    ]
    return "\n".join(lines) + "\n"


def write_json(results: dict, path: Path | str) -> Path:
    """Write the results dict as strict JSON (indented, UTF-8); return the path."""
    path = Path(path)
    path.write_text(
        json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    return path


def write_report(results: dict, out_dir: Path | str) -> tuple[Path, Path]:
    """Write ``bench.md`` (:func:`render_markdown`) and ``bench.json`` (:func:`write_json`).

    Returns:
        The paths written, Markdown first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = out_dir / "bench.md"
    markdown.write_text(render_markdown(results), encoding="utf-8")
    return markdown, write_json(results, out_dir / "bench.json")
