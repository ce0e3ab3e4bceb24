"""`EmulatorServer`: a `PylonEmulator` served over HTTP by uvicorn on a real socket."""

from __future__ import annotations

from pylon_emulator.app import PylonEmulator
from pylon_emulator.serving import AppServer


class EmulatorServer(AppServer):
    """Serve `emulator` (default: a fresh `PylonEmulator()`) on `host:port`.

    Use as a context manager (`with EmulatorServer(emulator) as server: server.url`).
    """

    def __init__(
        self,
        emulator: PylonEmulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ):
        self.emulator = emulator if emulator is not None else PylonEmulator()
        super().__init__(self.emulator.app, host=host, port=port, log_level=log_level)
