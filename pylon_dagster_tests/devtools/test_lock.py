"""uv.lock: current with pyproject.toml, and what scripts/dev.py does when it is not."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from pylon_dagster_tests.devtools.dev_script import ROOT, UV, VENV, load_dev_script

dev = load_dev_script()


@pytest.mark.slow
def test_the_lock_is_current_with_pyproject() -> None:
    """uv's own check, resolving against the index: fails until `dev.py lock` is run and committed."""
    result = subprocess.run(
        dev.uv_command(UV, VENV, "lock", "--check"),
        cwd=ROOT,
        env=dev.uv_environment(VENV),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def _project_copy(folder: Path, edit: Callable[[str], str]) -> Path:
    shutil.copy(ROOT / "uv.lock", folder / "uv.lock")
    text = (ROOT / "pyproject.toml").read_text()
    edited = edit(text)
    (folder / "pyproject.toml").write_text(edited)
    return folder


def _add_to_list(text: str, anchor: str, line: str) -> str:
    assert anchor in text, anchor
    return text.replace(anchor, f"{anchor}\n    {line}", 1)


UNCHANGED_DEPENDENCIES = {
    "as committed": lambda text: text,
    "a new comment": lambda text: _add_to_list(text, "dependencies = [", "# why httpx"),
    "pytest settings": lambda text: text.replace("timeout = 600", "timeout = 900"),
}
CHANGED_DEPENDENCIES = {
    "a new dependency": lambda text: _add_to_list(text, "dependencies = [", '"tomli-w>=1",'),
    "a new test dependency": lambda text: _add_to_list(text, "test = [", '"hypothesis>=6",'),
    "a narrower range": lambda text: text.replace('"click>=8.1,<9"', '"click>=8.2,<9"'),
    "a removed dependency": lambda text: text.replace('"click>=8.1,<9",', ""),
    "another Python": lambda text: text.replace('">=3.11,<3.13"', '">=3.12,<3.13"'),
}


@pytest.mark.parametrize("edit", UNCHANGED_DEPENDENCIES.values(), ids=UNCHANGED_DEPENDENCIES)
def test_a_lock_matching_pyproject_passes(tmp_path: Path, edit: Callable[[str], str]) -> None:
    project = _project_copy(tmp_path, edit)
    assert dev.lock_problem(UV, VENV, project) is None


@pytest.mark.parametrize("edit", CHANGED_DEPENDENCIES.values(), ids=CHANGED_DEPENDENCIES)
def test_a_stale_lock_names_the_command_that_regenerates_it(
    tmp_path: Path, edit: Callable[[str], str]
) -> None:
    project = _project_copy(tmp_path, edit)
    assert (project / "pyproject.toml").read_text() != (ROOT / "pyproject.toml").read_text()
    problem = dev.lock_problem(UV, VENV, project)
    assert problem is not None
    assert "`python3 scripts/dev.py lock`" in problem and "\n" not in problem


def test_the_locked_uv_is_the_one_installed() -> None:
    pin = dev.locked_uv((ROOT / "uv.lock").read_text())
    version = subprocess.run([str(UV), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split()[:2] == ["uv", pin.version]
    assert pin.requirement().startswith(f"uv=={pin.version} --hash=sha256:")
    assert pin.requirement().count("--hash=sha256:") == len(pin.hashes) >= 2


def test_a_lock_with_merge_conflict_markers_is_refused() -> None:
    text = (ROOT / "uv.lock").read_text()
    conflicted = text.replace("[[package]]", "<<<<<<< HEAD\n[[package]]", 1)
    with pytest.raises(dev.SetupError, match=r"merge conflict.*python3 scripts/dev\.py lock"):
        dev.locked_uv(conflicted)


def test_a_lock_without_uv_is_refused() -> None:
    with pytest.raises(dev.SetupError, match="pins no uv wheel"):
        dev.locked_uv('version = 1\n[[package]]\nname = "httpx"\nversion = "0.28.1"\n')


def test_the_sources_fingerprint_follows_pyproject_and_lock() -> None:
    base = dev.sources_fingerprint(b"pyproject", b"lock")
    assert dev.sources_fingerprint(b"pyproject", b"lock") == base
    changed = {
        dev.sources_fingerprint(b"pyproject2", b"lock"),
        dev.sources_fingerprint(b"pyproject", b"lock2"),
        dev.sources_fingerprint(b"pyprojectlock", b""),
        dev.sources_fingerprint(b"pyproject", b"lock", b"--compile-bytecode"),
    }
    assert len(changed) == 4 and base not in changed


def test_a_fresh_virtualenv_gets_the_extras_asked_for() -> None:
    assert dev.extras_to_install(None, "sources", ()) == []
    assert dev.extras_to_install(None, "sources", ("test",)) == ["test"]


def test_an_installed_virtualenv_is_left_alone() -> None:
    stamp = dev.stamp_text("sources", ["test"])
    assert dev.extras_to_install(stamp, "sources", ("test",)) is None
    assert dev.extras_to_install(stamp, "sources", ()) is None  # demo keeps the test tools
    assert dev.extras_to_install(dev.stamp_text("sources", []), "sources", ()) is None


def test_new_sources_or_extras_sync_again_and_keep_the_installed_extras() -> None:
    base_only = dev.stamp_text("sources", [])
    assert dev.extras_to_install(base_only, "sources", ("test",)) == ["test"]
    with_test = dev.stamp_text("old sources", ["test"])
    assert dev.extras_to_install(with_test, "sources", ()) == ["test"]
    assert dev.extras_to_install(with_test, "sources", ("deploy",)) == ["deploy", "test"]
    # The stamp of the pip-based installs before uv.lock: one fingerprint line.
    assert dev.extras_to_install("0" * 64, "sources", ("test",)) == ["test"]


def test_the_pythons_dev_script_accepts_are_pyprojects() -> None:
    requires = SpecifierSet(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    )
    for minor in range(8, 16):
        assert (f"3.{minor}.0" in requires) == ((3, minor) in dev.SUPPORTED_PYTHONS), minor


def test_the_virtualenv_folder_comes_from_the_environment_given() -> None:
    assert dev.venv_dir({}) == ROOT / ".venv"
    assert dev.venv_dir({"PYLON_DAGSTER_VENV": "/tmp/elsewhere"}) == Path("/tmp/elsewhere")
