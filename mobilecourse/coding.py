"""Lossless storage of a compressed layer: Huffman codes and relative (sparse) indices.

The last stage of Deep Compression (Han et al., ICLR 2016) and the storage format of a
pruned layer, in pure Python and NumPy (no Keras), so every bit can be counted by hand;
lesson 07 applies them to a pruned, weight-shared SqueezeNet
(:func:`mobilecourse.quantize.deep_compress`).

* **Huffman coding** (Huffman 1952): the prefix-free code of least average length for
  given symbol counts. Frequent symbols get short codewords; the average length ``L``
  of the code satisfies ``H <= L < H + 1`` bits per symbol, ``H`` the entropy of the
  counts (:func:`entropy_bits`).
* **Relative indices**: a sparse layer stores, for each kept weight, the number of
  zeros skipped since the previous stored entry, in ``index_bits`` bits. A run longer
  than ``2**index_bits - 1`` zeros cannot be written, so a **filler** entry (a stored
  zero) is inserted after ``2**index_bits - 1`` of them (Deep Compression, Section 2;
  EIE, Han et al. 2016, uses the same rule with 4 bits).

Symbols are the integers ``0 .. len(counts) - 1``; ``counts[s]`` is how often symbol
``s`` occurs (``np.bincount`` of a stream gives them).
"""

from __future__ import annotations

import heapq

import numpy as np

from mobilecourse._validate import integer

__all__ = [
    "decode_relative_indices",
    "entropy_bits",
    "huffman_bits",
    "huffman_code",
    "huffman_code_lengths",
    "relative_indices",
]


def _counts(counts: object) -> np.ndarray:
    """``counts`` as a 1-D int64 array of non-negative integers, at least one positive."""
    array = np.asarray(counts)
    if array.size == 0:
        raise ValueError("counts must not be empty")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"counts must be a sequence of non-negative integers, got dtype {array.dtype}"
        )
    if array.ndim != 1:
        raise ValueError(f"counts must be one-dimensional, got shape {array.shape}")
    array = array.astype("int64")
    if array.size == 0 or (array < 0).any() or not (array > 0).any():
        raise ValueError(
            "counts must hold non-negative integers, at least one of them positive, "
            f"got {array.tolist()[:8]}{'...' if array.size > 8 else ''}"
        )
    return array


def huffman_code_lengths(counts) -> np.ndarray:
    """Codeword length in bits of each symbol in a Huffman code for ``counts``.

    Huffman's algorithm: repeatedly merge the two least frequent subtrees; a symbol's
    codeword length is its depth in the final tree. Ties are broken by creation order,
    so the result is deterministic.

    Formula:
        the lengths ``l_s`` minimise ``sum_s counts[s] * l_s`` over all prefix-free
        codes; they satisfy Kraft's equality ``sum_s 2**-l_s = 1`` (over the symbols
        that occur).

    Example:
        >>> huffman_code_lengths([4, 2, 1, 1]).tolist()  # probabilities 1/2, 1/4, 1/8, 1/8
        [1, 2, 3, 3]
        >>> huffman_code_lengths([0, 7]).tolist()  # one symbol: one bit per occurrence
        [0, 1]

    Args:
        counts: occurrences of each symbol ``0 .. len(counts) - 1`` (non-negative
            integers, at least one positive).

    Returns:
        ``int64`` array of ``len(counts)`` lengths; 0 for a symbol that never occurs.
        A stream of a single distinct symbol still spends 1 bit per occurrence.

    Raises:
        TypeError: ``counts`` is not a sequence of integers.
        ValueError: it is not 1-D, is empty, holds a negative count or only zeros.
    """
    counts = _counts(counts)
    lengths = np.zeros(counts.size, dtype="int64")
    used = np.flatnonzero(counts)
    if used.size == 1:
        lengths[used] = 1
        return lengths
    # nodes 0..len(used)-1 are the leaves; each merge appends a parent node
    parent = [-1] * (2 * used.size - 1)
    heap = [(int(counts[s]), node) for node, s in enumerate(used)]
    heapq.heapify(heap)
    next_node = used.size
    while len(heap) > 1:
        w1, n1 = heapq.heappop(heap)
        w2, n2 = heapq.heappop(heap)
        parent[n1] = parent[n2] = next_node
        heapq.heappush(heap, (w1 + w2, next_node))
        next_node += 1
    depth = [0] * len(parent)
    for node in range(len(parent) - 2, -1, -1):  # parents are created after children
        depth[node] = depth[parent[node]] + 1
    lengths[used] = depth[: used.size]
    return lengths


def huffman_bits(counts) -> int:
    """Bits of a stream with these symbol counts once Huffman coded (the code table excluded).

    Formula:
        ``sum_s counts[s] * huffman_code_lengths(counts)[s]``.

    Example:
        >>> huffman_bits([4, 2, 1, 1])  # 4*1 + 2*2 + 1*3 + 1*3
        14
    """
    counts = _counts(counts)
    return int(np.dot(counts, huffman_code_lengths(counts)))


