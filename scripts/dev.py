#!/usr/bin/env python3
"""Set up the project's virtualenv from uv.lock (if needed) and run the demo or the test suite.

Needs only Python 3.11 or 3.12. Usage:
    python3 scripts/dev.py demo   # emulator + embedded Postgres + first sync + `dagster dev`
    python3 scripts/dev.py test   # lint, format check, import layers and the whole test suite
    python3 scripts/dev.py lock   # regenerate uv.lock after a dependency change in pyproject.toml
Extra arguments after `test` go to pytest, after `lock` to `uv lock` (e.g. `--upgrade`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK_COMMAND = "python3 scripts/dev.py lock"
# uv itself is installed with pip, outside the packages that `uv sync` manages in the virtualenv.
UV_BOOTSTRAP = "uv-bootstrap"
STAMP = ".pylon-dagster-installed"
# pyproject.toml's requires-python: pgserver (the embedded Postgres) ships wheels for these only.
SUPPORTED_PYTHONS = ((3, 11), (3, 12))
# `--compile-bytecode` writes every dependency's bytecode at install time: each Python process (the
# test workers, the CLI, Dagster's step and run workers) then imports Dagster from it instead of
# compiling some 2,000 modules from source, which happens in every process where
# PYTHONDONTWRITEBYTECODE keeps Python from caching bytecode itself.
SYNC_OPTIONS = ("--frozen", "--compile-bytecode", "--quiet")


class SetupError(Exception):
    """A problem the user fixes; shown as one `Error: ...` line."""


@dataclass(frozen=True)
class LockedUv:
    """The uv release uv.lock pins (it is in the `test` extra), with its wheels' sha256 hashes."""

    version: str
    hashes: tuple[str, ...]

    def requirement(self) -> str:
        """A pip requirements line that installs only this release, verified by hash."""
        return " ".join([f"uv=={self.version}", *(f"--hash={h}" for h in self.hashes)])


def venv_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("PYLON_DAGSTER_VENV", ROOT / ".venv"))


def bin_dir(venv_path: Path) -> Path:
    return venv_path / ("Scripts" if os.name == "nt" else "bin")


def read_lock(project: Path) -> bytes:
    try:
        return (project / "uv.lock").read_bytes()
    except FileNotFoundError:
        raise SetupError(
            f"uv.lock is missing: restore it from git or run `{LOCK_COMMAND}`."
        ) from None


def locked_uv(lock_text: str) -> LockedUv:
    """Read uv's pinned version and wheel hashes from the text of uv.lock."""
    import tomllib  # Python 3.11+: imported after the version check in main()

    try:
        lock = tomllib.loads(lock_text)
    except tomllib.TOMLDecodeError as error:
        raise SetupError(
            f"uv.lock is not valid TOML ({error}); after a merge conflict take either side "
            f"and run `{LOCK_COMMAND}`."
        ) from None
    for package in lock.get("package", []):
        if package.get("name") == "uv":
            hashes = tuple(wheel["hash"] for wheel in package.get("wheels", []))
            if hashes:
                return LockedUv(package["version"], hashes)
    raise SetupError(f"uv.lock pins no uv wheel: restore it from git and run `{LOCK_COMMAND}`.")


def sources_fingerprint(*parts: bytes) -> str:
    """What the installed virtualenv was made from (pyproject.toml, uv.lock, how `uv sync` ran):
    it is synced again when this changes."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def extras_to_install(stamp: str | None, sources: str, wanted: tuple[str, ...]) -> list[str] | None:
    """The extras to sync the virtualenv with, or None when it is already as needed.

    `stamp` is the stamp file's text (see `stamp_text`). Extras stay once installed, so `demo`
    after `test` does not remove pytest from under a test run.
    """
    fingerprint, _, installed_extras = (stamp or "").partition("\n")
    installed = set(installed_extras.split()) if fingerprint else set()
    if fingerprint == sources and installed.issuperset(wanted):
        return None
    return sorted(installed.union(wanted))


def stamp_text(sources: str, extras: list[str]) -> str:
    """The sources' fingerprint, then the extras installed from them."""
    return f"{sources}\n{' '.join(extras)}"


def uv_command(uv: Path, venv_path: Path, *arguments: str) -> list[str]:
    """A uv command that uses this virtualenv's Python (uv never downloads one of its own)."""
    return [str(uv), *arguments, "--python", str(bin_dir(venv_path) / "python")]


def uv_environment(venv_path: Path) -> dict[str, str]:
    """`uv sync` installs into this virtualenv and uv never downloads a Python of its own."""
    return {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv_path), "UV_PYTHON_DOWNLOADS": "never"}


