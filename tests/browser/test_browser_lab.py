"""JupyterLab in Chromium: open a lesson, run all cells, operate its widget.

The lesson is copied to a temporary folder first, so JupyterLab's autosave never
touches ``notebooks/``. Lesson 03 is used because it is quick to run and ends its theory
with the SqueezeNet design-space explorer.
"""

import json
import re
import shutil
import sys
import urllib.request

from browser_support import REPO, SCREENSHOTS, free_port, server

LESSON = "03_fire_modules.ipynb"
TOKEN = "mobilecourse-browser-test"


def _kernels(base: str) -> list:
    with urllib.request.urlopen(f"{base}/api/kernels?token={TOKEN}", timeout=10) as response:
        return json.load(response)


def _shutdown_kernels(base: str) -> None:
    for kernel in _kernels(base):
        request = urllib.request.Request(
            f"{base}/api/kernels/{kernel['id']}?token={TOKEN}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()


def test_run_all_then_operate_the_fire_explorer(page, tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(REPO / "notebooks" / LESSON, root / LESSON)
    settings = tmp_path / "settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    # no news or update checks (no network here) and no toast asking about them
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"checkForUpdates": False, "fetchNews": "false"})
    )
    # render every cell, not only those in view, so the widget exists wherever it scrolls
    notebook_settings = settings / "@jupyterlab" / "notebook-extension"
    notebook_settings.mkdir(parents=True)
    (notebook_settings / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={TOKEN}", "--allow-root",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    env = {
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    with server(command, f"{base}/api/status", cwd=root, env=env, log=tmp_path / "lab.log"):
        page.goto(f"{base}/lab/tree/{LESSON}?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_function(  # the kernel has started
            "() => document.querySelector('.jp-Notebook-ExecutionIndicator')"
            " && document.querySelector('.jp-Notebook-ExecutionIndicator')"
            ".getAttribute('data-status') === 'idle'",
            timeout=60_000,
        )
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()

        explorer = page.locator(
            ".widget-vbox", has_text="SqueezeNet design-space explorer"
        ).last  # the live view of this run
        explorer.locator(".noUi-handle").first.wait_for(state="attached", timeout=180_000)
        page.wait_for_function(  # every cell has run: no "[*]" prompt is left
            "() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
            ".some(p => p.innerText.includes('*'))",
            timeout=180_000,
        )
        stderr = "application/vnd.jupyter.stderr"
        errors = page.locator(f".jp-OutputArea-output[data-mime-type='{stderr}']")
        assert errors.count() == 0, errors.all_inner_texts()
        explorer.scroll_into_view_if_needed()
        result = explorer.locator(".widget-html-content").last
        before = result.text_content()  # innerText is empty off-screen
        assert "1,248,424" in before, before  # SqueezeNet v1.0 (Table 1) at the defaults

        slider = explorer.locator(".widget-slider", has_text="squeeze")
        readout = slider.locator(".widget-readout")
        start = readout.text_content().strip()
        handle = slider.locator(".noUi-handle")
        handle.focus()
        handle.press("ArrowRight")
        page.wait_for_function(
            "([el, old]) => el.textContent !== old",
            arg=[result.element_handle(), before],
            timeout=30_000,
        )
        after = result.text_content()
        assert readout.text_content().strip() != start
        assert after != before
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        explorer.screenshot(path=SCREENSHOTS / "lab_fire_explorer.png")

        _shutdown_kernels(base)
        assert _kernels(base) == []
