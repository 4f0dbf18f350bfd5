"""The hub image: what repo2docker builds from ``.binder/``, installed into a fresh venv.

repo2docker renders its Dockerfile without Docker (``--no-build --debug``). The test takes
the Dockerfile's own install steps (pip from ``.binder/requirements.txt``, then
``postBuild``), runs them in a fresh venv on a copy of the repository, as the image build
would, and runs lesson 00 there under strict nbval with a kernel from that venv.

Run by ``make test-binder`` (and CI): the install takes about a minute.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSON = "00_why_mobile"
DEV_TOOLS = ("pytest", "nbval", "hypothesis", "ruff", "playwright", "nbgrader", "voila")


def _runtime_python() -> str:
    """An interpreter of the version .binder/runtime.txt asks for."""
    wanted = (ROOT / ".binder" / "runtime.txt").read_text().strip().removeprefix("python-")
    candidates = [sys.executable, shutil.which(f"python{wanted}"), shutil.which("python3")]
    candidates += sorted(map(str, Path.home().glob(f".pyenv/versions/{wanted}*/bin/python")))
    for candidate in filter(None, candidates):
        version = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if version == wanted:
            return candidate
    pytest.fail(f".binder/runtime.txt asks for Python {wanted}; none found on PATH or in pyenv")


@pytest.fixture(scope="module")
def dockerfile() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-run", "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def _assemble_steps(dockerfile: str) -> list[str]:
    """The RUN lines after the repository is copied in, as shell commands."""
    after_copy = dockerfile.split("COPY --chown=0:0 src/ ${REPO_DIR}/", 1)[1]
    return [line[len("RUN ") :] for line in after_copy.splitlines() if line.startswith("RUN ")]


def test_repo2docker_reads_only_the_binder_folder(dockerfile):
    assert "Building conda environment for python=3.11" in dockerfile
    steps = _assemble_steps(dockerfile)
    assert steps == [
        '${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r ".binder/requirements.txt"',
        "chmod +x .binder/postBuild",
        "./.binder/postBuild",
    ]
    # not the root environment.yml (its dev and grading extras) nor a second `pip install .`
    assert "environment.yml" not in dockerfile
    assert "install --no-cache-dir ." not in dockerfile


@pytest.fixture(scope="module")
def image(dockerfile, tmp_path_factory):
    """A fresh venv with the Dockerfile's assemble steps run in a copy of the repository."""
    work = tmp_path_factory.mktemp("binder")
    repo, prefix = work / "repo", work / "venv"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():  # a file deleted but not yet committed is skipped
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    subprocess.run([_runtime_python(), "-m", "venv", str(prefix)], check=True)
    env = {
        **os.environ,
        "KERNEL_PYTHON_PREFIX": str(prefix),
        "NB_PYTHON_PREFIX": str(prefix),
        "PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("VIRTUAL_ENV", None)
    for step in _assemble_steps(dockerfile):
        result = subprocess.run(
            ["bash", "-c", step], cwd=repo, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, f"{step}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    return repo, prefix


def _installed(prefix: Path) -> dict[str, str]:
    frozen = subprocess.run(
        [str(prefix / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {re.sub(r"[-_.]+", "-", p["name"]).lower(): p["version"] for p in json.loads(frozen)}


def test_the_image_has_the_course_at_the_locked_versions_and_no_dev_tools(image):
    repo, prefix = image
    installed = _installed(prefix)
    locked = {}
    for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            locked[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    assert "mobilecourse" in installed and "tensorflow-cpu" in installed
    drifted = {
        name: (version, locked[name])
        for name, version in installed.items()
        if name in locked and version != locked[name]
    }
    assert drifted == {}
    assert [tool for tool in DEV_TOOLS if tool in installed] == []
    # a regular install, so the lessons find the checkers and data in site-packages
    where = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", "import mobilecourse; print(mobilecourse.__file__)"],
        cwd=repo / "notebooks",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in where


def test_jupyterlab_opens_on_the_first_lesson(image):
    repo, prefix = image
    config = prefix / "etc" / "jupyter" / "jupyter_server_config.d" / "mobilecourse.json"
    url = json.loads(config.read_text())["ServerApp"]["default_url"]
    assert url == f"/lab/tree/notebooks/{LESSON}.ipynb"
    assert (repo / "notebooks" / f"{LESSON}.ipynb").is_file()


def test_lesson_00_runs_in_the_image_under_strict_nbval(image, tmp_path):
    repo, prefix = image
    kernel = tmp_path / "kernels" / "mobilecourse-binder"
    kernel.mkdir(parents=True)
    argv = [str(prefix / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "Binder image", "language": "python"}
    (kernel / "kernel.json").write_text(json.dumps(spec))
    env = {**os.environ, "JUPYTER_PATH": str(tmp_path), "MOBILECOURSE_CACHE": str(tmp_path / "c")}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
            "--nbval-kernel-name", "mobilecourse-binder",
            "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", f"notebooks/{LESSON}.ipynb",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r"\b\d+ passed\b", result.stdout) and " failed" not in result.stdout
