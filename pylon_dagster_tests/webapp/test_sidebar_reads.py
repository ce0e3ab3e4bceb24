"""How the sidebar reads the warehouse: always the latest data (nothing is kept between requests),
and a pooled connection the server dropped is replaced without failing the request."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.assets.analytics import account_support_summary
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.webapp.conftest import PylonCaller, load
from pylon_dagster_tests.webapp.test_custom_app import (
    accounts_by_size,
    cards,
    fetch,
    issue_params,
    issues_of,
    newest_first,
    texts,
)
from pylon_emulator import Dataset


def account_card(shown: dict, account: dict) -> dict[str, str]:
    return texts(shown[account["name"]])


def materialize_summary(warehouse: PostgresWarehouse) -> None:
    """The `account_support_summary` asset, as of the real now (its 90-day window with it)."""
    assert dg.materialize([account_support_summary], resources={"warehouse": warehouse}).success


def test_a_new_materialization_shows_new_numbers(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    load(warehouse, dataset)
    # Both numbers the sidebar shows come from the asset: their 90-day windows differ by moments.
    materialize_summary(warehouse)
    account_id = accounts_by_size(dataset)[0]
    account = next(a for a in dataset.accounts if a["id"] == account_id)
    params = issue_params(newest_first(issues_of(dataset, account_id))[0])
    before = account_card(cards(fetch(pylon, params)), account)
    assert before["Open issues"] != "0"

    with warehouse.transaction() as tx:
        tx.connection.execute(
            sa.text(
                f"UPDATE {qualified(warehouse.schema_name, 'issues')} SET state = 'closed' "
                "WHERE account_id = :account_id"
            ),
            {"account_id": account_id},
        )
    # Until the summary is computed again, the sidebar shows the numbers it holds ...
    assert account_card(cards(fetch(pylon, params)), account) == before
    materialize_summary(warehouse)

    # ... and the next request after the materialization shows the new ones.
    after = account_card(cards(fetch(pylon, params)), account)
    assert after["Open issues"] == "0"
    assert {k: v for k, v in after.items() if k != "Open issues"} == {
        k: v for k, v in before.items() if k != "Open issues"
    }


def test_a_connection_the_server_dropped_is_replaced(
    warehouse: PostgresWarehouse, dataset: Dataset, pylon: PylonCaller
) -> None:
    load(warehouse, dataset)
    params = issue_params(newest_first(dataset.issues)[0])
    first = fetch(pylon, params)

    # What a server restart does to the app's pooled connection: its backend is gone.
    with warehouse.engine.connect() as connection:
        terminated = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE 'WITH owner AS %' AND query LIKE :schema"
            ),
            {"schema": f"%{warehouse.schema_name}%"},
        ).scalar_one()
    assert terminated >= 1

    assert fetch(pylon, params) == first
