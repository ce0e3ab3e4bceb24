"""The COPY loader on a real Postgres: write modes, atomicity, reruns and fidelity of `raw`."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from pylon_dagster.warehouse import ChildBatch, LoadResult, PostgresWarehouse
from pylon_dagster.warehouse.loader import MAX_KEY_LENGTH
from pylon_dagster_tests.warehouse.helpers import column, issue, load, rows

T1, T2, T3 = "2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z"


@pytest.fixture
def wh(warehouse: PostgresWarehouse) -> PostgresWarehouse:
    warehouse.ensure_tables()
    return warehouse


def every_table(wh: PostgresWarehouse) -> dict[str, list[dict[str, Any]]]:
    tables = ("issues", "issues_history", "issue_messages", "accounts", "child_fetch_state")
    return {table: rows(wh, table) for table in tables}


def test_merge_reports_inserted_updated_and_unchanged(wh: PostgresWarehouse):
    first = load(wh, "issues", [[issue("i1", T1), issue("i2", T1, state="new")]])
    assert first == LoadResult(received=2, inserted=2)

    second = load(wh, "issues", [[issue("i1", T1), issue("i2", T2, state="closed")]])
    assert second == LoadResult(received=2, updated=1, unchanged=1)
    assert column(wh, "issues", "state") == {"i1": None, "i2": "closed"}
    assert column(wh, "issues", "updated_at")["i2"] == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_a_stale_version_never_overwrites_a_newer_row(wh: PostgresWarehouse):
    load(wh, "issues", [[issue("i1", T2, title="newer")]])
    stale = load(wh, "issues", [[issue("i1", T1, title="older")]])
    assert stale == LoadResult(received=1, unchanged=1)
    assert column(wh, "issues", "title") == {"i1": "newer"}

    # An equal updated_at is allowed to replace the row (the API re-sent the same version).
    same_time = load(wh, "issues", [[issue("i1", T2, title="same time, new text")]])
    assert same_time.updated == 1
    assert column(wh, "issues", "title") == {"i1": "same time, new text"}


def test_duplicate_keys_in_one_load_keep_the_newest_version(wh: PostgresWarehouse):
    # The same issues in two overlapping search windows, newest first for i1.
    pages = [
        [issue("i1", T3, title="i1 newest"), issue("i2", T1, title="i2 first seen")],
        [issue("i1", T2, title="i1 older"), issue("i2", T1, title="i2 last seen")],
    ]
    result = load(wh, "issues", pages)
    assert result == LoadResult(received=4, inserted=2)
    assert column(wh, "issues", "title") == {"i1": "i1 newest", "i2": "i2 last seen"}


def test_history_keeps_each_version_once(wh: PostgresWarehouse):
    load(wh, "issues", [[issue("i1", T1), issue("i1", T2)], [issue("i2", T1)]])
    load(wh, "issues", [[issue("i1", T2)]])  # rerun: nothing new
    load(wh, "issues", [[issue("i1", T3)], [issue("i1", T1)]])  # a stale one is not new either
    versions = [(r["id"], r["updated_at"].day) for r in rows(wh, "issues_history")]
    assert versions == [("i1", 1), ("i1", 2), ("i1", 3), ("i2", 1)]

    direct = load(wh, "issues_history", [[issue("i1", T1), issue("i3", T1)]])
    assert direct == LoadResult(received=2, inserted=1, unchanged=1)


def test_replace_leaves_exactly_the_snapshot(wh: PostgresWarehouse):
    accounts = [{"id": a, "name": a.upper()} for a in ("a", "b", "c")]
    assert load(wh, "accounts", [accounts[:2], accounts[2:]]).inserted == 3

    snapshot = [{"id": "a", "name": "A renamed"}, {"id": "b", "name": "B"}, {"id": "d"}]
    result = load(wh, "accounts", [snapshot])
    assert result == LoadResult(received=3, inserted=1, updated=1, unchanged=1, deleted=1)
    assert column(wh, "accounts", "name") == {"a": "A renamed", "b": "B", "d": None}

    assert load(wh, "accounts", []) == LoadResult(deleted=3)
    assert rows(wh, "accounts") == []


def test_children_are_replaced_per_named_parent_only(wh: PostgresWarehouse):
    def message(message_id: str, text: str = "hi") -> dict[str, Any]:
        return {"id": message_id, "message_html": f"<p>{text}</p>", "timestamp": T1}

    first = [
        ChildBatch("i1", [message("m1"), message("m2")]),
        ChildBatch("i2", [message("m3")]),
    ]
    assert load(wh, "issue_messages", first) == LoadResult(received=3, inserted=3)

    # i1 lost m2 and edited m1; i2 is not named, so m3 stays; i3 is new.
    second = [ChildBatch("i1", [message("m1", "edited")]), ChildBatch("i3", [message("m4")])]
    result = load(wh, "issue_messages", second)
    assert result == LoadResult(received=2, inserted=1, updated=1, deleted=1)
    assert column(wh, "issue_messages", "issue_id") == {"m1": "i1", "m3": "i2", "m4": "i3"}

    # A parent named with no children loses them all; a message that moved is re-parented.
    third = [ChildBatch("i2", []), ChildBatch("i1", [message("m1", "edited"), message("m4")])]
    result = load(wh, "issue_messages", third)
    assert result == LoadResult(received=2, updated=1, unchanged=1, deleted=1)
    assert column(wh, "issue_messages", "issue_id") == {"m1": "i1", "m4": "i1"}


def test_a_load_that_fails_halfway_leaves_no_trace(wh: PostgresWarehouse):
    load(wh, "issues", [[issue("i1", T1)]])
    load(wh, "accounts", [[{"id": "a1"}, {"id": "a2"}]])
    load(wh, "issue_messages", [ChildBatch("i1", [{"id": "m1"}])])
    before = every_table(wh)

    def pages_then_failure(pages: list[Any]) -> Iterator[Any]:
        yield from pages
        raise ConnectionError("the API went away")

    with pytest.raises(ConnectionError), wh.transaction() as tx:
        tx.load("issues", pages_then_failure([[issue("i1", T2), issue("i9", T2)]]))
    with pytest.raises(ConnectionError), wh.transaction() as tx:
        tx.load("accounts", pages_then_failure([[{"id": "a3"}]]))
    with pytest.raises(ConnectionError), wh.transaction() as tx:
        tx.load("issue_messages", pages_then_failure([ChildBatch("i1", [])]))
    with pytest.raises(RuntimeError), wh.transaction() as tx:
        # Failing after a complete load rolls that load back too.
        tx.load("accounts", [[{"id": "a4"}]])
        raise RuntimeError("later step failed")
    assert every_table(wh) == before


def test_a_rerun_is_a_no_op(wh: PostgresWarehouse):
    issues = [[issue(f"i{n}", T1, tags=["x"], account={"id": "a"}) for n in range(5)]]
    accounts = [[{"id": f"a{n}", "name": "n", "tags": None} for n in range(4)]]
    messages = [ChildBatch(f"i{n}", [{"id": f"m{n}", "timestamp": T2}]) for n in range(3)]
    load(wh, "issues", issues)
    load(wh, "accounts", accounts)
    load(wh, "issue_messages", messages)
    before = every_table(wh)

    assert load(wh, "issues", issues) == LoadResult(received=5, unchanged=5)
    assert load(wh, "accounts", accounts) == LoadResult(received=4, unchanged=4)
    assert load(wh, "issue_messages", messages) == LoadResult(received=3, unchanged=3)
    assert every_table(wh) == before  # including _synced_at: nothing was rewritten


def test_raw_round_trips_exactly(wh: PostgresWarehouse):
    big_html = (
        "<div>" + "<p class='x'>Grüße, 日本語, emoji 🎉, quote \" and \\ backslash</p>\n" * 14_000
    )
    assert len(big_html.encode()) > 1_000_000
    record = issue(
        "i1",
        T1,
        body_html=big_html,
        title="RTL עברית, combining é, zero-width \u200b, tab\tand newline\n",
        assignee=None,
        tags=[],
        custom_fields={"plan": {"slug": "plan", "value": "pro", "values": [None, 1, 2.5]}},
        nested={"a": {"b": {"c": [{"d": None}, [1, [2, [3]]], {}]}}},
        numbers=[0, -1, 2**62, 1.5e-7, 12345678901234567890],
        empty="",
        truth=[True, False],
    )
    load(wh, "issues", [[record]])
    (stored,) = rows(wh, "issues")
    assert stored["raw"] == record
    assert stored["title"] == record["title"]


def test_new_api_fields_appear_in_raw_at_once(wh: PostgresWarehouse):
    load(wh, "issues", [[issue("i1", T1, brand_new_field={"x": [1, 2]})]])
    assert rows(wh, "issues")[0]["raw"]["brand_new_field"] == {"x": [1, 2]}


def test_unstorable_characters_are_replaced_and_counted(wh: PostgresWarehouse):
    bad = issue(
        "i1\x00",
        T1,
        title="nul\x00 and lone \ud800 surrogate",
        custom_fields={"key\udfff": ["\x00"]},
        score=float("nan"),
    )
    result = load(wh, "issues", [[bad, issue("i2", T1, title="fine")]])
    assert result == LoadResult(received=2, inserted=2, sanitized=1)
    stored = {row["id"]: row for row in rows(wh, "issues")}
    assert set(stored) == {"i1\ufffd", "i2"}
    fixed = stored["i1\ufffd"]
    assert fixed["title"] == "nul\ufffd and lone \ufffd surrogate"
    assert fixed["raw"]["title"] == fixed["title"]
    assert fixed["raw"]["custom_fields"] == {"key\ufffd": ["\ufffd"]}
    assert fixed["raw"]["score"] is None
    assert stored["i2"]["raw"] == issue("i2", T1, title="fine")


def test_sql_metacharacters_are_data(wh: PostgresWarehouse):
    nasty = [
        "x'); DROP TABLE issues; --",
        'quote " double',
        "percent %s %(name)s %% and :name and $1 and $$dollar$$",
        "back\\slash \\N tab\tnew\nline\r",
    ]
    load(wh, "accounts", [[{"id": text, "name": text} for text in nasty]])
    assert column(wh, "accounts", "name") == {text: text for text in nasty}


def test_typed_columns_of_an_unexpected_type_become_null(wh: PostgresWarehouse):
    odd = issue(
        "i1",
        "2026-02-30T00:00:00Z",  # no such day
        number="12",
        title={"not": "text"},
        state=7,
        created_at="now",
        first_response_time=1700000000,
        first_response_seconds=2.5,
        resolution_seconds=2**70,
        customer_portal_visible="true",
        tags="not-a-list",
        account="a1",
        requester={"id": {"nested": True}},
        latest_message_time="2026-03-01 10:00:00",  # no offset: UTC
    )
    assert load(wh, "issues", [[odd]]).inserted == 1
    (stored,) = rows(wh, "issues")
    nulls = [
        "number",
        "title",
        "updated_at",
        "created_at",
        "first_response_time",
        "first_response_seconds",
        "resolution_seconds",
        "customer_portal_visible",
        "tags",
        "account_id",
        "requester_id",
    ]
    assert {name: stored[name] for name in nulls} == dict.fromkeys(nulls)
    assert stored["state"] == "7"
    assert stored["latest_message_time"] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert stored["raw"] == odd
    assert rows(wh, "issues_history") == []  # no usable version, no history row

    tagged = issue("i2", T1, tags=["a", 1, None, {"o": 1}], number=3.0, account={"id": 42})
    load(wh, "issues", [[tagged]])
    assert column(wh, "issues", "tags")["i2"] == ["a", "1", None, None]
    assert column(wh, "issues", "number")["i2"] == 3
    assert column(wh, "issues", "account_id")["i2"] == "42"


def test_batches_must_fit_the_table(wh: PostgresWarehouse):
    with pytest.raises(TypeError, match="ChildBatch"):
        load(wh, "issue_messages", [[{"id": "m1"}]])
    with pytest.raises(TypeError, match="lists of records"):
        load(wh, "accounts", [ChildBatch("x", [{"id": "a1"}])])


def test_records_without_a_usable_key_are_rejected_and_the_rest_loads(
    wh: PostgresWarehouse, caplog: pytest.LogCaptureFixture
):
    unusable = [
        {"name": "no id"},
        {"id": None},
        {"id": ""},
        {"id": True},
        {"id": {"nested": 1}},
        {"id": "x" * (MAX_KEY_LENGTH + 1)},
    ]
    usable = [{"id": "a1"}, {"id": 7}, {"id": "y" * MAX_KEY_LENGTH}]

    result = load(wh, "accounts", [[*unusable[:3], usable[0]], [*unusable[3:], *usable[1:]]])

    assert result == LoadResult(received=9, inserted=3, rejected=6)
    assert sorted(row["id"] for row in rows(wh, "accounts")) == ["7", "a1", "y" * MAX_KEY_LENGTH]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("accounts: 6 record(s) without a usable 'id' were not stored")
    assert "fields name" in warning  # the first one's field names, not its values

    children = [ChildBatch("i1", [{"id": "m1"}, {"text": "no id"}])]
    assert load(wh, "issue_messages", children) == LoadResult(received=2, inserted=1, rejected=1)


def test_loads_in_parallel_threads_keep_apart(wh: PostgresWarehouse):
    def load_children(table: str) -> LoadResult:
        batches = [
            ChildBatch(f"i{n}", [{"id": f"{table}-{n}-{k}"} for k in range(50)]) for n in range(20)
        ]
        return load(wh, table, batches)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(load_children, ["issue_messages", "issue_threads"]))
    assert [r.inserted for r in results] == [1000, 1000]
    assert {r["id"].split("-")[0] for r in rows(wh, "issue_threads")} == {"issue_threads"}
