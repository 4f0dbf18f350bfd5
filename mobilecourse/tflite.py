"""Keras model -> TFLite flatbuffer, run with the LiteRT interpreter (``ai_edge_litert``).

Conversion goes through ``model.export(..., verbose=False)`` and
``TFLiteConverter.from_saved_model``, which is quiet (``from_keras_model`` prints
artefact paths). Inference uses ``ai_edge_litert.interpreter.Interpreter``, never the
deprecated ``tf.lite.Interpreter``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["MODES", "interpreter", "run", "to_tflite"]

#: Conversion modes.
MODES = ("float32",)


def to_tflite(model, mode: str = "float32") -> bytes:
    """Convert a Keras model to a TFLite flatbuffer.

    Args:
        model: a built ``keras.Model`` with fixed per-image input sizes.
        mode: one of :data:`MODES`.

    Returns:
        The ``.tflite`` file's bytes.

    Raises:
        ValueError: an unknown ``mode``.
        TypeError: ``model`` is not a Keras model.
    """
    import keras

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        saved = str(Path(folder) / "saved_model")
        model.export(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        return converter.convert()


def interpreter(flatbuffer: bytes, threads: int = 1):
    """A LiteRT interpreter for ``flatbuffer`` with its input resized to batch 1 and allocated."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    with _quiet_native_stderr():  # LiteRT prints "INFO: Created ... XNNPACK delegate"
        interp = Interpreter(model_content=flatbuffer, num_threads=threads)
        detail = interp.get_input_details()[0]
        shape = list(detail["shape_signature"])
        if shape and shape[0] == -1:
            interp.resize_tensor_input(detail["index"], [1, *shape[1:]])
        interp.allocate_tensors()
    return interp


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what native code writes to file descriptor 2 (Python's stderr is kept)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run(interp, x: np.ndarray) -> np.ndarray:
    """Run one input batch (of 1) through an allocated interpreter; return the first output."""
    detail = interp.get_input_details()[0]
    interp.set_tensor(detail["index"], np.asarray(x, dtype=detail["dtype"]))
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])
