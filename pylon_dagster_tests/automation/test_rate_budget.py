"""Freshness work is not starved by a backfill holding Pylon's budget.

A backfill of every issue's messages and threads runs, in its own step processes, at two requests
per (one-second) window on each child endpoint: about a minute of work that keeps both budgets
full. Meanwhile an issue changes; the issue-updates sensor probes Pylon from this process and the
run it requests (tagged as a sensor's run, so freshness priority) finishes while the backfill is
still running. Both end complete, and Pylon refused (almost) nothing.
"""

from __future__ import annotations

import threading

import dagster as dg
import pytest

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.automation.dagster_dev import wait_for
from pylon_dagster_tests.automation.project_jobs import (
    RESOURCE_VAR,
    reconstructable_job,
    resource_settings,
)
from pylon_dagster_tests.automation.test_issue_updates import (
    cursor_after_everything,
    issue_updates_sensor,
    tick,
)
from pylon_dagster_tests.fixtures.emulator import emulator_resource, make_emulator
from pylon_dagster_tests.fixtures.pipeline import rows_of
from pylon_emulator import EmulatorServer

# Slow: a minute-long backfill in step subprocesses, by design.
pytestmark = pytest.mark.slow

MESSAGES, THREADS = "GET /issues/{id}/messages", "GET /issues/{id}/threads"
RANGE = {
    "dagster/asset_partition_range_start": "2026-02-12",
    "dagster/asset_partition_range_end": "2026-03-14",
}


def test_a_sensor_run_finishes_while_a_backfill_holds_the_budget(
    warehouse: PostgresWarehouse, monkeypatch
):
    emulator = make_emulator(time_scale=60.0, rate_limits={MESSAGES: 2, THREADS: 2})
    with EmulatorServer(emulator) as server, dg.instance_for_test() as instance:
        pylon = emulator_resource(server, warehouse)
        monkeypatch.setenv(RESOURCE_VAR, resource_settings(pylon))
        cursor = cursor_after_everything(emulator)
        outcome: dict[str, bool] = {}

        def backfill() -> None:
            with dg.execute_job(
                reconstructable_job("pylon_issues_job"),
                instance,
                tags={**RANGE, "dagster/backfill": "test-backfill"},
            ) as result:
                outcome["backfill"] = result.success

        runner = threading.Thread(target=backfill)
        runner.start()
        try:
            # The backfill is fetching children: both child budgets are in use.
            wait_for(
                lambda: emulator.counters().requests.get(MESSAGES, 0) >= 4,
                timeout=120,
                what="the backfill to fetch children",
            )
            changed = emulator.update_issue(emulator.truth("issues")[0]["id"], state="closed")
            _, result = tick(instance, pylon, cursor)
            (request,) = result.run_requests
            with dg.execute_job(
                reconstructable_job("pylon_issues_job"),
                instance,
                tags={**request.tags, "dagster/sensor_name": issue_updates_sensor().name},
            ) as fresh:
                assert fresh.success
            backfill_still_running = runner.is_alive()
        finally:
            runner.join(timeout=600)

        assert backfill_still_running, "the sensor's run had to wait for the backfill"
        assert outcome == {"backfill": True}
        stored = rows_of(warehouse, "issues")
        assert stored[changed["id"]]["state"] == "closed"
        assert set(stored) == {i["id"] for i in emulator.truth("issues")}
        counters = emulator.counters()
        assert counters.rate_limited <= 0.01 * counters.total_requests, counters
