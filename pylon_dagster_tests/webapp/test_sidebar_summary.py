"""The sidebar's account numbers are the account's row of `account_support_summary`."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.assets.analytics import account_support_summary
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster.webapp.sidebar import NOT_COMPUTED, format_duration
from pylon_dagster_tests.webapp.conftest import PylonCaller
from pylon_dagster_tests.webapp.test_custom_app import (
    account_of,
    accounts_by_size,
    assert_issue_list,
    badge,
    cards,
    fetch,
    issue_entries,
    issue_params,
    issues_of,
    newest_first,
    texts,
)
from pylon_emulator import Dataset


def load_raw(warehouse: PostgresWarehouse, dataset: Dataset) -> None:
    warehouse.ensure_tables()
    with warehouse.transaction() as tx:
        tx.load("accounts", [dataset.accounts])
        tx.load("issue_statuses", [dataset.issue_statuses])
        tx.load("issues", [dataset.issues])


def summary_row(warehouse: PostgresWarehouse, account_id: str) -> dict:
    table = qualified(warehouse.schema_name, "account_support_summary")
    with warehouse.engine.connect() as connection:
        row = connection.execute(
            sa.text(f"SELECT * FROM {table} WHERE account_id = :id"), {"id": account_id}
        ).one()
    return row._asdict()


def test_the_sidebar_shows_the_summary_row_dagster_materialized(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    load_raw(warehouse, dataset)
    assert dg.materialize([account_support_summary], resources={"warehouse": warehouse}).success
    account_id = accounts_by_size(dataset)[0]
    row = summary_row(warehouse, account_id)
    account_issues = issues_of(dataset, account_id)
    # Closed since the summary was computed: the sidebar keeps showing the summary's numbers.
    with warehouse.transaction() as tx:
        tx.connection.execute(
            sa.text(f"UPDATE {qualified(warehouse.schema_name, 'issues')} SET state = 'closed'"),
        )

    shown = cards(fetch(pylon, issue_params(newest_first(account_issues)[0])))

    (title,) = [t for t in shown if t not in {"Latest issues"} and not t.startswith("Requester")]
    summary = shown[title]
    assert row["open_issues"] > 0
    assert texts(summary) == {
        "Open issues": str(row["open_issues"]),
        "Issues in the last 90 days": str(row["issues_last_90_days"]),
        "Median first response (90 days)": format_duration(row["median_first_response_seconds"]),
        "Median resolution (90 days)": format_duration(row["median_resolution_seconds"]),
    }
    assert sorted(badge(summary, "Open by state")) == sorted(
        f"{state}: {n}" for state, n in row["open_by_state"].items()
    )
    (as_of,) = [c["value"] for c in summary if c["type"] == "date_time"]
    assert datetime.fromisoformat(as_of) == row["computed_at"].replace(microsecond=0)
    assert_issue_list(shown["Latest issues"], row["latest_issues"])
    assert [i["number"] for i in row["latest_issues"]] == [
        i["number"] for i in newest_first(account_issues)[:5]
    ]


def test_before_the_summary_is_built_the_card_says_so(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    load_raw(warehouse, dataset)
    account_id = accounts_by_size(dataset)[0]
    account = account_of(dataset, account_id)
    account_issues = issues_of(dataset, account_id)

    shown = cards(fetch(pylon, issue_params(newest_first(account_issues)[0])))

    assert texts(shown[account["name"]]) == {"Support metrics": NOT_COMPUTED}
    assert_issue_list(shown["Latest issues"], newest_first(account_issues)[:5])
    assert issue_entries(shown["Latest issues"])
