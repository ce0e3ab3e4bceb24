"""`issue_deletions`: the stored issues Pylon no longer has, marked in `issues._deleted_at`.

Pylon sends no tombstones, and a search on `updated_at` never returns a deleted issue, so a
deleted issue would stay in the warehouse, and in every count, for ever. This pass lists the id of
every live issue of one slice of the issues by `created_at` (one search, about one request per 999
issues: `PylonClient.iter_issue_pages_updated_since`), compares the listing with the stored issues
of the same slice, and marks the ones Pylon no longer has; their messages and threads are removed.
An issue marked earlier that the listing shows again is un-marked.

The cost is bounded: a scheduled pass judges the next slice of the sweep (`warehouse/
deletion_sweep.py`), sized to `SEARCH_SHARE` of an hour's search budget (`deletion_budget.py`), so
a cycle of passes judges every issue and a deletion is noticed within one cycle. A run tagged
`SWEEP_TAG: WHOLE_SWEEP` (the headless sync's) judges every issue at once and leaves the sweep
where it is. A slice moves the sweep on only once judged whole (a complete listing, every missing
issue confirmed); otherwise the next pass judges it again.

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
from pylon_dagster.assets.deletion_budget import SliceBudget
from pylon_dagster.assets.issues import ISSUES, ISSUES_STREAM
from pylon_dagster.assets.partitions import day_stretches
from pylon_dagster.catalog import endpoints
from pylon_dagster.catalog.tablespec import DELETED_AT
from pylon_dagster.pylon.client import PylonClient, Record
from pylon_dagster.pylon.errors import PylonNotFoundError, PylonPageLimitReached
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.pylon.timestamps import format_timestamp
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.deletion_sweep import advance_sweep, slice_end, sweep_position
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
SWEEP_TAG = "pylon_dagster/deletion_sweep"
WHOLE_SWEEP = "whole"
"""`SWEEP_TAG`'s value for a pass over every issue at once (the headless sync's last stage)."""


@dataclass(frozen=True)
class Slice:
    """The issues a pass judges: `created_from <= created_at < created_before` (None: open)."""

    created_from: datetime | None
    created_before: datetime | None

    @classmethod
    def to_judge(
        cls, connection: sa.Connection, schema: str, since: datetime, budget: SliceBudget | None
    ) -> "Slice":
        """The sweep's next slice, from where it stands and holding as many stored issues as
        `budget` fits; every issue when there is no budget (a whole sweep)."""
        if budget is None:
            return cls(None, None)
        start = sweep_position(connection, schema, "issues")
        end = slice_end(
            connection, schema, "issues", version_from=since, created_from=start, rows=budget.rows
        )
        return cls(start, end)

    @property
    def bounds(self) -> tuple[datetime | None, datetime | None]:
        return self.created_from, self.created_before

    def describe(self) -> str:
        return " .. ".join("open" if b is None else format_timestamp(b) for b in self.bounds)


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
    `issues` partitions (every stored issue was updated after it): the sweep's next slice of
    them, or all of them in a run tagged `WHOLE_SWEEP`."""
    whole = context.run.tags.get(SWEEP_TAG) == WHOLE_SWEEP
    budget = None
    if not whole:
        # The rate in force, as every host learned it: an organization on lower limits than the
        # configured ones gets smaller slices once Pylon said so.
        search_rate = pylon.budget().current(endpoints.ISSUES_SEARCH.key).rate
        budget = SliceBudget.of(search_rate, pylon.page_size)
    with warehouse.transaction() as tx:
        # Rows written after this (by a run going on meanwhile) are not judged by this listing.
        started = _transaction_time(tx.connection)
        part = Slice.to_judge(tx.connection, tx.schema, since, budget)
    page_limit = None if budget is None else budget.searches
    with fail_fast_on_permanent_errors(pylon), pylon.get_client() as client:
        created_from, created_before = part.bounds
        # The slice was sized from the issues the warehouse holds; Pylon may hold many more of
        # them (during a first load): the listing stops at the pass's budget, and is judged
        # incomplete then.
        try:
            listing = Listing.of(
                client.iter_issue_pages_updated_since(
                    since,
                    created_from=created_from,
                    created_before=created_before,
                    page_limit=page_limit,
                )
            )
            cut_short = False
        except PylonPageLimitReached:
            listing, cut_short = Listing(frozenset(), 0), True
        with warehouse.transaction() as tx:
            stored = live_keys(
                tx.connection,
                tx.schema,
                "issues",
                version_from=since,
                synced_before=started,
                created=part.bounds,
            )
        missing = sorted(set(stored) - listing.ids)
        if listing.unidentified or cut_short:
            confirmation = Confirmation(unchecked=len(missing))
        else:
            confirmation = confirm_gone(client, missing)
        complete = confirmation.listing_complete and not listing.unidentified and not cut_short
        with warehouse.transaction() as tx:
            back = sorted(
                set(marked_keys(tx.connection, tx.schema, "issues", started)) & listing.ids
            )
            unmarked = unmark(tx.connection, tx.schema, "issues", back, marked_before=started)
            marked = (
                mark_deleted(tx.connection, tx.schema, "issues", confirmation.gone)
                if complete
                else []
            )
            removed = remove_children_of_deleted(tx.connection, tx.schema, "issues")
            judged = complete and not confirmation.unchecked
            moved_on = (
                budget is not None
                and judged
                and advance_sweep(
                    tx.connection, tx.schema, "issues", position=created_from, to=created_before
                )
            )
            # An open issue counts up to today: the day of the marks' `_deleted_at`, which may
            # be a day after `started` if midnight passed during the listing.
            touched = days_counting(
                tx.connection,
                warehouse.schema_name,
                [*marked, *unmarked],
                first=since.date(),
                last=_transaction_time(tx.connection).astimezone(UTC).date(),
            )
    if cut_short:
        context.log.warning(
            f"Slice {part.describe()}: Pylon has more of its issues than {page_limit} search "
            "requests list (the warehouse holds fewer of them, e.g. during a first load): "
            "nothing was judged. The sweep stays on this slice, which shrinks as the sync stores "
            "its issues."
        )
    elif not complete:
        context.log.warning(
            f"The listing of live issues was incomplete ({listing.unidentified} records without "
            f"an id; issues missing from it but still in Pylon: {confirmation.alive[:5]}): "
            "no issue was marked deleted. The next pass tries again."
        )
    context.log.info(
        f"Slice {part.describe()}: {len(listing.ids)} live issues listed, {len(missing)} stored "
        "ones missing: "
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
            "listing_cut_short": cut_short,
            "listing_since": format_timestamp(since),
            "slice": part.describe(),
            "slice_search_budget": budget.searches if budget else None,
            "sweep_moved_on": moved_on,
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
            "of every live issue updated since the start date in the next slice of the sweep "
            "(by `created_at`; a slice fits a small share of an hour's search budget, so a "
            "cycle of passes covers every issue), confirms each missing one with "
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
