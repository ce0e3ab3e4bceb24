#!/usr/bin/env python3
"""What a run costs against the size of the warehouse: every figure of issue 21's acceptance at
two sizes, `--issues` and a tenth of it, in one run.

Per size, issues are generated in SQL as `benchmark_metrics.py` does (730 days, 2 versions each),
with 3 messages each and their fetch state as `benchmark_checks.py` adds them. Then, each in its
own subprocess so that peak RSS is per step:

- the 2-day `support_daily_metrics` run with its check (the best of 3), the 730-day backfill,
  the full `account_support_summary` and the summary after 100 issues changed
  (`benchmark_metrics.py`);
- the asset checks of a 2-day `issues` run, run by Dagster (`benchmark_checks.py`): the seconds of
  its check steps;
- `collect_status`, what `pylon-dagster status` gathers;

and, from the pass's own slice sizing at October's limits (`benchmark_deletions.py`), the share of
the hour's search budget a deletion pass takes and the longest time until a deleted issue is
marked. Prints seconds, peak RSS (and over the imports) and the rows the pandas frames read,
against the targets, then the 2-day run at the larger size over the smaller. Uses
PYLON_WAREHOUSE_URL or the embedded server, in a schema of its own per size, dropped afterwards.

    .venv/bin/python scripts/benchmark_scale.py 2>/dev/null      # 100,000 and 1,000,000 issues
    .venv/bin/python scripts/benchmark_scale.py --quick          # 2,000 and 20,000: a smoke run

(Dagster logs each run on stderr.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmark_checks import add_messages, check_seconds  # this folder is on sys.path
from benchmark_deletions import pass_cost
from benchmark_loader import drop_schema
from benchmark_metrics import generate, measure_step

from pylon_dagster.dagster_adapter import day_range_tags
from pylon_dagster.settings import SCHEMA_VAR, Settings
from pylon_dagster.status.collect import collect_status

MESSAGES_PER_ISSUE = 3
OCTOBER = "2026-10"
RATIO_TARGET = 1.5
"""The 2-day run at the larger size over the smaller, at most."""
OWN_STEPS = ("checks", "status")
MIB = 1024


@dataclass(frozen=True)
class Target:
    seconds: float
    rss_mib: float | None = None


TARGETS = {
    "daily": Target(5, 300),
    "backfill": Target(60, 1024),
    "checks": Target(1),
    "changed": Target(5),
    "summary": Target(30, 500),
    "status": Target(2),
}
LABELS = {
    "daily": "2-day support_daily_metrics, check included",
    "backfill": "730-day backfill",
    "checks": "an issues run's checks (2 days)",
    "summary": "account_support_summary, full",
    "changed": "account_support_summary, 100 changed",
    "status": "status (collect_status)",
}
METRIC_STEPS = ("daily", "backfill", "summary", "changed")
DAILY_ROUNDS = 3


def run_own_step(step: str, schema: str, end: datetime) -> dict[str, Any]:
    """In a subprocess: the checks of a 2-day `issues` run, or `collect_status`."""
    os.environ["DAGSTER_HOME"] = tempfile.mkdtemp(prefix="bench_scale_")
    settings = Settings.from_env({**os.environ, SCHEMA_VAR: schema})
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if step == "checks":
        today = end.date()
        tags = day_range_tags((today - timedelta(days=1)).isoformat(), today.isoformat())
        seconds = sum(check_seconds(settings, tags).values())
    else:
        collect_status(settings)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_rss_mib": peak / MIB,
        "over_imports_mib": (peak - baseline) / MIB,
        "rows_read": None,
    }


def measure_own_step(step: str, schema: str, end: datetime) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--step", step, "--schema", schema, "--end", end.isoformat()],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_size(size: int) -> dict[str, dict[str, Any]]:
    """Every step's figures on a fresh warehouse of `size` issues, printed as they come."""
    schema = f"bench_scale_{uuid.uuid4().hex[:8]}"
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    try:
        generate(schema, size, end)
        add_messages(schema, MESSAGES_PER_ISSUE)
        print(
            f"\n{size:,} issues generated in {time.perf_counter() - started:.0f} s ({load()})",
            flush=True,
        )
        print(
            f"{'work':<45} {'seconds':>8} {'peak RSS':>10} {'over imports':>13} {'rows read':>10}"
        )
        figures: dict[str, dict[str, Any]] = {}
        mark_file = Path(tempfile.gettempdir()) / f"{schema}-mark.json"
        for step in (*METRIC_STEPS, *OWN_STEPS):
            if step == "daily":
                # Seconds this short move with the machine's load: the best of a few runs.
                rounds = [measure_step(step, schema, end, mark_file) for _ in range(DAILY_ROUNDS)]
                f = min(rounds, key=lambda r: r["seconds"])
            elif step in METRIC_STEPS:
                f = measure_step(step, schema, end, mark_file)
            else:
                f = measure_own_step(step, schema, end)
            figures[step] = f
            print(f"{LABELS[step]:<45} {_figures(f)}   {_verdict(step, f)}", flush=True)
        mark_file.unlink(missing_ok=True)
    finally:
        drop_schema(schema)
    cost = pass_cost(size, OCTOBER)
    notice = cost.notice / timedelta(hours=1)
    print(
        f"{'deletion pass, ' + OCTOBER + ' limits':<45} {cost.requests} searches of "
        f"{cost.budget} allowed: {cost.share:.1%} of the hour's search budget "
        f"({'met' if cost.share <= 0.05 else 'MISSED'} <= 5%); a deletion is marked within "
        f"{notice:g} h ({cost.passes} hourly passes a cycle)",
        flush=True,
    )
    print(load(), flush=True)
    return figures


def _figures(f: dict[str, Any]) -> str:
    rows = "-" if f["rows_read"] is None else f"{f['rows_read']:,}"
    return (
        f"{f['seconds']:>8.2f} {f['peak_rss_mib']:>6.0f} MiB {f['over_imports_mib']:>9.0f} MiB "
        f"{rows:>10}"
    )


def _verdict(step: str, f: dict[str, Any]) -> str:
    target = TARGETS[step]
    met = f["seconds"] <= target.seconds
    text = f"<= {target.seconds:g} s"
    if target.rss_mib is not None:
        met = met and f["peak_rss_mib"] <= target.rss_mib
        text += f", <= {target.rss_mib:g} MiB"
    return f"{'met   ' if met else 'MISSED'} {text}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, help="the larger size (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 issues by default")
    parser.add_argument("--step", choices=OWN_STEPS, help=argparse.SUPPRESS)  # subprocess mode
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_own_step(args.step, args.schema, datetime.fromisoformat(args.end))))
        return 0

    larger = args.issues or (20_000 if args.quick else 1_000_000)
    smaller = larger // 10
    print(f"{smaller:,} and {larger:,} issues; {load()}", flush=True)
    daily = {size: measure_size(size)["daily"]["seconds"] for size in (smaller, larger)}
    ratio = daily[larger] / daily[smaller]
    print(
        f"\n2-day run: {daily[smaller]:.2f} s at {smaller:,}, {daily[larger]:.2f} s at "
        f"{larger:,}: {ratio:.2f}x ({'met' if ratio <= RATIO_TARGET else 'MISSED'} "
        f"<= {RATIO_TARGET}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
