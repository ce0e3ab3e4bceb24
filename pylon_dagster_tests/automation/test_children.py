"""Children follow `issues`: the automation condition on messages and threads, tick by tick."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.definitions import defs
from pylon_dagster.settings import Settings
from pylon_dagster_tests.automation.support import START, Ticks

ISSUES = dg.AssetKey(["pylon", "issues"])
CHILDREN = (dg.AssetKey(["pylon", "issue_messages"]), dg.AssetKey(["pylon", "issue_threads"]))


@pytest.fixture
def ticks() -> Iterator[Ticks]:
    with dg.instance_for_test() as instance:
        yield Ticks(instance, CHILDREN)


def nothing() -> dict[dg.AssetKey, set[str | None]]:
    return {key: set() for key in CHILDREN}


def test_children_follow_every_partition_of_an_issues_backfill_once(
    ticks: Ticks, settings: Settings
):
    partitions = issue_partitions(settings.start_date)
    backfilled = partitions.get_partition_keys(current_time=START)[-60:]
    assert ticks() == nothing()  # nothing to follow yet
    ticks.materialize(ISSUES, backfilled)
    # All 60 days, not only the latest (plain `eager()` would request today's alone).
    assert ticks() == {key: set(backfilled) for key in CHILDREN}
    assert ticks() == nothing()  # requested once


def test_children_are_not_requested_again_when_a_run_already_synced_them(ticks: Ticks):
    assert ticks() == nothing()
    # What an issues_job run (schedule or sensor) does: issues and children of the same day.
    for key in (ISSUES, *CHILDREN):
        ticks.materialize(key, ["2026-03-14"])
    assert ticks() == nothing()
    # A later materialization of `issues` alone (from the UI, say) brings the children along.
    ticks.materialize(ISSUES, ["2026-03-14"])
    assert ticks() == {key: {"2026-03-14"} for key in CHILDREN}


def test_the_automation_sensor_is_on_by_default_and_covers_the_children():
    sensor = defs().resolve_sensor_def("pylon_children_follow_issues")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    for key in CHILDREN:
        assert defs().resolve_assets_def(key).automation_conditions_by_key[key] is not None
