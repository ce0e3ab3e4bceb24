"""`issues`: incremental on `updated_at` through `POST /issues/search`, one daily partition per day.

Declared as a one-spec multi-asset, like its children: that is where Dagster takes a backfill
policy as a stable parameter (on `@asset` it is still marked beta and warns at every load). The
partitions start at a setting, so the asset is built by a factory, `build_issues`.
"""

from datetime import timedelta

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
from pylon_dagster.assets.partitions import ISSUE_BACKFILL_POLICY
from pylon_dagster.catalog.streams import stream
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.pylon.timestamps import format_timestamp
from pylon_dagster.warehouse import PostgresWarehouse

ISSUES_STREAM = stream("issues")
ISSUES = asset_key(ISSUES_STREAM.name)
ISSUES_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 3 * * *", lower_bound_delta=timedelta(hours=24), timezone="UTC"
)
"""Materialized at least once in the 24 hours before 03:00 UTC every day (the daily run is at
00:15); the daemon evaluates it, and the asset's page shows it."""


def issues(
    context: dg.AssetExecutionContext, pylon: PylonResource, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    window = context.partition_time_window
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


def build_issues(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`issues` on the code location's daily partitions."""
    return dg.multi_asset(
        name=ISSUES.to_python_identifier(),  # the op `@asset` made: step key `pylon__issues`
        specs=[
            dg.AssetSpec(
                ISSUES,
                group_name=ISSUES_STREAM.group,
                description=ISSUES_STREAM.description,
                partitions_def=partitions,
                freshness_policy=ISSUES_FRESHNESS,
            )
        ],
        partitions_def=partitions,
        backfill_policy=ISSUE_BACKFILL_POLICY,
        pool=PYLON_POOL,
        retry_policy=PYLON_RETRY_POLICY,
    )(issues)
