#!/usr/bin/env python3
"""Benchmark the metric assets on a large synthetic warehouse: what a run costs against its size.

Issues are generated in SQL (no API, no loader): `--issues` of them over the 730 days before today,
on 20 teams and `--issues / 100` accounts, each with a version when created and one when resolved
(most are: the open backlog is the last two weeks' issues and 1 in 200 older ones), 1 in 100
reopened. Then, each in its own subprocess so that peak RSS is per step:

- daily:    `support_daily_metrics` of yesterday and today with its check, materialized in-process
            by Dagster (`dg.materialize`, the two days as one partition range);
- backfill: the same for the 730 days;
- summary:  `account_support_summary`, every account;
- changed:  100 issues updated (a new state, half of them moved to another account), then the
            summary from the previous run's mark (with code before the scoped summary: every account).

Prints per step the seconds, the process's peak RSS (over its RSS after the imports) and the rows
the step's pandas frames read. With `--compare-with DIR` (another checkout of the package, e.g.
`git archive <commit> pylon_dagster | tar -x -C DIR`) each step also runs with that code, on the
same data. Uses PYLON_WAREHOUSE_URL or the embedded server, in a schema of its own, dropped
afterwards.

    .venv/bin/python scripts/benchmark_metrics.py --issues 100000
    .venv/bin/python scripts/benchmark_metrics.py --issues 1000000 --compare-with /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmark_loader import (
    drop_schema,
    warehouse_on,
)  # this folder is on sys.path when run as a script

STEPS = ("daily", "backfill", "summary", "changed")
DAYS = 730
CHANGED = 100
GENERATE = """
INSERT INTO {issues} (id, number, state, account_id, team_id, created_at, updated_at,
    first_response_time, first_response_seconds, resolution_time, resolution_seconds, raw,
    _synced_at)
SELECT 'i-' || n, n, CASE WHEN open THEN 'on_hold' ELSE 'closed' END, 'a-' || (n % :accounts),
    't-' || (n % 20), created, greatest(created + interval '1 hour', resolved), created + response,
    extract(epoch FROM response), resolved, extract(epoch FROM resolved - created), '{{}}', now()
