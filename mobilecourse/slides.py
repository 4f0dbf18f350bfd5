"""Offline reveal.js slide decks built from the lesson notebooks.

Every lesson cell carries ``slideshow`` metadata (slide, sub-slide, fragment,
skip, notes), so nbconvert's ``SlidesExporter`` turns ``notebooks/NN_name.ipynb``
into one reveal.js deck, ``NN_name.slides.html``. Stock nbconvert points that deck
at CDNs (reveal.js, MathJax, require.js, jQuery, mermaid and the widget manager);
these decks instead load every script and style sheet from ``node_modules`` next
to the deck (``npm ci --prefix slides``, pinned in ``slides/package.json``), by
relative URLs, so a deck opens from disk (``file://``) or from a local server and
makes no request to the internet.

What is neutralised, and how:

* reveal.js, require.js, jQuery and MathJax: the exporter's ``reveal_url_prefix``,
  ``require_js_url``, ``jquery_url`` and ``mathjax_url`` point into ``node_modules``
  (MathJax's ``MathJax.js``, not the CDN-only ``latest.js``).
* mermaid: the reveal template imports it unconditionally from a CDN; the
  small template below empties that block (no lesson has mermaid diagrams).
* ipywidgets: with widget state in the notebook metadata the template loads the
  HTML widget manager from unpkg. The deck is built from a copy of the notebook
  without that state, and the widget outputs fall back to their plain-text
  representation: a saved widget could not recompute without a kernel anyway.
* fonts: the ``white`` theme's Source Sans Pro and MathJax's TeX fonts are files
  inside ``node_modules``.

Hyperlinks the lessons themselves contain (``<a href="https://...">`` to papers)
are left alone: a browser follows them only when clicked.

Nothing here imports TensorFlow or touches the network.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import nbformat

__all__ = [
    "CHROMIUM",
    "DECK_SUFFIX",
    "FULL_DECK_SUFFIX",
    "LECTURE_KEY",
    "LECTURE_MAX_WORDS",
    "LECTURE_NOTES_KEY",
    "LECTURE_SLIDE_KEY",
    "PRINT_QUERY",
    "MATHJAX_CONFIG",
    "REVEAL_PREFIX",
    "REVEAL_THEME",
    "VENDOR",
    "VendorMissingError",
    "LECTURE_CODE_TAG",
    "LECTURE_TAG",
    "build_all",
    "build_deck",
    "deck_name",
    "expected_slide_count",
    "lecture_notebook",
    "missing_vendor",
    "pdf_page_count",
    "write_handouts",
]

#: File name ending of a deck: ``NN_name.ipynb`` becomes ``NN_name.slides.html``.
DECK_SUFFIX = ".slides.html"

#: File name ending of a full deck (every cell, code included): ``NN_name.full.slides.html``.
FULL_DECK_SUFFIX = ".full" + DECK_SUFFIX

#: reveal.js theme; ``white`` uses only local fonts (no Google Fonts import).
REVEAL_THEME = "white"

#: reveal.js folder relative to a deck (nbconvert's ``reveal_url_prefix``).
REVEAL_PREFIX = "node_modules/reveal.js"

#: MathJax 2.7.7 combined configuration(s), each ``node_modules/mathjax/config/NAME.js``.
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"

#: The vendored files a deck loads (directly, or through MathJax's configuration and
#: the theme's fonts), each as a URL relative to the deck's folder: a path under
#: ``node_modules``, so the deck works from ``file://`` and from a server.
VENDOR = {
    "reveal.js": f"{REVEAL_PREFIX}/dist/reveal.js",
    "reveal.css": f"{REVEAL_PREFIX}/dist/reveal.css",
    "reveal-theme": f"{REVEAL_PREFIX}/dist/theme/{REVEAL_THEME}.css",
    "reveal-theme-fonts": f"{REVEAL_PREFIX}/dist/theme/fonts/source-sans-pro/source-sans-pro.css",
    "reveal-notes": f"{REVEAL_PREFIX}/plugin/notes/notes.js",
    "require.js": "node_modules/requirejs/require.js",
    "jquery": "node_modules/jquery/dist/jquery.min.js",
    "mathjax": "node_modules/mathjax/MathJax.js",
    **{
        f"mathjax-config-{name}": f"node_modules/mathjax/config/{name}.js"
        for name in MATHJAX_CONFIG.split(",")
    },
    "mathjax-font": "node_modules/mathjax/fonts/HTML-CSS/TeX/woff/MathJax_Main-Regular.woff",
}

#: What to do when the vendored files are absent (see ``slides/README.md``).
INSTALL_HINT = (
    "install Node.js and npm (Debian/Ubuntu: sudo apt-get install npm) and run "
    "`make slides`, which runs `npm ci --prefix slides` and then builds the decks"
)

# Extends nbconvert's reveal template (template_name "reveal" puts reveal/, lab/
# and base/ on the search path, so 'index.html.j2' is reveal/index.html.j2).
_TEMPLATE_NAME = "mobilecourse_offline_reveal.html.j2"
_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{#- mermaid: the reveal template imports it from a CDN on every deck. -#}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{#- ipywidgets: the HTML widget manager would come from unpkg. -#}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_css -%}
{{ super() }}
<link rel="icon" href="data:,">
<style type="text/css">
/* A slide taller than the reveal.js canvas scrolls (mouse wheel, touch) instead of
   being cut off; printing (?print-pdf) spreads it over pages instead. */
html:not(.print-pdf) .reveal .slides > section > section {
    max-height: {{ resources.reveal.height }}px;
    overflow-y: auto;
}
/* Wide figures and long code lines stay within the slide's width. */
.reveal .slides section img { max-width: 100%; height: auto; }
.reveal .slides section pre { white-space: pre-wrap; overflow-wrap: anywhere; }
/* Tables of results: compact rows and small type, so a table and its heading fit one slide;
   long column names wrap instead of pushing the table off the slide. */
.reveal .slides section .jp-OutputArea-output table { font-size: 0.8em; }
.reveal .slides section .jp-OutputArea-output table td,
.reveal .slides section .jp-OutputArea-output table th { padding: 0.1em 0.5em; line-height: 1.2; }
.reveal .slides section .jp-OutputArea-output table th { overflow-wrap: anywhere; }
/* A widget's saved state (lecture decks): its drawing kept small beside its table. */
.reveal .mobilecourse-widget svg { max-height: 240px; width: auto; height: auto; }
</style>
{%- endblock html_head_css -%}
{% block footer_js %}
{{ super() }}
<script>
// The AMD build of reveal.js defines no global: expose the initialised API as
// window.Reveal for the browser console and the browser tests.
require(["{{ resources.reveal.url_prefix }}/dist/reveal.js"], function (Reveal) {
    window.Reveal = Reveal;
    // Once the fonts are loaded, the figures decoded and MathJax has typeset the slide,
    // shrink its figures until it fits the canvas; the slide is then marked data-fitted
    // (the browser tests wait for it).
    var fit = function (slides) {
        var figures = [];
        slides.forEach(function (slide) {
            figures = figures.concat(Array.prototype.slice.call(slide.querySelectorAll("img")));
        });
        var loaded = figures.map(function (img) { return img.decode().catch(function () {}); });
        Promise.all(loaded.concat([document.fonts.ready])).then(function () {
            // Queued twice: after the re-rendering the slide change itself queues.
            MathJax.Hub.Queue(function () {
                MathJax.Hub.Queue(function () { slides.forEach(mobilecourseFit); });
            });
        });
    };
    var fitCurrent = function () { fit([Reveal.getCurrentSlide()]); };
    // Whatever grows a slide later (a formula typeset, a font loaded) fits it again.
    var refit = new ResizeObserver(function (entries) {
        entries.forEach(function (entry) {
            var slide = entry.target.closest("section");
            if (slide && slide.hasAttribute("data-fitted")) {
                mobilecourseFit(slide);
            }
        });
    });
    var start = function () {
        Reveal.getSlides().forEach(function (slide) {
            Array.prototype.forEach.call(slide.children, function (child) {
                refit.observe(child);
            });
        });
        fitCurrent();
    };
    Reveal.on("slidechanged", fitCurrent);
    Reveal.on("ready", start);
    var printed = function () {
        // reveal.css breaks the page after every slide, the last one too: no blank last page.
        var pages = document.querySelectorAll(".pdf-page");
        pages[pages.length - 1].style.pageBreakAfter = "auto";
        fit(Reveal.getSlides());
    };
    Reveal.on("pdf-ready", printed);
    if (Reveal.isReady()) {
        start();
    }
    if (document.querySelector(".pdf-page")) {  // the print view was set up already
        printed();
    }
});
// A figure taller than its slide leaves room for is scaled down (never below 80 px); text
// is never shrunk: a slide whose text alone is too tall still overflows (and scrolls).
function mobilecourseFit(slide) {
    var limit = {{ resources.reveal.height }};
    var figures = Array.prototype.slice.call(slide.querySelectorAll(".jp-OutputArea-output img"));
    for (var round = 0; round < 6 && slide.scrollHeight > limit + 1; round++) {
        var excess = slide.scrollHeight - limit;
        var total = figures.reduce(function (sum, img) { return sum + img.offsetHeight; }, 0);
        if (total <= 0) {
            break;
        }
        figures.forEach(function (img) {
            var height = img.offsetHeight;
            var fitted = Math.floor(height - excess * height / total) - 2;
            img.style.maxHeight = Math.max(80, fitted) + "px";
            img.style.width = "auto";
        });
    }
    slide.setAttribute("data-fitted", slide.scrollHeight);
}
</script>
{% endblock footer_js %}
"""

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

