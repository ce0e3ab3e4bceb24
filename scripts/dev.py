#!/usr/bin/env python3
"""Set up the project's virtualenv (if needed) and run the demo or the test suite.

Needs only Python 3.11+. Usage:
    python3 scripts/dev.py demo   # emulator + embedded Postgres + first sync + `dagster dev`
    python3 scripts/dev.py test   # lint, format check and the whole test suite
Extra arguments after `test` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PYLON_DAGSTER_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_venv(extras: str) -> None:
    """Create the venv and (re)install the project when pyproject.toml or the extras change."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older python3
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        print(f"Creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    ).hexdigest()
    stamp = VENV / ".pylon-dagster-installed"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    print("Installing pylon-dagster and its dependencies", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-U", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}{extras}"], check=True)
    stamp.write_text(fingerprint)


def run(*command: str) -> int:
    print("+", " ".join(command), flush=True)
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the command too (one process group): let it stop what it started.
        return process.wait()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    if argv[0] == "demo":
        ensure_venv("")
        return run(str(BIN / "pylon-dagster"), "demo", *argv[1:])
    ensure_venv("[test]")
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        if code := run(str(BIN / check[0]), *check[1:]):
            return code
    code = run(str(BIN / "python"), "-m", "pytest", *argv[1:])
    if code == 5:
        print("pytest collected no tests: that is a failure here.", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
