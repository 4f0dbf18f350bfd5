"""Every lesson's lecture deck in Chromium at 1280×720, opened from disk.

The decks are built first (into ``slides/``, where ``node_modules`` lives), as
``make slides`` builds them. For each deck:

* offline and complete: every request stays on the local disk and none fails, MathJax has
  typeset every formula, reveal.js shows as many slides as the notebook defines;
* every slide, horizontal and vertical, visited in turn (after the deck has fitted its
  figures): its content does not overflow the slide area, it shows at most
  ``MAX_WORDS`` words outside the speaker notes, no figure is cut by the slide's edges
  or shrunk below half its size to fit, and no output (a wide table) runs off its right
  edge;
  and over the deck, the median slide shows at most ``MEDIAN_WORDS`` words, at most
  15 % of the slides show code, and at least 90 % of the content slides have notes;
* its PDF handout has one page per slide.

The counts per deck go to ``build/screenshots/slides/report.md``, and three slides of
each deck (its title, its first figure, its first table) to PNGs next to it.
"""

import re
import statistics

import pytest
from browser_support import REPO, SCREENSHOTS

from mobilecourse import slides
from mobilecourse.lessons import lesson_paths

SLIDES_DIR = REPO / "slides"
LOCAL = ("file://", "data:", "about:", "blob:")
LESSONS = [p.stem for p in lesson_paths()]
WIDTH, HEIGHT = 1280, 720
#: The issue's limits: words per slide outside the notes, and the median over a deck.
MAX_WORDS, MEDIAN_WORDS = 70, 50
REPORT = SCREENSHOTS / "slides" / "report.md"

# What one slide shows: words outside the notes (drawings, scripts and styles dropped),
# its overflow, figures cut by its edges, visible code, notes.
_MEASURE = """(slide) => {
    const copy = slide.cloneNode(true);
    copy.querySelectorAll('aside.notes, script, style, svg, .MathJax_Preview').forEach(
        e => e.remove());
    const words = (copy.textContent || '').split(/\\s+/)
        .filter(w => /[A-Za-z0-9]/.test(w)).length;
    const box = slide.getBoundingClientRect();
    const cut = [...slide.querySelectorAll('img, svg')].filter(f => {
        const r = f.getBoundingClientRect();
        return r.width > 0 && (r.bottom > box.bottom + 1 || r.right > box.right + 1
            || r.top < box.top - 1 || r.left < box.left - 1);
    }).length;
    // a figure the deck had to shrink below half its size (at most 500 px) to fit
    const shrunk = [...slide.querySelectorAll('.jp-OutputArea-output img')].filter(
        i => i.offsetHeight > 0 && i.offsetHeight < 0.5 * Math.min(i.naturalHeight, 500)
    ).length;
    // an output (a wide table, a long line) cut at the right edge
    const wide = [...slide.querySelectorAll('.jp-OutputArea-output, .jp-InputArea')].filter(
        e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > box.right + 1
    ).length;
    const code = [...slide.querySelectorAll('.jp-CodeCell .jp-InputArea')]
        .filter(e => e.getBoundingClientRect().height > 0).length;
    const heading = slide.querySelector('h1, h2, h3');
    return {
        words,
        overflow: slide.scrollHeight - Reveal.getConfig().height,
        cut,
        shrunk,
        wide,
        code: code > 0,
        notes: (slide.querySelector('aside.notes') || {textContent: ''}).textContent.trim()
            .length > 0,
        figure: slide.querySelector('.jp-OutputArea-output img') !== null,
        table: slide.querySelector('table') !== null,
        title: heading ? heading.textContent.replace('¶', '').trim() : '',
    };
}"""


@pytest.fixture(scope="module")
def decks():
    missing = slides.missing_vendor(SLIDES_DIR)
    if missing:
        pytest.fail(f"slides/node_modules lacks {missing}: {slides.INSTALL_HINT}")
    built = slides.build_all(REPO / "notebooks", SLIDES_DIR)
    return {deck.name.removesuffix(slides.DECK_SUFFIX): deck for deck in built}


@pytest.fixture(scope="module")
def report():
    rows = {}
    yield rows
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "| deck | slides | overflowing | words median | words max | with code | with notes "
        "| PDF pages |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [rows[name] for name in sorted(rows)]
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _has_math(notebook) -> bool:
    text = notebook.read_text(encoding="utf-8")
    return bool(re.search(r"\$[^$\s][^$]*\$", text))


def _open(page, deck):
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.goto(deck.as_uri())
    page.wait_for_function(
        "() => window.Reveal && Reveal.isReady && Reveal.isReady()", timeout=30_000
    )
    page.evaluate(  # resolves once MathJax has processed its whole queue
        "() => new Promise(done => MathJax.Hub.Queue(() => done(true)))"
    )
    page.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")


