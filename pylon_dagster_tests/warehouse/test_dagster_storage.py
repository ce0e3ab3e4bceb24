"""Dagster's own storage: Postgres on the embedded server by default, SQLite kept where it was."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from pylon_dagster.instance import SQLITE_RUNS, instance_settings
from pylon_dagster.settings import WAREHOUSE_URL_VAR
from pylon_dagster.warehouse.dagster_storage import STORAGE_CLASSES
from pylon_dagster.warehouse.embedded import EMBEDDED_DIR
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres


def _home_with(settings: str, tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(settings)
    return home


def test_with_the_embedded_warehouse_runs_are_stored_in_its_dagster_database(
    embedded_postgres: EmbeddedPostgres, tmp_path: Path
):
    environ = {"PYLON_DAGSTER_STATE": str(embedded_postgres.state_dir)}
    settings = instance_settings(tmp_path / "dagster_home", environ)
    for section, class_name in STORAGE_CLASSES.items():
        assert f'{section}: {{"module": "pylon_dagster.warehouse.dagster_storage"' in settings
        assert class_name in settings
    assert str(embedded_postgres.state_dir / EMBEDDED_DIR) in settings
    home = _home_with(settings, tmp_path)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage).__name__ == STORAGE_CLASSES["event_log_storage"]
        assert instance.event_log_storage.supports_global_concurrency_limits  # pools work
        run = instance.create_run_for_job(dg.GraphDefinition("nothing").to_job())
    # Another process (the webserver, a run worker) reads the same storage.
    with dg.DagsterInstance.from_config(str(home)) as other:
        assert other.get_run_by_id(run.run_id) is not None
    assert not (home / SQLITE_RUNS).exists()


def test_a_home_whose_runs_are_in_sqlite_keeps_them_there_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    home = tmp_path / "dagster_home"
    (home / SQLITE_RUNS).parent.mkdir(parents=True)
    (home / SQLITE_RUNS).touch()

    settings = instance_settings(home, {"PYLON_DAGSTER_STATE": str(tmp_path / "state")})

    assert "dagster_storage" not in settings
    note = capsys.readouterr().err
    assert "kept in SQLite" in note and f"delete {home}" in note


def test_with_a_warehouse_url_dagster_storage_is_left_to_your_dagster_yaml(tmp_path: Path):
    environ = {WAREHOUSE_URL_VAR: "postgresql://u@db.example.com/analytics"}
    assert "dagster_storage" not in instance_settings(tmp_path, environ)
