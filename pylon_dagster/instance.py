"""The Dagster instance's home: `DAGSTER_HOME` (by default in the state folder) and its
`dagster.yaml`, with Dagster's storage in the embedded Postgres when the warehouse is embedded."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from pylon_dagster.settings import WAREHOUSE_URL_VAR, state_dir
from pylon_dagster.warehouse.dagster_storage import storage_settings
from pylon_dagster.warehouse.embedded import EMBEDDED_DIR

DAGSTER_HOME_VAR = "DAGSTER_HOME"
INSTANCE_SETTINGS_FILE = "dagster.yaml"
EVENT_BATCH_SIZE_VAR = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = "1000"
"""Dagster writes the per-partition events of one step output (a 30-day run of `issues` makes 30
materializations per asset) in one insert instead of one each; only Postgres storage batches."""
SQLITE_RUNS = Path("history") / "runs.db"
"""Where Dagster's SQLite storage keeps its runs, inside DAGSTER_HOME."""


def dagster_home() -> Path:
    """`DAGSTER_HOME` (default `<state>/dagster`), holding the project's instance settings.

    Without a `dagster.yaml` Dagster prints a notice and a telemetry banner and runs with its
    own defaults (telemetry on, SQLite, no run queue limits), so a home without one gets the
    project's (`instance_settings`). A `dagster.yaml` already in a DAGSTER_HOME you set is your
    deployment's (docs/deployment.md) and is kept; the state folder's own home always gets the
    current project settings. Sets the variable, and Dagster's event batching, for this process
    and its children (`dagster dev`, run workers).
    """
    configured = os.environ.get(DAGSTER_HOME_VAR, "").strip()
    home = Path(configured) if configured else state_dir(os.environ) / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    settings_file = home / INSTANCE_SETTINGS_FILE
    if not configured or not settings_file.exists():
        settings_file.write_text(instance_settings(home, os.environ))
    os.environ[DAGSTER_HOME_VAR] = str(home)
    os.environ.setdefault(EVENT_BATCH_SIZE_VAR, EVENT_BATCH_SIZE)
    return home


def instance_settings(home: Path, environ: Mapping[str, str]) -> str:
    """The project's settings (`project_instance_settings`), with Dagster's storage in the
    embedded Postgres when the warehouse is embedded too (`warehouse/dagster_storage.py`).

    With `PYLON_WAREHOUSE_URL` set, Dagster's storage stays SQLite under `home` until your
    `dagster.yaml` names a Postgres database (docs/deployment.md): the project does not create
    databases on a server you run. A home whose runs are already in SQLite (made before the
    storage moved to Postgres) keeps them there, and says so once per command.
    """
    settings = project_instance_settings()
    if environ.get(WAREHOUSE_URL_VAR, "").strip():
        return settings
    if (home / SQLITE_RUNS).exists():
        print(
            f"Note: Dagster's runs in {home} are kept in SQLite, as an earlier version stored "
            f"them. To move to the faster Postgres storage, delete {home} (the warehouse keeps "
            "its data; the partitions already synced show as missing in Dagster until synced "
            "again).",
            file=sys.stderr,
        )
        return settings
    storage = storage_settings(state_dir(environ) / EMBEDDED_DIR)
    # JSON is YAML: the block needs no YAML library to write.
    lines = [f"{section}: {json.dumps(value)}" for section, value in storage.items()]
    return "\n".join([settings.rstrip("\n"), "", STORAGE_COMMENT, *lines, ""])


STORAGE_COMMENT = (
    "# Written by pylon-dagster: Dagster's runs, event log and ticks in the embedded Postgres,\n"
    "# in a database of its own (`dagster`) beside the warehouse."
)


def project_instance_settings() -> str:
    """The project's Dagster instance settings: telemetry off, run queue, pools, run retries."""
    return resources.files("pylon_dagster").joinpath(INSTANCE_SETTINGS_FILE).read_text()