#: The class of the static snapshot that stands for a widget in a lecture deck.
_WIDGET_CLASS = "mobilecourse-widget"


class VendorMissingError(RuntimeError):
    """The vendored reveal.js/MathJax/require.js/jQuery files are not installed."""


def missing_vendor(slides_dir: str | os.PathLike) -> list[str]:
    """List the vendored files that a deck in ``slides_dir`` could not load.

    Args:
        slides_dir: the folder the decks are (or will be) written to; the
            vendored files must be under its ``node_modules``.

    Returns:
        The relative URLs from :data:`VENDOR` with no file behind them, in
        :data:`VENDOR` order; empty when every file is there.
    """
    root = Path(slides_dir)
    return [url for url in VENDOR.values() if not (root / url).is_file()]


def _check_vendor(out_dir: Path) -> None:
    missing = missing_vendor(out_dir)
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise VendorMissingError(
            f"cannot build offline slides: {out_dir} lacks the vendored files {shown}. "
            f"To fix it, {INSTALL_HINT}. (A deck loads them from node_modules next to it: "
            "to write decks elsewhere, that folder needs slides/node_modules as its "
            "node_modules.)"
        )


def _load(notebook) -> nbformat.NotebookNode:
    if isinstance(notebook, nbformat.NotebookNode):
        return notebook
    return nbformat.read(os.fspath(notebook), as_version=4)


