"""The shared rate budget when its tables are locked or hold rows that cannot be valid, through
`pylon-dagster sync` in a subprocess over a real Postgres: a lock held by another session ends
the command with one line naming the table, and edited rows are repaired instead of raising or
being waited out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.endpoints import ACCOUNTS, ISSUE_MESSAGES, ISSUES_SEARCH, ME
from pylon_dagster.catalog.rate_limits import RateLimitConfig
from pylon_dagster.pylon.budget_postgres import LIMITS_TABLE, SLOTS_TABLE, PostgresRateBudget
from pylon_dagster.pylon.resource import organization_key
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.reliability.cli_process import cli_env, run_cli
from pylon_emulator import EmulatorServer

# Slow: each test runs `pylon-dagster sync` in a subprocess (the real entry point).
pytestmark = pytest.mark.slow

ONE_DAY = ("--start", "2026-03-13", "--end", "2026-03-13")
TAMPERED_SLOTS = 400


def _budget(server: EmulatorServer, warehouse: PostgresWarehouse) -> PostgresRateBudget:
    """The budget the command uses: this organization's (the API host and the token it syncs with),
    the limits it starts from by default."""
    warehouse.ensure_tables()
    config = RateLimitConfig.parse("auto", window_seconds=server.emulator.window_seconds)
    return PostgresRateBudget(
        warehouse.engine,
        warehouse.schema_name,
        api_host=organization_key(server.url, server.emulator.token),
        config=config,
    )


@contextmanager
def _locked_by_another_session(warehouse: PostgresWarehouse, table: str) -> Iterator[None]:
    """`table` locked by another session (a maintenance `LOCK TABLE` left open) for the block."""
    with warehouse.engine.connect() as other_session, other_session.begin():
        name = qualified(warehouse.schema_name, table)
        other_session.exec_driver_sql(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
        yield


def test_a_locked_rate_budget_table_ends_the_sync_with_one_line_naming_it(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
):
    """Without a bound every request of every host waits for the lock, silently, as long as it
    is held (here: until the command's timeout fails the test)."""
    _budget(emulator_server, warehouse)
    env = cli_env(emulator_server, warehouse, tmp_path)

    with _locked_by_another_session(warehouse, LIMITS_TABLE):
        result = run_cli(env, *ONE_DAY)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    assert f"the rate budget table {LIMITS_TABLE} is locked by another session" in errors[0]
    assert "lock_timeout" in errors[0]
    assert "Traceback" not in output
    assert emulator_server.emulator.counters().total_requests == 0


def test_rate_budget_rows_that_cannot_be_valid_are_repaired_and_the_sync_succeeds(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
):
    """A pause at infinity (the wait overflowed), a NaN rate (a traceback), a pause ten years
    ahead and slots leased for a year (both waited out: forever, for a person)."""
    budget = _budget(emulator_server, warehouse)
    for endpoint in (ME, ISSUES_SEARCH, ACCOUNTS, ISSUE_MESSAGES):
        budget.current(endpoint.key)
    schema, host = warehouse.schema_name, budget.api_host
    limits, slots = qualified(schema, LIMITS_TABLE), qualified(schema, SLOTS_TABLE)
    where = "api_host = :host AND endpoint = :endpoint"
    with warehouse.engine.begin() as connection:
        for endpoint, change in (
            (ME, "paused_until = 'infinity'"),
            (ISSUES_SEARCH, "rate = 'NaN'"),
            (ACCOUNTS, "paused_until = now() + interval '10 years'"),
        ):
            connection.execute(
                sa.text(f"UPDATE {limits} SET {change} WHERE {where}"),
                {"host": host, "endpoint": endpoint.key},
            )
        connection.execute(
            sa.text(
                f"INSERT INTO {slots} (api_host, endpoint, priority, taken_at, lease_until) "
                "SELECT :host, :endpoint, 'bulk', now(), now() + interval '1 year' "
                "FROM generate_series(1, :count)"
            ),
            {"host": host, "endpoint": ISSUE_MESSAGES.key, "count": TAMPERED_SLOTS},
        )

    result = run_cli(cli_env(emulator_server, warehouse, tmp_path), *ONE_DAY)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert "Sync finished" in output
    requests = emulator_server.emulator.counters().requests
    for endpoint in (ME, ISSUES_SEARCH, ACCOUNTS, ISSUE_MESSAGES):
        assert requests.get(endpoint.key), (endpoint.key, requests)
    assert "cannot be valid" in output and f"removed {TAMPERED_SLOTS} slots" in output
    with warehouse.engine.connect() as connection:
        left = connection.execute(
            sa.text(
                f"SELECT (SELECT count(*) FROM {limits} WHERE rate = 'NaN' "
                "OR paused_until > now() + interval '1 day'), "
                f"(SELECT count(*) FROM {slots} WHERE lease_until > now() + interval '1 day')"
            )
        ).one()
    assert tuple(left) == (0, 0)
