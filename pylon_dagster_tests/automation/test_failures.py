"""The run-failure sensor, on real failed runs: what it records where the UI shows it, and alerts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import dagster as dg
import pytest
from dagster_shared.error import SerializableErrorInfo

from pylon_dagster.automation.failures import build_run_failure_sensor, error_text
from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.automation.project_jobs import (
    RESOURCE_VAR,
    reconstructable_job,
    resource_settings,
)
from pylon_dagster_tests.fixtures.emulator import emulator_resource
from pylon_dagster_tests.fixtures.settings import settings_with
from pylon_dagster_tests.fixtures.step_retries import NO_STEP_RETRIES
from pylon_emulator import EmulatorServer

ISSUES = dg.AssetKey(["pylon", "issues"])
MESSAGES = dg.AssetKey(["pylon", "issue_messages"])
THREADS = dg.AssetKey(["pylon", "issue_threads"])
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2026-03-13",
    "dagster/asset_partition_range_end": "2026-03-14",
}


class AlertReceiver(HTTPServer):
    """A real HTTP endpoint standing in for a chat webhook; keeps the JSON bodies it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


@pytest.fixture
def alert_receiver() -> Iterator[AlertReceiver]:
    server = AlertReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _tick(instance: dg.DagsterInstance, cursor: str | None, settings: Settings) -> str | None:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    return build_run_failure_sensor(settings).evaluate_tick(context).cursor


def _backfill_style_issues_run(instance: dg.DagsterInstance) -> dg.JobExecutionResult:
    """A run of `issues` alone for 2026-03-12 under Dagster's implicit asset job, as a UI
    backfill launches it (use it as a context manager)."""
    return dg.execute_job(
        reconstructable_job("__ASSET_JOB"),
        instance,
        run_config=NO_STEP_RETRIES,
        tags={"dagster/partition": "2026-03-12"},
        asset_selection=[ISSUES],
    )


