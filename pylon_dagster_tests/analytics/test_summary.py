"""`account_support_summary`, synced from the emulator and materialized for real, against
independent SQL; and the sidebar showing exactly its numbers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from pylon_dagster.analytics.summary_scope import SummaryMark
from pylon_dagster.assets.analytics import (
    ACCOUNT_SUMMARY,
    account_support_summary,
    build_account_summary,
)
from pylon_dagster.assets.issue_deletions import ISSUE_DELETIONS
from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.live import live_issues
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.analytics.conftest import BOT_STATUS, DataDays, day_of, rows
from pylon_dagster_tests.fixtures.pipeline import Pipeline

SUMMARY_COLUMNS = (
    "open_issues",
    "open_by_state",
    "issues_last_90_days",
    "median_first_response_seconds",
    "median_resolution_seconds",
    "latest_issues",
)


def stored_summary(warehouse: PostgresWarehouse) -> dict[str, dict[str, Any]]:
    table = qualified(warehouse.schema_name, "account_support_summary")
    found = rows(
        warehouse, f"SELECT account_id, computed_at, {', '.join(SUMMARY_COLUMNS)} FROM {table}"
    )
    return {row.account_id: row._asdict() for row in found}


def expected_summary(warehouse: PostgresWarehouse, computed_at: datetime) -> dict[str, dict]:
    schema = warehouse.schema_name
    live = f"(SELECT * FROM {live_issues(schema)} i WHERE account_id IS NOT NULL)"
    closed = (
        f"(SELECT slug FROM {qualified(schema, 'issue_statuses')} WHERE category = 'closed' "
        "UNION SELECT 'closed')"
    )
    accounts = rows(
        warehouse,
        f"SELECT id FROM {qualified(schema, 'accounts')} UNION SELECT account_id FROM {live} l",
    )
    expected: dict[str, dict] = {
        account: {
            "open_issues": 0,
            "open_by_state": {},
            "issues_last_90_days": 0,
            "median_first_response_seconds": None,
            "median_resolution_seconds": None,
            "latest_issues": [],
        }
        for (account,) in accounts
    }
    for account, state, count in rows(
        warehouse,
        f"SELECT account_id, coalesce(state, 'unknown'), count(*) FROM {live} l "
        f"WHERE state IS NULL OR state NOT IN {closed} GROUP BY 1, 2",
    ):
        expected[account]["open_by_state"][state] = count
        expected[account]["open_issues"] += count
    for account, count, first_response, resolution in rows(
        warehouse,
        "SELECT account_id, count(*), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_seconds), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_seconds) "
        f"FROM {live} l WHERE created_at >= :since GROUP BY 1",
        since=computed_at - timedelta(days=90),
    ):
        expected[account].update(
            issues_last_90_days=count,
            median_first_response_seconds=first_response,
            median_resolution_seconds=resolution,
        )
    for row in rows(
        warehouse,
        "SELECT account_id, number, title, state, link, created_at, tags FROM ("
        "SELECT *, row_number() OVER (PARTITION BY account_id "
        "ORDER BY created_at DESC NULLS LAST, number DESC NULLS LAST) AS n "
        f"FROM {live} l) x WHERE n <= 5 ORDER BY account_id, n",
    ):
        issue = row._asdict()
        expected[issue.pop("account_id")]["latest_issues"].append(issue)
    return expected


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """A stored row with its latest issues' times parsed, and its medians approximate."""
    latest = [
        {**issue, "created_at": parse_timestamp(issue["created_at"])}
        for issue in summary["latest_issues"]
    ]
    medians = ("median_first_response_seconds", "median_resolution_seconds")
    return {
        **{k: summary[k] for k in SUMMARY_COLUMNS},
        "latest_issues": latest,
        **{m: None if summary[m] is None else pytest.approx(summary[m]) for m in medians},
    }


def test_account_summary_equals_independent_sql(pipeline: Pipeline, data_days: DataDays) -> None:
    pipeline.sync(start=data_days.first, end=data_days.today)
    warehouse = pipeline.warehouse
    stored = stored_summary(warehouse)
    (computed_at,) = {row["computed_at"] for row in stored.values()}

    expected = expected_summary(warehouse, computed_at)
    assert stored.keys() == expected.keys()
    for account, row in stored.items():
        assert expected[account] == comparable(row), account

    # What the dataset had to hold for this to prove something.
    assert any(row["issues_last_90_days"] > 0 for row in stored.values())
    schema = warehouse.schema_name
    (bot_accounts,) = rows(
        warehouse,
        f"SELECT count(DISTINCT account_id) FROM {qualified(schema, 'issues')} WHERE state = :bot",
        bot=BOT_STATUS,
    )[0]
    assert bot_accounts > 0
    assert not any(BOT_STATUS in row["open_by_state"] for row in stored.values())
    older = rows(
        warehouse,
        f"SELECT count(*) FROM {qualified(schema, 'issues')} WHERE created_at < :since",
        since=computed_at - timedelta(days=90),
    )[0][0]
    assert older > 0, "the 90-day window should cut the dataset"


