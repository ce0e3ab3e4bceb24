"""`issue_deletions`: the stored issues Pylon no longer has, marked in `issues._deleted_at`.

Pylon sends no tombstones, and a search on `updated_at` never returns a deleted issue, so a
deleted issue would stay in the warehouse, and in every count, for ever. This pass lists the id of
every live issue (one search, about one request per 999 issues: `PylonClient.
iter_issue_pages_updated_since`), compares the listing with the stored issues of the same range,
and marks the ones Pylon no longer has; their messages and threads are removed. An issue marked
earlier that the listing shows again is un-marked.

Only an absence that is certain is marked:
- the listing must be whole: a failed request fails the pass before anything is written, and a
  record without an id means the pass marks nothing;
- each missing issue is confirmed with `GET /issues/{id}`, and only a 404 marks it. One that
  answers proves the listing incomplete (a truncated or empty answer): the pass then marks
  nothing at all and says so. So an empty listing costs a request or two, never the warehouse.
- at most `MAX_CONFIRMATIONS` issues are confirmed per pass; the rest wait for the next one.

The days whose support metrics count an issue marked or un-marked (its created, responded,
resolved and reopened days, and the days it was open at the end of) are recorded in the
materialization's `METRIC_DAYS`: the sync and the `pylon_metrics_follow_deletions` sensor
recompute those days, and only those.
"""

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.analytics.daily import days_counting
from pylon_dagster.assets.common import (
    KINDS,
    OWNERS,
    PYLON_POOL,
    PYLON_RETRY_POLICY,
    asset_key,
    fail_fast_on_permanent_errors,
)
from pylon_dagster.assets.issues import ISSUES, ISSUES_STREAM
from pylon_dagster.assets.partitions import day_stretches
from pylon_dagster.pylon import endpoints
from pylon_dagster.pylon.client import PylonClient, Record
from pylon_dagster.pylon.errors import PylonNotFoundError
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.pylon.timestamps import format_timestamp
from pylon_dagster.tablespec import DELETED_AT
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.deletions import (
    live_keys,
    mark_deleted,
    marked_keys,
    remove_children_of_deleted,
    unmark,
)

ISSUE_DELETIONS = asset_key("issue_deletions")
MAX_CONFIRMATIONS = 1000
CONFIRM_WORKERS = 4
METRIC_DAYS = "metric_days"
"""Metadata: the (first, last) stretches of days whose metrics count the issues the pass marked
or un-marked."""


@dataclass(frozen=True)
class Listing:
    """The ids of the issues a search listed, and how many records came without a usable id."""

    ids: frozenset[str]
    unidentified: int

    @classmethod
    def of(cls, pages: Iterable[Sequence[Record]]) -> "Listing":
        ids: set[str] = set()
        unidentified = 0
        for page in pages:
            for issue in page:
                issue_id = issue.get("id")
                if isinstance(issue_id, str) and issue_id:
                    ids.add(issue_id)
                else:
                    unidentified += 1
        return cls(frozenset(ids), unidentified)


@dataclass
class Confirmation:
    """What `GET /issues/{id}` said of the issues missing from the listing."""

    gone: list[str] = field(default_factory=list)
    alive: list[str] = field(default_factory=list)
    unchecked: int = 0
    """Missing issues not asked about: past `MAX_CONFIRMATIONS`, or after one answered."""

    @property
    def listing_complete(self) -> bool:
        return not self.alive


def confirm_gone(
    client: PylonClient, missing: Sequence[str], limit: int = MAX_CONFIRMATIONS
) -> Confirmation:
    """Ask Pylon for the first `limit` missing issues, `CONFIRM_WORKERS` at a time; stop after the
    batch in which one answers (then the listing was incomplete, and asking on is wasted).

    A 404 confirms an issue gone. Any other failure propagates (nothing is marked then).
    """
    asked = list(missing[:limit])
    confirmation = Confirmation(unchecked=len(missing) - len(asked))

    def exists(issue_id: str) -> bool:
        try:
            client.request(endpoints.ISSUE, path_params={"id": issue_id})
        except PylonNotFoundError:
            return False
        return True

    with ThreadPoolExecutor(CONFIRM_WORKERS) as pool:
        for start in range(0, len(asked), CONFIRM_WORKERS):
            batch = asked[start : start + CONFIRM_WORKERS]
            for issue_id, found in zip(batch, pool.map(exists, batch), strict=True):
                (confirmation.alive if found else confirmation.gone).append(issue_id)
            if confirmation.alive:
                confirmation.unchecked += len(asked) - start - len(batch)
                break
    return confirmation


