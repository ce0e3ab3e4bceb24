"""The analytics tests' emulator: 100 days up to today, with a custom status in the closed category."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.emulator import EMULATOR_SEED, EMULATOR_TIME_SCALE
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_emulator import PylonEmulator, generate

BOT_STATUS = "solved_by_bot"
DATA_END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
"""The dataset ends at midnight today, so the summary's 90-day window (from the real now) cuts it."""
DATA_DAYS = 100
FIRST_DAY = (DATA_END - timedelta(days=DATA_DAYS + 1)).date()
TODAY = DATA_END.date()


@pytest.fixture
def emulator() -> PylonEmulator:
    """The usual dataset, plus a custom status in the closed category that some issues are in."""
    dataset = generate(EMULATOR_SEED, 200, now=DATA_END, days=DATA_DAYS, accounts=12)
    dataset.issue_statuses.append(
        {
            "slug": BOT_STATUS,
            "label": "Solved by the bot",
            "category": "closed",
            "is_default_status": False,
            "is_archived": False,
        }
    )
    closed = [i for i in dataset.issues if i["state"] == "closed"]
    for issue in random.Random(3).sample(closed, 12):
        issue["state"] = BOT_STATUS
    return PylonEmulator(dataset, time_scale=EMULATOR_TIME_SCALE)


def rows(warehouse: PostgresWarehouse, query: str, **params: Any) -> list[sa.Row]:
    with warehouse.engine.connect() as connection:
        return connection.execute(sa.text(query), params).all()


def check_runner(
    pipeline: Pipeline, table: str, check: str
) -> Callable[[], dg.AssetCheckEvaluation]:
    """Runs one asset check for real; returns its evaluation."""
    key = dg.AssetCheckKey(dg.AssetKey(["pylon", table]), check)
    checks_job = dg.define_asset_job(f"run_{check}", selection=dg.AssetSelection.checks(key))
    job = dg.Definitions.merge(pipeline.defs, dg.Definitions(jobs=[checks_job])).resolve_job_def(
        f"run_{check}"
    )

    def evaluate() -> dg.AssetCheckEvaluation:
        result = job.execute_in_process(instance=pipeline.instance, raise_on_error=False)
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    return evaluate
