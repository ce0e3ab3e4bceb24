#!/usr/bin/env python3
"""How good the sync's ETA is: the first time left each issues window shows, against the time
that window then actually took, with the emulator time-scaled and the default settings.

For every issues window of a full headless sync (run in this process, with the progress display
replaced by a recorder) this prints the first known ETA (from the rate budget, see "Progress and
ETA" in docs/architecture.md), the seconds the window then still took, and their ratio
(actual / ETA; 1.0 is exact, above 1 the ETA was short). Two servers, each synced in a state
folder of its own whose embedded Postgres is started beforehand:

  (a) October 2026 limits: the client starts at the right rates
  (b) April 2026 limits: the client starts at October's and learns the server's from 429s, so the
      first ETA is short until the rate is learned

    .venv/bin/python scripts/benchmark_eta.py                  # 600 issues, a 2 s "minute"
    .venv/bin/python scripts/benchmark_eta.py --issues 1200 --time-scale 6 --scenarios a
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark_sync import DAYS, UNSET, Bench, Code, benchmark_root, serve, sync_environment

from pylon_dagster.component import code_location
from pylon_dagster.instance import dagster_home
from pylon_dagster.progress.relay import PROCESS_RELAY
from pylon_dagster.progress.sink import ThenCall
from pylon_dagster.progress.tracker import BudgetSharers, ProgressTracker
from pylon_dagster.settings import Settings
from pylon_dagster.sync import headless_sync
from pylon_emulator import EmulatorServer

PRESETS = {"a": "2026-10", "b": "2026-04"}

FirstEta = tuple[float, float]
"""(when, on `time.monotonic`, seconds left): a window's first known ETA."""


class EtaRecorder:
    """A sync display that keeps, per window, the first ETA and when the window ended (windows
    may be open at once, from several threads: `list.append` is atomic)."""

    def __init__(self) -> None:
        self.windows: list[tuple[str, FirstEta | None, float]] = []
        self.sharers = BudgetSharers()

    @contextmanager
    def window(self, label: str) -> Iterator[None]:
        tracker = ProgressTracker(sharers=self.sharers)
        first: list[FirstEta] = []

        def sample() -> None:
            if not first and (left := tracker.snapshot().seconds_left):
                first.append((time.monotonic(), left))

        with (
            self.sharers.joined(tracker),
            PROCESS_RELAY.listening(label, ThenCall(tracker, sample)),
        ):
            yield
        self.windows.append((label, first[0] if first else None, time.monotonic()))


def sync_in_process(server: EmulatorServer, state: Path, recorder: EtaRecorder) -> None:
    """`pylon-dagster sync` in this process (as `cli.sync` runs it), in `state` against `server`,
    showing its progress on `recorder`; exits if a run fails."""
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(sync_environment(server, state))
    dagster_home()
    settings = Settings.from_env(os.environ)
    runs = headless_sync(code_location(os.environ), settings, echo=lambda _: None, display=recorder)
    if not all(run.success for run in runs):
        raise SystemExit(f"sync failed: {[run.error for run in runs if run.error]}")


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
    if unknown := set(args.scenarios) - set(PRESETS):
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from a, b")
    print(
        f"{args.issues} issues over {DAYS} days; a rate-limit minute lasts "
        f"{60 / args.time_scale:g} s\n"
    )
    with benchmark_root() as root:
        bench = Bench(Code("this"), root)
        for scenario, preset in PRESETS.items():
            if scenario not in args.scenarios:
                continue
            recorder = EtaRecorder()
            state = bench.state(scenario)
            server = serve(args.issues, args.time_scale, preset)
            try:
                print(f"({scenario}) load average {os.getloadavg()[0]:.2f}")
                sync_in_process(server, state, recorder)
            finally:
                server.__exit__(None, None, None)
            rate_limited = server.emulator.counters().rate_limited
            print(f"({scenario}) server with {preset} limits, 429s: {rate_limited}")
            print(f"  {'window':<48} {'first ETA':>10} {'took':>8} {'took / ETA':>11}")
            for label, first, ended in recorder.windows:
                if first is None or not label.split("] ")[1].startswith("issues"):
                    continue
                seen_at, eta = first
                took = ended - seen_at
                print(f"  {label:<48} {eta:9.1f}s {took:7.1f}s {took / eta:11.2f}")
            print()


if __name__ == "__main__":
    main()
