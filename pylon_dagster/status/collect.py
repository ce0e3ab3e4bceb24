"""Gather `pylon-dagster status`: the warehouse's tables and rate budget, Dagster's event log.

Pylon is never called, and no warehouse table is created or written. The Dagster instance is the
one the headless sync writes to (`DAGSTER_HOME`, by default in the state folder), set up the same
way (`state.dagster_home`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import NamedTuple

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.assets.common import asset_key
from pylon_dagster.assets.partitions import day_runs, issue_partitions
from pylon_dagster.dagster_adapter import cron_ticks_before
from pylon_dagster.pylon.budget_postgres import LIMITS_TABLE, REJECTIONS_TABLE
from pylon_dagster.settings import Settings
from pylon_dagster.state import dagster_home
from pylon_dagster.status.report import (
    DayRanges,
    PartitionState,
    RateLimitState,
    StatusReport,
    StreamState,
)
from pylon_dagster.streams import ISSUES_GROUP, STREAMS, Stream
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.engine import connect, describe
from pylon_dagster.warehouse.sql import ident, qualified

RATE_LIMITED_PERIOD = "1 day"


class TableFacts(NamedTuple):
    exists: bool
    rows: int
    newest_updated_at: datetime | None


def collect_status(settings: Settings, now: datetime | None = None) -> StatusReport:
    """Everything `status` shows. Raises `WarehouseUnavailableError` when the warehouse cannot be
    reached."""
    now = now or datetime.now(UTC)
    issue_days = issue_partitions(settings.start_date)
    warehouse = PostgresWarehouse.from_settings(settings)
    schema = warehouse.schema_name
    with connect(warehouse.engine) as connection:
        tables = _existing_tables(connection, schema)
        facts = {s.name: _table_facts(connection, schema, s, tables) for s in STREAMS.values()}
        rate_limits = _rate_limits(connection, schema, tables)
    home = dagster_home()
    with dg.DagsterInstance.get() as instance:
        streams = [
            _stream_state(
                instance,
                stream,
                settings.issues_cron if stream.group == ISSUES_GROUP else settings.reference_cron,
                now,
                facts[name],
                issue_days,
            )
            for name, stream in STREAMS.items()
        ]
    return StatusReport(
        checked_at=now,
        warehouse=describe(warehouse.engine.url),
        schema=schema,
        dagster_home=str(home),
        streams=streams,
        rate_limits=rate_limits,
    )


def _existing_tables(connection: sa.Connection, schema: str) -> set[str]:
    query = sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s")
    return set(connection.execute(query, {"s": schema}).scalars())


def _has_updated_at(stream: Stream) -> bool:
    return any(column.name == "updated_at" for column in stream.columns)


def _table_facts(
    connection: sa.Connection, schema: str, stream: Stream, tables: set[str]
) -> TableFacts:
    if stream.name not in tables:
        return TableFacts(exists=False, rows=0, newest_updated_at=None)
    newest = f"max({ident('updated_at')})" if _has_updated_at(stream) else "NULL::timestamptz"
    query = sa.text(f"SELECT count(*), {newest} FROM {qualified(schema, stream.name)}")
    rows, newest_updated_at = connection.execute(query).one()
    return TableFacts(exists=True, rows=rows, newest_updated_at=newest_updated_at)


def _rate_limits(connection: sa.Connection, schema: str, tables: set[str]) -> list[RateLimitState]:
    if LIMITS_TABLE not in tables:
        return []
    limits = qualified(schema, LIMITS_TABLE)
    last_day = (
        f"(SELECT count(*) FROM {qualified(schema, REJECTIONS_TABLE)} r "
        "WHERE r.api_host = l.api_host AND r.endpoint = l.endpoint "
        f"AND r.answered_at > clock_timestamp() - interval '{RATE_LIMITED_PERIOD}')"
        if REJECTIONS_TABLE in tables
        else "0"
    )
    query = sa.text(
        "SELECT api_host, endpoint, rate, ceiling, window_seconds, source, "
        "CASE WHEN paused_until > clock_timestamp() THEN paused_until END AS paused_until, "
        f"{last_day} AS rate_limited_last_day, rate_limited_total, updated_at "
        f"FROM {limits} l ORDER BY api_host, endpoint"
    )
    return [RateLimitState(**row) for row in connection.execute(query).mappings()]


def _stream_state(
    instance: dg.DagsterInstance,
    stream: Stream,
    cron: str,
    now: datetime,
    table: TableFacts,
    issue_days: dg.PartitionsDefinition,
) -> StreamState:
    key = asset_key(stream.name)
    event = instance.get_latest_materialization_event(key)
    # Stale once a whole scheduled run was missed: no materialization since the second-latest tick.
    fresh_since = next(islice(cron_ticks_before(cron, now), 1, None))
    return StreamState(
        stream=stream.name,
        asset_key=key.to_user_string(),
        table_exists=table.exists,
        rows=table.rows,
        newest_updated_at=table.newest_updated_at,
        has_updated_at=_has_updated_at(stream),
        schedule_cron=cron,
        last_materialization=(
            datetime.fromtimestamp(event.timestamp, UTC) if event is not None else None
        ),
        last_run_id=event.run_id if event is not None else None,
        fresh_since=fresh_since,
        partitions=(
            _partition_state(instance, key, now, issue_days)
            if stream.group == ISSUES_GROUP
            else None
        ),
    )


def _partition_state(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    now: datetime,
    partitions: dg.PartitionsDefinition,
) -> PartitionState:
    keys = partitions.get_partition_keys(current_time=now)
    statuses = instance.get_status_by_partition(key, keys, partitions) or {}

    def having(status: dg.AssetPartitionStatus | None) -> list[str]:
        return [k for k in keys if statuses.get(k) == status]

    missing = having(None)
    today = keys[-1:]  # the partitions end with today's, which fills during the day
    return PartitionState(
        total=len(keys),
        materialized=len(having(dg.AssetPartitionStatus.MATERIALIZED)),
        in_progress=len(having(dg.AssetPartitionStatus.IN_PROGRESS)),
        missing=_day_ranges(missing),
        overdue=_day_ranges([k for k in missing if k not in today]),
        failed=_day_ranges(having(dg.AssetPartitionStatus.FAILED)),
    )


def _day_ranges(keys: Sequence[str]) -> DayRanges:
    runs = day_runs(keys, max_days=None)
    return DayRanges(len(keys), tuple((run[0], run[-1]) for run in runs))
