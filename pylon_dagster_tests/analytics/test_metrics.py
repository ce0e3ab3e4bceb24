"""The metric assets, synced from the emulator and materialized for real, against independent SQL.

The dataset holds what the definitions must get right: issues without a team and without a first
response, day-team groups with an even number of response times (a median between two values), a
custom status in the closed category, and issues reopened from a closed state (planted by updating
the emulator between syncs).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import dagster as dg
import pytest

from pylon_dagster.assets.analytics import account_support_summary, build_daily_metrics
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.live import live_issues
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster_tests.analytics.conftest import BOT_STATUS, DataDays, day_of, rows
from pylon_dagster_tests.fixtures.pipeline import Pipeline

COUNTS = ("issues_created", "issues_resolved", "open_at_end_of_day", "reopened")
TIMES = (
    "median_first_response_seconds",
    "p90_first_response_seconds",
    "median_resolution_seconds",
    "p90_resolution_seconds",
)


def run_daily_metrics(pipeline: Pipeline, first: date, last: date) -> None:
    job = pipeline.defs.resolve_job_def("pylon_daily_metrics_job")
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
    assert job.execute_in_process(instance=pipeline.instance, tags=tags).success


def expected_daily(warehouse: PostgresWarehouse, days: list[date]) -> dict[tuple, dict]:
    """Every metric of every (day, team) computed in SQL, straight from the definitions."""
    schema = warehouse.schema_name
    live = live_issues(schema)
    history = qualified(schema, "issues_history")
    closed = (
        f"(SELECT slug FROM {qualified(schema, 'issue_statuses')} WHERE category = 'closed' "
        "UNION SELECT 'closed')"
    )
    day_of = "(({t}) AT TIME ZONE 'UTC')::date"
    end_of = "((d.day + 1)::timestamp AT TIME ZONE 'UTC')"
    metrics: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))

    def put(query: str, *names: str) -> None:
        for day, team, *values in rows(warehouse, query, days=days):
            if day in days:
                metrics[(day.isoformat(), team)].update(zip(names, values, strict=True))

    for name, column in (("issues_created", "created_at"), ("issues_resolved", "resolution_time")):
        put(
            f"SELECT {day_of.format(t=column)}, team_id, count(*) FROM {live} i "
            f"WHERE {column} IS NOT NULL GROUP BY 1, 2",
            name,
        )
    for kind, time, seconds in (
        ("first_response", "first_response_time", "first_response_seconds"),
        ("resolution", "resolution_time", "resolution_seconds"),
    ):
        put(
            f"SELECT {day_of.format(t=time)}, team_id, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}), "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {seconds}) "
            f"FROM {live} i WHERE {time} IS NOT NULL AND {seconds} IS NOT NULL GROUP BY 1, 2",
            f"median_{kind}_seconds",
            f"p90_{kind}_seconds",
        )
    put(
        f"SELECT d.day, i.team_id, count(*) FROM unnest(CAST(:days AS date[])) AS d(day) "
        f"JOIN {live} i ON i.created_at < {end_of} "
        f"LEFT JOIN LATERAL (SELECT h.state, true AS found FROM {history} h WHERE h.id = i.id "
        f"AND h.updated_at < {end_of} ORDER BY h.updated_at DESC LIMIT 1) v ON true "
        f"WHERE CASE WHEN v.found THEN v.state IS NULL OR v.state NOT IN {closed} "
        f"ELSE i.resolution_time IS NULL OR i.resolution_time >= {end_of} END "
        "GROUP BY 1, 2",
        "open_at_end_of_day",
    )
    put(
        f"SELECT {day_of.format(t='h.updated_at')}, i.team_id, count(DISTINCT h.id) "
        f"FROM (SELECT id, updated_at, state, lag(state) OVER (PARTITION BY id ORDER BY "
        f"updated_at) AS previous FROM {history}) h JOIN {live} i ON i.id = h.id "
        f"WHERE h.previous IN {closed} AND (h.state IS NULL OR h.state NOT IN {closed}) "
        "GROUP BY 1, 2",
        "reopened",
    )
    return {
        key: {**dict.fromkeys(TIMES), **values}
        for key, values in metrics.items()
        if any(values[c] for c in COUNTS) or any(values.get(t) is not None for t in TIMES)
    }


def stored_daily(warehouse: PostgresWarehouse) -> dict[tuple, dict]:
    table = qualified(warehouse.schema_name, "support_daily_metrics")
    found = rows(warehouse, f"SELECT day, team_id, {', '.join(COUNTS + TIMES)}, id FROM {table}")
    stored = {}
    for day, team, *values, key in found:
        assert key == f"{day}/{team or ''}"
        stored[(day, team)] = dict(zip(COUNTS + TIMES, values, strict=True))
    return stored


def assert_same(stored: dict[tuple, dict], expected: dict[tuple, dict]) -> None:
    assert stored.keys() == expected.keys()
    for key, values in expected.items():
        for name, value in values.items():
            assert stored[key][name] == (pytest.approx(value) if value is not None else None), (
                key,
                name,
            )


def reopen_issues(pipeline: Pipeline) -> dict[str, date]:
    """Close an open issue, sync, then reopen it and a bot-solved issue, and sync again.

    Returns the day each issue was reopened. The emulator stamps each change with the real clock,
    so each sync covers the days of the stamps it must see (a midnight may pass in between)."""
    truth = pipeline.truth("issues")
    waiting = next(i for i in sorted(truth) if truth[i]["state"] == "waiting_on_you")
    solved = next(i for i in sorted(truth) if truth[i]["state"] == BOT_STATUS)
    closed_on = day_of(pipeline.emulator.update_issue(waiting, state="closed")["updated_at"])
    pipeline.sync(start=closed_on, end=closed_on)
    reopened_on = {
        issue_id: day_of(pipeline.emulator.update_issue(issue_id, state=state)["updated_at"])
        for issue_id, state in ((waiting, "waiting_on_customer"), (solved, "new"))
    }
    pipeline.sync(start=min(reopened_on.values()), end=max(reopened_on.values()))
    return reopened_on


def test_daily_metrics_equal_independent_sql(pipeline: Pipeline, data_days: DataDays) -> None:
    pipeline.sync(start=data_days.first, end=data_days.today)
    reopened_on = reopen_issues(pipeline)
    last_day = max(reopened_on.values())
    warehouse = pipeline.warehouse
    days = data_days.through(last_day)

    # The syncs materialized the metrics of every day they synced.
    assert_same(stored_daily(warehouse), expected_daily(warehouse, days))
    # Materializing a stretch again converges to the same rows.
    run_daily_metrics(pipeline, data_days.first, last_day)
    stored = stored_daily(warehouse)
    assert_same(stored, expected_daily(warehouse, days))

    # What the dataset had to hold for this to prove something.
    assert any(team is None for _, team in stored), "issues without a team"
    reopen_days = {day.isoformat() for day in reopened_on.values()}
    assert sum(v["reopened"] for (day, _), v in stored.items() if day in reopen_days) == 2
    teams = {
        r.id: r.team_id
        for r in rows(warehouse, f"SELECT id, team_id FROM {live_issues(warehouse.schema_name)} i")
    }
    for issue_id, day in reopened_on.items():
        assert stored[(day.isoformat(), teams[issue_id])]["reopened"] >= 1
    schema = warehouse.schema_name
    (no_response, even_groups, bot_issues) = rows(
        warehouse,
        f"SELECT (SELECT count(*) FROM {qualified(schema, 'issues')} "
        "WHERE first_response_seconds IS NULL), "
        "(SELECT count(*) FROM (SELECT 1 FROM "
        f"{qualified(schema, 'issues')} WHERE first_response_seconds IS NOT NULL "
        "GROUP BY (first_response_time AT TIME ZONE 'UTC')::date, team_id "
        "HAVING count(*) % 2 = 0) g), "
        f"(SELECT count(*) FROM {qualified(schema, 'issues')} WHERE state = :bot)",
        bot=BOT_STATUS,
    )[0]
    assert no_response > 0 and even_groups > 0 and bot_issues > 0


def test_an_empty_warehouse_gives_empty_metrics(
    warehouse: PostgresWarehouse, settings: Settings
) -> None:
    """Before any sync (no issue, no status): both assets materialize, and store nothing."""
    resources = {"warehouse": warehouse}
    daily_metrics = build_daily_metrics(issue_partitions(settings.start_date))
    daily = dg.materialize([daily_metrics], partition_key="2026-03-01", resources=resources)
    assert daily.success
    assert dg.materialize([account_support_summary], resources=resources).success
    for table in ("support_daily_metrics", "account_support_summary"):
        assert warehouse.read_table(table).empty
