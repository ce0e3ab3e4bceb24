"""Hostile and surprising data served by the emulator, synced into Postgres.

Strings with NUL bytes and lone surrogates, a 1 MB HTML body, SQL metacharacters in every text
field, custom-field slugs that are not identifiers, records missing optional fields or carrying
unexpected types. Each is stored intact in `raw`, except what Postgres cannot hold, which follows
the warehouse's documented rule (U+0000 and lone surrogates become U+FFFD) and is counted in
`rows_sanitized`. Never an injection, never a crashed run.
"""

from __future__ import annotations

import copy
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster_tests.fixtures.emulator import (
    EMULATOR_DAYS,
    EMULATOR_NOW,
    EMULATOR_SEED,
    EMULATOR_TIME_SCALE,
)
from pylon_dagster_tests.fixtures.pipeline import SYNCED_STREAMS, Pipeline
from pylon_dagster_tests.reliability.helpers import DATA_END, FULL_START, try_sync
from pylon_emulator import PylonEmulator, generate
from pylon_emulator.dataset import Dataset

SQL = "'; DROP TABLE issues; -- \" $$ $1 %s %(x)s {0} \\ E'\\x27' /* */ `\t\r\n"
NUL = "before\x00after"
SURROGATE = "lone \ud800 high and \udfff low"
HTML_MB = "<html><body>" + "<p>Ünïcødé &amp; <b>bold</b> 🚀</p>\n" * 25_000 + "</body></html>"
SLUGS = ("Öffnungs-Zeit (h)", "1st; DROP TABLE x; --", "has space", "a.b", "", '"quoted"')
# Fields that identify or order records in the emulator: left alone.
KEEP = frozenset({"id", "created_at", "updated_at", "timestamp", "number", "slug"})
REPLACEMENT = "\ufffd"


def _sql_everywhere(record: dict[str, Any]) -> None:
    """Every text field (but ids and timestamps), at any depth, gets SQL metacharacters."""

    def walk(value: Any, key: str | None) -> Any:
        if isinstance(value, str):
            return value if key in KEEP else value + SQL
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        return value

    record.update(walk(record, None))


def hostile_dataset() -> tuple[Dataset, dict[str, set[str]]]:
    """The usual small dataset with hostile records planted, and the ids the rule must change."""
    data = generate(EMULATOR_SEED, 40, now=EMULATOR_NOW, days=EMULATOR_DAYS)
    issues = sorted(data.issues, key=lambda issue: issue["id"])
    sanitized: dict[str, set[str]] = {"issues": set(), "issue_messages": set()}

    issues[0]["title"] = NUL
    issues[0]["body_html"] = SURROGATE
    sanitized["issues"].add(issues[0]["id"])
    issues[1]["body_html"] = HTML_MB
    _sql_everywhere(issues[2])
    # Missing optional fields and unexpected types.
    for name in ("assignee", "team", "tags", "custom_fields", "first_response_seconds", "source"):
        issues[3].pop(name, None)
    issues[4].update(
        tags="not-a-list",
        number_of_touches="seven",
        customer_portal_visible="yes",
        first_response_seconds="fast",
        resolution_seconds=[1, 2],
        account="acc-as-a-string",
        requester=["not", "an", "object"],
        custom_fields=["not", "a", "dict"],
        first_response_time="not a time",
        latest_message_time=12345,
        state=None,
        title=None,
    )
    issues[5]["custom_fields"] = {slug: {"value": slug + SQL} for slug in SLUGS}
    # `{"\x00": ...}`: a key Postgres cannot hold either.
    issues[6]["custom_fields"] = {"nul\x00key": {"value": "v"}}
    sanitized["issues"].add(issues[6]["id"])

    with_messages = [i["id"] for i in issues if data.messages.get(i["id"])]
    first, second = with_messages[0], with_messages[1]
    data.messages[first][0]["message_html"] = HTML_MB + NUL
    sanitized["issue_messages"].add(data.messages[first][0]["id"])
    data.messages[second][0]["message_html"] = SQL + SURROGATE
    sanitized["issue_messages"].add(data.messages[second][0]["id"])
    _sql_everywhere(data.messages[second][-1])

    for account in data.accounts[:2]:
        _sql_everywhere(account)
    data.accounts[2].pop("domain", None)
    data.accounts[2]["tags"] = {"not": "a list"}
    _sql_everywhere(data.contacts[0])
    data.contacts[1]["email"] = 42
    for field, slug in zip(data.custom_fields, SLUGS, strict=False):
        field["slug"] = slug or " "
        field["label"] = (field.get("label") or "") + SQL
    return data, sanitized


