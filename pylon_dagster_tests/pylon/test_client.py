"""`PylonClient` against the emulator over real HTTP: pagination, retries, errors, windows, pacing."""

from __future__ import annotations

import itertools
import logging
import re
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from pylon_dagster.catalog import endpoints
from pylon_dagster.pylon.client import PylonClient
from pylon_dagster.pylon.errors import (
    PylonAuthenticationError,
    PylonError,
    PylonNotFoundError,
    PylonRequestError,
    PylonResponseError,
)
from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.emulator import (
    EMULATOR_DAYS,
    EMULATOR_NOW,
    emulator_client,
    emulator_resource,
    make_emulator,
)
from pylon_emulator import EmulatorServer, PylonEmulator

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
WHOLE_RANGE = (
    EMULATOR_NOW - timedelta(days=EMULATOR_DAYS + 1),
    EMULATOR_NOW + timedelta(seconds=1),
)


def _ids(records: list[dict]) -> list[str]:
    return [record["id"] for record in records]


def _search_all(client: PylonClient, start: datetime, end: datetime) -> list[dict]:
    return [issue for page in client.iter_issue_pages_updated_between(start, end) for issue in page]


@pytest.fixture
def small_pages(emulator_server: EmulatorServer) -> Iterator[PylonClient]:
    with emulator_client(emulator_server, page_size=7) as client:
        yield client