def _without_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with no widget state and no widget views in its outputs."""
    nb = nbformat.from_dict(nb)  # deep copy
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None and _WIDGET_VIEW in data:
                data.pop(_WIDGET_VIEW)
                if not data:
                    continue
            outputs.append(output)
        cell.outputs = outputs
    return nb


#: A markdown cell with this tag goes on the lecture slide as it is (a title and a few
#: bullets, or one equation); every other markdown cell becomes speaker notes.
LECTURE_TAG = "lecture"

#: A code cell with this tag shows its code on the lecture slide (for the few places where
#: the code is the point); every other code cell shows only its outputs.
LECTURE_CODE_TAG = "lecture-code"

#: A cell's metadata key for what its slide shows in the lecture view instead of the cell's
#: prose: a few short bullets or one equation, as Markdown (the cell's heading stays above
#: it; the whole cell becomes speaker notes). Invisible in the notebook students read.
LECTURE_KEY = "lecture"

#: A cell's metadata key for speaker notes of its own (what to stress, the question to ask
#: the room, the live demo), as Markdown, put before the notes drawn from the cell's prose.
LECTURE_NOTES_KEY = "lecture_notes"


def _lecture_text(cell, key: str) -> str | None:
    value = cell.get("metadata", {}).get(key)
    if value is None:
        return None
    if isinstance(value, list):  # nbformat's multi-line form
        value = "".join(value)
    if not isinstance(value, str):
        raise TypeError(f"cell {cell.get('id', '?')}: metadata {key!r} must be Markdown text")
    return value.strip()


def _add_notes(keep, text: str | None) -> None:
    if text:
        keep(nbformat.v4.new_markdown_cell(text), "notes")


#: A cell's metadata key for its slide type in the lecture view only: ``"subslide"`` starts
#: a slide of its own where the notebook runs on (a crowded slide split in two).
LECTURE_SLIDE_KEY = "lecture_slide_type"

#: The tag of an exercise's solution cell (the release empties it; the lecture drops it
#: and the check cell after it, leaving the task as a "your turn" slide).
_SOLUTION_TAG = "solution"

_OPENS_SLIDE = ("slide", "subslide")


def _slide_type(cell) -> str:
    return (cell.get("metadata", {}).get("slideshow", {}) or {}).get("slide_type", "-")


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _on_slide(text: str, opens_slide: bool) -> tuple[str, str]:
    """What of an untagged markdown cell stays visible, and the rest (the notes).

    Visible: its leading heading lines; with no heading, a bold lead-in (``**Title.**``)
    as a heading; with neither, for a cell that opens a slide, its first sentence (so the
    slide and its notes start together); else nothing.
    """
    lines = text.strip("\n").splitlines()
    shown = []
    while lines and lines[0].lstrip().startswith("#"):
        shown.append(lines.pop(0))
    if not shown and lines and lines[0].startswith("**"):
        end = lines[0].find("**", 2)
        if end > 2:  # the notes keep the whole paragraph, lead-in included
            shown.append("### " + lines[0][2:end].strip().rstrip(".:"))
    rest = "\n".join(lines).strip()
    if not shown and opens_slide and rest:
        paragraph = rest.split("\n\n", 1)[0]
        stop = paragraph.find(". ")
        first = paragraph if stop < 0 else paragraph[: stop + 1]
        return first, rest[len(first) :].strip()
    return "\n".join(shown), rest


def lecture_notebook(notebook) -> nbformat.NotebookNode:
    """The lecture view of a lesson: slides of titles, short text and results; prose as notes.

    The same notebook, read differently (no cell is written by hand for the deck):

    * a markdown cell tagged :data:`LECTURE_TAG` is shown as it is;
    * any other markdown cell keeps its heading (or its bold lead-in, as a heading) on
      the slide and moves the rest to reveal.js speaker notes (slide type ``notes``,
      opened with ``S``);
    * a code cell shows its outputs without its code, unless tagged
      :data:`LECTURE_CODE_TAG`; a code cell with no output is left out;
    * an exercise's ``solution`` cell and the check cell after it are left out, so the
      task stays as a "your turn" slide;
    * ``skip`` cells stay out; a cell left out that opened a slide passes the opening on
      to the next cell shown, so the slides keep the notebook's sections.

    Args:
        notebook: a notebook path or an ``nbformat.NotebookNode`` (not modified).

    Returns:
        A new notebook to export with nbconvert's slides exporter.
    """
    nb = nbformat.from_dict(_load(notebook))  # deep copy
    _freeze_widgets(nb)
    cells = []
    opening = None  # the slide type of a left-out cell that opened a slide
    after_solution = False

    def keep(cell, slide_type=None):
        nonlocal opening
        slide_type = slide_type or _slide_type(cell)
        if opening is not None and slide_type not in _OPENS_SLIDE and slide_type != "notes":
            slide_type = opening
            opening = None
        elif slide_type in _OPENS_SLIDE:
            opening = None
        cell.setdefault("metadata", {})["slideshow"] = {"slide_type": slide_type}
        cells.append(cell)

    def leave_out(cell):
        nonlocal opening
        if _slide_type(cell) in _OPENS_SLIDE and opening is None:
            opening = _slide_type(cell)

    for cell in nb.cells:
        tags = _tags(cell)
        override = cell.get("metadata", {}).get(LECTURE_SLIDE_KEY)
        if override is not None:
            if override not in ("slide", "subslide", "fragment", "-"):
                raise ValueError(
                    f"cell {cell.get('id', '?')}: metadata {LECTURE_SLIDE_KEY!r} is "
                    f"{override!r}; allowed: 'slide', 'subslide', 'fragment', '-'"
                )
            cell.metadata["slideshow"] = {"slide_type": override}
        if _slide_type(cell) == "skip":
            continue
        if cell.cell_type == "code" and _SOLUTION_TAG in tags:
            after_solution = True
            leave_out(cell)
            continue
        if cell.cell_type == "code" and after_solution:  # the exercise's check cell
            after_solution = False
            leave_out(cell)
            continue
        after_solution = False
        extra_notes = _lecture_text(cell, LECTURE_NOTES_KEY)
        if cell.cell_type == "markdown":
            if LECTURE_TAG in tags:
                keep(cell)
                _add_notes(keep, extra_notes)
                continue
            slide_text = _lecture_text(cell, LECTURE_KEY)
            if slide_text is not None:
                heading, notes = _on_slide(cell.source, False)
                if not cell.source.lstrip().startswith("#"):  # a bold lead-in: keep it in notes
                    heading, notes = "", cell.source.strip()
                shown = "\n\n".join(part for part in (heading, slide_text) if part)
            else:
                shown, notes = _on_slide(cell.source, _slide_type(cell) in _OPENS_SLIDE)
            if shown:
                keep(nbformat.v4.new_markdown_cell(shown), _slide_type(cell))
            else:
                leave_out(cell)
            _add_notes(keep, "\n\n".join(part for part in (extra_notes, notes) if part))
        elif cell.cell_type == "code":
            if not cell.get("outputs"):
                leave_out(cell)
                continue
            if LECTURE_CODE_TAG not in tags:
                cell.metadata["transient"] = {"remove_source": True}
            keep(cell)
            _add_notes(keep, extra_notes)
        else:
            keep(cell)
    nb.cells = _fit_outputs(cells)
    for number, cell in enumerate(nb.cells):  # the same deck from the same notebook
        cell["id"] = f"lecture-{number}"
    return nb


#: Most words a lecture slide shows outside its speaker notes (headings, bullets and outputs;
#: a word is a run of characters with a letter or digit in it). The lecture view cuts long
#: printed outputs and tables to fit, saying how much is left out; the browser test allows
#: a little more (MathJax and table layout add a few).
LECTURE_MAX_WORDS = 55

_HIDDEN = re.compile(r"<(style|script|svg)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z!][^>]*>")  # a tag, not a "<=" in printed text
_ROW = re.compile(r"<tr\b.*?</tr>\s*", re.DOTALL)

#: Fewest table rows or printed lines worth showing: an output that cannot show as many
#: within the slide's words goes whole to the speaker notes instead.
_FEWEST = 3


_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)


def _words(text: str) -> int:
    """The words a reader sees in ``text`` (HTML tags, style sheets and drawings dropped;
    a formula counts as one word)."""
    text = html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", _MATH.sub(" x ", text))))
    return sum(1 for token in text.split() if any(ch.isalnum() for ch in token))


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def _more(count: int, what: str) -> str:
    return f"⋯ {count} more {what}{'s' if count != 1 else ''} in the notebook"


def _keep_first(items: list[str], fixed: int, budget: int) -> int:
    """How many of ``items`` fit in ``budget`` words after ``fixed`` words, with a marker."""
    total = fixed + sum(_words(item) for item in items)
    if total <= budget:
        return len(items)
    used, count = fixed + _words(_more(len(items), "row")), 0
    for item in items:
        used += _words(item)
        if used > budget:
            break
        count += 1
    return count


def _cut_table(table: str, budget: int) -> tuple[str, int] | None:
    """A pandas HTML table cut to its first body rows within ``budget`` words, or None."""
    head, sep, body = table.partition("<tbody>")
    rows_html, end, tail = body.partition("</tbody>")
    rows = _ROW.findall(rows_html)
    if not sep or not end or not rows:
        return (table, _words(table)) if _words(table) <= budget else None
    count = _keep_first(rows, _words(head), budget)
    if count < min(_FEWEST, len(rows)):
        return None
    kept = rows[:count]
    if count < len(rows):
        kept.append(f'<tr><td colspan="99"><em>{_more(len(rows) - count, "row")}</em></td></tr>')
    table = head + sep + "".join(kept) + end + tail
    return table, _words(table)


def _cut_lines(text: str, budget: int) -> tuple[str, int] | None:
    """The first lines of ``text`` within ``budget`` words, or None."""
    lines = text.rstrip("\n").split("\n")
    count = _keep_first(lines, 0, budget)
    if count == len(lines):
        return text, _words(text)
    if count < min(_FEWEST, len(lines)):
        return None
    kept = lines[:count] + ([_more(len(lines) - count, "line")] if count < len(lines) else [])
    text = "\n".join(kept) + "\n"
    return text, _words(text)


def _fit_output(output, budget: int) -> tuple[int, str | None]:
    """Cut one output to ``budget`` words in place.

    Returns:
        The words it now shows, and None; or 0 and the output as Markdown for the speaker
        notes when it cannot be shown usefully within the budget.
    """
    data = output.get("data", {})
    if output.get("output_type") == "stream":
        holder, key, cutter = output, "text", _cut_lines
    elif any(kind.startswith("image/") for kind in data):
        return 0, None
    elif "text/html" in data:
        holder, key, cutter = data, "text/html", _cut_table
    elif "text/plain" in data:
        holder, key, cutter = data, "text/plain", _cut_lines
    else:
        return 0, None
    text = _joined(holder.get(key))
    cut = cutter(text, budget)
    if cut is not None:
        holder[key] = cut[0]
        return cut[1], None
    return 0, text if key == "text/html" else "```\n" + text.rstrip("\n") + "\n```"


_POINTER = "⋯ more output in the speaker notes (S)\n"


def _rank(output) -> int:
    """Which outputs of a slide get its words first: widgets, then tables, then printouts."""
    data = output.get("data", {})
    if _WIDGET_CLASS in _joined(data.get("text/html")):
        return 0
    return 1 if "text/html" in data or any(k.startswith("image/") for k in data) else 2


def _fit_outputs(cells: list) -> list:
    """Each lecture slide's outputs cut to :data:`LECTURE_MAX_WORDS` words.

    Markdown (and code shown) on the slide counts first. The outputs then share what is
    left, a widget's saved state first, then tables and figures, then printed lines: each
    is shown whole, cut to its first rows or lines (saying how many more the notebook
    has), or, when fewer than three would fit, moved whole to the speaker notes, with one
    pointer left on the slide. Figures cost no words; the slide keeps its order.
    """
    slides: list[list[int]] = []  # the indices of the cells on each slide
    for index, cell in enumerate(cells):
        if _slide_type(cell) in _OPENS_SLIDE or not slides:
            slides.append([])
        slides[-1].append(index)
    moved: dict[int, list[str]] = {}  # cell index -> outputs moved to the notes
    dropped: set[int] = set()  # id() of the outputs moved
    for members in slides:
        budget = LECTURE_MAX_WORDS
        outputs = []
        for index in members:
            cell = cells[index]
            if _slide_type(cell) == "notes":
                continue
            transient = cell.get("metadata", {}).get("transient", {})
            if cell.cell_type == "markdown" or not transient.get("remove_source"):
                budget -= _words(cell.source)
            if cell.cell_type == "code":
                outputs += [(index, output) for output in cell.get("outputs", [])]
        pointer = False
        for index, output in sorted(outputs, key=lambda item: _rank(item[1])):
            if _rank(output) == 0:  # a widget's state is what its slide is for
                budget -= _words(_joined(output["data"]["text/html"]))
                continue
            used, to_notes = _fit_output(output, max(budget, 0))
            budget -= used
            if to_notes is not None:
                if not pointer:
                    pointer = True
                    budget -= _words(_POINTER)
                moved.setdefault(index, []).append(to_notes)
                dropped.add(id(output))
    fitted, pointed = [], set()
    for index, cell in enumerate(cells):
        fitted.append(cell)
        if index not in moved:
            continue
        cell.outputs = [output for output in cell.outputs if id(output) not in dropped]
        slide = next(n for n, members in enumerate(slides) if index in members)
        if slide not in pointed:  # one pointer per slide
            pointed.add(slide)
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=_POINTER))
        notes = nbformat.v4.new_markdown_cell("\n\n".join(moved[index]))
        notes.metadata["slideshow"] = {"slide_type": "notes"}
        fitted.append(notes)
    return fitted


#: An explorer with at most this many controls shows its settings on the slide; one with
#: more (the convolution explorer's eight) lists them in the speaker notes only.
_FEW_SETTINGS = 3


def _widget_snapshot(state: dict, model_id: str) -> tuple[str, str] | None:
    """The saved state of an explorer widget: its title and results as static HTML, and
    its settings as a sentence for the speaker notes.

    A deck has no kernel, so a widget cannot run in it; its last rendered state (the
    notebook keeps it in its metadata) is shown instead, with a pointer to ``make app``.
    """
    root = state.get(model_id)
    if root is None:
        return None
    parts, settings = [], []
    for child in root.get("state", {}).get("children", []):
        model = state.get(str(child).removeprefix("IPY_MODEL_"), {})
        values = model.get("state", {})
        if model.get("model_name") == "HTMLModel":
            parts.append(values.get("value", ""))
        elif "description" in values:
            if "index" in values and "_options_labels" in values:
                value = values["_options_labels"][values["index"]]
            else:
                value = values.get("value")
            settings.append(f"{values['description']} = {value}")
    if not parts:
        return None
    title, results = parts[0], "".join(parts[1:])
    listed = "Saved settings of the explorer: " + ", ".join(settings) + "."
    if len(settings) <= _FEW_SETTINGS:  # on the slide, beside the title
        title += " · " + html.escape(", ".join(settings))
    shown = (
        f"<div class='{_WIDGET_CLASS}'><p>{title}</p>{results}"
        "<p><em>Live, with its sliders: <code>make app</code></em></p></div>"
    )
    return shown, listed


def _freeze_widgets(nb: nbformat.NotebookNode) -> None:
    """Replace each widget output by :func:`_widget_snapshot` of its saved state, in place;
    its settings join the cell's speaker notes."""
    saved = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    state = saved.get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            view = output.get("data", {}).get(_WIDGET_VIEW)
            if view is None:
                continue
            snapshot = _widget_snapshot(state, view.get("model_id", ""))
            if snapshot is not None:
                output["data"] = {"text/html": snapshot[0]}
                notes = _lecture_text(cell, LECTURE_NOTES_KEY)
                cell.metadata[LECTURE_NOTES_KEY] = "\n\n".join(filter(None, (notes, snapshot[1])))


