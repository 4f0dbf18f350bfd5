"""Checkers for lesson 00: why mobile."""

from __future__ import annotations

from collections.abc import Callable

from mobilecourse import costs
from mobilecourse.checks._core import Mistake, check_function
from mobilecourse.units import MIB

__all__ = ["check_model_size_mib", "check_weight_fetch_energy_mj"]


def _dram_read_pj() -> float:
    from mobilecourse.data import paper_table

    table = paper_table("energy")
    row = table[(table["operation"] == "DRAM read") & (table["bits"] == 32)]
    return float(row["energy_pj"].iloc[0])


def _sram_read_pj() -> float:
    from mobilecourse.data import paper_table

    table = paper_table("energy")
    row = table[(table["operation"] == "SRAM cache read") & (table["bits"] == 32)]
    return float(row["energy_pj"].iloc[0])


def check_model_size_mib(fn: Callable[[int, int], float]) -> None:
    """Lesson 00: ``fn(params, bits)`` is the model size in MiB at ``bits`` bits per weight."""
    check_function(
        "model size in MiB",
        fn,
        cases=[(4_231_976, 32), (1_248_424, 8), (3_470_760, 4), (1_248_424, 6)],
        reference=lambda p, b: costs.model_size_bytes(p, b) / MIB,
        mistakes=[
            Mistake("That counts bits, not bytes: a byte has 8 bits.", lambda p, b: p * b / MIB),
            Mistake(
                "That is in decimal megabytes (10**6 bytes); a MiB is 2**20 = 1,048,576 bytes.",
                lambda p, b: p * b / 8 / 1e6,
            ),
            Mistake(
                "The size depends on the bits per weight: use `bits`, not a fixed 32.",
                lambda p, b: p * 4 / MIB,
            ),
        ],
    )


def check_weight_fetch_energy_mj(fn: Callable[[int], float]) -> None:
    """Lesson 00: ``fn(params)`` is the energy in mJ to read every 32-bit weight once from DRAM."""
    dram, sram = _dram_read_pj(), _sram_read_pj()
    check_function(
        "energy to fetch the weights",
        fn,
        cases=[(4_231_976,), (1_248_424,), (60_000_000,)],
        reference=lambda p: p * dram * 1e-9,
        mistakes=[
            Mistake(
                "That uses the SRAM cost; weights this large do not fit on chip, "
                "so they come from DRAM.",
                lambda p: p * sram * 1e-9,
            ),
            Mistake("That is in joules: 1 pJ = 1e-12 J = 1e-9 mJ.", lambda p: p * dram * 1e-12),
            Mistake(
                "That is in microjoules: 1 pJ = 1e-6 uJ but 1e-9 mJ.", lambda p: p * dram * 1e-6
            ),
        ],
    )
