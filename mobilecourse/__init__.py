"""mobilecourse: helpers for the course "Designing light-weight CNNs for mobile".

Importing the package is cheap: it imports no TensorFlow, but it sets the
environment that keeps TensorFlow quiet (unless already set). Lessons start with
``mobilecourse.setup_notebook()``, which quiets TensorFlow *before* importing
it, fixes the seeds (``MOBILECOURSE_SEED`` chooses another) and prints the versions in
use.

Modules, bottom up (a module imports only those on its line or above it):
    _validate, units, lessons, references: argument checks (one wording, one error
        policy); byte units; where the lesson notebooks are and their order; the
        reading list (each lesson's papers).
    costs: exact MAC / parameter formulas (pure integer maths, no Keras).
    coding: Huffman codes and relative (sparse) indices, the storage stage of Deep
        Compression (pure Python and NumPy, no Keras).
    stream, preprocess: predictions on a video stream (collective confidence over frames,
        flicker rate, perturbed frames; NumPy only); preparing a camera image for a model
        (range, channel order, crop, resampling) and as a JPEG upload (Pillow).
    datasets: the course's generated colour images of ten shape classes, drawn with
        integer maths in NumPy (no Keras, no file, the same bytes everywhere).
    graph: reading a Keras model as layer calls, tensors and shapes; the one module
        that touches Keras internals.
    blocks, models: Keras 3 building blocks and the reference architectures, built
        from config tables.
    design: a network as rows of layers and blocks, counted without Keras and built with
        the blocks (the network designer's maths).
    detection: SSD300 and SSDLite object detectors on the reference backbones (MobileNetV2's
        Table 6), built from config tables.
    diagrams: block diagrams read from a built model (boxes, edges, paper-like labels),
        laid out without matplotlib and drawn with it; flow charts of steps.
    report, profile: per-layer cost profile of a Keras model (any input size) and its
        formatting as text, Markdown or CSV.
    crosscheck: the profiler against TensorFlow's own count, on any keras.applications
        model (``python -m mobilecourse zoo``).
    data, cache: the paper tables and the offline digits (package data); trained
        weights and converted files the lessons share, on disk.
    quantize, tflite, integer: quantization maths; TFLite conversion run with LiteRT, and
        the cost of a .tflite file (profile_tflite); integer-only inference of an int8
        file in NumPy (integer_forward, re-exported by quantize).
    timing, roofline: the one timing protocol (time_variants, Timing.faster_than); this
        machine's roofline (peak GMAC/s, memory bandwidth) and layers placed under it.
    training: the training recipe, accuracy (of a Keras model or a .tflite file),
        distillation, BatchNorm re-estimation.
    filter_pruning, pruning: structured filter pruning that rebuilds a smaller model;
        magnitude pruning with its schedule and the sensitivity scan.
    deploy: the capstone's budget, measurements and latency-aware search.
    widgets, app: interactive cost calculators; the same as a Voila web app.
    checks: self-checking exercises for the lessons.
    release, slides: the student release; the lecture decks.
    bench, bench_report: the measurements of ``make bench`` and their report.
    __main__: the command line (``python -m mobilecourse``).

Vocabulary: one argument name for one idea, everywhere in the package.
    width: width multiplier of a network (MobileNet's alpha, ShuffleNet's scale
        factor s); lessons write the papers' symbols in formulas.
    input_shape: one input image's (height, width, channels), as Keras says it;
        input_size: its side when the input is square (``--input-size`` in the CLI).
    size: the side of a square feature map or image in a cost formula.
    rho: MobileNet's resolution multiplier (only in the cost calculators).
    sparsity: the fraction of a model's (or layer's) weights that are zero; fraction:
        the share of a layer's filters that filter pruning removes (a different idea:
        removing half the filters removes more than half the weights).
    data: a dataset as the pair ``(x, y)`` of inputs and integer labels (one-hot
        rows are accepted); accuracy of a Keras model or a .tflite file is
        ``training.accuracy(model, data)``, computed by ``training.top1`` alone.
    model: a built keras.Model; flatbuffer: the bytes of a .tflite file.
    alpha, beta, temperature: the papers' names where a paper fixes them
        (distillation's weight, MnasNet's exponents, XNOR-Net's binary scale).

Docstrings (Google style): a ``Cost:`` section gives what a layer, model or file costs
(MACs, parameters, bytes) with its paper; a ``Formula:`` section gives the maths a
function computes (a quantizer, a loss, a reward).

Errors: a wrong type is a TypeError, a bad value a ValueError; both name the argument
and what is allowed. The checks live in one private module (``_validate``).
"""

from __future__ import annotations

import os
import platform
import sys

__version__ = "0.1.0"

__all__ = ["SEED_ENV", "__version__", "default_seed", "setup_notebook"]

#: Environment that keeps TensorFlow's C++ logging and oneDNN notice off stderr.
QUIET_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


# Any module of the package that imports TensorFlow is imported after this file, so
# TensorFlow stays quiet unless the user set these variables (or imported it) first.
for _name, _value in QUIET_TF_ENV.items():
    os.environ.setdefault(_name, _value)


def quiet_tensorflow() -> None:
    """Set the environment that silences TensorFlow; effective only before it is imported."""
    os.environ.update(QUIET_TF_ENV)


#: Environment variable that sets the default seed of :func:`setup_notebook`.
SEED_ENV = "MOBILECOURSE_SEED"

#: Seeds are 32-bit: NumPy's legacy generator, which Keras seeds, takes no more.
MAX_SEED = 2**32 - 1


def default_seed() -> int:
    """The seed :func:`setup_notebook` uses when none is given.

    ``MOBILECOURSE_SEED`` from the environment when it is set (and not empty), else 0.

    Raises:
        ValueError: ``MOBILECOURSE_SEED`` is set but is not an integer from 0 to
            2**32 - 1.
    """
    text = os.environ.get(SEED_ENV, "").strip()
    if not text:
        return 0
    if not text.isdigit() or int(text) > MAX_SEED:
        raise ValueError(
            f"the environment variable {SEED_ENV} must be an integer from 0 to {MAX_SEED}, "
            f"got {text!r}; unset it for the default seed 0"
        )
    return int(text)


def setup_notebook(seed: int | None = None, *, verbose: bool = True) -> int:
    """Prepare a lesson: quiet TensorFlow, import it, fix every seed, print versions.

    Call it in the first code cell of every lesson, before anything imports
    TensorFlow. It sets ``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0``,
    seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``) and
    turns on TensorFlow's deterministic ops, so a lesson prints the same
    numbers on every run on one machine. (Another CPU or thread count gives other
    trained numbers: the lessons claim only what holds for any seed.)

    Args:
        seed: the seed for Python, NumPy and TensorFlow, from 0 to 2**32 - 1. ``None``
            (the default) takes it from the environment variable ``MOBILECOURSE_SEED``
            when that is set, else 0; an explicit ``seed`` wins over the variable.
        verbose: print one line with the versions in use and the seed.

    Returns:
        The seed used, for the lesson's later ``keras.utils.set_random_seed`` calls.

    Raises:
        TypeError: ``seed`` is not an integer (or ``None``).
        ValueError: ``seed`` is negative or above 2**32 - 1, or ``MOBILECOURSE_SEED``
            is not such an integer.
    """
    if seed is None:
        seed = default_seed()
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer or None, got {seed!r} ({type(seed).__name__})")
    elif not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer from 0 to {MAX_SEED}, got {seed}")
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
    return seed
