"""The issue-updates sensor: one small search per tick asks Pylon what changed since the cursor.

The cursor is the newest `updated_at` seen plus the ids seen at exactly that instant, so a tie on
the boundary is neither lost nor requested twice. A probe that fails leaves the cursor where it was.
Runs are requested only for the daily partitions the changed issues fall in: one run per stretch of
consecutive days (at most 30, one search window), the way a backfill batches them.

The probe takes its slot from the shared rate budget with freshness priority, like the runs it
requests: while a backfill holds the budget, the probe and those runs go first.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Self

import dagster as dg

from pylon_dagster.automation.run_requests import day_run_requests
from pylon_dagster.catalog import endpoints
from pylon_dagster.jobs import issues_job
from pylon_dagster.namespace import instance_name, instance_resources
from pylon_dagster.pylon.budget import Priority
from pylon_dagster.pylon.client import MAX_PAGE_SIZE, Record
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.pylon.timestamps import format_timestamp, parse_timestamp
from pylon_dagster.settings import Settings

# Pylon's `time_is_after` may be strict or inclusive (undocumented): ask from a little earlier.
PROBE_OVERLAP = timedelta(seconds=1)


@dataclass
class UpdatesCursor:
    """The newest `updated_at` seen and the ids updated at exactly that time."""

    updated_at: datetime
    ids_at: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, raw: str | None, *, default: datetime) -> Self:
        if not raw:
            return cls(default)
        value = json.loads(raw)
        return cls(datetime.fromisoformat(value["updated_at"]), set(value["ids_at"]))

    def dumps(self) -> str:
        return json.dumps(
            {"updated_at": self.updated_at.isoformat(), "ids_at": sorted(self.ids_at)}
        )

    def digest(self) -> str:
        """Short and unique per cursor value: run keys built from it differ whenever the cursor
        moves, including when only the ids at an unchanged instant grew."""
        return hashlib.sha256(self.dumps().encode()).hexdigest()[:12]

    def is_new(self, issue_id: str, updated_at: datetime) -> bool:
        return updated_at > self.updated_at or (
            updated_at == self.updated_at and issue_id not in self.ids_at
        )

    def advanced(self, changes: list[tuple[str, datetime]]) -> Self:
        newest = max([self.updated_at, *(at for _, at in changes)])
        ids = {i for i, at in changes if at == newest}
        return type(self)(newest, ids | (self.ids_at if newest == self.updated_at else set()))


def changed_issues(records: list[Record], cursor: UpdatesCursor) -> list[tuple[str, datetime]]:
    """(id, updated_at) of the records that are new relative to the cursor."""
    changes = []
    for record in records:
        updated_at = parse_timestamp(record.get("updated_at"))
        if updated_at is not None and cursor.is_new(str(record.get("id")), updated_at):
            changes.append((str(record["id"]), updated_at))
    return changes


def affected_partitions(
    partitions: dg.PartitionsDefinition,
    changes: list[tuple[str, datetime]],
    *,
    more_pages: bool,
    cursor: UpdatesCursor,
    now: datetime,
) -> list[str]:
    """Daily partition keys of `partitions` to refresh. With more changes than one page holds,
    every day since the cursor is refreshed: cheaper than paging through them all on a tick."""
    keys = set(partitions.get_partition_keys(current_time=now))
    days = {at.date() for _, at in changes}
    if more_pages:
        day = cursor.updated_at.date()
        while day <= now.date():
            days.add(day)
            day += timedelta(days=1)
    return sorted(k for k in (d.isoformat() for d in days) if k in keys)


def issue_updates_tick(
    context: dg.SensorEvaluationContext,
    pylon: PylonResource,
    issue_days: dg.PartitionsDefinition,
) -> dg.SensorResult | dg.SkipReason:
    """One tick of the sensor, on the daily partitions `issue_days` of `issues`."""
    now = datetime.now(UTC)
    cursor = UpdatesCursor.parse(context.cursor, default=now)
    if not context.cursor:
        context.update_cursor(cursor.dumps())
        return dg.SkipReason(f"First tick: watching for issues updated after {cursor.updated_at}.")
    search = {
        "filter": {
            "field": "updated_at",
            "operator": "time_is_after",
            "value": format_timestamp(cursor.updated_at - PROBE_OVERLAP),
        },
        "limit": MAX_PAGE_SIZE,
    }
    # Raises on failure: the tick fails visibly and the cursor stays where it was.
    with pylon.get_client(priority=Priority.FRESHNESS) as client:
        envelope = client.request(endpoints.ISSUES_SEARCH, json_body=search)
    records = envelope.get("data") or []
    more_pages = bool((envelope.get("pagination") or {}).get("has_next_page"))
    changes = changed_issues(records, cursor)
    if not changes:
        return dg.SkipReason(f"No issue updated after {cursor.updated_at}.")
    new_cursor = cursor.advanced(changes)
    partitions = affected_partitions(
        issue_days, changes, more_pages=more_pages, cursor=cursor, now=now
    )
    context.log.info(f"{len(changes)} issue(s) changed; refreshing partitions {partitions}")
    return dg.SensorResult(
        run_requests=day_run_requests(partitions, run_key_suffix=new_cursor.digest()),
        cursor=new_cursor.dumps(),
    )


def build_issue_updates_sensor(
    settings: Settings, issue_days: dg.PartitionsDefinition
) -> dg.SensorDefinition:
    """The sensor on the daily partitions `issue_days` of `issues`, probing Pylon every
    `PYLON_ISSUE_SENSOR_INTERVAL_SECONDS`."""

    @dg.sensor(
        name=instance_name(settings.key_prefix, "pylon_issue_updates"),
        job=issues_job,
        minimum_interval_seconds=settings.issue_sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Asks Pylon (one search per tick) which issues changed since the cursor and "
            "refreshes only the daily partitions they fall in."
        ),
    )
    @instance_resources(settings.key_prefix)
    def issue_updates_sensor(
        context: dg.SensorEvaluationContext, pylon: PylonResource
    ) -> dg.SensorResult | dg.SkipReason:
        return issue_updates_tick(context, pylon, issue_days)

    return issue_updates_sensor
