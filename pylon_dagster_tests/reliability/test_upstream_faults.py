"""Upstream faults, each switched on in the emulator, during a full and an incremental sync.

A fault the client can ride out must end with the warehouse equal to the truth. One it cannot must
end with a failed run whose message names the cause, every stream still in its old state (never a
partial window), and a clean rerun that converges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import pytest

from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.helpers import (
    CHILD_STREAMS,
    assert_equals_truth,
    assert_no_duplicates,
    deletion_marks,
    failed_at_once,
    full_sync,
    incremental_sync,
    mutate_some,
    snapshot,
    succeeded,
)

# More attempts than the default so a 20% fault rate cannot plausibly exhaust one request's
# attempts (0.2 ** 8 per request); the backoff stays the fixtures' milliseconds.
SURVIVABLE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "429_storm_with_retry_after": ({"rate_limit_storm": 5, "storm_retry_after": 0.02}, {}),
    "429_storm_without_retry_after": ({"rate_limit_storm": 5, "storm_retry_after": None}, {}),
    "5xx_20_percent": ({"server_error_rate": 0.2, "seed": 3}, {"max_attempts": 8}),
    "latency_past_timeout": (
        {"latency_seconds": 0.6, "latency_rate": 0.15, "seed": 4},
        {"timeout_seconds": 0.3, "max_attempts": 8},
    ),
    "connection_dropped_mid_body": ({"drop_rate": 0.2, "seed": 5}, {"max_attempts": 8}),
    "truncated_or_html_body": ({"malformed_rate": 0.2, "seed": 6}, {"max_attempts": 8}),
}
# Each fault is retried past in-process by the client's layers (pylon/test_transports.py,
# test_pagination.py). End to end, the quick loop (`-m "not slow"`) rides out a 429 storm and
# dropped connections in a full sync; every other fault, and every incremental variant (a clean
# full sync first, then the faulty incremental one), runs with the whole suite.
QUICK_FAULTS = {"429_storm_with_retry_after", "connection_dropped_mid_body"}
FAULTS = [
    fault if fault in QUICK_FAULTS else pytest.param(fault, marks=pytest.mark.slow)
    for fault in sorted(SURVIVABLE)
]
MODES = ("full", pytest.param("incremental", marks=pytest.mark.slow))


def _prepare(pipeline: Pipeline, mode: str) -> None:
    """Full: an empty warehouse. Incremental: a clean full sync, then some issues change."""
    pipeline.warehouse.ensure_tables()
    if mode == "incremental":
        assert succeeded(full_sync(pipeline))
        mutate_some(pipeline)


def _sync(pipeline: Pipeline, mode: str):
    return full_sync(pipeline) if mode == "full" else incremental_sync(pipeline)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", FAULTS)
def test_survivable_fault_ends_equal_to_the_truth(
    pipeline: Pipeline, rewire: Callable[..., Pipeline], fault: str, mode: str
):
    faults, resource_overrides = SURVIVABLE[fault]
    _prepare(pipeline, mode)
    pipeline.emulator.reset_counters()
    faulty = rewire(**resource_overrides)
    pipeline.emulator.set_faults(**faults)

    runs = _sync(faulty, mode)

    assert succeeded(runs), [run.error for run in runs]
    assert_equals_truth(pipeline)
    assert_no_duplicates(pipeline)
    counters = pipeline.emulator.counters().to_json()
    # The fault really happened: something was answered badly and retried past.
    statuses = counters["responses"]
    bad = (
        statuses.get("429", 0)
        + sum(statuses.get(str(s), 0) for s in (500, 502, 503))
        + counters["dropped"]
        + counters["malformed"]
    )
    if fault == "latency_past_timeout":
        # A timed-out request is answered after the client gave up: more requests than answers
        # would be needed to tell, so check the client's own count of transport errors instead.
        assert _api_metadata_sum(pipeline, "api_transport_errors") > 0
    else:
        assert bad > 0, counters


def _api_metadata_sum(pipeline: Pipeline, name: str) -> int:
    """`name` summed over every run's materializations (each run counted once per asset)."""
    total = 0
    for table in ("issues", "issue_messages", "issue_threads", "accounts"):
        records = pipeline.instance.fetch_materializations(
            dg.AssetKey(["pylon", table]), limit=10_000
        ).records
        per_run = {r.run_id: r.asset_materialization.metadata[name].value for r in records}
        total += sum(per_run.values())
    return total


@pytest.mark.slow  # the pager's guard is tested in-process (pylon/test_pagination.py)
@pytest.mark.parametrize("mode", MODES)
def test_endless_cursor_fails_naming_the_cause_then_a_clean_rerun_converges(
    pipeline: Pipeline, mode: str
):
    _prepare(pipeline, mode)
    before = snapshot(pipeline)
    truth = {stream: pipeline.truth(stream) for stream in before}
    pipeline.emulator.set_faults(endless_cursor=True)

    runs = _sync(pipeline, mode)

    # No retry can fix it, so the run fails at once instead of waiting out the retry policy.
    message = failed_at_once(pipeline, runs)
    assert "would never end" in message, message
    after = snapshot(pipeline)
    for stream, rows in after.items():
        # Each stream is a whole window: either untouched or entirely the new state.
        assert rows in (before[stream], truth[stream]), stream
    assert_no_duplicates(pipeline)

    pipeline.emulator.clear_faults()
    assert succeeded(_sync(pipeline, mode))
    assert_equals_truth(pipeline)


@pytest.mark.parametrize("mode", MODES)
def test_issue_deleted_between_search_and_children_fetch(pipeline: Pipeline, mode: str):
    _prepare(pipeline, mode)
    emulator = pipeline.emulator
    if mode == "incremental":
        victim = sorted(pipeline.truth("issues"))[0]  # changed by `mutate_some`, so refetched
    else:
        victim = next(i for i, m in sorted(emulator.truth("issue_messages").items()) if m)
    emulator.set_faults(child_404_for=[victim])

    runs = _sync(pipeline, mode)

    assert succeeded(runs), [run.error for run in runs]
    emulator.clear_faults()
    emulator.delete_issue(victim)  # what the 404s meant: it is gone
    # Pylon has no tombstones: the issue row stays, but nothing of its children does.
    stored = pipeline.rows("issues")
    assert victim in stored
    del stored[victim]
    assert stored == pipeline.truth("issues")
    assert_equals_truth(pipeline, CHILD_STREAMS)
    assert_no_duplicates(pipeline)
    assert succeeded(_sync(pipeline, mode))
    assert_equals_truth(pipeline, CHILD_STREAMS)
    # Gone for good now: the sync's deletion pass marks it, for audit.
    marks = deletion_marks(pipeline)
    assert marks[victim] is not None
    assert all(mark is None for issue_id, mark in marks.items() if issue_id != victim)
