"""Checkers for lesson 06: magnitude pruning, sparsity schedules and sparse storage."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mobilecourse.checks._core import Mistake, check_function

__all__ = [
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
