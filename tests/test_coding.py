"""Huffman coding and relative indices (mobilecourse.coding): known optima, bounds, round trips."""

import doctest
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobilecourse import coding

# --- Huffman code lengths ---------------------------------------------------------------


def test_dyadic_frequencies_get_their_exact_lengths():
    # p = 1/2, 1/4, 1/8, 1/8: the optimal lengths are -log2 p = 1, 2, 3, 3 (by hand)
    assert coding.huffman_code_lengths([4, 2, 1, 1]).tolist() == [1, 2, 3, 3]
    assert coding.huffman_code_lengths([1, 1, 2, 4]).tolist() == [3, 3, 2, 1]
    # average length equals the entropy exactly when every p is a power of 1/2
    assert coding.huffman_bits([4, 2, 1, 1]) == 4 * 1 + 2 * 2 + 1 * 3 + 1 * 3
    assert coding.entropy_bits([4, 2, 1, 1]) == pytest.approx(1.75)


def test_uniform_symbols_need_log2_bits():
    assert coding.huffman_code_lengths([5] * 8).tolist() == [3] * 8
    assert coding.huffman_bits([3] * 16) == 3 * 16 * 4
    assert coding.entropy_bits([3] * 16) == pytest.approx(4.0)


def test_a_textbook_example_by_hand():
    # counts 45, 13, 12, 16, 9, 5 (a classic exercise): merges 5+9=14, 12+13=25, 14+16=30,
    # 25+30=55, 45+55=100 -> lengths 1, 3, 3, 3, 4, 4 and 224 bits in total
    counts = [45, 13, 12, 16, 9, 5]
    assert coding.huffman_code_lengths(counts).tolist() == [1, 3, 3, 3, 4, 4]
    assert coding.huffman_bits(counts) == 45 + 3 * (13 + 12 + 16) + 4 * (9 + 5)


def test_single_symbol_and_unused_symbols():
    assert coding.huffman_code_lengths([9]).tolist() == [1]
    assert coding.huffman_code_lengths([0, 9, 0]).tolist() == [0, 1, 0]
    assert coding.huffman_bits([0, 9, 0]) == 9
    assert coding.entropy_bits([0, 9]) == 0.0
    assert coding.huffman_code([0, 3, 0, 1]) == ["", "0", "", "1"]


def brute_force_optimum(counts):
    """Least total bits over all length assignments that satisfy Kraft's inequality."""
    used = [c for c in counts if c > 0]
    if len(used) == 1:
        return used[0]
    best = math.inf
    for lengths in itertools.product(range(1, len(used)), repeat=len(used)):
        if sum(2.0**-n for n in lengths) <= 1:
            best = min(best, sum(c * n for c, n in zip(used, lengths, strict=True)))
    return best


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=5).filter(any))
def test_huffman_is_optimal_against_brute_force(counts):
    assert coding.huffman_bits(counts) == brute_force_optimum(counts)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 1000), min_size=2, max_size=40).filter(
        lambda c: sum(1 for x in c if x) >= 2
    )
)
def test_kraft_equality_and_the_entropy_bound(counts):
    counts = np.array(counts)
    lengths = coding.huffman_code_lengths(counts)
    used = counts > 0
    assert (lengths[~used] == 0).all() and (lengths[used] >= 1).all()
    # a Huffman tree is full: Kraft's sum is exactly 1 (exact in binary fractions)
    assert sum(2.0 ** -int(n) for n in lengths[used]) == 1.0
    average = coding.huffman_bits(counts) / counts.sum()
    p = counts[used] / counts.sum()
    entropy = -(p * np.log2(p)).sum()  # computed here, not by the module
    assert coding.entropy_bits(counts) == pytest.approx(entropy)
    assert entropy - 1e-9 <= average < entropy + 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=30).filter(any))
def test_canonical_code_is_prefix_free_and_decodes(counts):
    code = coding.huffman_code(counts)
    lengths = coding.huffman_code_lengths(counts)
    assert [len(w) for w in code] == lengths.tolist()
    words = [w for w in code if w]
    for a, b in itertools.permutations(words, 2):
        assert not b.startswith(a)
    # encode a message and decode it bit by bit with the table
    message = [s for s, c in enumerate(counts) for _ in range(min(c, 3))]
    bits = "".join(code[s] for s in message)
    table = {w: s for s, w in enumerate(code) if w}
    decoded, word = [], ""
    for bit in bits:
        word += bit
        if word in table:
            decoded.append(table[word])
            word = ""
    assert decoded == message and word == ""


