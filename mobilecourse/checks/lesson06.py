"""Checkers for lesson 06: magnitude pruning, sparsity schedules and sparse storage."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mobilecourse.checks._core import Mistake, check_function

__all__ = [
    "check_filter_surgery",
    "check_magnitude_mask",
    "check_polynomial_sparsity",
    "check_sparse_storage_bytes",
]


# ---------------------------------------------------------------- magnitude mask


def _as_tuple(mask) -> tuple | None:
    """A mask as a flat tuple of bools (None stays None, so `forgot return` is reported)."""
    if mask is None:
        return None
    return tuple(bool(v) for v in np.asarray(mask).ravel())


def _mask(weights, sparsity, *, key=np.abs, count=lambda n, s: int(round(s * n)), flip=False):
    """Keep-mask zeroing the ``count`` weights of smallest ``key(w)`` (ties: first position)."""
    flat = key(np.asarray(weights, dtype=np.float64)).ravel()
    k = count(flat.size, sparsity)
    keep = np.ones(flat.size, dtype=bool)
    order = np.argsort(flat, kind="stable")
    if flip:  # keeps the smallest: drops the k largest
        order = order[::-1]
    keep[order[:k]] = False
    return tuple(bool(v) for v in keep)


_MASK_CASES = [
    (np.array([0.5, -0.1, 0.3, -0.9, 0.05, 0.7, -0.4, 0.2, -0.6, 0.8]), 0.5),
    (np.array([[0.3, -0.8, 0.1], [-0.05, 0.6, -0.25], [0.9, -0.45, 0.15], [0.02, 0.5, -0.7]]), 0.3),
    (np.array([-0.2, 0.1, -0.4, 0.3, -0.6, 0.5]), 0.0),
    (np.array([[[0.11, -0.52], [0.33, -0.04]], [[-0.91, 0.27], [0.06, -0.68]]]), 0.75),
]


def check_magnitude_mask(fn: Callable[[np.ndarray, float], np.ndarray]) -> None:
    """Lesson 06: ``fn(weights, sparsity)`` is the keep-mask (True = keep) of magnitude pruning.

    ``round(sparsity * weights.size)`` weights of smallest ``|w|`` are pruned; the mask has the
    shape of ``weights``.
    """

    def student(weights, sparsity):
        out = fn(weights.copy(), sparsity)
        if out is not None and np.shape(out) != weights.shape:
            return ("wrong shape", np.shape(out))
        return _as_tuple(out)

    student.__name__ = getattr(fn, "__name__", "your function")
    check_function(
        "magnitude pruning mask",
        student,
        cases=_MASK_CASES,
        reference=_mask,
        mistakes=[
            Mistake(
                "Your mask keeps the smallest weights and prunes the largest: magnitude "
                "pruning removes the weights of smallest |w| (they change the output least).",
                lambda w, s: _mask(w, s, flip=True),
            ),
            Mistake(
                "You ranked the signed values, so large negative weights were pruned: rank "
                "by the magnitude |w| (np.abs) instead.",
                lambda w, s: _mask(w, s, key=lambda a: a),
            ),
            Mistake(
                "The number of pruned weights is off by one: int(sparsity * n) truncates; "
                "use round(sparsity * n), as the package does.",
                lambda w, s: _mask(w, s, count=lambda n, s_: int(s_ * n)),
            ),
        ],
    )


# ---------------------------------------------------------------- schedule


def _poly(step, s_i, s_f, t0, n, *, power=3, clamp=True, inverted=False, slow_start=False):
    p = (step - t0) / n
    if clamp:
        p = min(max(p, 0.0), 1.0)
    if inverted:
        return s_i + (s_f - s_i) * (1 - p) ** power
    if slow_start:
        return s_i + (s_f - s_i) * p**power
    return s_f + (s_i - s_f) * (1 - p) ** power


_POLY_CASES = [
    (10, 0.0, 0.9, 0, 40),
    (50, 0.0, 0.8, 0, 100),
    (300, 0.2, 0.8, 200, 400),
    (70, 0.1, 0.5, 20, 200),
    (0, 0.0, 0.8, 100, 500),
    (1000, 0.0, 0.8, 100, 500),
]


def check_polynomial_sparsity(fn: Callable[[int, float, float, int, int], float]) -> None:
    """Lesson 06: ``fn(step, s_i, s_f, t0, n)`` is Zhu & Gupta's cubic sparsity at ``step``."""
    check_function(
        "polynomial (cubic) sparsity schedule",
        fn,
        cases=_POLY_CASES,
        reference=_poly,
        mistakes=[
            Mistake(
                "Your schedule is linear: Zhu & Gupta raise (1 - progress) to the power 3, "
                "so the sparsity rises fast at first and slowly at the end.",
                lambda *a: _poly(*a, power=1),
            ),
            Mistake(
                "Your schedule runs backwards: it must start at s_i when step = t0 and reach "
                "s_f at step = t0 + n (check the roles of s_i and s_f).",
                lambda *a: _poly(*a, inverted=True),
            ),
            Mistake(
                "You cubed the progress instead of (1 - progress): that starts slowly and "
                "prunes most at the end, when few redundant weights remain.",
                lambda *a: _poly(*a, slow_start=True),
            ),
            Mistake(
                "Outside [t0, t0 + n] the sparsity must stay at s_i (before) or s_f (after): "
                "clip the progress to [0, 1].",
                lambda *a: _poly(*a, clamp=False),
            ),
        ],
    )


