"""An emulator that holds Pylon at a chosen request, and `pylon-dagster sync` run against it in a
subprocess: the sync is known to be exactly there when the test acts (kills it, signals it, cuts
its warehouse)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pylon_dagster_tests.reliability.cli_process import CLI_TIMEOUT_SECONDS, sync_command
from pylon_emulator import EmulatorServer, PylonEmulator

GATE_DEADLINE_SECONDS = 120.0


class Gate:
    """ASGI middleware: once armed, holds the `nth` request whose `METHOD path` matches, and
    every request after it (or, with `hold_all=False`, every matching one), until released: the
    subprocess can do no work past that point."""

    def __init__(self, app, pattern: str, nth: int, hold_all: bool = True):
        self.app = app
        self.pattern = re.compile(pattern)
        self.nth = nth
        self.hold_all = hold_all
        self.seen = 0
        self.armed = False
        self.reached = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()

    def arm(self) -> None:
        with self._lock:
            self.armed, self.seen = True, 0

    async def __call__(self, scope, receive, send) -> None:
        matches = scope["type"] == "http" and bool(
            self.pattern.fullmatch(f"{scope['method']} {scope['path']}")
        )
        if matches:
            with self._lock:
                self.seen += self.armed
                if self.armed and self.seen == self.nth:
                    self.reached.set()
        held = matches or (self.hold_all and scope["type"] == "http")
        if held and self.reached.is_set() and not self.released.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait)
        await self.app(scope, receive, send)


@contextmanager
def gated_server(
    emulator: PylonEmulator, pattern: str, nth: int, hold_all: bool = True
) -> Iterator[tuple[EmulatorServer, Gate]]:
    """`emulator` served on a socket behind a `Gate` (released on the way out)."""
    gate = Gate(emulator.app, pattern, nth, hold_all)
    emulator.app = gate  # the server serves `emulator.app`
    with EmulatorServer(emulator) as server:
        try:
            yield server, gate
        finally:
            gate.released.set()


def wait_for_gate(process: subprocess.Popen, gate: Gate) -> None:
    deadline = time.monotonic() + GATE_DEADLINE_SECONDS
    while not gate.reached.wait(timeout=0.1):
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the sync ended before the kill point:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail("the kill point was never reached")


class DrainedOutput:
    """The combined output of a subprocess, read as it comes (so a line can be waited for)."""

    def __init__(self, process: subprocess.Popen):
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._lines.append("")  # end of output
            self._changed.notify_all()

    def wait_for(self, text: str) -> None:
        """Until `text` was printed, or the output ended (the process died)."""
        with self._changed:
            finished = self._changed.wait_for(
                lambda: any(text in line for line in self._lines) or self._lines[-1:] == [""],
                timeout=GATE_DEADLINE_SECONDS,
            )
        if not finished:
            pytest.fail(f"the sync neither died nor printed {text!r}")

    def text(self) -> str:
        self._reader.join(timeout=CLI_TIMEOUT_SECONDS)
        return "".join(self._lines)


@contextmanager
def gated_sync(
    gate: Gate, env: dict[str, str], *args: str
) -> Iterator[tuple[subprocess.Popen, DrainedOutput]]:
    """`pylon-dagster sync ARGS` in a subprocess, started with `gate` armed; killed if still
    running, and the gate released, on the way out."""
    gate.arm()
    process = subprocess.Popen(
        sync_command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = DrainedOutput(process)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.kill()
        gate.released.set()
