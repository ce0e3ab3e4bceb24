"""The issue-updates probe and a run's own searches never share Pylon's per-minute budget.

The sensor probes from the daemon's (or code server's) process, while a run's steps call Pylon
from processes of their own: no client-side limiter sees both. A run that uses the whole search
budget of a rate-limit window followed by a probe in that same window earns a 429, so the probe
waits while a Pylon run is in progress and for one window after it ended.
"""

from __future__ import annotations

import math
import threading

import dagster as dg

from pylon_dagster.automation.issue_updates import issue_updates_sensor
from pylon_dagster.definitions import defs
from pylon_dagster.emulator import EmulatorServer
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.automation.dagster_dev import wait_for
from pylon_dagster_tests.automation.project_jobs import (
    RESOURCE_VAR,
    reconstructable_job,
    resource_settings,
)
from pylon_dagster_tests.automation.test_issue_updates import cursor_after_everything
from pylon_dagster_tests.fixtures.emulator import emulator_resource, make_emulator

SEARCH = "POST /issues/search"
DAY = "2026-03-13"
ISSUES = dg.AssetKey(["pylon", "issues"])
# A rate-limit "minute" of 3 s in which Pylon admits a single search: every page the run fetches
# fills the search budget of its window on its own.
TIME_SCALE = 20.0


def _probe(instance: dg.DagsterInstance, pylon: PylonResource, cursor: str) -> str:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources={"pylon": pylon}
    )
    result = issue_updates_sensor.evaluate_tick(context)
    assert result.run_requests == [], "nothing changed: the probe must request nothing"
    return result.skip_message or ""


def test_the_probe_waits_for_runs_and_never_earns_a_429(warehouse: PostgresWarehouse, monkeypatch):
    emulator = make_emulator(time_scale=TIME_SCALE, rate_limits={SEARCH: 1})
    on_day = [
        i
        for i in emulator.truth("issues")
        if parse_timestamp(i["updated_at"]).date().isoformat() == DAY
    ]
    assert len(on_day) >= 2
    with EmulatorServer(emulator) as server, dg.instance_for_test() as instance:
        # The run pages through the day's issues (at least two pages, one per window) ...
        run_resource = emulator_resource(server, page_size=math.ceil(len(on_day) / 2))
        monkeypatch.setenv(RESOURCE_VAR, resource_settings(run_resource))
        # ... while the sensor ticks with the code location's resource, in this process.
        sensor_resource = emulator_resource(server)
        cursor = cursor_after_everything(emulator)
        outcome: dict[str, bool] = {}

        def run_issues_for_the_day() -> None:
            with dg.execute_job(
                reconstructable_job("__ASSET_JOB"),
                instance,
                tags={"dagster/partition": DAY},
                asset_selection=[ISSUES],
            ) as result:
                outcome["success"] = result.success

        runner = threading.Thread(target=run_issues_for_the_day)
        runner.start()
        try:
            wait_for(
                lambda: instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])),
                timeout=60,
                what="the run to start",
            )
            during = _probe(instance, sensor_resource, cursor)
        finally:
            runner.join(timeout=120)
        assert outcome == {"success": True}
        # Right after the run: its last page still counts against this window's budget.
        right_after = _probe(instance, sensor_resource, cursor)

        counters = emulator.counters()
        assert counters.rate_limited == 0, counters
        assert "is in progress" in during
        assert "ended less than one rate-limit window" in right_after
        run_searches = counters.requests[SEARCH]
        assert run_searches >= 2  # the run's pages; the sensor sent nothing yet

        # One window later the probe goes out, and Pylon never had to refuse anything.
        wait_for(
            lambda: "No issue updated" in _probe(instance, sensor_resource, cursor),
            timeout=30,
            what="the sensor to probe again",
        )
        counters = emulator.counters()
        assert counters.requests[SEARCH] == run_searches + 1
        assert counters.rate_limited == 0, counters
