"""pyproject.toml and environment.yml agree, and the installed environment matches the pins."""

import os
import sys
from importlib import metadata
from pathlib import Path

import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENVIRONMENT = yaml.safe_load((ROOT / "environment.yml").read_text())
PROJECT = PYPROJECT["project"]


def requirements(group=None):
    raw = PROJECT["dependencies"] if group is None else PROJECT["optional-dependencies"][group]
    return [Requirement(r) for r in raw]


def conda_entries():
    conda = [d for d in ENVIRONMENT["dependencies"] if isinstance(d, str)]
    pip = [d for d in ENVIRONMENT["dependencies"] if isinstance(d, dict)]
    return conda, pip


def test_environment_python_satisfies_requires_python():
    conda, _ = conda_entries()
    pythons = [d for d in conda if d.split("=")[0] == "python"]
    assert len(pythons) == 1, "environment.yml must pin python exactly once"
    version = pythons[0].split("=", 1)[1].lstrip("=")
    assert Version(version) in SpecifierSet(PROJECT["requires-python"])
    assert version == "3.11", "environment.yml uses the Python the course is tested on"


def test_environment_installs_the_package_with_the_lock_through_pip():
    conda, pip = conda_entries()
    assert "pip" in conda
    assert len(pip) == 1 and list(pip[0]) == ["pip"]
    assert pip[0]["pip"] == ["-c .ci/constraints.txt", "-e .[lab,dev,grading]"]


def test_environment_adds_no_packages_that_could_drift():
    # Every Python package comes from pyproject.toml: conda provides only python and pip.
    conda, _ = conda_entries()
    assert sorted(d.split("=")[0] for d in conda) == ["pip", "python"]


def _lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"constraints.txt: {line} is not an exact pin"
            pins[canonicalize_name(req.name)] = Version(spec.version)
    return pins


LOCK = _lock()


def test_required_dependencies_are_present_and_bounded():
    names = {r.name for r in requirements()}
    for needed in ("tensorflow-cpu", "tensorflow", "keras", "ai-edge-litert", "ipywidgets"):
        assert needed in names, needed
    for needed in ("matplotlib", "pandas", "numpy", "ipykernel", "nbformat"):
        assert needed in names, needed
    # the Jupyter server stack is an extra, not what a hosted notebook must install
    assert not names & {"jupyterlab", "voila", "nbconvert", "nbclient", "notebook"}
    assert {"jupyterlab", "voila", "nbconvert", "nbclient"} <= {r.name for r in requirements("lab")}
    assert {"pytest", "nbval", "hypothesis", "ruff"} <= {r.name for r in requirements("dev")}
    for req in requirements() + requirements("lab"):
        operators = {spec.operator for spec in req.specifier}
        assert ">=" in operators and "<" in operators, f"{req}: a range with both ends"
    for req in requirements("dev"):
        assert any(spec.operator == ">=" for spec in req.specifier), f"{req}: no lower bound"


def test_ranges_include_the_colab_like_set():
    colab = {
        canonicalize_name(r.name): Version(next(iter(r.specifier)).version)
        for r in map(Requirement, _colab_like())
    }
    for req in requirements():
        name = canonicalize_name(req.name)
        linux = {"sys_platform": "linux", "platform_machine": "x86_64"}
        if name in colab and (req.marker is None or req.marker.evaluate(linux)):
            assert colab[name] in req.specifier, f"{req} excludes Colab's {name} {colab[name]}"


def _colab_like() -> list[str]:
    text = (ROOT / ".ci" / "colab-like.txt").read_text()
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def test_the_lock_pins_every_requirement_inside_its_range():
    for req in requirements() + requirements("lab") + requirements("dev"):
        if req.marker and not req.marker.evaluate(
            {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.11"}
        ):
            continue  # the lock is for Linux x86-64, Python 3.11
        name = canonicalize_name(req.name)
        assert name in LOCK, f"constraints.txt does not pin {req.name}"
        assert LOCK[name] in req.specifier, f"constraints.txt pins {name} {LOCK[name]}: {req}"


def test_tensorflow_markers_pick_exactly_one_wheel_per_platform():
    tf = [r for r in requirements() if r.name in ("tensorflow", "tensorflow-cpu")]
    assert len({str(r.specifier) for r in tf}) == 1
    platforms = [("linux", "x86_64"), ("linux", "aarch64"), ("darwin", "arm64"), ("win32", "AMD64")]
    for system, machine in platforms:
        env = {"sys_platform": system, "platform_machine": machine}
        chosen = [r.name for r in tf if Marker(str(r.marker)).evaluate(env)]
        expected = "tensorflow-cpu" if (system, machine) == ("linux", "x86_64") else "tensorflow"
        assert chosen == [expected], (system, machine, chosen)


def test_installed_versions_are_the_tested_set():
    """In `make`'s .venv: exactly the lock. In the Colab-like CI set
    (MOBILECOURSE_TESTED_SET=colab-like): Colab's versions, left as they were installed."""
    colab = os.environ.get("MOBILECOURSE_TESTED_SET") == "colab-like"
    expected = (
        {
            canonicalize_name(r.name): next(iter(r.specifier)).version
            for r in map(Requirement, _colab_like())
        }
        if colab
        else {name: str(version) for name, version in LOCK.items()}
    )
    wrong = []
    for name, version in expected.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            if colab or name in _TOP_LEVEL:
                wrong.append(f"{name} not installed")
            continue
        if Version(installed) != Version(version):
            wrong.append(f"{name} {installed} installed, {version} expected")
    assert not wrong, wrong
    for req in requirements():  # and whatever the set, inside the declared ranges
        if req.marker and not req.marker.evaluate():
            continue
        assert Version(metadata.version(req.name)) in req.specifier, req


_TOP_LEVEL = {canonicalize_name(r.name) for r in requirements()}
