"""mobilecourse: helpers for the course "Designing light-weight CNNs for mobile".

Importing the package is cheap: it imports no TensorFlow, but it sets the
environment that keeps TensorFlow quiet (unless already set). Lessons start with
``mobilecourse.setup_notebook()``, which quiets TensorFlow *before* importing
it, fixes the seeds and prints the versions in use.

Modules:
    costs: exact MAC / parameter formulas (pure integer maths, no Keras).
    blocks, models: Keras 3 building blocks and the reference architectures.
    profile, report: per-layer cost profile of a Keras model, and its formatting.
    widgets: interactive cost calculators.
    pruning: magnitude and filter pruning in Keras 3.
    quantize, tflite: quantization maths; TFLite conversion run with LiteRT.
    checks: self-checking exercises for the lessons.
    data: the paper tables the course cites and the offline digits.
    bench: timing helpers behind ``make bench``.
"""

from __future__ import annotations

import os
import platform
import sys

__version__ = "0.1.0"

__all__ = ["__version__", "setup_notebook"]

#: Environment that keeps TensorFlow's C++ logging and oneDNN notice off stderr.
QUIET_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


# Any module of the package that imports TensorFlow is imported after this file, so
# TensorFlow stays quiet unless the user set these variables (or imported it) first.
for _name, _value in QUIET_TF_ENV.items():
    os.environ.setdefault(_name, _value)


def quiet_tensorflow() -> None:
    """Set the environment that silences TensorFlow; effective only before it is imported."""
    os.environ.update(QUIET_TF_ENV)


def setup_notebook(seed: int = 0, *, verbose: bool = True) -> None:
    """Prepare a lesson: quiet TensorFlow, import it, fix every seed, print versions.

    Call it in the first code cell of every lesson, before anything imports
    TensorFlow. It sets ``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0``,
    seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``) and
    turns on TensorFlow's deterministic ops, so a lesson prints the same
    numbers on every run.

    Args:
        seed: the seed for Python, NumPy and TensorFlow.
        verbose: print one line with the versions in use.

    Raises:
        TypeError: ``seed`` is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    already_imported = "tensorflow" in sys.modules
    quiet_tensorflow()

    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    import keras

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    if already_imported:
        print(
            "note: TensorFlow was imported before setup_notebook(); restart the kernel "
            "and call setup_notebook() first to keep its log lines quiet."
        )
    if verbose:
        print(
            f"mobilecourse {__version__} | Python {platform.python_version()} | "
            f"TensorFlow {tf.__version__} | Keras {keras.__version__} | "
            f"NumPy {np.__version__} | seed {seed}"
        )
