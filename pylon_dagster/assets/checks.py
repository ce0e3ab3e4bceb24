"""Asset checks that read the warehouse: keys unique, no orphan children.

Their work is proportional to the run, not to the warehouse. In a run of partitions (`issues` and
its children, a range of days) a check reads only what those days wrote: the issues updated in
them, the children of the issues fetched for them. Run without partitions (a reference stream's
run, or the checks on their own: the `pylon_warehouse_checks` schedule) a check reads the whole
table. A key backed by the table's primary key needs no scan: Postgres already refuses a duplicate
or a null.

A check rides out a warehouse outage as the assets do: it has their retry policy, and a warehouse
it cannot reach fails its attempt with the friendly `WarehouseUnavailableError`, not the
driver's traceback.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.assets.common import PYLON_RETRY_POLICY, asset_key
from pylon_dagster.catalog.streams import STREAMS, Stream
from pylon_dagster.catalog.tables import table_spec
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.bookkeeping import FETCH_STATE_TABLE
from pylon_dagster.warehouse.engine import connect, disconnects_reported
from pylon_dagster.warehouse.sql import ident, qualified

ORPHAN_EXAMPLES = 5


def _rows(
    warehouse: PostgresWarehouse, query: sa.TextClause, params: Mapping[str, Any] | None = None
) -> list[Any]:
    """Every row `query` returns, on a connection of its own."""
    engine = warehouse.engine
    with disconnects_reported(engine), connect(engine) as connection:
        return list(connection.execute(query, dict(params or {})).all())


def run_window(
    context: dg.AssetCheckExecutionContext, days: dg.TimeWindowPartitionsDefinition | None
) -> dg.TimeWindow | None:
    """The days (partitions `days` of the checked asset) the check's run covers, or None for a run
    without partitions (whole tables). Read from the run's partition keys: a run of checks alone
    has no partitions definition of its own to ask."""
    if days is None or not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = context.partition_key_range
    return dg.TimeWindow(
        days.time_window_for_partition_key(keys.start).start,
        days.time_window_for_partition_key(keys.end).end,
    )


def _scope(window: dg.TimeWindow | None) -> dict[str, Any]:
    """The check's metadata about what it read."""
    if window is None:
        return {"scope": "whole table"}
    return {"scope": "run's days", "from": window.start.isoformat(), "to": window.end.isoformat()}


def _window_params(window: dg.TimeWindow) -> dict[str, Any]:
    return {"start": window.start, "end": window.end}


def _primary_key_index(warehouse: PostgresWarehouse, table: str, key: str) -> str | None:
    """The name of `table`'s primary key if it is `key` alone: then no two rows share a `key` and
    none is null, whatever the rows."""
    query = sa.text(
        "SELECT i.indexrelid::regclass::text FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = to_regclass(:table) AND i.indisprimary AND i.indisvalid "
        "AND i.indnkeyatts = 1 AND a.attname = :key"
    )
    found = _rows(warehouse, query, {"table": qualified(warehouse.schema_name, table), "key": key})
    return found[0][0] if found else None


def build_unique_key_check(
    table: str, days: dg.TimeWindowPartitionsDefinition | None
) -> dg.AssetChecksDefinition:
    """The check of `table`'s key; `days`: the table's asset's daily partitions, if it has any."""
    spec = table_spec(table)
    key_column = spec.key
    # A daily partition's rows are those whose partition column falls in its day.
    day = spec.partition_column if spec.partition_column != spec.parent_key else None
    in_days = None if day is None else f"{ident(day)} >= :start AND {ident(day)} < :end"

    @dg.asset_check(
        asset=asset_key(table),
        name="primary_key_unique",
        description=f"No two rows of `{table}` share a `{key_column}`, and none is null.",
        retry_policy=PYLON_RETRY_POLICY,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
    ) -> dg.AssetCheckResult:
        constraint = _primary_key_index(warehouse, table, key_column)
        if constraint is not None:
            return dg.AssetCheckResult(
                passed=True,
                metadata={"duplicate_keys": 0, "null_keys": 0, "enforced_by": constraint},
            )
        window = None
        key = ident(key_column)
        source = qualified(warehouse.schema_name, table)
        if in_days is not None and (window := run_window(context, days)) is not None:
            source += f" WHERE {in_days}"
        query = sa.text(
            f"SELECT count(*) - count(DISTINCT {key}), count(*) FILTER (WHERE {key} IS NULL), "
            f"count(*) FROM {source}"
        )
        params = {} if window is None else _window_params(window)
        ((duplicates, nulls, rows),) = _rows(warehouse, query, params)
        return dg.AssetCheckResult(
            passed=duplicates == 0 and nulls == 0,
            metadata={
                "duplicate_keys": duplicates,
                "null_keys": nulls,
                "rows": rows,
                **_scope(window),
            },
        )

    return _check


def build_orphan_check(
    child: Stream, days: dg.TimeWindowPartitionsDefinition | None
) -> dg.AssetChecksDefinition:
    """The check of `child`'s parent key; `days`: the child's asset's daily partitions, if any."""
    table, parent_column, parent_table = child.name, child.parent_key, child.parent
    if parent_column is None or parent_table is None:
        raise ValueError(f"{table} has no parent stream")
    # The children a partition run writes are those of the parents it fetches: the parents whose
    # version falls in its days, recorded with that version in the fetch state.
    by_days = table_spec(parent_table).partition_column is not None

    @dg.asset_check(
        asset=asset_key(table),
        name=f"belongs_to_known_{parent_table.removesuffix('s')}",
        description=f"Every row of `{table}` has a `{parent_column}` present in `{parent_table}`.",
        additional_deps=[asset_key(parent_table)],
        retry_policy=PYLON_RETRY_POLICY,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
    ) -> dg.AssetCheckResult:
        schema = warehouse.schema_name
        parent_key, child_key = ident(table_spec(parent_table).key), ident(parent_column)
        window = run_window(context, days) if by_days else None
        children = f"{qualified(schema, table)} c"
        if window is not None:
            children = (
                f"{qualified(schema, FETCH_STATE_TABLE)} f JOIN {children} "
                f"ON c.{child_key} = f.parent_id AND f.stream = :stream "
                "AND f.parent_version >= :start AND f.parent_version < :end"
            )
        query = sa.text(
            f"SELECT c.{ident(child.key)}, c.{child_key} FROM {children} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {qualified(schema, parent_table)} p "
            f"WHERE p.{parent_key} = c.{child_key})"
        )
        params = {} if window is None else {"stream": table, **_window_params(window)}
        orphans = _rows(warehouse, query, params)
        return dg.AssetCheckResult(
            passed=not orphans,
            metadata={
                "orphans": len(orphans),
                "examples": dg.MetadataValue.json(
                    [{"id": o[0], parent_column: o[1]} for o in orphans[:ORPHAN_EXAMPLES]]
                ),
                **_scope(window),
            },
        )

    return _check


def build_asset_checks(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """A unique-key check on every asset's table and an orphan check on every child table."""
    days = {
        key.path[-1]: a.partitions_def
        if isinstance(a.partitions_def, dg.TimeWindowPartitionsDefinition)
        else None
        for a in assets
        for key in a.keys
    }
    return [
        *(build_unique_key_check(t, days[t]) for t in days),
        *(
            build_orphan_check(STREAMS[t], days[t])
            for t in days
            if t in STREAMS and STREAMS[t].parent
        ),
    ]
