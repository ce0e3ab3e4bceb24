"""The deletion pass's parts in-process, and an issue whose children answer 404 marked deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import httpx
import sqlalchemy as sa

from pylon_dagster.assets.issue_deletions import CONFIRM_WORKERS, Listing, confirm_gone
from pylon_dagster.pylon.client import PylonClient, RetrySettings
from pylon_dagster.pylon.timestamps import parse_timestamp
from pylon_dagster.warehouse.deletions import mark_deleted
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.helpers import (
    CHILD_STREAMS,
    DATA_END,
    FULL_START,
    deletion_marks,
    deletion_metadata,
    run_deletion_pass,
)

ALIVE = "alive"


def _client(answered: list[str]) -> PylonClient:
    """A client whose `GET /issues/{id}` answers 200 for `ALIVE` and 404 for any other id."""

    def handler(request: httpx.Request) -> httpx.Response:
        issue_id = request.url.path.rsplit("/", 1)[-1]
        answered.append(issue_id)
        if issue_id == ALIVE:
            return httpx.Response(200, json={"data": {"id": issue_id}, "request_id": "r"})
        return httpx.Response(404, json={"errors": ["Issue not found"], "code": "not_found"})

    return PylonClient(
        base_url="https://pylon.test",
        api_token="t",
        retry=RetrySettings(max_attempts=1),
        transport=httpx.MockTransport(handler),
    )


def test_a_listing_counts_records_it_cannot_identify():
    listing = Listing.of([[{"id": "a"}, {"id": ""}], [{"title": "no id"}, {"id": 7}, {"id": "b"}]])
    assert listing == Listing(frozenset({"a", "b"}), unidentified=3)


def test_only_a_404_confirms_an_issue_gone_and_at_most_limit_are_asked_about():
    answered: list[str] = []
    with _client(answered) as client:
        confirmation = confirm_gone(client, ["a", "b", "c"], limit=2)
    assert (confirmation.gone, confirmation.alive, confirmation.unchecked) == (["a", "b"], [], 1)
    assert confirmation.listing_complete
    assert sorted(answered) == ["a", "b"]


def test_an_issue_that_answers_proves_the_listing_incomplete_and_stops_the_questions():
    missing = [*(f"gone-{n:03}" for n in range(CONFIRM_WORKERS + 1)), ALIVE]
    missing += [f"not-asked-{n}" for n in range(5)]
    answered: list[str] = []
    with _client(answered) as client:
        confirmation = confirm_gone(client, missing)
    assert confirmation.alive == [ALIVE] and not confirmation.listing_complete
    # Asked in batches of CONFIRM_WORKERS: the batch holding ALIVE is the last one asked.
    asked = missing[: 2 * CONFIRM_WORKERS]
    assert sorted(answered) == sorted(asked)
    assert sorted(confirmation.gone) == sorted(set(asked) - {ALIVE})
    assert confirmation.unchecked == len(missing) - len(asked) > 0


def test_an_issue_whose_children_answer_404_is_marked_and_a_listing_showing_it_unmarks_it(
    pipeline: Pipeline,
):
    pipeline.sync(FULL_START, DATA_END)
    emulator = pipeline.emulator
    messages, threads = emulator.truth("issue_messages"), emulator.truth("issue_threads")
    victim = next(i for i in sorted(messages) if messages[i] and threads.get(i))
    # Changed now: the run of the day it was stamped (by the real clock) fetches its children.
    changed = emulator.update_issue(victim, state="closed")
    emulator.set_faults(child_404_for=[victim])
    changed_on = parse_timestamp(changed["updated_at"]).date().isoformat()
    issues_job = pipeline.defs.resolve_job_def("pylon_issues_job")

    run = issues_job.execute_in_process(instance=pipeline.instance, partition_key=changed_on)

    assert run.success
    assert {i for i, mark in deletion_marks(pipeline).items() if mark is not None} == {victim}
    marked = not_found = 0
    for event in run.get_asset_materialization_events():
        metadata = event.step_materialization_data.materialization.metadata
        if event.asset_key.path[-1] in CHILD_STREAMS:
            marked += metadata["issues_marked_deleted"].value
            not_found += metadata["issues_not_found"].value
    # The two child streams run at once: the first to meet the 404 marks the issue; the other
    # meets it too, or, starting after that mark was committed, no longer asks for a deleted issue.
    assert marked == 1 and not_found in (1, 2)
    checks = run.get_asset_check_evaluations()
    assert {c.check_name for c in checks} >= {"primary_key_unique", "belongs_to_known_issue"}
    assert all(check.passed for check in checks)  # a marked issue leaves no orphan behind
    schema = pipeline.warehouse.schema_name
    with pipeline.warehouse.engine.connect() as connection:
        for table in CHILD_STREAMS:
            query = f'SELECT count(*) FROM "{schema}"."{table}" WHERE issue_id = :id'
            assert connection.execute(sa.text(query), {"id": victim}).scalar() == 0

    # It was not gone after all: the search lists it, so the pass un-marks it, and the next run
    # of its day fetches its children again.
    emulator.clear_faults()
    assert deletion_metadata(run_deletion_pass(pipeline))["issues_unmarked"] == 1
    assert deletion_marks(pipeline)[victim] is None
    assert issues_job.execute_in_process(
        instance=pipeline.instance, partition_key=changed_on
    ).success
    for table in CHILD_STREAMS:
        assert pipeline.rows(table) == pipeline.truth(table)


def test_a_child_stream_removes_its_rows_of_an_issue_the_other_stream_marked_before_it_listed(
    pipeline: Pipeline,
):
    """The race of the two child streams, made deterministic: one stream met the 404 and marked
    the issue before the other listed the issues to fetch, which no longer include a deleted one
    (here: marked after the sync, then the children's run alone)."""
    pipeline.sync(FULL_START, DATA_END)
    threads = pipeline.emulator.truth("issue_threads")
    victim = next(i for i in sorted(threads) if threads[i])
    with pipeline.warehouse.transaction() as tx:
        assert mark_deleted(tx.connection, tx.schema, "issues", [victim]) == [victim]
    assert _children_of(pipeline, victim)["issue_threads"] > 0
    today = datetime.now(UTC).date().isoformat()
    issues_job = pipeline.defs.resolve_job_def("pylon_issues_job")

    children = [dg.AssetKey(["pylon", stream]) for stream in CHILD_STREAMS]
    run = issues_job.execute_in_process(
        instance=pipeline.instance, partition_key=today, asset_selection=children
    )

    assert run.success
    assert _children_of(pipeline, victim) == dict.fromkeys(CHILD_STREAMS, 0)


def _children_of(pipeline: Pipeline, issue_id: str) -> dict[str, int]:
    schema = pipeline.warehouse.schema_name
    with pipeline.warehouse.engine.connect() as connection:
        return {
            table: connection.execute(
                sa.text(f'SELECT count(*) FROM "{schema}"."{table}" WHERE issue_id = :id'),
                {"id": issue_id},
            ).scalar_one()
            for table in CHILD_STREAMS
        }
