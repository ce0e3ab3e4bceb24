from __future__ import annotations

import pytest
from click.testing import CliRunner

from pylon_dagster.webapp.cli import app
from pylon_dagster.webapp.settings import APP_SECRET_VAR, WEBHOOK_SECRET_VAR


def test_app_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(APP_SECRET_VAR, raising=False)
    monkeypatch.delenv(WEBHOOK_SECRET_VAR, raising=False)
    result = CliRunner().invoke(app, ["--port", "0"])
    assert result.exit_code == 1
    assert APP_SECRET_VAR in result.output
