"""Pruning in plain Keras 3: magnitude pruning, sensitivity scans and filter pruning.

Two families of pruning are covered (lesson 06):

* **Unstructured magnitude pruning** zeroes the individual kernel weights of
  smallest ``|w|``. During fine-tuning, :class:`MagnitudePruning` raises the sparsity
  along a :class:`PolynomialSchedule` (Zhu & Gupta 2017) and re-applies the masks
  after every optimizer step, so pruned weights stay exactly zero.
  :func:`prune_to_sparsity` does the same in one shot, without training. The model
  keeps its dense shapes: it is not smaller until compressed (:func:`compressed_size`)
  and not faster on a dense kernel.
* **Structured filter pruning** (:func:`prune_filters`) removes whole output filters
  of the smallest L1 norm (Li et al. 2017; ThiNet, Luo et al. 2017, picks them by
  the next layer's reconstruction error instead) and the matching input channels
  downstream, giving a genuinely smaller model with fewer MACs.

The TensorFlow Model Optimization Toolkit (``tfmot``) does not work with Keras 3 and is
not used: masks are numpy arrays and kernels are plain ``keras.Variable`` objects.

Prunable layers are ``Conv2D`` (``kernel``), ``DepthwiseConv2D`` (its depthwise
``kernel``), ``SeparableConv2D`` (``depthwise_kernel`` and ``pointwise_kernel``) and
``Dense`` (``kernel``). Biases, BatchNorm and other parameters are never pruned.
"""

from __future__ import annotations

import gzip
import math
import numbers
import os
from collections.abc import Callable, Iterable, Sequence

import keras
import numpy as np
import pandas as pd
from keras import layers as klayers

from mobilecourse import _validate
from mobilecourse._validate import fraction, integer
from mobilecourse.graph import KERNEL_LAYERS, clone_with_weights, kernels, layers_of, nodes_in_order
from mobilecourse.graph import functional as functional_graph

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


def _model(model: object, name: str = "model") -> keras.Model:
    if not isinstance(model, keras.Model):
        raise ValueError(f"{name} must be a keras.Model, got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"{name} {model.name!r} is not built; build it with an input shape")
    return model


def _names(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, keras.layers.Layer)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"{name} must be a layer name or a list of names, got {value!r}") from None
    out = []
    for item in items:
        if isinstance(item, keras.layers.Layer):
            item = item.name
        if not isinstance(item, str):
            raise ValueError(f"{name} must contain layer names (str), got {item!r}")
        out.append(item)
    return out


def _select(model, layers, exclude, kinds=PRUNABLE_LAYERS, what="prunable") -> list:
    """The chosen layers of ``kinds``: ``layers`` (default: all of them) minus ``exclude``."""
    candidates = [layer for layer in layers_of(model) if isinstance(layer, kinds)]
    available = [layer.name for layer in candidates]
    by_name = {layer.name: layer for layer in candidates}
    for arg, value in (("layers", layers), ("exclude", exclude)):
        unknown = [n for n in _names(value, arg) if n not in by_name]
        if unknown:
            raise ValueError(
                f"{arg} names unknown or non-{what} layers {unknown} of model "
                f"{model.name!r}; the {what} layers are {available}"
            )
    chosen = available if layers is None else _names(layers, "layers")
    excluded = set(_names(exclude, "exclude"))
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
    model = _model(model)
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
            raise ValueError(f"schedule must be a PolynomialSchedule or callable, got {schedule!r}")
        self.schedule = schedule
        self.layers = None if layers is None else _names(layers, "layers")
        self.exclude = _names(exclude, "exclude")
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
        ValueError: ``model`` is not a built Keras model.
    """
    return clone_with_weights(_model(model))


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
    model = _model(model)
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
        ValueError: ``model`` is not a built Keras model.
    """
    model = _model(model)
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


