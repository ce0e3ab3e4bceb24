#!/usr/bin/env python3
"""Benchmark `pylon-dagster sync` against the time-scaled emulator, with the default settings.

A sync cannot be faster than its busiest endpoint allows: that endpoint's accepted calls divided by
its per-minute budget, in (time-scaled) minutes: the rate floor. Each scenario runs the real
command (start-up, preflight, Dagster's runs and event log, all of it) in a state folder of its
own whose embedded Postgres is started beforehand, with no `PYLON_RATE_LIMITS` set (the client
starts from Pylon's newest published limits and learns the server's), and prints wall time, the
rate floor, wall minus floor, wall / floor and the 429s it earned:

  small        400 issues over 90 days, a 0.5 s "minute", October limits: where fixed
               orchestration cost shows (target: wall - floor <= 10 s); then, as
  incremental  25 of those issues changed, `sync --start today --end today`
               (target: wall - floor <= 5 s, 2 child calls per changed issue)
  october      --issues (3,000) over 90 days, a 3 s "minute", October limits, where the floor
               dominates (target: wall / floor <= 1.2, 429s <= 1%)
  april        the same with April limits (target: wall / floor <= 1.3, 429s <= 3%)
  two-hosts    two syncs at once, each with its own state folder and Dagster instance, sharing
               one warehouse, October limits (target: wall / floor <= 1.5, 429s <= 1%)

With `--compare-with CHECKOUT` every scenario is measured first with the code of another checkout
of the project (e.g. `git archive main pylon_dagster pylon_emulator dagster.yaml | tar -x -C DIR`:
the package's `dagster.yaml` links to the top-level one), then with this one, on the
same data in the same run, so the difference is the code's, not the machine's mood.

    .venv/bin/python scripts/benchmark_sync.py --compare-with /tmp/main-code
    .venv/bin/python scripts/benchmark_sync.py --scenarios small,incremental
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pylon_dagster.warehouse import embedded
from pylon_dagster.warehouse.resource import EMBEDDED_DIR
from pylon_emulator import EmulatorServer, PylonEmulator, generate

DAYS = 90
SMALL_ISSUES = 400
CHANGED_ISSUES = 25
SCENARIOS = ("small", "october", "april", "two-hosts")
"""`small` is followed by `incremental` on its warehouse."""
SYNC_TIMEOUT_SECONDS = 1800
CHILD_ENDPOINTS = "GET /issues/{id}/"
UNSET = {"DAGSTER_HOME", "PYLON_RATE_LIMITS", "PYLON_WAREHOUSE_URL"}
"""Left out of a sync's environment: it gets its own Dagster home and the default settings."""


@dataclass(frozen=True)
class Code:
    """The code a sync runs: this checkout's, or another's (`--compare-with`)."""

    name: str
    checkout: Path | None = None

    def command(self, *arguments: str) -> list[str]:
        run_cli = "import sys; from pylon_dagster.cli import main; sys.exit(main())"
        return [sys.executable, "-c", run_cli, "sync", *arguments]

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.checkout)} if self.checkout else {}


@dataclass(frozen=True)
class Target:
    over_floor: float | None = None
    ratio: float | None = None
    share_429: float | None = None


TARGETS = {
    "small": Target(over_floor=10),
    "incremental": Target(over_floor=5),
    "october": Target(ratio=1.2, share_429=0.01),
    "april": Target(ratio=1.3, share_429=0.03),
    "two-hosts": Target(ratio=1.5, share_429=0.01),
}


