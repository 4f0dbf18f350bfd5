"""Turning the instructors' notebooks into the student release.

In the repository every exercise's solution cell (tagged ``solution``) holds
the reference solution between two marker lines. The student release keeps
the markers and replaces what lies between them with
``raise NotImplementedError``; the checkers then print "not attempted yet".

For a class graded with nbgrader, :func:`make_nbgrader_source` writes the lessons as
nbgrader *source* notebooks instead: each solution cell is an nbgrader solution cell, the
check cell after it a locked, autograded cell worth :data:`NBGRADER_POINTS`, and the
``nbgrader_config.py`` beside them tells nbgrader to cut solutions at the course's own
markers, so ``nbgrader generate_assignment`` gives the same stubs as the student release.
Under nbgrader (``NBGRADER_EXECUTION`` set) a checker raises for an exercise not attempted
(:func:`mobilecourse.checks.not_attempted`), so it scores 0.
"""

from __future__ import annotations

__all__ = [
    "END_MARKER",
    "NBGRADER_POINTS",
    "SOLUTION_TAG",
    "START_MARKER",
    "exercise_cells",
    "make_nbgrader_source",
    "make_release",
    "nbgrader_notebook",
    "release_notebook",
    "strip_solution",
]

SOLUTION_TAG = "solution"
START_MARKER = "# YOUR CODE STARTS HERE"
END_MARKER = "# YOUR CODE ENDS HERE"


def strip_solution(source: str) -> str:
    """Replace the code between each pair of markers with ``raise NotImplementedError``.

    The ``raise`` line takes the indentation of its start marker, so a marker
    pair inside a function body yields a function that raises when called.

    Args:
        source: a code cell's source.

    Returns:
        The source with every solution removed; unchanged if it has no markers.

    Raises:
        ValueError: a start marker without its end marker, or the reverse.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == START_MARKER:
            if inside:
                raise ValueError(f"source line {number}: {START_MARKER!r} inside another solution")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [line, f"{indent}raise NotImplementedError"]
        elif stripped == END_MARKER:
            if not inside:
                raise ValueError(f"source line {number}: {END_MARKER!r} without {START_MARKER!r}")
            inside = False
            out.append(line)
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"source: {START_MARKER!r} without {END_MARKER!r}")
    return "\n".join(out)


# ---------------------------------------------------------------- whole release


#: Checker calls mark the cell after a solution whose output tells whether it is right.
CHECK_CALL = "checks.check_"

#: The README written next to the released notebooks.
STUDENT_README = """\
# mobilecourse: student notebooks

