"""Issue searches by `updated_at` windows over the pager and the plain client, answered in-process
by a search that treats time bounds as strict and may cap the span of one search."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pylon_dagster.pylon.errors import PylonRequestError
from pylon_dagster.pylon.http_client import PylonHttpClient
from pylon_dagster.pylon.pagination import Pager
from pylon_dagster.pylon.search_windows import IssueSearch, split_windows
from pylon_dagster.pylon.stats import RequestStats
from pylon_dagster.pylon.timestamps import format_timestamp, parse_timestamp

START = datetime(2026, 1, 1, tzinfo=UTC)
ISSUES = [
    {"id": "at-start", "updated_at": "2026-01-01T00:00:00Z"},
    {"id": "on-a-boundary", "updated_at": "2026-01-31T00:00:00Z"},
    {"id": "unreadable", "updated_at": "yesterday"},
    {"id": "last", "updated_at": "2026-03-10T23:59:59Z"},
    {"id": "at-end", "updated_at": "2026-03-11T00:00:00Z"},
]


class Search:
    """`POST /issues/search` over `ISSUES`: strict bounds, two records a page, and, given a
    `cap`, a 400 for any search spanning more than it."""

    def __init__(self, cap: timedelta | None = None):
        self.cap = cap
        self.spans: list[tuple[str, str]] = []
        self.refused = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bounds = {c["operator"]: c["value"] for c in body["filter"]["subfilters"]}
        after, before = bounds["time_is_after"], bounds["time_is_before"]
        if self.cap and parse_timestamp(before) - parse_timestamp(after) > self.cap:
            self.refused += 1
            return httpx.Response(400, json={"errors": ["a search can span at most 30 days"]})
        if "cursor" not in body:
            self.spans.append((after, before))
        matched = [
            issue
            for issue in ISSUES
            if (at := parse_timestamp(issue["updated_at"])) is None
            or parse_timestamp(after) < at < parse_timestamp(before)
        ]
        offset = int(body.get("cursor", 0))
        more = offset + 2 < len(matched)
        return httpx.Response(
            200,
            json={
                "data": matched[offset : offset + 2],
                "pagination": {"cursor": str(offset + 2) if more else "", "has_next_page": more},
            },
        )


def _search(server: Search, **options: timedelta) -> IssueSearch:
    http = PylonHttpClient(
        base_url="https://pylon.test",
        api_token="search-test-token",
        transport=httpx.MockTransport(server),
    )
    return IssueSearch(Pager(http, page_size=2), RequestStats(), **options)


def _ids(search: IssueSearch, end: datetime) -> list[str]:
    return [issue["id"] for page in search.pages_updated_between(START, end) for issue in page]


def test_each_window_is_searched_widened_and_cut_back_so_each_record_lands_in_one():
    server = Search()
    search = _search(server)

    ids = _ids(search, datetime(2026, 3, 11, tzinfo=UTC))

    # A record Pylon matched but whose updated_at cannot be read is kept in every window.
    assert sorted(ids) == sorted(["at-start", "on-a-boundary", "last", *["unreadable"] * 3])
    assert server.spans == [
        ("2025-12-31T23:59:59Z", "2026-01-31T00:00:01Z"),
        ("2026-01-30T23:59:59Z", "2026-03-02T00:00:01Z"),
        ("2026-03-01T23:59:59Z", "2026-03-11T00:00:01Z"),
    ]
    assert search.stats.search_windows == 3


def test_a_refused_window_is_split_to_the_cap_and_the_cap_is_remembered():
    server = Search(cap=timedelta(days=30))
    search = _search(server)

    ids = _ids(search, datetime(2026, 3, 11, tzinfo=UTC))

    # The refused first window and the second are each searched as a 30-day window less the two
    # overlaps, and what is left of it; the last fits as it is.
    assert sorted(ids) == sorted(["at-start", "on-a-boundary", "last", *["unreadable"] * 5])
    assert server.refused == 1 and search.span_cap == timedelta(days=30)
    widths = {parse_timestamp(b) - parse_timestamp(a) for a, b in server.spans}
    assert max(widths) == timedelta(days=30)  # padded windows that fit the cap exactly
    assert search.stats.search_windows == len(server.spans) == 5


def test_a_cap_shorter_than_the_window_is_pylons_error_to_show():
    search = _search(Search(cap=timedelta(days=7)))
    with pytest.raises(PylonRequestError, match="can span at most 30 days"):
        _ids(search, datetime(2026, 3, 11, tzinfo=UTC))


def test_windows_cover_the_range_half_open_and_refuse_naive_bounds():
    end = START + timedelta(days=65)
    windows = list(split_windows(START, end, timedelta(days=30)))
    assert [(format_timestamp(a), format_timestamp(b)) for a, b in windows] == [
        ("2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"),
        ("2026-01-31T00:00:00Z", "2026-03-02T00:00:00Z"),
        ("2026-03-02T00:00:00Z", "2026-03-07T00:00:00Z"),
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        list(split_windows(START.replace(tzinfo=None), end, timedelta(days=30)))


@pytest.mark.parametrize(
    "options",
    [
        {"window": timedelta(seconds=2)},
        {"span_cap": timedelta(seconds=2)},
    ],
)
def test_a_window_no_longer_than_its_two_overlaps_is_refused(options: dict[str, timedelta]):
    with pytest.raises(ValueError, match="longer than twice window_overlap"):
        _search(Search(), **options)
