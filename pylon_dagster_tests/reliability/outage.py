"""A warehouse outage the test switches on and off: a TCP proxy in front of the real Postgres.

`cut()` is the server going away: open connections are dropped and new ones refused (nothing
listens on the port). `restore()` serves on the same port again, so the URL the command was given
works once more, as after a restart.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Self

import sqlalchemy as sa

ACCEPT_POLL_SECONDS = 0.1
"""How often the accepting thread looks whether it should stop (not a wait of the test's)."""


class WarehouseSwitch:
    """A proxy on 127.0.0.1 to the Postgres of `url` (a Unix socket directory or a host)."""

    def __init__(self, url: sa.URL):
        self._url = url
        host = url.query.get("host") or url.host or "127.0.0.1"
        port = int(url.query.get("port") or url.port or 5432)
        self._upstream: tuple[int, str | tuple[str, int]] = (
            (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}")
            if str(host).startswith("/")
            else (socket.AF_INET, (str(host), port))
        )
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> sa.URL:
        """The URL through the proxy: same user and database, this port."""
        return sa.URL.create(
            self._url.drivername,
            username=self._url.username,
            password=self._url.password,
            host="127.0.0.1",
            port=self.port,
            database=self._url.database,
        )

    def __enter__(self) -> Self:
        self.restore()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cut()

    def restore(self) -> None:
        """Accept connections (again) on the proxy's port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._stop = threading.Event()
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener, self._stop))
        self._thread.start()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until `restore()`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            dropped, self._open = self._open, []
        for sock in dropped:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            while not stop.is_set():
                if selector.select(ACCEPT_POLL_SECONDS):
                    client, _ = listener.accept()
                    self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        family, address = self._upstream
        server = socket.socket(family, socket.SOCK_STREAM)
        server.connect(address)
        with self._lock:
            self._open += [client, server]
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until either side closes (or the switch cuts both)."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
