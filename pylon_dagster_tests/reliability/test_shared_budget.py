"""One rate budget for every host, learned from the server when nobody said what it is.

Against the emulator with time-scaled limits and the project's default settings (no
`PYLON_RATE_LIMITS`): two `pylon-dagster sync` processes with their own Dagster instance and state
folder, sharing only the warehouse, stand for two hosts; and one sync each against a server with
today's published limits and with the older, tighter ones. Everything ends equal to the truth with
(almost) no 429s. Each test prints its wall time over the rate floor (the least time Pylon's limits
allow for the requests made); the benchmark script holds the speed targets.
"""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pylon_dagster.catalog.rate_limits import RateLimitConfig
from pylon_dagster.pylon.budget_postgres import PostgresRateBudget
from pylon_dagster.pylon.resource import organization_key
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.emulator import EMULATOR_DAYS, EMULATOR_NOW, make_emulator
from pylon_dagster_tests.fixtures.pipeline import rows_of
from pylon_dagster_tests.reliability.cli_process import (
    CLI_TIMEOUT_SECONDS,
    cli_env,
    run_cli,
    sync_command,
)
from pylon_emulator import EmulatorServer, PylonEmulator

pytestmark = pytest.mark.slow
MESSAGES = "GET /issues/{id}/messages"
# The emulator's data spans the 30 days before EMULATOR_NOW: two runs of issues cover it.
WINDOW = (
    "--start",
    (EMULATOR_NOW - timedelta(days=EMULATOR_DAYS + 1)).date().isoformat(),
    "--end",
    EMULATOR_NOW.date().isoformat(),
)
STREAMS = ("issues", "issue_messages", "issue_threads", "accounts", "knowledge_base_articles")


def _assert_equal_to_truth(emulator: PylonEmulator, warehouse: PostgresWarehouse) -> None:
    for stream in STREAMS:
        served = emulator.truth(stream)
        records = (
            [r for children in served.values() for r in children]
            if isinstance(served, dict)
            else served
        )
        assert rows_of(warehouse, stream) == {r["id"]: r for r in records}, stream


def _report(label: str, emulator: PylonEmulator, wall: float) -> float:
    counters = emulator.counters()
    share = counters.rate_limited / counters.total_requests
    print(
        f"{label}: wall / rate floor {wall / emulator.rate_floor_seconds():.2f}, "
        f"429s {counters.rate_limited} of {counters.total_requests} requests ({share:.1%})"
    )
    return share


def test_two_hosts_share_one_budget(warehouse: PostgresWarehouse, tmp_path: Path):
    emulator = make_emulator(issues=300, time_scale=30.0, rate_limit_preset="2026-10")
    with EmulatorServer(emulator) as server:
        envs = [cli_env(server, warehouse, tmp_path / f"host{n}") for n in (1, 2)]
        started = time.perf_counter()
        hosts = [
            subprocess.Popen(
                sync_command(*WINDOW),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for env in envs
        ]
        outputs = [host.communicate(timeout=CLI_TIMEOUT_SECONDS)[0] for host in hosts]
        wall = time.perf_counter() - started
        for host, output in zip(hosts, outputs, strict=True):
            assert host.returncode == 0, output
        _assert_equal_to_truth(emulator, warehouse)
        assert _report("two hosts, October limits, defaults", emulator, wall) <= 0.01


@pytest.mark.parametrize(
    ("preset", "learned_rate", "most_429s"),
    [("2026-10", 120, 0.01), ("2026-04", 20, 0.03)],
    ids=["october", "april"],
)
def test_a_sync_converges_on_limits_it_was_not_told(
    preset: str,
    learned_rate: int,
    most_429s: float,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
):
    emulator = make_emulator(issues=300, time_scale=30.0, rate_limit_preset=preset)
    with EmulatorServer(emulator) as server:
        env = cli_env(server, warehouse, tmp_path)
        started = time.perf_counter()
        result = run_cli(env, *WINDOW)
        wall = time.perf_counter() - started
        assert result.returncode == 0, result.stdout + result.stderr
        _assert_equal_to_truth(emulator, warehouse)
        assert _report(f"{preset} limits, defaults", emulator, wall) <= most_429s
        budget = PostgresRateBudget(
            warehouse.engine,
            warehouse.schema_name,
            api_host=organization_key(server.url, emulator.token),
            config=RateLimitConfig.parse("auto", window_seconds=emulator.window_seconds),
        )
        learned = budget.current(MESSAGES)
        # Within a request or two of what the server allows, either side: probing may have left
        # it a step above, and a 429 cuts it to what the budget's sliding window counted, which
        # may be one less than the server's own window accepted (the windows do not align).
        assert learned_rate * 0.9 <= learned.rate <= learned_rate * 1.1, learned