@pytest.fixture
def planted() -> tuple[Dataset, dict[str, set[str]]]:
    return hostile_dataset()


@pytest.fixture
def emulator(planted) -> PylonEmulator:
    """Overrides the shared fixture: the same emulator, serving the hostile dataset."""
    return PylonEmulator(copy.deepcopy(planted[0]), time_scale=EMULATOR_TIME_SCALE)


def _by_the_rule(value: Any) -> Any:
    """The warehouse's documented rule, written out independently of its code."""
    if isinstance(value, str):
        return "".join(
            REPLACEMENT if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value
        )
    if isinstance(value, dict):
        return {_by_the_rule(k): _by_the_rule(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_by_the_rule(v) for v in value]
    return value


def _metadata_total(pipeline: Pipeline, table: str, name: str) -> int:
    """`name` summed over the runs that materialized `table` (a multi-partition run reports the
    same metadata on each of its partitions, so each run counts once)."""
    records = pipeline.instance.fetch_materializations(
        dg.AssetKey(["pylon", table]), limit=10_000
    ).records
    per_run = {r.run_id: r.asset_materialization.metadata[name].value for r in records}
    return sum(per_run.values())


def test_hostile_records_are_stored_intact_or_by_the_rule_and_counted(pipeline: Pipeline, planted):
    _, sanitized = planted
    runs = try_sync(pipeline, FULL_START, DATA_END)
    assert runs and all(run.success for run in runs), [run.error for run in runs]

    for stream in SYNCED_STREAMS:
        truth = pipeline.truth(stream)
        expected = {key: _by_the_rule(record) for key, record in truth.items()}
        assert pipeline.rows(stream) == expected, stream
        # Only the planted NULs and surrogates were changed; everything else is byte for byte.
        changed = {key for key, record in truth.items() if expected[key] != record}
        assert changed == sanitized.get(stream, set()), stream

    assert _metadata_total(pipeline, "issues", "rows_sanitized") == len(sanitized["issues"])
    assert _metadata_total(pipeline, "issue_messages", "rows_sanitized") == len(
        sanitized["issue_messages"]
    )


def test_sql_metacharacters_are_data_not_sql(pipeline: Pipeline):
    runs = try_sync(pipeline, FULL_START, DATA_END)
    assert runs and all(run.success for run in runs), [run.error for run in runs]

    schema = pipeline.warehouse.schema_name
    with pipeline.warehouse.engine.connect() as connection:
        titles = connection.execute(
            sa.text(f'SELECT title FROM "{schema}".issues WHERE title LIKE :pattern'),
            {"pattern": "%DROP TABLE issues%"},
        ).scalars()
        assert [t for t in titles if t.endswith(SQL)], "the typed column should hold the text"
        names = connection.execute(
            sa.text(f'SELECT name FROM "{schema}".accounts WHERE name LIKE :pattern'),
            {"pattern": "%DROP TABLE%"},
        ).scalars()
        assert len(list(names)) == 2
        slugs = {
            raw["slug"]
            for raw in connection.execute(
                sa.text(f'SELECT raw FROM "{schema}".custom_fields')
            ).scalars()
        }
    assert set(SLUGS) - {""} <= slugs
    # Every table is still there and whole.
    for stream in SYNCED_STREAMS:
        assert len(pipeline.rows(stream)) == len(pipeline.truth(stream)), stream