class Bench:
    """One code version's state folders and the environment its syncs run with."""

    def __init__(self, code: Code, root: Path):
        self.code = code
        self.root = root

    def state(self, name: str) -> Path:
        """A state folder whose embedded Postgres is already running (not part of the timing)."""
        state = self.root / self.code.name / name
        embedded.server_url(state / EMBEDDED_DIR)
        return state

    def start(
        self, server: EmulatorServer, state: Path, *arguments: str, **overrides: str
    ) -> subprocess.Popen[str]:
        """`pylon-dagster sync` in `state` against `server`, started (output piped), with the
        settings `overrides` on top."""
        return subprocess.Popen(
            self.code.command(*arguments),
            # Not this checkout: `python -c` looks for modules in its working directory first.
            cwd=state,
            env=sync_environment(server, state) | self.code.env() | overrides,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def sync(self, server: EmulatorServer, states: list[Path], *arguments: str) -> float:
        """Wall time of `pylon-dagster sync` in each of `states` at once (processes of their own),
        against `server`; exits if one fails."""
        shared = {}
        if len(states) > 1:  # hosts share the first one's warehouse
            url = embedded.server_url(states[0] / EMBEDDED_DIR)
            shared = {"PYLON_WAREHOUSE_URL": url.render_as_string(hide_password=False)}
        started = time.perf_counter()
        hosts = [self.start(server, state, *arguments, **shared) for state in states]
        for host in hosts:
            output = host.communicate(timeout=SYNC_TIMEOUT_SECONDS)[0]
            if host.returncode:
                raise SystemExit(f"{self.code.name}: a sync failed:\n{output}")
        return time.perf_counter() - started


def sync_environment(server: EmulatorServer, state: Path) -> dict[str, str]:
    """This process's environment for a sync in the state folder `state` against `server`:
    partitions covering the `DAYS` of data, the default settings otherwise."""
    start_date = (datetime.now(UTC).date() - timedelta(days=DAYS + 1)).isoformat()
    return {key: value for key, value in os.environ.items() if key not in UNSET} | {
        "PYLON_API_URL": server.url,
        "PYLON_API_TOKEN": server.emulator.token,
        # Exact: a client whose minute is shorter than the server's earns 429s.
        "PYLON_RATE_LIMIT_WINDOW_SECONDS": repr(server.emulator.window_seconds),
        "PYLON_START_DATE": start_date,
        "PYLON_DAGSTER_STATE": str(state),
    }


@contextmanager
def benchmark_root() -> Iterator[Path]:
    """A temporary folder for `Bench`es; the embedded servers of their state folders are stopped
    when it is removed."""
    with tempfile.TemporaryDirectory(prefix="pylon-benchmark-") as root:
        try:
            yield Path(root)
        finally:
            for data_dir in Path(root).glob(f"*/*/{EMBEDDED_DIR}"):
                embedded.stop_server(data_dir)


def serve(issues: int, time_scale: float, preset: str) -> EmulatorServer:
    emulator = PylonEmulator(
        generate(1, issues=issues, days=DAYS), time_scale=time_scale, rate_limit_preset=preset
    )
    return EmulatorServer(emulator).__enter__()


def report(scenario: str, code: Code, wall: float, emulator: PylonEmulator, note: str = "") -> None:
    counters = emulator.counters()
    floor = emulator.rate_floor_seconds()
    target = TARGETS[scenario]
    share = counters.rate_limited / max(1, counters.total_requests)
    wants = [
        f"wall - floor <= {target.over_floor:g} s" if target.over_floor else "",
        f"wall / floor <= {target.ratio}" if target.ratio else "",
        f"429s <= {target.share_429:.0%}" if target.share_429 else "",
    ]
    print(
        f"  {code.name:<7} wall {wall:7.1f} s   floor {floor:6.1f} s   wall - floor "
        f"{wall - floor:6.1f} s   wall / floor {wall / floor:5.2f}   429s {counters.rate_limited} "
        f"({share:.1%} of {counters.total_requests}){note}   target: "
        + ", ".join(want for want in wants if want)
    )


def measure_small(bench: Bench, time_scale: float) -> None:
    """The small sync, then the incremental one on its warehouse (both reported)."""
    server = serve(SMALL_ISSUES, time_scale, "2026-10")
    try:
        state = bench.state("small")
        report("small", bench.code, bench.sync(server, [state]), server.emulator)
        emulator = server.emulator
        emulator.reset_counters()
        issue_ids = sorted(issue["id"] for issue in emulator.truth("issues"))[:CHANGED_ISSUES]
        for n, issue_id in enumerate(issue_ids):
            if n % 2:
                emulator.add_message(issue_id, message_html="<p>benchmark reply</p>")
            else:
                emulator.update_issue(issue_id, state="closed")
        today = datetime.now(UTC).date().isoformat()
        wall = bench.sync(server, [state], "--start", today, "--end", today)
        child_calls = sum(
            n for key, n in emulator.counters().requests.items() if key.startswith(CHILD_ENDPOINTS)
        )
        note = f"   child calls {child_calls} (2 per changed issue: {2 * len(issue_ids)})"
        report("incremental", bench.code, wall, emulator, note)
    finally:
        server.__exit__(None, None, None)


def measure_large(bench: Bench, scenario: str, issues: int, time_scale: float) -> None:
    preset = "2026-04" if scenario == "april" else "2026-10"
    server = serve(issues, time_scale, preset)
    try:
        hosts = 2 if scenario == "two-hosts" else 1
        states = [bench.state(f"{scenario}-{n}") for n in range(hosts)]
        report(scenario, bench.code, bench.sync(server, states), server.emulator)
    finally:
        server.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=3000, help="issues of the large scenarios")
    parser.add_argument(
        "--time-scale", type=float, default=20.0, help="emulator minutes per minute (large)"
    )
    parser.add_argument("--small-time-scale", type=float, default=120.0)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--compare-with", type=Path, help="another checkout, measured first")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    if unknown := set(scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    codes = [Code("this")]
    if args.compare_with:
        codes.insert(0, Code("before", args.compare_with.resolve()))
    runs: list[tuple[str, Callable[[Bench], None]]] = []
    if "small" in scenarios:
        runs.append(
            (
                f"small ({SMALL_ISSUES} issues, {60 / args.small_time_scale:g} s minute) and "
                f"incremental ({CHANGED_ISSUES} changed)",
                lambda bench: measure_small(bench, args.small_time_scale),
            )
        )
    for scenario in ("october", "april", "two-hosts"):
        if scenario in scenarios:
            runs.append(
                (
                    f"{scenario} ({args.issues} issues, {60 / args.time_scale:g} s minute)",
                    lambda bench, s=scenario: measure_large(bench, s, args.issues, args.time_scale),
                )
            )
    with benchmark_root() as root:
        for title, run in runs:
            print(f"{title}; load average {os.getloadavg()[0]:.2f}")
            for code in codes:
                run(Bench(code, root))


if __name__ == "__main__":
    main()
