"""Processes hand their recent requests to each other, so back-to-back steps never earn a 429."""

from __future__ import annotations

import subprocess
import sys

from pylon_dagster.emulator import EmulatorServer
from pylon_dagster.pylon import endpoints
from pylon_dagster_tests.fixtures.emulator import emulator_resource, make_emulator

WINDOW_SECONDS = 6.0
PREVIOUS_STEP = """
import sys
from pylon_dagster.pylon.resource import PylonResource

url, token, window, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
resource = PylonResource(api_token=token, base_url=url, rate_limit_window_seconds=window)
with resource.get_client() as client:
    for _ in range(count):
        client.me()
"""


def test_a_new_process_paces_by_the_requests_of_the_previous_one():
    emulator = make_emulator(time_scale=60 / WINDOW_SECONDS)
    budget = emulator.rate_limits[endpoints.ME.key]
    with EmulatorServer(emulator) as server:
        # A previous step, in a process of its own, spends the whole budget of `GET /me`.
        subprocess.run(
            [
                sys.executable,
                "-c",
                PREVIOUS_STEP,
                server.url,
                emulator.token,
                repr(WINDOW_SECONDS),
                str(budget),
            ],
            check=True,
            timeout=120,
        )
        assert emulator.counters().requests[endpoints.ME.key] == budget

        # The next step starts with a fresh limiter in this process, inside the same window.
        with emulator_resource(server).get_client() as client:
            for _ in range(budget):
                client.me()

        assert emulator.counters().rate_limited == 0
        assert emulator.counters().requests[endpoints.ME.key] == 2 * budget
