"""A disk cache for work the lessons would otherwise repeat: trained weights, converted files.

Lessons 06, 07 and 08 start from the same trained network, and several lessons convert
the same Keras model to the same ``.tflite`` file. What is cached is keyed by everything
the result depends on (the inputs' bytes, the course code that computes it, the library
versions, and for training the CPU and the CPUs this process may use, since float results
change with them), so a hit returns exactly what computing it again would give here.

The folder is ``MOBILECOURSE_CACHE`` when set (``off`` turns the cache off), else
``$XDG_CACHE_HOME/mobilecourse`` or ``~/.cache/mobilecourse``. Files are written under a
temporary name and renamed, so two kernels never read half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

__all__ = ["CACHE_ENV", "MAX_BYTES", "cache_dir", "key", "lookup", "machine_info", "store"]

#: Environment variable: the cache folder, or ``off``.
CACHE_ENV = "MOBILECOURSE_CACHE"

#: The cache keeps at most this many bytes; the least recently written files go first.
MAX_BYTES = 1024**3

_HERE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` if ``MOBILECOURSE_CACHE=off``."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value)
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "mobilecourse"


def key(facts: dict, code: tuple[str, ...], *arrays) -> str:
    """A hex digest of ``facts`` (JSON-able), the package's ``code`` files and ``arrays``.

    Library versions (TensorFlow, Keras, NumPy) are always part of it.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    digest = hashlib.sha256()
    everything = {"facts": facts, "versions": [tf.__version__, keras.__version__, np.__version__]}
    digest.update(json.dumps(everything, sort_keys=True, default=str).encode())
    for name in code:
        digest.update((_HERE / name).read_bytes())
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:24]


def lookup(name: str) -> Path | None:
    """The cached file ``name`` if the cache is on and has it, else ``None``."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / name
    return path if path.is_file() else None


def store(name: str, write) -> None:
    """Write the file ``name`` into the cache with ``write(path)`` (atomically); no-op if off."""
    folder = cache_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "".join(Path(name).suffixes)
    handle, partial = tempfile.mkstemp(suffix=suffix, dir=folder)
    os.close(handle)
    try:
        write(partial)
        os.replace(partial, folder / name)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    _trim(folder)


def _trim(folder: Path, max_bytes: int | None = None) -> None:
    """Delete the oldest files until the folder holds at most ``max_bytes``."""
    limit = MAX_BYTES if max_bytes is None else max_bytes
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in files)
    for path in files[:-1]:  # never the file just written
        if total <= limit:
            break
        total -= path.stat().st_size
        path.unlink(missing_ok=True)


def machine_info() -> dict:
    """CPU model, usable cores, total RAM (bytes) and OS of this machine (``None`` if unknown)."""
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_bytes = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_bytes = int(line.split()[1]) * 1024  # reported in KiB
                break
    except (OSError, ValueError, IndexError):
        pass
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count()
    return {
        "cpu": cpu or platform.processor() or None,
        "cores": cores,
        "ram_bytes": ram_bytes,
        "os": platform.platform(),
    }
