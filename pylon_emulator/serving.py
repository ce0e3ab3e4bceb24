"""`AppServer`: an ASGI app served by uvicorn on a real socket (the emulator, tests of the web app).

The socket is bound and listening when the server is created (port 0 picks a free port), so
`.url` is known, and a client may connect (it waits in the backlog), before serving starts. `start()` serves from a background thread and returns once uvicorn reports
it is serving; `serve_forever()` serves from the calling thread until Ctrl-C (the CLI).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_SECONDS = 60.0  # an app startup may create tables on a first start
LISTEN_BACKLOG = 2048  # uvicorn's default


class _SignallingServer(uvicorn.Server):
    """A uvicorn server that sets an event once it is accepting requests."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.serving = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.serving.set()


class AppServer:
    """Serve an ASGI `app` on `host:port`; a context manager (`with AppServer(app) as s: s.url`).

    `lifespan="on"` runs the app's startup and shutdown handlers.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        lifespan: str = "off",
    ):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
            # Listen now: a client that connects before uvicorn's loop runs (say, right after the
            # CLI printed its URL) waits in the backlog instead of being refused.
            self._socket.listen(LISTEN_BACKLOG)
        except OSError:
            self._socket.close()
            raise
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,  # leave the host application's logging alone
            log_level=log_level,
            access_log=False,
            lifespan=lifespan,
            timeout_graceful_shutdown=2,
        )
        self._server = _SignallingServer(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Self:
        """Serve from a background thread; returns once requests are being accepted."""
        if self._thread is not None:
            raise RuntimeError(f"{self!r} was already started")
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"asgi-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        # Wake up now and then only to notice a server thread that died during startup.
        while not self._server.serving.wait(timeout=0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on {self.url} failed to start (see the log)")
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        self._socket.close()

    def serve_forever(self) -> None:
        """Serve from this (main) thread; returns after Ctrl-C once the server has shut down."""
        try:
            self._server.run(sockets=[self._socket])
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl-C it already handled by shutting down gracefully
        finally:
            self._socket.close()
