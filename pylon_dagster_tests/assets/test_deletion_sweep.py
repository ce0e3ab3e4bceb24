"""The deletion sweep on the real parts: scheduled passes judge one slice each, within their
search budget, and one cycle of them finds a deletion anywhere among the issues; the headless
sync's pass judges every issue at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from pylon_dagster.assets import build_assets
from pylon_dagster.assets.deletion_budget import SliceBudget
from pylon_dagster.assets.issue_deletions import SWEEP_TAG, WHOLE_SWEEP, build_issue_deletions
from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.catalog import endpoints
from pylon_dagster.catalog.endpoints import RATE_LIMITS_PER_MINUTE
from pylon_dagster.jobs import jobs
from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.deletion_sweep import sweep_position
from pylon_dagster_tests.fixtures.emulator import emulator_resource, make_emulator, told_limits
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.helpers import (
    DATA_END,
    FULL_START,
    deletion_marks,
    deletion_metadata,
    run_deletion_pass,
)
from pylon_emulator import EmulatorServer

SEARCHES_PER_WINDOW = 5
PAGE_SIZE = 2
BUDGET = SliceBudget.of(SEARCHES_PER_WINDOW, PAGE_SIZE)
"""A pass's budget as the pass sizes it from the resource below: a few searches of two issues."""
SEARCH = endpoints.ISSUES_SEARCH.key


@pytest.fixture
def small_budget(
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    settings: Settings,
    postgres_instance: dg.DagsterInstance,
) -> Iterator[Pipeline]:
    """The pipeline, told a search rate and a page size that cut its issues into several slices."""
    limits = f"{told_limits(emulator_server.emulator)}, {SEARCH}={SEARCHES_PER_WINDOW}"
    pylon = emulator_resource(emulator_server, warehouse, rate_limits=limits, page_size=PAGE_SIZE)
    assets = build_assets(settings, issue_partitions(settings.start_date))
    defs = dg.Definitions(
        assets=assets.assets,
        asset_checks=assets.checks,
        jobs=jobs,
        resources={"pylon": pylon, "warehouse": warehouse},
    )
    yield Pipeline(emulator_server, warehouse, defs, postgres_instance)


def _by_creation(pipeline: Pipeline) -> list[str]:
    """The ids of the stored issues, oldest created first."""
    query = f'SELECT id FROM "{pipeline.warehouse.schema_name}".issues ORDER BY created_at, id'
    with pipeline.warehouse.engine.connect() as connection:
        return list(connection.execute(sa.text(query)).scalars())


def _searches(pipeline: Pipeline) -> int:
    return pipeline.emulator.counters().requests.get(SEARCH, 0)


def _pass_within_budget(pipeline: Pipeline) -> dict[str, Any]:
    """Run a scheduled deletion pass; it succeeds within its search budget. Its metadata."""
    searches = _searches(pipeline)
    result = run_deletion_pass(pipeline)
    assert result.success
    assert _searches(pipeline) - searches <= BUDGET.searches
    return deletion_metadata(result)