FROM (
    SELECT n, created, response, open,
        CASE WHEN NOT open THEN created + interval '1 hour' * (1 + (n * 13) % 200) END AS resolved
    FROM (
        SELECT n, :end - interval '1 second' * ((n::bigint * 7919) % (:days * 86400)) AS created,
            interval '1 minute' * (1 + (n * 31) % 600) AS response
        FROM generate_series(1, :size) AS n
    ) AS t, LATERAL (SELECT created > :end - interval '14 days' OR n % 200 = 0 AS open) AS o
) AS g
"""
VERSIONS = """
INSERT INTO {history} (id, updated_at, number, state, team_id, raw, _synced_at)
SELECT id, created_at, number, 'new', team_id, '{{}}'::jsonb, now() FROM {issues}
UNION ALL
SELECT id, resolution_time, number, 'closed', team_id, '{{}}'::jsonb, now() FROM {issues}
WHERE resolution_time IS NOT NULL
UNION ALL
SELECT id, resolution_time + interval '1 hour', number, 'new', team_id, '{{}}'::jsonb, now()
FROM {issues} WHERE resolution_time IS NOT NULL AND number % 100 = 0
"""


def generate(schema: str, size: int, end: datetime) -> None:
    from pylon_dagster.warehouse.sql import qualified

    warehouse = warehouse_on(schema)
    warehouse.ensure_tables()
    issues, history = qualified(schema, "issues"), qualified(schema, "issues_history")
    params = {"size": size, "accounts": max(size // 100, 1), "days": DAYS, "end": end}
    with warehouse.transaction() as tx:
        from sqlalchemy import text

        tx.connection.execute(text(GENERATE.format(issues=issues)), params)
        # Reopened issues are open again, and their current row is that version.
        tx.connection.execute(
            text(
                f"UPDATE {issues} SET state = 'new', updated_at = resolution_time + "
                "interval '1 hour' WHERE resolution_time IS NOT NULL AND number % 100 = 0"
            )
        )
        tx.connection.execute(text(VERSIONS.format(issues=issues, history=history)))
        tx.connection.execute(
            text(
                f"INSERT INTO {qualified(schema, 'accounts')} (id, raw, _synced_at) "
                "SELECT 'a-' || n, '{}', now() FROM generate_series(0, :accounts - 1) AS n"
            ),
            params,
        )
    with warehouse.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"VACUUM ANALYZE {issues}, {history}"
        )


def rows_read_counter() -> dict[str, int]:
    """Count the rows of every frame the analytics modules read (the code under test's)."""
    import pylon_dagster.analytics.accounts as accounts
    import pylon_dagster.analytics.daily as daily

    counted = {"rows": 0}
    for module in (daily, accounts):
        for name in ("read_frame", "copy_frame"):  # the code compared may lack copy_frame
            original = getattr(module, name, None)
            if original is None:
                continue

            def counting(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                frame = _original(*args, **kwargs)
                counted["rows"] += len(frame)
                return frame

            setattr(module, name, counting)
    return counted


def run_step(step: str, schema: str, end: datetime, mark_file: Path) -> dict[str, Any]:
    import dagster as dg

    from pylon_dagster.assets import analytics
    from pylon_dagster.assets.partitions import issue_partitions

    warehouse = warehouse_on(schema)
    counted = rows_read_counter()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if step in ("daily", "backfill"):
        last = end.date()
        first = last - timedelta(days=1 if step == "daily" else DAYS - 1)
        assets = analytics.build_daily_metrics(issue_partitions(first - timedelta(days=1)))
        result = dg.materialize(
            [assets, analytics.created_counts_match_issues],
            resources={"warehouse": warehouse},
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
        )
        (check,) = result.get_asset_check_evaluations()
        assert result.success and check.passed
    else:
        if step == "changed":
            change_issues(schema)
        now = datetime.now(UTC)
        scoped = hasattr(analytics, "previous_mark")
        if not scoped:
            analytics.build_account_summary(warehouse, now)
        else:
            from pylon_dagster.analytics.summary_scope import SummaryMark

            previous = None
            if step == "changed":
                mark = json.loads(mark_file.read_text())
                previous = SummaryMark(
                    datetime.fromisoformat(mark["changes_from"]),
                    datetime.fromisoformat(mark["computed_at"]),
                    frozenset(mark["closed"]),
                    schema,
                )
            build = analytics.build_account_summary(warehouse, now, previous)
            mark_file.write_text(
                json.dumps(
                    {
                        "changes_from": build.mark.changes_from.isoformat(),
                        "computed_at": build.mark.computed_at.isoformat(),
                        "closed": sorted(build.mark.closed),
                    }
                )
            )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_rss_mib": peak / 1024,
        "over_imports_mib": (peak - baseline) / 1024,
        "rows_read": counted["rows"],
    }


def measure_step(
    step: str, schema: str, end: datetime, mark_file: Path, code: Path | None = None
) -> dict[str, Any]:
    """Run `step` in a subprocess (with the package of the checkout `code`, or this one) and
    return its figures: seconds, peak_rss_mib, over_imports_mib, rows_read. The summary's mark is
    kept in `mark_file` from one step to the next."""
    env = {**os.environ, **({"PYTHONPATH": str(code)} if code else {})}
    arguments = ["--step", step, "--schema", schema, "--end", end.isoformat()]
    done = subprocess.run(
        [sys.executable, __file__, *arguments, "--mark-file", str(mark_file)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def change_issues(schema: str) -> None:
    from pylon_dagster.warehouse.sql import qualified

    issues = qualified(schema, "issues")
    with warehouse_on(schema).transaction() as tx:
        tx.connection.exec_driver_sql(
            f"UPDATE {issues} SET state = 'waiting_on_you', _synced_at = now(), "
            "account_id = CASE WHEN mod(number, 2) = 0 THEN 'a-0' ELSE account_id END "
            f"WHERE number IN (SELECT number FROM {issues} ORDER BY number DESC LIMIT {CHANGED})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--compare-with", type=Path, help="another checkout of the package")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # subprocess mode
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    parser.add_argument("--mark-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        end = datetime.fromisoformat(args.end)
        print(json.dumps(run_step(args.step, args.schema, end, args.mark_file)))
        return 0

    schema = f"bench_metrics_{uuid.uuid4().hex[:8]}"
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    generate(schema, args.issues, end)
    print(f"{args.issues:,} issues generated in {time.perf_counter() - started:.0f} s", flush=True)
    codes = {"after": None, **({"before": args.compare_with} if args.compare_with else {})}
    try:
        print(
            f"{'step':<9} {'code':<7} {'seconds':>8} {'peak RSS':>10} {'over imports':>13} "
            f"{'rows read':>10}"
        )
        for step in args.steps:
            for code, path in codes.items():
                f = measure_step(step, schema, end, Path(f"/tmp/{schema}-{code}.json"), path)
                print(
                    f"{step:<9} {code:<7} {f['seconds']:>8.2f} {f['peak_rss_mib']:>6.0f} MiB "
                    f"{f['over_imports_mib']:>9.0f} MiB {f['rows_read']:>10,}",
                    flush=True,
                )
    finally:
        drop_schema(schema)
    print(f"load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
