"""Run the `pylon-dagster` command in a subprocess against an emulator served from this process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_emulator import EmulatorServer

COMMAND = str(Path(sys.executable).with_name("pylon-dagster"))
CLI_TIMEOUT_SECONDS = 240


def cli_env(
    server: EmulatorServer, warehouse: PostgresWarehouse, state: Path, **overrides: str | None
) -> dict[str, str]:
    """The environment a user would set, pointing at `server` and `warehouse`'s schema.

    The warehouse fixture already exported PYLON_WAREHOUSE_URL and PYLON_WAREHOUSE_SCHEMA. An
    override of None removes the variable.
    """
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(
        PYLON_API_URL=server.url,
        PYLON_API_TOKEN=server.emulator.token,
        PYLON_RATE_LIMIT_WINDOW_SECONDS=str(server.emulator.window_seconds),
        PYLON_WAREHOUSE_SCHEMA=warehouse.schema_name,
        PYLON_DAGSTER_STATE=str(state),
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def sync_command(*args: str) -> list[str]:
    return [COMMAND, "sync", *args]


def run_cli(
    env: dict[str, str], *args: str, timeout: float = CLI_TIMEOUT_SECONDS
) -> subprocess.CompletedProcess[str]:
    """`pylon-dagster sync ARGS`; a hung sync fails the test after `timeout` seconds."""
    return run_command(env, "sync", *args, timeout=timeout)


def run_command(
    env: dict[str, str], *args: str, timeout: float = CLI_TIMEOUT_SECONDS
) -> subprocess.CompletedProcess[str]:
    """`pylon-dagster ARGS`, any command; a hung one fails the test after `timeout` seconds."""
    return subprocess.run(
        [COMMAND, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
