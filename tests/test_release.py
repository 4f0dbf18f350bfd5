"""The student release: the solution-stripping transform, then the released lessons run."""

import subprocess
import sys

import nbformat
import pytest

from mobilecourse.bench import NOTEBOOK_DIR, execute_notebook, lesson_paths
from mobilecourse.checks import NOT_ATTEMPTED
from mobilecourse.release import (
    END_MARKER,
    SOLUTION_TAG,
    START_MARKER,
    make_release,
    release_notebook,
    strip_solution,
)

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
        ]
    )
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="solution output")]
    released = release_notebook(notebook)
    kept, solution, check, text = released.cells
    assert kept.outputs[0].text == "a" and text.source == "text"
    assert "y = x + 1" not in solution.source and "raise NotImplementedError" in solution.source
    assert solution.outputs == [] and solution.execution_count is None
    assert check.outputs == []
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


@pytest.mark.parametrize("lesson", [p.name for p in lesson_paths()])
def test_released_lesson_runs_and_every_checker_says_not_attempted(released, lesson):
    original = nbformat.read(NOTEBOOK_DIR / lesson, as_version=4)
    solutions = [c for c in original.cells if SOLUTION_TAG in c.metadata.get("tags", [])]
    assert len(solutions) >= 2
    student = nbformat.read(released / lesson, as_version=4)
    stubs = [c for c in student.cells if SOLUTION_TAG in c.metadata.get("tags", [])]
    assert len(stubs) == len(solutions)
    for stub, solution in zip(stubs, solutions, strict=True):
        # between the markers only the stub is left; the code around them is kept
        assert _solution_lines(stub) == ["raise NotImplementedError"], stub.source
        assert strip_solution(solution.source) == stub.source
        assert stub.outputs == []
    # a student's machine is not ours: another seed, one CPU (a different thread pool)
    executed, _ = execute_notebook(released / lesson, seed=2, cpus=1)
    # the exercise checks: the first code cell after each stub (other cells may call
    # checkers too, e.g. lesson 08's budget check of the lesson's own design)
    cells = executed.cells
    checks = [
        next(c for c in cells[i + 1 :] if c.cell_type == "code")
        for i, cell in enumerate(cells)
        if SOLUTION_TAG in cell.metadata.get("tags", [])
    ]
    assert len(checks) == len(solutions)
    assert all("checks.check_" in c.source for c in checks)
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert NOT_ATTEMPTED in text, (cell.source, text)
        assert "Correct" not in text
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
