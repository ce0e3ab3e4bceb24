"""The metric assets follow their inputs: their automation conditions, tick by tick."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.definitions import defs
from pylon_dagster.settings import Settings
from pylon_dagster_tests.automation.support import START, Ticks

ISSUES = dg.AssetKey(["pylon", "issues"])
STATUSES = dg.AssetKey(["pylon", "issue_statuses"])
ACCOUNTS = dg.AssetKey(["pylon", "accounts"])
DAILY = dg.AssetKey(["pylon", "support_daily_metrics"])
SUMMARY = dg.AssetKey(["pylon", "account_support_summary"])


@pytest.fixture
def ticks() -> Iterator[Ticks]:
    with dg.instance_for_test() as instance:
        yield Ticks(instance, (DAILY, SUMMARY))


def requested(days: set[str], summary: bool) -> dict[dg.AssetKey, set[str | None]]:
    return {DAILY: set(days), SUMMARY: {None} if summary else set()}


def test_metrics_follow_every_issues_partition_once(ticks: Ticks, settings: Settings) -> None:
    partitions = issue_partitions(settings.start_date)
    backfilled = partitions.get_partition_keys(current_time=START)[-45:]
    assert ticks() == requested(set(), summary=False)
    ticks.materialize(ISSUES, backfilled)
    # Every day whose issues changed, not only the latest; and the summary, though most of the
    # `issues` partitions since the start date were never synced.
    assert ticks() == requested(set(backfilled), summary=True)
    assert ticks() == requested(set(), summary=False)  # requested once


def test_the_summary_follows_accounts_and_statuses_but_the_days_do_not(ticks: Ticks) -> None:
    assert ticks() == requested(set(), summary=False)
    for upstream in (STATUSES, ACCOUNTS):
        ticks.materialize(upstream, [None])
        assert ticks() == requested(set(), summary=True)
        ticks.materialize(SUMMARY, [None])  # the requested run
        assert ticks() == requested(set(), summary=False)


def test_the_analytics_sensor_is_on_by_default_and_covers_the_group() -> None:
    sensor = defs().resolve_sensor_def("pylon_analytics_follow_inputs")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    for key in (DAILY, SUMMARY):
        assert defs().resolve_assets_def(key).automation_conditions_by_key[key] is not None