def _accuracy(y_true, y_pred) -> float:
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == y_pred.shape[-1] and y_true.ndim > 1:
        y_true = np.argmax(y_true, axis=-1)
    return float(np.mean(np.argmax(y_pred, axis=-1) == y_true.reshape(-1)))


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
    model = _model(model)
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(f"data must be a tuple (x, y), got {type(data).__name__}")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"data must hold as many (>= 1) x as y, got {len(x)} and {len(y)}")
    sparsities = [fraction(s, "sparsities") for s in sparsities]
    if not sparsities:
        raise ValueError("sparsities must not be empty")
    if metric == "accuracy":
        metric_fn = _accuracy
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
        ValueError: ``model_or_bytes`` is none of these.
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
        raise ValueError(
            "model_or_bytes must be a keras.Model, bytes or a .tflite path, "
            f"got {type(model_or_bytes).__name__}"
        )
    return len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0))


# ---------------------------------------------------------------- filter pruning

#: Layers that act on each channel independently: pruned channels pass through.
_CHANNELWISE = (
    klayers.Activation,
    klayers.ReLU,
    klayers.LeakyReLU,
    klayers.MaxPooling2D,
    klayers.AveragePooling2D,
    klayers.GlobalAveragePooling2D,
    klayers.GlobalMaxPooling2D,
    klayers.Dropout,
    klayers.SpatialDropout2D,
    klayers.ZeroPadding2D,
    klayers.Cropping2D,
    klayers.Identity,
)


def _filters_to_keep(kernel: np.ndarray, fraction: float) -> np.ndarray:
    """Indices (ascending) of the output filters of largest L1 norm."""
    n = kernel.shape[-1]
    n_drop = min(int(math.floor(fraction * n + 1e-9)), n - 1)
    l1 = np.abs(kernel).reshape(-1, n).sum(axis=0)
    order = np.argsort(-l1, kind="stable")  # largest first; ties keep the lower index
    return np.sort(order[: n - n_drop])


def prune_filters(
    model: keras.Model, fraction: float, layers: Iterable[str] | None = None
) -> keras.Model:
    """Structured pruning: drop the lowest-L1 filters of Conv2D layers (Li et al. 2017).

    For each chosen ``Conv2D``, ``floor(fraction * filters)`` output filters with the
    smallest sum of |w| are removed (at least one is kept), with their bias. The
    matching channels are removed downstream: from a following BatchNormalization
    (gamma, beta, moving mean and variance), a DepthwiseConv2D (and what follows it),
    channel-wise layers (ReLU, pooling, dropout, padding), Flatten and Concatenate,
    and the input rows of the next Conv2D, SeparableConv2D or Dense layer. Kept
    weights are copied exactly, so the result computes the same function as the
    original whenever the removed filters were all zero (ignoring any bias and
    BatchNorm offsets of those channels).

    Args:
        model: a functional (or built Sequential) Keras model with no shared layers;
            it is not modified.
        fraction: fraction of filters to remove from each chosen layer, in [0, 1).
        layers: names of the Conv2D layers to prune; ``None`` = every ungrouped
            Conv2D whose channels can be removed.

    Returns:
        A new, smaller functional model with the same inputs and output shapes.

    Raises:
        ValueError: on an invalid argument, a grouped convolution, or a chosen layer
            whose pruned channels reach an Add/Multiply (residual) connection, a layer
            that cannot be narrowed, or a model output; the message names the layer.
    """
    model = _model(model)
    fraction = _validate.fraction(fraction, "fraction")
    functional = functional_graph(model)
    convs = [
        layer
        for layer in functional.layers
        if isinstance(layer, klayers.Conv2D)
        and not isinstance(layer, (klayers.DepthwiseConv2D, klayers.SeparableConv2D))
    ]
    available = [layer.name for layer in convs]
    if layers is None:
        chosen = {layer.name for layer in convs if layer.groups == 1}
        auto = True
    else:
        chosen = set(_names(layers, "layers"))
        unknown = sorted(chosen - set(available))
        if unknown:
            raise ValueError(
                f"layers names unknown or non-Conv2D layers {unknown} of model "
                f"{model.name!r}; the Conv2D layers are {available}"
            )
        auto = False
    if auto:
        chosen = _auto_prunable(functional, chosen)
        if not chosen:
            raise ValueError(
                f"layers=None found no Conv2D of {model.name!r} to prune: the channels of "
                f"each of {available} reach a residual merge, a layer prune_filters cannot "
                "narrow, or the model output"
            )
    if not chosen:
        raise ValueError(f"layers names no Conv2D layer to prune in {model.name!r}")
    return _rebuild(functional, chosen, fraction, model.name)


