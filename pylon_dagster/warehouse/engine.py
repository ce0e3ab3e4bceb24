"""Warehouse engines: one per process and URL, bounded waits, and clear errors (the URL itself is
checked by `settings.parse_warehouse_url`).

Messages never contain the password: URLs are shown with `***` in its place, and the driver's own
message is scrubbed of it too. Nor do they contain a statement's parameters (row values, a
sidebar requester's e-mail): every engine is created with SQLAlchemy's `hide_parameters`.

Every wait on the database is bounded by Postgres's own `lock_timeout` and `statement_timeout`,
set per transaction with the bounds of its use (`Waits`), and a wait that runs out is one line
naming what was waited for (`WarehouseWaitError`), not a driver traceback.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pylon_dagster.redaction import masked_url, redact, url_secrets
from pylon_dagster.settings import EXAMPLE_WAREHOUSE_URL, SCHEMA_VAR, WAREHOUSE_URL_VAR

CONNECT_DEFAULTS = {"connect_timeout": 10, "application_name": "pylon-dagster"}
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
INSUFFICIENT_PRIVILEGE = "42501"


class WarehouseUnavailableError(RuntimeError):
    """The warehouse server cannot be reached (or, embedded, cannot be started)."""


class WarehouseWaitError(WarehouseUnavailableError):
    """A statement gave up waiting: for a lock another session holds (`lock_timeout`), or for
    its own end (`statement_timeout`)."""


class WarehousePrivilegeError(WarehouseUnavailableError):
    """The warehouse role lacks a privilege the project needs (a schema to create, to use)."""


@dataclass(frozen=True)
class Waits:
    """How long one use of the warehouse may wait, as Postgres's own timeouts (seconds)."""

    lock_seconds: float
    statement_seconds: float

    def as_settings(self) -> dict[str, str]:
        return {
            "lock_timeout": f"{round(self.lock_seconds * 1000)}ms",
            "statement_timeout": f"{round(self.statement_seconds * 1000)}ms",
        }


_SET_WAITS = sa.text(
    "SELECT set_config('lock_timeout', :lock_timeout, true), "
    "set_config('statement_timeout', :statement_timeout, true)"
)


def describe(url: sa.URL) -> str:
    """`url` for messages and reports: its password and secret-looking query parameters
    (`?password=`) as `***`."""
    return masked_url(url.render_as_string(hide_password=False))


_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


def connect_args(url: sa.URL) -> dict[str, object]:
    """Defaults a URL can override: a dead host fails in seconds instead of hanging, and the
    server's activity view names us."""
    return {k: v for k, v in CONNECT_DEFAULTS.items() if k not in url.query}


def create_engine(url: sa.URL, **options: object) -> sa.Engine:
    """An engine whose errors never show a statement's parameters."""
    return sa.create_engine(url, hide_parameters=True, **options)


def get_engine(url: sa.URL) -> sa.Engine:
    """The process's engine for `url`, created on first use."""
    key = url.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            # pre_ping: a pooled connection may outlive a restart of the server.
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args(url))
            _engines[key] = engine
        return engine


def _forget_engines_after_fork() -> None:
    """A forked child must not reuse its parent's sockets: it gets fresh engines."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)


def _reason(engine: sa.Engine, err: sa_exc.DBAPIError) -> str:
    """The driver's message on one line, without the password."""
    reason = " ".join(str(err.orig or err).split())
    return redact(reason, url_secrets(engine.url.render_as_string(hide_password=False)))


def unavailable(engine: sa.Engine, err: sa_exc.DBAPIError) -> WarehouseUnavailableError:
    """The friendly error for a warehouse that cannot be reached (or was lost mid-statement)."""
    return WarehouseUnavailableError(
        f"Cannot connect to the warehouse at {describe(engine.url)}: {_reason(engine, err)}. "
        f"Check that the server is running and reachable and that {WAREHOUSE_URL_VAR} is right "
        f"(e.g. {EXAMPLE_WAREHOUSE_URL}), or unset it to use the embedded Postgres."
    )


def connect(engine: sa.Engine) -> sa.Connection:
    """A connection, or `WarehouseUnavailableError` saying where we tried and what to do."""
    try:
        return engine.connect()
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as err:
        raise unavailable(engine, err) from None


