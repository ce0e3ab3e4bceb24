"""The emulator's HTTP surface, spoken to with plain httpx: envelopes, errors, limits, faults, control."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pylon_dagster.catalog.endpoints import ALL_ENDPOINTS, Endpoint
from pylon_dagster_tests.fixtures.emulator import make_emulator
from pylon_emulator import EmulatorServer, PylonEmulator


def _authenticated(server: EmulatorServer) -> httpx.Client:
    """Authenticated raw HTTP to a served emulator (use it as a context manager)."""
    headers = {"Authorization": f"Bearer {server.emulator.token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=5)


@pytest.fixture
def api(emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    """Authenticated raw HTTP to the emulator."""
    with _authenticated(emulator_server) as client:
        yield client


@pytest.fixture
def control(emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    """Unauthenticated HTTP to the control API."""
    with httpx.Client(base_url=emulator_server.url + "/_emulator", timeout=5) as client:
        yield client


def _issue_id(emulator: PylonEmulator, position: int = 0) -> str:
    return emulator.truth("issues")[position]["id"]


def _issue_with_children(emulator: PylonEmulator) -> str:
    """An issue with a thread and at least two messages."""
    threads = emulator.truth("issue_threads")
    return next(
        i
        for i, messages in emulator.truth("issue_messages").items()
        if len(messages) > 1 and threads[i]
    )


def _request(api: httpx.Client, emulator: PylonEmulator, endpoint: Endpoint) -> httpx.Response:
    """A valid request to any catalogue endpoint."""
    kb_id = emulator.truth("knowledge_bases")[0]["id"]
    path_id = (
        kb_id if endpoint.path.startswith("/knowledge-bases/") else _issue_with_children(emulator)
    )
    url = endpoint.path.replace("{id}", path_id)
    if endpoint.method == "POST":
        return api.post(url, json={})
    return api.get(url, params={"object_type": "issue"} if url == "/custom-fields" else None)


def _assert_error(response: httpx.Response, status: int, code: str, text: str) -> None:
    body = response.json()
    assert response.status_code == status
    assert body["code"] == code and text in body["errors"][0]
    assert len(body["request_id"]) == 36


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=lambda e: e.key)
def test_every_catalogue_endpoint_answers_with_the_envelope(
    api: httpx.Client, emulator: PylonEmulator, endpoint: Endpoint
):
    response = _request(api, emulator, endpoint)
    body = response.json()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert set(body) <= {"data", "request_id", "pagination"} and body["data"]
    assert emulator.counters().requests == {endpoint.key: 1}


def test_a_missing_or_wrong_token_is_a_401_for_every_endpoint(
    emulator_server: EmulatorServer, emulator: PylonEmulator
):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": emulator.token}):
        with httpx.Client(base_url=emulator_server.url, headers=headers) as anonymous:
            for endpoint in ALL_ENDPOINTS:
                response = _request(anonymous, emulator, endpoint)
                _assert_error(response, 401, "invalid_api_token", "API token")
    assert emulator.counters().responses == {401: 3 * len(ALL_ENDPOINTS)}


def test_issues_are_found_by_id_or_number_and_unknown_ones_are_404(
    api: httpx.Client, emulator: PylonEmulator
):
    issue = emulator.truth("issues")[3]
    assert api.get(f"/issues/{issue['id']}").json()["data"] == issue
    assert api.get(f"/issues/{issue['number']}").json()["data"] == issue
    _assert_error(api.get("/issues/999999"), 404, "not_found", "Issue not found")
    _assert_error(api.get("/issues/nope/messages"), 404, "not_found", "Issue not found")
    _assert_error(api.get("/knowledge-bases/nope/articles"), 404, "not_found", "not found")
    _assert_error(api.get("/no/such/route"), 404, "not_found", "/no/such/route")


@pytest.mark.parametrize("limit", ["0", "1000", "-1", "ten"])
def test_a_limit_outside_1_to_999_is_a_400(api: httpx.Client, limit: str):
    _assert_error(
        api.get("/accounts", params={"limit": limit}), 400, "invalid_request_body", "limit"
    )
    body_limit: Any = int(limit) if limit.lstrip("-").isdigit() else limit
    response = api.post("/issues/search", json={"limit": body_limit})
    _assert_error(response, 400, "invalid_request_body", "limit")


def test_bad_cursors_bodies_and_filters_are_400s(api: httpx.Client):
    _assert_error(
        api.get("/accounts", params={"cursor": "%%%"}), 400, "invalid_request_body", "cursor"
    )
    _assert_error(api.post("/issues/search", content=b"{oops"), 400, "invalid_request_body", "JSON")
    _assert_error(api.post("/issues/search", json=[1]), 400, "invalid_request_body", "object")
    bad_filter = {"filter": {"field": "state", "operator": "time_is_after", "value": "x"}}
    _assert_error(api.post("/issues/search", json=bad_filter), 400, "invalid_request_body", "state")


@pytest.mark.parametrize("stream", ["accounts", "tasks"])
def test_pages_chain_through_opaque_cursors_and_the_last_page_says_so(
    api: httpx.Client, emulator: PylonEmulator, stream: str
):
    cursor, pages, served = None, 0, []
    while True:
        body = api.get(
            f"/{stream}", params={"limit": 9, **({"cursor": cursor} if cursor else {})}
        ).json()
        served += body["data"]
        pages += 1
        if not body["pagination"]["has_next_page"]:
            assert body["pagination"] == {"cursor": "", "has_next_page": False}
            break
        cursor = body["pagination"]["cursor"]
        base64.b64decode(cursor, validate=True)
    assert served == emulator.truth(stream) and pages == -(-len(served) // 9) > 1


def test_search_orders_by_updated_at_then_id_and_an_empty_result_has_no_data(
    api: httpx.Client, emulator: PylonEmulator
):
    served = api.post("/issues/search", json={"limit": 999}).json()["data"]
    assert [(i["updated_at"], i["id"]) for i in served] == sorted(
        (i["updated_at"], i["id"]) for i in served
    )
    assert len(served) == len(emulator.truth("issues"))
    nothing = {
        "filter": {"field": "title", "operator": "string_contains", "value": "no such title"}
    }
    body = api.post("/issues/search", json=nothing).json()
    assert set(body) == {"request_id"}


def test_messages_are_paginated_only_when_asked(api: httpx.Client, emulator: PylonEmulator):
    issue_id, messages = max(
        emulator.truth("issue_messages").items(), key=lambda item: len(item[1])
    )
    whole = api.get(f"/issues/{issue_id}/messages").json()
    assert whole["data"] == messages and "pagination" not in whole
    first = api.get(f"/issues/{issue_id}/messages", params={"limit": 1}).json()
    assert first["data"] == messages[:1] and first["pagination"]["has_next_page"]
    threads = api.get(f"/issues/{issue_id}/threads").json()
    assert (
        threads["data"] == emulator.truth("issue_threads")[issue_id] and "pagination" not in threads
    )


def test_custom_fields_need_a_known_object_type(api: httpx.Client, emulator: PylonEmulator):
    _assert_error(api.get("/custom-fields"), 400, "invalid_request_body", "object_type is required")
    _assert_error(
        api.get("/custom-fields", params={"object_type": "planet"}),
        400,
        "invalid_request_body",
        "planet",
    )
    for object_type in ("account", "issue", "contact"):
        fields = api.get("/custom-fields", params={"object_type": object_type}).json()["data"]
        assert fields and {field["object_type"] for field in fields} == {object_type}
    assert api.get("/custom-fields", params={"object_type": "task"}).json()["data"] == []


def test_a_spent_budget_answers_429_with_a_decimal_retry_after_that_is_right():
    emulator = make_emulator(issues=5, time_scale=60, rate_limits={"GET /me": 3})
    with EmulatorServer(emulator) as server, _authenticated(server) as api:
        assert [api.get("/me").status_code for _ in range(3)] == [200, 200, 200]
        refused = api.get("/me")
        _assert_error(refused, 429, "rate_limited", "3 requests per minute")
        retry_after = float(refused.headers["Retry-After"])
        assert 0 < retry_after <= 1.0 and "." in refused.headers["Retry-After"]
        assert api.get("/users").status_code == 200  # budgets are per endpoint
        time.sleep(retry_after)  # the behaviour under test: waiting what the server said works
        assert api.get("/me").status_code == 200
    assert emulator.counters().responses == {200: 5, 429: 1}


def test_against_real_time_retry_after_is_whole_seconds():
    emulator = make_emulator(issues=5, time_scale=1, rate_limits={"GET /me": 1})
    with EmulatorServer(emulator) as server, _authenticated(server) as api:
        api.get("/me")
        assert api.get("/me").headers["Retry-After"] == "60"


def test_a_storm_refuses_the_next_requests_whatever_their_budget(
    api: httpx.Client, emulator: PylonEmulator
):
    emulator.set_faults(rate_limit_storm=2, storm_retry_after=None)
    first, second, third = (api.get("/users") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert "Retry-After" not in first.headers
    assert emulator.faults.rate_limit_storm == 0


def test_server_errors_latency_drops_and_malformed_bodies_on_demand(
    api: httpx.Client, emulator: PylonEmulator
):
    emulator.set_faults(server_error_rate=1.0)
    assert api.get("/users").status_code in (500, 502, 503)
    emulator.set_faults(server_error_rate=0.0, latency_seconds=0.2)
    started = time.monotonic()
    assert api.get("/users").status_code == 200
    assert time.monotonic() - started >= 0.2
    emulator.set_faults(latency_seconds=0.0, drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/users")
    emulator.set_faults(drop_rate=0.0, malformed_rate=1.0)
    for _ in range(4):
        response = api.get("/users")
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()
    counters = emulator.counters()
    assert (counters.dropped, counters.malformed) == (1, 4)


def test_random_faults_repeat_exactly_for_the_same_seed(api: httpx.Client, emulator: PylonEmulator):
    def statuses() -> list[int]:
        emulator.set_faults(seed=42, server_error_rate=0.5)
        return [api.get("/users").status_code for _ in range(20)]

    first = statuses()
    assert first == statuses() and 200 in first and {500, 502, 503} & set(first)


def test_an_endless_cursor_repeats_itself(api: httpx.Client, emulator: PylonEmulator):
    emulator.set_faults(endless_cursor=True)
    first = api.get("/accounts", params={"limit": 5}).json()["pagination"]
    second = api.get("/accounts", params={"limit": 5, "cursor": first["cursor"]}).json()[
        "pagination"
    ]
    assert second == first == {"cursor": first["cursor"], "has_next_page": True}


def _window(start: str, end: str) -> dict:
    return {
        "filter": {
            "operator": "and",
            "subfilters": [
                {"field": "updated_at", "operator": "time_is_after", "value": start},
                {"field": "updated_at", "operator": "time_is_before", "value": end},
            ],
        }
    }


def test_the_search_window_cap_refuses_longer_updated_at_ranges(
    api: httpx.Client, emulator: PylonEmulator
):
    emulator.set_faults(search_window_cap_days=30)
    allowed = api.post(
        "/issues/search", json=_window("2026-02-01T00:00:00Z", "2026-03-03T00:00:00Z")
    )
    assert allowed.status_code == 200
    too_long = api.post(
        "/issues/search", json=_window("2026-02-01T00:00:00Z", "2026-03-03T00:00:01Z")
    )
    _assert_error(too_long, 400, "invalid_request_body", "at most 30 days")
    open_ended = {
        "filter": {
            "field": "updated_at",
            "operator": "time_is_after",
            "value": "2026-01-01T00:00:00Z",
        }
    }
    _assert_error(
        api.post("/issues/search", json=open_ended), 400, "invalid_request_body", "unbounded"
    )
    assert api.post("/issues/search", json={}).status_code == 200  # no updated_at filter, no cap


def test_children_of_issues_marked_deleted_answer_404(api: httpx.Client, emulator: PylonEmulator):
    issue_id = _issue_id(emulator)
    emulator.set_faults(child_404_for=[issue_id])
    assert api.get(f"/issues/{issue_id}/messages").status_code == 404
    assert api.get(f"/issues/{issue_id}/threads").status_code == 404
    assert api.get(f"/issues/{issue_id}").status_code == 200
    assert api.get(f"/issues/{_issue_id(emulator, 1)}/threads").status_code == 200


def test_counters_count_requests_statuses_and_child_fetches(
    api: httpx.Client, control: httpx.Client, emulator: PylonEmulator
):
    issue_id = _issue_with_children(emulator)
    api.get(f"/issues/{issue_id}/messages")
    api.get(f"/issues/{issue_id}/messages", params={"limit": 1, "cursor": ""})
    continuation = api.get(f"/issues/{issue_id}/messages", params={"limit": 1}).json()
    api.get(
        f"/issues/{issue_id}/messages",
        params={"limit": 1, "cursor": continuation["pagination"]["cursor"]},
    )
    api.get(f"/issues/{issue_id}/threads")
    api.get("/custom-fields")
    counted = control.get("/counters").json()["data"]
    assert counted["requests"] == {
        "GET /issues/{id}/messages": 4,
        "GET /issues/{id}/threads": 1,
        "GET /custom-fields": 1,
    }
    assert counted["child_fetches"] == {issue_id: {"messages": 3, "threads": 1}}
    assert counted["responses"]["400"] == 1 and counted["rate_limited"] == 0
    assert control.post("/reset-counters").json()["data"]["requests"] == {}
    assert emulator.counters().total_requests == 0


def test_mutations_change_what_the_api_serves(api: httpx.Client, emulator: PylonEmulator):
    before = emulator.truth("issues")
    target = before[0]
    changed = emulator.update_issue(target["id"], state="closed", tags=["données"])
    assert changed["updated_at"] > before[-1]["updated_at"]
    assert api.post("/issues/search", json={"limit": 999}).json()["data"][-1] == changed

    message = emulator.add_message(target["id"], message_html="<p>還有問題 🙏</p>")
    bumped = api.get(f"/issues/{target['id']}").json()["data"]
    assert (
        bumped["updated_at"]
        == bumped["latest_message_time"]
        == message["timestamp"]
        > changed["updated_at"]
    )
    assert api.get(f"/issues/{target['id']}/messages").json()["data"][-1] == message

    created = emulator.create_issue(title="Nouveau ticket", state="new")
    assert created["number"] == max(i["number"] for i in before) + 1
    assert api.get(f"/issues/{created['number']}").json()["data"] == created
    assert api.get(f"/issues/{created['id']}/messages").json()["data"] == []

    emulator.delete_issue(target["id"])
    assert api.get(f"/issues/{target['id']}").status_code == 404
    assert api.get(f"/issues/{target['id']}/messages").status_code == 404
    assert target["id"] not in {i["id"] for i in emulator.truth("issues")}
    assert target["id"] not in emulator.truth("issue_messages")


def test_a_deleted_issue_vanishes_everywhere_and_a_restored_one_comes_back_as_it_was(
    api: httpx.Client, control: httpx.Client, emulator: PylonEmulator
):
    target = _issue_with_children(emulator)
    issue = api.get(f"/issues/{target}").json()["data"]
    messages = api.get(f"/issues/{target}/messages").json()["data"]
    threads = api.get(f"/issues/{target}/threads").json()["data"]

    deleted = control.post("/mutations", json={"action": "delete_issue", "issue_id": target})
    assert deleted.json()["data"] == issue
    searched = api.post("/issues/search", json={"limit": 999}).json()["data"]
    assert target not in {i["id"] for i in searched}
    for path in (f"/issues/{target}", f"/issues/{issue['number']}", f"/issues/{target}/threads"):
        _assert_error(api.get(path), 404, "not_found", "not found")
    _assert_error(api.get(f"/issues/{target}/messages"), 404, "not_found", "not found")
    assert target not in emulator.truth("issue_threads")

    restored = control.post("/mutations", json={"action": "restore_issue", "issue_id": target})
    assert restored.json()["data"] == issue
    assert api.get(f"/issues/{issue['number']}").json()["data"] == issue
    assert api.get(f"/issues/{target}/messages").json()["data"] == messages
    assert api.get(f"/issues/{target}/threads").json()["data"] == threads
    searched = api.post("/issues/search", json={"limit": 999}).json()["data"]
    assert [i["id"] for i in searched].count(target) == 1
    _assert_error(
        control.post("/mutations", json={"action": "restore_issue", "issue_id": target}),
        404,
        "not_found",
        "no deleted issue",
    )


def test_a_search_cut_short_ends_early_claiming_no_next_page(
    api: httpx.Client, emulator: PylonEmulator
):
    emulator.set_faults(search_result_cap=5)
    body = api.post("/issues/search", json={"limit": 50}).json()
    assert body["data"] == emulator.truth("issues")[:5]
    assert body["pagination"] == {"cursor": "", "has_next_page": False}
    emulator.set_faults(search_result_cap=0)
    assert "data" not in api.post("/issues/search", json={"limit": 50}).json()


def test_mutations_refuse_unknown_or_read_only_fields(emulator: PylonEmulator):
    issue_id = _issue_id(emulator)
    with pytest.raises(ValueError, match="unknown issue field"):
        emulator.update_issue(issue_id, colour="red")
    with pytest.raises(ValueError, match="read-only"):
        emulator.update_issue(issue_id, updated_at="2020-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="unknown message field"):
        emulator.add_message(issue_id, issue_id=issue_id)
    with pytest.raises(LookupError):
        emulator.delete_issue("no-such-issue")


def test_the_control_api_drives_faults_mutations_and_truth(
    api: httpx.Client, control: httpx.Client, emulator: PylonEmulator
):
    faults = control.post(
        "/faults", json={"server_error_rate": 1.0, "child_404_for": ["a"]}
    ).json()["data"]
    assert faults["server_error_rate"] == 1.0 and faults["child_404_for"] == ["a"]
    assert control.get("/faults").json()["data"] == faults
    assert api.get("/users").status_code >= 500
    assert control.delete("/faults").json()["data"]["server_error_rate"] == 0.0
    _assert_error(
        control.post("/faults", json={"drop_rate": 2}),
        400,
        "invalid_request_body",
        "between 0 and 1",
    )
    _assert_error(
        control.post("/faults", json={"colour": 1}), 400, "invalid_request_body", "unknown fault"
    )

    issue_id = _issue_id(emulator)
    mutation = {
        "action": "update_issue",
        "issue_id": issue_id,
        "fields": {"title": "Nouveau titre"},
    }
    updated = control.post("/mutations", json=mutation).json()["data"]
    assert (
        updated["title"]
        == "Nouveau titre"
        == api.get(f"/issues/{issue_id}").json()["data"]["title"]
    )
    message = control.post(
        "/mutations", json={"action": "add_message", "issue_id": issue_id}
    ).json()["data"]
    assert control.get("/truth/issue_messages").json()["data"][issue_id][-1] == message
    created = control.post(
        "/mutations", json={"action": "create_issue", "fields": {"title": "x"}}
    ).json()["data"]
    assert (
        control.post(
            "/mutations", json={"action": "delete_issue", "issue_id": created["id"]}
        ).status_code
        == 200
    )
    _assert_error(
        control.post("/mutations", json={"action": "delete_issue", "issue_id": "nope"}),
        404,
        "not_found",
        "nope",
    )
    _assert_error(
        control.post("/mutations", json={"action": "explode"}),
        400,
        "invalid_request_body",
        "unknown action",
    )
    _assert_error(
        control.post(
            "/mutations",
            json={"action": "update_issue", "issue_id": issue_id, "fields": {"id": "x"}},
        ),
        400,
        "invalid_request_body",
        "read-only",
    )

    assert control.get("/truth/issues").json()["data"] == emulator.truth("issues")
    _assert_error(control.get("/truth/planets"), 404, "not_found", "unknown stream")
    config = control.get("/config").json()["data"]
    assert (
        config["window_seconds"] == emulator.window_seconds
        and config["rate_limits"] == emulator.rate_limits
    )
    assert emulator.counters().requests.keys() == {
        "GET /issues/{id}",
        "GET /users",
    }  # control is not counted
