"""Nothing in the repository points outside it: every link in the Markdown documents and
the lessons' Markdown cells names a file of the repository (not a generated one under
``build/``), and web addresses are only the local servers ``make lab`` and ``make app`` start."""

import re
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)|href=\"([^\"]+)\"")
WEB = re.compile(r"\b(?:https?|ftp)://([^/\s:\"')`]+)")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def tracked(pattern):
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", pattern], capture_output=True, text=True
    )
    return sorted(out.stdout.split()) if out.returncode == 0 else []


def documents():
    """(name, text, folder) of every tracked Markdown file and lesson Markdown cell."""
    for name in tracked("*.md"):
        if "node_modules" not in name:
            yield name, (ROOT / name).read_text(), (ROOT / name).parent
    for name in tracked("notebooks/*.ipynb"):
        notebook = nbformat.read(ROOT / name, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                yield f"{name} {cell.get('id')}", cell.source, ROOT / "notebooks"


def broken_links(text, folder):
    problems = []
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        path = target.split("#")[0]
        if not path or WEB.match(target):
            continue
        resolved = (folder / path).resolve()
        inside = resolved.is_relative_to(ROOT) and not resolved.is_relative_to(ROOT / "build")
        if not inside or not resolved.exists():
            problems.append(target)
    problems += [m.group(0) for m in WEB.finditer(text) if m.group(1) not in LOCAL_HOSTS]
    return problems


def test_the_checker_sees_a_link_outside_and_a_dead_one(tmp_path):
    text = (
        "[notes](../elsewhere/notes.md), [bench](build/bench.md), [paper](https://arxiv.org/abs/1)"
    )
    assert broken_links(text, ROOT) == [
        "../elsewhere/notes.md",
        "build/bench.md",
        "https://arxiv.org",
    ]
    assert broken_links("[ok](README.md), http://127.0.0.1:8888", ROOT) == []


@pytest.mark.parametrize("name, text, folder", [pytest.param(*d, id=d[0]) for d in documents()])
def test_every_link_stays_inside_the_repository(name, text, folder):
    assert broken_links(text, folder) == [], name
