"""The reading list: one source (mobilecourse.references) for every lesson's last cell and
the README's list, and every paper a lesson's text cites is in that lesson's list."""

import re
from pathlib import Path

import nbformat
import pytest

from mobilecourse import references
from mobilecourse.__main__ import main
from mobilecourse.lessons import lesson_paths

ROOT = Path(__file__).resolve().parent.parent
LESSONS = lesson_paths()


def test_the_list_knows_every_lesson():
    assert references.LESSON_NUMBERS == tuple(p.name[:2] for p in LESSONS)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_ends_with_its_reading_list(path):
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown"
    assert last.source == references.reading_markdown(path.name[:2])
    assert last.metadata["slideshow"]["slide_type"] == "slide"


def test_the_readme_carries_the_course_reading_list():
    assert references.reading_markdown() in (ROOT / "README.md").read_text()


# "Howard et al. 2017", "Han et al. (2016)", "Zhu & Gupta 2017": a citation by surname and year
CITATION = re.compile(
    r"\b([A-Z][a-z]+)(?: et al\.| & [A-Z][a-z]+| and [A-Z][a-z]+),? \(?((?:19|20)\d\d)\b"
)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_paper_a_lesson_cites_is_in_its_list(path):
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    listed = {
        (p.authors.split(",")[0].split()[-1], str(p.year))
        for p in references.papers_for(path.name[:2])
    }
    cited = set(CITATION.findall(text))
    assert cited - listed == set()


def test_the_citation_pattern_finds_what_it_should():
    # the check above can fail: these are citations, and "Table 2, 2017" is not
    found = CITATION.findall("as Howard et al. 2017 and Han et al. (2016) and Zhu & Gupta 2017")
    assert found == [("Howard", "2017"), ("Han", "2016"), ("Zhu", "2017")]
    assert CITATION.findall("Table 2, 2017") == []


def test_papers_are_complete_and_point_nowhere_outside():
    for paper in references.PAPERS:
        assert paper.lessons and set(paper.lessons) <= set(references.LESSON_NUMBERS)
        assert paper.arxiv == "" or re.fullmatch(r"\d{4}\.\d{4,5}", paper.arxiv), paper
        assert 1950 < paper.year < 2030 and paper.title and paper.venue and paper.read_for
        assert "http" not in paper.markdown() and "www." not in paper.markdown()
    # one entry per paper
    titles = [p.title for p in references.PAPERS]
    assert len(titles) == len(set(titles))


def test_a_lesson_lists_its_papers_oldest_first():
    papers = references.papers_for("06")
    assert [p.year for p in papers] == sorted(p.year for p in papers)
    assert {p.authors.split(",")[0] for p in papers} >= {"M. Zhu", "H. Li", "J.-H. Luo"}


def test_the_course_list_names_each_paper_once_in_full():
    text = references.reading_markdown()
    for paper in references.PAPERS:
        assert text.count(paper.title) == 1, paper.title
    assert text.index("**Lesson 00**") < text.index("**Lesson 08**")


@pytest.mark.parametrize(
    ("value", "error"), [("x", TypeError), (2.0, TypeError), (-1, ValueError), (99, ValueError)]
)
def test_a_bad_lesson_number_is_refused(value, error):
    with pytest.raises(error, match="lesson must be an integer from 0 to 9"):
        references.papers_for(value)


def test_the_command_line_prints_one_lesson(capsys):
    assert main(["references", "--lesson", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Papers and further reading") and "ShuffleNet" in out
    assert main(["references", "--lesson", "nine"]) == 2
