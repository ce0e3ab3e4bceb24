"""The project's jobs, loadable by reference so Dagster runs their steps in subprocesses.

Run workers and step processes import this module afresh, so everything they need comes from the
environment: the project's `Settings`, with the warehouse from `PYLON_WAREHOUSE_URL` /
`PYLON_WAREHOUSE_SCHEMA` (set by the `warehouse` fixture), and the Pylon resource's settings from `PYLON_TEST_RESOURCE` as JSON (the
settings `emulator_resource()` builds), so a test can aim the project's assets at its emulator
with a short rate-limit minute or a wrong token, exactly as a deployment would configure them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository

from pylon_dagster.assets import build_assets
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.jobs import jobs
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.resources import build_warehouse
from pylon_dagster.settings import Settings

RESOURCE_VAR = "PYLON_TEST_RESOURCE"
# Where step processes find this (not installed) test package.
REPO_ROOT = Path(__file__).resolve().parents[2]


def resource_settings(resource: PylonResource) -> str:
    """The JSON for `RESOURCE_VAR` that rebuilds `resource` in another process."""
    return json.dumps(resource.model_dump(exclude={"warehouse"}), default=str)


def definitions() -> dg.Definitions:
    pylon_settings: dict[str, Any] = json.loads(os.environ[RESOURCE_VAR])
    settings = Settings.from_env(os.environ)
    warehouse = build_warehouse(settings)
    return dg.Definitions(
        assets=build_assets(settings, issue_partitions(settings.start_date)).assets,
        jobs=jobs,
        resources={
            "pylon": PylonResource(**pylon_settings, warehouse=warehouse),
            "warehouse": warehouse,
        },
    )


def reconstructable_job(name: str) -> ReconstructableJob:
    """A job of `definitions()` by name, `__ASSET_JOB` included (the job UI backfills and the
    automation sensor launch their runs under)."""
    repository = ReconstructableRepository.for_module(
        __name__, "definitions", working_directory=str(REPO_ROOT)
    )
    return repository.get_reconstructable_job(name)
