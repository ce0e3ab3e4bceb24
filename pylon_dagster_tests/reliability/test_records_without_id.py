"""Records served without an `id`: rejected one by one, the rest of their stream loads.

A record without a usable key cannot be stored. Failing the load for it would fail its stream on
every run (and wait out the retry policy first) until Pylon fixed the record, so the loader skips
it, counts it in `rows_rejected` and names the stream and the reason in a warning of the run's
event log.
"""

from __future__ import annotations

import logging

import dagster as dg
import pytest

from pylon_dagster.sync import SyncRun
from pylon_dagster_tests.fixtures.pipeline import SYNCED_STREAMS, Pipeline
from pylon_dagster_tests.reliability.helpers import (
    assert_equals_truth,
    assert_no_duplicates,
    full_sync,
    succeeded,
)

UNCHANGED = tuple(
    s for s in SYNCED_STREAMS if s not in ("issues", "issue_messages", "issue_threads", "accounts")
)


def _rejected(pipeline: Pipeline, table: str) -> int:
    """`rows_rejected` summed over the runs that materialized `table` (each run counted once)."""
    records = pipeline.instance.fetch_materializations(
        dg.AssetKey(["pylon", table]), limit=10_000
    ).records
    per_run = {r.run_id: r.asset_materialization.metadata["rows_rejected"].value for r in records}
    return sum(per_run.values())


def _warnings(pipeline: Pipeline, runs: list[SyncRun]) -> list[str]:
    return [
        entry.user_message
        for run in runs
        for entry in pipeline.instance.all_logs(run.run_id)
        if entry.level == logging.WARNING
    ]


@pytest.mark.slow  # whole syncs, faults and reruns: left out of the quick loop (`-m "not slow"`)
def test_a_record_without_id_is_rejected_and_the_rest_of_its_stream_loads(pipeline: Pipeline):
    emulator = pipeline.emulator
    messages = emulator.truth("issue_messages")
    with_messages = sorted(issue_id for issue_id, children in messages.items() if children)
    bad_issue, other_issue = with_messages[0], with_messages[1]
    bad_message = messages[other_issue][0]["id"]
    bad_account = emulator.truth("accounts")[0]["id"]
    emulator.set_faults(served_without_id=[bad_issue, bad_message, bad_account])

    expected = {
        "issues": _without(pipeline.truth("issues"), {bad_issue}),
        "accounts": _without(pipeline.truth("accounts"), {bad_account}),
        # The rejected issue is not stored, so its children are never asked for.
        "issue_messages": _without(
            pipeline.truth("issue_messages"),
            {m["id"] for m in messages[bad_issue]} | {bad_message},
        ),
        "issue_threads": _without(
            pipeline.truth("issue_threads"),
            {t["id"] for t in emulator.truth("issue_threads")[bad_issue]},
        ),
    }

    runs = full_sync(pipeline)

    assert succeeded(runs), [run.error for run in runs]
    _assert_stored(pipeline, expected)
    warnings = "\n".join(_warnings(pipeline, runs))
    for stream in ("issues", "accounts", "issue_messages"):
        assert _rejected(pipeline, stream) == 1, stream
        assert f"{stream}: 1 record(s) without a usable 'id' were not stored" in warnings

    # Later syncs go on working; the re-read streams reject the record again.
    assert succeeded(full_sync(pipeline))
    _assert_stored(pipeline, expected)
    assert (_rejected(pipeline, "issues"), _rejected(pipeline, "accounts")) == (2, 2)


def _assert_stored(pipeline: Pipeline, expected: dict[str, dict[str, dict]]) -> None:
    for stream, rows in expected.items():
        assert pipeline.rows(stream) == rows, stream
    assert_equals_truth(pipeline, UNCHANGED)
    assert_no_duplicates(pipeline)


def _without(rows: dict[str, dict], keys: set[str]) -> dict[str, dict]:
    assert keys <= set(rows)
    return {key: row for key, row in rows.items() if key not in keys}
