"""`issue_messages` and `issue_threads`: fetched per issue, and only for issues that changed.

An issue whose children answer 404 is gone from Pylon: its children are removed and the issue is
marked deleted (`issues._deleted_at`), as the deletion pass (`issue_deletions.py`) would.

The seed connector re-reads every child of every issue in the sync. Here the warehouse remembers,
per child stream, the `updated_at` each issue had when its children were last fetched; a partition
run fetches children only for issues whose `updated_at` has moved since. Messages and threads have
separate rate budgets, so the two streams are fetched at the same time.
"""

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg

from pylon_dagster.assets.common import (
    PYLON_POOL,
    PYLON_RETRY_POLICY,
    child_table_spec,
    fail_fast_on_permanent_errors,
    materialization_metadata,
    selected_keys,
)
from pylon_dagster.assets.partitions import ISSUE_BACKFILL_POLICY
from pylon_dagster.catalog.streams import Stream, children_of, stream
from pylon_dagster.pylon.client import PylonClient
from pylon_dagster.pylon.errors import PylonNotFoundError
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.warehouse import ChildBatch, PostgresWarehouse
from pylon_dagster.warehouse.bookkeeping import changed_parents, forget_fetched, mark_fetched
from pylon_dagster.warehouse.deletions import mark_deleted, remove_children_of_deleted

CHILD_STREAMS = children_of("issues")
# `AutomationCondition.eager()` only considers the latest time partition of a partitioned asset, so
# after a 60-day backfill of `issues` it would request the children of today alone. The children
# need every partition whose `issues` updated, so the latest-window restriction is taken out; the
# rest of `eager()` stays (not while `issues` is missing or in progress, not twice for one update,
# and not when a run already materialized the children together with `issues`).
CHILD_CONDITION = (
    dg.AutomationCondition.eager()
    .without(dg.AutomationCondition.in_latest_time_window())
    .with_label("eager (every partition)")
)
FETCH_WORKERS_PER_STREAM = 4


@dataclass
class _ChildFetch:
    """The issues of one stream still to fetch, and what the fetch found (from several threads)."""

    stream: str
    issues: list[tuple[str, datetime]]
    not_found: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note_not_found(self, issue_id: str) -> None:
        with self._lock:
            self.not_found.add(issue_id)

    @property
    def found(self) -> list[tuple[str, datetime]]:
        return [
            (issue_id, version)
            for issue_id, version in self.issues
            if issue_id not in self.not_found
        ]


def _fetch_children(client: PylonClient, fetch: _ChildFetch) -> Iterator[ChildBatch]:
    endpoint = stream(fetch.stream).endpoint

    def fetch_one(issue_id: str) -> ChildBatch:
        try:
            records = list(client.iter_records(endpoint, path_params={"id": issue_id}))
        except PylonNotFoundError:
            # Deleted between the search and now: it has no children any more.
            fetch.note_not_found(issue_id)
            records = []
        client.progress.advanced(fetch.stream, records=len(records), fetches=1)
        return ChildBatch(parent_id=issue_id, records=records)

    with ThreadPoolExecutor(FETCH_WORKERS_PER_STREAM) as pool:
        try:
            yield from pool.map(fetch_one, [issue_id for issue_id, _ in fetch.issues])
        finally:
            pool.shutdown(cancel_futures=True)


def _sync_stream(
    stream: str,
    key: dg.AssetKey,
    pylon: PylonResource,
    warehouse: PostgresWarehouse,
    window: dg.TimeWindow,
) -> dg.MaterializeResult:
    with (
        fail_fast_on_permanent_errors(),
        pylon.get_client() as client,
        warehouse.transaction() as tx,
    ):
        fetch = _ChildFetch(
            stream,
            changed_parents(tx.connection, tx.schema, stream, "issues", window.start, window.end),
        )
        client.progress.planned(stream, len(fetch.issues))
        load = tx.load(stream, _fetch_children(client, fetch))
        mark_fetched(tx.connection, tx.schema, stream, fetch.found)
        # Gone from Pylon: marked deleted, and fetched again should it come back.
        forget_fetched(tx.connection, tx.schema, stream, fetch.not_found)
        marked = mark_deleted(tx.connection, tx.schema, "issues", fetch.not_found)
        # Also the issues the other child stream marked before this run listed its parents: they
        # were not asked for again, so their rows here would otherwise stay.
        remove_children_of_deleted(tx.connection, tx.schema, "issues", only=[stream])
    return dg.MaterializeResult(
        asset_key=key,
        metadata=materialization_metadata(
            load,
            client.stats,
            issues_fetched=len(fetch.issues),
            issues_not_found=len(fetch.not_found),
            issues_marked_deleted=len(marked),
        ),
    )


def issue_children(
    context: dg.AssetExecutionContext, pylon: PylonResource, warehouse: PostgresWarehouse
) -> Iterator[dg.MaterializeResult]:
    window = context.partition_time_window
    selected = selected_keys(context)
    streams = [s.name for s in CHILD_STREAMS if s.name in selected]
    for name in streams:  # fetched together: no time left until every one has counted its work
        pylon.progress.planned(name, None)
    with ThreadPoolExecutor(len(streams)) as pool:
        futures = [
            pool.submit(_sync_stream, s, selected[s], pylon, warehouse, window) for s in streams
        ]
        # Stopped: the other stream's thread stops at its next request instead of fetching every
        # child first, and its transaction rolls back.
        with fail_fast_on_permanent_errors(pylon):
            for future in futures:
                yield future.result()


def build_issue_children(
    partitions: dg.PartitionsDefinition, children: Sequence[Stream]
) -> dg.AssetsDefinition:
    """The `children` of `issues` synced (`issue_messages`, `issue_threads`: `CHILD_STREAMS`,
    or those of them an instance includes) on the same daily partitions as `issues`."""
    return dg.multi_asset(
        name="issue_children",
        specs=[
            child_table_spec(child, partitions_def=partitions, automation_condition=CHILD_CONDITION)
            for child in children
        ],
        partitions_def=partitions,
        backfill_policy=ISSUE_BACKFILL_POLICY,
        can_subset=True,
        pool=PYLON_POOL,
        retry_policy=PYLON_RETRY_POLICY,
    )(issue_children)
