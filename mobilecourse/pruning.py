"""Pruning in plain Keras 3: magnitude pruning, sensitivity scans and filter pruning.

Two families of pruning are covered (lesson 06):

* **Unstructured magnitude pruning** zeroes the individual kernel weights of
  smallest ``|w|``. During fine-tuning, :class:`MagnitudePruning` raises the sparsity
  along a :class:`PolynomialSchedule` (Zhu & Gupta 2017) and re-applies the masks
  after every optimizer step, so pruned weights stay exactly zero.
  :func:`prune_to_sparsity` does the same in one shot, without training. The model
  keeps its dense shapes: it is not smaller until compressed (:func:`compressed_size`)
  and not faster on a dense kernel.
* **Structured filter pruning** (:func:`prune_filters`, from
  :mod:`mobilecourse.filter_pruning`, re-exported here) removes whole output filters
  of the smallest L1 norm and the matching input channels downstream, giving a
  genuinely smaller model with fewer MACs.

The TensorFlow Model Optimization Toolkit (``tfmot``) does not work with Keras 3 and is
not used: masks are numpy arrays and kernels are plain ``keras.Variable`` objects.

Prunable layers are ``Conv2D`` (``kernel``), ``DepthwiseConv2D`` (its depthwise
``kernel``), ``SeparableConv2D`` (``depthwise_kernel`` and ``pointwise_kernel``) and
``Dense`` (``kernel``). Biases, BatchNorm and other parameters are never pruned.
"""

from __future__ import annotations

import gzip
import numbers
import os
from collections.abc import Callable, Iterable, Sequence

import keras
import numpy as np
import pandas as pd

from mobilecourse._validate import built_model, dataset, fraction, integer, layer_names
from mobilecourse.filter_pruning import prune_filters
from mobilecourse.graph import KERNEL_LAYERS, clone_with_weights, kernels, layers_of
from mobilecourse.training import top1

__all__ = [
    "PRUNABLE_LAYERS",
    "MagnitudePruning",
    "PolynomialSchedule",
    "compressed_size",
    "prunable_weights",
    "prune_filters",
    "prune_to_sparsity",
    "sensitivity_scan",
    "sparsity_report",
    "strip_pruning",
]

#: Layer classes whose kernels are pruned.
PRUNABLE_LAYERS = KERNEL_LAYERS

SCOPES = ("layer", "global")


# ---------------------------------------------------------------- validation


def _scope(value: object) -> str:
    if value not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {value!r}")
    return str(value)


def _select(model, layers, exclude, kinds=PRUNABLE_LAYERS, what="prunable") -> list:
    """The chosen layers of ``kinds``: ``layers`` (default: all of them) minus ``exclude``."""
    candidates = [layer for layer in layers_of(model) if isinstance(layer, kinds)]
    available = [layer.name for layer in candidates]
    by_name = {layer.name: layer for layer in candidates}
    for arg, value in (("layers", layers), ("exclude", exclude)):
        unknown = [n for n in layer_names(value, arg) if n not in by_name]
        if unknown:
            raise ValueError(
                f"{arg} names unknown or non-{what} layers {unknown} of model "
                f"{model.name!r}; the {what} layers are {available}"
            )
    chosen = available if layers is None else layer_names(layers, "layers")
    excluded = set(layer_names(exclude, "exclude"))
    selected = [by_name[n] for n in dict.fromkeys(chosen) if n not in excluded]
    if not selected:
        raise ValueError(f"layers/exclude leave no {what} layer to prune in {model.name!r}")
    return selected


def prunable_weights(model: keras.Model, layers=None, exclude=()) -> dict[str, keras.Variable]:
    """The kernels that magnitude pruning acts on, keyed ``"layer/kernel_name"``.

    Args:
        model: a built Keras model.
        layers: names (or layer objects) of the layers to prune; ``None`` = every
            ``Conv2D``, ``DepthwiseConv2D``, ``SeparableConv2D`` and ``Dense`` layer.
        exclude: names of layers to leave dense.

    Returns:
        An ordered dict from ``"{layer}/{variable}"`` to the kernel variable.

    Raises:
        ValueError: ``model`` is not a built model, or a name in ``layers`` or
            ``exclude`` is not one of its prunable layers (the message lists them).
    """
    model = built_model(model)
    out = {}
    for layer in _select(model, layers, exclude):
        for var in kernels(layer):
            out[f"{layer.name}/{var.name}"] = var
    return out


# ---------------------------------------------------------------- masks


def _n_pruned(size: int, sparsity: float) -> int:
    return int(round(sparsity * size))