def _show(page, index):
    """Go to slide ``index`` and wait until MathJax and the deck's fitting are done."""
    page.evaluate(
        "i => { const at = Reveal.getIndices(Reveal.getSlides()[i]); Reveal.slide(at.h, at.v); }",
        index,
    )
    page.wait_for_function(
        "i => Reveal.getCurrentSlide() === Reveal.getSlides()[i]", arg=index, timeout=5_000
    )
    page.wait_for_function(  # the slide change re-renders its formulas, then fits figures
        """() => {
            const slide = Reveal.getCurrentSlide();
            const onSlide = e => !e.closest('aside.notes');
            const sources = [...slide.querySelectorAll('script[type^="math/tex"]')]
                .filter(onSlide).length;
            const shown = [...slide.querySelectorAll('.MathJax_CHTML')].filter(onSlide).filter(
                e => e.getBoundingClientRect().width > 0 && !e.closest('.MathJax_Processing')
            );
            return shown.length === sources && slide.hasAttribute('data-fitted');
        }""",
        timeout=10_000,
    )
    # and until nothing moves any more (a late formula or font makes the deck fit again)
    state = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
        () => done([Reveal.getCurrentSlide().scrollHeight, Reveal.getCurrentSlide().dataset.fitted])
    )))"""  # after two frames: what the slide looks like once laid out again
    before = page.evaluate(state)
    for _ in range(40):
        now = page.evaluate(state)
        if now == before:
            return
        before = now


@pytest.mark.parametrize("lesson", LESSONS)
def test_deck_is_offline_typeset_and_complete(decks, page, lesson):
    deck = decks[lesson]
    requests, failures = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: failures.append(request.url))
    _open(page, deck)
    external = [url for url in requests if not url.startswith(LOCAL)]
    assert external == [], external
    assert failures == [], failures

    notebook = REPO / "notebooks" / f"{lesson}.ipynb"
    lecture = slides.lecture_notebook(notebook)
    assert page.evaluate("Reveal.getTotalSlides()") == slides.expected_slide_count(lecture)
    assert page.evaluate("Reveal.getHorizontalSlides().length") == slides.expected_slide_count(
        notebook, horizontal=True
    )
    text = page.evaluate(
        """() => {
            const copy = document.querySelector('.reveal .slides').cloneNode(true);
            copy.querySelectorAll('script, style, pre, code').forEach(e => e.remove());
            return copy.textContent;
        }"""
    )
    assert "$$" not in text and not re.search(r"\$[A-Za-z\\][^$\n]{0,80}\$", text)
    typeset = page.evaluate("document.querySelectorAll('.MathJax_CHTML, .mjx-chtml').length")
    if _has_math(notebook):
        assert typeset > 0


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_slide_fits_and_has_notes(decks, browser, page, report, lesson):
    deck = decks[lesson]
    _open(page, deck)
    count = page.evaluate("Reveal.getSlides().length")
    measured = []
    for index in range(count):
        _show(page, index)
        measured.append(page.evaluate(_MEASURE, page.evaluate_handle("Reveal.getCurrentSlide()")))
    folder = SCREENSHOTS / "slides"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{lesson}-*.png"):
        old.unlink()
    picks = [0]  # the title, the first figure, the first table (else the next slides)
    for kind in ("figure", "table"):
        found = [i for i, m in enumerate(measured) if m[kind] and i not in picks]
        picks.append(found[0] if found else next(i for i in range(count) if i not in picks))
    for shot, index in enumerate(picks, start=1):
        _show(page, index)
        page.screenshot(path=folder / f"{lesson}-{shot}.png")

    pdf = slides.write_handouts([deck], browser=browser)[0]
    pages = slides.pdf_page_count(pdf)
    words = [m["words"] for m in measured]
    content = measured[1:]  # all but the title slide
    with_code = sum(m["code"] for m in measured)
    with_notes = sum(m["notes"] for m in content)
    report[lesson] = (
        f"| {lesson} | {count} | {sum(m['overflow'] > 1 for m in measured)} | "
        f"{statistics.median(words):g} | {max(words)} | {with_code} | "
        f"{with_notes} of {len(content)} | {pages} |"
    )
    where = lambda m: f"slide {measured.index(m) + 1} '{m['title']}'"  # noqa: E731
    over = [f"{where(m)} by {m['overflow']} px" for m in measured if m["overflow"] > 1]
    assert not over, f"{deck.name}: content overflows the slide area: {over}"
    wordy = [f"{where(m)}: {m['words']} words" for m in measured if m["words"] > MAX_WORDS]
    assert not wordy, f"{deck.name}: more than {MAX_WORDS} words outside the notes: {wordy}"
    cut = [where(m) for m in measured if m["cut"]]
    assert not cut, f"{deck.name}: figures cut by the slide's edges: {cut}"
    shrunk = [where(m) for m in measured if m["shrunk"]]
    assert not shrunk, f"{deck.name}: figures shrunk below half their size to fit: {shrunk}"
    wide = [where(m) for m in measured if m["wide"]]
    assert not wide, f"{deck.name}: outputs cut at the slide's right edge: {wide}"
    assert statistics.median(words) <= MEDIAN_WORDS, f"{deck.name}: median words {words}"
    assert with_code <= 0.15 * count, f"{deck.name}: code on {with_code} of {count} slides"
    assert with_notes >= 0.9 * len(content), f"{deck.name}: notes on {with_notes} slides"
    assert pages == count, f"{pdf.name}: {pages} pages for {count} slides"
