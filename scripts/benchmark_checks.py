#!/usr/bin/env python3
"""Benchmark the asset checks of an `issues` run and `pylon-dagster status` on a large warehouse.

Issues are generated in SQL as `benchmark_metrics.py` does (`--issues` of them over 730 days), each
with `--messages` messages and the fetch state a sync leaves, then vacuumed. Prints:

- the checks of a run of yesterday and today (`primary_key_unique` of `issues`, `issue_messages`,
  `belongs_to_known_issue` of `issue_messages`), run by Dagster as the issues job runs them, and the
  same checks over whole tables (the `pylon_warehouse_checks` schedule): seconds per check step;
- `collect_status` (what `pylon-dagster status` gathers), and the `count(*)` of each stream table it
  used to run.

Uses PYLON_WAREHOUSE_URL or the embedded server, in a schema of its own, dropped afterwards, and a
throwaway Dagster instance.

    .venv/bin/python scripts/benchmark_checks.py --issues 1000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from benchmark_loader import (
    drop_schema,
    warehouse_on,
)  # this folder is on sys.path when run as a script
from benchmark_metrics import generate

from pylon_dagster.assets import build_assets
from pylon_dagster.assets.common import asset_key
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.catalog.streams import STREAMS
from pylon_dagster.dagster_adapter import day_range_tags
from pylon_dagster.resources import build_resources
from pylon_dagster.settings import SCHEMA_VAR, Settings
from pylon_dagster.status.collect import collect_status
from pylon_dagster.warehouse.sql import qualified

CHECKED = ("issues", "issue_messages")
CHILDREN = """
INSERT INTO {messages} (id, issue_id, raw, _synced_at)
SELECT i.id || '-m' || k, i.id, '{{}}', now() FROM {issues} i, generate_series(1, :per_issue) k
"""
FETCHED = """
INSERT INTO {state} (stream, parent_id, parent_version, fetched_at, children)
SELECT 'issue_messages', id, updated_at, now(), :per_issue FROM {issues}
"""


def add_messages(schema: str, per_issue: int) -> None:
    warehouse = warehouse_on(schema)
    tables = {
        "issues": qualified(schema, "issues"),
        "messages": qualified(schema, "issue_messages"),
        "state": qualified(schema, "child_fetch_state"),
    }
    with warehouse.transaction() as tx:
        for statement in (CHILDREN, FETCHED):
            tx.connection.execute(sa.text(statement.format(**tables)), {"per_issue": per_issue})
    with warehouse.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"VACUUM ANALYZE {tables['messages']}, {tables['state']}"
        )


def check_seconds(settings: Settings, tags: dict[str, str]) -> dict[str, float]:
    """Seconds of each check step of one run of the checks of `CHECKED`, from its event log."""
    issue_days = issue_partitions(settings.start_date)
    assets = build_assets(settings, issue_days)
    selection = dg.AssetSelection.checks_for_assets(*(asset_key(t) for t in CHECKED))
    job = dg.define_asset_job("checks", selection=selection, partitions_def=issue_days)
    defs = dg.Definitions(
        assets=assets.assets,
        asset_checks=assets.checks,
        jobs=[job],
        resources=build_resources(settings),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("checks").execute_in_process(instance=instance, tags=tags)
        started: dict[str, float] = {}
        seconds: dict[str, float] = {}
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                seconds[entry.step_key] = entry.timestamp - started[entry.step_key]
    return seconds


def count_seconds(schema: str) -> float:
    """What `status` ran before: `count(*)` of every stream table."""
    started = time.perf_counter()
    with warehouse_on(schema).engine.connect() as connection:
        for name in STREAMS:
            connection.execute(sa.text(f"SELECT count(*) FROM {qualified(schema, name)}"))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=3, help="messages per issue")
    args = parser.parse_args()
    schema = f"bench_checks_{uuid.uuid4().hex[:8]}"
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    generate(schema, args.issues, end)
    add_messages(schema, args.messages)
    print(f"{args.issues:,} issues generated in {time.perf_counter() - started:.0f} s", flush=True)
    os.environ["DAGSTER_HOME"] = tempfile.mkdtemp(prefix="bench_checks_")
    settings = Settings.from_env({**os.environ, SCHEMA_VAR: schema})
    today = end.date()
    try:
        for label, tags in (
            (
                "run's days",
                day_range_tags((today - timedelta(days=1)).isoformat(), today.isoformat()),
            ),
            ("whole tables", {}),
        ):
            for step, seconds in sorted(check_seconds(settings, tags).items()):
                print(f"{label:<13} {step:<48} {seconds:>7.2f} s", flush=True)
        started = time.perf_counter()
        report = collect_status(settings)
        estimated = [s.stream for s in report.streams if s.rows_estimated]
        print(f"status        {time.perf_counter() - started:.2f} s (estimated: {estimated})")
        print(f"count(*) of every stream table (status before): {count_seconds(schema):.2f} s")
    finally:
        drop_schema(schema)
    print(f"load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
