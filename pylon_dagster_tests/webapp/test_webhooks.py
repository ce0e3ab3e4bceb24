"""The webhook receiver over real HTTP, and the sensor that turns stored events into runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import httpx
import pytest

from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.automation.webhooks import (
    BYTES_PER_TICK,
    build_webhook_events_sensor,
    issue_refs,
)
from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.webhook_events import StoredEvent, WebhookEventStore
from pylon_dagster.webapp.app import MAX_WEBHOOK_BYTES, WEBHOOK_PATH
from pylon_dagster.webapp.signatures import sign
from pylon_dagster_tests.fixtures.settings import settings_with
from pylon_dagster_tests.webapp.conftest import WEBHOOK_SECRET


def post(
    http: httpx.Client,
    body: bytes,
    *,
    secret: str | None = WEBHOOK_SECRET,
    header: str = "X-Pylon-Signature",
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[header] = sign(secret, body)
    return http.post(WEBHOOK_PATH, content=body, headers=headers)


def event(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def stored(warehouse: PostgresWarehouse) -> list[StoredEvent]:
    return WebhookEventStore(warehouse.engine, warehouse.schema_name).events_after(0, 100, 2**30)


def evaluate(
    warehouse: PostgresWarehouse, cursor: str | None, settings: Settings | None = None
) -> dg.SensorResult | dg.SkipReason:
    """One tick of the sensor built from `settings` (by default, the tests' settings)."""
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources={"warehouse": warehouse}
    )
    settings = settings or settings_with()
    sensor = build_webhook_events_sensor(settings, issue_partitions(settings.start_date))
    return sensor(context)


def test_bad_signatures_are_refused_and_nothing_is_stored(
    warehouse: PostgresWarehouse, http: httpx.Client
) -> None:
    body = event(event="issue_updated", issue_id="i-1")
    assert post(http, body, secret=None).status_code == 401
    assert post(http, body, secret="not-the-secret").status_code == 401
    forged = {"X-Pylon-Signature": sign(WEBHOOK_SECRET, b"{}"), "Content-Type": "application/json"}
    assert http.post(WEBHOOK_PATH, content=body, headers=forged).status_code == 401
    assert stored(warehouse) == []


def test_an_oversized_body_is_refused(warehouse: PostgresWarehouse, http: httpx.Client) -> None:
    body = event(issue_id="i-1", padding="x" * MAX_WEBHOOK_BYTES)
    assert post(http, body).status_code == 413
    assert stored(warehouse) == []


def test_a_redelivered_event_is_stored_once(
    warehouse: PostgresWarehouse, http: httpx.Client, now: datetime
) -> None:
    body = event(event="issue_updated", issue_id="i-1", issue_title="Ça <marche> & 🚀")
    first = post(http, body)
    again = post(http, body, header="Pylon-Webhook-Signature")
    assert (first.status_code, first.json()) == (200, {"stored": True})
    assert (again.status_code, again.json()) == (200, {"stored": False})
    events = stored(warehouse)
    assert [e.body for e in events] == [body]
    assert events[0].received_at == now


def test_sensor_requests_the_receipt_day_of_events_naming_issues(
    warehouse: PostgresWarehouse, http: httpx.Client, now: datetime
) -> None:
    for body in (
        event(event="issue_updated", issue_id="i-1"),
        event(event="issue_tags_changed", issue={"id": "i-2", "tags": ["vip"]}),
        event(event="ping"),
        b"not json",
    ):
        assert post(http, body).status_code == 200
    last_id = stored(warehouse)[-1].id

    result = evaluate(warehouse, cursor=None)
    assert isinstance(result, dg.SensorResult)
    day = now.date().isoformat()
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [
        (day, f"webhook:{day}:{last_id}")
    ]
    assert result.cursor == str(last_id)

    assert isinstance(evaluate(warehouse, cursor=result.cursor), dg.SkipReason)

    assert post(http, event(event="ping", at="later")).status_code == 200
    result = evaluate(warehouse, cursor=result.cursor)
    assert isinstance(result, dg.SensorResult)
    assert result.run_requests == []
    assert result.cursor == str(last_id + 1)


