"""Helpers of the real-browser tests: Chromium's location and flags, local servers.

Servers bind to 127.0.0.1 on a free port, run in their own process group and are
stopped when the test ends; the test fails if the server or any process it started
(its kernels) is still running afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
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
