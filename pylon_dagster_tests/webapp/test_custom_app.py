"""The custom-app endpoint over real HTTP, called exactly as Pylon calls it (signed requests)."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from pylon_dagster.assets.analytics import build_account_summary
from pylon_dagster.pylon.client import Record
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.webapp.app import CUSTOM_APP_PATH
from pylon_dagster.webapp.sidebar import NO_DATA, format_duration
from pylon_dagster.webapp.signatures import sign
from pylon_dagster_tests.webapp.conftest import (
    APP_SECRET,
    HEADER,
    PylonCaller,
    load,
)
from pylon_dagster_tests.webapp.schema_check import schema_errors
from pylon_emulator import Dataset
from pylon_emulator.dataset import mini_person


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def issues_of(dataset: Dataset, account_id: str) -> list[Record]:
    return [i for i in dataset.issues if (i["account"] or {}).get("id") == account_id]


def newest_first(issues: list[Record]) -> list[Record]:
    return sorted(issues, key=lambda i: (at(i["created_at"]), i["number"]), reverse=True)


def accounts_by_size(dataset: Dataset) -> list[str]:
    counts = Counter((i["account"] or {}).get("id") for i in dataset.issues)
    return [account for account, _ in counts.most_common() if account is not None]


def account_of(dataset: Dataset, account_id: str) -> Record:
    return next(account for account in dataset.accounts if account["id"] == account_id)


def fetch_params(**ids: str) -> dict[str, str]:
    base = {"request_type": "fetch_data", "app_id": "app_1", "widget_id": "widget_1"}
    return {**base, "organization_id": "org_1", **ids}


def issue_params(issue: Record, **overrides: str) -> dict[str, str]:
    ids = {
        "issue_id": issue["id"],
        "account_id": issue["account"]["id"],
        "requester_id": issue["requester"]["id"],
        "requester_email": issue["requester"]["email"] or "",
    }
    return fetch_params(**{**ids, **overrides})


def fetch(pylon: PylonCaller, params: dict[str, str]) -> dict[str, Any]:
    response = pylon.get(params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert schema_errors(payload) == []
    return payload


def cards(payload: dict[str, Any]) -> dict[str, list[Record]]:
    return {c["header"]["title"]: c["components"] for c in payload["components"]}


def texts(components: list[Record]) -> dict[str, str]:
    return {c["label"]: c["value"] for c in components if c["type"] == "text"}


def badge(components: list[Record], label: str) -> list[str] | None:
    found = [c for c in components if c["type"] == "badge" and c["label"] == label]
    return [item["value"] for item in found[0]["items"]] if found else None


def issue_entries(components: list[Record]) -> list[list[Record]]:
    """The components of each issue in a list (issues are separated by dividers)."""
    entries: list[list[Record]] = [[]]
    for component in components:
        if component["type"] == "divider":
            entries.append([])
        else:
            entries[-1].append(component)
    return entries


def assert_issue_list(components: list[Record], expected: list[Record]) -> None:
    entries = issue_entries(components)
    assert len(entries) == len(expected)
    for entry, issue in zip(entries, expected, strict=True):
        by_type = {c["type"]: c for c in entry if c["type"] != "badge"}
        assert by_type["text"]["label"] == f"#{issue['number']} · {issue['state']}"
        assert by_type["text"]["value"] == issue["title"]
        assert at(by_type["date_time"]["value"]) == at(issue["created_at"]).replace(microsecond=0)
        assert by_type["button"]["url"] == issue["link"]
        assert badge(entry, "Tags") == (issue["tags"] or None)


def test_handshake_answers_json_by_default(pylon: PylonCaller) -> None:
    for accept in (None, "application/json", "*/*"):
        response = pylon.get({"request_type": "verify", "code": "0bcb6f583f0e3ca5"}, accept=accept)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"code": "0bcb6f583f0e3ca5"}


def test_handshake_answers_plain_text_when_preferred(pylon: PylonCaller) -> None:
    response = pylon.get(
        {"request_type": "verify", "code": "0bcb6f583f0e3ca5"}, accept="text/plain"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/plain"
    assert response.text == "0bcb6f583f0e3ca5"


def test_signature_covers_go_json_bytes(http: httpx.Client) -> None:
    # The payload Pylon's Go code signs for this query, written out by hand.
    signed = '{"code":["a\\u003cb\\u003e\\u0026c d"],"request_type":["verify"]}'
    response = http.get(
        CUSTOM_APP_PATH,
        params={"request_type": "verify", "code": "a<b>&c d"},
        headers={"X-Pylon-Signature": sign(APP_SECRET, signed.encode()), HEADER[0]: HEADER[1]},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"code": "a<b>&c d"}


@pytest.mark.parametrize(
    "tamper",
    ["no signature", "wrong secret", "other query", "no header", "wrong header"],
)
def test_unauthenticated_requests_get_401(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller, tamper: str
) -> None:
    load(warehouse, dataset)
    issue = newest_first(issues_of(dataset, accounts_by_size(dataset)[0]))[0]
    params = issue_params(issue)
    assert pylon.get(params).status_code == 200  # the untampered request passes
    if tamper == "other query":
        headers = {"X-Pylon-Signature": pylon.get(params).request.headers["X-Pylon-Signature"]}
        response = pylon.client.get(
            CUSTOM_APP_PATH,
            params={**params, "account_id": accounts_by_size(dataset)[1]},
            headers={**headers, HEADER[0]: HEADER[1]},
        )
    else:
        response = pylon.get(
            params,
            secret={"no signature": None, "wrong secret": "not-the-secret"}.get(tamper, APP_SECRET),
            header={"no header": None, "wrong header": (HEADER[0], "nope")}.get(tamper, HEADER),
        )
    assert response.status_code == 401
    assert issue["title"] not in response.text


def test_fetch_data_shows_the_account_and_the_requester(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    load(warehouse, dataset)
    tagged = {a["id"]: a for a in dataset.accounts if a["tags"]}
    account = tagged[next(a for a in accounts_by_size(dataset) if a in tagged)]
    account_issues = issues_of(dataset, account["id"])
    per_requester = Counter(i["requester"]["id"] for i in account_issues)
    issue = next(
        i
        for i in newest_first(account_issues)
        if per_requester[i["requester"]["id"]] > 1 and i["requester"]["email"]
    )
    contact = next(c for c in dataset.contacts if c["id"] == issue["requester"]["id"])

    shown = cards(fetch(pylon, issue_params(issue)))

    summary = shown[account["name"]]
    open_states = Counter(i["state"] for i in account_issues if i["state"] != "closed")
    recent = [i for i in account_issues if at(i["created_at"]) >= dataset.now - timedelta(days=90)]
    assert len(recent) < len(account_issues)  # the 90-day window really cuts

    def median(field: str) -> str:
        values = [i[field] for i in recent if i[field] is not None]
        return format_duration(statistics.median(values)) if values else NO_DATA

    assert texts(summary) == {
        "Open issues": str(sum(open_states.values())),
        "Issues in the last 90 days": str(len(recent)),
        "Median first response (90 days)": median("first_response_seconds"),
        "Median resolution (90 days)": median("resolution_seconds"),
    }
    assert sorted(badge(summary, "Open by state")) == sorted(
        f"{state}: {n}" for state, n in open_states.items()
    )
    assert badge(summary, "Account tags") == account["tags"]
    assert_issue_list(shown["Latest issues"], newest_first(account_issues)[:5])
    requester_issues = [i for i in account_issues if i["requester"]["id"] == contact["id"]]
    assert_issue_list(shown[f"Requester: {contact['name']}"], newest_first(requester_issues)[:5])

    # Without a requester id, the requester is matched by email (in any case).
    email = contact["email"].upper()
    shown = cards(fetch(pylon, issue_params(issue, requester_id="", requester_email=email)))
    assert_issue_list(shown[f"Requester: {email}"], newest_first(requester_issues)[:5])


def test_without_issue_id_the_account_view_is_shown(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    load(warehouse, dataset)
    account_id = accounts_by_size(dataset)[1]
    account = account_of(dataset, account_id)
    account_issues = issues_of(dataset, account_id)

    shown = cards(fetch(pylon, fetch_params(account_id=account_id)))

    assert list(shown) == [account["name"], "Latest issues"]
    open_count = sum(i["state"] != "closed" for i in account_issues)
    assert texts(shown[account["name"]])["Open issues"] == str(open_count)
    assert_issue_list(shown["Latest issues"], newest_first(account_issues)[:5])


def test_unknown_ids_get_a_friendly_card(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    load(warehouse, dataset)
    unknown_issue, unknown_account = str(uuid.uuid4()), str(uuid.uuid4())

    shown = cards(fetch(pylon, fetch_params(issue_id=unknown_issue, account_id=unknown_account)))
    assert list(shown) == ["Unknown account"]

    assert list(cards(fetch(pylon, fetch_params()))) == ["No account"]

    # A new issue of a known account: the account is shown, with a note about the issue.
    account_id = accounts_by_size(dataset)[0]
    account = account_of(dataset, account_id)
    shown = cards(fetch(pylon, fetch_params(issue_id=unknown_issue, account_id=account_id)))
    assert list(shown) == ["Not synced yet", account["name"], "Latest issues"]


def test_never_shows_another_accounts_issues(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    account_a, account_b = accounts_by_size(dataset)[:2]
    issue = newest_first(issues_of(dataset, account_a))[0]
    b_issues = issues_of(dataset, account_b)
    for b_issue in b_issues:
        b_issue["title"] = f"Only for account B #{b_issue['number']}"
    # The same requester also has an issue in account B: it must not show under A either.
    b_issues[0]["requester"] = mini_person(
        next(c for c in dataset.contacts if c["id"] == issue["requester"]["id"])
    )
    load(warehouse, dataset)
    b_name = next(a["name"] for a in dataset.accounts if a["id"] == account_b)
    account_a_name = next(a["name"] for a in dataset.accounts if a["id"] == account_a)

    def assert_nothing_of_b(body: str) -> None:
        assert b_name not in body
        for b_issue in b_issues:
            assert b_issue["id"] not in body
            assert b_issue["title"] not in body
            assert f'"{b_issue["link"]}"' not in body

    response = pylon.get(issue_params(issue))
    assert response.status_code == 200
    assert issue["title"] in response.text  # the view itself is not empty
    assert_nothing_of_b(response.text)

    # Pylon names account A but the issue is B's in the warehouse: trust neither, show neither.
    response = pylon.get(issue_params(b_issues[1], account_id=account_a))
    assert list(cards(response.json())) == ["Account mismatch"]
    assert_nothing_of_b(response.text)
    for a_issue in issues_of(dataset, account_a):
        assert a_issue["title"] not in response.text

    # A requester other than the issue's: the account is shown, the requester's issues are not.
    other = next(
        i
        for i in issues_of(dataset, account_a)
        if i["requester"]["email"] and i["requester"] != issue["requester"]
    )
    for requester in (
        {"requester_id": other["requester"]["id"], "requester_email": ""},
        {"requester_id": "", "requester_email": other["requester"]["email"]},
    ):
        shown = cards(fetch(pylon, issue_params(issue, **requester)))
        assert list(shown) == [account_a_name, "Latest issues"]


def test_unknown_request_type_is_a_bad_request(pylon: PylonCaller) -> None:
    assert pylon.get({"request_type": "delete_everything"}).status_code == 400
    assert pylon.get({"request_type": "verify"}).status_code == 400


def test_hostile_records_and_parameters_get_a_valid_sidebar(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    """A BC creation date, a year before 1000, tags that are null or objects: a valid card, never
    a 500. A NUL byte or an absurdly long parameter: a 400 that does not echo the value."""
    account_id = accounts_by_size(dataset)[0]
    bc, early, odd_tags = (dict(i) for i in newest_first(issues_of(dataset, account_id))[:3])
    bc["created_at"] = "0044-03-15T12:00:00Z"  # rewritten to a BC date below
    early["created_at"] = "0999-12-31T23:59:59Z"
    odd_tags["tags"] = [None, {"evil": "object"}, "  ", "vip"]
    hostile = {r["id"]: r for r in (bc, early, odd_tags)}
    load(warehouse, replace(dataset, issues=[hostile.get(i["id"], i) for i in dataset.issues]))
    with warehouse.transaction() as tx:
        issues = f"{warehouse.schema_name}.issues"
        # Postgres takes a date Python cannot hold; only the three are left in the account, so
        # all of them are among its latest issues whatever their dates.
        tx.connection.exec_driver_sql(
            f"UPDATE {issues} SET created_at = '0044-03-15 12:00:00+00 BC' WHERE id = '{bc['id']}'"
        )
        kept = ", ".join(f"'{key}'" for key in hostile)
        tx.connection.exec_driver_sql(
            f"DELETE FROM {issues} WHERE account_id = '{account_id}' AND id NOT IN ({kept})"
        )
    build_account_summary(warehouse, dataset.now)

    shown = cards(fetch(pylon, fetch_params(account_id=account_id)))
    entries = {entry[0]["value"]: entry for entry in issue_entries(shown["Latest issues"])}
    assert "date_time" not in {c["type"] for c in entries[bc["title"]]}
    (early_date,) = [c["value"] for c in entries[early["title"]] if c["type"] == "date_time"]
    assert early_date == "0999-12-31T23:59:59Z"
    assert badge(entries[odd_tags["title"]], "Tags") == ["vip"]

    for bad in ({"account_id": account_id + "\x00"}, {"requester_email": "x" * 1000 + "@a.b"}):
        refused = pylon.get(fetch_params(**bad))
        assert refused.status_code == 400 and bad.popitem()[1] not in refused.text


def test_a_huge_title_is_shortened_to_fit_the_sidebar(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    account_id = accounts_by_size(dataset)[0]
    newest = dict(newest_first(issues_of(dataset, account_id))[0])
    newest["title"] = "A" * 100_000
    issues = [newest if i["id"] == newest["id"] else i for i in dataset.issues]
    load(warehouse, replace(dataset, issues=issues))

    entries = issue_entries(
        cards(fetch(pylon, fetch_params(account_id=account_id)))["Latest issues"]
    )
    title = entries[0][0]["value"]
    assert title.startswith("AAAA") and title.endswith("…") and len(title) <= 500
