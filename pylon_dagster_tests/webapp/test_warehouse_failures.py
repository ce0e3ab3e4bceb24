"""The sidebar when the warehouse fails it, served for real on a socket over a real Postgres:
one log line that never holds the request's parameters, and a quick 503 instead of a wait for
another session's lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pylon_dagster.catalog.metric_tables import ACCOUNT_SUPPORT_SUMMARY
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.webapp.conftest import PylonCaller, load
from pylon_dagster_tests.webapp.test_custom_app import issue_params
from pylon_emulator import Dataset

SUMMARY = ACCOUNT_SUPPORT_SUMMARY.name


@pytest.fixture
def loaded(warehouse: PostgresWarehouse, dataset: Dataset) -> dict[str, str]:
    """The dataset in the warehouse; the sidebar parameters of an issue with a requester
    e-mail."""
    load(warehouse, dataset)
    issue = next(i for i in dataset.issues if i["account"] and (i["requester"] or {}).get("email"))
    return issue_params(issue)


def service_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the service logged (not the test's own HTTP client)."""
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    return "\n".join(caplog.handler.format(record) for record in records)


@contextmanager
def summary_locked_by_another_session(warehouse: PostgresWarehouse) -> Iterator[None]:
    """The account summary locked by another session (a migration, a `LOCK TABLE` left open)
    until the test ends."""
    with warehouse.engine.connect() as other_session, other_session.begin():
        table = qualified(warehouse.schema_name, SUMMARY)
        other_session.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield


def test_a_database_error_in_a_sidebar_logs_one_line_without_the_requester_email(
    warehouse: PostgresWarehouse,
    loaded: dict[str, str],
    pylon: PylonCaller,
    caplog: pytest.LogCaptureFixture,
):
    """A table the sidebar reads is missing (renamed, as by a migration half done)."""
    table = qualified(warehouse.schema_name, SUMMARY)
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE {table} RENAME TO summary_moved_away")

    with caplog.at_level(logging.INFO):
        response = pylon.get(loaded)

    assert response.status_code == 503, response.text
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text
    assert errors[0].startswith("sidebar not served: UndefinedTable: relation "), errors
    assert "Traceback" not in caplog.text
    assert loaded["requester_email"] not in service_log(caplog)
    assert loaded["requester_email"] not in response.text


def test_a_locked_summary_fails_a_sidebar_at_once_naming_the_wait(
    warehouse: PostgresWarehouse,
    loaded: dict[str, str],
    pylon: PylonCaller,
    caplog: pytest.LogCaptureFixture,
):
    """Without a bound the sidebar would wait for the lock as long as it is held (the test's
    client would time out first)."""
    with caplog.at_level(logging.INFO), summary_locked_by_another_session(warehouse):
        response = pylon.get(loaded)

    assert response.status_code == 503, response.text
    assert f"sidebar not served: a table the sidebar reads ({SUMMARY}," in caplog.text
    assert "is locked by another session" in caplog.text
    assert "Traceback" not in caplog.text
    assert pylon.get(loaded).status_code == 200  # the lock gone, the sidebar is back
