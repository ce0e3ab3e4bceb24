"""Warehouse engines: one per process and URL, and clear connection errors (the URL itself is
checked by `settings.parse_warehouse_url`).

Messages never contain the password: URLs are shown with `***` in its place, and the driver's own
message is scrubbed of it too.
"""

from __future__ import annotations

import os
import threading

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pylon_dagster.settings import EXAMPLE_WAREHOUSE_URL, WAREHOUSE_URL_VAR

CONNECT_DEFAULTS = {"connect_timeout": 10, "application_name": "pylon-dagster"}


class WarehouseUnavailableError(RuntimeError):
    """The warehouse server cannot be reached (or, embedded, cannot be started)."""


def describe(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


def connect_args(url: sa.URL) -> dict[str, object]:
    """Defaults a URL can override: a dead host fails in seconds instead of hanging, and the
    server's activity view names us."""
    return {k: v for k, v in CONNECT_DEFAULTS.items() if k not in url.query}


def get_engine(url: sa.URL) -> sa.Engine:
    """The process's engine for `url`, created on first use."""
    key = url.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            # pre_ping: a pooled connection may outlive a restart of the server.
            engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args(url))
            _engines[key] = engine
        return engine


def _forget_engines_after_fork() -> None:
    """A forked child must not reuse its parent's sockets: it gets fresh engines."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)


def connect(engine: sa.Engine) -> sa.Connection:
    """A connection, or `WarehouseUnavailableError` saying where we tried and what to do."""
    try:
        return engine.connect()
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as err:
        reason = " ".join(str(err.orig or err).split())
        if engine.url.password:
            reason = reason.replace(str(engine.url.password), "***")
        raise WarehouseUnavailableError(
            f"Cannot connect to the warehouse at {describe(engine.url)}: {reason}. Check that the "
            f"server is running and reachable and that {WAREHOUSE_URL_VAR} is right "
            f"(e.g. {EXAMPLE_WAREHOUSE_URL}), or unset it to use the embedded Postgres."
        ) from None
