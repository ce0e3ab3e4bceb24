"""The few Dagster internals this project relies on, in one place.

Dagster has no public names for the run tags that make one run cover a partition range, nor for
its cron validation; they are imported here only, so a Dagster upgrade that moves them breaks one
small module.
"""

from __future__ import annotations

from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._utils.schedules import is_valid_cron_string
from dagster_shared.error import SerializableErrorInfo

__all__ = ["SerializableErrorInfo", "day_range_tags", "is_valid_cron", "partition_range"]


def day_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partition keys `first` through `last`."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def partition_range(tags: dict[str, str]) -> tuple[str, str] | None:
    """The (first, last) partition keys a run's tags name, if they name a range."""
    first, last = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return (first, last) if first and last else None


def is_valid_cron(cron: str) -> bool:
    return is_valid_cron_string(cron)
