"""Asset checks that read the warehouse: keys unique, no orphan children.

A check rides out a warehouse outage as the assets do: it has their retry policy, and a warehouse
it cannot reach fails its attempt with the friendly `WarehouseUnavailableError`, not the
driver's traceback.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.assets.common import PYLON_RETRY_POLICY, asset_key
from pylon_dagster.streams import STREAMS, Stream
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.engine import connect, disconnects_reported
from pylon_dagster.warehouse.sql import ident, qualified
from pylon_dagster.warehouse.tables import table_spec

ORPHAN_EXAMPLES = 5


def _rows(warehouse: PostgresWarehouse, query: sa.TextClause) -> list[Any]:
    """Every row `query` returns, on a connection of its own."""
    engine = warehouse.engine
    with disconnects_reported(engine), connect(engine) as connection:
        return list(connection.execute(query).all())


def build_unique_key_check(table: str) -> dg.AssetChecksDefinition:
    key_column = table_spec(table).key

    @dg.asset_check(
        asset=asset_key(table),
        name="primary_key_unique",
        description=f"No two rows of `{table}` share a `{key_column}`, and none is null.",
        retry_policy=PYLON_RETRY_POLICY,
    )
    def _check(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
        key = ident(key_column)
        query = sa.text(
            f"SELECT count(*) - count(DISTINCT {key}), count(*) FILTER (WHERE {key} IS NULL), "
            f"count(*) FROM {qualified(warehouse.schema_name, table)}"
        )
        ((duplicates, nulls, rows),) = _rows(warehouse, query)
        return dg.AssetCheckResult(
            passed=duplicates == 0 and nulls == 0,
            metadata={"duplicate_keys": duplicates, "null_keys": nulls, "rows": rows},
        )

    return _check


def build_orphan_check(child: Stream) -> dg.AssetChecksDefinition:
    table, parent_column, parent_table = child.name, child.parent_key, child.parent
    if parent_column is None or parent_table is None:
        raise ValueError(f"{table} has no parent stream")

    @dg.asset_check(
        asset=asset_key(table),
        name=f"belongs_to_known_{parent_table.removesuffix('s')}",
        description=f"Every row of `{table}` has a `{parent_column}` present in `{parent_table}`.",
        additional_deps=[asset_key(parent_table)],
        retry_policy=PYLON_RETRY_POLICY,
    )
    def _check(warehouse: PostgresWarehouse) -> dg.AssetCheckResult:
        parent_key, child_key = ident(table_spec(parent_table).key), ident(parent_column)
        own_key = ident(child.key)
        query = sa.text(
            f"SELECT c.{own_key}, c.{child_key} FROM {qualified(warehouse.schema_name, table)} c "
            f"WHERE NOT EXISTS (SELECT 1 FROM {qualified(warehouse.schema_name, parent_table)} p "
            f"WHERE p.{parent_key} = c.{child_key})"
        )
        orphans = _rows(warehouse, query)
        return dg.AssetCheckResult(
            passed=not orphans,
            metadata={
                "orphans": len(orphans),
                "examples": dg.MetadataValue.json(
                    [{"id": o[0], parent_column: o[1]} for o in orphans[:ORPHAN_EXAMPLES]]
                ),
            },
        )

    return _check


def build_asset_checks(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """A unique-key check on every asset's table and an orphan check on every child table."""
    tables = [key.path[-1] for a in assets for key in a.keys]
    return [
        *(build_unique_key_check(t) for t in tables),
        *(build_orphan_check(STREAMS[t]) for t in tables if t in STREAMS and STREAMS[t].parent),
    ]
