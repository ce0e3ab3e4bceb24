"""Shared by the automation tests: automation conditions evaluated tick by tick, and the days a
sensor's run requests cover."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from pylon_dagster.definitions import defs
from pylon_dagster_tests.fixtures.days import iso_days

START = datetime(2026, 3, 14, 12, tzinfo=UTC)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


class Ticks:
    """Successive evaluations of the automation conditions of `keys`, 30 s apart. Each returns,
    per key, the partitions requested (`None` for an unpartitioned asset)."""

    def __init__(self, instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey]):
        self.instance = instance
        self.keys = keys
        self.time = START
        self.cursor = None

    def __call__(self) -> dict[dg.AssetKey, set[str | None]]:
        result = dg.evaluate_automation_conditions(
            defs=defs(),
            instance=self.instance,
            asset_selection=dg.AssetSelection.assets(*self.keys),
            evaluation_time=self.time,
            cursor=self.cursor,
        )
        self.cursor = result.cursor
        self.time += timedelta(seconds=30)
        return {key: set(result.get_requested_partitions(key)) for key in self.keys}

    def materialize(self, key: dg.AssetKey, partitions: Sequence[str | None]) -> None:
        for partition in partitions:
            self.instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=key, partition=partition)
            )


def requested_days(requests: Sequence[dg.RunRequest]) -> list[str]:
    """Every partition key the run requests cover (single keys and day ranges)."""
    days = []
    for request in requests:
        if request.partition_key:
            days.append(request.partition_key)
        else:
            first = date.fromisoformat(request.tags[RANGE_START])
            last = date.fromisoformat(request.tags[RANGE_END])
            days += iso_days(first, last)
    return days
