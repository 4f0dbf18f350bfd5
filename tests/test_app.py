"""The calculator app's notebook and its Voila command line (the browser test drives it)."""

import subprocess
import sys

import pytest

from mobilecourse import app, widgets
from mobilecourse.bench import execute_notebook


def test_app_notebook_runs_and_shows_every_calculator(tmp_path):
    path = app.write_app(tmp_path)
    executed, _ = execute_notebook(path)
    views = [
        output
        for cell in executed.cells
        for output in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    assert len(views) == len(app.CALCULATORS) == 8
    titles = [o["data"]["text/plain"] for o in views]
    for (_, _, _, factory), title in zip(app.CALCULATORS, titles, strict=True):
        assert title.startswith(f"<{getattr(widgets, factory)().title}:"), title
    # grouped by lesson, in teaching order, each lesson heading once
    headings = [c.source for c in executed.cells if c.source.startswith("## Lesson")]
    assert headings == [f"## Lesson {title}" for title in app.LESSON_TITLES.values()]
    lessons = [number for number, *_ in app.CALCULATORS]
    assert lessons == sorted(lessons) and set(lessons) == set(app.LESSON_TITLES)
    streams = [o for c in executed.cells for o in c.get("outputs", []) if "text" in o]
    assert streams == []  # no warnings or log lines on the app's page


def test_voila_command_binds_to_loopback_without_a_browser(tmp_path):
    command = app.voila_command(tmp_path / "x.ipynb", 9000)
    assert command[0].endswith("voila")
    assert "--Voila.ip=127.0.0.1" in command and "--port=9000" in command
    assert "--no-browser" in command


@pytest.mark.parametrize(
    ("port", "error"),
    [(0, ValueError), (70000, ValueError), ("8866", TypeError), (True, TypeError)],
)
def test_bad_port_is_refused(port, error):
    with pytest.raises(error, match="port must be"):
        app.voila_command("x.ipynb", port)


def test_cli_reports_a_bad_port_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "mobilecourse", "app", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("python -m mobilecourse app: error: port must be")
    assert len(result.stderr.strip().splitlines()) == 1


def test_lesson_titles_are_the_lessons_own():
    import nbformat

    from mobilecourse.lessons import NOTEBOOK_DIR

    for number, title in app.LESSON_TITLES.items():
        (path,) = NOTEBOOK_DIR.glob(f"{number}_*.ipynb")
        header = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
        assert header == f"# {title}"
