"""Durable storage of received webhook events, in table `webhook_events` of the warehouse schema
(declared in `catalog/state_tables.py`, created when the warehouse is prepared).

An event is stored once per distinct body (SHA-256 of the raw bytes), so a redelivery adds
nothing. Ids are handed out and committed strictly in order (inserts take a transaction-level
advisory lock), which is what lets a reader keep "the last id processed" as its cursor: an event
with a smaller id can never become visible after a larger one was read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from pylon_dagster.catalog.state_tables import WEBHOOK_EVENTS
from pylon_dagster.warehouse.engine import connect
from pylon_dagster.warehouse.sql import qualified

TABLE = WEBHOOK_EVENTS.name


@dataclass(frozen=True)
class StoredEvent:
    id: int
    received_at: datetime
    body: bytes


class WebhookEventStore:
    def __init__(self, engine: Engine, schema: str):
        self._engine = engine
        self._schema = schema
        self._table = qualified(schema, TABLE)

    def _lock(self, connection: Connection) -> None:
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
            {"name": f"{self._schema}.{TABLE}"},
        )

    def record(self, body: bytes, received_at: datetime) -> bool:
        """Store one event; False when the same body was stored before."""
        with connect(self._engine) as connection, connection.begin():
            self._lock(connection)
            inserted = connection.execute(
                text(
                    f"INSERT INTO {self._table} (content_sha256, received_at, body) "
                    "VALUES (:sha, :received_at, :body) "
                    "ON CONFLICT (content_sha256) DO NOTHING RETURNING id"
                ),
                {"sha": hashlib.sha256(body).hexdigest(), "received_at": received_at, "body": body},
            ).first()
        return inserted is not None

    def events_after(self, event_id: int, limit: int, max_bytes: int) -> list[StoredEvent]:
        """The next events with an id above `event_id`, oldest first: at most `limit` of them and,
        past the first, no more than `max_bytes` of bodies in all."""
        with connect(self._engine) as connection:
            rows = connection.execute(
                text(
                    "SELECT id, received_at, body FROM ("
                    "  SELECT id, received_at, body, sum(octet_length(body)) OVER (ORDER BY id)"
                    f"   - octet_length(body) AS before FROM {self._table}"
                    "  WHERE id > :after ORDER BY id LIMIT :limit"
                    ") AS next_events WHERE before = 0 OR before + octet_length(body) <= :max_bytes"
                    " ORDER BY id"
                ),
                {"after": event_id, "limit": limit, "max_bytes": max_bytes},
            )
            return [StoredEvent(row.id, row.received_at, bytes(row.body)) for row in rows]

    def forget(self, up_to_id: int, received_before: datetime) -> int:
        """Delete the events already processed (id <= `up_to_id`) received before a moment.

        A redelivery of a forgotten body is stored again and refreshes its day once more:
        harmless, and the table stays the size of the retention period."""
        with connect(self._engine) as connection, connection.begin():
            return connection.execute(
                text(f"DELETE FROM {self._table} WHERE id <= :up_to AND received_at < :before"),
                {"up_to": up_to_id, "before": received_before},
            ).rowcount
