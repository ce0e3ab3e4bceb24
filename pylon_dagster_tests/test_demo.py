"""The README's first command: the demo's emulator, warehouse and first sync, end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from pylon_dagster.warehouse import PostgresWarehouse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_demo_syncs_the_emulator_into_the_warehouse(
    tmp_path: Path, warehouse: PostgresWarehouse
):
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    env = {**os.environ, "PYLON_DAGSTER_STATE": str(tmp_path / ".state")}
    for name in ("PYLON_START_DATE", "DAGSTER_HOME", "PYLON_API_URL", "PYLON_API_TOKEN"):
        env.pop(name, None)
    command = [str(Path(sys.executable).with_name("pylon-dagster")), "demo", "--sync-only"]
    result = subprocess.run(
        [*command, "--issues", "60", "--emulator-port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "issues " in result.stdout and "FAILED" not in result.stdout
    with warehouse.engine.connect() as connection:
        counts = {
            table: connection.execute(
                sa.text(f'SELECT count(*) FROM "{warehouse.schema_name}"."{table}"')
            ).scalar_one()
            for table in ("issues", "issue_messages", "accounts", "knowledge_base_articles")
        }
    assert all(counts.values()), counts
    assert (tmp_path / ".state" / "dagster" / "dagster.yaml").exists()
