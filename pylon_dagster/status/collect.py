"""Gather `pylon-dagster status`: the warehouse's tables and rate budget, Dagster's event log.

Pylon is never called, and no warehouse table is created or written. The Dagster instance is the
one the headless sync writes to (`DAGSTER_HOME`, by default in the state folder), set up the same
way (`instance.dagster_home`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import NamedTuple

import dagster as dg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pylon_dagster.assets.common import asset_key
from pylon_dagster.assets.partitions import day_runs, issue_partitions
from pylon_dagster.catalog.streams import ISSUES_GROUP, STREAMS, Stream
from pylon_dagster.dagster_adapter import cron_ticks_before
from pylon_dagster.instance import dagster_home
from pylon_dagster.pylon.budget_postgres import LIMITS_TABLE, REJECTIONS_TABLE
from pylon_dagster.settings import Settings
from pylon_dagster.status.report import (
    DayRanges,
    PartitionState,
    RateLimitState,
    StatusReport,
    StreamState,
)
from pylon_dagster.status.sizes import estimated_rows
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.bookkeeping import FETCH_STATE_TABLE, children_lost
from pylon_dagster.warehouse.engine import (
    Waits,
    bounded_waits,
    connect,
    database_error,
    describe,
    waiting_for,
)
from pylon_dagster.warehouse.sql import ident, qualified

RATE_LIMITED_PERIOD = "1 day"


CHILDREN_EXAMINED = 20_000
"""Parents whose children `status` looks for, per child stream: a fraction of a second."""

STATUS_WAITS = Waits(lock_seconds=2, statement_seconds=10)
"""A health check answers in seconds: a table locked by another session ends it (exit 2)."""


class StatusUnreadable(RuntimeError):
    """A table `status` reads is not as the project made it (other columns, no privilege)."""


class TableFacts(NamedTuple):
    exists: bool
    rows: int
    rows_estimated: bool
    newest_updated_at: datetime | None
    children_missing: int | None


def collect_status(settings: Settings, now: datetime | None = None) -> StatusReport:
    """Everything `status` shows. Raises `WarehouseUnavailableError` when the warehouse cannot be
    reached or a table stays locked (`STATUS_WAITS`), `StatusUnreadable` when a table cannot be
    read."""
    now = now or datetime.now(UTC)
    issue_days = issue_partitions(settings.start_date)
    warehouse = PostgresWarehouse.from_settings(settings)
    schema = warehouse.schema_name
    with (
        connect(warehouse.engine) as connection,
        bounded_waits(connection, STATUS_WAITS, f"the warehouse schema {schema}"),
    ):
        tables = _existing_tables(connection, schema)
        estimates = estimated_rows(connection, schema)
        facts = {
            s.name: _table_facts(connection, schema, s, tables, estimates.get(s.name))
            for s in STREAMS.values()
        }
        with _reading(qualified(schema, LIMITS_TABLE)):
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


@contextmanager
def _reading(table: str) -> Iterator[None]:
    """A wait for `table` that runs out, or a table that cannot be read, is one line."""
    try:
        with waiting_for(f"the table {table}", STATUS_WAITS):
            yield
    except sa_exc.DBAPIError as err:
        if err.connection_invalidated:
            raise
        raise StatusUnreadable(
            f"Cannot read the table {table} ({database_error(err)}): it is not as pylon-dagster "
            "made it, or the warehouse role may not read it. Check its columns and privileges; "
            "a sync recreates a dropped table."
        ) from None


def _table_facts(
    connection: sa.Connection, schema: str, stream: Stream, tables: set[str], estimate: int | None
) -> TableFacts:
    """`estimate`: the table's estimated rows (see `estimated_rows`), or None to count them."""
    if stream.name not in tables:
        return TableFacts(
            exists=False,
            rows=0,
            rows_estimated=False,
            newest_updated_at=None,
            children_missing=None,
        )
    table = qualified(schema, stream.name)
    rows = f"(SELECT count(*) FROM {table})" if estimate is None else "NULL::bigint"
    newest = (
        f"(SELECT max({ident('updated_at')}) FROM {table})"
        if _has_updated_at(stream)
        else "NULL::timestamptz"
    )
    query = sa.text(f"SELECT {rows}, {newest}")
    with _reading(table):
        counted, newest_updated_at = connection.execute(query).one()
        missing = (
            _children_missing(connection, schema, stream)
            if stream.parent is not None and FETCH_STATE_TABLE in tables
            else None
        )
    return TableFacts(
        exists=True,
        rows=counted if estimate is None else estimate,
        rows_estimated=estimate is not None,
        newest_updated_at=newest_updated_at,
        children_missing=missing,
    )


def _children_missing(connection: sa.Connection, schema: str, stream: Stream) -> int:
    """Parents whose fetch state says `stream`'s children were stored, with none left, among the
    first `CHILDREN_EXAMINED` such parents (by key): a probe of the child table each, so a large
    warehouse is sampled, which still finds a table emptied or restored from an old backup."""
    query = sa.text(
        f"SELECT count(*) FROM (SELECT f.parent_id, f.children "
        f"FROM {qualified(schema, FETCH_STATE_TABLE)} AS f "
        "WHERE f.stream = :stream AND f.children > 0 ORDER BY f.stream, f.parent_id "
        f"LIMIT :examined) AS f WHERE {children_lost(schema, stream.name, 'f')}"
    )
    return connection.execute(
        query, {"stream": stream.name, "examined": CHILDREN_EXAMINED}
    ).scalar_one()


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
        children_missing=table.children_missing,
        rows=table.rows,
        rows_estimated=table.rows_estimated,
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
