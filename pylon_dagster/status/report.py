"""What `pylon-dagster status` found, and the rule that makes it healthy or not.

The JSON form (`StatusReport.as_json`) is a stable interface for health checks and dashboards:
keys are only ever added, never renamed or removed. Times are ISO 8601 UTC strings or null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    """`2026-11-29T00:15:00Z`, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class DayRanges:
    """Some daily partitions: how many, and the stretches of consecutive days they form."""

    count: int = 0
    ranges: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """`3 (2026-01-01..2026-01-02, 2026-01-05)`."""
        spans = ", ".join(
            first if first == last else f"{first}..{last}" for first, last in self.ranges
        )
        return f"{self.count} ({spans})" if self.count else "0"

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "ranges": [list(span) for span in self.ranges]}


@dataclass(frozen=True)
class PartitionState:
    """The daily partitions of a stream, as Dagster's instance records them."""

    total: int
    materialized: int
    in_progress: int
    missing: DayRanges
    """Never materialized (today's partition included: it fills during the day)."""
    overdue: DayRanges
    """Missing partitions before today's: the schedule should have materialized them."""
    failed: DayRanges
    """Their latest materialization attempt failed."""

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "materialized": self.materialized,
            "in_progress": self.in_progress,
            "missing": self.missing.as_json(),
            "overdue": self.overdue.as_json(),
            "failed": self.failed.as_json(),
        }


@dataclass(frozen=True)
class StreamState:
    """One stream: its table in the warehouse and its asset in Dagster."""

    stream: str
    asset_key: str
    table_exists: bool
    rows: int
    newest_updated_at: datetime | None
    """None for tables without an `updated_at` column, or without rows."""
    has_updated_at: bool
    schedule_cron: str
    last_materialization: datetime | None
    last_run_id: str | None
    fresh_since: datetime
    """The last materialization must be at or after this moment (see `stale`)."""
    partitions: PartitionState | None = None
    children_missing: int | None = None
    """For a child stream: parents whose children were fetched and stored, and are gone (among
    the parents `status` examines: see `collect.CHILDREN_EXAMINED`)."""
    rows_estimated: bool = False
    """`rows` is Postgres's estimate (a large table), not a count (see `status/sizes.py`)."""

    @property
    def stale(self) -> bool:
        """Never materialized, or not since the second-latest tick of its schedule: a whole
        scheduled run was missed (one late or running run is not stale yet)."""
        return self.last_materialization is None or self.last_materialization < self.fresh_since

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.table_exists:
            found.append("no table in the warehouse: a sync creates and fills it")
        if self.children_missing:
            found.append(
                f"children missing for {self.children_missing} parents (fetched, then removed "
                "from the table): rerun `pylon-dagster sync` over their days to fetch them again"
            )
        if self.last_materialization is None:
            found.append("never materialized")
        elif self.stale:
            found.append(f"stale: not materialized since {iso(self.fresh_since)}")
        if self.partitions and self.partitions.failed.count:
            found.append(f"failed partitions: {self.partitions.failed.describe()}")
        if self.partitions and self.partitions.overdue.count:
            found.append(f"missing partitions: {self.partitions.overdue.describe()}")
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "asset_key": self.asset_key,
            "table_exists": self.table_exists,
            "rows": self.rows,
            "rows_estimated": self.rows_estimated,
            "newest_updated_at": iso(self.newest_updated_at),
            "schedule_cron": self.schedule_cron,
            "last_materialization": iso(self.last_materialization),
            "last_run_id": self.last_run_id,
            "fresh_since": iso(self.fresh_since),
            "stale": self.stale,
            "partitions": self.partitions.as_json() if self.partitions else None,
            "children_missing": self.children_missing,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class RateLimitState:
    """One endpoint's row of the shared rate budget, and the 429s Pylon answered it."""

    api_host: str
    endpoint: str
    rate: float
    ceiling: float
    window_seconds: float
    source: str
    paused_until: datetime | None
    rate_limited_last_day: int
    rate_limited_total: int
    updated_at: datetime

    def describe_rate(self) -> str:
        return f"{self.rate:g} per {self.window_seconds:g}s"

    def as_json(self) -> dict[str, Any]:
        return {
            "api_host": self.api_host,
            "endpoint": self.endpoint,
            "rate": self.rate,
            "ceiling": self.ceiling,
            "window_seconds": self.window_seconds,
            "source": self.source,
            "paused_until": iso(self.paused_until),
            "rate_limited_last_day": self.rate_limited_last_day,
            "rate_limited_total": self.rate_limited_total,
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class StatusReport:
    checked_at: datetime
    warehouse: str
    """The warehouse URL with its password shown as `***`."""
    schema: str
    dagster_home: str
    streams: list[StreamState] = field(default_factory=list)
    rate_limits: list[RateLimitState] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{s.stream}: {problem}" for s in self.streams for problem in s.problems]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "checked_at": iso(self.checked_at),
            "warehouse": {"url": self.warehouse, "schema": self.schema},
            "dagster_home": self.dagster_home,
            "streams": [s.as_json() for s in self.streams],
            "rate_limits": [r.as_json() for r in self.rate_limits],
            "problems": self.problems,
        }