def _magnitude_masks(values: Sequence[np.ndarray], sparsity: float, scope: str) -> list:
    """Boolean masks (True = keep) zeroing the ``round(sparsity * n)`` smallest |w|.

    With ``scope="layer"`` every array gets the sparsity; with ``"global"`` one
    threshold is shared across all arrays. Ties are broken by position, so the count
    is exact.
    """
    if scope == "layer":
        masks = []
        for w in values:
            flat = np.abs(np.asarray(w, dtype=np.float32)).ravel()
            mask = np.ones(flat.size, dtype=bool)
            k = _n_pruned(flat.size, sparsity)
            if k:
                mask[np.argsort(flat, kind="stable")[:k]] = False
            masks.append(mask.reshape(np.shape(w)))
        return masks
    flats = [np.abs(np.asarray(w, dtype=np.float32)).ravel() for w in values]
    allw = np.concatenate(flats)
    keep = np.ones(allw.size, dtype=bool)
    k = _n_pruned(allw.size, sparsity)
    if k:
        keep[np.argsort(allw, kind="stable")[:k]] = False
    masks, start = [], 0
    for w, flat in zip(values, flats, strict=True):
        masks.append(keep[start : start + flat.size].reshape(np.shape(w)))
        start += flat.size
    return masks


def _apply(variables: Sequence, masks: Sequence[np.ndarray]) -> None:
    for var, mask in zip(variables, masks, strict=True):
        value = keras.ops.convert_to_numpy(var)
        var.assign(np.where(mask, value, 0).astype(value.dtype))


# ---------------------------------------------------------------- schedule


class PolynomialSchedule:
    """Gradual sparsity schedule of Zhu & Gupta (2017), eq. 1.

    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / n) ** power`` for
    ``t0 <= t <= t0 + n``, with ``t0 = begin_step`` and ``n = end_step - begin_step``;
    ``s_i`` before ``begin_step`` and ``s_f`` after ``end_step``. With the paper's
    ``power=3`` the sparsity rises fast while there are many redundant weights and
    slowly as few remain.

    Args:
        initial_sparsity: s_i in [0, 1).
        final_sparsity: s_f in [initial_sparsity, 1).
        begin_step: t0, the first training step (batch) that prunes.
        end_step: the step at which ``final_sparsity`` is reached (>= ``begin_step``).
        power: the exponent (3 in the paper); a positive number.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """

    def __init__(
        self,
        initial_sparsity: float,
        final_sparsity: float,
        begin_step: int,
        end_step: int,
        power: float = 3,
    ):
        self.initial_sparsity = fraction(initial_sparsity, "initial_sparsity")
        self.final_sparsity = fraction(final_sparsity, "final_sparsity")
        if self.final_sparsity < self.initial_sparsity:
            raise ValueError(
                f"final_sparsity={final_sparsity} must be >= initial_sparsity={initial_sparsity}"
            )
        self.begin_step = integer(begin_step, "begin_step", minimum=0)
        self.end_step = integer(end_step, "end_step", minimum=0)
        if self.end_step < self.begin_step:
            raise ValueError(f"end_step={end_step} must be >= begin_step={begin_step}")
        if isinstance(power, bool) or not isinstance(power, numbers.Real) or not power > 0:
            raise ValueError(f"power must be a positive number, got {power!r}")
        self.power = float(power)

    def __call__(self, step: int) -> float:
        """The target sparsity at training step ``step``.

        Raises:
            ValueError: ``step`` is not a non-negative integer.
        """
        step = integer(step, "step", minimum=0)
        if step <= self.begin_step:
            return self.initial_sparsity
        if step >= self.end_step:
            return self.final_sparsity
        progress = (step - self.begin_step) / (self.end_step - self.begin_step)
        s_i, s_f = self.initial_sparsity, self.final_sparsity
        return s_f + (s_i - s_f) * (1 - progress) ** self.power

    def __repr__(self) -> str:
        return (
            f"PolynomialSchedule({self.initial_sparsity}, {self.final_sparsity}, "
            f"begin_step={self.begin_step}, end_step={self.end_step}, power={self.power:g})"
        )


# ---------------------------------------------------------------- callback


