"""The few Dagster internals this project relies on, in one place.

Dagster has no public names for the run tags that make one run cover a partition range, for its
cron validation and tick arithmetic, nor for the signal it holds back during a step; they are
imported here only, so a Dagster upgrade that moves them breaks one small module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._utils.interrupts import check_captured_interrupt
from dagster._utils.schedules import is_valid_cron_string, reverse_cron_string_iterator
from dagster_shared.error import SerializableErrorInfo

STOP_SIGNALS = (KeyboardInterrupt, DagsterExecutionInterruptedError)
"""What a SIGINT or SIGTERM raises inside a step."""

__all__ = [
    "STOP_SIGNALS",
    "SerializableErrorInfo",
    "cron_ticks_before",
    "day_range_tags",
    "interrupt_requested",
    "is_valid_cron",
    "partition_range",
]


def day_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partition keys `first` through `last`."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def partition_range(tags: dict[str, str]) -> tuple[str, str] | None:
    """The (first, last) partition keys a run's tags name, if they name a range."""
    first, last = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return (first, last) if first and last else None


def is_valid_cron(cron: str) -> bool:
    return is_valid_cron_string(cron)


def cron_ticks_before(cron: str, moment: datetime) -> Iterator[datetime]:
    """The ticks of `cron` (UTC) at or before `moment`, newest first, as the schedules see them."""
    return reverse_cron_string_iterator(moment.timestamp(), cron, "UTC")


def interrupt_requested() -> bool:
    """Whether Dagster caught a SIGINT or SIGTERM it has not acted on yet.

    While a step runs, Dagster holds those signals back until the step ends; a step blocked on
    Pylon's budget for minutes would keep a stop request waiting that long.
    """
    return check_captured_interrupt()
