"""`PostgresWarehouse.read_table`: any table, or one daily partition, as a pandas DataFrame."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from pylon_dagster.catalog.tables import table_spec
from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import ChildBatch, PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_emulator import generate

NOW = datetime(2026, 3, 14, 12, tzinfo=UTC)


@pytest.fixture
def loaded(warehouse: PostgresWarehouse) -> list[dict]:
    dataset = generate(5, issues=80, now=NOW, days=10)
    warehouse.ensure_tables()
    with warehouse.transaction() as tx:
        tx.load("issues", [dataset.issues])
        tx.load("issue_statuses", [dataset.issue_statuses])
    return dataset.issues


def test_a_whole_table_has_every_row_and_column(
    warehouse: PostgresWarehouse, loaded: list[dict]
) -> None:
    frame = warehouse.read_table("issues")
    assert list(frame.columns) == list(table_spec("issues").column_names)
    assert sorted(frame["id"]) == sorted(i["id"] for i in loaded)
    assert isinstance(frame["updated_at"].dtype, pd.DatetimeTZDtype)
    by_id = frame.set_index("id")
    for issue in loaded[:5]:
        assert by_id.loc[issue["id"], "raw"] == issue
        assert by_id.loc[issue["id"], "updated_at"] == parse_timestamp(issue["updated_at"])
    statuses = warehouse.read_table("issue_statuses")
    assert set(statuses["slug"]) >= {"new", "closed"}


def test_one_partition_of_issues_is_the_issues_updated_that_day(
    warehouse: PostgresWarehouse, loaded: list[dict]
) -> None:
    day = "2026-03-10"
    frame = warehouse.read_table("issues", partition_key=day)
    expected = {i["id"] for i in loaded if i["updated_at"].startswith(day)}
    assert expected and set(frame["id"]) == expected


def test_one_partition_of_the_daily_metrics_is_its_day(warehouse: PostgresWarehouse) -> None:
    warehouse.ensure_tables()
    rows = {day: [{"id": f"{day}/", "issues_created": 3}] for day in ("2026-03-09", "2026-03-10")}
    with warehouse.transaction() as tx:
        tx.load("support_daily_metrics", [ChildBatch(d, r) for d, r in rows.items()])
    frame = warehouse.read_table("support_daily_metrics", "2026-03-10")
    assert frame[["id", "day", "issues_created"]].to_dict("records") == [
        {"id": "2026-03-10/", "day": "2026-03-10", "issues_created": 3}
    ]


def test_a_time_python_cannot_hold_reads_as_missing(
    warehouse: PostgresWarehouse, loaded: list[dict]
) -> None:
    issue_id = loaded[0]["id"]
    with warehouse.transaction() as tx:
        tx.connection.exec_driver_sql(
            f"UPDATE {qualified(warehouse.schema_name, 'issues')} "
            f"SET created_at = '0044-03-15 12:00:00+00 BC' WHERE id = '{issue_id}'"
        )
    frame = warehouse.read_table("issues").set_index("id")
    assert pd.isna(frame.loc[issue_id, "created_at"])


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("accounts", "2026-03-10", "accounts has no daily partitions"),
        ("issues", "10/03/2026", "is not a day"),
        ("no_such_table", None, "no warehouse table 'no_such_table'"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    warehouse: PostgresWarehouse, table: str, key: str | None, message: str
) -> None:
    warehouse.ensure_tables()
    with pytest.raises((ValueError, KeyError), match=message):
        warehouse.read_table(table, key)
