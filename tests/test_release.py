"""The student release: the solution-stripping transform, the released lessons, and
``python -m mobilecourse perturb --released``, which runs them under nbval in ``make test``."""

import ast
import re
import subprocess
import sys
import tempfile

import nbformat
import pytest

from mobilecourse.bench import NOTEBOOK_DIR, lesson_paths
from mobilecourse.release import (
    CHECK_CALL,
    END_MARKER,
    SOLUTION_TAG,
    START_MARKER,
    make_release,
    release_notebook,
    strip_solution,
)

#: A check cell's call: the checker and the student's function it is given.
CHECKER_CALL = re.compile(r"checks\.check_\w+\((\w+)")

SOLVED = f"""def f(x):
    \"\"\"Doc.\"\"\"
    {START_MARKER}
    y = x + 1
    return y
    {END_MARKER}

print(f)"""


def test_solution_replaced_with_indented_raise():
    stripped = strip_solution(SOLVED)
    assert "y = x + 1" not in stripped and "return y" not in stripped
    assert f"    {START_MARKER}\n    raise NotImplementedError\n    {END_MARKER}" in stripped
    ns = {}
    exec(stripped, ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


def test_strip_is_idempotent_and_keeps_other_code():
    once = strip_solution(SOLVED)
    assert strip_solution(once) == once
    assert once.endswith("print(f)")
    assert strip_solution("x = 1\ny = 2") == "x = 1\ny = 2"


@pytest.mark.parametrize(
    "source",
    [
        f"{START_MARKER}\nx = 1",
        f"x = 1\n{END_MARKER}",
        f"{START_MARKER}\n{START_MARKER}\n{END_MARKER}",
    ],
)
def test_unbalanced_markers_are_rejected(source):
    with pytest.raises(ValueError, match="source"):
        strip_solution(source)


# ---------------------------------------------------------------- the whole release


def _solution_lines(cell) -> list[str]:
    """The lines strictly between the markers of a solution cell."""
    lines = cell.source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == START_MARKER)
    end = next(i for i, line in enumerate(lines) if line.strip() == END_MARKER)
    return [line.strip() for line in lines[start + 1 : end] if line.strip()]


def test_release_notebook_strips_and_clears_only_exercises():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "x = 1", outputs=[nbformat.v4.new_output("stream", text="a")]
            ),
            nbformat.v4.new_code_cell(SOLVED, metadata={"tags": [SOLUTION_TAG]}, execution_count=3),
            nbformat.v4.new_code_cell(
                "checks.check_f(f)", outputs=[nbformat.v4.new_output("stream", text="Correct")]
            ),
            nbformat.v4.new_markdown_cell("text"),
            # runs the student's f: its stored output would show the answer (2)
            nbformat.v4.new_code_cell(
                "%time z = 1\nfor i in [1]:\n    print(f(i))",
                outputs=[nbformat.v4.new_output("stream", text="2")],
                execution_count=5,
            ),
            # a name the solution uses but does not define, and an attribute named f
            nbformat.v4.new_code_cell(
                "print(x, y, math.f)",
                outputs=[nbformat.v4.new_output("stream", text="1 2 3")],
                execution_count=6,
            ),
        ]
    )
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="solution output")]
    released = release_notebook(notebook)
    kept, solution, check, text, uses_f, other = released.cells
    assert kept.outputs[0].text == "a" and text.source == "text"
    assert "y = x + 1" not in solution.source and "raise NotImplementedError" in solution.source
    assert solution.outputs == [] and solution.execution_count is None
    assert check.outputs == []
    assert uses_f.outputs == [] and uses_f.execution_count is None
    assert other == notebook.cells[5]
    assert notebook.cells[1].source == SOLVED  # the original is not modified
    assert release_notebook(released) == released


def test_release_notebook_rejects_a_tagged_cell_without_markers():
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": [SOLUTION_TAG]})]
    )
    with pytest.raises(ValueError, match="cell 0 is tagged 'solution'"):
        release_notebook(notebook)