# ---------------------------------------------------------------- sparse storage


def _storage(n, sparsity, index_bits, *, index=True, zeros=False, index_bytes=False):
    pruned = int(round(sparsity * n))
    kept = pruned if zeros else n - pruned
    per_weight = 4.0
    if index:
        per_weight += index_bits if index_bytes else index_bits / 8
    return kept * per_weight


def check_sparse_storage_bytes(fn: Callable[[int, float, int], float]) -> None:
    """Lesson 06: ``fn(n, sparsity, index_bits)``: bytes of a sparse float32 kernel + indices."""
    check_function(
        "bytes of a sparse kernel",
        fn,
        cases=[(1000, 0.8, 8), (4096, 0.5, 16), (288, 0.9, 8), (32768, 0.75, 4), (100, 0.0, 8)],
        reference=_storage,
        mistakes=[
            Mistake(
                "You forgot the index cost: each kept weight also needs index_bits / 8 "
                "bytes saying where it sits, which is why low sparsity does not pay.",
                lambda *a: _storage(*a, index=False),
            ),
            Mistake(
                "You stored the pruned weights: only the nonzero (kept) weights, "
                "n - round(sparsity * n) of them, are stored.",
                lambda *a: _storage(*a, zeros=True),
            ),
            Mistake(
                "index_bits is in bits: divide by 8 to get bytes.",
                lambda *a: _storage(*a, index_bytes=True),
            ),
        ],
    )


# ---------------------------------------------------------------- filter surgery

_BN_PARTS = ("gamma", "beta", "moving_mean", "moving_variance")


class _Chain:
    """A trained conv -> BatchNorm -> conv chain's weights, with a short ``repr``.

    The filters of the first kernel get L1 norms in a shuffled order (never sorted by
    index), all different, so keeping the largest, keeping the smallest and the order of
    the kept filters are three different answers.
    """

    def __init__(self, number, kernel, cin, filters, next_kernel, next_filters, keep):
        rng = np.random.default_rng(number)
        scale = rng.permutation(filters) + 1.0
        self.kernel = rng.uniform(-1, 1, (kernel, kernel, cin, filters)) * scale
        self.bn = [
            rng.uniform(0.5, 1.5, filters),
            rng.uniform(-0.5, 0.5, filters),
            rng.uniform(-1, 1, filters),
            rng.uniform(0.5, 2.0, filters),
        ]
        self.next_kernel = rng.uniform(-1, 1, (next_kernel, next_kernel, filters, next_filters))
        self.keep = keep
        self.text = (
            f"chain {number}: kernel {self.kernel.shape}, next kernel "
            f"{self.next_kernel.shape}, keep {keep} of {filters} filters"
        )

    def __repr__(self) -> str:
        return self.text


_CHAINS = [
    _Chain(1, 3, 2, 6, 3, 4, 4),
    _Chain(2, 1, 5, 8, 1, 3, 3),
    _Chain(3, 3, 3, 7, 3, 2, 1),
    _Chain(4, 3, 1, 5, 1, 5, 5),
]


def _slices(out, original: np.ndarray, axis: int):
    """Which slices of ``original`` along ``axis`` ``out`` holds, in order (or a text)."""
    try:
        out = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        return f"a {type(out).__name__}, not an array"
    axis %= original.ndim
    others = [d for i, d in enumerate(original.shape) if i != axis]
    if out.ndim != original.ndim or [d for i, d in enumerate(out.shape) if i != axis] != others:
        return f"an array of shape {out.shape} (the input has shape {original.shape})"
    found = []
    for j in range(out.shape[axis]):
        piece = np.take(out, j, axis=axis)
        match = [
            i
            for i in range(original.shape[axis])
            if np.allclose(np.take(original, i, axis=axis), piece, rtol=0, atol=1e-6)
        ]
        if not match:
            return f"an array of shape {out.shape} whose values are not slices of the input"
        found.append(match[0])
    return tuple(found)


