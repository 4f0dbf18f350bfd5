"""Binary byte units and number formatting shared by lessons, checks and reports."""

from __future__ import annotations

import numbers

__all__ = ["KIB", "MIB", "format_bytes"]

#: One kibibyte (2**10 bytes).
KIB = 1024
#: One mebibyte (2**20 bytes).
MIB = 1024 * 1024


def format_bytes(n: float) -> str:
    """Format a byte count in binary units, saying which: ``"3.50 MiB"``, ``"12.0 KiB"``.

    Args:
        n: a non-negative number of bytes.

    Raises:
        ValueError: ``n`` is negative or not a number.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or n < 0:
        raise ValueError(f"n must be a non-negative number of bytes, got {n!r}")
    if n >= MIB:
        return f"{n / MIB:.2f} MiB"
    if n >= KIB:
        return f"{n / KIB:.1f} KiB"
    return f"{n:g} B"
