"""JupyterLab in Chromium: open a lesson, run all cells, operate its widget.

The lesson is copied to a temporary folder first, its outputs cleared, so JupyterLab's
autosave never touches ``notebooks/`` and a numbered prompt on every code cell means this
run has executed it. Lesson 03 is used because it is quick to run and ends its theory
with the SqueezeNet design-space explorer. When the test fails it says what the page
showed: the prompts, error outputs, browser console and the server's log.
"""

import json
import re
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser_support import REPO, SCREENSHOTS, free_port, server
from playwright.sync_api import Error as PlaywrightError

LESSON = "03_fire_modules.ipynb"
TOKEN = "mobilecourse-browser-test"
CODE_PROMPTS = ".jp-CodeCell .jp-InputArea-prompt"


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
    notebook = nbformat.read(REPO / "notebooks" / LESSON, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, root / LESSON)
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
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    log = tmp_path / "lab.log"
    with server(command, f"{base}/api/status", cwd=root, env=env, log=log):
        failure = None
        try:
            _run_all_and_operate(page, base)
        except (PlaywrightError, AssertionError) as error:
            failure = f"{error}\n\n{_diagnosis(page, console, log)}"
        if failure:  # failed outside the handler, so the message is not printed twice
            pytest.fail(failure, pytrace=False)
        _shutdown_kernels(base)
        assert _kernels(base) == []


def _diagnosis(page, console: list[str], log: Path) -> str:
    """What the page and the server showed, for a failure message; a screenshot too."""
    lines = []
    try:
        prompts = page.locator(CODE_PROMPTS).all_inner_texts()
        lines.append("code-cell prompts: " + " ".join(p.strip() for p in prompts))
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        suspicious = [o for o in outputs if re.search(r"error|widget|traceback", o, re.I)]
        lines += ["outputs mentioning error/widget:", *(o[:500] for o in suspicious[-5:])]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "lab_failure.png", full_page=True)
        lines.append(f"screenshot: {SCREENSHOTS / 'lab_failure.png'}")
    except PlaywrightError as error:  # the page itself is gone
        lines.append(f"page unreadable: {error}")
    lines += ["browser console (last 20):", *console[-20:]]
    server_log = log.read_text(errors="replace").splitlines() if log.exists() else []
    lines += ["server log (last 30 lines):", *server_log[-30:]]
    return "\n".join(lines)


def _kernel_connected_and_idle(base: str) -> bool:
    kernels = _kernels(base)
    return (
        len(kernels) == 1
        and kernels[0]["execution_state"] == "idle"
        and kernels[0]["connections"] >= 1
    )


def _run_all_cells(page) -> None:
    """Run > Run All Cells, with the notebook active; fail unless execution starts.

    The menu command is disabled while another panel is current, and clicking a
    disabled item does nothing, so the first cell is clicked first. A run has
    started once a code prompt shows ``[*]`` or a number (the copy has none).
    """
    page.locator(".jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
    page.wait_for_function(
        f"() => [...document.querySelectorAll({CODE_PROMPTS!r})]"
        ".some(p => /\\[(\\*|\\d+)\\]/.test(p.innerText))",
        timeout=30_000,
    )


def _run_all_and_operate(page, base: str) -> None:
    page.goto(f"{base}/lab/tree/{LESSON}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    deadline = time.monotonic() + 120  # the kernel has started and the page is connected
    while not _kernel_connected_and_idle(base):
        assert time.monotonic() < deadline, f"kernel not connected and idle: {_kernels(base)}"
        time.sleep(0.5)
    page.wait_for_function(  # and the notebook's toolbar says so
        "() => document.querySelector('.jp-Notebook-ExecutionIndicator')"
        " && document.querySelector('.jp-Notebook-ExecutionIndicator')"
        ".getAttribute('data-status') === 'idle'",
        timeout=60_000,
    )
    _run_all_cells(page)
    page.wait_for_function(  # every code cell has run: each prompt holds a number
        f"() => [...document.querySelectorAll({CODE_PROMPTS!r})]"
        ".every(p => /\\[\\d+\\]/.test(p.innerText))",
        timeout=240_000,
    )
    explorer = page.locator(".widget-vbox", has_text="SqueezeNet design-space explorer")
    explorer.locator(".noUi-handle").first.wait_for(state="attached", timeout=30_000)
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
