"""setup_notebook: quiet, deterministic, informative; the bench runner."""

import asyncio
import concurrent.futures
import configparser
import os
import re
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

import mobilecourse
from mobilecourse.bench import (
    cpu_subset,
    execute_notebook,
    lesson_paths,
    perturbed,
    run_lesson,
    run_notebook,
)

ROOT = Path(__file__).resolve().parent.parent


def run_python(code, **environment):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TF_") and k != mobilecourse.SEED_ENV
    }
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env
    )


def test_setup_notebook_is_silent_on_stderr_and_prints_versions():
    result = run_python(
        """
        import mobilecourse
        mobilecourse.setup_notebook(seed=3)
        import keras
        keras.layers.Conv2D(4, 3)(keras.Input((8, 8, 1)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    line = result.stdout.strip()
    assert line.startswith(f"mobilecourse {mobilecourse.__version__} | Python ")
    # the versions installed, whatever the set (the lock's, or a Colab-like one)
    assert f"TensorFlow {_installed('tensorflow-cpu', 'tensorflow')} | " in line
    assert f"Keras {_installed('keras')} | " in line and line.endswith("seed 3")


def _installed(*names: str) -> str:
    """The installed version of the first of ``names`` that is installed."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    raise AssertionError(f"none of {names} is installed")


def test_setup_notebook_makes_random_numbers_repeatable():
    code = """
        import mobilecourse
        mobilecourse.setup_notebook(seed=7, verbose=False)
        import random, numpy as np, keras
        print(random.random(), np.random.rand(), float(keras.random.uniform(())))
        """
    first, second = run_python(code), run_python(code)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and first.stdout.strip()


def test_setup_notebook_warns_when_tensorflow_came_first():
    result = run_python(
        """
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow
        import mobilecourse
        mobilecourse.setup_notebook(verbose=False)
        """
    )
    assert "restart the kernel" in result.stdout


@pytest.mark.parametrize("seed", [1.5, True, "0"])
def test_setup_notebook_rejects_a_seed_of_the_wrong_type(seed):
    with pytest.raises(TypeError, match="seed must be an integer"):
        mobilecourse.setup_notebook(seed=seed)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_setup_notebook_rejects_a_seed_out_of_range(seed):
    with pytest.raises(ValueError, match="seed must be an integer from 0 to 4294967295"):
        mobilecourse.setup_notebook(seed=seed)


SEEDED = """
    import mobilecourse
    seed = mobilecourse.setup_notebook({args})
    import numpy as np, keras
    print(seed, np.random.rand(), float(keras.random.uniform(())))
    """


def test_seed_comes_from_the_environment_and_an_explicit_seed_wins():
    cases = [  # each its own fresh interpreter, run side by side (each mostly imports)
        (SEEDED.format(args=""), {"MOBILECOURSE_SEED": "5"}),
        (SEEDED.format(args="seed=5, verbose=False"), {}),
        (SEEDED.format(args="seed=5, verbose=False"), {"MOBILECOURSE_SEED": "9"}),
        (SEEDED.format(args="verbose=False"), {}),
    ]
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        runs = [pool.submit(run_python, code, **environment) for code, environment in cases]
        from_env, explicit, overridden, default = (run.result() for run in runs)
    for result in (from_env, explicit, overridden, default):
        assert result.returncode == 0, result.stderr
    setup_line, values = from_env.stdout.strip().splitlines()
    assert setup_line.endswith("| seed 5")
    assert values == explicit.stdout.strip() == overridden.stdout.strip()
    assert values.startswith("5 ")
    assert default.stdout.startswith("0 ") and default.stdout != explicit.stdout


@pytest.mark.parametrize("value", ["abc", "-3", "1.5", "4294967296"])
def test_a_bad_seed_in_the_environment_is_a_clear_error(value):
    result = run_python(SEEDED.format(args=""), MOBILECOURSE_SEED=value)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: the environment variable MOBILECOURSE_SEED must be")
    assert repr(value) in last


def test_an_empty_seed_variable_means_the_default():
    result = run_python(SEEDED.format(args="verbose=False"), MOBILECOURSE_SEED="")
    assert result.returncode == 0 and result.stdout.startswith("0 ")


def _sanitize(text):
    """Apply tests/nbval_sanitize.cfg's rules as nbval does (regex, replacement, in order)."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "tests" / "nbval_sanitize.cfg")
    for section in parser.sections():
        text = re.sub(parser[section]["regex"], parser[section]["replace"], text)
    return text


def test_the_setup_line_compares_equal_across_seeds_and_versions():
    printed = run_python(SEEDED.format(args=""), MOBILECOURSE_SEED="7").stdout.splitlines()[0]
    other = (
        "mobilecourse 0.2.0 | Python 3.13.1 | TensorFlow 2.20.0 | Keras 3.13.2 | "
        "NumPy 2.1.3 | seed 0"
    )
    assert _sanitize(printed) == _sanitize(other) != printed
    # the rule is that line only: other text with versions or seeds is still compared
    assert _sanitize("TensorFlow 2.21.0, seed 3") == "TensorFlow 2.21.0, seed 3"


def test_run_notebook_executes_and_times(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = sum(range(10))")])
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(nb, path)
    assert run_notebook(path) > 0
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('boom')"))
    nbformat.write(nb, path)
    with pytest.raises(Exception, match="boom"):
        run_notebook(path)


def test_lesson_paths_are_in_teaching_order():
    names = [p.stem for p in lesson_paths()]
    assert names == sorted(names) and names[:2] == ["00_why_mobile", "01_convolution_cost"]


# ---------------------------------------------------------------- perturbed runs


def test_a_kernel_started_perturbed_gets_the_seed_and_the_cpus(tmp_path):
    source = (
        "import os, mobilecourse\n"
        "print(mobilecourse.setup_notebook(verbose=False), len(os.sched_getaffinity(0)))"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, tmp_path / "99_seed.ipynb")
    before = (os.environ.get(mobilecourse.SEED_ENV), os.sched_getaffinity(0))
    executed, _ = execute_notebook(tmp_path / "99_seed.ipynb", seed=5, cpus=1)
    assert executed.cells[0].outputs[0].text.split() == ["5", "1"]
    assert (os.environ.get(mobilecourse.SEED_ENV), os.sched_getaffinity(0)) == before
    executed, _ = execute_notebook(tmp_path / "99_seed.ipynb")
    cpus = len(os.sched_getaffinity(0))
    assert executed.cells[0].outputs[0].text.split() == [str(before[0] or 0), str(cpus)]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs to see a difference")
def test_a_kernel_started_from_a_running_event_loop_is_pinned_too(tmp_path):
    """With an event loop running (as in Jupyter), the client starts kernels from a
    helper thread that it keeps; a kernel must still get the CPUs asked for."""
    source = "import os\nprint(len(os.sched_getaffinity(0)))"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, tmp_path / "98_cpus.ipynb")

    async def inside_a_loop():
        everywhere, _ = execute_notebook(tmp_path / "98_cpus.ipynb")  # starts the helper
        pinned, _ = execute_notebook(tmp_path / "98_cpus.ipynb", cpus=1)
        return everywhere, pinned

    # a thread of its own: pytest's main thread may already run a loop (Playwright's)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        everywhere, pinned = pool.submit(asyncio.run, inside_a_loop()).result()
    assert everywhere.cells[0].outputs[0].text.split() == [str(len(os.sched_getaffinity(0)))]
    assert pinned.cells[0].outputs[0].text.split() == ["1"]


@pytest.mark.parametrize(("cpus", "match"), [(0, "cpus must be a positive"), (10**4, "at most")])
def test_cpu_subset_rejects_bad_counts(cpus, match):
    with pytest.raises(ValueError, match=match):
        cpu_subset(cpus)
    with pytest.raises(ValueError, match=match), perturbed(cpus=cpus):
        pass


def test_perturb_command_runs_pytest_on_every_lesson():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mobilecourse",
            "perturb",
            "--seed",
            "3",
            "--cpus",
            "1",
            "--",
            "--nbval",
            "--collect-only",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    first, *rest = result.stdout.splitlines()
    numbers = ", ".join(p.stem[:2] for p in lesson_paths())
    assert first.startswith(f"lessons {numbers} with MOBILECOURSE_SEED=3 on 1 CPU (")
    collected = {line.split("::")[0] for line in rest if "::" in line}
    assert collected == {f"notebooks/{p.name}" for p in lesson_paths()}


def test_a_failing_assert_is_reported_with_its_line(tmp_path):
    source = "x = 1\nassert x == 2"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, tmp_path / "98_fails.ipynb")
    run = run_lesson(tmp_path / "98_fails.ipynb")
    assert run.error == "AssertionError (at: assert x == 2)"
