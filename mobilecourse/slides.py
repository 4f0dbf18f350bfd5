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

import os
from pathlib import Path

import nbformat

__all__ = [
    "DECK_SUFFIX",
    "MATHJAX_CONFIG",
    "REVEAL_PREFIX",
    "REVEAL_THEME",
    "VENDOR",
    "VendorMissingError",
    "LECTURE_CODE_TAG",
    "LECTURE_TAG",
    "build_all",
    "build_deck",
    "expected_slide_count",
    "lecture_notebook",
    "missing_vendor",
]

#: File name ending of a deck: ``NN_name.ipynb`` becomes ``NN_name.slides.html``.
DECK_SUFFIX = ".slides.html"

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
</style>
{%- endblock html_head_css -%}
{% block footer_js %}
{{ super() }}
<script>
// The AMD build of reveal.js defines no global: expose the initialised API as
// window.Reveal for the browser console and the browser tests.
require(["{{ resources.reveal.url_prefix }}/dist/reveal.js"], function (Reveal) {
    window.Reveal = Reveal;
});
</script>
{% endblock footer_js %}
"""

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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
        if cell.cell_type == "markdown":
            if LECTURE_TAG in tags:
                keep(cell)
                continue
            shown, notes = _on_slide(cell.source, _slide_type(cell) in _OPENS_SLIDE)
            if shown:
                keep(nbformat.v4.new_markdown_cell(shown), _slide_type(cell))
            else:
                leave_out(cell)
            if notes:
                keep(nbformat.v4.new_markdown_cell(notes), "notes")
        elif cell.cell_type == "code":
            if not cell.get("outputs"):
                leave_out(cell)
                continue
            if LECTURE_CODE_TAG not in tags:
                cell.metadata["transient"] = {"remove_source": True}
            keep(cell)
        else:
            keep(cell)
    nb.cells = cells
    return nb


def _exporter():
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
        require_js_url=VENDOR["require.js"],
        jquery_url=VENDOR["jquery"],
        mathjax_url=f"{VENDOR['mathjax']}?config={MATHJAX_CONFIG}",
        # Unused once the template drops their blocks; blank so no CDN URL remains.
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
        jupyter_widgets_base_url="",
        widget_renderer_url="",
    )


def build_deck(
    notebook_path: str | os.PathLike, out_dir: str | os.PathLike, *, lecture: bool = False
) -> Path:
    """Write the offline reveal.js deck of one lesson.

    Args:
        notebook_path: a lesson notebook, e.g. ``notebooks/02_depthwise_separable.ipynb``.
        out_dir: the folder to write ``<notebook stem>.slides.html`` to; the
            vendored files must be in its ``node_modules`` (``slides/`` after
            ``npm ci --prefix slides``).
        lecture: write the lecture view instead (:func:`lecture_notebook`), as
            ``<notebook stem>.lecture.slides.html``.

    Returns:
        The path of the deck.

    Raises:
        VendorMissingError: a vendored file is missing (nothing is written).
        ValueError: the notebook has no visible cell.
    """
    out_dir = Path(out_dir)
    _check_vendor(out_dir)
    return _write_deck(_exporter(), Path(notebook_path), out_dir, lecture)


def _write_deck(exporter, notebook_path: Path, out_dir: Path, lecture: bool = False) -> Path:
    nb = _without_widgets(_load(notebook_path))
    if lecture:
        nb = lecture_notebook(nb)
    resources = {"metadata": {"name": notebook_path.stem, "path": str(notebook_path.parent)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    stem = notebook_path.stem + (".lecture" if lecture else "")
    deck = out_dir / (stem + DECK_SUFFIX)
    # Written whole, then renamed: a failed build never leaves half a deck. The
    # temporary name still ends in .slides.html, so git ignores it too.
    partial = deck.with_name(f"{stem}.partial{DECK_SUFFIX}")
    partial.write_text(body, encoding="utf-8")
    partial.replace(deck)
    return deck


def build_all(
    notebooks_dir: str | os.PathLike, out_dir: str | os.PathLike, *, lecture: bool = False
) -> list[Path]:
    """Write the deck of every lesson, ``notebooks_dir/[0-9][0-9]_*.ipynb``, sorted.

    Args:
        notebooks_dir: the lessons' folder (``notebooks/``).
        out_dir: the folder for the decks, with the vendored files in its
            ``node_modules`` (``slides/``).
        lecture: write the lecture views instead (:func:`build_deck`).

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
    exporter = _exporter()
    return [_write_deck(exporter, lesson, out_dir, lecture) for lesson in lessons]


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