def _transaction_time(connection: sa.Connection) -> datetime:
    """Postgres's `now()`: when the connection's transaction began, the time it stamps."""
    return connection.execute(sa.text("SELECT now()")).scalar_one()


def issue_deletions(
    context: dg.AssetExecutionContext,
    pylon: PylonResource,
    warehouse: PostgresWarehouse,
    since: datetime,
) -> dg.MaterializeResult:
    """The deletion pass over the issues updated since `since`, the first instant of the
    `issues` partitions (every stored issue was updated after it)."""
    # Rows written after this (by a run going on meanwhile) are not judged by this listing.
    with warehouse.transaction() as tx:
        started = _transaction_time(tx.connection)
    with fail_fast_on_permanent_errors(pylon), pylon.get_client() as client:
        listing = Listing.of(client.iter_issue_pages_updated_since(since))
        with warehouse.transaction() as tx:
            stored = live_keys(tx.connection, "issues", version_from=since, synced_before=started)
        missing = sorted(set(stored) - listing.ids)
        if listing.unidentified:
            confirmation = Confirmation(unchecked=len(missing))
        else:
            confirmation = confirm_gone(client, missing)
        complete = confirmation.listing_complete and not listing.unidentified
        with warehouse.transaction() as tx:
            back = sorted(set(marked_keys(tx.connection, "issues", started)) & listing.ids)
            unmarked = unmark(tx.connection, "issues", back, marked_before=started)
            marked = mark_deleted(tx.connection, "issues", confirmation.gone) if complete else []
            removed = remove_children_of_deleted(tx.connection, "issues")
            # An open issue counts up to today: the day of the marks' `_deleted_at`, which may
            # be a day after `started` if midnight passed during the listing.
            touched = days_counting(
                tx.connection,
                warehouse.schema_name,
                [*marked, *unmarked],
                first=since.date(),
                last=_transaction_time(tx.connection).astimezone(UTC).date(),
            )
    if not complete:
        context.log.warning(
            f"The listing of live issues was incomplete ({listing.unidentified} records without "
            f"an id; issues missing from it but still in Pylon: {confirmation.alive[:5]}): "
            "no issue was marked deleted. The next pass tries again."
        )
    context.log.info(
        f"{len(listing.ids)} live issues listed, {len(missing)} stored ones missing: "
        f"{len(marked)} marked deleted, {len(unmarked)} un-marked; the metrics of "
        f"{len(touched)} days count them"
    )
    return dg.MaterializeResult(
        metadata={
            "issues_listed": len(listing.ids),
            "issues_stored_live": len(stored),
            "issues_missing": len(missing),
            "issues_marked_deleted": len(marked),
            "issues_unmarked": len(unmarked),
            "issues_confirmed_alive": len(confirmation.alive),
            "issues_unchecked": confirmation.unchecked,
            "listing_complete": complete,
            "listing_since": format_timestamp(since),
            "marked_examples": dg.MetadataValue.json(marked[:10]),
            METRIC_DAYS: dg.MetadataValue.json(day_stretches(d.isoformat() for d in touched)),
            **{f"rows_deleted_{table}": count for table, count in removed.items()},
            **client.stats.as_metadata(),
        }
    )


def build_issue_deletions(start_date: date) -> dg.AssetsDefinition:
    """The deletion pass over the issues of the partitions starting at `start_date`."""
    since = datetime.combine(start_date, time(), UTC)

    @dg.asset(
        key=ISSUE_DELETIONS,
        deps=[ISSUES],
        group_name=ISSUES_STREAM.group,
        description=(
            "Marks the stored issues Pylon no longer has (it sends no tombstones): lists the id "
            "of every live issue updated since the start date, confirms each missing one with "
            f"`GET /issues/{{id}}`, sets `issues.{DELETED_AT}` and removes its messages and "
            "threads. A listing proven incomplete marks nothing; an issue listed again is "
            "un-marked."
        ),
        kinds=KINDS,
        owners=OWNERS,
        pool=PYLON_POOL,
        retry_policy=PYLON_RETRY_POLICY,
    )
    def deletion_pass(
        context: dg.AssetExecutionContext, pylon: PylonResource, warehouse: PostgresWarehouse
    ) -> dg.MaterializeResult:
        return issue_deletions(context, pylon, warehouse, since)

    return deletion_pass
