"""Every lesson's reveal.js deck in Chromium, opened from disk: offline, typeset, complete.

The decks are built first (into ``slides/``, where ``node_modules`` lives). For each
deck: every request the page makes stays on the local disk, none fails, MathJax has
typeset every formula (no ``$`` delimiter is left in the slides' text), and reveal.js
shows as many slides as the notebook's slide metadata defines. One slide of each deck is
saved as a screenshot under ``build/screenshots/slides/`` for a person to look at.
"""

import re

import pytest
from browser_support import REPO, SCREENSHOTS

from mobilecourse import slides
from mobilecourse.lessons import lesson_paths

SLIDES_DIR = REPO / "slides"
LOCAL = ("file://", "data:", "about:", "blob:")


@pytest.fixture(scope="module")
def decks():
    missing = slides.missing_vendor(SLIDES_DIR)
    if missing:
        pytest.fail(f"slides/node_modules lacks {missing}: {slides.INSTALL_HINT}")
    built = slides.build_all(REPO / "notebooks", SLIDES_DIR)
    return {deck.name.removesuffix(slides.DECK_SUFFIX): deck for deck in built}


def _has_math(notebook) -> bool:
    text = notebook.read_text(encoding="utf-8")
    return bool(re.search(r"\$[^$\s][^$]*\$", text))


@pytest.mark.parametrize("lesson", [p.stem for p in lesson_paths()])
def test_deck_is_offline_typeset_and_complete(decks, page, lesson):
    deck = decks[lesson]
    requests, failures = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: failures.append(request.url))
    page.goto(deck.as_uri())
    page.wait_for_function(
        "() => window.Reveal && Reveal.isReady && Reveal.isReady()", timeout=30_000
    )
    page.evaluate(  # resolves once MathJax has processed its whole queue
        "() => new Promise(done => MathJax.Hub.Queue(() => done(true)))"
    )
    external = [url for url in requests if not url.startswith(LOCAL)]
    assert external == [], external
    assert failures == [], failures

    notebook = REPO / "notebooks" / f"{lesson}.ipynb"
    assert page.evaluate("Reveal.getTotalSlides()") == slides.expected_slide_count(notebook)
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

    # one slide for a person to look at: the first with a figure (a plotted output and the
    # code above it), else the first with a formula, else the second
    index = page.evaluate(
        """() => {
            const slides = Reveal.getSlides();
            const first = sel => slides.findIndex(s => s.querySelector(sel));
            for (const sel of ['.jp-OutputArea-output img', '.MathJax_CHTML, .mjx-chtml']) {
                const i = first(sel);
                if (i >= 0) return i;
            }
            return Math.min(1, slides.length - 1);
        }"""
    )
    page.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
    page.evaluate(
        "i => { const at = Reveal.getIndices(Reveal.getSlides()[i]); Reveal.slide(at.h, at.v); }",
        index,
    )
    page.wait_for_function(
        "i => Reveal.getCurrentSlide() === Reveal.getSlides()[i]", arg=index, timeout=5_000
    )
    page.wait_for_function(  # the slide change re-renders its formulas, asynchronously
        """() => {
            const slide = Reveal.getCurrentSlide();
            const sources = slide.querySelectorAll('script[type^="math/tex"]').length;
            const shown = [...slide.querySelectorAll('.MathJax_CHTML')].filter(
                e => e.getBoundingClientRect().width > 0 && !e.closest('.MathJax_Processing')
            );
            return shown.length === sources;
        }""",
        timeout=10_000,
    )
    folder = SCREENSHOTS / "slides"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{lesson}.png")
