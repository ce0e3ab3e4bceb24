from __future__ import annotations

import pytest

from pylon_dagster.settings import ConfigError
from pylon_dagster.webapp.settings import AppSettings


def test_reads_secrets_and_header() -> None:
    settings = AppSettings.from_env(
        {
            "PYLON_APP_SECRET": " s3cret ",
            "PYLON_APP_HEADER_NAME": "X-App-Token",
            "PYLON_APP_HEADER_VALUE": "tok",
            "PYLON_WEBHOOK_SECRET": "hook",
        }
    )
    assert settings == AppSettings("s3cret", ("X-App-Token", "tok"), "hook")


def test_webhook_only() -> None:
    assert AppSettings.from_env({"PYLON_WEBHOOK_SECRET": "hook"}) == AppSettings(None, None, "hook")


def test_half_a_header_is_refused() -> None:
    with pytest.raises(ConfigError, match="PYLON_APP_HEADER_VALUE"):
        AppSettings.from_env({"PYLON_APP_SECRET": "s", "PYLON_APP_HEADER_NAME": "X-App-Token"})


def test_no_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="PYLON_APP_SECRET"):
        AppSettings.from_env({"PYLON_APP_SECRET": "  "})
