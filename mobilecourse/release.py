"""Turning the instructors' notebooks into the student release.

In the repository every exercise's solution cell (tagged ``solution``) holds
the reference solution between two marker lines. The student release keeps
the markers and replaces what lies between them with
``raise NotImplementedError``; the checkers then print "not attempted yet".
"""

from __future__ import annotations

__all__ = [
    "END_MARKER",
    "SOLUTION_TAG",
    "START_MARKER",
    "make_release",
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
    lessons = lesson_paths(source)
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
