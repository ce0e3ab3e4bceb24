"""The README's commands on a fresh copy of the project: installs come from uv.lock, once."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
import venv
from pathlib import Path

import pytest

from pylon_dagster_tests.devtools.dev_script import ROOT, SCRIPT, load_dev_script

dev = load_dev_script()

# What ensurepip adds when the Python running dev.py has no pip of its own (uv leaves them).
SEEDED = {"pip", "setuptools"}
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)
INSTALLING = "Installing pylon-dagster and its dependencies from uv.lock"


def _copy_of_the_project(destination: Path) -> Path:
    """The project's files as a clone with this worktree's changes has them (no venv, no state)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in filter(None, listing.stdout.split("\0")):
        if (ROOT / name).is_file():  # not a file deleted in the worktree
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def _dev_py(project: Path, venv_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python3 scripts/dev.py ...` as the README runs it (the Python on PATH, not this venv's)."""
    python3 = shutil.which("python3")
    assert python3 is not None
    env = {**os.environ, "PYLON_DAGSTER_VENV": str(venv_path)}
    return subprocess.run(
        [python3, str(project / "scripts" / "dev.py"), *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _dagster_file(venv_path: Path) -> str:
    """Where the virtualenv's `dagster/__init__.py` is, found without importing it."""
    return subprocess.run(
        [
            str(dev.bin_dir(venv_path) / "python"),
            "-c",
            "import importlib.util; print(importlib.util.find_spec('dagster').origin)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _installed(venv_path: Path) -> dict[str, str]:
    """Every distribution in the virtualenv: normalized name -> version."""
    listing = subprocess.run(
        [str(dev.bin_dir(venv_path) / "python"), "-c", LIST_DISTRIBUTIONS],
        cwd=venv_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in json.loads(listing.stdout).items()
    }


@pytest.mark.slow
def test_demo_installs_the_locked_versions_once_and_refuses_a_stale_lock(tmp_path: Path) -> None:
    project = _copy_of_the_project(tmp_path / "clone")
    venv_path = tmp_path / "venv"

    first = _dev_py(project, venv_path, "demo", "--help")
    assert first.returncode == 0, first.stdout + first.stderr
    assert INSTALLING in first.stdout and "Usage: pylon-dagster demo" in first.stdout

    lock = tomllib.loads((project / "uv.lock").read_text())
    locked: dict[str, set[str]] = {}
    for package in lock["package"]:  # one entry per version (numpy's differ by Python)
        locked.setdefault(package["name"], set()).add(package["version"])
    installed = _installed(venv_path)
    unlocked = {
        name: version
        for name, version in installed.items()
        if name not in SEEDED and version not in locked.get(name, set())
    }
    assert not unlocked, f"installed without the lock's version: {unlocked}"
    assert {"dagster", "pgserver", "httpx"} <= installed.keys()
    assert "pytest" not in installed  # the demo installs no test extra
    imported = subprocess.run(
        [
            str(dev.bin_dir(venv_path) / "python"),
            "-c",
            "import pylon_dagster; print(pylon_dagster.__file__)",
        ],
        cwd=tmp_path,  # not a folder that holds the package
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()).is_relative_to(project)  # editable: the clone's code
    # Dependencies come with their bytecode: no process compiles Dagster from source.
    dagster_dir = Path(_dagster_file(venv_path)).parent
    assert list((dagster_dir / "__pycache__").glob("__init__.*.pyc")), dagster_dir

    again = _dev_py(project, venv_path, "demo", "--help")
    assert again.returncode == 0, again.stdout + again.stderr
    assert INSTALLING not in again.stdout

    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = [", 'dependencies = [\n    "tomli-w>=1",', 1)
    )
    stale = _dev_py(project, venv_path, "test")
    assert stale.returncode == 1
    assert stale.stderr.strip().splitlines() == [
        "Error: uv.lock does not match the dependencies in pyproject.toml: "
        "run `python3 scripts/dev.py lock` and commit uv.lock."
    ]
    assert INSTALLING not in stale.stdout
    assert _installed(venv_path) == installed


@pytest.mark.slow
def test_a_python_without_pip_bootstraps_uv_with_ensurepip(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    venv.EnvBuilder().create(bare)  # a Python 3.11+ that has no pip of its own
    target = tmp_path / "target"
    venv.EnvBuilder().create(target)
    ask = (
        f"import sys; sys.path.insert(0, {str(SCRIPT.parent)!r}); import dev, json, pathlib; "
        f"print(json.dumps(dev.pip_for_bootstrap(pathlib.Path({str(target)!r}))))"
    )
    bare_python = dev.bin_dir(bare) / "python"
    pip = json.loads(
        subprocess.run(
            [str(bare_python), "-c", ask], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout.splitlines()[-1]
    )
    assert pip == [str(dev.bin_dir(target) / "python"), "-m", "pip"]
    version = subprocess.run([*pip, "--version"], capture_output=True, text=True, check=True)
    assert str(target) in version.stdout
