"""Bad configuration through the real entry point: `pylon-dagster sync` in a subprocess.

Each mistake must exit non-zero with a message naming the setting and showing a valid value,
before any data is read from Pylon or written to the warehouse, and never show the token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.tables import TABLES
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.reliability.cli_process import cli_env, closed_port, run_cli
from pylon_emulator import EmulatorServer

# Slow: each test runs `pylon-dagster sync` in a subprocess (the real entry point).
pytestmark = pytest.mark.slow

WRONG_TOKEN = "wrong-token-0d1e5ecret"
WAREHOUSE_PASSWORD = "hunter2-warehouse-pw"
URL_PASSWORD = "url-pa55word"
ONE_DAY = ("--start", "2026-03-13", "--end", "2026-03-13")
Override = str | None | Callable[[], str]
"""An environment override; a callable is read when the test runs (a date, or a port closed now
rather than at import)."""


def future_date() -> str:
    """Two days after today (UTC) when the test runs: still in the future when the command
    starts, even if a midnight passes in between (a date read at import may be today by then)."""
    return (datetime.now(UTC).date() + timedelta(days=2)).isoformat()


# name: (environment overrides, text the message must contain)
CASES: dict[str, tuple[dict[str, Override], tuple[str, ...]]] = {
    "token_missing": ({"PYLON_API_TOKEN": None}, ("PYLON_API_TOKEN is not set", "Settings > API")),
    "token_empty": ({"PYLON_API_TOKEN": "  "}, ("PYLON_API_TOKEN is not set", "Settings > API")),
    "token_wrong": (
        {"PYLON_API_TOKEN": WRONG_TOKEN},
        ("refused the API token (401", "PYLON_API_TOKEN", "https://api.usepylon.com"),
    ),
    "api_url_unreachable": (
        {"PYLON_API_URL": lambda: f"http://127.0.0.1:{closed_port()}"},
        ("PYLON_API_URL=", "cannot be reached", "https://api.usepylon.com"),
    ),
    "api_url_not_a_url": (
        {"PYLON_API_URL": "api.usepylon.com"},
        ("PYLON_API_URL is not an http(s) URL", "https://api.usepylon.com"),
    ),
    "start_date_malformed": (
        {"PYLON_START_DATE": "2024-13-45"},
        ("PYLON_START_DATE='2024-13-45' is not a date", "YYYY-MM-DD", "2024-01-01"),
    ),
    "start_date_in_the_future": (
        {"PYLON_START_DATE": future_date},
        ("PYLON_START_DATE=", "is in the future", "2024-01-01"),
    ),
    "start_date_too_early": (
        {"PYLON_START_DATE": "0001-01-01"},
        ("PYLON_START_DATE='0001-01-01' is before 2015-01-01", "2024-01-01"),
    ),
    "api_url_with_password": (
        {"PYLON_API_URL": f"https://user:{URL_PASSWORD}@api.usepylon.com"},
        ("PYLON_API_URL must not carry a user or password", "PYLON_API_TOKEN"),
    ),
    "api_url_with_password_no_scheme": (
        {"PYLON_API_URL": f"user:{URL_PASSWORD}@api.usepylon.com"},
        ("PYLON_API_URL must not carry a user or password", "PYLON_API_TOKEN"),
    ),
    "rate_window_nan": (
        {"PYLON_RATE_LIMIT_WINDOW_SECONDS": "nan"},
        ("PYLON_RATE_LIMIT_WINDOW_SECONDS='nan' must be a positive number", "60"),
    ),
    "rate_window_inf": (
        {"PYLON_RATE_LIMIT_WINDOW_SECONDS": "inf"},
        ("PYLON_RATE_LIMIT_WINDOW_SECONDS='inf' must be a positive number", "60"),
    ),
    "rate_window_huge": (
        {"PYLON_RATE_LIMIT_WINDOW_SECONDS": "1e300"},
        ("PYLON_RATE_LIMIT_WINDOW_SECONDS='1e300' must be a positive number", "0.1 to 3600"),
    ),
    "rate_window_tiny": (
        {"PYLON_RATE_LIMIT_WINDOW_SECONDS": "1e-9"},
        ("PYLON_RATE_LIMIT_WINDOW_SECONDS='1e-9' must be a positive number", "0.1 to 3600"),
    ),
    "start_time_without_offset_is_utc": (
        # 05:00 on the 14th is the 13th in UTC if read at UTC+14: the sync of the 13th would
        # run. Read as UTC, the first partition is the 14th, on any host.
        {"PYLON_START_DATE": "2026-03-14T05:00:00", "TZ": "Etc/GMT-14"},
        ("--start 2026-03-13 is before the first partition 2026-03-14",),
    ),
    "rate_limits_unknown": (
        {"PYLON_RATE_LIMITS": "2025-01"},
        ("PYLON_RATE_LIMITS='2025-01'", "ENDPOINT=REQUESTS_PER_MINUTE", "auto"),
    ),
    "backfill_share_out_of_range": (
        {"PYLON_BACKFILL_SHARE": "2"},
        ("PYLON_BACKFILL_SHARE='2' must be a number above 0 and at most 1", "0.5"),
    ),
    "progress_interval_not_a_number": (
        {"PYLON_PROGRESS_INTERVAL_SECONDS": "often"},
        ("PYLON_PROGRESS_INTERVAL_SECONDS='often' must be a number of seconds from 0", "30"),
    ),
    "webhook_retention_zero": (
        {"PYLON_WEBHOOK_RETENTION_DAYS": "0"},
        ("PYLON_WEBHOOK_RETENTION_DAYS='0' must be a number of days from 1 to 3650", "7"),
    ),
    "issue_cron_bogus": (
        {"PYLON_ISSUES_SCHEDULE_CRON": "every day"},
        ("PYLON_ISSUES_SCHEDULE_CRON='every day' is not a cron schedule", "15 0 * * *"),
    ),
    "deletions_cron_bogus": (
        {"PYLON_DELETIONS_SCHEDULE_CRON": "hourly"},
        ("PYLON_DELETIONS_SCHEDULE_CRON='hourly' is not a cron schedule", "30 * * * *"),
    ),
    "sensor_interval_negative": (
        {"PYLON_ISSUE_SENSOR_INTERVAL_SECONDS": "-5"},
        ("PYLON_ISSUE_SENSOR_INTERVAL_SECONDS='-5' must be a whole number of seconds", "30"),
    ),
    "schema_with_sql": (
        {"PYLON_WAREHOUSE_SCHEMA": 'x"; DROP TABLE y; --'},
        ("PYLON_WAREHOUSE_SCHEMA=", "is not a plain lower-case Postgres name", "pylon"),
    ),
    "schema_system": (
        {"PYLON_WAREHOUSE_SCHEMA": "pg_catalog"},
        ("PYLON_WAREHOUSE_SCHEMA='pg_catalog'", "not pg_* or information_schema"),
    ),
    "warehouse_url_not_postgres": (
        {"PYLON_WAREHOUSE_URL": f"mysql://u:{WAREHOUSE_PASSWORD}@localhost/db"},
        ("PYLON_WAREHOUSE_URL must point at PostgreSQL", "postgresql://"),
    ),
    "warehouse_url_garbage": (
        {"PYLON_WAREHOUSE_URL": "::not a url::"},
        ("PYLON_WAREHOUSE_URL is not a valid database URL", "postgresql://"),
    ),
    "warehouse_unreachable": (
        {
            "PYLON_WAREHOUSE_URL": lambda: (
                f"postgresql://u:{WAREHOUSE_PASSWORD}@127.0.0.1:{closed_port()}/db"
            )
        },
        ("Cannot connect to the warehouse", "PYLON_WAREHOUSE_URL", "postgresql://"),
    ),
}
# Only `GET /me` may be asked before the configuration is known to be good.
DATA_REQUESTS_ALLOWED: set[str] = set()


def _tables(warehouse: PostgresWarehouse) -> list[str]:
    """The data tables holding rows (the preflight may have prepared the warehouse, and the rate
    budget's tables may have rows: it asked `GET /me`)."""
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"
    with warehouse.engine.connect() as connection:
        names = connection.execute(sa.text(query), {"schema": warehouse.schema_name}).scalars()
        return sorted(
            name
            for name in set(names) & set(TABLES)
            if connection.exec_driver_sql(
                f"SELECT 1 FROM {qualified(warehouse.schema_name, name)} LIMIT 1"
            ).first()
        )


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_setting_fails_before_any_data_naming_the_setting(
    case: str, emulator_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
):
    overrides, expected = CASES[case]
    values = {name: value() if callable(value) else value for name, value in overrides.items()}
    env = cli_env(emulator_server, warehouse, tmp_path, **values)

    result = run_cli(env, *ONE_DAY)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    for text in expected:
        assert text in output, (text, output)
    assert "Traceback" not in output, output
    for secret in (emulator_server.emulator.token, WRONG_TOKEN, WAREHOUSE_PASSWORD, URL_PASSWORD):
        assert secret not in output
    requested = set(emulator_server.emulator.counters().to_json()["requests"]) - {"GET /me"}
    assert requested == DATA_REQUESTS_ALLOWED, requested
    assert _tables(warehouse) == []


def test_good_configuration_syncs(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
):
    """The control: the same command with nothing wrong succeeds and writes data."""
    result = run_cli(cli_env(emulator_server, warehouse, tmp_path), *ONE_DAY)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Sync finished" in output
    assert emulator_server.emulator.token not in output
    assert "issues" in _tables(warehouse)


def test_an_upstream_echoing_the_token_never_gets_it_shown_or_stored(
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
    leaked: Callable[..., list[str]],
):
    """A 400 whose text quotes the Authorization header, in the middle of a sync: the failure is
    reported with the token blanked, and the token is nowhere in the command's output, Dagster's
    storage (run and event logs, compute logs) or the Postgres server's log."""
    emulator = emulator_server.emulator
    emulator.set_faults(search_window_cap_days=5, echo_authorization=True)
    env = cli_env(emulator_server, warehouse, tmp_path)

    result = run_cli(env, "--start", "2026-03-01", "--end", "2026-03-13")

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "you sent Authorization: Bearer ***" in output, output
    assert leaked([emulator.token], output=output) == []
