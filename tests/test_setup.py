"""setup_notebook: quiet, deterministic, informative; the bench runner."""

import subprocess
import sys
import textwrap

import nbformat
import pytest

import mobilecourse
from mobilecourse.bench import lesson_paths, run_notebook


def run_python(code):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TF_")}
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
    assert "TensorFlow 2.21.0" in line and "Keras 3." in line and line.endswith("seed 3")


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


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_setup_notebook_rejects_bad_seed(seed):
    with pytest.raises(TypeError, match="seed"):
        mobilecourse.setup_notebook(seed=seed)


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