def _exporter(lecture: bool):
    from jinja2 import DictLoader
    from nbconvert.exporters import SlidesExporter

    return SlidesExporter(
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        reveal_url_prefix=REVEAL_PREFIX,
        reveal_theme=REVEAL_THEME,
        reveal_number="c/t",
        # nbconvert's own defaults, made explicit: the template's CSS uses the height.
        reveal_width="960",
        reveal_height="700",
        # A lecture slide shows results, not In[ ]/Out[ ] prompts.
        exclude_input_prompt=lecture,
        exclude_output_prompt=lecture,
        require_js_url=VENDOR["require.js"],
        jquery_url=VENDOR["jquery"],
        mathjax_url=f"{VENDOR['mathjax']}?config={MATHJAX_CONFIG}",
        # Unused once the template drops their blocks; blank so no CDN URL remains.
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
        jupyter_widgets_base_url="",
        widget_renderer_url="",
    )


def deck_name(notebook_path: str | os.PathLike, *, lecture: bool = True) -> str:
    """The file name of a lesson's deck: ``NN_name.slides.html`` (lecture) or
    ``NN_name.full.slides.html`` (every cell, code included)."""
    stem = Path(notebook_path).stem
    return stem + (DECK_SUFFIX if lecture else FULL_DECK_SUFFIX)


