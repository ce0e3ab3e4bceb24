#!/usr/bin/env python3
"""How good the sync's ETA is: the first time left each issues window shows, against the time
that window then actually took, with the emulator time-scaled and the default settings.

For every issues window of a full in-process sync this prints the first known ETA (from the rate
budget, see "Progress and ETA" in docs/architecture.md), the seconds the window then still took,
and their ratio (actual / ETA; 1.0 is exact, above 1 the ETA was short). Two servers:

  (a) October 2026 limits: the client starts at the right rates
  (b) April 2026 limits: the client starts at October's and learns the server's from 429s, so the
      first ETA is short until the rate is learned

    .venv/bin/python scripts/benchmark_eta.py                  # 600 issues, a 2 s "minute"
    .venv/bin/python scripts/benchmark_eta.py --issues 1200 --time-scale 6 --scenarios a
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager


class EtaProbe:
    """A progress sink noting when its window's time left is first known, and its value."""

    def __init__(self) -> None:
        from pylon_dagster.progress.tracker import ProgressTracker

        self.tracker = ProgressTracker()
        self.first: tuple[float, float] | None = None

    def planned(self, stream: str, fetches: int | None) -> None:
        self.tracker.planned(stream, fetches)
        self._sample()

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        self.tracker.advanced(stream, records=records, fetches=fetches)
        self._sample()

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        self.tracker.requested(endpoint, rate, window_seconds)
        self._sample()

    def _sample(self) -> None:
        if self.first is None:
            left = self.tracker.snapshot().seconds_left
            if left:
                self.first = (time.monotonic(), left)


class EtaRecorder:
    """A sync display that keeps, per window, the first ETA and when the window ended (windows
    may be open at once, from several threads: `list.append` is atomic)."""

    def __init__(self) -> None:
        self.windows: list[tuple[str, tuple[float, float] | None, float]] = []

    @contextmanager
    def window(self, label: str) -> Iterator[None]:
        from pylon_dagster.progress.relay import PROCESS_RELAY

        probe = EtaProbe()
        with PROCESS_RELAY.listening(label, probe):
            yield
        self.windows.append((label, probe.first, time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=600)
    parser.add_argument(
        "--time-scale", type=float, default=30.0, help="emulator minutes per minute"
    )
    parser.add_argument(
        "--scenarios", default="ab", help="which of (a) and (b) to run, e.g. a or ab"
    )
    args = parser.parse_args()
    # This folder is on sys.path when run as a script.
    from benchmark_sync import DAYS, aim_at, benchmark_environment, sync_in_process

    benchmark_environment()

    from pylon_emulator import EmulatorServer, PylonEmulator, generate

    dataset = generate(1, issues=args.issues, days=DAYS)
    print(
        f"{args.issues} issues over {DAYS} days; a rate-limit minute lasts "
        f"{60 / args.time_scale:g} s\n"
    )
    for scenario, preset in (("a", "2026-10"), ("b", "2026-04")):
        if scenario not in args.scenarios:
            continue
        emulator = PylonEmulator(dataset, time_scale=args.time_scale, rate_limit_preset=preset)
        recorder = EtaRecorder()
        with EmulatorServer(emulator) as server:
            aim_at(server, f"benchmark_eta_{scenario}")
            sync_in_process(with_checks=False, display=recorder)
        print(f"({scenario}) server with {preset} limits, 429s: {emulator.counters().rate_limited}")
        print(f"  {'window':<48} {'first ETA':>10} {'took':>8} {'took / ETA':>11}")
        for label, first, ended in recorder.windows:
            if first is None or not label.split("] ")[1].startswith("issues"):
                continue
            seen_at, eta = first
            took = ended - seen_at
            print(f"  {label:<48} {eta:9.1f}s {took:7.1f}s {took / eta:11.2f}")
        print()


if __name__ == "__main__":
    from benchmark_sync import run

    run(main)