@pytest.mark.parametrize("target", ["notebooks", "notebooks/student", "."])
def test_release_refuses_the_source_inside_it_and_around_it(tmp_path, target):
    source = tmp_path / "notebooks"
    source.mkdir()
    (source / "00_a.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError, match="out_dir"):
        make_release(tmp_path / target, source)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_release_of_an_empty_folder_and_onto_a_file_fail(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no lesson notebooks"):
        make_release(tmp_path / "out", tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        make_release(tmp_path / "file", NOTEBOOK_DIR)


def test_release_command_is_idempotent_and_leaves_notebooks_alone(tmp_path):
    sources = {p: p.read_bytes() for p in lesson_paths()}
    out = tmp_path / "student"
    command = [sys.executable, "-m", "mobilecourse", "release", str(out)]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"wrote {len(sources)} student notebooks" in first.stdout
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    subprocess.run(command, capture_output=True, text=True, check=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot
    assert sorted(snapshot) == sorted([p.name for p in sources] + ["README.md"])
    assert {p: p.read_bytes() for p in lesson_paths()} == sources
    refused = subprocess.run(
        [sys.executable, "-m", "mobilecourse", "release", str(NOTEBOOK_DIR)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "out_dir" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    make_release(out, NOTEBOOK_DIR)
    return out


def _is_solution(cell) -> bool:
    return SOLUTION_TAG in cell.metadata.get("tags", [])


def _defined_names(source: str) -> set[str]:
    """The names a cell's top level binds (functions, classes, assignments)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


@pytest.mark.parametrize("lesson", [p.name for p in lesson_paths()])
def test_released_lesson_stubs_every_solution_and_keeps_everything_else(released, lesson):
    """Static: what ``make test`` then runs with strict nbval (``perturb --released``).

    That run proves the student notebook runs top to bottom and reproduces every stored
    output but the exercises'; that each stub makes its checker print "not attempted
    yet" is tests/test_checks.py's test_stripped_solution_reports_not_attempted.
    """
    original = nbformat.read(NOTEBOOK_DIR / lesson, as_version=4)
    student = nbformat.read(released / lesson, as_version=4)
    assert len(student.cells) == len(original.cells)
    stubs = [i for i, c in enumerate(student.cells) if _is_solution(c)]
    assert stubs == [i for i, c in enumerate(original.cells) if _is_solution(c)]
    assert len(stubs) >= 2
    exercise_cells = set()
    for i in stubs:
        stub, solution = student.cells[i], original.cells[i]
        # between the markers only the stub is left; the code around them is kept
        assert _solution_lines(stub) == ["raise NotImplementedError"], stub.source
        assert strip_solution(solution.source) == stub.source
        # the exercise's check: the first code cell after the stub (other cells may call
        # checkers too, e.g. lesson 08's budget check of the lesson's own design)
        j = next(
            k for k in range(i + 1, len(student.cells)) if student.cells[k].cell_type == "code"
        )
        check = student.cells[j]
        call = CHECKER_CALL.search(check.source)
        assert call, check.source
        assert call.group(1) in _defined_names(stub.source), (stub.source, check.source)
        assert check.source == original.cells[j].source
        exercise_cells |= {i, j}
    # a later cell that runs a function the student writes (found here by a word match)
    for i in stubs:
        for name in _defined_names(student.cells[i].source):
            word = re.compile(rf"(?<![.\w]){re.escape(name)}\b")
            later = enumerate(student.cells[i + 1 :], start=i + 1)
            exercise_cells |= {k for k, c in later if word.search(c.source)}
    for i, (cell, before) in enumerate(zip(student.cells, original.cells, strict=True)):
        if cell.cell_type == "code" and (i in exercise_cells or CHECK_CALL in cell.source):
            # nothing of the reference answer shows, and nbval compares nothing here
            assert cell.outputs == [] and cell.execution_count is None, i
        else:  # nbval compares these with what the instructors' notebook stores
            assert cell == before, i


# ---------------------------------------------------------------- perturb --released


def _cell(source, output=None, count=None, tags=()):
    outputs = [] if output is None else [nbformat.v4.new_output("stream", text=output)]
    metadata = {"tags": list(tags)} if tags else {}
    return nbformat.v4.new_code_cell(
        source, outputs=outputs, execution_count=count, metadata=metadata
    )


SEEDED_CHECKER = """import os
import types


def check_double(double):
    try:
        double(2)
    except NotImplementedError:
        print("not attempted yet, seed", os.environ["MOBILECOURSE_SEED"])
    else:
        print("Correct, seed", os.environ["MOBILECOURSE_SEED"])


checks = types.SimpleNamespace(check_double=check_double)
print("ready")"""

DOUBLE = f"""def double(x):
    {START_MARKER}
    return 2 * x
    {END_MARKER}"""


def _verdicts(stdout: str) -> dict[str, str]:
    """``{"NN_name.ipynb::Cell K": "PASSED" or "FAILED"}`` from ``pytest -rA``'s summary."""
    found = re.findall(r"^(PASSED|FAILED) (?:\S*/)?(\S+\.ipynb::Cell \d+)", stdout, re.M)
    return {item: verdict for verdict, item in found}


def test_perturb_released_runs_the_release_and_compares_all_but_the_exercises(
    tmp_path, monkeypatch, capfd
):
    from mobilecourse import __main__ as cli
    from mobilecourse import lessons

    source = tmp_path / "notebooks"
    source.mkdir()
    # a compared output that depends on the seed: stored at seed 0, it must fail at seed 1
    seeded = [_cell('import os\nprint(os.environ["MOBILECOURSE_SEED"])', "0\n", 1)]
    # an exercise whose check prints the seed: the release clears that output, so it passes
    exercise = [
        _cell(SEEDED_CHECKER, "ready\n", 1),
        _cell(DOUBLE, count=2, tags=[SOLUTION_TAG]),
        _cell("checks.check_double(double)", "Correct, seed 0\n", 3),
        _cell("print(double.__name__)", "double\n", 4),
    ]
    for name, cells in [("01_seeded.ipynb", seeded), ("02_exercise.ipynb", exercise)]:
        nbformat.write(nbformat.v4.new_notebook(cells=cells), source / name)
    before = {p.name: p.read_bytes() for p in source.iterdir()}
    monkeypatch.setattr(lessons, "NOTEBOOK_DIR", source)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    nbval = ["--", "--nbval", "--nbval-current-env", "-q", "-rA"]
    nbval += ["--nbval-sanitize-with", str(NOTEBOOK_DIR.parent / "tests" / "nbval_sanitize.cfg")]

    status = cli.main(["perturb", "--released", "--seed", "1", "--cpus", "1", *nbval])
    out = capfd.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(
        "student release (solutions stripped) of lessons 01, 02 with MOBILECOURSE_SEED=1 on 1 CPU ("
    ), first
    assert status == 1, out
    assert _verdicts(out) == {
        "01_seeded.ipynb::Cell 0": "FAILED",
        **{f"02_exercise.ipynb::Cell {k}": "PASSED" for k in range(4)},
    }, out
    assert list((tmp_path / "tmp").iterdir()) == []  # the release is removed afterwards
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before

    # the instructors' notebook itself fails there: the check's stored output is compared
    status = cli.main(["perturb", "--lessons", "02", "--seed", "1", "--cpus", "1", *nbval])
    out = capfd.readouterr().out
    assert status == 1, out
    assert re.search(r"^FAILED \S*::Cell 2 ", out, re.M) and "1 failed, 3 passed" in out, out


@pytest.mark.parametrize(
    ("option", "match"),
    [
        (["--lessons", "7x"], "--lessons must be lesson numbers"),
        (["--lessons", "42"], "no lesson 42"),
        (["--seed", "-1"], "seed must be an integer >= 0"),
        (["--cpus", "0"], "cpus must be a positive integer"),
    ],
)
def test_perturb_released_rejects_bad_arguments_before_running(option, match):
    result = subprocess.run(
        [sys.executable, "-m", "mobilecourse", "perturb", "--released", *option],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and match in result.stderr
