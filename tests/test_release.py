"""The solution-stripping transform the student release is built on."""

import pytest

from mobilecourse.release import END_MARKER, START_MARKER, strip_solution

SOLVED = f"""def f(x):
    \"\"\"Doc.\"\"\"
    {START_MARKER}
    y = x + 1
    return y
    {END_MARKER}

print(f)"""


def test_solution_replaced_with_indented_raise():
    stripped = strip_solution(SOLVED)
    assert "y = x + 1" not in stripped and "return y" not in stripped
    assert f"    {START_MARKER}\n    raise NotImplementedError\n    {END_MARKER}" in stripped
    ns = {}
    exec(stripped, ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


def test_strip_is_idempotent_and_keeps_other_code():
    once = strip_solution(SOLVED)
    assert strip_solution(once) == once
    assert once.endswith("print(f)")
    assert strip_solution("x = 1\ny = 2") == "x = 1\ny = 2"


@pytest.mark.parametrize(
    "source",
    [
        f"{START_MARKER}\nx = 1",
        f"x = 1\n{END_MARKER}",
        f"{START_MARKER}\n{START_MARKER}\n{END_MARKER}",
    ],
)
def test_unbalanced_markers_are_rejected(source):
    with pytest.raises(ValueError, match="source"):
        strip_solution(source)
