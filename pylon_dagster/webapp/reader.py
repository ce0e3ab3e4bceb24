"""Sidebars rendered from the warehouse, on a connection pool of the web app's own.

The pool is tuned for one short read per request. No transaction: a sidebar is one read-only
statement, and a transaction around it would cost a BEGIN and a ROLLBACK round trip. No ping
before each checkout (another round trip): a connection the server has dropped (a restart) fails
its statement instead, SQLAlchemy lets go of it and of the pool's older connections, and the
sidebar is read once more on a fresh one.

Every connection waits at most `SIDEBAR_WAITS` (set once, when it opens): a table locked by
another session (a `LOCK TABLE`, a migration adding a column) makes a sidebar fail in a second
with `WarehouseWaitError`, instead of holding every pooled connection while Pylon times out.
"""

from __future__ import annotations

from functools import cached_property

import sqlalchemy as sa

from pylon_dagster.catalog.metric_tables import ACCOUNT_SUPPORT_SUMMARY
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.engine import (
    Waits,
    bound_every_connection,
    connect,
    connect_args,
    create_engine,
    waiting_for,
)
from pylon_dagster.webapp.components import AppPayload
from pylon_dagster.webapp.queries import SidebarQueries
from pylon_dagster.webapp.sidebar import FetchRequest, render

POOL_SIZE = 15
"""Connections per worker process, all kept open: as many as SQLAlchemy's default pool allows
(5 kept, 10 more opened when busy), but a busy moment no longer opens and closes connections
(each one a new Postgres backend). A request beyond them waits for one to be free."""
SIDEBAR_WAITS = Waits(lock_seconds=1, statement_seconds=3)
"""A sidebar is one indexed statement of a few milliseconds; only a lock taken by another
session (the summary's own reloads lock rows, which readers do not wait for) makes it wait."""
WAITED_FOR = (
    f"a table the sidebar reads ({ACCOUNT_SUPPORT_SUMMARY.name}, issues, accounts, contacts)"
)


class SidebarReader:
    """Renders `fetch_data` requests; thread-safe (one pooled connection per render)."""

    def __init__(self, warehouse: PostgresWarehouse):
        self._warehouse = warehouse

    @cached_property
    def _engine(self) -> sa.Engine:
        # Created on first use, so each worker process of `pylon-dagster app` has its own.
        url = self._warehouse.engine.url
        engine = create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=False,
            pool_size=POOL_SIZE,
            max_overflow=0,
            connect_args=connect_args(url),
        )
        bound_every_connection(engine, SIDEBAR_WAITS)
        return engine

    def render(self, request: FetchRequest) -> AppPayload:
        """The sidebar of `request`; read a second time if the first connection was dead."""
        try:
            return self._render(request)
        except sa.exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            return self._render(request)

    def _render(self, request: FetchRequest) -> AppPayload:
        with connect(self._engine) as connection, waiting_for(WAITED_FOR, SIDEBAR_WAITS):
            return render(SidebarQueries(connection, self._warehouse.schema_name), request)

    def close(self) -> None:
        """Close the pool's connections (the app's shutdown)."""
        if "_engine" in self.__dict__:
            self._engine.dispose()
