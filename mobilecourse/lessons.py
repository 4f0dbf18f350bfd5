"""The lessons: where the notebooks are, their teaching order, and choosing some of them.

Imported by the slides, the release, the CLI and ``make bench``; no TensorFlow import.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

__all__ = ["MEASURING_CALL", "NOTEBOOK_DIR", "lesson_paths", "select_lessons"]

#: The repository's ``notebooks/`` folder, found from the package location.
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def lesson_paths(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The lesson notebooks ``NN_name.ipynb`` in teaching order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


#: A call that trains or times a model. A lesson whose code makes one prints numbers that
#: depend on the CPU, the thread count and the seed (README, "What nbval compares").
MEASURING_CALL = re.compile(
    r"\b(fit|distill|search|time_variants|measure|check_design|invoke_times|accuracy_over_seeds"
    r"|measure_roof|measure_latency_table|proxy_accuracy)\("
)


def select_lessons(spec: str | None, paths: Sequence[Path] | None = None) -> list[Path]:
    """The lessons named by ``spec``, their number prefixes separated by commas.

    Args:
        spec: e.g. ``"02,07"``; ``None`` for every lesson.
        paths: the lessons to choose from (default :func:`lesson_paths`).

    Raises:
        ValueError: an empty or malformed ``spec``, a number with no lesson, or no
            lessons at all.
    """
    paths = lesson_paths() if paths is None else list(paths)
    if not paths:
        raise ValueError(f"no lesson notebooks NN_*.ipynb in {NOTEBOOK_DIR}")
    if spec is None:
        return paths
    by_number = {p.stem.split("_", 1)[0]: p for p in paths}
    wanted = [part.strip() for part in str(spec).split(",")]
    if not all(part.isdigit() for part in wanted):
        raise ValueError(f"--lessons must be lesson numbers separated by commas, got {spec!r}")
    numbers = sorted({part.zfill(2) for part in wanted})
    missing = [n for n in numbers if n not in by_number]
    if missing:
        raise ValueError(
            f"no lesson {', '.join(missing)} in {NOTEBOOK_DIR}; "
            f"the lessons are {', '.join(sorted(by_number))}"
        )
    return [by_number[n] for n in numbers]