def test_full_pagination_across_many_pages_equals_the_truth(
    small_pages: PylonClient, emulator: PylonEmulator
):
    for endpoint, stream in ((endpoints.ACCOUNTS, "accounts"), (endpoints.CONTACTS, "contacts")):
        assert list(small_pages.iter_records(endpoint)) == emulator.truth(stream)
    issues = list(small_pages.iter_records(endpoints.ISSUES_SEARCH))
    assert issues == emulator.truth("issues")
    busiest_issue, messages = max(emulator.truth("issue_messages").items(), key=lambda i: len(i[1]))
    served = list(
        small_pages.iter_pages(endpoints.ISSUE_MESSAGES, path_params={"id": busiest_issue})
    )
    assert [m for page in served for m in page] == messages
    for kb_id, articles in emulator.truth("knowledge_base_articles").items():
        path = {"id": kb_id}
        assert (
            list(small_pages.iter_records(endpoints.KNOWLEDGE_BASE_ARTICLES, path_params=path))
            == articles
        )

    requests = emulator.counters().requests
    assert requests["POST /issues/search"] == -(-len(issues) // 7)  # ceil: one request per page
    assert requests["GET /accounts"] == -(-len(emulator.truth("accounts")) // 7)


def test_a_429_storm_is_survived_by_waiting_what_retry_after_says(
    pylon_client: PylonClient, emulator: PylonEmulator, caplog: pytest.LogCaptureFixture
):
    emulator.set_faults(rate_limit_storm=3, storm_retry_after=0.15)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="pylon_dagster.pylon.retry"):
        assert pylon_client.me()["name"]
    elapsed = time.monotonic() - started

    counters = emulator.counters()
    assert counters.requests == {"GET /me": 4}
    assert counters.rate_limited == 3
    assert pylon_client.stats.rate_limited == 3 and pylon_client.stats.retries == 3
    waits = [float(w) for w in re.findall(r"retrying in ([\d.]+)s", caplog.text)]
    assert waits == [0.15, 0.15, 0.15]  # not the client's own (millisecond) backoff
    assert elapsed >= 3 * 0.15


def test_without_retry_after_a_429_falls_back_to_the_clients_backoff(
    pylon_client: PylonClient, emulator: PylonEmulator, caplog: pytest.LogCaptureFixture
):
    emulator.set_faults(rate_limit_storm=2, storm_retry_after=None)
    with caplog.at_level(logging.WARNING, logger="pylon_dagster.pylon.retry"):
        pylon_client.me()
    waits = [float(w) for w in re.findall(r"retrying in ([\d.]+)s", caplog.text)]
    assert len(waits) == 2 and all(wait <= 0.05 for wait in waits)


def test_server_errors_dropped_connections_and_malformed_bodies_are_retried(
    small_pages: PylonClient, emulator: PylonEmulator
):
    emulator.set_faults(seed=11, server_error_rate=0.25, drop_rate=0.15, malformed_rate=0.15)
    assert list(small_pages.iter_records(endpoints.CONTACTS)) == emulator.truth("contacts")

    counters = emulator.counters()
    server_errors = sum(n for status, n in counters.responses.items() if status >= 500)
    assert server_errors > 0 and counters.dropped > 0 and counters.malformed > 0
    stats = small_pages.stats
    assert stats.server_errors == server_errors
    assert stats.transport_errors == counters.dropped
    assert stats.retries == server_errors + counters.dropped + counters.malformed


def test_a_refused_token_fails_fast_naming_the_url(
    emulator_server: EmulatorServer, emulator: PylonEmulator, warehouse: PostgresWarehouse
):
    wrong_token = "not-the-emulator-token-4711"
    resource = emulator_resource(emulator_server, warehouse, api_token=wrong_token)
    with resource.get_client() as client, pytest.raises(PylonAuthenticationError) as caught:
        client.me()

    message = str(caught.value)
    assert emulator_server.url in message and "401" in message
    assert "invalid API token" in message
    assert UUID.match(caught.value.request_id or "")
    assert emulator.counters().requests == {"GET /me": 1}  # no retries
    assert wrong_token not in message


def test_a_400_surfaces_pylons_error_text_and_request_id(
    pylon_client: PylonClient, emulator: PylonEmulator
):
    with pytest.raises(PylonRequestError) as caught:
        pylon_client.request(endpoints.ACCOUNTS, params={"limit": 1000})
    error = caught.value
    assert error.status_code == 400 and error.code == "invalid_request_body"
    assert error.errors == ["limit must be greater than 0 and less than 1000, got 1000"]
    assert UUID.match(error.request_id or "") and error.request_id in str(error)
    assert "limit must be greater than 0" in str(error)

    deep_filter = {
        "operator": "and",
        "subfilters": [{"operator": "or", "subfilters": [{"operator": "and", "subfilters": [{}]}]}],
    }
    with pytest.raises(PylonRequestError, match="deeper than 3 levels"):
        list(pylon_client.iter_pages(endpoints.ISSUES_SEARCH, json_body={"filter": deep_filter}))
    assert emulator.counters().responses == {400: 2}  # neither was retried


def test_records_on_window_boundaries_and_ties_are_read_exactly_once(
    pylon_client: PylonClient, emulator: PylonEmulator
):
    truth = emulator.truth("issues")
    updated = Counter(issue["updated_at"] for issue in truth)
    midnights = {at for at in updated if at.endswith("T00:00:00Z")}
    ties = {at for at, count in updated.items() if count > 1}
    assert midnights and ties and midnights & ties  # the dataset holds the hard cases

    # Windows that end exactly on every midnight and every tied timestamp.
    edges = sorted({WHOLE_RANGE[0], WHOLE_RANGE[1], *map(parse_timestamp, midnights | ties)})
    read: list[str] = []
    for start, end in itertools.pairwise(edges):
        read += _ids(_search_all(pylon_client, start, end))

    assert len(read) == len(set(read))
    assert set(read) == set(_ids(truth))


def test_the_emulator_treats_time_bounds_as_strict(
    pylon_client: PylonClient, emulator: PylonEmulator
):
    """The worst case the previous test must survive: a record on a bound matches neither side."""
    midnight = next(
        i["updated_at"] for i in emulator.truth("issues") if i["updated_at"].endswith("T00:00:00Z")
    )
    for operator in ("time_is_after", "time_is_before"):
        body = {"filter": {"field": "updated_at", "operator": operator, "value": midnight}}
        found = list(pylon_client.iter_records(endpoints.ISSUES_SEARCH, json_body=body))
        assert found and all(issue["updated_at"] != midnight for issue in found)


def test_the_token_appears_in_no_log_and_no_exception(
    emulator_server: EmulatorServer,
    emulator: PylonEmulator,
    warehouse: PostgresWarehouse,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    raised: list[PylonError] = []
    resource = emulator_resource(emulator_server, warehouse, max_attempts=2)
    with resource.get_client() as client:
        emulator.set_faults(rate_limit_storm=1, storm_retry_after=0.01)
        client.me()
        emulator.set_faults(seed=3, server_error_rate=1.0)
        with pytest.raises(PylonError) as unavailable:
            client.me()
        raised.append(unavailable.value)
        emulator.set_faults(server_error_rate=0.0, drop_rate=1.0)
        with pytest.raises(PylonError) as dropped:
            client.me()
        raised.append(dropped.value)
        emulator.clear_faults()
        with pytest.raises(PylonRequestError) as bad_request:
            client.request(endpoints.CUSTOM_FIELDS)
        raised.append(bad_request.value)
        with pytest.raises(PylonNotFoundError) as not_found:
            client.request(endpoints.ISSUE, path_params={"id": "no-such-issue"})
        raised.append(not_found.value)
        shown = [repr(client), repr(resource), str(resource)]
    wrong = emulator_resource(emulator_server, warehouse, api_token="wrong-token-xyz")
    with wrong.get_client() as client:
        with pytest.raises(PylonAuthenticationError) as refused:
            client.me()
        raised.append(refused.value)

    texts = [caplog.text, *shown]
    for error in raised:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    for token in (emulator.token, "wrong-token-xyz"):
        assert not [text for text in texts if token in text]
    assert "retrying" in caplog.text  # the logs did record the failures


def test_deleted_issue_children_answer_404_without_retries(
    pylon_client: PylonClient, emulator: PylonEmulator
):
    issue_id = emulator.truth("issues")[0]["id"]
    emulator.set_faults(child_404_for=[issue_id])
    for endpoint in (endpoints.ISSUE_MESSAGES, endpoints.ISSUE_THREADS):
        with pytest.raises(PylonNotFoundError):
            list(pylon_client.iter_pages(endpoint, path_params={"id": issue_id}))
    assert emulator.counters().responses == {404: 2}
    assert emulator.counters().child_fetches == {issue_id: {"messages": 1, "threads": 1}}


def test_a_cursor_that_repeats_stops_the_pagination(
    small_pages: PylonClient, emulator: PylonEmulator
):
    emulator.set_faults(endless_cursor=True)
    with pytest.raises(PylonResponseError, match="never end"):
        list(small_pages.iter_pages(endpoints.ACCOUNTS))
    assert emulator.counters().requests == {"GET /accounts": 2}


def test_the_client_adapts_to_a_30_day_search_cap(
    emulator_server: EmulatorServer, emulator: PylonEmulator, caplog: pytest.LogCaptureFixture
):
    emulator.set_faults(search_window_cap_days=30)
    with emulator_client(emulator_server) as client:
        issues = _search_all(client, *WHOLE_RANGE)
        assert client.search_span_cap == timedelta(days=30)
    assert _ids(issues) == _ids(emulator.truth("issues"))
    assert emulator.counters().responses[400] == 1  # one refusal, then windows that fit
    assert "at most 30 days" in caplog.text


def test_a_cap_shorter_than_the_clients_window_fails_with_pylons_message(
    pylon_client: PylonClient, emulator: PylonEmulator
):
    emulator.set_faults(search_window_cap_days=7)
    with pytest.raises(PylonRequestError, match="can span at most 7 days"):
        _search_all(pylon_client, *WHOLE_RANGE)


def test_updates_made_during_a_sync_are_found_by_the_next_window(
    pylon_client: PylonClient, emulator: PylonEmulator
):
    first = _search_all(pylon_client, *WHOLE_RANGE)
    issue = first[0]
    message = emulator.add_message(issue["id"], message_html="<p>Encore une question 🙂</p>")
    changed = emulator.update_issue(issue["id"], state="closed")

    after_first = max(parse_timestamp(i["updated_at"]) for i in first) + timedelta(seconds=1)
    later = _search_all(
        pylon_client, after_first, parse_timestamp(changed["updated_at"]) + timedelta(seconds=1)
    )
    assert [(i["id"], i["state"]) for i in later] == [(issue["id"], "closed")]
    messages = list(
        pylon_client.iter_records(endpoints.ISSUE_MESSAGES, path_params={"id": issue["id"]})
    )
    assert messages[-1] == message


def _listed(client: PylonClient, since: datetime) -> list[str]:
    return [issue["id"] for page in client.iter_issue_pages_updated_since(since) for issue in page]


def test_a_listing_since_a_date_is_one_open_search_of_the_live_issues_since_then(
    small_pages: PylonClient, emulator: PylonEmulator
):
    since = EMULATOR_NOW - timedelta(days=10)
    gone = emulator.truth("issues")[-1]["id"]
    emulator.delete_issue(gone)
    expected = [
        i["id"] for i in emulator.truth("issues") if parse_timestamp(i["updated_at"]) >= since
    ]
    assert 7 < len(expected) < len(emulator.truth("issues"))

    listed = _listed(small_pages, since)

    assert sorted(listed) == sorted(expected) and gone not in listed
    requests = emulator.counters().requests["POST /issues/search"]
    assert requests == -(-len(expected) // 7)  # ceil: one request per page of 7, no windows


def test_a_listing_lists_every_issue_when_pylon_caps_search_ranges(
    small_pages: PylonClient, emulator: PylonEmulator
):
    emulator.set_faults(search_window_cap_days=30)
    every = sorted(_ids(emulator.truth("issues")))

    assert sorted(_listed(small_pages, EMULATOR_NOW - timedelta(days=10))) == every
    assert sorted(_listed(small_pages, EMULATOR_NOW - timedelta(days=10))) == every
    assert emulator.counters().responses[400] == 1  # the cap is learned once, then remembered


@pytest.mark.slow
def test_a_paced_full_read_earns_zero_429s(warehouse: PostgresWarehouse):
    """Every stream and every child of 600 issues, told the April limits, with a 0.2 s minute."""
    now = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    emulator = make_emulator(issues=600, days=90, now=now, time_scale=300)
    with (
        EmulatorServer(emulator) as server,
        emulator_resource(server, warehouse).get_client() as client,
    ):
        for endpoint, stream in (
            (endpoints.ACCOUNTS, "accounts"),
            (endpoints.CONTACTS, "contacts"),
            (endpoints.USERS, "users"),
            (endpoints.TEAMS, "teams"),
            (endpoints.TAGS, "tags"),
            (endpoints.TICKET_FORMS, "ticket_forms"),
            (endpoints.USER_ROLES, "user_roles"),
            (endpoints.ACTIVITY_TYPES, "activity_types"),
            (endpoints.ISSUE_STATUSES, "issue_statuses"),
            (endpoints.KNOWLEDGE_BASES, "knowledge_bases"),
        ):
            assert list(client.iter_records(endpoint)) == emulator.truth(stream)
        fields = [
            field
            for object_type in ("account", "issue", "contact")
            for field in client.iter_records(
                endpoints.CUSTOM_FIELDS, params={"object_type": object_type}
            )
        ]
        assert fields == emulator.truth("custom_fields")
        for kb_id in emulator.truth("knowledge_base_articles"):
            for endpoint, stream in (
                (endpoints.KNOWLEDGE_BASE_ARTICLES, "knowledge_base_articles"),
                (endpoints.KNOWLEDGE_BASE_COLLECTIONS, "knowledge_base_collections"),
            ):
                served = list(client.iter_records(endpoint, path_params={"id": kb_id}))
                assert served == emulator.truth(stream)[kb_id]

        issues = _search_all(client, now - timedelta(days=91), now + timedelta(seconds=1))
        assert _ids(issues) == _ids(emulator.truth("issues"))

        def read_children(endpoint: endpoints.Endpoint) -> dict[str, list[dict]]:
            return {
                issue["id"]: list(client.iter_records(endpoint, path_params={"id": issue["id"]}))
                for issue in issues
            }

        with ThreadPoolExecutor(2) as pool:
            messages, threads = pool.map(
                read_children, (endpoints.ISSUE_MESSAGES, endpoints.ISSUE_THREADS)
            )

    assert messages == emulator.truth("issue_messages")
    assert threads == emulator.truth("issue_threads")
    counters = emulator.counters()
    assert counters.rate_limited == 0
    assert counters.responses == {200: counters.total_requests}
    assert client.stats.paced_seconds > 1  # the budget was tight enough for pacing to matter


@pytest.mark.parametrize("style", ["x-ratelimit", "ietf"])
def test_a_client_told_nothing_paces_by_the_servers_rate_limit_headers(
    style: str, warehouse: PostgresWarehouse
):
    """April limits, announced in headers: the default client (starting at October's six times
    higher figure) takes the server's word before it could overrun it."""
    emulator = make_emulator(rate_limit_preset="2026-04", rate_limit_headers=style)
    messages = endpoints.ISSUE_MESSAGES
    with EmulatorServer(emulator) as server:
        resource = emulator_resource(server, warehouse, rate_limits="auto")
        with resource.get_client() as client:
            for issue in emulator.truth("issues")[:50]:
                list(client.iter_records(messages, path_params={"id": issue["id"]}))
        learned = resource.budget().current(messages.key)

    assert emulator.counters().rate_limited == 0
    assert (learned.rate, learned.source) == (emulator.rate_limits[messages.key], "headers")
    assert client.stats.paced_seconds > 0  # 50 requests at 20 a window: the budget held them
