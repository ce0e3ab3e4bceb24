"""`PylonClient` in-process, over `httpx.MockTransport`: what it sends, and what it reports back to
its rate budget. The same behaviours over real sockets against the emulator are in
`test_client.py`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from pylon_dagster.catalog import endpoints
from pylon_dagster.pylon.budget import Priority
from pylon_dagster.pylon.client import PylonClient, RetrySettings
from pylon_dagster.pylon.errors import (
    PylonAuthenticationError,
    PylonRequestError,
    PylonStoppedError,
    PylonUnavailableError,
)
from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders
from pylon_dagster_tests.pylon.fake_budget import RecordingBudget

TOKEN = "unit-test-token"
NO_WAIT = RetrySettings(max_attempts=3, backoff_base_seconds=0.0, backoff_max_seconds=0.0)


def _client(
    handler: Callable[[httpx.Request], httpx.Response], budget: RecordingBudget | None = None
) -> PylonClient:
    return PylonClient(
        base_url="https://pylon.test",
        api_token=TOKEN,
        budget=budget,
        priority=Priority.FRESHNESS,
        retry=NO_WAIT,
        transport=httpx.MockTransport(handler),
    )


def test_get_pages_follow_the_cursor_in_the_query_and_send_the_bearer_token():
    seen: list[httpx.Request] = []
    pages = {
        None: {"data": [{"id": "a"}], "pagination": {"cursor": "c1", "has_next_page": True}},
        "c1": {"data": [{"id": "b"}], "pagination": {"cursor": "", "has_next_page": False}},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    with _client(handler) as client:
        records = list(client.iter_records(endpoints.ACCOUNTS))

    assert [r["id"] for r in records] == ["a", "b"]
    assert [dict(r.url.params) for r in seen] == [
        {"limit": "999"},
        {"limit": "999", "cursor": "c1"},
    ]
    assert {r.headers["authorization"] for r in seen} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("issue_id", "sent"),
    [
        ("../../accounts", b"/issues/..%2F..%2Faccounts/messages?limit=999"),
        ("x?limit=1&cursor=evil", b"/issues/x%3Flimit%3D1%26cursor%3Devil/messages?limit=999"),
        ("..", b"/issues/%2E%2E/messages?limit=999"),
        ("a b#%", b"/issues/a%20b%23%25/messages?limit=999"),
    ],
)
def test_an_id_goes_into_the_path_as_one_encoded_segment(issue_id: str, sent: bytes):
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(200, json={"data": []})

    with _client(handler) as client:
        list(client.iter_pages(endpoints.ISSUE_MESSAGES, path_params={"id": issue_id}))

    assert seen == [sent]


def test_a_search_pages_with_the_cursor_in_the_body():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        more = len(bodies) == 1
        return httpx.Response(
            200,
            json={
                "data": [{"id": str(len(bodies))}],
                "pagination": {"cursor": "next" if more else "", "has_next_page": more},
            },
        )

    with _client(handler) as client:
        pages = list(client.iter_pages(endpoints.ISSUES_SEARCH, json_body={"filter": {"x": 1}}))

    assert [[r["id"] for r in page] for page in pages] == [["1"], ["2"]]
    assert bodies == [
        {"filter": {"x": 1}, "limit": 999},
        {"filter": {"x": 1}, "limit": 999, "cursor": "next"},
    ]


def test_a_listing_searches_an_open_updated_at_range_then_nothing_when_refused():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if "filter" in bodies[-1]:
            return httpx.Response(400, json={"errors": ["range too long"], "request_id": "r1"})
        return httpx.Response(200, json={"data": [{"id": "a"}], "request_id": "r2"})

    since = datetime(2026, 3, 1, tzinfo=UTC)
    with _client(handler) as client:
        pages = list(client.iter_issue_pages_updated_since(since))

    assert pages == [[{"id": "a"}]]
    assert bodies == [
        {
            "filter": {
                "operator": "and",
                "subfilters": [
                    {
                        "field": "updated_at",
                        "operator": "time_is_after",
                        "value": "2026-02-28T23:59:59Z",  # widened: the bound may be strict
                    }
                ],
            },
            "limit": 999,
        },
        {"limit": 999},
    ]


def test_every_attempt_takes_a_slot_and_reports_429s_headers_and_retry_after():
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "0"}, json={"errors": ["slow down"]}),
            httpx.Response(
                200,
                headers={"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "19"},
                json={"data": {"id": "org"}},
            ),
        ]
    )
    budget = RecordingBudget()
    with _client(lambda _: next(answers), budget) as client:
        assert client.me() == {"id": "org"}

    assert budget.acquired == [("GET /me", Priority.FRESHNESS)] * 2
    assert budget.released == [
        (429, RateLimitHeaders(), 0.0),
        (200, RateLimitHeaders(limit=20, remaining=19), None),
    ]
    assert client.stats.rate_limited == 1 and client.stats.retries == 1
    assert client.stats.as_metadata()["api_rate_limits"] == {
        "GET /me": "120 per 60s (published 2026-10)"
    }


def test_a_dropped_connection_gives_its_slot_back_without_a_status():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    budget = RecordingBudget()
    with _client(handler, budget) as client, pytest.raises(PylonUnavailableError):
        client.me()
    assert [status for status, _, _ in budget.released] == [None, None, None]


def test_a_refused_token_is_not_retried_and_never_shown():
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"errors": ["invalid API token"], "request_id": "r1"})

    with _client(handler) as client, pytest.raises(PylonAuthenticationError) as refused:
        client.me()
    assert calls == [1]
    assert TOKEN not in str(refused.value) and "r1" in str(refused.value)


def test_an_upstream_that_echoes_the_token_has_it_blanked_in_the_error():
    def handler(request: httpx.Request) -> httpx.Response:
        echoed = request.headers["authorization"]
        return httpx.Response(400, json={"errors": [f"bad header {echoed}"], "code": echoed})

    with _client(handler) as client, pytest.raises(PylonRequestError) as rejected:
        client.me()
    assert TOKEN not in str(rejected.value) and "Bearer ***" in str(rejected.value)


def test_a_stopped_client_sends_nothing_more():
    sent: list[httpx.Request] = []
    stop = threading.Event()
    client = PylonClient(
        base_url="https://pylon.test",
        api_token=TOKEN,
        retry=NO_WAIT,
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, json={})),
        stop=stop,
    )
    with client:
        client.request(endpoints.ME)
        stop.set()
        with pytest.raises(PylonStoppedError):
            client.request(endpoints.ME)
    assert len(sent) == 1


def test_a_slice_listing_searches_its_widened_created_at_range_and_keeps_only_the_slice():
    bodies: list[dict] = []
    issues = [
        {"id": "before", "created_at": "2026-01-31T23:59:59Z"},
        {"id": "first", "created_at": "2026-02-01T00:00:00Z"},
        {"id": "unreadable", "created_at": None},
        {"id": "at-end", "created_at": "2026-02-10T00:00:00Z"},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:  # an organization whose searches cap the updated_at range
            return httpx.Response(400, json={"errors": ["range too long"], "request_id": "r1"})
        return httpx.Response(200, json={"data": issues, "request_id": "r2"})

    since = datetime(2026, 3, 1, tzinfo=UTC)
    created = {
        "created_from": datetime(2026, 2, 1, tzinfo=UTC),
        "created_before": datetime(2026, 2, 10, tzinfo=UTC),
    }
    with _client(handler) as client:
        pages = list(client.iter_issue_pages_updated_since(since, **created))

    # The records Pylon matched at the widened edges are cut back to the half-open slice; one
    # whose created_at cannot be read is kept (listed, it can only keep an issue alive).
    assert [[i["id"] for i in page] for page in pages] == [["first", "unreadable"]]
    slice_conditions = [
        {"field": "created_at", "operator": "time_is_after", "value": "2026-01-31T23:59:59Z"},
        {"field": "created_at", "operator": "time_is_before", "value": "2026-02-10T00:00:01Z"},
    ]
    updated_after = {
        "field": "updated_at",
        "operator": "time_is_after",
        "value": "2026-02-28T23:59:59Z",
    }
    assert bodies == [
        {
            "filter": {"operator": "and", "subfilters": [*slice_conditions, updated_after]},
            "limit": 999,
        },
        {"filter": {"operator": "and", "subfilters": slice_conditions}, "limit": 999},
    ]