def lock_problem(uv: Path, venv_path: Path, project: Path) -> str | None:
    """Why the project's uv.lock does not match its pyproject.toml, or None when it does.

    `uv lock --check --offline` compares the requirements recorded in the lock with
    pyproject.toml's: a current lock passes without network or cache; any change to the
    dependencies, extras, requires-python or `[tool.uv]` fails.
    """
    result = subprocess.run(
        uv_command(uv, venv_path, "lock", "--check", "--offline", "--quiet"),
        cwd=project,
        env=uv_environment(venv_path),
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return None
    return (
        "uv.lock does not match the dependencies in pyproject.toml: "
        f"run `{LOCK_COMMAND}` and commit uv.lock."
    )


def ensure_python() -> None:
    if sys.version_info[:2] not in SUPPORTED_PYTHONS:
        sys.exit(f"Error: Python 3.11 or 3.12 is required, this is {sys.version.split()[0]}.")


def pip_for_bootstrap(venv_path: Path) -> list[str]:
    """The pip that installs uv: this Python's own if it has one (`--target` installs are allowed
    even where it is externally managed), else one that ensurepip adds to the virtualenv."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    python = str(bin_dir(venv_path) / "python")
    subprocess.run([python, "-m", "ensurepip", "--default-pip"], check=True)
    return [python, "-m", "pip"]


def ensure_uv(venv_path: Path) -> Path:
    """Create the virtualenv if needed and install uv's locked release into it with pip."""
    if not (bin_dir(venv_path) / "python").exists():
        print(f"Creating virtualenv in {venv_path}", flush=True)
        venv.EnvBuilder().create(venv_path)  # no pip: uv installs everything
    pin = locked_uv(read_lock(ROOT).decode())
    target = venv_path / UV_BOOTSTRAP
    uv = bin_dir(target) / "uv"
    if uv.exists() and (target / f"uv-{pin.version}.dist-info").is_dir():
        return uv
    print(f"Installing uv {pin.version}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        requirements = Path(folder) / "uv.txt"
        requirements.write_text(pin.requirement() + "\n")
        install = ["--disable-pip-version-check", "-q", "install", "--require-hashes", "--no-deps"]
        options = ["--upgrade", "--target", str(target), "-r", str(requirements)]
        quiet = {**os.environ, "PIP_ROOT_USER_ACTION": "ignore"}  # `--target` touches no system
        subprocess.run([*pip_for_bootstrap(venv_path), *install, *options], env=quiet, check=True)
    return uv


def ensure_venv(venv_path: Path, wanted: tuple[str, ...]) -> None:
    """Install exactly what uv.lock pins (plus the project, editable) when pyproject.toml,
    uv.lock or the extras changed since the last install; refuse a lock that is out of date."""
    uv = ensure_uv(venv_path)
    sources = sources_fingerprint(
        (ROOT / "pyproject.toml").read_bytes(), read_lock(ROOT), " ".join(SYNC_OPTIONS).encode()
    )
    stamp = venv_path / STAMP
    extras = extras_to_install(stamp.read_text() if stamp.exists() else None, sources, wanted)
    if extras is None:
        return
    if problem := lock_problem(uv, venv_path, ROOT):
        raise SetupError(problem)
    print("Installing pylon-dagster and its dependencies from uv.lock", flush=True)
    extra_options = [option for extra in extras for option in ("--extra", extra)]
    subprocess.run(
        uv_command(uv, venv_path, "sync", *SYNC_OPTIONS, *extra_options),
        cwd=ROOT,
        env=uv_environment(venv_path),
        check=True,
    )
    stamp.write_text(stamp_text(sources, extras))


def lock(venv_path: Path, uv_arguments: list[str]) -> int:
    """Regenerate uv.lock from pyproject.toml (the lock covers every extra)."""
    uv = ensure_uv(venv_path)
    command = uv_command(uv, venv_path, "lock", *uv_arguments)
    return subprocess.run(command, cwd=ROOT, env=uv_environment(venv_path)).returncode


def run(*command: str) -> int:
    print("+", " ".join(command), flush=True)
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the command too (one process group): let it stop what it started.
        return process.wait()


def run_tests(venv_path: Path, pytest_arguments: list[str]) -> int:
    ensure_venv(venv_path, ("test",))
    scripts = bin_dir(venv_path)
    checks = (
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        # The layering contracts in pyproject.toml: a wrong import fails here, by name.
        ["lint-imports", "--no-logo"],
    )
    for check in checks:
        if code := run(str(scripts / check[0]), *check[1:]):
            return code
    code = run(str(scripts / "python"), "-m", "pytest", *pytest_arguments)
    if code == 5:
        print("pytest collected no tests: that is a failure here.", file=sys.stderr)
        return 1
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "lock"}:
        print(__doc__)
        return 2
    ensure_python()
    venv_path = venv_dir(os.environ)
    command, arguments = argv[0], argv[1:]
    try:
        if command == "lock":
            return lock(venv_path, arguments)
        if command == "test":
            return run_tests(venv_path, arguments)
        ensure_venv(venv_path, ())
    except SetupError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(
            f"Error: `{' '.join(error.cmd)}` failed (exit code {error.returncode}).",
            file=sys.stderr,
        )
        return 1
    return run(str(bin_dir(venv_path) / "pylon-dagster"), "demo", *arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