@pytest.mark.slow  # whole syncs, faults and reruns: left out of the quick loop (`-m "not slow"`)
def test_a_deletion_anywhere_among_the_issues_is_found_within_one_cycle(small_budget: Pipeline):
    pipeline = small_budget
    pipeline.sync(FULL_START, DATA_END)
    stored = _by_creation(pipeline)
    cycle = BUDGET.passes_per_cycle(len(stored))
    assert cycle >= 4, "the premise: the issues take several slices"
    victims = [stored[0], stored[len(stored) // 2], stored[-1]]
    for victim in victims:
        pipeline.emulator.delete_issue(victim)

    slices: list[str] = []
    marked_after: list[set[str]] = []
    for _ in range(cycle):
        metadata = _pass_within_budget(pipeline)
        assert metadata["sweep_moved_on"] is True
        slices.append(metadata["slice"])
        marks = deletion_marks(pipeline)
        marked_after.append({v for v in victims if marks[v] is not None})

    # The slices follow one another from the oldest issue, open below, to the newest, open above.
    bounds = [s.split(" .. ") for s in slices]
    assert bounds[0][0] == "open" and bounds[-1][1] == "open"
    assert all(bounds[n][1] == bounds[n + 1][0] for n in range(cycle - 1))
    # Each deletion was noticed by the pass of its slice, not before; the cycle found them all.
    assert marked_after[0] == {victims[0]}
    assert victims[1] not in marked_after[cycle // 2 - 1]
    assert marked_after[-2] == set(victims[:2])
    assert marked_after[-1] == set(victims)
    # The cycle is over: the next pass starts another at the oldest issue.
    with pipeline.warehouse.transaction() as tx:
        assert sweep_position(tx.connection, tx.schema, "issues") is None


@pytest.mark.slow  # whole syncs, faults and reruns: left out of the quick loop (`-m "not slow"`)
def test_the_sync_s_pass_judges_every_issue_at_once_and_leaves_the_sweep(small_budget: Pipeline):
    pipeline = small_budget
    pipeline.sync(FULL_START, DATA_END)
    assert run_deletion_pass(pipeline).success  # the sweep's first slice: it moves on
    with pipeline.warehouse.transaction() as tx:
        position = sweep_position(tx.connection, tx.schema, "issues")
    assert position is not None
    stored = _by_creation(pipeline)
    victims = [stored[0], stored[-1]]
    for victim in victims:
        pipeline.emulator.delete_issue(victim)
    searches = _searches(pipeline)

    job = pipeline.defs.resolve_job_def("pylon_issue_deletions_job")
    result = job.execute_in_process(instance=pipeline.instance, tags={SWEEP_TAG: WHOLE_SWEEP})

    marks = deletion_marks(pipeline)
    assert [v for v in victims if marks[v] is not None] == victims
    assert deletion_metadata(result)["slice"] == "open .. open"
    assert _searches(pipeline) - searches > BUDGET.searches
    with pipeline.warehouse.transaction() as tx:
        assert sweep_position(tx.connection, tx.schema, "issues") == position


def test_a_pass_sizes_its_slice_from_the_search_rate_pylon_announced(warehouse: PostgresWarehouse):
    """A client told nothing starts from October's search rate; a server on April's limits says
    so in its headers, and the passes after that take a slice of April's budget."""
    emulator = make_emulator(rate_limit_preset="2026-04", rate_limit_headers="x-ratelimit")
    deletions = build_issue_deletions(FULL_START)
    with EmulatorServer(emulator) as server:
        pylon = emulator_resource(server, warehouse, rate_limits="auto")
        budgets = [
            deletion_metadata(
                dg.materialize([deletions], resources={"pylon": pylon, "warehouse": warehouse})
            )["slice_search_budget"]
            for _ in range(2)
        ]

    october, april = (
        SliceBudget.of(RATE_LIMITS_PER_MINUTE[version][SEARCH], pylon.page_size).searches
        for version in ("2026-10", "2026-04")
    )
    assert october > april
    assert budgets == [october, april]


@pytest.mark.slow  # whole syncs: left out of the quick loop (`-m "not slow"`)
def test_a_slice_pylon_holds_more_of_than_stored_stays_within_the_budget(small_budget: Pipeline):
    """During a first load the warehouse holds a few of the issues Pylon has: the slice sized
    from them holds many more in Pylon. Its listing stops at the pass's budget and judges
    nothing; once the issues are stored, the same sweep position takes a slice that fits."""
    pipeline = small_budget
    pipeline.sync(FULL_START, DATA_END)
    stored = _by_creation(pipeline)
    assert len(stored) > 2 * BUDGET.searches * PAGE_SIZE, "the premise: Pylon's issues overflow"
    victim = stored[0]
    pipeline.emulator.delete_issue(victim)
    issues = f'"{pipeline.warehouse.schema_name}".issues'
    held = stored[:2]  # the oldest two: the sweep's first slice, sized from them, is every issue
    with pipeline.warehouse.transaction() as tx:
        tx.connection.exec_driver_sql(
            f"CREATE TABLE {issues}_aside AS SELECT * FROM {issues} WHERE id <> ALL(%(held)s)",
            {"held": held},
        )
        tx.connection.exec_driver_sql(
            f"DELETE FROM {issues} WHERE id <> ALL(%(held)s)", {"held": held}
        )

    metadata = _pass_within_budget(pipeline)
    assert metadata["listing_cut_short"] is True
    assert metadata["slice"] == "open .. open"
    assert metadata["sweep_moved_on"] is False
    assert deletion_marks(pipeline)[victim] is None
    with pipeline.warehouse.transaction() as tx:
        assert sweep_position(tx.connection, tx.schema, "issues") is None

    with pipeline.warehouse.transaction() as tx:  # the sync stored the rest
        tx.connection.exec_driver_sql(f"INSERT INTO {issues} SELECT * FROM {issues}_aside")
    metadata = _pass_within_budget(pipeline)
    assert metadata["listing_cut_short"] is False
    assert metadata["sweep_moved_on"] is True
    assert deletion_marks(pipeline)[victim] is not None
