"""The Voila calculator app in Chromium: the keyboard moves sliders, dropdowns are picked,
and each calculator's numbers follow.

With ``MOBILECOURSE_APP_KERNEL_PYTHON=/path/to/python`` (an environment with ipywidgets 7,
as ``.ci/colab-like`` runs them) the same tests run with that Python's kernel behind Voila's
ipywidgets 7 front end, and their screenshots go to ``build/screenshots/ipywidgets7``.
"""

import re

import pytest
from browser_support import APP_SCREENSHOTS as SCREENSHOTS  # per kernel: ipywidgets 7 apart
from browser_support import SLIDER_HANDLE, app_kernel, free_port, kernels_of, server
from playwright.sync_api import expect

from mobilecourse import app, design, widgets


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app served by Voila on a free loopback port for the module's tests.

    Its kernels run Voila's own environment's Python, or ``MOBILECOURSE_APP_KERNEL_PYTHON``
    (ipywidgets 7; :func:`browser_support.app_kernel`); afterwards the fixture fails unless
    the server started a kernel and every one ran that Python.
    """
    folder = tmp_path_factory.mktemp("app")
    notebook = app.write_app(folder)
    kernel = app_kernel(folder)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [*app.voila_command(notebook, port), *kernel.voila_args]
    log = folder / "voila.log"
    with (
        server(command, url, cwd=folder, env=kernel.env, log=log) as process,
        kernels_of(process) as kernels,
    ):
        yield url
    kernel.check(kernels)


def standard_macs(k: int, m: int, n: int, d: int) -> int:
    """Dk * Dk * M * N * Df * Df (MobileNet, Howard et al. 2017, eq. 2), written out here."""
    return k * k * m * n * d * d


def test_kernel_slider_updates_the_macs(page, app_url):
    page.goto(app_url)
    conv = page.locator(".widget-vbox", has_text="convolution cost explorer").first
    first_cell = page.locator("td", has_text=re.compile(r"^\s*standard\s*$"))
    standard_row = conv.locator("tr").filter(has=first_cell)
    # Table 3 of the MobileNet paper: the 3x3 layer on 14x14x512 -> 512
    expected = f"{standard_macs(3, 512, 512, 14):,}"
    page.wait_for_function(
        "text => document.body.innerText.includes(text)", arg=expected, timeout=90_000
    )
    assert expected in standard_row.inner_text()
    assert expected == "462,422,016"

    handle = conv.locator(".widget-slider", has_text="kernel size").locator(SLIDER_HANDLE)
    handle.focus()
    handle.press("ArrowRight")
    bigger = f"{standard_macs(4, 512, 512, 14):,}"
    page.wait_for_function(
        "text => document.body.innerText.includes(text)", arg=bigger, timeout=30_000
    )
    assert bigger in standard_row.inner_text()
    readout = conv.locator(".widget-slider", has_text="kernel size").locator(".widget-readout")
    assert readout.inner_text().strip() == "4"

    handle.press("ArrowLeft")
    handle.press("ArrowLeft")
    smaller = f"{standard_macs(2, 512, 512, 14):,}"
    page.wait_for_function(
        "text => document.body.innerText.includes(text)", arg=smaller, timeout=30_000
    )
    row = standard_row.inner_text()
    assert smaller in row and not re.search(re.escape(bigger), row)
    assert "import" not in page.locator("body").inner_text()  # no code is shown
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "app_calculators.png", full_page=True)


def _shows(page, text: str, timeout: int = 60_000) -> None:
    page.wait_for_function(
        "text => document.body.innerText.includes(text)", arg=text, timeout=timeout
    )


def _press(calculator, label: str, key: str) -> None:
    handle = calculator.locator(".widget-slider", has_text=label).locator(SLIDER_HANDLE)
    handle.focus()
    handle.press(key)


def test_every_calculator_follows_its_controls(page, app_url):
    page.goto(app_url)
    _shows(page, "462,422,016", timeout=120_000)  # the app has run every cell
    box = lambda title: page.locator(".widget-vbox", has_text=title).first  # noqa: E731

    # MobileNet v1: α 1.0 -> 0.75 by keyboard; MobileNet's Table 5 row, 325M
    mobilenet = box("MobileNet v1 explorer")
    _shows(page, "568,740,352")
    _press(mobilenet, "width multiplier", "ArrowLeft")
    _shows(page, "325,400,448")

    # SqueezeNet: squeeze ratio 0.125 -> 0.25
    fire = box("SqueezeNet design-space explorer")
    _press(fire, "squeeze ratio", "ArrowRight")
    _shows(page, f"{widgets.squeezenet_size(0.25, 0.5)['params']:,}")

    # ShuffleNet: groups 3 -> 8 (Table 1: 137M), then the scale factor 1x -> 0.5x
    shuffle = box("ShuffleNet explorer")
    _shows(page, "Table 1: 137M")
    shuffle.locator(".widget-dropdown", has_text="groups g").locator("select").select_option("8")
    _shows(page, "136,829,952")
    scale = shuffle.locator(".widget-dropdown", has_text="scale factor").locator("select")
    scale.select_option(label="0.5x")
    _shows(page, "ShuffleNet 0.5x, g = 8")
    assert "Table 1 lists 1x only" in shuffle.inner_text()

    # MobileNetV2: t 6 -> 5, then the input size 224 -> 192
    v2 = box("MobileNetV2 explorer")
    _shows(page, "300,774,272")
    _press(v2, "expansion factor", "ArrowLeft")
    _shows(page, f"{widgets.mobilenet_v2_costs(5, 1.0, 224)['macs']:,}")
    _press(v2, "input size", "ArrowLeft")
    _shows(page, f"{widgets.mobilenet_v2_costs(5, 1.0, 192)['macs']:,}")
    assert "At 192x192" in v2.inner_text()

    # Roofline: a 3x3 convolution on 56x56x64 -> 64, then depthwise, a smaller input by
    # keyboard, and a standard convolution in 8 groups; MACs and float32 bytes by hand
    roofline = box("Roofline explorer")
    _shows(page, f"{56 * 56 * 9 * 64 * 64:,}")
    roofline.locator(".widget-dropdown", has_text="layer").locator("select").select_option(
        "depthwise"
    )
    _shows(page, f"{56 * 56 * 9 * 64:,}")
    _shows(page, f"{4 * (56 * 56 * 64 + 9 * 64 + 56 * 56 * 64):,}")  # in, weights, out
    _press(roofline, "input size", "ArrowLeft")  # 56 -> 55
    _shows(page, f"{55 * 55 * 9 * 64:,}")
    roofline.locator(".widget-dropdown", has_text="layer").locator("select").select_option(
        "standard convolution"
    )
    roofline.locator(".widget-dropdown", has_text="groups g").locator("select").select_option("8")
    _shows(page, f"{55 * 55 * 9 * (64 // 8) * 64:,}")
    assert "8 groups, stride 1: 55x55x64" in roofline.inner_text()

    # Deep Compression: Table 1's densities at 6 bits beside Table 2, then every weight
    # kept (no index; 1,244,448 kernel weights, each kernel a multiple of 8) at 6 and 5 bits
    deep = box("Deep Compression explorer")
    _shows(page, "0.47 MB (10.2x) at 6 bit")
    kept = deep.locator(".widget-dropdown", has_text="weights kept").locator("select")
    kept.select_option(label="100% of each kernel")
    _shows(page, f"{1_244_448 * 6 // 8 + 26 * 4 * 2**6 + 4 * 3_976:,}")  # codes, codebooks, biases
    _press(deep, "code bits", "ArrowLeft")  # 6 -> 5
    _shows(page, f"{1_244_448 * 5 // 8 + 26 * 4 * 2**5 + 4 * 3_976:,}")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for factory, title in (
        ("conv_cost_explorer", "convolution cost explorer"),
        ("mobilenet_explorer", "MobileNet v1 explorer"),
        ("fire_explorer", "SqueezeNet design-space explorer"),
        ("shufflenet_explorer", "ShuffleNet explorer"),
        ("mobilenet_v2_explorer", "MobileNetV2 explorer"),
        ("roofline_explorer", "Roofline explorer"),
        ("compression_explorer", "Deep Compression explorer"),
    ):
        box(title).screenshot(path=SCREENSHOTS / f"app_{factory}.png")
    assert {f for _, _, _, f in app.CALCULATORS} == {
        "conv_cost_explorer", "mobilenet_explorer", "fire_explorer", "shufflenet_explorer",
        "mobilenet_v2_explorer", "roofline_explorer", "compression_explorer",
        "network_designer",  # lesson 08's, not moved here
    }  # fmt: skip


def _shows_in(box, text: str, timeout: int = 60_000) -> None:
    """Wait until ``text`` is in ``box`` (not elsewhere on the page)."""
    expect(box).to_contain_text(text, timeout=timeout)


def test_network_designer_rows_follow_the_buttons_and_boxes(page, app_url):
    """The designer: add and remove rows with the buttons, type filters and groups, change a
    row's kind and the start, and export; the numbers are those of ``design.design_costs``."""
    page.goto(app_url)
    _shows(page, "462,422,016", timeout=120_000)  # the app has run every cell
    designer = page.locator(".widget-vbox", has_text="Network designer").first
    rows = designer.locator(".designer-row")
    start_shape, classes, start_rows = design.STARTS["digits_cnn 1.0x (lesson 08)"]

    def macs(rows_now, shape=start_shape):
        return f"{design.design_costs(rows_now, shape, classes).macs:,}"

    current = list(start_rows)
    _shows_in(designer, macs(current))
    assert rows.count() == 4

    designer.get_by_role("button", name="+ add row").click()  # a stride-1 copy of the last row
    _shows_in(designer, macs([*current, current[-1]._replace(strides=1)]))
    assert rows.count() == 5
    rows.nth(4).locator("button").click()  # its remove button
    expect(rows).to_have_count(4)
    _shows_in(designer, macs(current))

    first_filters = rows.nth(0).locator("input").first  # kind, then filters
    first_filters.fill("8")
    first_filters.press("Enter")
    current[0] = current[0]._replace(filters=8)
    _shows_in(designer, macs(current))

    groups = rows.nth(1).locator("input").nth(2)  # filters, expansion, groups
    groups.fill("2")
    groups.press("Enter")
    _shows_in(designer, "only a conv row is grouped")  # a separable block is not grouped
    rows.nth(1).locator("select").first.select_option("conv")
    current[1] = current[1]._replace(kind="conv", groups=2)  # 2 divides 8 and 32
    _shows_in(designer, macs(current))
    expect(designer).not_to_contain_text("only a conv row is grouped")

    designer.get_by_role("button", name="export to Keras and profile").click()
    _shows_in(designer, "the design's numbers ✓", timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 2400})  # the page scrolls inside Voila
    designer.screenshot(path=SCREENSHOTS / "app_network_designer.png")

    designer.locator(".widget-dropdown", has_text="start from").locator("select").select_option(
        "MobileNetV2 1.0-224"
    )
    _shows_in(designer, "300,774,272")  # MobileNetV2's Table 4: 300M
    expect(rows).to_have_count(19)