@contextmanager
def disconnects_reported(engine: sa.Engine) -> Iterator[None]:
    """A connection lost inside the block (the server restarted or went away mid-statement)
    becomes the friendly `WarehouseUnavailableError`."""
    try:
        yield
    except sa_exc.DBAPIError as err:
        if not err.connection_invalidated:
            raise
        raise unavailable(engine, err) from None


@contextmanager
def privileges_reported(engine: sa.Engine, schema: str) -> Iterator[None]:
    """A statement inside the block refused for want of a privilege becomes one
    `WarehousePrivilegeError` saying what to grant."""
    try:
        yield
    except sa_exc.ProgrammingError as err:
        if _sqlstate(err) != INSUFFICIENT_PRIVILEGE:
            raise
        role = engine.url.username or "(the URL's user)"
        raise WarehousePrivilegeError(
            f"The warehouse role {role} may not create or use the schema {schema} "
            f"({_first_line(err)}). As the schema's owner or a superuser, give it the schema: "
            f"CREATE SCHEMA {schema} AUTHORIZATION {role}; (or, if it exists, ALTER SCHEMA "
            f"{schema} OWNER TO {role};), or set {SCHEMA_VAR} to a schema it owns."
        ) from None


def _sqlstate(err: sa_exc.DBAPIError) -> str | None:
    return getattr(err.orig, "sqlstate", None)


def _first_line(err: sa_exc.DBAPIError) -> str:
    return str(err.orig).splitlines()[0] if err.orig and str(err.orig) else ""


def database_error(err: sa_exc.DBAPIError) -> str:
    """What the server said, in one line: its error class and the message's first line (the
    lines below can quote the statement or a row; the parameters are never shown)."""
    return f"{type(err.orig or err).__name__}: {_first_line(err)}"


def wait_error(err: sa_exc.DBAPIError, waited_for: str, waits: Waits) -> WarehouseWaitError | None:
    """What `err` says in one line if it is a timeout of `waits`, else None.

    `waited_for` names the thing, e.g. "the rate budget table pylon_rate_limits"."""
    state, first_line = _sqlstate(err), _first_line(err)
    if state == LOCK_NOT_AVAILABLE:
        # Postgres names the relation of a row lock ("while locking tuple ... in relation").
        context = getattr(getattr(err.orig, "diag", None), "context", None)
        said = "; ".join(filter(None, [first_line, " ".join((context or "").split())]))
        return WarehouseWaitError(
            f"{waited_for} is locked by another session: gave up after {waits.lock_seconds:g} s "
            f"(lock_timeout; Postgres said: {said}). Find the session holding it in "
            "pg_stat_activity (often a transaction left open), end it, and try again."
        )
    if state == QUERY_CANCELED and "statement timeout" in first_line:
        return WarehouseWaitError(
            f"{waited_for} did not answer within {waits.statement_seconds:g} s "
            "(statement_timeout): the warehouse is overloaded, or another session holds what "
            "the statement needs. Look in pg_stat_activity, then try again."
        )
    return None


def bound_every_connection(engine: sa.Engine, waits: Waits) -> None:
    """Every connection `engine` opens waits at most `waits`, set once as it opens: for an
    engine of one use whose statements run outside transactions (no `SET LOCAL` then)."""

    @sa.event.listens_for(engine, "connect")
    def _bound(dbapi_connection: Any, _record: object) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %(lock_timeout)s, false), "
                "set_config('statement_timeout', %(statement_timeout)s, false)",
                waits.as_settings(),
            )
        dbapi_connection.commit()


@contextmanager
def waiting_for(waited_for: str, waits: Waits) -> Iterator[None]:
    """A wait of `waits` that runs out inside the block raises `WarehouseWaitError` naming
    `waited_for` (e.g. "the rate budget table pylon_rate_limits")."""
    try:
        yield
    except sa_exc.OperationalError as err:
        error = wait_error(err, waited_for, waits)
        if error is None:
            raise
        raise error from None


@contextmanager
def bounded_waits(connection: sa.Connection, waits: Waits, waited_for: str) -> Iterator[None]:
    """Bound the waits of the connection's current transaction by `waits` (`waiting_for`)."""
    connection.execute(_SET_WAITS, waits.as_settings())
    with waiting_for(waited_for, waits):
        yield
