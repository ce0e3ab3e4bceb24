"""`EmulatorServer` starts and stops quickly and cleanly; the `emulator` command serves until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from pylon_dagster_tests.fixtures.emulator import make_emulator
from pylon_emulator import DEMO_TOKEN, EmulatorServer


def test_a_server_is_ready_when_started_and_frees_its_port_when_stopped():
    emulator = make_emulator(issues=5)
    started = time.monotonic()
    with EmulatorServer(emulator) as server, EmulatorServer(make_emulator(issues=5)) as other:
        assert time.monotonic() - started < 2
        assert server.port != other.port and server.url == f"http://127.0.0.1:{server.port}"
        headers = {"Authorization": f"Bearer {emulator.token}"}
        assert httpx.get(server.url + "/me", headers=headers).status_code == 200
    stopped = time.monotonic()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", server.port))  # the port is free again
    assert stopped - started < 5
    server.stop()  # stopping twice is harmless


def test_a_server_cannot_be_started_twice():
    with EmulatorServer(make_emulator(issues=5)) as server, pytest.raises(RuntimeError):
        server.start()


def test_a_busy_port_is_reported_at_creation():
    with EmulatorServer(make_emulator(issues=5)) as server, pytest.raises(OSError):
        EmulatorServer(server.emulator, port=server.port)


@pytest.mark.slow
def test_the_emulator_command_prints_its_url_and_token_and_stops_on_ctrl_c():
    command = [
        sys.executable,
        "-c",
        "from pylon_emulator.cli import emulator; emulator()",
        "--port=0",
        "--issues=30",
        "--time-scale=60",
        "--rate-limits=2026-10",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:  # the command flushes its banner before serving
            banner.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(banner)
        url = next(line.split("=", 1)[1].strip() for line in banner if "PYLON_API_URL=" in line)
        assert f"PYLON_API_TOKEN={DEMO_TOKEN}" in text
        assert "PYLON_RATE_LIMIT_WINDOW_SECONDS=1.0\n" in text and "2026-10" in text

        me = httpx.get(url + "/me", headers={"Authorization": f"Bearer {DEMO_TOKEN}"}, timeout=5)
        assert me.status_code == 200
        config = httpx.get(url + "/_emulator/config", timeout=5).json()["data"]
        assert config["issues"] == 30 and config["rate_limits"]["POST /issues/search"] == 120
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