def latest_summary_metadata(pipeline: Pipeline) -> Mapping[str, dg.MetadataValue]:
    (record,) = pipeline.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ACCOUNT_SUMMARY), limit=1
    ).records
    assert record.asset_materialization is not None
    return record.asset_materialization.metadata


def assert_summary_is_exact(warehouse: PostgresWarehouse, now: datetime) -> None:
    stored, expected = stored_summary(warehouse), expected_summary(warehouse, now)
    assert stored.keys() == expected.keys()
    for account, row in stored.items():
        assert expected[account] == comparable(row), account


def test_a_run_recomputes_the_accounts_whose_issues_changed(
    pipeline: Pipeline, data_days: DataDays
) -> None:
    """After a full first run, a later one recomputes the accounts of an issue moved between
    two accounts and of a closed one, and every row is what a full computation gives; one five
    days later also recomputes the accounts whose issues left the 90-day window."""
    pipeline.sync(start=data_days.first, end=data_days.today)
    assert latest_summary_metadata(pipeline)["full_recompute"].value
    issues = pipeline.truth("issues")
    by_account = sorted(i for i in issues if issues[i].get("account"))
    moved = by_account[0]
    source = issues[moved]["account"]["id"]
    target = next(
        issues[i]["account"]["id"] for i in by_account if issues[i]["account"]["id"] != source
    )
    still_open = next(
        i
        for i in by_account
        if issues[i]["state"] == "new" and issues[i]["account"]["id"] != source
    )
    changed_on = [
        day_of(pipeline.emulator.update_issue(moved, account={"id": target})["updated_at"]),
        day_of(pipeline.emulator.update_issue(still_open, state="closed")["updated_at"]),
    ]
    pipeline.sync(start=min(changed_on), end=max(changed_on))

    metadata = latest_summary_metadata(pipeline)
    accounts = len(stored_summary(pipeline.warehouse))
    assert not metadata["full_recompute"].value
    assert 2 <= metadata["rows_received"].value < accounts
    computed_at = datetime.fromisoformat(metadata["computed_at"].value)
    recomputed = {
        account
        for account, row in stored_summary(pipeline.warehouse).items()
        if row["computed_at"] == computed_at
    }
    assert {source, target, issues[still_open]["account"]["id"]} <= recomputed
    assert_summary_is_exact(pipeline.warehouse, computed_at)

    later = computed_at + timedelta(days=5)
    mark = SummaryMark.from_metadata(metadata)
    before = stored_summary(pipeline.warehouse)
    build = build_account_summary(pipeline.warehouse, later, mark)
    assert not build.full and 0 < build.load.received < accounts
    assert_summary_is_exact(pipeline.warehouse, later)
    after = stored_summary(pipeline.warehouse)
    assert any(
        after[a]["issues_last_90_days"] < before[a]["issues_last_90_days"] for a in before
    ), "issues should have left the window"


def test_a_run_after_a_pass_that_unmarked_issues_recomputes_every_account(
    pipeline: Pipeline, data_days: DataDays
) -> None:
    """An issue un-marked deleted changes no stamp the mark follows: the run after the pass that
    un-marked it recomputes every account; after a pass that un-marked none, only changes."""
    pipeline.sync(start=data_days.today - timedelta(days=3), end=data_days.today)

    def materialize_after_pass(unmarked: int) -> bool:
        pipeline.instance.report_runless_asset_event(
            dg.AssetMaterialization(ISSUE_DELETIONS, metadata={"issues_unmarked": unmarked})
        )
        resources = {"warehouse": pipeline.warehouse}
        result = dg.materialize(
            [account_support_summary], instance=pipeline.instance, resources=resources
        )
        assert result.success
        return latest_summary_metadata(pipeline)["full_recompute"].value

    assert not materialize_after_pass(0)
    assert materialize_after_pass(1)
    assert_summary_is_exact(
        pipeline.warehouse,
        datetime.fromisoformat(latest_summary_metadata(pipeline)["computed_at"].value),
    )
