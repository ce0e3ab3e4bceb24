"""`Settings.from_env`: every setting read from the mapping it is given, checked at once."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from pylon_dagster.settings import STATE_DIR_VAR, ConfigError, Settings

TODAY = date(2026, 11, 29)


def test_an_empty_environment_gives_the_documented_defaults(tmp_path: Path):
    settings = Settings.from_env({STATE_DIR_VAR: str(tmp_path)}, today=TODAY)

    assert settings == Settings(
        start_date=date(2026, 10, 30),
        state_dir=tmp_path.resolve(),
        api_url="https://api.usepylon.com",
        has_api_token=False,
        rate_limits="auto",
        rate_limit_window_seconds=60.0,
        backfill_share=0.5,
        progress_interval_seconds=30.0,
        issue_sensor_interval_seconds=30,
        webhook_retention=timedelta(days=7),
        issues_cron="15 0 * * *",
        reference_cron="45 0 * * *",
        deletions_cron="30 * * * *",
        warehouse_schema="pylon",
        warehouse_url=None,
        alert_webhook_url=None,
    )


def test_every_setting_is_read_from_the_mapping_given(tmp_path: Path):
    settings = Settings.from_env(
        {
            STATE_DIR_VAR: str(tmp_path),
            "PYLON_START_DATE": "2024-01-01T00:00:00Z",
            "PYLON_API_URL": "https://api.eu.usepylon.com/",
            "PYLON_API_TOKEN": "a-token",
            "PYLON_RATE_LIMITS": "2026-04",
            "PYLON_RATE_LIMIT_WINDOW_SECONDS": "2",
            "PYLON_BACKFILL_SHARE": "0.25",
            "PYLON_PROGRESS_INTERVAL_SECONDS": "0",
            "PYLON_ISSUE_SENSOR_INTERVAL_SECONDS": "60",
            "PYLON_WEBHOOK_RETENTION_DAYS": "14",
            "PYLON_ISSUES_SCHEDULE_CRON": " 5  1 * * * ",
            "PYLON_REFERENCE_SCHEDULE_CRON": "10 2 * * *",
            "PYLON_DELETIONS_SCHEDULE_CRON": "0 */2 * * *",
            "PYLON_WAREHOUSE_SCHEMA": "support",
            "PYLON_WAREHOUSE_URL": "postgresql://u:pw@db/pylon",
            "PYLON_ALERT_WEBHOOK_URL": "https://hooks.example.com/T0/B0/s3cret",
        },
        today=TODAY,
    )

    assert (settings.start_date, settings.api_url, settings.has_api_token) == (
        date(2024, 1, 1),
        "https://api.eu.usepylon.com",
        True,
    )
    assert (settings.rate_limits, settings.rate_limit_window_seconds) == ("2026-04", 2.0)
    assert (settings.backfill_share, settings.progress_interval_seconds) == (0.25, 0.0)
    assert settings.issue_sensor_interval_seconds == 60
    assert settings.webhook_retention == timedelta(days=14)
    assert (settings.issues_cron, settings.reference_cron, settings.deletions_cron) == (
        "5 1 * * *",
        "10 2 * * *",
        "0 */2 * * *",
    )
    assert (settings.warehouse_schema, settings.warehouse_url) == (
        "support",
        "postgresql://u:pw@db/pylon",
    )
    assert settings.alert_webhook_url == "https://hooks.example.com/T0/B0/s3cret"
    # Values that may hold a secret stay out of its text; the token is not kept at all.
    assert "pw@" not in repr(settings) and "s3cret" not in repr(settings)
    assert "a-token" not in repr(settings)


def test_the_process_environment_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYLON_START_DATE", "not a date")
    monkeypatch.setenv("PYLON_BACKFILL_SHARE", "7")

    settings = Settings.from_env({STATE_DIR_VAR: str(tmp_path)}, today=TODAY)

    assert (settings.start_date, settings.backfill_share) == (date(2026, 10, 30), 0.5)


def test_a_bad_value_is_a_config_error_naming_it(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"^PYLON_BACKFILL_SHARE='0' must be a number above 0"):
        Settings.from_env({STATE_DIR_VAR: str(tmp_path), "PYLON_BACKFILL_SHARE": "0"})


def test_settings_cannot_change_once_read(tmp_path: Path):
    settings = Settings.from_env({STATE_DIR_VAR: str(tmp_path)}, today=TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.start_date = TODAY  # type: ignore[misc]
