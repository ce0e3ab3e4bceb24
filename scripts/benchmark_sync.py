#!/usr/bin/env python3
"""Benchmark syncs against the time-scaled emulator with the project's default settings.

A sync cannot be faster than its busiest endpoint allows: that endpoint's accepted calls divided by
its per-minute budget, in (time-scaled) minutes: the rate floor. Every scenario prints wall time /
rate floor and the 429s it earned, with no `PYLON_RATE_LIMITS` set (the client starts from Pylon's
newest published limits and learns the server's):

  (a) a server with October 2026 limits (target: ratio <= 1.3, 429s <= 1% of requests)
  (b) a server with April 2026 limits   (target: ratio <= 1.3, 429s <= 3%)
  (c) two `pylon-dagster sync` processes at once, each with its own Dagster instance and state
      folder, sharing only the warehouse, October limits (target: ratio <= 1.5, 429s <= 1%)
  (d) an incremental sync after changing 40 issues (target: 2 child calls per changed issue)

    .venv/bin/python scripts/benchmark_sync.py                 # 2,000 issues, a 2 s "minute"
    .venv/bin/python scripts/benchmark_sync.py --issues 500 --time-scale 60

Uses an embedded Postgres in a temporary state folder, one schema per scenario.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pylon_emulator import EmulatorServer

DAYS = 90
TARGETS = {"a": (1.3, 0.01), "b": (1.3, 0.03), "c": (1.5, 0.01)}


def benchmark_environment() -> date:
    """Today; the environment set for a benchmark: a temporary state folder (its own embedded
    Postgres), partitions covering the `DAYS` of data, the default settings otherwise."""
    today = datetime.now(UTC).date()
    os.environ["PYLON_DAGSTER_STATE"] = tempfile.mkdtemp(prefix="pylon-benchmark-")
    os.environ["PYLON_START_DATE"] = (today - timedelta(days=DAYS + 1)).isoformat()
    for name in ("DAGSTER_HOME", "PYLON_RATE_LIMITS", "PYLON_WAREHOUSE_URL"):
        os.environ.pop(name, None)
    return today


def aim_at(server: EmulatorServer, schema: str) -> None:
    """The settings of a sync against a served emulator, into `schema`."""
    os.environ.update(
        PYLON_API_URL=server.url,
        PYLON_API_TOKEN=server.emulator.token,
        PYLON_RATE_LIMIT_WINDOW_SECONDS=repr(server.emulator.window_seconds),
        PYLON_WAREHOUSE_SCHEMA=schema,
    )


def sync_in_process(*, with_checks: bool = True, **options: Any) -> None:
    """A headless sync in this process on an ephemeral Dagster instance (with the asset checks,
    or not); exits if a run fails. `options` go to `run_sync` (start, end, display)."""
    import dagster as dg

    from pylon_dagster.assets import build_assets
    from pylon_dagster.jobs import jobs
    from pylon_dagster.resources import build_resources
    from pylon_dagster.settings import Settings
    from pylon_dagster.sync import run_sync

    settings = Settings.from_env(os.environ)
    assets = build_assets(settings)
    defs = dg.Definitions(
        assets=assets.assets,
        asset_checks=assets.checks if with_checks else [],
        jobs=jobs,
        resources=build_resources(settings),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        runs = run_sync(defs, instance, echo=lambda _: None, **options)
    if not all(run.success for run in runs):
        raise SystemExit(f"sync failed: {[run.error for run in runs if run.error]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument(
        "--time-scale", type=float, default=30.0, help="emulator minutes per minute"
    )
    parser.add_argument("--changed", type=int, default=40, help="issues changed before the rerun")
    args = parser.parse_args()

    today = benchmark_environment()

    from pylon_dagster.state import state_dir
    from pylon_dagster.warehouse import embedded
    from pylon_dagster.warehouse.resource import EMBEDDED_DIR
    from pylon_emulator import EmulatorServer, PylonEmulator, generate

    warehouse_url = embedded.server_url(state_dir(os.environ) / EMBEDDED_DIR)
    dataset = generate(1, issues=args.issues, days=DAYS)

    def serve(preset: str, scenario: str) -> tuple[PylonEmulator, EmulatorServer]:
        emulator = PylonEmulator(dataset, time_scale=args.time_scale, rate_limit_preset=preset)
        server = EmulatorServer(emulator).__enter__()
        aim_at(server, f"benchmark_{scenario}")
        return emulator, server

    def two_hosts() -> None:
        command = [str(Path(sys.executable).with_name("pylon-dagster")), "sync"]
        env = {
            **os.environ,
            "PYLON_WAREHOUSE_URL": warehouse_url.render_as_string(hide_password=False),
        }
        hosts = [
            subprocess.Popen(
                command,
                env={**env, "PYLON_DAGSTER_STATE": tempfile.mkdtemp(prefix=f"host{n}-")},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for n in (1, 2)
        ]
        for host in hosts:
            output = host.communicate()[0]
            if host.returncode:
                raise SystemExit(f"a host's sync failed:\n{output}")

    def measure(scenario: str, title: str, preset: str, sync: Callable[[], None]) -> None:
        emulator, server = serve(preset, scenario)
        try:
            started = time.perf_counter()
            sync()
            wall = time.perf_counter() - started
        finally:
            server.__exit__(None, None, None)
        counters = emulator.counters()
        floor = emulator.rate_floor_seconds()
        ratio_target, share_target = TARGETS[scenario]
        share = counters.rate_limited / counters.total_requests
        print(f"({scenario}) {title}")
        print(f"  wall time             {wall:8.1f} s")
        print(f"  rate floor            {floor:8.1f} s")
        print(f"  wall / rate floor     {wall / floor:8.2f}    (target <= {ratio_target})")
        print(
            f"  429s                  {counters.rate_limited:8d}    "
            f"({share:.1%} of {counters.total_requests} requests; target <= {share_target:.0%})"
        )
        print(f"  API calls per issue   {counters.total_requests / args.issues:8.2f}")

    window = 60.0 / args.time_scale
    print(f"{args.issues} issues over {DAYS} days; a rate-limit minute lasts {window:g} s\n")
    measure("a", "October limits, default settings", "2026-10", sync_in_process)
    measure("b", "April limits, default settings", "2026-04", sync_in_process)
    measure("c", "two hosts at once, October limits, default settings", "2026-10", two_hosts)

    # (d) incremental, on (a)'s warehouse: change a few issues, sync today's partition only.
    emulator, server = serve("2026-10", "a")
    try:
        issue_ids = sorted(i["id"] for i in emulator.truth("issues"))[: args.changed]
        for n, issue_id in enumerate(issue_ids):
            if n % 2:
                emulator.add_message(issue_id, message_html="<p>benchmark reply</p>")
            else:
                emulator.update_issue(issue_id, state="closed")
        started = time.perf_counter()
        sync_in_process(start=today, end=today)
        wall = time.perf_counter() - started
    finally:
        server.__exit__(None, None, None)
    incremental = emulator.counters()
    child_calls = sum(
        n for key, n in incremental.requests.items() if key.startswith("GET /issues/{id}/")
    )
    print(f"(d) incremental sync after changing {len(issue_ids)} issues")
    print(f"  wall time             {wall:8.1f} s")
    print(
        f"  child calls           {child_calls:8d}    (target {2 * len(issue_ids)}: 2 per changed issue)"
    )
    print(f"  issues fetched        {len(incremental.child_fetches):8d}")
    print(f"  429s                  {incremental.rate_limited:8d}")


def run(benchmark: Callable[[], None] = main) -> None:
    """`benchmark()`, then stop the embedded server it started in its temporary state."""
    try:
        benchmark()
    finally:
        if "PYLON_DAGSTER_STATE" in os.environ:
            from pylon_dagster.state import state_dir
            from pylon_dagster.warehouse.embedded import stop_embedded_server

            stop_embedded_server(state_dir(os.environ))


if __name__ == "__main__":
    run()
