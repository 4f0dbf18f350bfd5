"""A regular (non-editable) wheel is a working package: checkers, paper tables, digits.

The wheel is built offline from a copy of the sources (``--no-build-isolation``: the pinned
setuptools of the dev extra builds it) and installed with pip into a fresh virtual
environment. That environment borrows the course's installed dependencies through a
``.pth`` line (TensorFlow is 1.3 GB), so only the wheel provides ``mobilecourse``.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("mobilecourse", "data"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "--wheel-dir", str(dist), str(src)],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("mobilecourse-*.whl")
    return built


def test_the_wheel_carries_checkers_tables_and_digits(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "mobilecourse/checks/__init__.py",
        "mobilecourse/checks/lesson08.py",
        "mobilecourse/datafiles/mobilenet_v1.csv",
        "mobilecourse/datafiles/mnist_5k.npz",
        "mobilecourse/datafiles/README.md",
    ):
        assert expected in names
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("mobilecourse/datafiles/")}
    in_repo = {p.name for p in (ROOT / "data").iterdir() if p.name != "__pycache__"}
    assert shipped == in_repo


def test_the_installed_wheel_works_in_a_fresh_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the dependencies only (a plain path line: the editable install's hook is not run)
    (Path(purelib) / "course_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = textwrap.dedent(
        f"""
        import json
        import mobilecourse, mobilecourse.checks
        from mobilecourse.data import DATA_DIR, load_digits_dataset, paper_table
        assert mobilecourse.__file__.startswith({str(venv)!r}), mobilecourse.__file__
        assert str(DATA_DIR).startswith({str(venv)!r}), DATA_DIR
        table = paper_table("mobilenet_v1")
        (x_train, y_train), (x_test, y_test) = load_digits_dataset()
        print(json.dumps({{
            "rows": len(table), "train": x_train.shape, "test": x_test.shape,
            "checker": callable(mobilecourse.checks.check_conv_macs),
        }}))
        """
    )
    run = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["rows"] > 0 and found["checker"]
    assert found["train"] == [4000, 28, 28, 1] and found["test"] == [1000, 28, 28, 1]
