"""The Voila calculator app in Chromium: the keyboard moves a slider, the MACs follow."""

import re

from browser_support import SCREENSHOTS, free_port, server

from mobilecourse import app


def standard_macs(k: int, m: int, n: int, d: int) -> int:
    """Dk * Dk * M * N * Df * Df (MobileNet, Howard et al. 2017, eq. 2), written out here."""
    return k * k * m * n * d * d


def test_kernel_slider_updates_the_macs(page, tmp_path):
    notebook = app.write_app(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = app.voila_command(notebook, port)
    with server(command, url, cwd=tmp_path, log=tmp_path / "voila.log"):
        page.goto(url)
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

        handle = conv.locator(".widget-slider", has_text="kernel size").locator(".noUi-handle")
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
