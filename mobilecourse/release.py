"""Turning the instructors' notebooks into the student release.

In the repository every exercise's solution cell (tagged ``solution``) holds
the reference solution between two marker lines. The student release keeps
the markers and replaces what lies between them with
``raise NotImplementedError``; the checkers then print "not attempted yet".
"""

from __future__ import annotations

__all__ = ["SOLUTION_TAG", "START_MARKER", "END_MARKER", "strip_solution"]

SOLUTION_TAG = "solution"
START_MARKER = "# YOUR CODE STARTS HERE"
END_MARKER = "# YOUR CODE ENDS HERE"


def strip_solution(source: str) -> str:
    """Replace the code between each pair of markers with ``raise NotImplementedError``.

    The ``raise`` line takes the indentation of its start marker, so a marker
    pair inside a function body yields a function that raises when called.

    Args:
        source: a code cell's source.

    Returns:
        The source with every solution removed; unchanged if it has no markers.

    Raises:
        ValueError: a start marker without its end marker, or the reverse.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == START_MARKER:
            if inside:
                raise ValueError(f"source line {number}: {START_MARKER!r} inside another solution")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [line, f"{indent}raise NotImplementedError"]
        elif stripped == END_MARKER:
            if not inside:
                raise ValueError(f"source line {number}: {END_MARKER!r} without {START_MARKER!r}")
            inside = False
            out.append(line)
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"source: {START_MARKER!r} without {END_MARKER!r}")
    return "\n".join(out)