def _summary(chain: _Chain, answer) -> object:
    """An answer as the filters each returned array holds (input indices), or a text."""
    if answer is None:
        return None
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return "not a (kernel, bn, next_kernel) triple"
    kernel, bn, next_kernel = answer
    if not isinstance(bn, (tuple, list)) or len(bn) != 4:
        return "bn is not a list of 4 arrays (gamma, beta, moving mean, moving variance)"
    parts = [("kernel filters", _slices(kernel, chain.kernel, -1))]
    for name, got, original in zip(_BN_PARTS, bn, chain.bn, strict=True):
        parts.append((f"{name} channels", _slices(got, original, 0)))
    parts.append(("next kernel input channels", _slices(next_kernel, chain.next_kernel, 2)))
    return tuple(parts)


def _by_hand(chain: _Chain, *, order="index", largest=True, cut_bn=True, cut_next=True):
    """The surgery in NumPy; the switches make the classic mistakes."""
    n = chain.kernel.shape[-1]
    l1 = np.abs(chain.kernel).reshape(-1, n).sum(axis=0)
    ranked = np.argsort(-l1 if largest else l1, kind="stable")[: chain.keep]
    keep = np.sort(ranked) if order == "index" else ranked
    bn = [b[keep] for b in chain.bn] if cut_bn else list(chain.bn)
    next_kernel = chain.next_kernel[:, :, keep, :] if cut_next else chain.next_kernel
    return chain.kernel[..., keep], bn, next_kernel


def _with_prune_filters(chain: _Chain):
    """The reference: ``filter_pruning.prune_filters`` on the chain built in Keras."""
    import keras

    from mobilecourse.filter_pruning import prune_filters

    k, _, cin, n = chain.kernel.shape
    inputs = keras.Input((6, 6, cin))
    x = keras.layers.Conv2D(n, k, padding="same", use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU()(x)
    m = chain.next_kernel.shape[-1]
    kn = chain.next_kernel.shape[0]
    x = keras.layers.Conv2D(m, kn, padding="same", use_bias=False, name="next")(x)
    model = keras.Model(inputs, x)
    model.get_layer("conv").set_weights([chain.kernel])
    model.get_layer("bn").set_weights(chain.bn)
    model.get_layer("next").set_weights([chain.next_kernel])
    pruned = prune_filters(model, (n - chain.keep) / n, layers=["conv"])
    (kernel,) = pruned.get_layer("conv").get_weights()
    (next_kernel,) = pruned.get_layer("next").get_weights()
    return kernel, pruned.get_layer("bn").get_weights(), next_kernel


def check_filter_surgery(fn: Callable[..., tuple]) -> None:
    """Lesson 06: ``fn(kernel, bn, next_kernel, n_keep)`` removes a conv's weakest filters.

    ``kernel`` is ``(k, k, c_in, n)``, ``bn`` the list ``[gamma, beta, moving_mean,
    moving_variance]`` of the BatchNorm after it, ``next_kernel`` the following
    convolution's ``(k, k, n, m)``. The answer ``(kernel, bn, next_kernel)`` keeps the
    ``n_keep`` filters of largest L1 norm, in their original order, and the matching BN
    channels and input channels of the next kernel; it is compared with
    ``filter_pruning.prune_filters`` on the same chain built in Keras.
    """

    def student(chain: _Chain):
        args = (chain.kernel.copy(), [b.copy() for b in chain.bn], chain.next_kernel.copy())
        return _summary(chain, fn(*args, chain.keep))

    student.__name__ = getattr(fn, "__name__", "your function")

    def mistake(**switches):
        return lambda chain: _summary(chain, _by_hand(chain, **switches))

    check_function(
        "filter surgery",
        student,
        cases=[(chain,) for chain in _CHAINS],
        reference=lambda chain: _summary(chain, _with_prune_filters(chain)),
        mistakes=[
            Mistake(
                "The next layer still reads every channel: the removed filters' channels "
                "no longer exist, so cut the same indices from the next kernel's input "
                "axis (its third axis, (k, k, n, m)).",
                mistake(cut_next=False),
            ),
            Mistake(
                "BatchNorm still has one gamma, beta, mean and variance per original "
                "filter: each of the four must lose the removed channels too.",
                mistake(cut_bn=False),
            ),
            Mistake(
                "The right filters, in another order. Permuting them the same way everywhere "
                "computes the same function, but filter pruning keeps the survivors in "
                "their original order (sorted indices), as prune_filters does, so the pruned "
                "layer's channels stay in the order of the trained one.",
                mistake(order="l1"),
            ),
            Mistake(
                "You kept the filters of smallest L1 norm: the criterion removes the "
                "smallest sum of |w| and keeps the largest.",
                mistake(largest=False),
            ),
        ],
    )
