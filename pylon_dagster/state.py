"""The local state folder: embedded Postgres data, the Dagster instance and remembered defaults.

`PYLON_DAGSTER_STATE` when set, else `.state/` in the current directory (the project root when run
through the README commands or `dagster dev`).
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_VAR = "PYLON_DAGSTER_STATE"


def state_dir() -> Path:
    """The state folder (not created here: whatever writes into it creates it)."""
    return Path(os.environ.get(STATE_DIR_VAR) or Path.cwd() / ".state").resolve()


def dagster_home() -> Path:
    """`DAGSTER_HOME`, defaulting to `<state>/dagster` with the project's `dagster.yaml` in it.

    Sets the variable for this process and its children (`dagster dev`, run workers).
    """
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    home = state_dir() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    project_config = Path.cwd() / "dagster.yaml"
    if project_config.exists():
        (home / "dagster.yaml").write_text(project_config.read_text())
    os.environ["DAGSTER_HOME"] = str(home)
    return home