def _auto_prunable(functional, candidates: set[str]) -> set[str]:
    """Candidates whose removal the rebuild accepts (a dry run per layer)."""
    ok = set()
    for name in candidates:
        try:
            _rebuild(functional, {name}, 0.5, functional.name, dry_run=True)
        except ValueError:
            continue
        ok.add(name)
    return ok


class _Keep:
    """Kept channel indices of a tensor and the pruned layers they come from."""

    __slots__ = ("index", "sources")

    def __init__(self, index: np.ndarray | None, sources: frozenset = frozenset()):
        self.index = index
        self.sources = sources


_FULL = _Keep(None)


def _rebuild(functional, chosen: set[str], fraction: float, name: str, dry_run: bool = False):
    new_tensors: dict[int, object] = {}
    keeps: dict[int, _Keep] = {}
    for t in functional.inputs:
        keeps[id(t)] = _FULL
        if not dry_run:
            new_tensors[id(t)] = keras.Input(
                shape=t.shape[1:], batch_size=t.shape[0], dtype=t.dtype, name=t.name
            )
    for node in nodes_in_order(functional):
        layer = node.operation
        if isinstance(layer, klayers.InputLayer):
            continue
        if not isinstance(layer, keras.layers.Layer) or isinstance(layer, keras.Model):
            ins = [keeps.get(id(t), _FULL) for t in node.input_tensors]
            if any(k.index is not None for k in ins):
                raise ValueError(
                    f"cannot prune {sorted(set().union(*[k.sources for k in ins]))}: "
                    f"their channels reach {getattr(layer, 'name', layer)!r} "
                    f"({type(layer).__name__}), which prune_filters cannot narrow"
                )
            if not dry_run:
                raise ValueError(
                    f"prune_filters supports plain Keras layers only; {layer.name!r} is a "
                    f"{type(layer).__name__}"
                )
            for t in node.outputs:
                keeps[id(t)] = _FULL
            continue
        if len(layer._inbound_nodes) > 1:
            raise ValueError(f"layer {layer.name!r} is shared; prune_filters cannot rebuild it")
        in_tensors = list(node.input_tensors)
        ins = [keeps.get(id(t), _FULL) for t in in_tensors]
        out_keep, config, weights = _narrow(layer, ins, in_tensors, chosen, fraction)
        outs = list(node.outputs)
        for t in outs:
            keeps[id(t)] = out_keep
        if dry_run:
            continue
        new_layer = type(layer).from_config(config)
        args = [new_tensors[id(t)] for t in in_tensors]
        call_args = args if len(args) > 1 or isinstance(layer, klayers.Concatenate) else args[0]
        result = new_layer(call_args)
        results = result if isinstance(result, (list, tuple)) else [result]
        for t, r in zip(outs, results, strict=True):
            new_tensors[id(t)] = r
        if weights:
            new_layer.set_weights(weights)
    for t in functional.outputs:
        k = keeps[id(t)]
        if k.index is not None:
            raise ValueError(
                f"cannot prune {sorted(k.sources)}: their channels reach the model output "
                f"{t.name!r}, whose shape must not change"
            )
    if dry_run:
        return None
    outputs = [new_tensors[id(t)] for t in functional.outputs]
    return keras.Model(
        [new_tensors[id(t)] for t in functional.inputs]
        if len(functional.inputs) > 1
        else new_tensors[id(functional.inputs[0])],
        outputs if len(outputs) > 1 else outputs[0],
        name=f"{name}_filter_pruned",
    )


