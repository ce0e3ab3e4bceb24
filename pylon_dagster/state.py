"""The local state folder: embedded Postgres data, the Dagster instance and remembered defaults.

`PYLON_DAGSTER_STATE` when set, else `.state/` in the current directory (the project root when run
through the README commands or `dagster dev`).
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_VAR = "PYLON_DAGSTER_STATE"


def state_dir() -> Path:
    """The state folder, created on first use."""
    path = Path(os.environ.get(STATE_DIR_VAR) or Path.cwd() / ".state").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
