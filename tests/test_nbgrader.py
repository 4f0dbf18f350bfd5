"""The nbgrader export: source notebooks nbgrader accepts, and the scores its autograder gives.

The end-to-end test runs nbgrader itself (the ``grading`` extra) on lesson 01 in a course
folder written by ``python -m mobilecourse release --format nbgrader``: generate_assignment,
then autograde of three submissions made from the released copy.
"""

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mobilecourse import checks
from mobilecourse.__main__ import main
from mobilecourse.lessons import NOTEBOOK_DIR
from mobilecourse.release import (
    END_MARKER,
    START_MARKER,
    exercise_cells,
    make_nbgrader_source,
    nbgrader_notebook,
    release_notebook,
)

LESSON = "01_convolution_cost"


def lesson(stem=LESSON):
    return nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)


def nbgrader_cells(notebook):
    return [
        (i, c.metadata["nbgrader"])
        for i, c in enumerate(notebook.cells)
        if "nbgrader" in c.metadata
    ]


# ---------------------------------------------------------------- the source notebooks


def test_each_exercise_is_a_solution_cell_and_a_locked_check_worth_its_points():
    original = lesson()
    source = nbgrader_notebook(original, points=2)
    marked = nbgrader_cells(source)
    # lesson 01: three exercises, each a solution cell with its check cell right after it
    assert [i for i, _ in marked] == [31, 32, 34, 35, 37, 38]
    solutions, grades = marked[0::2], marked[1::2]
    assert [m["grade_id"] for _, m in solutions] == ["exercise-1", "exercise-2", "exercise-3"]
    assert all(m["solution"] and not m["grade"] and not m["locked"] for _, m in solutions)
    assert [m["grade_id"] for _, m in grades] == [f"exercise-{k}-check" for k in (1, 2, 3)]
    assert all(m["grade"] and m["locked"] and m["points"] == 2 for _, m in grades)
    assert all("checks.check_" in source.cells[i].source for i, _ in grades)
    # nothing else changed, and the instructors' notebook is left alone
    assert [c.source for c in source.cells] == [c.source for c in original.cells]
    assert not nbgrader_cells(original)


def test_lesson_08s_budget_checks_outside_the_exercises_are_not_graded():
    source = nbgrader_notebook(lesson("08_deploy_capstone"))
    graded = [i for i, m in nbgrader_cells(source) if m["grade"]]
    assert len(graded) == len(exercise_cells(source)) == 4
    assert 8 not in graded and 28 not in graded  # check_budget on the course's own models


@pytest.mark.parametrize(
    ("points", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_points_must_be_a_positive_integer(points, error):
    with pytest.raises(error, match="points must be a positive integer"):
        nbgrader_notebook(lesson(), points=points)


def test_a_lesson_without_exercises_or_a_solution_without_its_check_is_refused():
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with pytest.raises(ValueError, match="no exercise"):
        nbgrader_notebook(bare)
    orphan = nbformat.v4.new_code_cell(f"{START_MARKER}\nx = 1\n{END_MARKER}")
    orphan.metadata["tags"] = ["solution"]
    unchecked = nbformat.v4.new_notebook(cells=[orphan, nbformat.v4.new_code_cell("print(x)")])
    with pytest.raises(ValueError, match="next code cell does not call checks.check_"):
        nbgrader_notebook(unchecked)


def test_cli_writes_every_lesson_with_exercises_and_the_config(tmp_path, capsys):
    assert main(["release", "--format", "nbgrader", str(tmp_path / "course")]) == 0
    assert "wrote 10 nbgrader source notebooks (1 point per exercise)" in capsys.readouterr().out
    sources = sorted((tmp_path / "course" / "source").glob("*/*.ipynb"))
    assert [p.parent.name for p in sources] == [p.stem for p in sources]
    assert [p.name for p in sources] == sorted(
        p.name for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")
    )
    config = (tmp_path / "course" / "nbgrader_config.py").read_text()
    assert "c.ClearSolutions.begin_solution_delimeter = 'YOUR CODE STARTS HERE'" in config
    compile(config, "nbgrader_config.py", "exec")
    with pytest.raises(ValueError, match="inside it"):
        make_nbgrader_source(NOTEBOOK_DIR / "course", NOTEBOOK_DIR)


# ---------------------------------------------------------------- the checkers under nbgrader


def test_not_attempted_prints_for_a_student_and_raises_under_the_autograder(monkeypatch, capsys):
    monkeypatch.delenv(checks.AUTOGRADER_ENV, raising=False)

    def stub(*args):
        raise NotImplementedError

    checks.check_conv_output_size(stub)  # a student's run goes on
    assert "not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv(checks.AUTOGRADER_ENV, "autograde")
    with pytest.raises(checks.CheckFailed, match="not attempted yet"):
        checks.check_conv_output_size(stub)


# ---------------------------------------------------------------- nbgrader itself


def _nbgrader(course: Path, *args: str) -> None:
    # nbgrader runs alembic from PATH, and its kernel must be this environment's Python
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop(checks.AUTOGRADER_ENV, None)
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Scores by student and grade cell after autograde of lesson 01's three submissions."""
    from nbgrader.api import Gradebook

    course = tmp_path_factory.mktemp("nbgrader")
    make_nbgrader_source(course, NOTEBOOK_DIR, lessons=[NOTEBOOK_DIR / f"{LESSON}.ipynb"])
    _nbgrader(course, "generate_assignment", LESSON, "--create")
    released = nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    reference = {
        m["grade_id"]: lesson().cells[i].source
        for i, m in nbgrader_cells(nbgrader_notebook(lesson()))
        if m["solution"]
    }

    def submit(student, answer):
        notebook = copy.deepcopy(released)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = answer(meta["grade_id"], cell.source)
        folder = course / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{LESSON}.ipynb")

    submit("reference", lambda gid, stub: reference[gid])
    submit("untouched", lambda gid, stub: stub)
    # the classic mistake of exercise 2 (FLOPs, not MACs), every other answer right
    flops = "return 2 * kernel_size * kernel_size"
    submit(
        "flops",
        lambda gid, stub: (
            reference[gid].replace("return kernel_size * kernel_size", flops)
            if gid == "exercise-2"
            else reference[gid]
        ),
    )
    _nbgrader(course, "autograde", LESSON, "--create")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {}
        for student in ("reference", "untouched", "flops"):
            submission = gradebook.find_submission(LESSON, student)
            scores[student] = {
                "total": (submission.score, submission.max_score),
                **{g.name: g.score for nb in submission.notebooks for g in nb.grades},
            }
    return released, scores


def test_generate_assignment_gives_the_student_releases_stubs(graded):
    released, _ = graded
    ours = release_notebook(lesson())
    by_id = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in released.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    solutions = [ours.cells[s].source for s, _ in exercise_cells(ours)]
    assert list(by_id.values()) == solutions
    assert all("raise NotImplementedError" in s for s in solutions)


def test_reference_solutions_score_full_marks(graded):
    assert graded[1]["reference"]["total"] == (3.0, 3.0)


def test_an_untouched_student_copy_scores_zero_on_every_exercise(graded):
    scores = graded[1]["untouched"]
    assert scores["total"] == (0.0, 3.0)
    assert [scores[f"exercise-{k}-check"] for k in (1, 2, 3)] == [0.0, 0.0, 0.0]


def test_one_wrong_answer_loses_exactly_its_points(graded):
    scores = graded[1]["flops"]
    assert scores["total"] == (2.0, 3.0)
    assert [scores[f"exercise-{k}-check"] for k in (1, 2, 3)] == [1.0, 0.0, 1.0]