class MagnitudePruning(keras.callbacks.Callback):
    """Keras callback: gradual magnitude pruning during ``fit`` (no tfmot needed).

    At the start of every ``frequency``-th training batch from ``schedule.begin_step``
    to ``schedule.end_step`` (and at ``end_step`` itself), new masks are computed that
    keep the largest-|w| kernel weights at the scheduled sparsity, either per layer
    (``scope="layer"``) or with one threshold across the chosen layers
    (``scope="global"``). After every optimizer step the kernels are multiplied by the
    masks, so pruned weights stay exactly zero (even with momentum). The step counter
    runs on across several ``fit`` calls.

    Attributes:
        step: training batches seen so far.
        sparsity: the sparsity of the current masks.
        history: ``(step, target_sparsity)`` for every mask update.

    Args:
        schedule: a :class:`PolynomialSchedule` (or any callable step -> sparsity).
        layers: names of the layers to prune; ``None`` = every prunable layer.
        exclude: names of layers to leave dense (e.g. the first convolution, the most
            sensitive one).
        scope: ``"layer"`` or ``"global"``.
        frequency: steps between mask updates (Zhu & Gupta use 100 to 1000).

    Raises:
        ValueError: on an invalid argument; unknown layer names are reported when
            training starts, with the list of prunable layers.
    """

    def __init__(
        self,
        schedule: Callable[[int], float],
        layers: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        scope: str = "layer",
        frequency: int = 100,
    ):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be a PolynomialSchedule or callable, got {schedule!r}")
        self.schedule = schedule
        self.layers = None if layers is None else layer_names(layers, "layers")
        self.exclude = layer_names(exclude, "exclude")
        self.scope = _scope(scope)
        self.frequency = integer(frequency, "frequency", minimum=1)
        self.step = 0
        self.sparsity = 0.0
        self.history: list[tuple[int, float]] = []
        self._variables: list = []
        self._masks: list | None = None

    def _due(self, step: int) -> bool:
        begin = getattr(self.schedule, "begin_step", 0)
        end = getattr(self.schedule, "end_step", None)
        if step < begin:
            return False
        if end is not None and step > end:
            return False
        return (step - begin) % self.frequency == 0 or step == end or self._masks is None

    def on_train_begin(self, logs=None):
        weights = prunable_weights(self.model, self.layers, self.exclude)
        variables = list(weights.values())
        if [id(v) for v in variables] != [id(v) for v in self._variables]:
            self._variables, self._masks = variables, None
        if self._masks is not None:
            _apply(self._variables, self._masks)

    def on_train_batch_begin(self, batch, logs=None):
        if self._due(self.step):
            target = fraction(float(self.schedule(self.step)), "schedule(step)")
            values = [keras.ops.convert_to_numpy(v) for v in self._variables]
            self._masks = _magnitude_masks(values, target, self.scope)
            self.sparsity = target
            self.history.append((self.step, target))
            _apply(self._variables, self._masks)

    def on_train_batch_end(self, batch, logs=None):
        if self._masks is not None:
            _apply(self._variables, self._masks)
        self.step += 1


# ---------------------------------------------------------------- one-shot


def strip_pruning(model: keras.Model) -> keras.Model:
    """A plain copy of a model pruned with :class:`MagnitudePruning`.

    The callback keeps no wrappers, so this is only a clone with the masked weights;
    it exists so lesson code reads like the tfmot workflow.

    Args:
        model: a built Keras model.

    Returns:
        A new model with the same architecture and weights (pruned zeros included).

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: it is not built.
    """
    return clone_with_weights(built_model(model))


def prune_to_sparsity(
    model: keras.Model,
    sparsity: float,
    layers: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    scope: str = "layer",
) -> keras.Model:
    """One-shot magnitude pruning (no training) of a copy of ``model``.

    Exactly ``round(sparsity * n)`` weights are zeroed in each chosen kernel
    (``scope="layer"``) or across all chosen kernels together (``scope="global"``).

    Args:
        model: a built Keras model; it is not modified.
        sparsity: fraction of kernel weights to zero, in [0, 1).
        layers: names of the layers to prune; ``None`` = every prunable layer.
        exclude: names of layers to leave dense.
        scope: ``"layer"`` or ``"global"``.

    Returns:
        A new model with the pruned weights.

    Raises:
        ValueError: on an invalid argument; unknown layer names are listed with the
            available ones.
    """
    model = built_model(model)
    sparsity = fraction(sparsity, "sparsity")
    scope = _scope(scope)
    prunable_weights(model, layers, exclude)  # validate names before cloning
    clone = clone_with_weights(model)
    variables = list(prunable_weights(clone, layers, exclude).values())
    values = [keras.ops.convert_to_numpy(v) for v in variables]
    _apply(variables, _magnitude_masks(values, sparsity, scope))
    return clone


# ---------------------------------------------------------------- reports


def sparsity_report(model: keras.Model) -> pd.DataFrame:
    """Zeros in the kernels of every prunable layer.

    Args:
        model: a built Keras model.

    Returns:
        A DataFrame with one row per prunable layer and columns ``name``, ``type``,
        ``weights`` (kernel weights; both kernels of a ``SeparableConv2D``),
        ``zeros`` and ``sparsity``. ``df.attrs["total"]`` holds the same numbers
        summed over the layers.

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: it is not built.
    """
    model = built_model(model)
    rows = []
    for layer in layers_of(model):
        held = kernels(layer)
        if not held:
            continue
        values = [keras.ops.convert_to_numpy(k) for k in held]
        n = sum(v.size for v in values)
        zeros = sum(int(np.count_nonzero(v == 0)) for v in values)
        rows.append((layer.name, type(layer).__name__, n, zeros, zeros / n if n else 0.0))
    df = pd.DataFrame(rows, columns=["name", "type", "weights", "zeros", "sparsity"])
    total_w, total_z = int(df["weights"].sum()), int(df["zeros"].sum())
    df.attrs["total"] = {
        "weights": total_w,
        "zeros": total_z,
        "sparsity": total_z / total_w if total_w else 0.0,
    }
    return df


