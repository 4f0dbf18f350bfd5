"""Every lesson follows the course's notebook pattern (nbval then runs each one)."""

import re
from pathlib import Path

import nbformat
import pytest

from mobilecourse.lessons import MEASURING_CALL
from mobilecourse.release import END_MARKER, SOLUTION_TAG, START_MARKER

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}


def load(path):
    return nbformat.read(path, as_version=4)


def test_lessons_are_numbered_in_teaching_order():
    names = [p.name for p in NOTEBOOKS]
    assert names, "no notebooks"
    for i, name in enumerate(names):
        assert re.fullmatch(rf"{i:02d}_[a-z0-9]+(_[a-z0-9]+)*\.ipynb", name), name


def test_readme_lists_every_lesson():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in readme, path.name


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request):
    return load(request.param)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_header_has_title_goals_and_runtime(notebook):
    header = notebook.cells[0]
    assert header.cell_type == "markdown"
    assert re.match(r"# \d\d · ", header.source)
    assert "Goals" in header.source and "Runtime" in header.source


def test_one_setup_cell_first(notebook):
    cells = code_cells(notebook)
    assert "mobilecourse.setup_notebook(" in cells[0].source
    assert not any("setup_notebook(" in c.source for c in cells[1:])
    assert not any(
        re.search(r"^\s*(import|from) ", c.source, re.M)
        for c in cells[1:]
        if SOLUTION_TAG not in c.metadata.get("tags", [])
    ), "imports belong in setup"


def test_every_cell_has_slide_metadata(notebook):
    for cell in notebook.cells:
        assert cell.metadata.get("slideshow", {}).get("slide_type") in SLIDE_TYPES, cell.source[:60]


def test_outputs_are_stored_without_stderr_or_errors(notebook):
    for cell in code_cells(notebook):
        assert cell.execution_count is not None, f"not executed: {cell.source[:60]}"
        for output in cell.outputs:
            assert output.output_type != "error", cell.source[:60]
            assert output.get("name") != "stderr", f"stderr stored: {output.get('text', '')[:200]}"


def test_exercises_follow_the_pattern(notebook):
    solutions = [c for c in notebook.cells if SOLUTION_TAG in c.metadata.get("tags", [])]
    for cell in solutions:
        assert cell.source.count(START_MARKER) == cell.source.count(END_MARKER) == 1
    if solutions:
        assert len(solutions) >= 2, "at least two exercises per lesson"


def test_ends_with_key_takeaways_then_papers(notebook):
    # takeaways, perhaps a "Next:" pointer, then the reading list (tests/test_references.py)
    markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    assert markdown[-1].startswith("## Papers and further reading")
    assert any(s.startswith("## Key takeaways") for s in markdown[-3:-1])


def test_macs_are_never_called_flops(notebook):
    for cell in notebook.cells:
        text = cell.source + "".join(o.get("text", "") for o in cell.get("outputs", []))
        assert not re.search(r"FLOPs\s*\(\s*MACs|MACs\s*\(\s*FLOPs|MFLOPs", text), cell.source[:80]


def test_cells_that_train_or_time_do_not_store_compared_output(notebook):
    """README, "What nbval compares": what training or timing prints differs by machine."""
    for cell in code_cells(notebook):
        if MEASURING_CALL.search(cell.source) and cell.outputs:
            assert cell.source.startswith("# NBVAL_IGNORE_OUTPUT"), cell.source[:80]


@pytest.mark.parametrize(
    ("source", "measures"),
    [
        ("training.fit(model, (x, y), epochs=2)", True),
        ("fit(sparse, train, epochs=4, batch_size=BATCH)", True),
        ("timings = bench.time_variants({'a': model})", True),
        ("training.distill(student, teacher, data)", True),
        ("results = deploy.search(space, train, val, target_ms=t)", True),
        ("final = deploy.measure(pruned, deployed, test)", True),
        ("checks.check_design(design_network, reference=f)", True),
        ("macs = profile_model(model).macs", False),
        ("print('fit the model')", False),
        ("profit(3)", False),
    ],
)
def test_what_counts_as_training_or_timing(source, measures):
    assert bool(MEASURING_CALL.search(source)) is measures
