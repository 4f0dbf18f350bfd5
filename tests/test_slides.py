"""The offline slide decks: one per lesson, nothing loaded from the internet.

The decks are built into a temporary folder whose ``node_modules`` is a link to
``slides/node_modules`` (``npm ci --prefix slides``, run by ``make slides``).
Without it these tests fail, saying what to install: they never skip.

Offline means: no tag makes the browser fetch anything outside the deck's folder
when the deck opens. Every ``src``/``href``-like attribute, every ``<link>``, every
``url()``/``@import`` in a style sheet and every quoted URL in a script (the
``require([...])`` list, the MathJax and module loaders) must be relative. The one
exception is the ``href`` of an ``<a>`` anchor: a link a lesson's Markdown gives
to a paper is followed only when someone clicks it, so it loads nothing.
A real browser recording every request is the job of the browser tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from mobilecourse.lessons import lesson_paths
from mobilecourse.slides import (
    DECK_SUFFIX,
    FULL_DECK_SUFFIX,
    LECTURE_CODE_TAG,
    LECTURE_MAX_WORDS,
    LECTURE_SLIDE_KEY,
    VENDOR,
    VendorMissingError,
    build_all,
    build_deck,
    expected_slide_count,
    lecture_notebook,
    missing_vendor,
    pdf_page_count,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NODE_MODULES = REPO / "slides" / "node_modules"
LESSONS = lesson_paths(NOTEBOOKS)

#: Attributes through which a tag makes the browser load something.
LOADING_ATTRS = {
    "src",
    "href",
    "srcset",
    "data",
    "action",
    "formaction",
    "poster",
    "background",
    "manifest",
    "xlink:href",
}
_ABSOLUTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
# A quoted string in a script that starts like a URL to another host.
_QUOTED_URL = re.compile(r"""(["'`])\s*((?:https?:)?//[^"'`\s]*)\1""", re.IGNORECASE)
_CSS_URL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"')\s]*)""", re.I)
# The quoted .js paths of require([...]) calls.
_REQUIRE_LIST = re.compile(r"require\s*\((?:\s*\{.*?\}\s*,)?\s*\[(.*?)\]", re.DOTALL)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


class _DeckParser(HTMLParser):
    """Collects the URLs a deck loads, its anchors, script and style texts, and sections."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.anchors: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._text_of: str | None = None
        self._depth = 0
        self.columns = 0
        self.vertical = 0
        self.notes = 0

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None or name.lower() not in LOADING_ATTRS:
                continue
            if tag == "a" and name == "href":
                self.anchors.append(value)
            else:
                self.loads.append((tag, name, value))
        style = dict(attrs).get("style")
        if style:
            self.styles.append(style)
        if tag in ("script", "style"):
            self._text_of = tag
        elif tag == "section":
            if self._depth == 0:
                self.columns += 1
            elif self._depth == 1:
                self.vertical += 1
            self._depth += 1
        elif tag == "aside" and "notes" in (dict(attrs).get("class") or "").split():
            self.notes += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._text_of = None
        elif tag == "section":
            self._depth -= 1

    def handle_data(self, data):
        if self._text_of == "script":
            self.scripts.append(data)
        elif self._text_of == "style":
            self.styles.append(data)


def _parse(path: Path) -> _DeckParser:
    parser = _DeckParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def _require_node_modules():
    if not (NODE_MODULES / "reveal.js").is_dir():
        pytest.fail(
            f"{NODE_MODULES} is missing: the decks need the vendored reveal.js, MathJax, "
            "require.js and jQuery. Install Node.js and npm (Debian/Ubuntu: apt-get install "
            "npm), then run `make slides` (or `npm ci --prefix slides`)."
        )


def _deck_dir(path: Path) -> Path:
    """``path`` made a deck folder: created, with ``slides/node_modules`` linked in."""
    _require_node_modules()
    path.mkdir(parents=True, exist_ok=True)
    (path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return path


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> list[Path]:
    """The full decks (every cell, code included) and the lecture decks, in one folder."""
    out = _deck_dir(tmp_path_factory.mktemp("decks"))
    return build_all(NOTEBOOKS, out, lecture=False) + build_all(NOTEBOOKS, out)


@pytest.fixture(scope="module")
def full_decks(decks) -> list[Path]:
    return [deck for deck in decks if deck.name.endswith(FULL_DECK_SUFFIX)]


@pytest.fixture(scope="module")
def lecture_decks(decks) -> list[Path]:
    return [deck for deck in decks if not deck.name.endswith(FULL_DECK_SUFFIX)]


def _local_targets(deck: Path, parser: _DeckParser) -> list[str]:
    """Every URL the deck loads from its own folder (scripts, style sheets, require list)."""
    urls = [value for _, _, value in parser.loads if not value.startswith(("data:", "#"))]
    for script in parser.scripts:
        for listed in _REQUIRE_LIST.findall(script):
            urls += _QUOTED.findall(listed)
    return urls


def test_lessons_exist():
    assert len(LESSONS) >= 8, f"expected the course's lessons in {NOTEBOOKS}"


def test_one_deck_per_lesson(decks, full_decks, lecture_decks):
    assert [deck.name for deck in full_decks] == [p.stem + FULL_DECK_SUFFIX for p in LESSONS]
    assert [deck.name for deck in lecture_decks] == [p.stem + DECK_SUFFIX for p in LESSONS]
    out = decks[0].parent
    assert sorted(p.name for p in out.glob("*.html")) == sorted(d.name for d in decks)
    for deck in decks:
        assert deck.stat().st_size > 10_000, f"{deck.name} is suspiciously small"


def test_no_external_loads(decks):
    for deck in decks:
        parser = _parse(deck)
        assert parser.loads, f"{deck.name}: no script or style sheet found at all"
        remote = [(t, a, v) for t, a, v in parser.loads if _ABSOLUTE.match(v)]
        assert not remote, f"{deck.name} loads from outside its folder: {remote}"
        # Absolute local paths (/..., file:) would break a deck that is moved.
        rooted = [
            v for _, _, v in parser.loads if v.startswith("/") or v.lower().startswith("file:")
        ]
        assert not rooted, f"{deck.name} has non-relative URLs: {rooted}"
        in_scripts = [m.group(2) for s in parser.scripts for m in _QUOTED_URL.finditer(s)]
        assert not in_scripts, f"{deck.name}: scripts load URLs {in_scripts}"
        in_styles = [u for s in parser.styles for u in _CSS_URL.findall(s)]
        assert not in_styles, f"{deck.name}: style sheets load URLs {in_styles}"


def test_known_cdns_are_gone(decks):
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        for cdn in (
            "unpkg.com",
            "cdnjs.cloudflare.com",
            "cdn.jsdelivr.net",
            "mermaid",
            "fonts.googleapis",
        ):
            assert cdn not in text, f"{deck.name} still mentions {cdn}"


def test_vendored_urls_point_at_files(decks):
    expected = {VENDOR[k] for k in ("reveal.js", "reveal.css", "reveal-theme", "reveal-notes")}
    expected |= {VENDOR["require.js"], VENDOR["jquery"], VENDOR["mathjax"]}
    for deck in decks:
        parser = _parse(deck)
        urls = _local_targets(deck, parser)
        paths = {unquote(urlsplit(url).path) for url in urls}
        assert expected <= paths, f"{deck.name} does not load {sorted(expected - paths)}"
        for path in paths:
            assert path.startswith("node_modules/"), f"{deck.name} loads {path} from outside"
            assert (deck.parent / path).is_file(), f"{deck.name} loads {path}: no such file"
        mathjax = [u for u in urls if urlsplit(u).path == VENDOR["mathjax"]]
        assert len(mathjax) == 1, f"{deck.name}: MathJax is loaded {len(mathjax)} times"
        query = urlsplit(mathjax[0]).query
        assert query.startswith("config="), f"{deck.name}: MathJax has no configuration"
        for name in query.removeprefix("config=").split(","):
            config = deck.parent / "node_modules/mathjax/config" / f"{name}.js"
            assert config.is_file(), f"{deck.name}: MathJax configuration {name} is not vendored"


def test_full_decks_show_code_figures_and_math(full_decks):
    for lesson, deck in zip(LESSONS, full_decks, strict=True):
        nb = nbformat.read(lesson, as_version=4)
        shown = [c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") != "skip"]
        pngs = sum(
            "image/png" in output.get("data", {}) for c in shown for output in c.get("outputs", [])
        )
        svgs = sum(
            "image/svg+xml" in output.get("data", {})
            for c in shown
            for output in c.get("outputs", [])
        )
        text = deck.read_text(encoding="utf-8")
        assert text.count('src="data:image/png;base64,') == pngs, f"{deck.name}: PNG figures"
        assert text.count("<svg") >= svgs, f"{deck.name}: SVG figures"
        assert "jp-InputArea" in text, f"{deck.name}: no code shown"
        if any("$" in c.source for c in shown if c.cell_type == "markdown"):
            assert "inlineMath: [ ['$','$']" in text, f"{deck.name}: MathJax not set up for $"
            assert "displayMath: [ ['$$','$$']" in text, f"{deck.name}: MathJax not set up for $$"


def test_widgets_fall_back_to_their_text(full_decks):
    for lesson, deck in zip(LESSONS, full_decks, strict=True):
        text = deck.read_text(encoding="utf-8")
        assert "application/vnd.jupyter.widget" not in text, f"{deck.name}: widget state left"
        nb = nbformat.read(lesson, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "application/vnd.jupyter.widget-view+json" in data and "text/plain" in data:
                    shown = data["text/plain"].replace("&", "&amp;").replace("<", "&lt;")
                    assert shown.replace(">", "&gt;") in text, f"{deck.name}: {shown!r}"


def test_deck_sections_match_expected_slide_count(full_decks, lecture_decks):
    views = [nbformat.read(p, as_version=4) for p in LESSONS]
    views += [lecture_notebook(p) for p in LESSONS]
    for view, deck in zip(views, full_decks + lecture_decks, strict=True):
        parser = _parse(deck)
        assert parser.vertical == expected_slide_count(view), deck.name
        assert parser.columns == expected_slide_count(view, horizontal=True), deck.name
        assert parser.columns > 1, f"{deck.name}: a deck of a single slide"


def _synthetic() -> nbformat.NotebookNode:
    """Every slide type; the first visible cell is a plain '-' cell."""

    def md(text, slide_type, **data):
        cell = nbformat.v4.new_markdown_cell(text)
        cell.metadata["slideshow"] = {"slide_type": slide_type}
        if data:
            cell.metadata["slideshow"]["data"] = data
        return cell

    cells = [
        nbformat.v4.new_code_cell(
            "SKIPPED_SETUP = 1", metadata={"slideshow": {"slide_type": "skip"}}
        ),
        md("note before anything", "notes"),
        md("first visible: opens column 1", "-"),  # column 1, slide 1
        md("a fragment", "fragment"),
        md("down: column 1, slide 2", "subslide"),
        md("SPEAKER_NOTE_TEXT", "notes"),
        md("SKIPPED_TEXT", "skip"),
        md("column 2, slide 1", "slide"),
        md("column 2, slide 2", "subslide"),
        md("column 2, slide 3", "subslide"),
        md("another fragment", "fragment"),
        md("column 3, slide 1", "slide"),
        nbformat.v4.new_markdown_cell("no metadata: stays on column 3"),
        md("last, skipped", "skip"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def test_expected_slide_count_synthetic(tmp_path):
    path = tmp_path / "90_synthetic.ipynb"
    nbformat.write(_synthetic(), path)
    assert expected_slide_count(path) == 6
    assert expected_slide_count(path, horizontal=True) == 3
    assert expected_slide_count(_synthetic()) == 6  # a NotebookNode works too


def test_expected_slide_count_uncounted_and_hidden():
    nb = _synthetic()
    nb.cells[8].metadata.slideshow["data"] = {"visibility": "uncounted"}
    assert expected_slide_count(nb) == 5
    assert expected_slide_count(nb, horizontal=True) == 3
    for cell in nb.cells:
        cell.metadata["slideshow"] = {"slide_type": "skip"}
    with pytest.raises(ValueError, match="no slide"):
        expected_slide_count(nb)


def test_synthetic_deck_matches_expected_count(tmp_path):
    path = tmp_path / "90_synthetic.ipynb"
    nbformat.write(_synthetic(), path)
    deck = build_deck(path, _deck_dir(tmp_path / "out"), lecture=False)
    assert deck == tmp_path / "out" / "90_synthetic.full.slides.html"
    parser = _parse(deck)
    assert (parser.columns, parser.vertical) == (3, 6)
    assert parser.notes == 2  # the notes cell before the first slide stays a note too
    text = deck.read_text(encoding="utf-8")
    assert "SPEAKER_NOTE_TEXT" in text
    assert "SKIPPED_TEXT" not in text and "SKIPPED_SETUP" not in text


def test_missing_vendor_lists_absent_files(tmp_path):
    assert missing_vendor(tmp_path) == list(VENDOR.values())
    for url in VENDOR.values():
        (tmp_path / url).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / url).write_text("")
    assert missing_vendor(tmp_path) == []
    (tmp_path / VENDOR["mathjax"]).unlink()
    assert missing_vendor(tmp_path) == [VENDOR["mathjax"]]


def test_missing_vendor_gives_clear_error_and_no_deck(tmp_path):
    lesson = LESSONS[0]
    for build in (lambda: build_deck(lesson, tmp_path), lambda: build_all(NOTEBOOKS, tmp_path)):
        with pytest.raises(RuntimeError) as info:
            build()
        assert isinstance(info.value, VendorMissingError)
        message = str(info.value)
        for needed in ("npm", "apt-get install npm", "make slides", "npm ci --prefix slides"):
            assert needed in message, f"error message lacks {needed!r}: {message}"
        assert list(tmp_path.iterdir()) == [], "a deck was written without its vendored files"


def test_module_needs_no_tensorflow():
    code = (
        "import sys, mobilecourse.slides; "
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'nbconvert') if m in sys.modules); "
        "sys.exit(f'imported {heavy}' if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr or done.stdout


def _lesson_like() -> nbformat.NotebookNode:
    """A small lesson: header, a section with prose, a result, an exercise, takeaways."""
    code = nbformat.v4.new_code_cell

    def md(text, slide_type="-", tags=()):
        cell = nbformat.v4.new_markdown_cell(text)
        cell.metadata = {"slideshow": {"slide_type": slide_type}, "tags": list(tags)}
        return cell

    def run(source, text, slide_type="-", tags=()):
        cell = code(source)
        cell.metadata = {"slideshow": {"slide_type": slide_type}, "tags": list(tags)}
        if text is not None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        return cell

    return nbformat.v4.new_notebook(
        cells=[
            md("# 90 · A lesson\n\nIntro PROSE_ONE about the lesson.", "slide"),
            run("import mobilecourse  # SETUP_CODE", "versions", "skip"),
            md("## 1 · A section\n\nLong PROSE_TWO explaining it.", "slide"),
            run("print(6 * 7)  # HIDDEN_CODE", "42 RESULT_ONE"),
            md("**A bold lead-in.** Then PROSE_THREE.", "subslide"),
            run("x = 1  # NO_OUTPUT_CODE", None),
            md("Short text SHOWN_AS_IS\n\n* a bullet", "fragment", tags=["lecture"]),
            run("print('kept')  # SHOWN_CODE", "kept RESULT_TWO", tags=["lecture-code"]),
            md("A plain PROSE_FOUR opening a slide. And more after it.", "subslide"),
            md("### Your turn: TASK_TITLE\n\nWrite TASK_TEXT.", "subslide"),
            run("def f():\n    return 1  # SOLUTION_CODE", None, "fragment", ["solution"]),
            run("checks.check_f(f)  # CHECK_CODE", "Correct: CHECK_OUTPUT", "fragment"),
            md("## Key takeaways\n\n* TAKEAWAY", "slide", tags=["lecture"]),
        ]
    )


def test_lecture_view_keeps_titles_results_and_moves_prose_to_notes():
    nb = _lesson_like()
    lecture = lecture_notebook(nb)
    assert expected_slide_count(lecture) == expected_slide_count(nb) == 6  # same sections
    shown = [
        c.source
        for c in lecture.cells
        if c.metadata.slideshow.slide_type != "notes"
        and not c.metadata.get("transient", {}).get("remove_source")
    ]
    notes = [c.source for c in lecture.cells if c.metadata.slideshow.slide_type == "notes"]
    hidden = [c for c in lecture.cells if c.metadata.get("transient", {}).get("remove_source")]
    text = "\n".join(shown)
    for visible in (
        "# 90 · A lesson",
        "## 1 · A section",
        "### A bold lead-in",
        "SHOWN_AS_IS",
        "SHOWN_CODE",
        "A plain PROSE_FOUR opening a slide.",
        "TASK_TITLE",
        "TAKEAWAY",
    ):
        assert visible in text, visible
    for prose in ("PROSE_ONE", "PROSE_TWO", "PROSE_THREE", "And more after it", "TASK_TEXT"):
        assert prose not in text and any(prose in n for n in notes), prose
    assert [c.outputs[0]["text"] for c in hidden] == ["42 RESULT_ONE"]  # output, no code
    everything = "\n".join(c.source for c in lecture.cells)
    for gone in ("SETUP_CODE", "NO_OUTPUT_CODE", "SOLUTION_CODE", "CHECK_CODE"):
        assert gone not in everything, gone
    assert "SOLUTION_CODE" in nb.cells[10].source  # the notebook itself is not changed


def test_lecture_deck_hides_code_and_has_speaker_notes(tmp_path):
    path = tmp_path / "90_lesson.ipynb"
    nbformat.write(_lesson_like(), path)
    deck = build_deck(path, _deck_dir(tmp_path / "out"))
    assert deck.name == "90_lesson.slides.html"
    parser = _parse(deck)
    assert parser.vertical == 6 and parser.notes >= 4
    html = deck.read_text(encoding="utf-8")
    assert "RESULT_ONE" in html and "HIDDEN_CODE" not in html and "SHOWN_CODE" in html
    assert "CHECK_OUTPUT" not in html


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lecture_view_of_each_lesson_keeps_its_slides(lesson):
    lecture = lecture_notebook(lesson)
    nb = nbformat.read(lesson, as_version=4)
    splits = sum(c.metadata.get(LECTURE_SLIDE_KEY) == "subslide" for c in nb.cells)
    # every section of the notebook, and a slide more for each crowded slide split in two
    assert expected_slide_count(lecture) == expected_slide_count(nb) + splits
    assert expected_slide_count(lecture, horizontal=True) == expected_slide_count(
        nb, horizontal=True
    )
    kinds = [c.metadata.slideshow.slide_type for c in lecture.cells]
    assert kinds.count("notes") >= 10  # the lesson's prose, as speaker notes
    assert not any("solution" in c.metadata.get("tags", []) for c in lecture.cells)


def _md(text, slide_type="-", **metadata):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata = {"slideshow": {"slide_type": slide_type}, **metadata}
    return cell


def _printed(text, slide_type="-", **metadata):
    cell = nbformat.v4.new_code_cell("print(...)  # CODE")
    cell.metadata = {"slideshow": {"slide_type": slide_type}, **metadata}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return cell


def _visible(lecture) -> list:
    return [c for c in lecture.cells if c.metadata.slideshow.slide_type != "notes"]


def _notes(lecture) -> str:
    return "\n".join(c.source for c in lecture.cells if c.metadata.slideshow.slide_type == "notes")


def test_lecture_metadata_replaces_the_prose_and_adds_notes():
    nb = nbformat.v4.new_notebook(
        cells=[
            _md("# 90 · Title\n\nLONG_INTRO prose.", "slide", lecture="- GOAL_ONE\n- GOAL_TWO"),
            _md(
                "**Lead-in.** BOLD_PROSE.",
                "subslide",
                lecture="### OWN_HEADING\n\n$$ E = mc^2 $$",
                lecture_notes="**Ask the room:** QUESTION?",
            ),
            _printed("RESULT\n", lecture_notes="**Stress:** NUMBER_TO_STRESS"),
        ]
    )
    lecture = lecture_notebook(nb)
    shown = "\n".join(c.source for c in _visible(lecture) if c.cell_type == "markdown")
    assert "# 90 · Title" in shown and "GOAL_ONE" in shown and "LONG_INTRO" not in shown
    assert "OWN_HEADING" in shown and "E = mc^2" in shown and "BOLD_PROSE" not in shown
    assert "Lead-in" not in shown  # the lecture text replaces the bold lead-in heading
    notes = _notes(lecture)
    for expected in ("LONG_INTRO", "BOLD_PROSE", "QUESTION?", "NUMBER_TO_STRESS"):
        assert expected in notes, expected
    assert "# 90 · Title" not in notes  # the heading is on the slide, not repeated
    # the cell's own notes come before the notes drawn from its prose
    assert notes.index("QUESTION?") < notes.index("BOLD_PROSE")
    assert expected_slide_count(lecture) == expected_slide_count(nb) == 2


def test_lecture_metadata_must_be_text():
    nb = nbformat.v4.new_notebook(cells=[_md("# Title", "slide", lecture=["- a\n", "- b"])])
    assert "- a\n- b" in lecture_notebook(nb).cells[0].source  # nbformat's multi-line form
    nb.cells[0].metadata["lecture"] = {"bullets": ["a"]}
    with pytest.raises(TypeError, match="'lecture' must be Markdown text"):
        lecture_notebook(nb)


def _table(rows: int) -> nbformat.NotebookNode:
    body = "".join(f"<tr><th>{i}</th><td>row{i} value{i}</td></tr>\n" for i in range(rows))
    html = (
        "<div><style scoped>.dataframe tbody tr th { vertical-align: top; }</style>"
        '<table class="dataframe"><thead><tr><th></th><th>name</th></tr></thead>'
        f"<tbody>\n{body}</tbody></table></div>"
    )
    cell = nbformat.v4.new_code_cell("df  # CODE")
    cell.metadata = {"slideshow": {"slide_type": "-"}}
    cell.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/html": html, "text/plain": "df"})
    ]
    return cell


def _slide_words(cells) -> int:
    from mobilecourse.slides import _words

    total = 0
    for cell in cells:
        total += _words(cell.source) if cell.cell_type == "markdown" else 0
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/html", "")
            total += _words(text)
    return total


def test_long_outputs_are_cut_to_the_slide_and_say_so():
    lines = "".join(f"line {i} with four words\n" for i in range(40))
    nb = nbformat.v4.new_notebook(
        cells=[
            _md("## A table", "slide"),
            _table(30),
            _md("## Printed", "slide"),
            _printed(lines),
            _md("## Short", "slide"),
            _printed("one short line\n"),
        ]
    )
    lecture = lecture_notebook(nb)
    visible = _visible(lecture)
    table = visible[1].outputs[0]["data"]["text/html"]
    kept = len(re.findall(r"<tr><th>\d", table))
    assert 3 <= kept < 30 and f"⋯ {30 - kept} more rows in the notebook" in table
    assert _slide_words(visible[:2]) <= LECTURE_MAX_WORDS
    printed = visible[3].outputs[0]["text"]
    shown = printed.count("with four words")
    assert 3 <= shown < 40 and f"⋯ {40 - shown} more lines in the notebook" in printed
    assert _slide_words(visible[2:4]) <= LECTURE_MAX_WORDS
    assert visible[5].outputs[0]["text"] == "one short line\n"  # what fits is left alone
    notebook_table = nb.cells[1].outputs[0]["data"]["text/html"]
    assert len(re.findall(r"<tr><th>\d", notebook_table)) == 30  # the lecture cut a copy


def test_an_output_that_cannot_show_three_rows_moves_to_the_notes():
    words = " ".join(f"word{i}" for i in range(LECTURE_MAX_WORDS - 5))
    nb = nbformat.v4.new_notebook(
        cells=[_md("## Crowded", "slide", lecture=words), _table(12), _printed("after\n")]
    )
    lecture = lecture_notebook(nb)
    visible = _visible(lecture)
    assert [o.get("text") for o in visible[1].outputs] == [
        "⋯ more output in the speaker notes (S)\n"
    ]
    assert len(re.findall(r"<tr><th>\d", _notes(lecture))) == 12  # whole, in the notes
    # one pointer per slide; the next output is moved too, without a second pointer
    assert visible[2].outputs == [] and "after" in _notes(lecture)


def test_lecture_decks_show_each_widget_state_and_point_to_the_app(lecture_decks):
    for lesson, deck in zip(LESSONS, lecture_decks, strict=True):
        nb = nbformat.read(lesson, as_version=4)
        state = (
            nb.metadata.get("widgets", {})
            .get("application/vnd.jupyter.widget-state+json", {})
            .get("state", {})
        )
        views = [
            output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
            for cell in nb.cells
            for output in cell.get("outputs", [])
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        ]
        text = deck.read_text(encoding="utf-8")
        assert text.count('<div class="mobilecourse-widget">') == len(views), deck.name
        for model_id in views:
            children = [
                state[c.removeprefix("IPY_MODEL_")] for c in state[model_id]["state"]["children"]
            ]
            results = [c["state"]["value"] for c in children if c["model_name"] == "HTMLModel"]
            numbers = _NUMBER.findall(re.sub(r"<[^>]+>", " ", "".join(results[1:])))
            assert numbers, model_id
            missing = [n for n in numbers if n not in text]
            assert not missing, f"{deck.name}: the saved result of {model_id} lacks {missing}"
        if views:
            assert "make app" in text
        # every explorer's settings: in its speaker notes, and on the slide when few
        assert text.count("Saved settings of the explorer") == len(views), deck.name
        assert "application/vnd.jupyter.widget" not in text


def test_lecture_decks_hide_code_and_prompts(lecture_decks):
    for deck in lecture_decks:
        text = deck.read_text(encoding="utf-8")
        assert "mobilecourse.setup_notebook" not in text, deck.name
        assert '<div class="jp-InputPrompt' not in text, deck.name
        assert '<div class="jp-OutputPrompt' not in text, deck.name


def test_pdf_page_count_counts_page_objects(tmp_path):
    pdf = tmp_path / "three.pdf"
    pdf.write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R 4 0 R] /Count 3 >> endobj\n"
        b"2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n"
        b"3 0 obj <</Type/Page/Parent 1 0 R>> endobj\n"
        b"4 0 obj << /Type /Page\n/Parent 1 0 R >> endobj\n%%EOF\n"
    )
    assert pdf_page_count(pdf) == 3


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lecture_text_states_only_numbers_the_course_states(lesson):
    """Slides and notes quote numbers; they never type new ones."""
    nb = nbformat.read(lesson, as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "markdown"]
    outputs = [
        str(output.get("text", "")) + str(output.get("data", {}))
        for c in nb.cells
        for output in c.get("outputs", [])
    ]
    outputs.append(str(nb.metadata.get("widgets", {})))
    known = "\n".join(sources + outputs + [(REPO / "INSTRUCTORS.md").read_text("utf-8")])
    known_numbers = {n.replace(",", "") for n in _NUMBER.findall(known)}
    known_values = {float(n) for n in known_numbers if n.count(".") <= 1}

    def stated(number: str) -> bool:  # as printed, or rounded (462.4 from 462,422,016 / 1e6)
        plain = number.replace(",", "")
        if plain in known_numbers or plain.count(".") != 1:
            return plain in known_numbers
        places = len(plain.split(".")[1])
        value = float(plain)
        scales = (1, 1e-3, 1e-6, 1e-9)  # a count quoted in thousands, millions, billions
        return any(round(v * k, places) == value for v in known_values for k in scales)

    unknown = []
    for cell in nb.cells:
        for key in ("lecture", "lecture_notes"):
            text = cell.metadata.get(key)
            if text is None:
                continue
            assert isinstance(text, str), f"{cell.id}: metadata {key} is not text"
            unknown += [(cell.id, key, n) for n in _NUMBER.findall(text) if not stated(n)]
    assert not unknown, f"numbers in lecture text found nowhere in the lesson: {unknown}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_code_shown_on_lecture_slides_is_short(lesson):
    nb = nbformat.read(lesson, as_version=4)
    shown = [c for c in nb.cells if LECTURE_CODE_TAG in c.metadata.get("tags", [])]
    for cell in shown:
        assert cell.cell_type == "code" and cell.outputs, cell.id
        assert len(cell.source.splitlines()) <= 10, f"{cell.id}: too long for a slide"


def test_cli_writes_the_lecture_decks_and_says_when_chromium_is_missing(tmp_path):
    out = _deck_dir(tmp_path / "out")
    env = {**os.environ, "MOBILECOURSE_CHROMIUM": str(tmp_path / "no-chromium")}
    done = subprocess.run(
        [sys.executable, "-m", "mobilecourse", "slides", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "the decks are written, but not their PDFs" in done.stderr
    assert "apt-get install chromium" in done.stderr and "MOBILECOURSE_CHROMIUM" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in out.glob("*.html")) == [p.stem + DECK_SUFFIX for p in LESSONS]
    assert not list(out.glob("*.pdf"))


def test_a_crowded_slide_can_be_split_in_the_lecture_view_only():
    nb = nbformat.v4.new_notebook(
        cells=[
            _md("## One notebook slide", "slide"),
            _md("**Second topic.** More text.", "fragment", lecture_slide_type="subslide"),
            _printed("a result\n"),
        ]
    )
    lecture = lecture_notebook(nb)
    assert (expected_slide_count(nb), expected_slide_count(lecture)) == (1, 2)
    assert "### Second topic" in _visible(lecture)[1].source
    assert nb.cells[1].metadata.slideshow.slide_type == "fragment"  # the notebook is unchanged
    nb.cells[1].metadata[LECTURE_SLIDE_KEY] = "page"
    with pytest.raises(ValueError, match="'lecture_slide_type' is 'page'; allowed: 'slide'"):
        lecture_notebook(nb)
