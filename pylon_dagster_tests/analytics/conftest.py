"""The analytics tests' emulator: 100 days up to the day the test starts, with a custom status in
the closed category.

"Today" is read once per test (the `data_days` fixture), never at import: pytest imports every
module when it collects, up to the whole suite's duration before a test runs, and a run may cross
midnight UTC meanwhile. What a test changes in the emulator is stamped by its real clock, so the
days of those changes are read back from their stamps, not assumed to be the fixture's today.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.days import days_through
from pylon_dagster_tests.fixtures.emulator import EMULATOR_SEED, EMULATOR_TIME_SCALE
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_emulator import PylonEmulator, generate

BOT_STATUS = "solved_by_bot"
DATA_DAYS = 100


@dataclass(frozen=True)
class DataDays:
    """The days of the analytics dataset. It ends at `end`, the midnight (UTC) starting the day
    the test started, so the summary's 90-day window (from the real now) cuts it."""

    end: datetime

    @property
    def today(self) -> date:
        """The day the test started (the real date may have moved on since)."""
        return self.end.date()

    @property
    def first(self) -> date:
        return (self.end - timedelta(days=DATA_DAYS + 1)).date()

    def through(self, last: date) -> list[date]:
        """Every day from the first through `last`."""
        return days_through(self.first, last)


@pytest.fixture
def data_days() -> DataDays:
    return DataDays(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))


@pytest.fixture
def emulator(data_days: DataDays) -> PylonEmulator:
    """The usual dataset, plus a custom status in the closed category that some issues are in."""
    dataset = generate(EMULATOR_SEED, 200, now=data_days.end, days=DATA_DAYS, accounts=12)
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


def day_of(timestamp: str) -> date:
    """The UTC day of a Pylon timestamp."""
    moment = parse_timestamp(timestamp)
    assert moment is not None
    return moment.date()


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