def sensitivity_scan(
    model: keras.Model,
    data,
    sparsities: Iterable[float] = (0.25, 0.5, 0.75, 0.9),
    layers: Iterable[str] | None = None,
    metric: str | Callable = "accuracy",
    batch_size: int = 256,
) -> pd.DataFrame:
    """Prune one layer at a time (one-shot) and measure the model on ``data``.

    A copy of the model is used; each layer's kernels are pruned to each sparsity,
    evaluated and restored, so every entry shows the damage of that layer alone.

    Args:
        model: a built Keras classifier; it is not modified.
        data: ``(x, y)`` numpy arrays; ``y`` integer labels or one-hot rows.
        sparsities: sparsities in [0, 1) to try.
        layers: names of the layers to scan; ``None`` = every prunable layer.
        metric: ``"accuracy"`` (argmax of the outputs) or a callable
            ``metric(y_true, y_pred) -> float``.
        batch_size: prediction batch size.

    Returns:
        A DataFrame indexed by layer name with one column per sparsity;
        ``df.attrs["baseline"]`` is the metric of the unpruned model.

    Raises:
        ValueError: on an invalid argument; the message names it.
    """
    model = built_model(model)
    x, y = dataset(data)
    sparsities = [fraction(s, "sparsities") for s in sparsities]
    if not sparsities:
        raise ValueError("sparsities must not be empty")
    if metric == "accuracy":
        metric_fn = top1
    elif callable(metric):
        metric_fn = metric
    else:
        raise ValueError(f"metric must be 'accuracy' or a callable, got {metric!r}")
    batch_size = integer(batch_size, "batch_size", minimum=1)
    chosen = _select(model, layers, ())
    names = [layer.name for layer in chosen]
    copy = clone_with_weights(model)

    def score() -> float:
        return float(metric_fn(y, copy.predict(x, batch_size=batch_size, verbose=0)))

    table = pd.DataFrame(index=pd.Index(names, name="layer"), columns=sparsities, dtype=float)
    baseline = score()
    for name in names:
        variables = kernels(_find(copy, name))
        saved = [keras.ops.convert_to_numpy(v) for v in variables]
        for s in sparsities:
            _apply(variables, _magnitude_masks(saved, s, "layer"))
            table.loc[name, s] = score()
            for var, value in zip(variables, saved, strict=True):
                var.assign(value)
    table.columns.name = "sparsity"
    table.attrs["baseline"] = baseline
    return table


def _find(model, name):
    for layer in layers_of(model):
        if layer.name == name:
            return layer
    raise ValueError(f"no layer named {name!r} in {model.name!r}")


# ---------------------------------------------------------------- compression


def compressed_size(model_or_bytes) -> tuple[int, int]:
    """Size of a model's weights raw and gzip-compressed (level 9).

    Unstructured pruning leaves a dense model of the same raw size; only the
    compressed size shows the zeros.

    Args:
        model_or_bytes: a Keras model (every weight is serialized as float32
            little-endian, concatenated), a ``bytes``-like object (e.g. a ``.tflite``
            flatbuffer) or the path of a ``.tflite`` file.

    Returns:
        ``(raw_bytes, gzip_bytes)``.

    Raises:
        TypeError: ``model_or_bytes`` is none of these.
        ValueError: the path names no file.
    """
    if isinstance(model_or_bytes, (bytes, bytearray, memoryview)):
        raw = bytes(model_or_bytes)
    elif isinstance(model_or_bytes, (str, os.PathLike)):
        if not os.path.isfile(model_or_bytes):
            raise ValueError(f"model_or_bytes: no file {os.fspath(model_or_bytes)!r}")
        with open(model_or_bytes, "rb") as f:
            raw = f.read()
    elif isinstance(model_or_bytes, keras.Model):
        raw = b"".join(
            np.ascontiguousarray(keras.ops.convert_to_numpy(w), dtype="<f4").tobytes()
            for w in model_or_bytes.weights
        )
    else:
        raise TypeError(
            "model_or_bytes must be a keras.Model, bytes or a .tflite path, "
            f"got {type(model_or_bytes).__name__}"
        )
    return len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0))
