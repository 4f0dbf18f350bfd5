"""Helpers of the real-browser tests: Chromium's location and flags, local servers.

Servers bind to 127.0.0.1 on a free port, run in their own process group and are
stopped when the test ends; the test fails if the server or any process it started
(its kernels) is still running afterwards.

The app's tests can run with another environment's kernel: ``MOBILECOURSE_APP_KERNEL_PYTHON``
names that Python, which must have ipywidgets 7 (``.ci/colab-like`` sets it to the Colab-like
venv's). Voila still runs from the test's environment but serves its ipywidgets 7 front end
(:func:`app_kernel`), and the app's fixture checks which Python its kernels really ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MOBILECOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
#: Screenshots for a person to look at.
SCREENSHOTS = REPO / "build" / "screenshots"
#: The Python of the app's kernel when it is not Voila's own environment's: it must have
#: ipywidgets 7 (see :func:`app_kernel`). Unset or empty, the kernel is Voila's environment's.
APP_KERNEL_PYTHON = os.environ.get("MOBILECOURSE_APP_KERNEL_PYTHON", "")
#: The app's screenshots: a run with the ipywidgets 7 kernel keeps its own.
APP_SCREENSHOTS = SCREENSHOTS / "ipywidgets7" if APP_KERNEL_PYTHON else SCREENSHOTS
#: A slider's handle, which takes the keyboard once focused: ipywidgets 8 draws sliders with
#: noUiSlider, ipywidgets 7 with jQuery UI.
SLIDER_HANDLE = ".noUi-handle, .ui-slider-handle"
#: ipywidgets 7's JupyterLab extension (jupyterlab_widgets 1.x, whose jupyterlab-manager is
#: 3.x), installed here by ``.ci/colab-like`` (``pip install --target``). Voila 0.5 ships a
#: widget manager for each ipywidgets major and serves its ipywidgets 7 one (base 1.2.0,
#: controls 1.5.0) when the jupyterlab-manager it finds first is older than 5.0.
IPYWIDGETS7_FRONTEND = REPO / "build" / "ipywidgets7-frontend"
IPYWIDGETS7_LABEXTENSIONS = IPYWIDGETS7_FRONTEND / "share" / "jupyter" / "labextensions"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Poll ``url`` until it answers (any HTTP status) or fail with the server's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"no answer from {url} within {timeout} s")


@contextlib.contextmanager
def server(command: list[str], url: str, cwd: Path, env: dict | None = None, log: Path = None):
    """Run ``command`` in its own process group until the block ends, then kill the group.

    Yields the ``Popen``. On exit the server is terminated, and the test fails if it or
    any process it started (kernels included) survives.
    """
    log_file = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", **(env or {})}
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(url, process)
        yield process
    finally:
        _kill_group(process)
        if log:
            log_file.close()


def _descendants(pid: int) -> set[int]:
    """PIDs of every living process below ``pid`` (Linux ``/proc``)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _running(pid: int) -> bool:
    """True unless ``pid`` is gone or a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _kill_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's group; fail if it or anything it started (kernels) survives.

    Kernels run in sessions of their own (jupyter_client starts them so), so they are
    found as the server's descendants before the kill and checked one by one after it.
    """
    started = _descendants(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        survivors = [pid for pid in started if _running(pid)]
        if not survivors:
            return
        time.sleep(0.2)
    for pid in survivors:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pytest.fail(f"processes started by the server still ran 15 s after SIGTERM: {survivors}")


def _cmdline(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    return []


@contextlib.contextmanager
def kernels_of(process: subprocess.Popen, interval: float = 0.5):
    """Record, while the block runs, the command line of every kernel the server starts.

    Yields a dict filled as kernels appear: pid to argv (processes below ``process`` whose
    command line runs ``ipykernel_launcher``), polled every ``interval`` seconds.
    """
    kernels: dict[int, list[str]] = {}
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            for pid in _descendants(process.pid) - kernels.keys():
                argv = _cmdline(pid)
                if "ipykernel_launcher" in argv:
                    kernels[pid] = argv
            stop.wait(interval)

    thread = threading.Thread(target=poll, name="kernels_of", daemon=True)
    thread.start()
    try:
        yield kernels
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class AppKernel:
    """Where the app's kernels must run from, and what Voila needs to serve them."""

    #: the ``bin`` folder of the environment whose Python every kernel of the app runs
    bin_dir: Path
    #: ipywidgets' version in that environment
    ipywidgets: str
    #: added to :func:`mobilecourse.app.voila_command`
    voila_args: tuple[str, ...] = ()
    #: added to the server's environment
    env: dict | None = None

    def check(self, kernels: dict[int, list[str]]) -> None:
        """Fail unless the server started a kernel and every kernel ran from ``bin_dir``."""
        if not kernels:
            pytest.fail("the app's server started no kernel that the test saw")
        strays = [argv for argv in kernels.values() if Path(argv[0]).parent != self.bin_dir]
        if strays:
            pytest.fail(
                f"the app's kernels were to run the Python in {self.bin_dir} "
                f"(ipywidgets {self.ipywidgets}), but these ran: {strays}"
            )


def _ipywidgets_of(python: str) -> str:
    """ipywidgets' version where ``python`` runs, failing if it has no ipykernel or ipywidgets."""
    result = subprocess.run(
        [python, "-c", "import ipykernel, ipywidgets; print(ipywidgets.__version__)"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        pytest.fail(f"{python} cannot run an ipywidgets kernel: {last}")
    return result.stdout.strip()


def app_kernel(folder: Path) -> AppKernel:
    """The app's kernel: Voila's own environment's, or ``APP_KERNEL_PYTHON``'s.

    For ``APP_KERNEL_PYTHON``, which must be an executable Python with ipykernel and
    ipywidgets 7, a kernelspec named ``python3`` (the app notebook's) that runs it is
    written under ``folder`` and put first on the server's ``JUPYTER_PATH``, and Voila is
    pointed at ipywidgets 7's JupyterLab extension (:data:`IPYWIDGETS7_LABEXTENSIONS`), so
    that it serves its ipywidgets 7 widget manager. Anything missing fails the test.
    """
    if not APP_KERNEL_PYTHON:
        return AppKernel(Path(sys.executable).parent, _ipywidgets_of(sys.executable))
    python = os.path.abspath(APP_KERNEL_PYTHON)  # not resolved: a venv's python is a symlink
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        pytest.fail(
            f"MOBILECOURSE_APP_KERNEL_PYTHON={APP_KERNEL_PYTHON}: no executable Python there "
            "(it names the Python of the app's kernel, e.g. build/colab-like-venv/bin/python, "
            "which .ci/colab-like creates)"
        )
    version = _ipywidgets_of(python)
    if version.split(".")[0] != "7":
        pytest.fail(
            f"MOBILECOURSE_APP_KERNEL_PYTHON={python} has ipywidgets {version}; it is for a "
            "kernel with ipywidgets 7 (without it, the kernel is Voila's own environment's)"
        )
    manager = IPYWIDGETS7_LABEXTENSIONS / "@jupyter-widgets" / "jupyterlab-manager"
    try:
        manager_version = json.loads((manager / "package.json").read_text())["version"]
        manager_major = int(manager_version.split(".")[0])
    except (OSError, ValueError, KeyError, AttributeError):
        manager_version, manager_major = None, None
    if manager_major is None or manager_major >= 5:
        pytest.fail(
            f"no ipywidgets 7 JupyterLab extension (jupyterlab-manager older than 5.0) in "
            f"{IPYWIDGETS7_LABEXTENSIONS} (found {manager_version}): install jupyterlab_widgets "
            f"1.x with `pip install --no-deps --target {IPYWIDGETS7_FRONTEND}` as "
            ".ci/colab-like does"
        )
    spec = folder / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python 3 (ipywidgets {version})",
                "language": "python",
            },
            indent=1,
        )
    )
    extensions = json.dumps([str(IPYWIDGETS7_LABEXTENSIONS)])
    jupyter_path = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    return AppKernel(
        bin_dir=Path(python).parent,
        ipywidgets=version,
        voila_args=(f"--VoilaConfiguration.extra_labextensions_path={extensions}",),
        env={"JUPYTER_PATH": os.pathsep.join([str(folder / "jupyter"), *jupyter_path])},
    )


def leaves_machine(url: str) -> bool:
    """True for a request to another host than this one (loopback); files, data and blobs stay."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss", "ftp") and parts.hostname not in (
        "127.0.0.1",
        "localhost",
        "::1",
    )


def voila_template_links() -> frozenset[str]:
    """The outside stylesheets that Voila's own ``lab`` template links in every page's head.

    Voila 0.5's template links Font Awesome's stylesheets from a CDN; the app's page asks
    for them whichever the kernel, and works without them, as offline here. Read from the
    installed template (unquoted, as a browser may quote them), so that no other outside
    request, a widget module from a CDN above all, passes as one of them.
    """
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("voila", "templates", "lab"):
        template = Path(folder) / "index.html.j2"
        if template.is_file():
            hrefs = re.findall(r'<link\b[^>]*\bhref="([^"]+)"', template.read_text())
            return frozenset(urllib.parse.unquote(h) for h in hrefs if leaves_machine(h))
    return frozenset()
