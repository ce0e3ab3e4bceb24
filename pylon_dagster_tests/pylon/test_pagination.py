"""The plain client and the pager over a bare `httpx.MockTransport`: no retry or budget layer
below them, so each answer is taken as it is."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from pylon_dagster.catalog import endpoints
from pylon_dagster.pylon.errors import (
    PylonNotFoundError,
    PylonResponseError,
    PylonUnavailableError,
)
from pylon_dagster.pylon.http_client import PylonHttpClient
from pylon_dagster.pylon.pagination import Pager

TOKEN = "pager-test-token"
Handler = Callable[[httpx.Request], httpx.Response]


def _http(handler: Handler) -> PylonHttpClient:
    return PylonHttpClient(
        base_url="https://pylon.test/", api_token=TOKEN, transport=httpx.MockTransport(handler)
    )


def _page(ids: list[str], cursor: str | None) -> dict:
    return {
        "data": [{"id": i} for i in ids],
        "pagination": {"cursor": cursor or "", "has_next_page": cursor is not None},
    }


def test_pages_follow_the_cursor_until_there_is_no_next_page():
    pages = {None: _page(["a", "b"], "c1"), "c1": _page(["c"], "c2"), "c2": _page([], None)}
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    with _http(handler) as http:
        served = list(Pager(http, page_size=2).iter_pages(endpoints.TEAMS, params={"q": "x"}))

    assert served == [[{"id": "a"}, {"id": "b"}], [{"id": "c"}], []]
    assert seen == [
        {"q": "x", "limit": "2"},
        {"q": "x", "limit": "2", "cursor": "c1"},
        {"q": "x", "limit": "2", "cursor": "c2"},
    ]


def test_a_search_sends_its_cursor_in_the_body_and_a_missing_pagination_ends_it():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            return httpx.Response(200, json=_page(["1"], "next"))
        return httpx.Response(200, json={"data": None})  # no `data`: an empty page

    with _http(handler) as http:
        pages = list(Pager(http).iter_records(endpoints.ISSUES_SEARCH, json_body={"filter": 1}))

    assert pages == [{"id": "1"}]
    assert bodies == [{"filter": 1, "limit": 999}, {"filter": 1, "limit": 999, "cursor": "next"}]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([_page(["a"], "c1"), _page(["b"], "c1")], "returned a cursor it had already returned"),
        ([_page([], "c1"), _page([], "c2")], "a page equal to an earlier one under a new cursor"),
        ([_page(["a"], "c1"), _page(["b"], "c2")], "still had more pages after 2 pages"),
        ([{"data": {"id": "a"}}], "`data` that is not a list of objects"),
        ([{"data": [], "pagination": "next"}], "malformed `pagination`"),
    ],
)
def test_a_pagination_that_would_never_end_or_is_malformed_stops_naming_the_endpoint(
    answers: list[dict], message: str
):
    queue = iter(answers)
    with _http(lambda _: httpx.Response(200, json=next(queue))) as http:
        pager = Pager(http, max_pages=2)
        with pytest.raises(PylonResponseError, match=message) as caught:
            list(pager.iter_pages(endpoints.ACCOUNTS))
    assert str(caught.value).startswith("GET /accounts")


@pytest.mark.parametrize("size", [0, 1000])
def test_a_page_size_pylon_refuses_is_refused_before_any_request(size: int):
    with _http(lambda _: httpx.Response(500)) as http, pytest.raises(ValueError, match="page_size"):
        Pager(http, page_size=size)


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (
            httpx.Response(404, json={"errors": ["gone"], "request_id": "r9", "code": "nf"}),
            PylonNotFoundError,
            "Pylon rejected GET https://pylon.test/issues/a%2Fb with 404: gone (code=nf, "
            "request_id=r9)",
        ),
        (
            httpx.Response(429),
            PylonUnavailableError,
            "GET https://pylon.test/issues/a%2Fb still failed after 1 attempts (last: 429 rate "
            "limited)",
        ),
        (
            httpx.Response(200, text=f"<p>{TOKEN}</p>", headers={"content-type": "text/html"}),
            PylonUnavailableError,
            "(last: 200 response whose body is not a JSON object (text/html, 23 bytes)",
        ),
        (
            httpx.Response(302, headers={"location": f"https://elsewhere.test/?t={TOKEN}"}),
            PylonResponseError,
            "answered 302, a redirect to https://elsewhere.test/?t=***. Redirects are not followed",
        ),
    ],
)
def test_an_answer_that_is_not_an_envelope_raises_its_own_error_without_the_token(
    answer: httpx.Response, error: type[Exception], message: str
):
    with _http(lambda _: answer) as http, pytest.raises(error) as caught:
        http.send(endpoints.ISSUE, path_params={"id": "a/b"})
    assert type(caught.value) is error
    assert message in str(caught.value) and TOKEN not in str(caught.value)
