"""Fixtures of the reliability suite."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.emulator import emulator_resource
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres
from pylon_dagster_tests.reliability.leaks import leaks


@pytest.fixture
def rewire(pipeline: Pipeline) -> Callable[..., Pipeline]:
    """The same pipeline (emulator, warehouse, instance) with the Pylon resource reconfigured."""

    def rewired(**overrides) -> Pipeline:
        resources = {
            "pylon": emulator_resource(pipeline.server, pipeline.warehouse, **overrides),
            "warehouse": pipeline.warehouse,
        }
        defs = dg.Definitions(
            assets=pipeline.defs.assets,
            asset_checks=pipeline.defs.asset_checks,
            jobs=pipeline.defs.jobs,
            resources=resources,
        )
        return Pipeline(pipeline.server, pipeline.warehouse, defs, pipeline.instance)

    return rewired


@pytest.fixture
def leaked(
    tmp_path: Path, embedded_postgres: EmbeddedPostgres, warehouse: PostgresWarehouse
) -> Callable[..., list[str]]:
    """`leaks(secrets, output=...)` for a command whose state folder is `tmp_path`: where the
    secrets appear in its output, its files, the Postgres log or the warehouse's tables."""
    return functools.partial(leaks, state=tmp_path, postgres=embedded_postgres, warehouse=warehouse)
