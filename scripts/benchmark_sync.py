#!/usr/bin/env python3
"""Benchmark a full and an incremental sync against the time-scaled emulator.

A full sync of N issues (default 2,000, spread over 90 days) cannot be faster than its busiest
endpoint allows: that endpoint's calls divided by its per-minute budget, in (time-scaled) minutes.
This prints the wall time divided by that lower bound (target <= 1.15), the 429 count (target 0)
and API calls per issue; then it changes a few issues and prints what the incremental sync cost
(target: child calls only for the changed issues).

    .venv/bin/python scripts/benchmark_sync.py                  # 2,000 issues, a 2 s "minute"
    .venv/bin/python scripts/benchmark_sync.py --issues 500 --time-scale 60

Uses PYLON_WAREHOUSE_URL or an embedded Postgres in a temporary state folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

DAYS = 90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument(
        "--time-scale", type=float, default=30.0, help="emulator minutes per minute"
    )
    parser.add_argument("--changed", type=int, default=40, help="issues changed before the rerun")
    args = parser.parse_args()

    today = datetime.now(UTC).date()
    os.environ["PYLON_DAGSTER_STATE"] = tempfile.mkdtemp(prefix="pylon-benchmark-")
    os.environ["PYLON_START_DATE"] = (today - timedelta(days=DAYS + 1)).isoformat()
    os.environ.pop("DAGSTER_HOME", None)

    import dagster as dg

    from pylon_dagster.emulator import EmulatorServer, PylonEmulator, generate
    from pylon_dagster.sync import run_sync

    emulator = PylonEmulator(generate(1, issues=args.issues, days=DAYS), time_scale=args.time_scale)
    with EmulatorServer(emulator) as server, dg.DagsterInstance.ephemeral() as instance:
        os.environ.update(
            PYLON_API_URL=server.url,
            PYLON_API_TOKEN=emulator.token,
            PYLON_RATE_LIMIT_WINDOW_SECONDS=repr(emulator.window_seconds),
        )
        from pylon_dagster.definitions import defs

        def timed_sync(**window: object) -> float:
            started = time.perf_counter()
            runs = run_sync(defs, instance, echo=lambda _: None, **window)
            if not all(run.success for run in runs):
                raise SystemExit(f"sync failed: {[run.error for run in runs if run.error]}")
            return time.perf_counter() - started

        wall = timed_sync()
        full = emulator.counters()
        busiest, bound = max(
            (
                (key, calls / emulator.rate_limits[key] * emulator.window_seconds)
                for key, calls in full.requests.items()
            ),
            key=lambda item: item[1],
        )
        print(
            f"full sync of {args.issues} issues, a rate-limit minute = {emulator.window_seconds}s"
        )
        print(f"  wall time             {wall:8.1f} s")
        print(
            f"  rate-limit bound      {bound:8.1f} s  (busiest: {busiest}, {full.requests[busiest]} calls)"
        )
        print(f"  ratio                 {wall / bound:8.2f}    (target <= 1.15)")
        print(f"  429s                  {full.rate_limited:8d}    (target 0)")
        print(f"  API calls per issue   {full.total_requests / args.issues:8.2f}")

        issue_ids = sorted(i["id"] for i in emulator.truth("issues"))[: args.changed]
        for n, issue_id in enumerate(issue_ids):
            if n % 2:
                emulator.add_message(issue_id, message_html="<p>benchmark reply</p>")
            else:
                emulator.update_issue(issue_id, state="closed")
        emulator.reset_counters()
        wall = timed_sync(start=today, end=today)
        incremental = emulator.counters()
        child_calls = sum(
            n for key, n in incremental.requests.items() if key.startswith("GET /issues/{id}/")
        )
        print(f"incremental sync after changing {len(issue_ids)} issues")
        print(f"  wall time             {wall:8.1f} s")
        print(
            f"  child calls           {child_calls:8d}    (target {2 * len(issue_ids)}: 2 per changed issue)"
        )
        print(f"  issues fetched        {len(incremental.child_fetches):8d}")
        print(f"  API calls per changed {incremental.total_requests / len(issue_ids):8.2f}")
        print(f"  429s                  {incremental.rate_limited:8d}")


def run() -> None:
    """`main()`, then stop the embedded server this script started in its temporary state."""
    try:
        main()
    finally:
        if not os.environ.get("PYLON_WAREHOUSE_URL") and "PYLON_DAGSTER_STATE" in os.environ:
            from pylon_dagster.state import state_dir
            from pylon_dagster.warehouse import embedded
            from pylon_dagster.warehouse.resource import EMBEDDED_DIR

            embedded.stop_server(state_dir() / EMBEDDED_DIR)


if __name__ == "__main__":
    run()
