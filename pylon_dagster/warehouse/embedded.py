"""The embedded Postgres: PostgreSQL from the pgserver wheel, its data in the state folder.

Used when no `PYLON_WAREHOUSE_URL` is set, so nothing needs installing. Several processes use it
at once (Dagster webserver, daemon, code servers, run workers, the web app). pgserver makes
sharing safe: initdb and start happen under an inter-process lock (ours around pgserver's, which
does not cover creating the data directory), and a process that finds the
server already running (its `postmaster.pid` in the data directory) connects to that server.
Postgres itself refuses a second postmaster on the same data directory.

Cleanup mode: pgserver's default, "stop", stops the server when the last process that registered
a handle (a pid list in the data directory) exits. That count misses forked children (they inherit
the parent's handle without registering) and relies on a lock file under XDG_RUNTIME_DIR, which
processes started from different environments do not share; either way the server can be stopped
under a process still using it. We use cleanup mode None instead: we never stop the server, it
keeps running after the last process exits (a few MB of memory), and the next process to start
simply connects to it again. The data survives, as nothing is ever deleted. `stop_server` stops it
explicitly.

The URL is built from `postmaster.pid` (socket directory and port) rather than parsed from
pgserver's URI string, which is not URL-encoded (a state folder with a space or `#` in its path
would break it) and leaves the port to libpq's default (a `PGPORT` in the environment would send
the connection elsewhere).
"""

from __future__ import annotations

import fcntl
import signal
import threading
import time
import warnings
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from pylon_dagster.settings import EXAMPLE_WAREHOUSE_URL, WAREHOUSE_DRIVER, WAREHOUSE_URL_VAR
from pylon_dagster.warehouse.engine import WarehouseUnavailableError

STOP_TIMEOUT_SECONDS = 30
EMBEDDED_DIR = "postgres"
"""The embedded server's data directory, inside the state folder."""
# pgserver's lock is between processes; threads of one process need their own.
_lock = threading.Lock()
_urls: dict[Path, sa.URL] = {}


def _pgserver() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns on import when XDG_RUNTIME_DIR is unset (pgserver then uses /tmp).
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def server_url(data_dir: Path) -> sa.URL:
    """Start the embedded server on `data_dir` (or join the one running there); its URL."""
    data_dir = data_dir.resolve()
    with _lock:
        if data_dir not in _urls:
            _urls[data_dir] = _start(data_dir)
        return _urls[data_dir]


def _start(data_dir: Path) -> sa.URL:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        # pgserver creates the data directory before taking its own lock: two processes starting
        # at once on a fresh state folder (dagster dev's webserver and daemon) would race there.
        with (data_dir.parent / f".{data_dir.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            server = _pgserver().get_server(data_dir, cleanup_mode=None)
    except Exception as err:
        raise WarehouseUnavailableError(
            f"Could not start the embedded Postgres in {data_dir} ({err}); its log is "
            f"{data_dir / 'log'}. To use another server set {WAREHOUSE_URL_VAR}, "
            f"e.g. {EXAMPLE_WAREHOUSE_URL}."
        ) from err
    info = server.get_postmaster_info()
    host = str(info.socket_dir) if info.socket_dir else info.hostname
    return sa.URL.create(
        WAREHOUSE_DRIVER,
        username="postgres",
        database="postgres",
        query={"host": host, "port": str(info.port)},
    )


def stop_embedded_server(state: Path) -> bool:
    """Stop the embedded server of the state folder `state`; whether one was running."""
    return stop_server(state / EMBEDDED_DIR)


def stop_server(data_dir: Path) -> bool:
    """Stop the server running on `data_dir`, if any (fast shutdown: open sessions are closed);
    whether one was running.

    Meant for the end of a process's use of the server, e.g. test teardown: a `server_url` call in
    the same process afterwards still returns the URL of the stopped server.
    """
    pid_file = data_dir.resolve() / "postmaster.pid"
    info = _pgserver().utils.PostmasterInfo.read_from_pgdata(pid_file.parent)
    # A pid file left by a crash may name a pid since reused by another program.
    if info is None or info.process is None or info.process.name() != "postgres":
        return False
    info.process.send_signal(signal.SIGINT)
    # Postgres removes its pid file once shut down. Waiting on the process instead could hang:
    # in a container whose init does not reap, the stopped postmaster stays a zombie.
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while pid_file.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Postgres server in {pid_file.parent} did not stop")
        time.sleep(0.05)
    return True
