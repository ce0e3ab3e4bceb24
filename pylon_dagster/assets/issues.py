"""`issues`: incremental on `updated_at` through `POST /issues/search`, one daily partition per day."""

import dagster as dg

from pylon_dagster.assets.common import (
    PYLON_POOL,
    PYLON_RETRY_POLICY,
    PreviewTap,
    asset_key,
    fail_fast_on_permanent_errors,
    materialization_metadata,
    reported,
)
from pylon_dagster.assets.partitions import ISSUE_BACKFILL_POLICY, issue_partitions
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.pylon.timestamps import format_timestamp
from pylon_dagster.streams import stream
from pylon_dagster.warehouse import PostgresWarehouse

ISSUES_STREAM = stream("issues")
ISSUES = asset_key(ISSUES_STREAM.name)


@dg.asset(
    key=ISSUES,
    group_name=ISSUES_STREAM.group,
    description=ISSUES_STREAM.description,
    partitions_def=issue_partitions(),
    backfill_policy=ISSUE_BACKFILL_POLICY,
    pool=PYLON_POOL,
    retry_policy=PYLON_RETRY_POLICY,
)
def issues(
    context: dg.AssetExecutionContext, pylon: PylonResource, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    window = context.partition_time_window
    warehouse.ensure_tables()
    preview = PreviewTap()
    with fail_fast_on_permanent_errors(pylon), pylon.get_client() as client:
        pages = client.iter_issue_pages_updated_between(window.start, window.end)
        with warehouse.transaction() as tx:
            load = tx.load("issues", preview(reported(pages, "issues", pylon.progress)))
    context.log.info(
        f"issues updated in [{window.start:%Y-%m-%d}, {window.end:%Y-%m-%d}): {load.received} "
        f"received, {load.inserted} new, {load.updated} updated, {load.unchanged} unchanged"
    )
    return dg.MaterializeResult(
        metadata=materialization_metadata(
            load,
            client.stats,
            preview=preview.rows,
            preview_columns=ISSUES_STREAM.preview_columns,
            window_start=format_timestamp(window.start),
            window_end=format_timestamp(window.end),
        )
    )
