#!/usr/bin/env python3
"""How long `pylon-dagster sync` takes to stop, against how long the same sync takes to finish.

The tests prove a stop is prompt in work done (no Pylon request starts after the signal); this
script prints the seconds, for the README and for regressions:

  - a whole sync of the emulator's dataset (April 2026 limits), uninterrupted (the baseline);
  - the same sync sent SIGTERM, then SIGINT, once it is fetching children: seconds from the signal
    to the exit, the ratio to the baseline, the exit code and the requests served after the signal;
  - a sync started with a bad setting: seconds to its `Error:` line.

    .venv/bin/python scripts/benchmark_stop.py                 # 2,000 issues, a 2 s "minute"
    .venv/bin/python scripts/benchmark_stop.py --issues 500

Each sync runs the real command (as `benchmark_sync.py` does) in a state folder of its own whose
embedded Postgres is started beforehand; the bad setting reuses the baseline's.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import time

from benchmark_sync import CHILD_ENDPOINTS, DAYS, Bench, Code, benchmark_root, serve

from pylon_emulator import PylonEmulator

CHILD_REQUESTS_BEFORE_SIGNAL = 50
POLL_SECONDS = 0.05


def child_requests(emulator: PylonEmulator) -> int:
    requests = emulator.counters().requests
    return sum(n for key, n in requests.items() if key.startswith(CHILD_ENDPOINTS))


def finish(process: subprocess.Popen[str], since: float) -> tuple[float, str]:
    """Seconds from `since` (on `time.perf_counter`) to the exit of `process`, and its output."""
    output = process.communicate()[0]
    return time.perf_counter() - since, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument(
        "--time-scale", type=float, default=30.0, help="emulator minutes per minute"
    )
    args = parser.parse_args()

    print(
        f"{args.issues} issues over {DAYS} days; a rate-limit minute lasts "
        f"{60 / args.time_scale:g} s\n"
    )
    server = serve(args.issues, args.time_scale, "2026-04")
    emulator = server.emulator
    try:
        with benchmark_root() as root:
            bench = Bench(Code("this"), root)
            baseline = bench.state("baseline")
            full = bench.sync(server, [baseline])
            print(f"whole sync, uninterrupted      {full:7.1f} s")

            for name in ("SIGTERM", "SIGINT"):
                process = bench.start(server, bench.state(name.lower()))
                first = child_requests(emulator)
                while child_requests(emulator) - first < CHILD_REQUESTS_BEFORE_SIGNAL:
                    if process.poll() is not None:
                        raise SystemExit(
                            f"the sync ended before its children were fetched:\n"
                            f"{process.communicate()[0]}"
                        )
                    time.sleep(POLL_SECONDS)
                at_signal = emulator.counters().total_requests
                signalled = time.perf_counter()
                process.send_signal(getattr(signal, name))
                stop, _ = finish(process, signalled)
                after = emulator.counters().total_requests - at_signal
                print(
                    f"{name:<7} while fetching children {stop:6.1f} s  ({stop / full:.1%} of the "
                    f"whole sync; exit {process.returncode}; {after} requests after the signal)"
                )

            started = time.perf_counter()
            bad = bench.start(server, baseline, PYLON_RATE_LIMIT_WINDOW_SECONDS="nan")
            refused, output = finish(bad, started)
            error = next((line for line in output.splitlines() if line.startswith("Error:")), "")
            print(f"a bad setting, to its Error:   {refused:7.1f} s  ({error[:60]}...)")
    finally:
        server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
