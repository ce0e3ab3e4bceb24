"""The import rule (pyproject.toml's `[tool.importlinter]`, docs/architecture.md "Layers") fails
on an import that breaks it, naming the import.

`lint-imports` runs on a copy of the packages, once as they are and once with one import added;
the copy comes first on the path, so the linter reads it, not this work tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pylon_dagster_tests.devtools.dev_script import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_of_the_packages(destination: Path) -> Path:
    for package in ("pylon_dagster", "pylon_emulator"):
        shutil.copytree(
            ROOT / package, destination / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", destination)
    return destination


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_of_the_packages(tmp_path_factory.mktemp("layers"))


def test_the_packages_as_they_are_keep_every_contract(packages: Path):
    result = _lint_imports(packages)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "imported", "broken"),
    [
        # The catalog imports nothing of the project.
        ("catalog/streams.py", "pylon_dagster.settings", "pylon_dagster.catalog"),
        # The warehouse does not reach up to the client.
        ("warehouse/sql.py", "pylon_dagster.pylon.client", "pylon_dagster.warehouse"),
        # Siblings of one layer stay apart: the web service knows no asset.
        ("webapp/queries.py", "pylon_dagster.assets.common", "pylon_dagster.webapp"),
    ],
)
def test_an_upward_import_breaks_the_layers_contract_by_name(
    tmp_path: Path, module: str, imported: str, broken: str
):
    project = _copy_of_the_packages(tmp_path)
    path = project / "pylon_dagster" / module
    line = len(path.read_text().splitlines()) + 1
    with path.open("a") as source:
        source.write(f"import {imported}  # noqa\n")

    result = _lint_imports(project)

    importer = f"pylon_dagster.{module.removesuffix('.py').replace('/', '.')}"
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pylon_dagster is layered (top first, docs/architecture.md) BROKEN" in result.stdout
    assert f"{broken} is not allowed to import" in result.stdout
    assert f"- {importer} -> {imported} (l.{line})" in result.stdout


def test_production_code_importing_the_emulator_breaks_its_contract(tmp_path: Path):
    project = _copy_of_the_packages(tmp_path)
    with (project / "pylon_dagster" / "sync.py").open("a") as source:
        source.write("import pylon_emulator.dataset  # noqa\n")

    result = _lint_imports(project)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "only the demo and the emulator command import the emulator BROKEN" in result.stdout
    assert "pylon_dagster.sync -> pylon_emulator.dataset (l." in result.stdout


def test_a_cycle_inside_a_package_breaks_its_contract(tmp_path: Path):
    project = _copy_of_the_packages(tmp_path)
    # `warehouse/loader.py` imports `warehouse/sql.py`: the way back closes a cycle.
    with (project / "pylon_dagster" / "warehouse" / "sql.py").open("a") as source:
        source.write("import pylon_dagster.warehouse.loader  # noqa\n")

    result = _lint_imports(project)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "no import cycle between the modules of one package BROKEN" in result.stdout
    assert "No cycles are allowed in pylon_dagster.warehouse." in result.stdout
    assert "- .sql -> .loader (1 import)" in result.stdout