def _failure_observations(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[dict]:
    records = instance.fetch_observations(key, limit=10).records
    return [
        {k: v.value for k, v in r.asset_observation.metadata.items()}
        for r in records
        if "last_failure_run_id" in r.asset_observation.metadata
    ]


@pytest.mark.slow
def test_failed_runs_are_recorded_on_their_assets_and_alerted(
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    alert_receiver: AlertReceiver,
    monkeypatch: pytest.MonkeyPatch,
):
    # The project's jobs, their steps in subprocesses, with a token Pylon refuses.
    wrong_token = emulator_resource(emulator_server, warehouse, api_token="revoked-token")
    monkeypatch.setenv(RESOURCE_VAR, resource_settings(wrong_token))
    alerting = settings_with(PYLON_ALERT_WEBHOOK_URL=alert_receiver.url)
    with dg.instance_for_test() as instance:
        cursor = _tick(instance, None, alerting)  # the sensor starts watching from here

        # A scheduled-style run of the issues job (no asset selection on the run) ...
        with dg.execute_job(
            reconstructable_job("pylon_issues_job"),
            instance,
            run_config=NO_STEP_RETRIES,
            tags=RANGE_TAGS,
        ) as job_result:
            assert not job_result.success
        # ... and a backfill-style run of `issues` alone, under Dagster's implicit asset job.
        with _backfill_style_issues_run(instance) as asset_result:
            assert not asset_result.success
        assert instance.get_run_by_id(asset_result.run_id).job_name == "__ASSET_JOB"

        _tick(instance, cursor, alerting)

        issues_failures = {
            o["last_failure_run_id"]: o for o in _failure_observations(instance, ISSUES)
        }
        assert set(issues_failures) == {job_result.run_id, asset_result.run_id}
        from_job = issues_failures[job_result.run_id]
        assert from_job["last_failure_job"] == "pylon_issues_job"
        assert from_job["last_failure_partitions"] == "2026-03-13..2026-03-14"
        # The real cause, not only the step's name or a retry wrapper.
        assert "refused the API token" in from_job["last_failure_error"]
        assert from_job["last_failure_error"].startswith("pylon__issues:")
        assert issues_failures[asset_result.run_id]["last_failure_partitions"] == "2026-03-12"
        # The job run also targeted the children; the asset run did not.
        for child in (MESSAGES, THREADS):
            assert [o["last_failure_run_id"] for o in _failure_observations(instance, child)] == [
                job_result.run_id
            ]

        alerts = {alert["run_id"]: alert for alert in alert_receiver.received}
        assert set(alerts) == {job_result.run_id, asset_result.run_id}
        assert "refused the API token" in alerts[job_result.run_id]["text"]


@pytest.mark.slow
def test_a_successful_run_records_nothing(
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
):
    monkeypatch.setenv(
        RESOURCE_VAR, resource_settings(emulator_resource(emulator_server, warehouse))
    )
    with dg.instance_for_test() as instance:
        cursor = _tick(instance, None, settings)
        with _backfill_style_issues_run(instance) as result:
            assert result.success
        _tick(instance, cursor, settings)
        assert _failure_observations(instance, ISSUES) == []


def test_the_recorded_error_reaches_the_cause_behind_a_retry_policy():
    # What a step that used up its RetryPolicy reports: the wrapper first, the real error as cause.
    cause = SerializableErrorInfo(
        message="pylon_dagster.pylon.errors.PylonUnavailableError: POST /issues/search still "
        "failed after 6 attempts (last: 503 server error)\n",
        stack=[],
        cls_name="PylonUnavailableError",
    )
    wrapper = SerializableErrorInfo(
        message="Exceeded max_retries of 2\n", stack=[], cls_name=None, cause=cause
    )
    assert error_text(wrapper) == (
        "Exceeded max_retries of 2 <- PylonUnavailableError: POST /issues/search still failed "
        "after 6 attempts (last: 503 server error)"
    )
    # A dg.Failure that quotes its cause is not repeated.
    failure = SerializableErrorInfo(
        message="dagster._core.definitions.events.Failure: PylonUnavailableError: POST "
        "/issues/search still failed after 6 attempts (last: 503 server error)\n",
        stack=[],
        cls_name="Failure",
        cause=cause,
    )
    assert error_text(failure) == (
        "Failure: PylonUnavailableError: POST /issues/search still failed after 6 attempts "
        "(last: 503 server error)"
    )


ALERT_SECRET = "alert-Webhook-Secret-9f3"


@pytest.mark.slow
def test_an_alert_webhook_refusing_the_alert_never_gets_its_url_shown(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
):
    """A webhook URL that answers 404 quoting its path (the emulator's, for a path it does not
    serve): the tick fails naming the variable and the status, and neither the error Dagster
    records for the tick nor the daemon's log line holds the URL or its secret parts."""
    wrong_token = emulator_resource(emulator_server, warehouse, api_token="revoked-token")
    monkeypatch.setenv(RESOURCE_VAR, resource_settings(wrong_token))
    url = f"{emulator_server.url}/services/T0/{ALERT_SECRET}?token={ALERT_SECRET}-q"
    alerting = settings_with(PYLON_ALERT_WEBHOOK_URL=url)
    with dg.instance_for_test() as instance:
        cursor = _tick(instance, None, alerting)
        with _backfill_style_issues_run(instance) as result:
            assert not result.success

        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        tick = build_run_failure_sensor(alerting).evaluate_tick(context)

        # The error the sensor daemon records for the tick and writes to its log.
        [reaction] = tick.dagster_run_reactions or []
        assert reaction.error is not None
        shown = reaction.error.to_string()
        assert "The alert webhook (PYLON_ALERT_WEBHOOK_URL) answered 404" in shown, shown
        assert ALERT_SECRET.lower() not in shown.lower()
        assert emulator_server.emulator.counters().to_json()["responses"].get("404") == 1
        # The failure was recorded before the alert failed.
        assert [o["last_failure_run_id"] for o in _failure_observations(instance, ISSUES)] == [
            result.run_id
        ]
