"""Unbounded inputs from a hostile or broken upstream, each bounded, named and answered at once.

The emulator, on a real socket, sends JSON nested deeper than any parser reads, a body that
trickles in forever, `Retry-After: nan`, a rate-limit policy with a window of a microsecond, fresh
cursors after its last page, and a redirect. "At once" is counted in requests and attempts (and,
for the body that trickles, by the configured deadline being the cause the error names), never
measured in seconds.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest

from pylon_dagster.catalog import endpoints
from pylon_dagster.pylon.client import PylonClient, RetrySettings
from pylon_dagster.pylon.errors import PylonResponseError, PylonUnavailableError
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster_tests.fixtures.emulator import FAST_BACKOFF, emulator_client
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.helpers import (
    assert_equals_truth,
    failed_at_once,
    full_sync,
    snapshot,
    succeeded,
)
from pylon_emulator import EmulatorServer, PylonEmulator

REDIRECT = "https://elsewhere.example/v1/accounts"
UNFIXABLE: dict[str, tuple[dict[str, Any], str]] = {
    "deeply_nested_json": ({"deep_nesting": 100_000}, "with JSON nested deeper than Python reads"),
    "redirect": ({"redirect_to": REDIRECT}, f"answered 307, a redirect to {REDIRECT}"),
    "fresh_endless_cursors": (
        {"fresh_endless_cursor": True},
        "answered a page equal to an earlier one under a new cursor",
    ),
}


@pytest.fixture
def small_pages(emulator_server: EmulatorServer) -> Iterator[PylonClient]:
    with emulator_client(emulator_server, page_size=7) as client:
        yield client


def test_json_nested_past_the_parser_fails_at_once_naming_the_endpoint(
    pylon_client: PylonClient, emulator: PylonEmulator, emulator_server: EmulatorServer
):
    emulator.set_faults(deep_nesting=100_000)

    with pytest.raises(PylonResponseError) as caught:
        list(pylon_client.iter_records(endpoints.ACCOUNTS))

    assert f"GET {emulator_server.url}/accounts answered 200 with JSON nested deeper" in str(
        caught.value
    )
    assert emulator.counters().requests == {"GET /accounts": 1}


def test_a_body_that_trickles_forever_ends_at_the_request_deadline(
    emulator: PylonEmulator, emulator_server: EmulatorServer
):
    emulator.set_faults(trickle_seconds=0.05)  # far within the client's 5 s read timeout
    retry = RetrySettings(max_attempts=2, **FAST_BACKOFF)
    with (
        emulator_client(emulator_server, retry=retry, request_deadline=0.3) as client,
        pytest.raises(PylonUnavailableError) as caught,
    ):
        client.me()

    message = str(caught.value)
    assert f"GET {emulator_server.url}/me still failed after 2 attempts" in message
    assert "ReadTimeout: the answer was still arriving after the 0.3s deadline" in message
    assert emulator.counters().requests == {"GET /me": 2}


@pytest.mark.parametrize("value", ["nan", "NaN", "inf"])
def test_a_retry_after_that_is_not_a_number_of_seconds_falls_back_to_backoff(
    pylon_client: PylonClient,
    emulator: PylonEmulator,
    caplog: pytest.LogCaptureFixture,
    value: str,
):
    emulator.set_faults(
        rate_limit_storm=2, storm_retry_after=None, extra_headers={"Retry-After": value}
    )
    with caplog.at_level(logging.WARNING, logger="pylon_dagster.pylon.retry"):
        assert pylon_client.me()["name"]

    waits = re.findall(r"retrying in (\S+)s \(attempt", caplog.text)
    assert len(waits) == 2
    # The client's own (millisecond) backoff, neither at once (`nan`) nor the cap (`inf`).
    assert all(
        math.isfinite(float(w)) and float(w) <= FAST_BACKOFF["backoff_max_seconds"] for w in waits
    ), waits
    assert emulator.counters().requests == {"GET /me": 3}


@pytest.mark.parametrize(
    ("policy", "believed"),
    [("300;w=0.000001", False), ("300;w=86401", False), ("1;w=60", True)],
)
def test_a_rate_limit_policy_with_an_absurd_window_is_ignored_by_every_sharer(
    pylon_resource: PylonResource, emulator: PylonEmulator, policy: str, believed: bool
):
    emulator.set_faults(extra_headers={"RateLimit-Policy": policy})
    with pylon_resource.get_client() as client:
        client.me()
    # Another process or host sharing the budget: what the first response taught, it knows too.
    with pylon_resource.get_client() as sharer:
        sharer.me()

    rate, source = re.fullmatch(r"(\S+) per \S+ \((.+)\)", sharer.stats.rates["GET /me"]).groups()
    told = emulator.rate_limits["GET /me"]
    # `1;w=60` scaled to the emulator's 0.2 s minute is less than one: one per window.
    assert (float(rate), source) == ((1.0, "headers") if believed else (told, "configured"))


def test_fresh_cursors_after_the_last_page_stop_at_the_first_repeated_page(
    small_pages: PylonClient, emulator: PylonEmulator
):
    emulator.set_faults(fresh_endless_cursor=True)

    with pytest.raises(PylonResponseError, match="equal to an earlier one under a new cursor"):
        list(small_pages.iter_records(endpoints.ACCOUNTS))

    # The first page, then two empty ones past the end (the second repeats the first): not the
    # 100,000 pages of the last-resort guard.
    assert emulator.counters().requests == {"GET /accounts": 3}


def test_a_redirect_fails_at_once_naming_where_it_points(
    pylon_client: PylonClient, emulator: PylonEmulator
):
    emulator.set_faults(redirect_to=REDIRECT)

    with pytest.raises(PylonResponseError) as caught:
        pylon_client.me()

    message = str(caught.value)
    assert f"answered 307, a redirect to {REDIRECT}" in message and "PYLON_API_URL" in message
    assert emulator.counters().requests == {"GET /me": 1}


@pytest.mark.slow  # whole syncs, faults and reruns: left out of the quick loop (`-m "not slow"`)
@pytest.mark.parametrize("fault", sorted(UNFIXABLE))
def test_an_unfixable_answer_fails_the_sync_at_once_then_a_clean_rerun_converges(
    pipeline: Pipeline, fault: str
):
    faults, cause = UNFIXABLE[fault]
    pipeline.warehouse.ensure_tables()
    before = snapshot(pipeline)
    truth = {stream: pipeline.truth(stream) for stream in before}
    pipeline.emulator.set_faults(**faults)

    runs = full_sync(pipeline)

    assert cause in failed_at_once(pipeline, runs)
    for stream, rows in snapshot(pipeline).items():
        # Each stream is a whole window: either untouched or entirely the new state.
        assert rows in (before[stream], truth[stream]), stream
    pipeline.emulator.clear_faults()
    assert succeeded(full_sync(pipeline))
    assert_equals_truth(pipeline)
