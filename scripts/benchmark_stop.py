#!/usr/bin/env python3
"""How long `pylon-dagster sync` takes to stop, against how long the same sync takes to finish.

The tests prove a stop is prompt in work done (no Pylon request starts after the signal); this
script prints the seconds, for the README and for regressions:

  - a whole sync of the emulator's dataset, uninterrupted (the baseline);
  - the same sync sent SIGTERM, then SIGINT, once it is fetching children: seconds from the signal
    to the exit, the ratio to the baseline, the exit code and the requests served after the signal;
  - a sync started with a bad setting: seconds to its `Error:` line.

    .venv/bin/python scripts/benchmark_stop.py                 # 2,000 issues, a 2 s "minute"
    .venv/bin/python scripts/benchmark_stop.py --issues 500

Uses an embedded Postgres in a temporary state folder, one schema per measurement.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

DAYS = 90
CHILD_REQUESTS_BEFORE_SIGNAL = 50
POLL_SECONDS = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument(
        "--time-scale", type=float, default=30.0, help="emulator minutes per minute"
    )
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="pylon-benchmark-stop-"))
    os.environ["PYLON_DAGSTER_STATE"] = str(state)

    from pylon_dagster.settings import state_dir
    from pylon_dagster.warehouse import embedded
    from pylon_dagster.warehouse.resource import EMBEDDED_DIR
    from pylon_emulator import EmulatorServer, PylonEmulator, generate

    warehouse_url = embedded.server_url(state_dir(os.environ) / EMBEDDED_DIR)
    emulator = PylonEmulator(generate(1, issues=args.issues, days=DAYS), time_scale=args.time_scale)
    command = [str(Path(sys.executable).with_name("pylon-dagster")), "sync"]
    base_env = {
        **{k: v for k, v in os.environ.items() if k not in {"DAGSTER_HOME", "PYLON_RATE_LIMITS"}},
        "PYLON_START_DATE": (datetime.now(UTC).date() - timedelta(days=DAYS + 1)).isoformat(),
        "PYLON_API_TOKEN": emulator.token,
        "PYLON_RATE_LIMIT_WINDOW_SECONDS": repr(emulator.window_seconds),
        "PYLON_WAREHOUSE_URL": warehouse_url.render_as_string(hide_password=False),
    }

    def child_requests() -> int:
        requests = emulator.counters().requests
        return sum(n for key, n in requests.items() if key.startswith("GET /issues/{id}/"))

    def start(measurement: str, **overrides: str) -> subprocess.Popen[str]:
        env = {
            **base_env,
            "PYLON_API_URL": server.url,
            "PYLON_WAREHOUSE_SCHEMA": f"benchmark_stop_{measurement}",
            "PYLON_DAGSTER_STATE": tempfile.mkdtemp(prefix=f"{measurement}-", dir=state),
            **overrides,
        }
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def finish(process: subprocess.Popen[str], since: float) -> tuple[float, str]:
        output = process.communicate()[0]
        return time.perf_counter() - since, output

    with EmulatorServer(emulator) as server:
        started = time.perf_counter()
        full, output = finish(start("baseline"), started)
        print(
            f"{args.issues} issues over {DAYS} days; a rate-limit minute lasts "
            f"{emulator.window_seconds:g} s\n"
        )
        print(f"whole sync, uninterrupted      {full:7.1f} s")

        for name in ("SIGTERM", "SIGINT"):
            process = start(name.lower())
            first = child_requests()
            while child_requests() - first < CHILD_REQUESTS_BEFORE_SIGNAL:
                if process.poll() is not None:
                    raise SystemExit(
                        f"the sync ended before its children were fetched:\n"
                        f"{process.communicate()[0]}"
                    )
                time.sleep(POLL_SECONDS)
            at_signal = emulator.counters().total_requests
            signalled = time.perf_counter()
            process.send_signal(getattr(signal, name))
            stop, output = finish(process, signalled)
            after = emulator.counters().total_requests - at_signal
            print(
                f"{name} while fetching children {stop:7.1f} s  ({stop / full:.1%} of the whole "
                f"sync; exit {process.returncode}; {after} requests after the signal)"
            )

        started = time.perf_counter()
        refused, output = finish(start("bad", PYLON_RATE_LIMIT_WINDOW_SECONDS="nan"), started)
        error = next((line for line in output.splitlines() if line.startswith("Error:")), "")
        print(f"a bad setting, to its Error:   {refused:7.1f} s  ({error[:60]}...)")


if __name__ == "__main__":
    from benchmark_sync import run  # this folder is on sys.path when run as a script

    run(main)
