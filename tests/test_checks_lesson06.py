"""Lesson 06 checkers: each classic mistake is recognised and named by its hint."""

import numpy as np
import pytest

from mobilecourse import checks

# ---------------------------------------------------------------- magnitude mask


def _mask(weights, sparsity, key=np.abs, count=round, flip=False):
    flat = key(np.asarray(weights)).ravel()
    k = count(sparsity * flat.size)
    order = np.argsort(flat)
    if flip:
        order = order[::-1]
    keep = np.ones(flat.size, dtype=bool)
    keep[order[:k]] = False
    return keep.reshape(np.shape(weights))


def test_magnitude_mask_right():
    checks.check_magnitude_mask(_mask)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda w, s: _mask(w, s, flip=True), "keeps the smallest weights"),
        (lambda w, s: _mask(w, s, key=lambda a: a), "signed values"),
        (lambda w, s: _mask(w, s, count=int), "round(sparsity * n)"),
        (lambda w, s: _mask(w, s).ravel(), "returned"),
        (lambda w, s: None, "forget `return`"),
    ],
)
def test_magnitude_mask_mistakes(wrong, words):
    with pytest.raises(checks.CheckFailed, match=None) as info:
        checks.check_magnitude_mask(wrong)
    assert words in str(info.value)


def test_magnitude_mask_not_attempted(capsys):
    def stub(weights, sparsity):
        raise NotImplementedError

    checks.check_magnitude_mask(stub)
    assert "not attempted yet" in capsys.readouterr().out


# ---------------------------------------------------------------- schedule


def _poly(step, s_i, s_f, t0, n, power=3, clip=True):
    p = (step - t0) / n
    if clip:
        p = min(max(p, 0.0), 1.0)
    return s_f + (s_i - s_f) * (1 - p) ** power


def test_polynomial_sparsity_right():
    checks.check_polynomial_sparsity(_poly)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda *a: _poly(*a, power=1), "linear"),
        (lambda t, s_i, s_f, t0, n: _poly(t, s_f, s_i, t0, n), "backwards"),
        (
            lambda t, s_i, s_f, t0, n: s_i + (s_f - s_i) * min(max((t - t0) / n, 0.0), 1.0) ** 3,
            "cubed the progress",
        ),
        (lambda *a: _poly(*a, clip=False), "clip the progress"),
    ],
)
def test_polynomial_sparsity_mistakes(wrong, words):
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_polynomial_sparsity(wrong)
    assert words in str(info.value)


# ---------------------------------------------------------------- sparse storage


def _storage(n, sparsity, index_bits):
    kept = n - round(sparsity * n)
    return kept * 4 + kept * index_bits / 8


def test_sparse_storage_right():
    checks.check_sparse_storage_bytes(_storage)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda n, s, b: (n - round(s * n)) * 4, "forgot the index cost"),
        (lambda n, s, b: round(s * n) * (4 + b / 8), "stored the pruned weights"),
        (lambda n, s, b: (n - round(s * n)) * (4 + b), "divide by 8"),
        (lambda n, s, b: 4 * n, "expected"),
    ],
)
def test_sparse_storage_mistakes(wrong, words):
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_sparse_storage_bytes(wrong)
    assert words in str(info.value)


# ---------------------------------------------------------------- filter surgery


def surgery(kernel, bn, next_kernel, n_keep, *, slip=None):
    """Filter surgery written with a Python loop (independent of the checker's NumPy)."""
    n = kernel.shape[-1]
    norms = [float(np.abs(kernel[..., i]).sum()) for i in range(n)]
    ranked = sorted(range(n), key=lambda i: norms[i], reverse=slip != "smallest")[:n_keep]
    keep = ranked if slip == "order" else sorted(ranked)
    bn = bn if slip == "bn" else [np.array([b[i] for i in keep]) for b in bn]
    if slip != "next":
        next_kernel = np.stack([next_kernel[:, :, i, :] for i in keep], axis=2)
    return np.stack([kernel[..., i] for i in keep], axis=-1), bn, next_kernel


def test_filter_surgery_right(capsys):
    checks.check_filter_surgery(surgery)
    assert capsys.readouterr().out == "Correct: filter surgery (4 cases checked).\n"


@pytest.mark.parametrize(
    ("slip", "words"),
    [
        ("next", "next layer still reads every channel"),
        ("bn", "BatchNorm still has one gamma"),
        ("order", "in another order"),
        ("smallest", "smallest L1 norm"),
    ],
)
def test_filter_surgery_mistakes(slip, words):
    with pytest.raises(checks.CheckFailed, match=words):
        checks.check_filter_surgery(
            lambda kernel, bn, next_kernel, n_keep: surgery(
                kernel, bn, next_kernel, n_keep, slip=slip
            )
        )


def test_filter_surgery_not_attempted_and_wrong_shapes(capsys):
    def stub(kernel, bn, next_kernel, n_keep):
        raise NotImplementedError

    checks.check_filter_surgery(stub)
    assert "not attempted yet" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match=r"chain 1: .*an array of shape \(3, 3, 2\)"):
        checks.check_filter_surgery(
            lambda kernel, bn, next_kernel, n_keep: (kernel[..., 0], bn, next_kernel)
        )
