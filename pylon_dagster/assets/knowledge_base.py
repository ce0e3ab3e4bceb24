"""Articles and collections of every knowledge base, fetched per knowledge base."""

from collections.abc import Iterator, Sequence

import dagster as dg

from pylon_dagster.assets.common import (
    PYLON_POOL,
    PYLON_RETRY_POLICY,
    child_table_spec,
    fail_fast_on_permanent_errors,
    materialization_metadata,
    selected_keys,
)
from pylon_dagster.catalog.streams import Stream, children_of
from pylon_dagster.pylon.client import PylonClient
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.warehouse import ChildBatch, PostgresWarehouse
from pylon_dagster.warehouse.bookkeeping import known_parent_ids, stored_parent_ids

KB_STREAMS = children_of("knowledge_bases")


def _kb_batches(
    client: PylonClient, child: Stream, current: list[str], vanished: list[str]
) -> Iterator[ChildBatch]:
    for kb_id in current:
        records = list(client.iter_records(child.endpoint, path_params={"id": kb_id}))
        client.progress.advanced(child.name, records=len(records), fetches=1)
        yield ChildBatch(parent_id=kb_id, records=records)
    # A knowledge base deleted upstream takes its articles and collections with it.
    for kb_id in vanished:
        yield ChildBatch(parent_id=kb_id, records=[])


def knowledge_base_contents(
    context: dg.AssetExecutionContext, pylon: PylonResource, warehouse: PostgresWarehouse
) -> Iterator[dg.MaterializeResult]:
    selected = selected_keys(context)
    for child in KB_STREAMS:
        if child.name not in selected:
            continue
        with (
            fail_fast_on_permanent_errors(pylon),
            pylon.get_client() as client,
            warehouse.transaction() as tx,
        ):
            current = known_parent_ids(tx.connection, tx.schema, "knowledge_bases")
            vanished = sorted(
                set(stored_parent_ids(tx.connection, tx.schema, child.name)) - set(current)
            )
            client.progress.planned(child.name, len(current))
            load = tx.load(child.name, _kb_batches(client, child, current, vanished))
        yield dg.MaterializeResult(
            asset_key=selected[child.name],
            metadata=materialization_metadata(load, client.stats, knowledge_bases=len(current)),
        )


def build_knowledge_base_contents(children: Sequence[Stream]) -> dg.AssetsDefinition:
    """The `children` of `knowledge_bases` synced (`KB_STREAMS`, or those of them an instance
    includes), fetched per knowledge base."""
    return dg.multi_asset(
        name="knowledge_base_contents",
        specs=[child_table_spec(child) for child in children],
        can_subset=True,
        pool=PYLON_POOL,
        retry_policy=PYLON_RETRY_POLICY,
    )(knowledge_base_contents)
