"""The README's commands on a fresh copy of the project: installs come from uv.lock, once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pylon_dagster_tests.devtools.dev_script import ROOT, load_dev_script

dev = load_dev_script()

NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", ".state", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info", "build"
)
# What `venv` puts in every virtualenv (uv leaves them there).
SEEDED = {"pip", "setuptools"}
INSTALLING = "Installing pylon-dagster and its dependencies from uv.lock"


def _dev_py(project: Path, venv_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYLON_DAGSTER_VENV": str(venv_path)}
    return subprocess.run(
        [sys.executable, str(project / "scripts" / "dev.py"), *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _installed(venv_path: Path) -> dict[str, str]:
    listing = subprocess.run(
        [str(dev.bin_dir(venv_path) / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = (line.split("==") for line in listing.stdout.splitlines())
    return {name.lower().replace("_", "-"): version for name, version in pairs}


@pytest.mark.slow
def test_demo_installs_the_locked_versions_once_and_refuses_a_stale_lock(tmp_path: Path) -> None:
    project = tmp_path / "clone"
    shutil.copytree(ROOT, project, ignore=NOT_IN_A_CLONE)
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

    again = _dev_py(project, venv_path, "demo", "--help")
    assert again.returncode == 0, again.stdout + again.stderr
    assert INSTALLING not in again.stdout

    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = [", 'dependencies = [\n    "rich>=13",', 1)
    )
    stale = _dev_py(project, venv_path, "test")
    assert stale.returncode == 1
    assert stale.stderr.strip().splitlines() == [
        "Error: uv.lock does not match the dependencies in pyproject.toml: "
        "run `python3 scripts/dev.py lock` and commit uv.lock."
    ]
    assert INSTALLING not in stale.stdout
    assert _installed(venv_path) == installed
