"""Formatting a :class:`~mobilecourse.profile.ModelProfile` as text, Markdown or CSV.

Kept apart from the computation (``profile``) and the aggregation (``ModelProfile``
methods), so a format can change without touching a number.
"""

from __future__ import annotations

from mobilecourse.units import format_bytes

__all__ = ["profile_csv", "profile_markdown", "profile_text"]

COLUMNS = ("name", "type", "output shape", "MACs", "weights", "bias", "BN", "activations")


def _cells(profile, skip_empty: bool) -> list[tuple[str, ...]]:
    rows = []
    for r in profile.rows:
        if skip_empty and r.handled and not r.macs and not r.params:
            continue
        macs = "?" if r.macs is None else f"{r.macs:,}"
        shape = "x".join(str(d) for d in r.output_shape)
        rows.append(
            (
                r.name,
                r.type,
                shape,
                macs,
                f"{r.weights:,}",
                f"{r.bias:,}",
                f"{r.batchnorm:,}",
                f"{r.activations:,}",
            )
        )
    return rows


def _total_lines(profile) -> list[str]:
    lines = [
        f"MACs: {profile.macs:,} (FLOPs = 2 x MACs = {profile.flops:,})",
        f"params: {profile.params:,} = weights {profile.weights:,} + bias {profile.bias:,}"
        f" + BatchNorm {profile.batchnorm:,}"
        + (f" + other {profile.other_params:,}" if profile.other_params else ""),
        "peak activation memory (fp32, memory-efficient inference): "
        + format_bytes(profile.peak_activation_bytes(32)),
    ]
    if profile.unhandled:
        lines.append(f"NOT COUNTED (no cost handler): {', '.join(profile.unhandled)}")
    return lines


def profile_text(profile, skip_empty: bool = True) -> str:
    """A fixed-width table of the layers followed by the totals."""
    rows = _cells(profile, skip_empty)
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(COLUMNS)
    ]
    numeric = {3, 4, 5, 6, 7}

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    inputs = ", ".join("x".join(map(str, s)) for s in profile.input_shapes)
    out = [
        f"Model: {profile.name}   input: {inputs}",
        line(COLUMNS),
        line(["-" * w for w in widths]),
    ]
    out += [line(r) for r in rows]
    out.append("")
    out += _total_lines(profile)
    return "\n".join(out)


def profile_markdown(profile, skip_empty: bool = True) -> str:
    """A GitHub-flavoured Markdown table of the layers followed by the totals."""
    rows = _cells(profile, skip_empty)
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * 5) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    out.append("")
    out += [f"- {line}" for line in _total_lines(profile)]
    return "\n".join(out)


def profile_csv(profile) -> str:
    """Every layer as CSV (plain integers; empty MACs for an unhandled layer)."""
    return profile.table().to_csv(index=False, lineterminator="\n")
