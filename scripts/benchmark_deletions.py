#!/usr/bin/env python3
"""What the scheduled deletion pass costs and how soon it notices a deletion, at April's and
October's rate limits.

First, computed from the pass's own slice sizing (`SliceBudget`, `assets/deletion_budget.py`), for
organizations of --sizes issues at Pylon's 999-issue pages: the search requests a pass (one an
hour) may make and makes, its share of the hour's `POST /issues/search` budget, the passes of a
cycle, and the longest time from a deletion to the pass that marks it (one cycle). Beside it, what
the pass cost before it swept slices (one listing of every issue every hour).

Then, measured: an emulator (time-scaled, the preset's limits) with --issues issues, all loaded
into a fresh schema of an embedded Postgres; three of them (the oldest, middle and newest created)
are deleted, and the real `issue_deletions` asset is materialized once per scheduled pass (with
--page-size pages, so the issues take several slices) until all three are marked. Reports the
passes it took against the cycle the sizing promises, and each pass's searches (the emulator's
counters) against its budget.

    .venv/bin/python scripts/benchmark_deletions.py
    .venv/bin/python scripts/benchmark_deletions.py --issues 500 --presets 2026-10
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from pylon_dagster.assets.deletion_budget import PASS_INTERVAL, SliceBudget
from pylon_dagster.assets.issue_deletions import build_issue_deletions
from pylon_dagster.catalog import endpoints
from pylon_dagster.catalog.endpoints import RATE_LIMITS_PER_MINUTE, ApiVersion
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.warehouse import PostgresWarehouse, embedded
from pylon_dagster.warehouse.sql import qualified
from pylon_emulator import EmulatorServer, PylonEmulator, generate

SEARCH = endpoints.ISSUES_SEARCH.key
PYLON_PAGE = 999
DAYS = 60
TIME_SCALE = 60.0
"""The emulator's minute lasts a second."""
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class PassCost:
    """What the scheduled pass costs an organization of `issues` issues, from its slice sizing."""

    budget: int
    """Search requests a pass may make."""
    requests: int
    """Search requests a pass makes: its slice's pages, and perhaps an empty last one."""
    share: float
    """`requests` over the hour's search budget."""
    passes: int
    """Passes of a cycle, which judges every issue once."""
    notice: timedelta
    """The longest time from a deletion to the pass that marks it."""


def pass_cost(issues: int, preset: ApiVersion) -> PassCost:
    rate = RATE_LIMITS_PER_MINUTE[preset][SEARCH]
    budget = SliceBudget.of(rate, PYLON_PAGE)
    requests = math.ceil(min(issues, budget.rows) / PYLON_PAGE) + 1
    return PassCost(
        budget.searches,
        requests,
        requests / (rate * 60),
        budget.passes_per_cycle(issues),
        budget.time_to_notice(issues),
    )


def computed(sizes: Sequence[int], presets: Sequence[ApiVersion]) -> None:
    print(
        f"{'issues':>10} {'limits':>8} {'budget/pass':>11} {'requests/h':>10} {'share':>6} "
        f"{'passes/cycle':>12} {'noticed within':>14} | {'before: requests/h':>18} {'share':>6}"
    )
    for preset in presets:
        hourly = RATE_LIMITS_PER_MINUTE[preset][SEARCH] * 60
        for issues in sizes:
            cost = pass_cost(issues, preset)
            before = math.ceil(issues / PYLON_PAGE) + 1
            print(
                f"{issues:>10,} {preset:>8} {cost.budget:>11} {cost.requests:>10} "
                f"{cost.share:>6.1%} {cost.passes:>12} {_hours(cost.notice):>14}"
                f" | {before:>18} {before / hourly:>6.1%}"
            )


def _hours(span: timedelta) -> str:
    return f"{span / timedelta(hours=1):g} h"


def measured(issues: int, preset: ApiVersion, page_size: int, root: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    emulator = PylonEmulator(
        generate(3, issues=issues, now=now, days=DAYS),
        time_scale=TIME_SCALE,
        rate_limit_preset=preset,
    )
    url = embedded.server_url(root / embedded.EMBEDDED_DIR)
    warehouse = PostgresWarehouse(
        url=url.render_as_string(hide_password=False), schema_name=f"deletions_{preset[-2:]}"
    )
    warehouse.ensure_tables()
    with warehouse.transaction() as tx:
        tx.load("issues", [emulator.truth("issues")])
    by_creation = _ids_by_creation(warehouse)
    victims = [by_creation[0], by_creation[len(by_creation) // 2], by_creation[-1]]
    with EmulatorServer(emulator) as server:
        for victim in victims:
            emulator.delete_issue(victim)
        pylon = PylonResource(
            api_token=emulator.token,
            warehouse=warehouse,
            base_url=server.url,
            rate_limits=preset,
            rate_limit_window_seconds=emulator.window_seconds,
            page_size=page_size,
        )
        rate = RATE_LIMITS_PER_MINUTE[preset][SEARCH]
        budget = SliceBudget.of(rate, page_size)
        cycle = budget.passes_per_cycle(len(by_creation))
        deletions = build_issue_deletions((now - timedelta(days=DAYS + 1)).date())
        instance = dg.DagsterInstance.ephemeral()
        searches: list[int] = []
        while len(searches) < 2 * cycle and not set(victims) <= _marked(warehouse):
            before = emulator.counters().requests.get(SEARCH, 0)
            dg.materialize(
                [deletions],
                resources={"pylon": pylon, "warehouse": warehouse},
                instance=instance,
                run_config=QUIET,
            )
            searches.append(emulator.counters().requests.get(SEARCH, 0) - before)
    found = set(victims) <= _marked(warehouse)
    print(
        f"measured, {preset}, {len(by_creation)} issues, pages of {page_size}: "
        f"{'all 3 deletions marked' if found else 'NOT all 3 deletions marked'} after "
        f"{len(searches)} passes (the sizing promises {cycle}, {_hours(cycle * PASS_INTERVAL)}); "
        f"searches per pass max {max(searches)}, mean {sum(searches) / len(searches):.1f}, "
        f"budget {budget.searches} (at most {max(searches) / (rate * 60):.1%} of the hour's "
        "search budget)"
    )


def _ids_by_creation(warehouse: PostgresWarehouse) -> list[str]:
    query = f"SELECT id FROM {qualified(warehouse.schema_name, 'issues')} ORDER BY created_at, id"
    with warehouse.engine.connect() as connection:
        return list(connection.execute(sa.text(query)).scalars())


def _marked(warehouse: PostgresWarehouse) -> set[str]:
    query = (
        f"SELECT id FROM {qualified(warehouse.schema_name, 'issues')} WHERE _deleted_at IS NOT NULL"
    )
    with warehouse.engine.connect() as connection:
        return set(connection.execute(sa.text(query)).scalars())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,2000000,5000000")
    parser.add_argument("--presets", default="2026-04,2026-10")
    parser.add_argument("--issues", type=int, default=2000, help="issues of the measured runs")
    parser.add_argument("--page-size", type=int, default=2, help="issues per page, measured")
    args = parser.parse_args()
    presets: list[ApiVersion] = args.presets.split(",")
    print(f"load average {os.getloadavg()[0]:.2f}")
    computed([int(size) for size in args.sizes.split(",")], presets)
    with tempfile.TemporaryDirectory(prefix="pylon-deletions-") as root:
        try:
            for preset in presets:
                measured(args.issues, preset, args.page_size, Path(root))
        finally:
            embedded.stop_server(Path(root) / embedded.EMBEDDED_DIR)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