def _channel_axis_last(layer) -> None:
    fmt = getattr(layer, "data_format", "channels_last")
    if fmt != "channels_last":
        raise ValueError(f"layer {layer.name!r} uses {fmt}; prune_filters needs channels_last")


def _narrow(layer, ins: list[_Keep], in_tensors, chosen, fraction):
    """The output keep, new config and new weights of one layer."""
    config = layer.get_config()
    weights = [np.asarray(w) for w in layer.get_weights()]
    k = ins[0] if ins else _FULL
    pruned_in = any(i.index is not None for i in ins)
    sources = frozenset().union(*[i.sources for i in ins]) if ins else frozenset()

    def refuse(why: str):
        raise ValueError(
            f"cannot prune {sorted(sources)}: their channels reach {layer.name!r} "
            f"({type(layer).__name__}), {why}"
        )

    if isinstance(layer, klayers.DepthwiseConv2D):
        _channel_axis_last(layer)
        if k.index is None:
            return _FULL, config, weights
        m = layer.depth_multiplier
        weights[0] = weights[0][:, :, k.index, :]
        out_index = (k.index[:, None] * m + np.arange(m)[None, :]).ravel()
        if layer.use_bias:
            weights[1] = weights[1][out_index]
        return _Keep(out_index, k.sources), config, weights
    if isinstance(layer, klayers.SeparableConv2D):
        _channel_axis_last(layer)
        if k.index is None:
            return _FULL, config, weights
        m = layer.depth_multiplier
        weights[0] = weights[0][:, :, k.index, :]
        mid = (k.index[:, None] * m + np.arange(m)[None, :]).ravel()
        weights[1] = weights[1][:, :, mid, :]
        return _FULL, config, weights
    if isinstance(layer, klayers.Conv2D):
        _channel_axis_last(layer)
        if k.index is not None:
            if layer.groups != 1:
                refuse("a grouped convolution")
            weights[0] = weights[0][:, :, k.index, :]
        if layer.name not in chosen:
            return _FULL, config, weights
        if layer.groups != 1:
            raise ValueError(f"layers: {layer.name!r} is a grouped Conv2D; it cannot be pruned")
        keep = _filters_to_keep(weights[0], fraction)
        weights[0] = weights[0][..., keep]
        if layer.use_bias:
            weights[1] = weights[1][keep]
        config["filters"] = int(len(keep))
        return _Keep(keep, frozenset({layer.name})), config, weights
    if isinstance(layer, klayers.Dense):
        if k.index is not None:
            weights[0] = weights[0][k.index, :]
        return _FULL, config, weights
    if not pruned_in:
        return _FULL, config, weights
    if isinstance(layer, klayers.BatchNormalization):
        axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
        if axis not in (-1, len(in_tensors[0].shape) - 1):
            refuse(f"normalizing axis {layer.axis}, not the channels")
        weights = [w[k.index] for w in weights]
        return k, config, weights
    if isinstance(layer, _CHANNELWISE):
        return k, config, weights
    if isinstance(layer, klayers.Flatten):
        shape = in_tensors[0].shape[1:]
        if any(d is None for d in shape):
            refuse("with an undefined input shape")
        channels = int(shape[-1])
        positions = math.prod(int(d) for d in shape[:-1])
        index = (np.arange(positions)[:, None] * channels + k.index[None, :]).ravel()
        return _Keep(index, k.sources), config, weights
    if isinstance(layer, klayers.Concatenate):
        if layer.axis not in (-1, len(in_tensors[0].shape) - 1):
            refuse(f"concatenating along axis {layer.axis}, not the channels")
        parts, offset = [], 0
        for t, i in zip(in_tensors, ins, strict=True):
            c = int(t.shape[-1])
            parts.append((np.arange(c) if i.index is None else i.index) + offset)
            offset += c
        return _Keep(np.concatenate(parts), sources), config, weights
    if isinstance(layer, (klayers.Add, klayers.Subtract, klayers.Multiply, klayers.Average)):
        refuse("a residual/elementwise merge whose inputs must keep matching channels")
    refuse("which prune_filters cannot narrow")
