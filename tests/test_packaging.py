"""pyproject.toml and environment.yml agree, and the installed environment matches the pins."""

import sys
from importlib import metadata
from pathlib import Path

import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
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


def test_environment_installs_the_package_with_dev_extra_through_pip():
    conda, pip = conda_entries()
    assert "pip" in conda
    assert len(pip) == 1 and list(pip[0]) == ["pip"]
    assert pip[0]["pip"] == ["-e .[dev]"]


def test_environment_adds_no_packages_that_could_drift():
    # Every Python package comes from pyproject.toml: conda provides only python and pip.
    conda, _ = conda_entries()
    assert sorted(d.split("=")[0] for d in conda) == ["pip", "python"]


def test_required_dependencies_are_present_and_pinned():
    names = {r.name for r in requirements()}
    for needed in (
        "tensorflow-cpu",
        "tensorflow",
        "keras",
        "ai-edge-litert",
        "jupyterlab",
        "ipywidgets",
        "matplotlib",
        "pandas",
    ):
        assert needed in names, needed
    dev = {r.name for r in requirements("dev")}
    assert {"pytest", "nbval", "hypothesis", "ruff"} <= dev
    for req in requirements() + requirements("dev"):
        if req.marker and "python_version" in str(req.marker):
            continue  # back-ports for Pythons the course is not tested on
        assert str(req.specifier).startswith("=="), f"{req} is not pinned"


def test_tensorflow_markers_pick_exactly_one_wheel_per_platform():
    tf = [r for r in requirements() if r.name in ("tensorflow", "tensorflow-cpu")]
    assert {str(r.specifier) for r in tf} == {"==2.21.0"}
    platforms = [("linux", "x86_64"), ("linux", "aarch64"), ("darwin", "arm64"), ("win32", "AMD64")]
    for system, machine in platforms:
        env = {"sys_platform": system, "platform_machine": machine}
        chosen = [r.name for r in tf if Marker(str(r.marker)).evaluate(env)]
        expected = "tensorflow-cpu" if (system, machine) == ("linux", "x86_64") else "tensorflow"
        assert chosen == [expected], (system, machine, chosen)


def test_installed_versions_match_the_pins():
    for req in requirements() + requirements("dev"):
        if req.marker and not req.marker.evaluate():
            continue
        installed = metadata.version(req.name)
        assert installed in req.specifier, f"{req.name} {installed} installed, {req} pinned"
