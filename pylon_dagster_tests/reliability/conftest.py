"""Fixtures of the reliability suite."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
import pytest

from pylon_dagster_tests.fixtures.emulator import emulator_resource
from pylon_dagster_tests.fixtures.pipeline import Pipeline


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
