"""End to end: `dagster dev` (webserver, daemon, code server) against the emulator and Postgres.

A 60-day backfill of `pylon/issues` launched through GraphQL becomes two runs of 30 days; the
children follow by the eager automation condition; the warehouse ends equal to what the emulator
serves, without a single 429 although the issue-updates sensor ticks all along. Then a change in
Pylon reaches the warehouse through the sensor alone, and an old issue deleted in Pylon leaves the
metrics of exactly its days once the deletion job has run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pylon_dagster.instance import EVENT_BATCH_SIZE, EVENT_BATCH_SIZE_VAR
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.webhook_events import WebhookEventStore
from pylon_dagster_tests.automation.dagster_dev import REPO_ROOT, DagsterDev, dagster_dev, wait_for
from pylon_dagster_tests.fixtures.days import iso_days
from pylon_dagster_tests.fixtures.emulator import make_emulator
from pylon_emulator import EmulatorServer, PylonEmulator

LOCATION = "pylon_dagster"
ISSUES = ("pylon", "issues")
CHILDREN = (("pylon", "issue_messages"), ("pylon", "issue_threads"))
DAILY_METRICS = ("pylon", "support_daily_metrics")
BACKFILL_DAYS = 60
DATA_DAYS = 45
ISSUE_COUNT = 120
# A rate-limit "minute" of 3 s: fetching the children of 120 issues takes several of them per
# stream, so pacing matters. The two children runs overlap (the pool admits 6 steps), and only
# the budget they share through the warehouse keeps the emulator from answering 429s.
TIME_SCALE = 20.0
SENSOR_INTERVAL_SECONDS = 5
STARTUP_TIMEOUT = 180
BACKFILL_TIMEOUT = 300
CHILDREN_TIMEOUT = 300
SENSOR_TIMEOUT = 180
NEVER = "0 0 1 1 *"  # keeps the schedules out of the test's way
TERMINAL_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
ACTIVE_RUN_STATUSES = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def _rows(warehouse: PostgresWarehouse, table: str) -> dict[str, Any]:
    query = f'SELECT id, raw FROM "{warehouse.schema_name}"."{table}"'
    with warehouse.engine.connect() as connection:
        return {key: raw for key, raw in connection.execute(sa.text(query))}


def _truth(emulator: PylonEmulator, stream: str) -> dict[str, Any]:
    served = emulator.truth(stream)
    records = (
        [r for children in served.values() for r in children]
        if isinstance(served, dict)
        else served
    )
    return {record["id"]: record for record in records}


def _differences(warehouse: PostgresWarehouse, emulator: PylonEmulator) -> dict[str, list[str]]:
    """Per stream, the ids whose stored raw differs from (or is missing in) what Pylon serves."""
    found = {}
    for stream in ("issues", "issue_messages", "issue_threads"):
        rows, truth = _rows(warehouse, stream), _truth(emulator, stream)
        diff = sorted(k for k in rows.keys() | truth.keys() if rows.get(k) != truth.get(k))
        if diff:
            found[stream] = diff
    return found


def _environment(
    server: EmulatorServer, home: Path, warehouse: PostgresWarehouse, first_day: date
) -> dict[str, str]:
    emulator = server.emulator
    env = {key: value for key, value in os.environ.items() if not key.startswith("DAGSTER_")}
    env.pop("PYLON_ALERT_WEBHOOK_URL", None)
    env.update(
        DAGSTER_HOME=str(home),
        **{EVENT_BATCH_SIZE_VAR: EVENT_BATCH_SIZE},
        PYLON_API_URL=server.url,
        PYLON_API_TOKEN=emulator.token,
        PYLON_RATE_LIMITS=emulator.rate_limit_preset,
        PYLON_RATE_LIMIT_WINDOW_SECONDS=repr(emulator.window_seconds),
        PYLON_WAREHOUSE_URL=os.environ["PYLON_WAREHOUSE_URL"],
        PYLON_WAREHOUSE_SCHEMA=warehouse.schema_name,
        PYLON_START_DATE=first_day.isoformat(),
        PYLON_ISSUE_SENSOR_INTERVAL_SECONDS=str(SENSOR_INTERVAL_SECONDS),
        PYLON_ISSUES_SCHEDULE_CRON=NEVER,
        PYLON_REFERENCE_SCHEDULE_CRON=NEVER,
        PYLON_DELETIONS_SCHEDULE_CRON=NEVER,
    )
    return env


def _tick_summary(ticks: list[dict[str, Any]]) -> dict[str, int]:
    summary: dict[str, int] = {}
    for tick in ticks:
        reason = (tick["skipReason"] or "").split(":")[0]
        label = f"{tick['status']} {reason}".strip()
        summary[label] = summary.get(label, 0) + 1
    return summary


def _timeline(runs: list[dict[str, Any]], origin: float) -> str:
    lines = []
    for run in sorted(runs, key=lambda r: r["startTime"] or 0):
        tags = run["tags"]
        span = tags.get("dagster/partition") or (
            f"{tags.get('dagster/asset_partition_range_start')}.."
            f"{tags.get('dagster/asset_partition_range_end')}"
        )
        assets = ",".join("/".join(a["path"][1:]) for a in run["assetSelection"] or [])
        start, end = (
            (t - origin) if t else float("nan") for t in (run["startTime"], run["endTime"])
        )
        lines.append(
            f"  {start:6.1f}s..{end:6.1f}s {run['status']:8} {run['jobName']} [{assets}] {span}"
        )
    return "\n".join(lines)


def _day(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).date()


def _old_closed_issue(
    emulator: PylonEmulator, first_day: date, untouched: list[str]
) -> dict[str, Any]:
    """The oldest issue of the partitions answered and resolved days after it was created."""
    return next(
        issue
        for issue in sorted(emulator.truth("issues"), key=lambda issue: issue["created_at"])
        if issue["id"] not in untouched
        and issue["state"] == "closed"
        and issue["first_response_time"]
        and _day(issue["created_at"]) >= first_day
        and _day(issue["created_at"]) < _day(issue["first_response_time"])
        and _day(issue["first_response_time"]) < _day(issue["resolution_time"])
    )


def _created_on(warehouse: PostgresWarehouse, day: date) -> int:
    query = (
        f'SELECT coalesce(sum(issues_created), 0) FROM "{warehouse.schema_name}".'
        "support_daily_metrics WHERE day = :day"
    )
    with warehouse.engine.connect() as connection:
        return connection.execute(sa.text(query), {"day": day.isoformat()}).scalar_one()


def _settled(dev: DagsterDev) -> bool:
    return not dev.runs(statuses=ACTIVE_RUN_STATUSES)


def _backfilled(stats: dict[str, int], first_day: date) -> bool:
    """Every day of the backfill is materialized, and the partitions are those days, plus
    today's if a midnight passed since the test started (nothing syncs that new day)."""
    through_today = (datetime.now(UTC).date() - first_day).days + 1
    return stats["numMaterialized"] == BACKFILL_DAYS <= stats["numPartitions"] <= through_today


