"""The cost calculators as a standalone web app (Voila), for lectures without code.

:func:`calculators_notebook` is the app: a title, the counting conventions and one
cell per calculator of :mod:`mobilecourse.widgets`. :func:`serve` writes it to a
temporary folder and runs Voila on it, bound to 127.0.0.1, until interrupted
(``make app`` or ``python -m mobilecourse app``). Voila shows only the widgets and
Markdown, never the code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mobilecourse._validate import integer

__all__ = [
    "CALCULATORS",
    "LESSON_TITLES",
    "calculators_notebook",
    "serve",
    "voila_command",
    "write_app",
]

#: (lesson, heading, explanation, widgets factory) of each calculator, in the app's order;
#: the app groups them under their lesson's title (:data:`LESSON_TITLES`).
CALCULATORS = (
    (
        "02",
        "Convolution cost",
        "MACs and parameters of one layer: standard, depthwise separable (MobileNet) and "
        "group convolution (ShuffleNet), with MobileNet's width multiplier α and "
        "resolution multiplier ρ. The defaults are MobileNet's Table 3 layer "
        "(14×14×512 → 512, 3×3).",
        "conv_cost_explorer",
    ),
    (
        "02",
        "MobileNet v1",
        "The whole network profiled at width α and input size (Howard et al. 2017, "
        "Tables 6 and 7).",
        "mobilenet_explorer",
    ),
    (
        "03",
        "SqueezeNet design space",
        "Model size as the squeeze ratio and the share of 3×3 filters change "
        "(Iandola et al. 2016, Figure 3).",
        "fire_explorer",
    ),
    (
        "04",
        "ShuffleNet",
        "The built network's complexity for groups g and scale factor s against Table 1, and "
        "one unit against ResNet's and ResNeXt's (Zhang et al. 2017, Section 3.2).",
        "shufflenet_explorer",
    ),
    (
        "04",
        "Roofline",
        "One layer's MACs, bytes moved and arithmetic intensity (MACs per byte) under this "
        "machine's roofline, measured when the app starts: attainable GMAC/s = min(P, B·I), "
        "memory- or compute-bound (Williams, Waterman and Patterson 2009).",
        "roofline_explorer",
    ),
    (
        "05",
        "MobileNetV2",
        "MACs, parameters and peak activation memory for expansion factor t, width α and "
        "input size, beside MobileNet v1 and ShuffleNet 2x (Sandler et al. 2018, Tables 3, 4).",
        "mobilenet_v2_explorer",
    ),
    (
        "07",
        "Deep Compression",
        "SqueezeNet pruned, weight-shared with k-means and stored with relative indices, with "
        "and without Huffman coding: the bytes part by part against the paper's Table 2 "
        "(Iandola et al. 2016; Han et al. 2016). Lesson 07's untrained weights.",
        "compression_explorer",
    ),
    (
        "08",
        "Network designer",
        "A network row by row (convolution, depthwise separable block, inverted residual "
        "bottleneck, max-pool), or a course model as a start: MACs, parameters, peak "
        "activation memory and the stored numbers at 32, 16 and 8 bits, against lesson 08's "
        "brief, and an export to Keras that profiles the built model.",
        "network_designer",
    ),
)

#: The heading of each lesson that has calculators in the app: the lesson's own title
#: (a test compares them with the notebooks' first lines).
LESSON_TITLES = {
    "02": "02 · Depthwise separable convolutions: MobileNet v1",
    "03": "03 · Fire modules: SqueezeNet",
    "04": "04 · Group convolutions and channel shuffle (ShuffleNet v1)",
    "05": "05 · Inverted residuals and linear bottlenecks (MobileNetV2)",
    "07": "07 · Quantization: fewer bits",
    "08": "08 · Deploy capstone: design under a budget",
}

APP_NAME = "calculators.ipynb"


def calculators_notebook():
    """The app as an ``nbformat`` notebook (no outputs; Voila executes it)."""
    import nbformat

    cells = [
        nbformat.v4.new_markdown_cell(
            "# Light-weight CNN cost calculators\n\n"
            "Counting conventions of the course: a **MAC** is one multiply-accumulate; "
            "**FLOPs = 2 × MACs**; MACs count convolution and dense kernels per image; "
            "parameters without bias here, as in the papers. Move a slider (or focus it "
            "and use the arrow keys) to update the numbers."
        ),
        nbformat.v4.new_code_cell("from mobilecourse import widgets"),
    ]
    lesson = None
    for number, heading, text, factory in CALCULATORS:
        if number != lesson:
            lesson = number
            cells.append(nbformat.v4.new_markdown_cell(f"## Lesson {LESSON_TITLES[number]}"))
        cells.append(nbformat.v4.new_markdown_cell(f"### {heading}\n\n{text}"))
        cells.append(nbformat.v4.new_code_cell(f"widgets.{factory}()"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    return notebook


def write_app(folder) -> Path:
    """Write :func:`calculators_notebook` to ``folder``; return the notebook's path."""
    import nbformat

    path = Path(folder) / APP_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(calculators_notebook(), path)
    return path


def voila_command(notebook, port: int) -> list[str]:
    """The Voila command line serving ``notebook`` on 127.0.0.1:``port``, no browser."""
    port = integer(port, "port", 1, maximum=65535)
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or shutil.which("voila")
    if voila is None:
        raise RuntimeError(
            "voila is not installed in this environment; run `make setup` (it installs the "
            "course's pinned dependencies, voila included)"
        )
    return [
        voila,
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--theme=light",
        "--show_tracebacks=True",
        # kernels are shut down by the page's unload beacon, which carries no XSRF token
        "--Voila.tornado_settings=disable_check_xsrf=True",
    ]


def serve(port: int = 8866) -> int:
    """Serve the calculators until Ctrl-C; return Voila's exit status.

    Raises:
        TypeError: ``port`` is not an integer.
        ValueError: ``port`` outside 1 to 65535.
        RuntimeError: Voila is not installed.
    """
    from mobilecourse import QUIET_TF_ENV

    with tempfile.TemporaryDirectory(prefix="mobilecourse-app-") as folder:
        command = voila_command(write_app(folder), port)
        print(f"calculators at http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
        env = {**os.environ, **QUIET_TF_ENV}
        try:
            return subprocess.call(command, cwd=folder, env=env)
        except KeyboardInterrupt:
            return 0
