"""Real-browser fixtures: Debian's Chromium driven by Playwright.

Chromium comes from Debian (``apt-get install chromium``; ``.ci/run`` installs it),
since Playwright cannot download its own browsers here. A missing browser fails the
tests with a message saying what to install: it never skips them.

Every page records the requests that leave this machine (any host but loopback), and the
test fails on any, except the stylesheets that Voila's own template links: a page that needs
the internet (a widget module from a CDN) would not work offline, in a lecture or here.
"""

import urllib.parse
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, leaves_machine, voila_template_links


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium; "
            ".ci/run does) or point MOBILECOURSE_CHROMIUM at a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = []
    context.on("request", lambda r: outside.append(r.url) if leaves_machine(r.url) else None)
    page = context.new_page()
    yield page
    page.goto("about:blank")  # lets a served page send its kernel-shutdown beacon
    context.close()
    allowed = voila_template_links()
    unexpected = sorted({url for url in outside if urllib.parse.unquote(url) not in allowed})
    if unexpected:
        pytest.fail(f"the page sent requests off this machine: {unexpected}")