Open these notebooks in JupyterLab (from the course repository: `make lab`, or
`jupyter lab` in this folder with the course's environment active) and work through
them in order.

Each exercise is a code cell between `# YOUR CODE STARTS HERE` and
`# YOUR CODE ENDS HERE` that raises `NotImplementedError` until you replace it with your
code. The cell after it checks your answer: it prints "not attempted yet" while the stub
is untouched, "Correct: ..." when your answer is right, and explains the mistake when it
is not. Every notebook runs top to bottom before you start.
"""


def _names(source: str) -> tuple[set[str], set[str]]:
    """``(bound, read)``: the names a cell's code binds at its top level, and reads anywhere.

    IPython's ``%`` and ``!`` lines are skipped; a cell that is not Python (a ``%%`` cell
    magic, a syntax error) binds and reads nothing.
    """
    import ast

    if source.lstrip().startswith("%%"):
        return set(), set()
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set(), set()

    def names(node, context):
        found = (n for n in ast.walk(node) if isinstance(n, ast.Name))
        return {n.id for n in found if isinstance(n.ctx, context)}

    bound = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        else:
            bound |= names(node, ast.Store)
    return bound, names(tree, ast.Load)


def release_notebook(notebook):
    """The student version of one lesson notebook (a new ``nbformat`` node).

    Every cell tagged :data:`SOLUTION_TAG` has its solution replaced by
    ``raise NotImplementedError`` (:func:`strip_solution`); that cell, every check cell
    (a code cell calling ``checks.check_...``) and every later code cell that reads a name
    a solution cell defines (it runs the student's code) lose their outputs and execution
    count, since those would show the reference answer. Everything else is kept as is,
    outputs included, so nbval still compares it (it compares nothing in a cell whose
    execution count is empty).

    Args:
        notebook: an ``nbformat.NotebookNode`` (it is not modified).

    Returns:
        The released copy.

    Raises:
        ValueError: a solution cell with unbalanced markers, or with no markers at all.
    """
    import copy

    released = copy.deepcopy(notebook)
    students = set()  # the names the solution cells define
    for index, cell in enumerate(released.cells):
        if cell.cell_type != "code":
            continue
        source = cell.source
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            if START_MARKER not in source:
                raise ValueError(
                    f"cell {index} is tagged {SOLUTION_TAG!r} but has no {START_MARKER!r} line"
                )
            cell.source = strip_solution(source)
            students |= _names(source)[0]
        elif CHECK_CALL not in source and not students & _names(source)[1]:
            continue
        cell.outputs = []
        cell.execution_count = None
    return released


def make_release(out_dir, source_dir) -> list:
    """Write the student release of every lesson in ``source_dir`` to ``out_dir``.

    Writes one released notebook per lesson (:func:`release_notebook`) and a short
    ``README.md``. Running it again gives byte-identical files (it overwrites the
    lesson notebooks it wrote before, so a student's edits in ``out_dir`` are lost).

    Args:
        out_dir: the release folder; created if missing.
        source_dir: the folder of the instructors' notebooks (``notebooks/``).

    Returns:
        The paths written, notebooks first, in teaching order.

    Raises:
        ValueError: ``out_dir`` is ``source_dir``, inside it, or contains it; or
            ``source_dir`` holds no lesson notebooks; or ``out_dir`` is an existing file.
    """
    from pathlib import Path

    import nbformat

    from mobilecourse.lessons import lesson_paths

    out = _checked_out_dir(out_dir, source_dir)
    lessons = lesson_paths(Path(source_dir).resolve())
    if not lessons:
        raise ValueError(f"source_dir {str(source_dir)!r} has no lesson notebooks NN_name.ipynb")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in lessons:
        released = release_notebook(nbformat.read(path, as_version=4))
        target = out / path.name
        target.write_text(nbformat.writes(released) + "\n", encoding="utf-8")
        written.append(target)
    readme = out / "README.md"
    readme.write_text(STUDENT_README, encoding="utf-8")
    written.append(readme)
    return written


def _checked_out_dir(out_dir, source_dir):
    """``out_dir`` resolved, once it is known not to overlap ``source_dir`` (not created)."""
    from pathlib import Path

    source = Path(source_dir).resolve()
    out = Path(out_dir).resolve()
    if out == source or source in out.parents:
        raise ValueError(
            f"out_dir {str(out_dir)!r} is the notebooks folder or inside it; the release "
            "must go elsewhere (e.g. build/student) so the solutions are never overwritten"
        )
    if out in source.parents:
        raise ValueError(
            f"out_dir {str(out_dir)!r} contains the notebooks folder {str(source)!r}; choose "
            "a separate folder (e.g. build/student)"
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir {str(out_dir)!r} exists and is not a folder")
    return out


# ---------------------------------------------------------------- nbgrader source

#: Points of each exercise's autograded check cell in the nbgrader export.
NBGRADER_POINTS = 1

#: The ``nbgrader_config.py`` written beside the source notebooks.
NBGRADER_CONFIG = f"""\
# nbgrader configuration of the mobilecourse lessons, written by
# `python -m mobilecourse release --format nbgrader`. Run nbgrader in this folder.
c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "mobilecourse"
# A solution lies between the course's own markers; the student copy keeps the markers
# around `raise NotImplementedError`, exactly as the course's student release does.
c.ClearSolutions.begin_solution_delimeter = {START_MARKER.lstrip("# ")!r}
c.ClearSolutions.end_solution_delimeter = {END_MARKER.lstrip("# ")!r}
c.ClearSolutions.code_stub = {{
    "python": {START_MARKER + chr(10) + "raise NotImplementedError" + chr(10) + END_MARKER!r}
}}
# Lessons train small models: allow a minute or more per cell on a slow machine.
c.Execute.timeout = 600
"""


def exercise_cells(notebook) -> list[tuple[int, int]]:
    """``(solution, check)`` cell indices of each exercise, in order.

    An exercise is a code cell tagged :data:`SOLUTION_TAG` and the check cell that
    follows it (the next code cell, which must call ``checks.check_...``).

    Raises:
        ValueError: a solution cell has no check cell right after it.
    """
    pairs = []
    cells = notebook.cells
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or SOLUTION_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        later = (i for i in range(index + 1, len(cells)) if cells[i].cell_type == "code")
        after = next(later, None)
        if after is None or CHECK_CALL not in cells[after].source:
            raise ValueError(
                f"cell {index} is tagged {SOLUTION_TAG!r} but the next code cell does not call "
                f"{CHECK_CALL}...: each exercise needs its check cell right after it"
            )
        pairs.append((index, after))
    return pairs


def nbgrader_notebook(notebook, points: int = NBGRADER_POINTS):
    """One lesson as an nbgrader source notebook (a new ``nbformat`` node).

    Each solution cell becomes an nbgrader solution cell (``exercise-K``), its solution
    still between the course's markers, and the check cell after it a locked autograded
    cell worth ``points`` (``exercise-K-check``). Outputs are kept; nbgrader clears them in
    the copy it releases.

    Args:
        notebook: an ``nbformat.NotebookNode`` (it is not modified).
        points: points of each exercise, a positive integer.

    Raises:
        TypeError: ``points`` is not an integer.
        ValueError: ``points`` is not positive; the notebook has no exercise; a solution
            cell has unbalanced markers or no check cell after it.
    """
    import copy

    from mobilecourse._validate import integer

    points = integer(points, "points")
    source = copy.deepcopy(notebook)
    pairs = exercise_cells(source)
    if not pairs:
        raise ValueError("the notebook has no exercise (no cell tagged 'solution')")
    for number, (solution, check) in enumerate(pairs, start=1):
        strip_solution(source.cells[solution].source)  # raises on unbalanced markers
        grade_id = f"exercise-{number}"
        source.cells[solution].metadata["nbgrader"] = {
            "grade": False,
            "grade_id": grade_id,
            "locked": False,
            "schema_version": 3,
            "solution": True,
            "task": False,
        }
        source.cells[check].metadata["nbgrader"] = {
            "grade": True,
            "grade_id": f"{grade_id}-check",
            "locked": True,
            "points": points,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
    return source


def make_nbgrader_source(out_dir, source_dir, lessons=None, points: int = NBGRADER_POINTS):
    """Write the lessons as an nbgrader course folder: ``source/NN_name/NN_name.ipynb`` for
    each lesson with exercises (:func:`nbgrader_notebook`) and ``nbgrader_config.py``.

    Args:
        out_dir: the nbgrader course folder; created if missing.
        source_dir: the folder of the instructors' notebooks (``notebooks/``).
        lessons: lesson paths to export (default: every lesson in ``source_dir``).
        points: points of each exercise.

    Returns:
        The paths written: the notebooks in teaching order, then the configuration.

    Raises:
        ValueError: as :func:`make_release` for the folders; as :func:`nbgrader_notebook`.
    """
    from pathlib import Path

    import nbformat

    from mobilecourse.lessons import lesson_paths

    out = _checked_out_dir(out_dir, source_dir)
    paths = lesson_paths(Path(source_dir).resolve()) if lessons is None else list(lessons)
    if not paths:
        raise ValueError(f"source_dir {str(source_dir)!r} has no lesson notebooks NN_name.ipynb")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in map(Path, paths):
        notebook = nbformat.read(path, as_version=4)
        if not exercise_cells(notebook):
            continue
        target = out / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(nbgrader_notebook(notebook, points))
        target.write_text(text + "\n", encoding="utf-8")
        written.append(target)
    config = out / "nbgrader_config.py"
    config.write_text(NBGRADER_CONFIG, encoding="utf-8")
    written.append(config)
    return written