def _children_done(dev: DagsterDev, first_day: date) -> list[dict[str, int]] | None:
    stats = [dev.partition_stats(path) for path in CHILDREN]
    for stat in stats:
        assert stat["numFailed"] == 0, stats
    done = all(_backfilled(stat, first_day) for stat in stats)
    return stats if done else None


def _metrics_done(dev: DagsterDev, warehouse: PostgresWarehouse) -> bool:
    stats = dev.partition_stats(DAILY_METRICS)
    assert stats["numFailed"] == 0, stats
    query = f'SELECT count(*) FROM "{warehouse.schema_name}"."account_support_summary"'
    with warehouse.engine.connect() as connection:
        summarized = connection.execute(sa.text(query)).scalar_one()
    return stats["numMaterialized"] == BACKFILL_DAYS and summarized > 0


@pytest.mark.slow
def test_dagster_dev_backfills_follows_children_and_picks_up_changes(
    warehouse: PostgresWarehouse, postgres_dagster_home: Path, tmp_path: Path
):
    """On the production instance configuration: the project's settings, Dagster's storage in
    Postgres (a database of this test's)."""
    began, began_at = time.monotonic(), time.time()
    timings: dict[str, float] = {}
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    today = now.date()
    first_day = today - timedelta(days=BACKFILL_DAYS - 1)
    partitions = iso_days(first_day, today)
    emulator = make_emulator(issues=ISSUE_COUNT, now=now, days=DATA_DAYS, time_scale=TIME_SCALE)
    home = postgres_dagster_home
    shutil.copy(REPO_ROOT / "workspace.yaml", tmp_path / "workspace.yaml")

    with (
        EmulatorServer(emulator) as server,
        dagster_dev(tmp_path, _environment(server, home, warehouse, first_day)) as dev,
    ):
        try:
            wait_for(
                lambda: dev.location_loaded(LOCATION),
                timeout=STARTUP_TIMEOUT,
                what="the GraphQL endpoint and the code location",
            )
            timings["startup"] = time.monotonic() - began

            # 1. A 60-day backfill of `issues`, launched as from the UI.
            launched_at = time.time()
            backfill_id = dev.launch_asset_backfill(ISSUES, partitions)
            # 1a. A webhook delivered twice while the backfill runs: stored once, one run.
            warehouse.ensure_tables()
            events = WebhookEventStore(warehouse.engine, warehouse.schema_name)
            webhook = json.dumps({"event": "issue_updated", "issue_id": "any"}).encode()
            deliveries = [events.record(webhook, datetime.now(UTC)) for _ in range(2)]
            assert deliveries == [True, False]
            backfill = wait_for(
                lambda: (b := dev.backfill(backfill_id))["status"] in TERMINAL_BACKFILL and b,
                timeout=BACKFILL_TIMEOUT,
                what=f"backfill {backfill_id}",
            )
            assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, backfill
            runs = dev.runs(tags={"dagster/backfill": backfill_id})
            spans = sorted(
                (
                    r["tags"]["dagster/asset_partition_range_start"],
                    r["tags"]["dagster/asset_partition_range_end"],
                )
                for r in runs
            )
            assert spans == [(partitions[0], partitions[29]), (partitions[30], partitions[59])]
            assert {r["status"] for r in runs} == {"SUCCESS"}
            # Runs launched from the UI write their progress to the run's event log.
            progress = [m for m in dev.run_messages(runs[0]["runId"]) if m.startswith("progress:")]
            assert progress and "issues: " in progress[-1] and "requests at" in progress[-1]
            issues_stats = dev.partition_stats(ISSUES)
            assert _backfilled(issues_stats, first_day), issues_stats
            timings["backfill"] = time.monotonic() - began

            # 2. Messages and threads follow, for every partition, with no one asking.
            wait_for(
                lambda: _children_done(dev, first_day),
                timeout=CHILDREN_TIMEOUT,
                what="issue_messages and issue_threads in all 60 partitions",
            )
            # 2b. So do the support metrics: every day, and the account summary.
            wait_for(
                lambda: _metrics_done(dev, warehouse),
                timeout=CHILDREN_TIMEOUT,
                what="support_daily_metrics in all 60 partitions and account_support_summary",
            )
            wait_for(lambda: _settled(dev), timeout=CHILDREN_TIMEOUT, what="runs to finish")
            settled_at = time.time()
            timings["children"] = time.monotonic() - began
            assert any(
                "issue_messages: " in message and "fetches" in message
                for run in dev.runs()
                for message in dev.run_messages(run["runId"])
                if message.startswith("progress: ETA")
            )
            assert _differences(warehouse, emulator) == {}
            assert len(_rows(warehouse, "issues")) == ISSUE_COUNT

            # 2c. The webhook led to exactly one run, of the day it arrived on.
            # Read from the runs the sensor started, not from ticks after the delivery: a tick may
            # begin just before it and still read the event.
            (webhook_run,) = dev.runs(tags={"dagster/sensor_name": "webhook_events_sensor"})
            assert webhook_run["status"] == "SUCCESS", webhook_run
            assert webhook_run["tags"]["dagster/partition"] == today.isoformat(), webhook_run

            # 3. The sensor ticked all along, and Pylon never answered 429.
            ticks = dev.sensor_ticks(
                LOCATION, "pylon_issue_updates", after=launched_at, before=settled_at
            )
            assert len(ticks) >= 2, ticks
            print(f"issue-updates sensor ticks during the backfill: {_tick_summary(ticks)}")
            assert not [t for t in ticks if t["status"] == "FAILURE"], ticks
            counters = emulator.counters()
            assert counters.rate_limited == 0, counters
            # The pacing was exercised: more child fetches than one rate-limit window admits.
            assert (
                counters.requests["GET /issues/{id}/messages"]
                > emulator.rate_limits["GET /issues/{id}/messages"]
            )

            # 4. A change in Pylon reaches the warehouse through the issue-updates sensor alone.
            some = sorted(_truth(emulator, "issues"))
            changed_at = time.time()
            emulator.update_issue(some[0], state="closed", title="Fermé — 已关闭")
            emulator.add_message(some[1], message_html="<p>one more reply</p>")
            assert _differences(warehouse, emulator) != {}
            wait_for(
                lambda: not _differences(warehouse, emulator),
                timeout=SENSOR_TIMEOUT,
                what="the sensor to bring the warehouse back to the emulator's truth",
            )
            timings["sensor_update"] = time.monotonic() - began
            # A run of the sensor's that started after the change (the tick that requested it
            # may have begun just before the change, and probed Pylon just after it).
            requested = [
                run
                for run in dev.runs(tags={"dagster/sensor_name": "pylon_issue_updates"})
                if run["startTime"] and run["startTime"] >= changed_at
            ]
            assert requested, "the update should have come through a sensor-requested run"
            assert emulator.counters().rate_limited == 0, emulator.counters()

            # 5. An issue deleted in Pylon leaves the metrics of its own (old) days: the deletion
            # schedule's job marks it, and `pylon_metrics_follow_deletions` recomputes exactly
            # the days from its creation to its resolution.
            victim = _old_closed_issue(emulator, first_day, untouched=some[:2])
            created, resolved = (_day(victim[field]) for field in ("created_at", "resolution_time"))
            counted = _created_on(warehouse, created)
            emulator.delete_issue(victim["id"])
            deleted_at = time.time()
            dev.launch_job(LOCATION, "pylon_issue_deletions_job")
            wait_for(
                lambda: _created_on(warehouse, created) == counted - 1,
                timeout=SENSOR_TIMEOUT,
                what="the metrics of the deleted issue's creation day to leave it out",
            )
            (followed,) = [
                t
                for t in dev.sensor_ticks(
                    LOCATION, "pylon_metrics_follow_deletions", after=deleted_at
                )
                if t["runIds"]
            ]
            metric_runs = [r for r in dev.runs() if r["runId"] in followed["runIds"]]
            assert sorted(
                (r["tags"].get(RANGE_START, ""), r["tags"].get(RANGE_END, "")) for r in metric_runs
            ) == [("", ""), (created.isoformat(), resolved.isoformat())]  # and the summary's run
            timings["deletion_followed"] = time.monotonic() - began
        except BaseException:
            print(f"dagster dev log (tail):\n{dev.log_tail(120)}")
            raise
        finally:
            print(f"end-to-end timings (s since start): {timings}")
            print(f"emulator requests: {emulator.counters().requests}")
            print("runs:\n" + _timeline(dev.runs(), began_at))
