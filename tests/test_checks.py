"""Exercise checkers: accept the notebooks' reference solutions, reject classic mistakes."""

import contextlib
import io
import math
import re

import nbformat
import pytest

from mobilecourse import checks
from mobilecourse.lessons import lesson_paths
from mobilecourse.release import SOLUTION_TAG, strip_solution

NOTEBOOKS = lesson_paths()
# The checker, the student's function, and an optional reference=<name> argument
# (lesson 08 times a design against the teacher's float32 file).
CHECK_CALL = re.compile(r"checks\.(check_\w+)\((\w+)(?:, reference=(\w+))?\)")


SETUP = {}
REFERENCED = {}  # function name -> whether its checker takes a reference file


def exercises():
    """(notebook, solution source, checker name, function name) for every exercise."""
    found = []
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        SETUP[path.name] = next(c.source for c in cells if c.cell_type == "code")
        for i, cell in enumerate(cells):
            if SOLUTION_TAG in cell.metadata.get("tags", []):
                following = next(c for c in cells[i + 1 :] if c.cell_type == "code")
                match = CHECK_CALL.search(following.source)
                assert match, f"{path.name}: the cell after a solution must call a checker"
                found.append((path.name, cell.source, match.group(1), match.group(2)))
                REFERENCED[match.group(2)] = match.group(3) is not None
    return found


EXERCISES = exercises()


def namespace(notebook):
    """What the notebook's setup cell provides to its solution code (its output discarded)."""
    ns = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(SETUP[notebook], f"<{notebook} setup>", "exec"), ns)
    return ns


def run_solution(source, ns):
    exec(compile(source, "<solution>", "exec"), ns)
    return ns


def test_every_lesson_exercise_found():
    per_notebook = {name for name, *_ in EXERCISES}
    assert "01_convolution_cost.ipynb" in per_notebook
    assert sum(name.startswith("01_") for name, *_ in EXERCISES) >= 2


@pytest.mark.parametrize(("notebook", "source", "checker", "function"), EXERCISES)
def test_checker_accepts_reference_solution(notebook, source, checker, function, request, capsys):
    # Exercises may use functions defined by earlier exercises of the same notebook.
    ns = namespace(notebook)
    for name, other_source, _, other_function in EXERCISES:
        if name == notebook:
            run_solution(other_source, ns)
            if other_function == function:
                break
    extra = {}
    if REFERENCED[function]:
        extra["reference"] = request.getfixturevalue("teacher_float32")
    getattr(checks, checker)(ns[function], **extra)
    assert capsys.readouterr().out.startswith("Correct:")


@pytest.mark.parametrize(("notebook", "source", "checker", "function"), EXERCISES)
def test_stripped_solution_reports_not_attempted(notebook, source, checker, function, capsys):
    stripped = strip_solution(source)
    assert "raise NotImplementedError" in stripped
    ns = run_solution(stripped, namespace(notebook))
    getattr(checks, checker)(ns[function])
    assert checks.NOT_ATTEMPTED in capsys.readouterr().out


# Classic mistakes: (checker, wrong function, words the hint must contain).
MISTAKES = [
    (
        checks.check_conv_output_size,
        lambda s, k, st, p: s // st if p == "same" else (s - k) // st + 1,
        "rounded up",
    ),
    (
        checks.check_conv_output_size,
        lambda s, k, st, p: math.ceil(s / st) if p == "same" else (s - k) // st,
        "+1",
    ),
    (
        checks.check_conv_output_size,
        lambda s, k, st, p: math.ceil(s / st) if p == "same" else s - k + 1,
        "stride",
    ),
    (
        checks.check_conv_output_size,
        lambda s, k, st, p: math.ceil(s / st) if p == "same" else math.ceil((s - k) / st) + 1,
        "round (size - k) / stride down",
    ),
    (
        checks.check_conv_macs,
        lambda shape, n, k, st, p: _conv_out(shape, n, k, st, p)[0] ** 2 * k * k * shape[2] * n,
        "need not be square",
    ),
    (
        checks.check_conv_macs,
        lambda shape, n, k, st, p: shape[0] * shape[1] * k * k * shape[2] * n,
        "input size",
    ),
    (checks.check_conv_macs, "bias", "Bias adds are not MACs"),
    (checks.check_conv_macs, "flops", "FLOPs"),
    (checks.check_conv_macs, "no_input_channels", "input channels"),
    (checks.check_receptive_field, lambda ks: sum(ks), "k - 1"),
    (checks.check_receptive_field, lambda ks: math.prod(ks), "additively"),
    (checks.check_receptive_field, lambda ks: max(ks), "largest"),
    (checks.check_model_size_mib, lambda p, b: p * b / 2**20, "8 bits"),
    (checks.check_model_size_mib, lambda p, b: p * b / 8 / 1e6, "MiB"),
    (checks.check_model_size_mib, lambda p, b: p * 4 / 2**20, "bits"),
    (checks.check_weight_fetch_energy_mj, lambda p: p * 5e-9, "DRAM"),
    (checks.check_weight_fetch_energy_mj, lambda p: p * 640e-12, "joules"),
    (checks.check_weight_fetch_energy_mj, lambda p: p * 640e-6, "microjoules"),
]


def _conv_out(shape, n, k, st, p):
    size = [math.ceil(d / st) if p == "same" else (d - k) // st + 1 for d in shape[:2]]
    return size[0], size[1]


def _named_conv_mistake(name):
    def wrong(shape, n, k, st, p):
        oh, ow = _conv_out(shape, n, k, st, p)
        right = k * k * shape[2] * n * oh * ow
        return {
            "bias": right + oh * ow * n,
            "flops": 2 * right,
            "no_input_channels": oh * ow * k * k * n,
        }[name]

    return wrong


@pytest.mark.parametrize(("checker", "wrong", "hint"), MISTAKES)
def test_checker_names_classic_mistake(checker, wrong, hint):
    wrong = _named_conv_mistake(wrong) if isinstance(wrong, str) else wrong
    with pytest.raises(checks.CheckFailed, match=re.escape(hint)):
        checker(wrong)


def test_unrecognised_wrong_answer_still_fails_with_expected_value():
    with pytest.raises(checks.CheckFailed, match="expected 5"):
        checks.check_receptive_field(lambda ks: 42)


def test_missing_return_is_pointed_out():
    with pytest.raises(checks.CheckFailed, match="forget `return`"):
        checks.check_conv_macs(lambda *args: None)


def test_checker_rejects_a_non_function():
    with pytest.raises(TypeError, match="fn must be"):
        checks.check_conv_macs(42)


def test_bug_in_student_code_is_not_hidden():
    def broken(kernel_sizes):
        return 1 + sum(k - 1 for k in kernel_size)  # noqa: F821 (the student's typo)

    with pytest.raises(NameError):
        checks.check_receptive_field(broken)


def test_float_answers_are_accepted_for_integer_counts(capsys):
    checks.check_receptive_field(lambda ks: float(1 + sum(k - 1 for k in ks)))
    assert capsys.readouterr().out.startswith("Correct:")


def test_sequence_answers_compare_element_by_element(capsys):
    checks.check_function("pair", lambda: [2, 3.0], cases=[()], reference=lambda: (2, 3))
    assert capsys.readouterr().out.startswith("Correct:")
    with pytest.raises(checks.CheckFailed):
        checks.check_function("pair", lambda: [2], cases=[()], reference=lambda: (2, 3))