def test_skewed_counts_give_a_deep_tree_quickly():
    counts = [2**k for k in range(40)]  # Fibonacci-like skew: depths 1 .. 39
    lengths = coding.huffman_code_lengths(counts)
    assert sorted(lengths.tolist()) == [*range(1, 40), 39]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: coding.huffman_code_lengths([]), ValueError, "counts"),
        (lambda: coding.huffman_code_lengths([0, 0]), ValueError, "at least one of them positive"),
        (lambda: coding.huffman_code_lengths([3, -1]), ValueError, "non-negative"),
        (lambda: coding.huffman_code_lengths([1.5, 2.0]), TypeError, "counts"),
        (lambda: coding.huffman_code_lengths([True, False]), TypeError, "counts"),
        (lambda: coding.huffman_code_lengths([[1, 2], [3, 4]]), ValueError, "one-dimensional"),
        (lambda: coding.huffman_bits("abc"), TypeError, "counts"),
        (lambda: coding.entropy_bits([0]), ValueError, "counts"),
        (lambda: coding.relative_indices([3, 2], 4), ValueError, "strictly increasing"),
        (lambda: coding.relative_indices([-1, 2], 4), ValueError, "non-negative"),
        (lambda: coding.relative_indices([1.0, 2.0], 4), TypeError, "positions"),
        (lambda: coding.relative_indices([1, 2], 0), ValueError, "index_bits"),
        (lambda: coding.relative_indices([1, 2], 2.0), TypeError, "index_bits"),
        (lambda: coding.decode_relative_indices([1, -2]), ValueError, "runs"),
        (lambda: coding.decode_relative_indices([0.5]), TypeError, "runs"),
    ],
)
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- relative indices ---------------------------------------------------------------------


def test_relative_indices_worked_example():
    # positions 1, 2, 12 with 2-bit indices (3 zeros at most per entry), by hand:
    # 1 zero, then 0 zeros, then 9 zeros = filler (3 zeros, at 6) + filler (at 10) + 1 zero
    runs, filler = coding.relative_indices([1, 2, 12], index_bits=2)
    assert runs.tolist() == [1, 0, 3, 3, 1]
    assert filler.tolist() == [False, False, True, True, False]
    assert coding.decode_relative_indices(runs).tolist() == [1, 2, 6, 10, 12]


def test_a_run_of_exactly_the_largest_value_needs_no_filler():
    assert coding.relative_indices([3], 2)[0].tolist() == [3]  # 3 zeros fit in 2 bits
    assert coding.relative_indices([4], 2)[0].tolist() == [3, 0]  # 4 do not: filler at 3
    assert coding.relative_indices([0, 1, 2], 1)[0].tolist() == [0, 0, 0]
    runs, filler = coding.relative_indices([], 3)
    assert runs.size == 0 and filler.size == 0


def naive_relative(positions, bits):
    """Entry-by-entry encoder written from the definition (a loop, no NumPy)."""
    out, previous, largest = [], -1, 2**bits - 1
    for p in positions:
        run = p - previous - 1
        while run > largest:
            out.append((largest, True))
            run -= largest + 1
        out.append((run, False))
        previous = p
    return out


@settings(max_examples=80, deadline=None)
@given(st.sets(st.integers(0, 400), max_size=60), st.integers(1, 6))
def test_relative_indices_round_trip_and_filler_count(position_set, bits):
    positions = sorted(position_set)
    runs, filler = coding.relative_indices(positions, bits)
    assert list(zip(runs.tolist(), filler.tolist(), strict=True)) == naive_relative(positions, bits)
    assert ((runs >= 0) & (runs < 2**bits)).all()
    decoded = coding.decode_relative_indices(runs)
    assert decoded[~filler].tolist() == positions
    # each run of z zeros costs floor(z / 2**bits) fillers
    zeros = np.diff([-1, *positions]) - 1
    assert filler.sum() == (zeros // 2**bits).sum()


def test_filler_rate_matches_the_geometric_prediction():
    # kept positions drawn independently with density d: a run reaches 2**b zeros with
    # probability (1 - d)**(2**b), so fillers per kept weight = q / (1 - q), q = (1-d)**(2**b)
    rng = np.random.default_rng(0)
    d, bits, n = 0.2, 4, 400_000
    positions = np.flatnonzero(rng.random(n) < d)
    _, filler = coding.relative_indices(positions, bits)
    q = (1 - d) ** 2**bits
    assert filler.sum() / positions.size == pytest.approx(q / (1 - q), rel=0.05)


def test_module_examples():
    assert doctest.testmod(coding).failed == 0
