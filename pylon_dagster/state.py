"""The local state folder: embedded Postgres data, the Dagster instance and remembered defaults.

`PYLON_DAGSTER_STATE` when set, else `.state/` in the current directory (the project root when run
through the README commands or `dagster dev`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

STATE_DIR_VAR = "PYLON_DAGSTER_STATE"
DAGSTER_HOME_VAR = "DAGSTER_HOME"
INSTANCE_SETTINGS_FILE = "dagster.yaml"


def state_dir(environ: Mapping[str, str]) -> Path:
    """The state folder `environ` names (not created here: whatever writes into it creates it)."""
    return Path(environ.get(STATE_DIR_VAR) or Path.cwd() / ".state").resolve()


def dagster_home() -> Path:
    """`DAGSTER_HOME` (default `<state>/dagster`), holding the project's instance settings.

    Without a `dagster.yaml` Dagster prints a notice and a telemetry banner and runs with its
    own defaults (telemetry on, no run queue limits), so a home without one gets the project's
    (the repository's `dagster.yaml`, shipped as `pylon_dagster/dagster.yaml`). A `dagster.yaml` already in a DAGSTER_HOME you set is your
    deployment's (docs/deployment.md) and is kept; the state folder's own home always gets the
    current project settings. Sets the variable for this process and its children (`dagster
    dev`, run workers).
    """
    configured = os.environ.get(DAGSTER_HOME_VAR, "").strip()
    home = Path(configured) if configured else state_dir(os.environ) / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    settings_file = home / INSTANCE_SETTINGS_FILE
    if not configured or not settings_file.exists():
        settings_file.write_text(project_instance_settings())
    os.environ[DAGSTER_HOME_VAR] = str(home)
    return home


def project_instance_settings() -> str:
    """The project's Dagster instance settings: telemetry off, run queue, pools, run retries."""
    return resources.files("pylon_dagster").joinpath(INSTANCE_SETTINGS_FILE).read_text()