def test_an_event_just_after_midnight_also_refreshes_the_day_before(
    warehouse: PostgresWarehouse, now: datetime
) -> None:
    warehouse.ensure_tables()
    store = WebhookEventStore(warehouse.engine, warehouse.schema_name)
    midnight = now.replace(hour=0)
    store.record(event(issue_number=42), received_at=midnight + timedelta(minutes=2))

    result = evaluate(warehouse, cursor=None)
    assert isinstance(result, dg.SensorResult)
    yesterday = (midnight - timedelta(days=1)).date().isoformat()
    assert sorted(r.partition_key for r in result.run_requests) == [
        yesterday,
        now.date().isoformat(),
    ]


def test_the_sensor_prepares_a_new_warehouse_and_skips_until_an_event_is_stored(
    warehouse: PostgresWarehouse,
) -> None:
    result = evaluate(warehouse, cursor=None)
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == "No webhook event after id 0."
    assert stored(warehouse) == []  # the table exists: Dagster set the warehouse up for the tick


@pytest.mark.parametrize(
    ("payload", "refs"),
    [
        ({"issue_id": "a", "issue_number": 7}, {"a", "7"}),
        ({"data": [{"issue": {"id": "b", "number": "8"}}]}, {"b", "8"}),
        ({"issue_id": "", "issue": {"id": None}, "issue_number": True}, set()),
        ({"event": "account_updated", "account_id": "x"}, set()),
        (["not", {"issue_id": " c "}], {"c"}),
    ],
)
def test_issue_refs(payload: Any, refs: set[str]) -> None:
    assert set(issue_refs(payload)) == refs


def test_a_tick_reads_a_bounded_number_of_bytes_and_old_processed_events_are_forgotten(
    warehouse: PostgresWarehouse, now: datetime
) -> None:
    warehouse.ensure_tables()
    store = WebhookEventStore(warehouse.engine, warehouse.schema_name)
    for n in range(4):
        store.record(event(issue_id=f"i-{n}", pad="x" * 1000), received_at=now - timedelta(days=n))
    ids = [e.id for e in store.events_after(0, 100, 2**30)]

    # Every body is about 1 kB: a 2.5 kB budget takes two; a tiny one still takes the first.
    assert [e.id for e in store.events_after(0, 100, 2500)] == ids[:2]
    assert [e.id for e in store.events_after(0, 100, 1)] == ids[:1]

    # Processed (id <= 3rd) and received more than a day before `now`: the 2nd and 3rd go.
    assert store.forget(up_to_id=ids[2], received_before=now - timedelta(hours=12)) == 2
    assert [e.id for e in store.events_after(0, 100, 2**30)] == [ids[0], ids[3]]


def test_a_sensor_tick_forgets_old_processed_events_and_reads_a_bounded_number_of_bytes(
    warehouse: PostgresWarehouse,
) -> None:
    """Events are stored with real receipt times and the sensor runs as Dagster runs it: the tick
    deletes what it processed before the retention period, keeps the rest, and stops reading at
    `BYTES_PER_TICK` so the next tick takes over from its cursor."""
    one_day = settings_with(PYLON_WEBHOOK_RETENTION_DAYS="1")
    warehouse.ensure_tables()
    store = WebhookEventStore(warehouse.engine, warehouse.schema_name)
    received_now = datetime.now(UTC)
    for n in range(2):
        store.record(event(issue_id=f"old-{n}"), received_at=received_now - timedelta(days=3))
    store.record(event(issue_id="recent"), received_at=received_now)
    processed = [e.id for e in stored(warehouse)]
    # Enough bodies of almost 1 MiB that one tick cannot read them all.
    body_padding = "x" * (MAX_WEBHOOK_BYTES - 100)
    for n in range(BYTES_PER_TICK // MAX_WEBHOOK_BYTES + 2):
        store.record(event(issue_id=f"big-{n}", pad=body_padding), received_at=received_now)
    every_event = store.events_after(0, 1000, 2**40)

    first = evaluate(warehouse, cursor=str(processed[-1]), settings=one_day)
    assert isinstance(first, dg.SensorResult)
    left = [e.id for e in every_event[2:]]
    assert [e.id for e in store.events_after(0, 1000, 2**40)] == left, "old processed events stay"
    read = [e for e in every_event if processed[-1] < e.id <= int(first.cursor or 0)]
    assert 0 < sum(len(e.body) for e in read) <= BYTES_PER_TICK
    assert int(first.cursor or 0) < every_event[-1].id

    second = evaluate(warehouse, cursor=first.cursor, settings=one_day)
    assert isinstance(second, dg.SensorResult)
    assert int(second.cursor or 0) == every_event[-1].id
    # Recent events stay for the retention period even once processed.
    assert [e.id for e in store.events_after(0, 1000, 2**40)] == left
