"""`PostgresRateBudget`: one per-endpoint rate budget for every process on every host.

Pylon counts an organization's requests per endpoint in a sliding minute, whoever sends them, so
the budget lives where every process already connects: the warehouse. Three small tables
(declared in `warehouse/state_tables.py`, created when the warehouse is prepared):

- `pylon_rate_limits`, a row per (API host, endpoint): the `AdaptiveLimit` state (rate in force,
  ceiling, where it came from, pause, probe, waiting freshness work). Every change happens under
  that row's lock (`SELECT ... FOR UPDATE`), so concurrent processes take turns per endpoint and
  never block other endpoints. What was learned survives restarts.
- `pylon_rate_slots`, a row per request inside the current window: taken before the request,
  dated when its response arrives (the server saw it at some moment in between, so reusing the
  slot one window after the response can never land inside the server's window), or after a
  lease if its process died. Rows older than a window are deleted as requests go.
- `pylon_rate_429s`, a row per 429 Pylon answered, kept for a week: what `pylon-dagster status`
  reports as the last day's 429s.

All times are the database's clock (`clock_timestamp()`), so hosts whose clocks disagree still
share one timeline. Each request costs two short transactions; at Pylon's rates (at most five
requests a second per endpoint) that is far below what any Postgres serves.

Every wait is bounded (`BUDGET_WAITS`): the transactions hold their locks for milliseconds, so a
lock held for seconds is another session's doing (a transaction left open, a `LOCK TABLE`), and
the budget says which table instead of stalling every request of every host. State that cannot
be valid (edited rows: a NaN rate, a pause at infinity or years ahead, slots leased for a year)
is logged and repaired, never waited out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from pylon_dagster.catalog.rate_limits import RateLimitConfig
from pylon_dagster.catalog.state_tables import RATE_429S, RATE_LIMITS, RATE_SLOTS
from pylon_dagster.pylon.budget import AdaptiveLimit, Grant, Priority
from pylon_dagster.pylon.errors import PylonStoppedError
from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders
from pylon_dagster.warehouse.engine import Waits, bounded_waits, connect, disconnects_reported
from pylon_dagster.warehouse.engine import waiting_for as named_wait
from pylon_dagster.warehouse.sql import qualified

logger = logging.getLogger(__name__)

LIMITS_TABLE = RATE_LIMITS.name
SLOTS_TABLE = RATE_SLOTS.name
REJECTIONS_TABLE = RATE_429S.name
REJECTIONS_KEPT_SECONDS = 7 * 86_400
MIN_POLL_SECONDS = 0.005
MAX_LEASE_SECONDS = 3600.0
"""The longest lease a slot may carry (a request's timeouts are seconds); a slot dated further
ahead cannot be valid and is removed."""
BUDGET_WAITS = Waits(lock_seconds=10, statement_seconds=30)
"""A budget transaction holds its locks for milliseconds; even a queue of every fetch thread of
every host on one endpoint, on a loaded machine, waits well under this."""

_STATE_COLUMNS = (
    "rate",
    "ceiling",
    "source",
    "stable_since",
    "decreased_at",
    "paused_until",
    "freshness_waiting_until",
    "rate_limited_total",
)
_TIME_COLUMNS = {
    "stable_since",
    "decreased_at",
    "paused_until",
    "freshness_waiting_until",
}


class PostgresRateBudget:
    """The shared budget of one API host, kept in `schema` of the database behind `engine`."""

    def __init__(
        self,
        engine: sa.Engine,
        schema: str,
        *,
        api_host: str,
        config: RateLimitConfig,
        bulk_share: float = 0.5,
        lease_seconds: float = 120.0,
    ):
        if not 0 < bulk_share <= 1:
            raise ValueError(f"bulk_share must be in (0, 1], got {bulk_share}")
        if not 0 < lease_seconds <= MAX_LEASE_SECONDS:
            raise ValueError(f"lease_seconds must be in (0, {MAX_LEASE_SECONDS:g}]")
        self.engine = engine
        self.schema = schema
        self.api_host = api_host
        self.config = config
        self.window_seconds = config.window_seconds
        self.bulk_share = bulk_share
        self.lease_seconds = lease_seconds
        limits, slots = qualified(schema, LIMITS_TABLE), qualified(schema, SLOTS_TABLE)
        rejections = qualified(schema, REJECTIONS_TABLE)
        epoch = {c: f"extract(epoch from {c})::float8" for c in _TIME_COLUMNS}
        selected = ", ".join(f"{epoch.get(c, c)} AS {c}" for c in _STATE_COLUMNS)
        where = "api_host = :host AND endpoint = :endpoint"
        self._select_state = sa.text(
            f"SELECT {selected}, configured, window_seconds FROM {limits} WHERE {where} FOR UPDATE"
        )
        value = {
            c: f"to_timestamp(:{c})" if c in _TIME_COLUMNS else f":{c}" for c in _STATE_COLUMNS
        }
        self._write_state = sa.text(
            f"INSERT INTO {limits} (api_host, endpoint, window_seconds, configured, "
            f"{', '.join(_STATE_COLUMNS)}) VALUES (:host, :endpoint, :window_seconds, :configured, "
            f"{', '.join(value.values())}) ON CONFLICT (api_host, endpoint) DO UPDATE SET "
            "window_seconds = :window_seconds, configured = :configured, "
            f"{', '.join(f'{c} = {v}' for c, v in value.items())}, updated_at = clock_timestamp()"
        )
        self._clock = sa.text("SELECT extract(epoch from clock_timestamp())::float8")
        ends = "coalesce(done_at, lease_until)"
        impossible = f"{ends} > to_timestamp(:now + {MAX_LEASE_SECONDS})"
        self._expire = sa.text(
            f"WITH gone AS (DELETE FROM {slots} WHERE {where} "
            f"AND ({ends} <= to_timestamp(:now - :window) OR {impossible}) "
            f"RETURNING {impossible} AS impossible) "
            "SELECT count(*) FILTER (WHERE impossible) FROM gone"
        )
        self._occupancy = sa.text(
            f"SELECT count(*) AS used, "
            f"extract(epoch from min(coalesce(done_at, lease_until)))::float8 AS oldest_end "
            f"FROM {slots} WHERE {where}"
        )
        self._take = sa.text(
            f"INSERT INTO {slots} (api_host, endpoint, priority, taken_at, lease_until) "
            "VALUES (:host, :endpoint, :priority, to_timestamp(:now), to_timestamp(:now + :lease)) "
            "RETURNING id"
        )
        self._done = sa.text(
            f"UPDATE {slots} SET done_at = clock_timestamp(), status = :status WHERE id = :id"
        )
        self._accepted = sa.text(
            f"SELECT count(*) FROM {slots} WHERE {where} AND done_at IS NOT NULL "
            "AND status IS NOT NULL AND status <> 429 AND done_at > to_timestamp(:now - :window)"
        )
        self._record_429 = sa.text(
            f"INSERT INTO {rejections} (api_host, endpoint, answered_at) "
            "VALUES (:host, :endpoint, to_timestamp(:now))"
        )
        self._forget_old_429s = sa.text(
            f"DELETE FROM {rejections} WHERE {where} AND answered_at < to_timestamp(:now - :kept)"
        )

    # -- taking a slot ---------------------------------------------------------------------------

    def acquire(
        self, endpoint_key: str, priority: Priority, *, stop: threading.Event | None = None
    ) -> Grant:
        stop = stop or threading.Event()
        started = time.monotonic()
        while True:
            if stop.is_set():
                raise PylonStoppedError()
            grant, wait = self._try_acquire(endpoint_key, priority)
            if grant is not None:
                return replace(grant, waited_seconds=time.monotonic() - started)
            stop.wait(wait)

    def try_acquire(self, endpoint_key: str, priority: Priority) -> Grant | None:
        """A slot if the budget has room right now, else None (without waiting)."""
        return self._try_acquire(endpoint_key, priority)[0]

    def _try_acquire(self, endpoint_key: str, priority: Priority) -> tuple[Grant | None, float]:
        keys = {"host": self.api_host, "endpoint": endpoint_key}
        with self._transaction() as connection:
            state, now = self._locked_state(connection, endpoint_key)
            window = self.window_seconds
            removed = connection.execute(
                self._expire, {**keys, "now": now, "window": window}
            ).scalar_one()
            if removed:
                logger.warning(
                    "%s: removed %d slots of %s dated more than %g s ahead: no request is "
                    "leased that long (rows edited by hand, or a clock gone wrong)",
                    endpoint_key,
                    removed,
                    SLOTS_TABLE,
                    MAX_LEASE_SECONDS,
                )
            used, oldest_end = connection.execute(self._occupancy, keys).one()
            if (paused := state.paused_for(now)) > 0:
                return None, paused
            allowance = state.allowance(priority, now=now, bulk_share=self.bulk_share)
            if used >= allowance:
                probed = state.probed(now)
                if probed is not state:
                    self._store(connection, endpoint_key, probed)
                    state = probed
                    allowance = state.allowance(priority, now=now, bulk_share=self.bulk_share)
            if used < allowance:
                slot_id = connection.execute(
                    self._take,
                    {**keys, "priority": priority.value, "now": now, "lease": self.lease_seconds},
                ).scalar_one()
                return Grant(endpoint_key, slot_id, 0.0, state.rate, state.source, now), 0.0
            if priority is Priority.FRESHNESS:
                self._store(
                    connection, endpoint_key, replace(state, freshness_waiting_until=now + window)
                )
            # Full, so at least one slot row exists: wait until the oldest leaves the window.
            return None, max(MIN_POLL_SECONDS, min(oldest_end + window - now, window))

    # -- learning from the response ----------------------------------------------------------------

    def release(
        self,
        grant: Grant,
        *,
        status_code: int | None,
        headers: RateLimitHeaders,
        retry_after: float | None,
    ) -> None:
        with self._transaction() as connection:
            if status_code != 429 and not headers.said_anything:
                connection.execute(self._done, {"id": grant.slot_id, "status": status_code})
                return
            # The state row first, then the slot: the order `acquire` takes its locks in.
            state, now = self._locked_state(connection, grant.endpoint_key)
            connection.execute(self._done, {"id": grant.slot_id, "status": status_code})
            learned = state.after_headers(headers, now=now)
            if status_code == 429:
                keys = {"host": self.api_host, "endpoint": grant.endpoint_key, "now": now}
                connection.execute(self._record_429, keys)
                connection.execute(self._forget_old_429s, {**keys, "kept": REJECTIONS_KEPT_SECONDS})
                accepted = connection.execute(
                    self._accepted, {**keys, "window": self.window_seconds}
                ).scalar_one()
                learned = learned.after_429(
                    taken_at=grant.taken_at,
                    accepted_in_window=accepted,
                    retry_after=retry_after,
                    now=now,
                )
                if learned.rate != state.rate:
                    logger.warning(
                        "%s: Pylon answered 429; rate lowered from %s to %s for every process",
                        grant.endpoint_key,
                        state.describe(),
                        learned.describe(),
                    )
            if learned != state:
                self._store(connection, grant.endpoint_key, learned)

    def current(self, endpoint_key: str) -> AdaptiveLimit:
        """The endpoint's state as stored now (for reports and tests)."""
        with self._transaction() as connection:
            return self._locked_state(connection, endpoint_key)[0]

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """One short transaction whose waits are bounded by `BUDGET_WAITS`; a lost or unreachable
        warehouse is the friendly `WarehouseUnavailableError`."""
        with (
            connect(self.engine) as connection,
            disconnects_reported(self.engine),
            connection.begin(),
            bounded_waits(connection, BUDGET_WAITS, f"the rate budget table {SLOTS_TABLE}"),
        ):
            yield connection

    # -- state rows --------------------------------------------------------------------------------

    def _locked_state(
        self, connection: sa.Connection, endpoint_key: str
    ) -> tuple[AdaptiveLimit, float]:
        """The endpoint's state, its row locked until the transaction ends, and the time.

        The time is read once the lock is held: a clock read in the locking statement itself is
        taken before any wait for the lock, so a process that waited would stamp its slot, and
        judge which slots left the window, with a time older than those of the processes that
        went before it."""
        keys = {"host": self.api_host, "endpoint": endpoint_key}
        with named_wait(f"the rate budget table {LIMITS_TABLE}", BUDGET_WAITS):
            row = connection.execute(self._select_state, keys).mappings().first()
        configured = self.config.limits.get(endpoint_key)
        if configured is None:
            raise KeyError(f"{endpoint_key} has no rate limit configured")
        if not (
            row is not None
            and row["configured"] == configured
            and row["window_seconds"] == self.window_seconds
        ):
            # New endpoint, or the configured figures changed: start afresh from them.
            started = AdaptiveLimit.start(
                configured,
                self.config.source,
                now=connection.execute(self._clock).scalar_one(),
                window_seconds=self.window_seconds,
            )
            self._store(connection, endpoint_key, started)
            row = connection.execute(self._select_state, keys).mappings().one()
        state, now = self._state_from(row), connection.execute(self._clock).scalar_one()
        if (reason := state.implausible(now)) is not None:
            logger.warning(
                "%s: the stored rate state in %s cannot be valid (%s; rows edited by hand, or a "
                "clock gone wrong): started afresh from %s %s",
                endpoint_key,
                LIMITS_TABLE,
                reason,
                configured,
                self.config.source,
            )
            state = AdaptiveLimit.start(
                configured, self.config.source, now=now, window_seconds=self.window_seconds
            )
            self._store(connection, endpoint_key, state)
        return state, now

    def _state_from(self, row: Any) -> AdaptiveLimit:
        return AdaptiveLimit(
            **{c: row[c] for c in _STATE_COLUMNS}, window_seconds=self.window_seconds
        )

    def _store(self, connection: sa.Connection, endpoint_key: str, state: AdaptiveLimit) -> None:
        connection.execute(
            self._write_state,
            {
                "host": self.api_host,
                "endpoint": endpoint_key,
                "window_seconds": self.window_seconds,
                "configured": self.config.limits[endpoint_key],
                **{c: getattr(state, c) for c in _STATE_COLUMNS},
            },
        )