def huffman_code(counts) -> list[str]:
    """The canonical Huffman codewords of the symbols, as strings of ``"0"`` and ``"1"``.

    Canonical form: the lengths of :func:`huffman_code_lengths`; codewords are assigned
    in order of (length, symbol), each the previous one plus 1, shifted left when the
    length grows. A decoder needs only the lengths to rebuild the code, so storing the
    code table costs one length per symbol.

    Example:
        >>> huffman_code([4, 2, 1, 1])
        ['0', '10', '110', '111']

    Returns:
        One codeword per symbol; ``""`` for a symbol that never occurs.
    """
    lengths = huffman_code_lengths(counts)
    code = [""] * lengths.size
    value, previous = 0, 0
    for symbol in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        length = int(lengths[symbol])
        value <<= length - previous
        code[symbol] = format(value, f"0{length}b")
        value, previous = value + 1, length
    return code


def entropy_bits(counts) -> float:
    """Shannon entropy of the symbol distribution, in bits per symbol.

    No lossless code of one codeword per symbol does better on average, and Huffman's
    is less than one bit worse.

    Formula:
        ``H = -sum_s p_s log2 p_s`` with ``p_s = counts[s] / sum(counts)``.

    Example:
        >>> entropy_bits([4, 2, 1, 1])
        1.75
    """
    counts = _counts(counts)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no "-0.0" for one symbol


def _positions(positions: object) -> np.ndarray:
    array = np.asarray(positions)
    if array.size and (array.dtype == bool or not np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"positions must be integers, got dtype {array.dtype}")
    array = array.astype("int64").ravel() if array.size else np.zeros(0, dtype="int64")
    if array.size and (array[0] < 0 or (np.diff(array) <= 0).any()):
        raise ValueError(
            "positions must be non-negative and strictly increasing (the flat indices of "
            "the kept weights, sorted)"
        )
    return array


def relative_indices(positions, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The relative indices a sparse layer stores, filler entries included.

    Each stored entry records how many zeros were skipped since the previous entry
    (the first counts from the start). With ``b = index_bits`` bits the most it can
    record is ``2**b - 1``; a longer run gets a filler entry, itself a stored zero, after
    every ``2**b - 1`` skipped zeros, so a run of ``z`` zeros costs ``z // 2**b`` fillers.

    Formula:
        ``z_i = p_i - p_{i-1} - 1`` (``p_{-1} = -1``); entry ``i`` is preceded by
        ``z_i // 2**b`` fillers storing ``2**b - 1`` and stores ``z_i mod 2**b`` itself.

    Example:
        Kept weights at positions 1, 2 and 12 with 2-bit indices (at most 3 zeros per
        entry): 1 zero before 1, none before 2, then 9 zeros: two fillers (3 zeros each,
        the fillers at 6 and 10) and 1 zero before 12.

        >>> runs, filler = relative_indices([1, 2, 12], index_bits=2)
        >>> runs.tolist(), filler.tolist()
        ([1, 0, 3, 3, 1], [False, False, True, True, False])

    Args:
        positions: flat indices of the kept weights, strictly increasing, >= 0.
        index_bits: bits per relative index, 1 to 16.

    Returns:
        ``(runs, filler)``: the stored values (``int64``, each from 0 to
        ``2**index_bits - 1``) and a boolean array, True where the entry is a filler.

    Raises:
        TypeError: ``positions`` are not integers, ``index_bits`` is not an integer.
        ValueError: ``positions`` are negative or not strictly increasing;
            ``index_bits`` out of range.
    """
    positions = _positions(positions)
    index_bits = integer(index_bits, "index_bits", 1, maximum=16)
    span = 2**index_bits
    zeros = np.diff(positions, prepend=-1) - 1
    fillers = zeros // span
    entries = fillers + 1  # per kept weight: its fillers, then itself
    filler = np.ones(int(entries.sum()), dtype=bool)
    ends = np.cumsum(entries) - 1
    filler[ends] = False
    runs = np.full(filler.size, span - 1, dtype="int64")
    runs[ends] = zeros % span
    return runs, filler


def decode_relative_indices(runs) -> np.ndarray:
    """Positions of every stored entry (fillers included) from their relative indices.

    Formula:
        ``p_i = p_{i-1} + runs_i + 1`` with ``p_{-1} = -1``, i.e. ``cumsum(runs + 1) - 1``.
        A decoder drops the fillers by their stored value, the zero weight.

    Example:
        >>> decode_relative_indices([1, 0, 3, 3, 1]).tolist()
        [1, 2, 6, 10, 12]

    Raises:
        TypeError: ``runs`` are not integers.
        ValueError: a negative run.
    """
    runs = np.asarray(runs)
    if runs.size and (runs.dtype == bool or not np.issubdtype(runs.dtype, np.integer)):
        raise TypeError(f"runs must be integers, got dtype {runs.dtype}")
    runs = runs.astype("int64").ravel()
    if (runs < 0).any():
        raise ValueError("runs must be >= 0 (zeros skipped before each entry)")
    return np.cumsum(runs + 1) - 1
