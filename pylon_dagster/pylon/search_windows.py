"""`IssueSearch`: issues listed by their `updated_at` (in windows, or since a date) and
`created_at`, through `POST /issues/search` pages, with Pylon's undocumented range rules allowed
for: bounds of unknown strictness and a possible cap on the span of one search."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pylon_dagster.catalog import endpoints
from pylon_dagster.pylon.errors import PylonRequestError
from pylon_dagster.pylon.pagination import Pager, Record
from pylon_dagster.pylon.stats import RequestStats
from pylon_dagster.pylon.timestamps import format_timestamp, parse_timestamp

logger = logging.getLogger(__name__)


class IssueSearch:
    """Searches issues through `pager`, `window` of `updated_at` at most per search, each bound
    widened by `overlap`; `span_cap` is the longest span Pylon takes, once known."""

    def __init__(
        self,
        pager: Pager,
        stats: RequestStats,
        *,
        window: timedelta = timedelta(days=30),
        overlap: timedelta = timedelta(seconds=1),
        span_cap: timedelta | None = None,
    ):
        if window <= 2 * overlap:
            raise ValueError("search_window must be longer than twice window_overlap")
        if span_cap is not None and span_cap <= 2 * overlap:
            raise ValueError("search_span_cap must be longer than twice window_overlap")
        self.pager = pager
        self.stats = stats
        self.window = window
        self.overlap = overlap
        self.span_cap = span_cap

    def pages_updated_between(self, start: datetime, end: datetime) -> Iterator[list[Record]]:
        """Pages of issues with `start <= updated_at < end`, one search per window of <= 30 days.

        Whether Pylon's `time_is_after`/`time_is_before` are strict is undocumented, so each search
        is widened by `overlap` on both sides and its records are cut back to the half-open window
        here: a record exactly on a boundary lands in exactly one window, never in none. Whether
        Pylon caps a search at 30 days is disputed too. A widened 30-day window is a little longer
        than 30 days, so when Pylon rejects one, the window is split to fit the cap and the cap is
        remembered for the rest of this search's life.
        """
        pending = list(split_windows(start, end, self.window))
        while pending:
            window_start, window_end = pending.pop(0)
            padded = (window_start - self.overlap, window_end + self.overlap)
            if self.span_cap and padded[1] - padded[0] > self.span_cap:
                pending[:0] = split_windows(
                    window_start, window_end, self.span_cap - 2 * self.overlap
                )
                continue
            pages = self.pager.iter_pages(
                endpoints.ISSUES_SEARCH, json_body={"filter": _updated_between_filter(*padded)}
            )
            try:
                first_page = next(pages, [])
            except PylonRequestError as exc:
                if exc.status_code != 400 or padded[1] - padded[0] <= self.window:
                    raise
                logger.warning(
                    "Pylon rejected a search window of %s (%s); searching windows of at most %s",
                    padded[1] - padded[0],
                    "; ".join(exc.errors),
                    self.window,
                )
                self.span_cap = self.window
                pending.insert(0, (window_start, window_end))
                continue
            self.stats.add(endpoints.ISSUES_SEARCH.key, search_windows=1)
            for page in itertools.chain([first_page], pages):
                yield [issue for issue in page if _in_window(issue, window_start, window_end)]

    def pages_updated_since(
        self,
        start: datetime,
        *,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        page_limit: int | None = None,
    ) -> Iterator[list[Record]]:
        """Pages of every issue with `updated_at >= start` (widened by `overlap`) and, when
        given, `created_from <= created_at < created_before` (a slice of the deletion sweep); more
        than `page_limit` pages raise `PylonPageLimitReached` (see `Pager.iter_pages`).

        One search with no upper `updated_at` bound: an issue updated while the listing pages
        along only moves later (its `updated_at` grows), so it is listed all the same, which a
        listing cut into windows cannot promise; `created_at` never moves, so a slice of it is as
        safe. The `created_at` bounds are widened by `overlap` too (their strictness is
        undocumented) and the records cut back to the half-open slice here. When Pylon caps the
        `updated_at` range of a search (it rejects the open range, or this search already met the
        cap), the search drops the `updated_at` condition: it lists the slice's older issues too,
        at one request per page all the same.
        """
        created = _created_between_subfilters(
            None if created_from is None else created_from - self.overlap,
            None if created_before is None else created_before + self.overlap,
        )
        pages: Iterator[list[Record]] | None = None
        if self.span_cap is None:
            after = {
                "field": "updated_at",
                "operator": "time_is_after",
                "value": format_timestamp(start - self.overlap),
            }
            # Shaped like the windows' filter, the one Pylon is known to take: an `and` on top.
            since = {"operator": "and", "subfilters": [*created, after]}
            searched = self.pager.iter_pages(
                endpoints.ISSUES_SEARCH, json_body={"filter": since}, page_limit=page_limit
            )
            try:
                first_page = next(searched, [])
            except PylonRequestError as exc:
                if exc.status_code != 400:
                    raise
                logger.warning(
                    "Pylon rejected an open updated_at range (%s); listing without it instead",
                    "; ".join(exc.errors),
                )
                self.span_cap = self.window
            else:
                pages = itertools.chain([first_page], searched)
        if pages is None:
            body = {"filter": {"operator": "and", "subfilters": created}} if created else None
            pages = self.pager.iter_pages(
                endpoints.ISSUES_SEARCH, json_body=body, page_limit=page_limit
            )
        for page in pages:
            yield [i for i in page if _created_in(i, created_from, created_before)]


def split_windows(
    start: datetime, end: datetime, size: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive half-open windows `[a, b)` of at most `size` covering `[start, end)`."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("window bounds must be timezone-aware datetimes")
    cursor = start
    while cursor < end:
        window_end = min(cursor + size, end)
        yield cursor, window_end
        cursor = window_end


def _updated_between_filter(after: datetime, before: datetime) -> dict[str, Any]:
    return {
        "operator": "and",
        "subfilters": [
            {"field": "updated_at", "operator": "time_is_after", "value": format_timestamp(after)},
            {
                "field": "updated_at",
                "operator": "time_is_before",
                "value": format_timestamp(before),
            },
        ],
    }


def _created_between_subfilters(
    after: datetime | None, before: datetime | None
) -> list[dict[str, Any]]:
    """The `created_at` conditions of a slice; an open (None) bound has none."""
    bounds = (("time_is_after", after), ("time_is_before", before))
    return [
        {"field": "created_at", "operator": operator, "value": format_timestamp(moment)}
        for operator, moment in bounds
        if moment is not None
    ]


def _created_in(issue: Record, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    created_at = parse_timestamp(issue.get("created_at"))
    # A record whose created_at cannot be read is kept: listed, it can only keep an issue alive.
    return created_at is None or (
        (start is None or start <= created_at) and (end is None or created_at < end)
    )


def _in_window(issue: Record, start: datetime, end: datetime) -> bool:
    updated_at = parse_timestamp(issue.get("updated_at"))
    # A record whose updated_at cannot be read is kept: Pylon matched it, we cannot place it.
    return updated_at is None or start <= updated_at < end
