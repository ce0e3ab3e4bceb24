"""Full-refresh streams (accounts, contacts, users, ...): one asset per stream, replaced each run.

Pylon offers no time filter on these, so each run reads the whole list and the table ends up holding
exactly the latest snapshot.
"""

import itertools

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
from pylon_dagster.catalog.streams import Stream
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.warehouse import PostgresWarehouse


def build_reference_asset(stream: Stream) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(stream.name),
        group_name=stream.group,
        description=f"{stream.description} Full refresh from `{stream.endpoint.key}`.",
        pool=PYLON_POOL,
        retry_policy=PYLON_RETRY_POLICY,
    )
    def _reference_asset(
        pylon: PylonResource, warehouse: PostgresWarehouse
    ) -> dg.MaterializeResult:
        preview = PreviewTap()
        with (
            fail_fast_on_permanent_errors(pylon),
            pylon.get_client() as client,
            warehouse.transaction() as tx,
        ):
            pages = itertools.chain.from_iterable(
                client.iter_pages(stream.endpoint, params=query) for query in stream.queries
            )
            load = tx.load(stream.name, preview(reported(pages, stream.name, pylon.progress)))
        return dg.MaterializeResult(
            metadata=materialization_metadata(
                load, client.stats, preview=preview.rows, preview_columns=stream.preview_columns
            )
        )

    return _reference_asset