def build_deck(
    notebook_path: str | os.PathLike, out_dir: str | os.PathLike, *, lecture: bool = True
) -> Path:
    """Write the offline reveal.js deck of one lesson.

    Args:
        notebook_path: a lesson notebook, e.g. ``notebooks/02_depthwise_separable.ipynb``.
        out_dir: the folder to write the deck to; the vendored files must be in its
            ``node_modules`` (``slides/`` after ``npm ci --prefix slides``).
        lecture: the lecture deck (:func:`lecture_notebook`), ``<stem>.slides.html``;
            with False, every cell with its code, ``<stem>.full.slides.html``.

    Returns:
        The path of the deck.

    Raises:
        VendorMissingError: a vendored file is missing (nothing is written).
        ValueError: the notebook has no visible cell.
    """
    out_dir = Path(out_dir)
    _check_vendor(out_dir)
    return _write_deck(_exporter(lecture), Path(notebook_path), out_dir, lecture)


def _write_deck(exporter, notebook_path: Path, out_dir: Path, lecture: bool) -> Path:
    nb = _load(notebook_path)
    if lecture:
        nb = lecture_notebook(nb)
    nb = _without_widgets(nb)
    resources = {"metadata": {"name": notebook_path.stem, "path": str(notebook_path.parent)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    deck = out_dir / deck_name(notebook_path, lecture=lecture)
    # Written whole, then renamed: a failed build never leaves half a deck. The
    # temporary name still ends in .slides.html, so git ignores it too.
    partial = deck.with_name(f"{notebook_path.stem}.partial{DECK_SUFFIX}")
    partial.write_text(body, encoding="utf-8")
    partial.replace(deck)
    return deck


def build_all(
    notebooks_dir: str | os.PathLike, out_dir: str | os.PathLike, *, lecture: bool = True
) -> list[Path]:
    """Write the deck of every lesson, ``notebooks_dir/[0-9][0-9]_*.ipynb``, sorted.

    Args:
        notebooks_dir: the lessons' folder (``notebooks/``).
        out_dir: the folder for the decks, with the vendored files in its
            ``node_modules`` (``slides/``).
        lecture: the lecture decks (default) or, with False, the full ones
            (:func:`build_deck`).

    Returns:
        The decks' paths, in lesson order.

    Raises:
        VendorMissingError: a vendored file is missing (checked before any deck
            is written).
        FileNotFoundError: ``notebooks_dir`` holds no lesson.
    """
    out_dir = Path(out_dir)
    _check_vendor(out_dir)
    from mobilecourse.lessons import lesson_paths

    lessons = lesson_paths(notebooks_dir)
    if not lessons:
        raise FileNotFoundError(f"no lesson notebooks (NN_name.ipynb) in {notebooks_dir}")
    exporter = _exporter(lecture)
    return [_write_deck(exporter, lesson, out_dir, lecture) for lesson in lessons]


#: The query that opens a deck as reveal.js's print view, one page per slide: fragments
#: shown at once, and a slide never spread over several pages (figures are fitted first).
PRINT_QUERY = "?print-pdf&pdfSeparateFragments=false&pdfMaxPagesPerSlide=1"

#: Chromium for the handouts (``MOBILECOURSE_CHROMIUM`` overrides it).
CHROMIUM = "/usr/bin/chromium"

_PRINT_READY = """() => window.Reveal && document.documentElement.classList.contains('print-pdf')
    && document.querySelectorAll('.pdf-page').length > 0
    && Reveal.getSlides().every(slide => slide.hasAttribute('data-fitted'))"""


def write_handouts(
    decks: list, *, chromium: str | os.PathLike | None = None, browser=None
) -> list[Path]:
    """Print each deck to a PDF next to it, one page per slide (``NN_name.pdf``).

    Chromium prints reveal.js's own print view (:data:`PRINT_QUERY`) of the deck, opened
    from disk, after MathJax has typeset it and the figures are fitted: no network.

    Args:
        decks: deck files written by :func:`build_deck` or :func:`build_all`.
        chromium: the Chromium executable (default: ``$MOBILECOURSE_CHROMIUM`` or
            :data:`CHROMIUM`).
        browser: a Playwright Chromium browser to print with instead (tests pass theirs).

    Returns:
        The PDFs' paths, in the order of ``decks``.

    Raises:
        FileNotFoundError: Chromium or a deck is missing.
        ImportError: Playwright is not installed (``pip install -e ".[dev]"``).
    """
    decks = [Path(deck) for deck in decks]
    for deck in decks:
        if not deck.is_file():
            raise FileNotFoundError(f"no deck {deck}: build it first (make slides)")
    if browser is not None:
        return [_print(browser, deck) for deck in decks]
    chromium = Path(chromium or os.environ.get("MOBILECOURSE_CHROMIUM", CHROMIUM))
    if not chromium.is_file():
        raise FileNotFoundError(
            f"the handouts need Chromium at {chromium} (Debian/Ubuntu: sudo apt-get install "
            "chromium), or set MOBILECOURSE_CHROMIUM to its path"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            return [_print(browser, deck) for deck in decks]
        finally:
            browser.close()


def _print(browser, deck: Path) -> Path:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        page.goto(deck.resolve().as_uri() + PRINT_QUERY)
        page.wait_for_function(_PRINT_READY, timeout=60_000)
        page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")
        pdf = deck.with_name(deck.name.removesuffix(DECK_SUFFIX) + ".pdf")
        partial = pdf.with_name(pdf.stem + ".partial.pdf")
        page.pdf(path=str(partial), prefer_css_page_size=True, print_background=True)
        partial.replace(pdf)
        return pdf
    finally:
        page.close()


def pdf_page_count(pdf: str | os.PathLike) -> int:
    """The number of pages of a PDF that Chromium wrote (its ``/Type /Page`` objects)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", Path(pdf).read_bytes()))


def expected_slide_count(notebook_path, *, horizontal: bool = False) -> int:
    """The number of slides reveal.js shows for a notebook's deck.

    It follows nbconvert's slide structure: the first cell that is neither
    ``skip`` nor ``notes`` opens the first slide whatever its type; after it,
    every ``slide`` cell opens a horizontal slide (a column) and every ``slide``
    or ``subslide`` cell opens a vertical slide in it. ``fragment`` and ``-``
    cells add to the current slide, ``notes`` become speaker notes and ``skip``
    cells are left out, so none of them adds a slide. As nbconvert wraps every
    column in a section of its own, each column is a reveal.js "stack" and only
    its vertical slides count.

    Args:
        notebook_path: a notebook file, or an ``nbformat.NotebookNode``.
        horizontal: count only the columns instead.

    Returns:
        By default the total, what ``Reveal.getTotalSlides()`` returns for the deck
        (vertical slides included; a slide whose cell has
        ``slideshow.data.visibility == "uncounted"`` is not counted, as in reveal.js).
        With ``horizontal=True``, ``Reveal.getHorizontalSlides().length``.

    Raises:
        ValueError: the notebook has no visible cell (nbconvert refuses it too).
    """
    nb = _load(notebook_path)
    columns = 0
    total = 0
    seen_visible = False
    for cell in nb.cells:
        slideshow = cell.get("metadata", {}).get("slideshow", {}) or {}
        slide_type = slideshow.get("slide_type", "-")
        if not seen_visible:
            if slide_type in ("skip", "notes"):
                continue
            seen_visible = True
            slide_type = "slide"
        if slide_type not in ("slide", "subslide"):
            continue
        columns += slide_type == "slide"
        data = slideshow.get("data", {}) or {}
        total += data.get("visibility") != "uncounted"
    if not seen_visible:
        raise ValueError("all cells are skip or notes: the notebook has no slide")
    return columns if horizontal else total
