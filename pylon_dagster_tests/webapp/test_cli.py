"""`pylon-dagster app`: refused configurations, and several workers serving over a real socket."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from pylon_dagster.settings import WAREHOUSE_URL_VAR
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.webapp.cli import app
from pylon_dagster.webapp.settings import APP_SECRET_VAR, WEBHOOK_SECRET_VAR
from pylon_dagster_tests.automation.dagster_dev import free_port, wait_for
from pylon_dagster_tests.webapp.conftest import APP_SECRET, PylonCaller, load
from pylon_dagster_tests.webapp.test_custom_app import (
    accounts_by_size,
    assert_issue_list,
    cards,
    fetch,
    issue_params,
    issues_of,
    newest_first,
    texts,
)
from pylon_emulator import Dataset

COMMAND = str(Path(sys.executable).with_name("pylon-dagster"))
STARTUP_SECONDS = 120
STOP_SECONDS = 30


def test_app_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(APP_SECRET_VAR, raising=False)
    monkeypatch.delenv(WEBHOOK_SECRET_VAR, raising=False)
    result = CliRunner().invoke(app, ["--port", "0"])
    assert result.exit_code == 1
    assert APP_SECRET_VAR in result.output


@pytest.mark.parametrize(
    ("workers", "reason"),
    [
        ("0", "0 is not in the range 1<=x<=64."),
        ("65", "65 is not in the range 1<=x<=64."),
        ("two", "'two' is not a valid integer range."),
    ],
)
def test_a_worker_count_outside_1_to_64_is_refused(
    monkeypatch: pytest.MonkeyPatch, workers: str, reason: str
) -> None:
    monkeypatch.setenv(APP_SECRET_VAR, APP_SECRET)
    result = CliRunner().invoke(app, ["--port", "0", "--workers", workers])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: Invalid value for '--workers': {reason}"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://pylon:hunter2@db.example.com/pylon",
            f"{WAREHOUSE_URL_VAR} must point at PostgreSQL",
        ),
        (f"postgresql://pylon:hunter2@127.0.0.1:{free_port()}/pylon", "Cannot connect"),
    ],
    ids=["not_postgres", "unreachable"],
)
def test_a_bad_warehouse_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv(APP_SECRET_VAR, APP_SECRET)
    monkeypatch.setenv(WAREHOUSE_URL_VAR, url)
    result = CliRunner().invoke(app, ["--port", "0", "--workers", "2"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}")
    assert len(result.output.splitlines()) == 1
    assert "hunter2" not in result.output


@contextmanager
def app_process(workers: int, log_path: Path) -> Iterator[str]:
    """`pylon-dagster app --workers N` in its own process group, once every worker serves; its
    URL. Stopped with SIGTERM on exit, which must end it cleanly."""
    port = free_port()
    env = {**os.environ, APP_SECRET_VAR: APP_SECRET}
    env.pop(WEBHOOK_SECRET_VAR, None)
    command = [COMMAND, "app", "--port", str(port), "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_text() -> str:
        return log_path.read_text(errors="replace")

    try:
        wait_for(
            lambda: (
                log_text().count("Application startup complete.") == workers
                or process.poll() is not None
            ),
            timeout=STARTUP_SECONDS,
            what=f"{workers} workers to start",
        )
        assert process.poll() is None, log_text()
        yield f"http://127.0.0.1:{port}"
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=STOP_SECONDS) == 0, log_text()
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)


@pytest.mark.slow
def test_two_workers_serve_correct_sidebars(
    warehouse: PostgresWarehouse, dataset: Dataset, tmp_path: Path
) -> None:
    load(warehouse, dataset)
    log_path = tmp_path / "app.log"
    accounts = {a["id"]: a for a in dataset.accounts}
    newest = [newest_first(issues_of(dataset, a))[0] for a in accounts_by_size(dataset)]

    with (
        app_process(2, log_path) as url,
        httpx.Client(base_url=url, timeout=30) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        pylon = PylonCaller(client)
        # Every account's sidebar, several times over and at once, so both workers answer.
        requests = newest * 4
        shown = list(pool.map(lambda i: cards(fetch(pylon, issue_params(i))), requests))

    for issue, sidebar in zip(requests, shown, strict=True):
        account_id = issue["account"]["id"]
        account_issues = issues_of(dataset, account_id)
        title = accounts[account_id]["name"]
        open_count = sum(i["state"] != "closed" for i in account_issues)
        assert texts(sidebar[title])["Open issues"] == str(open_count)
        assert_issue_list(sidebar["Latest issues"], newest_first(account_issues)[:5])
    log = log_path.read_text()
    assert log.count("Started server process") == 2, log
    assert "Traceback" not in log, log
    # No access log: it would hold every request's query string, requester e-mails included.
    emails = {i["requester"]["email"] for i in requests if i["requester"]["email"]}
    assert emails
    assert not [e for e in emails if e in log or quote(e) in log], log
