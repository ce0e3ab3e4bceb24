"""The issue-updates sensor, evaluated tick by tick against the emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from pylon_dagster.assets.partitions import issue_partitions
from pylon_dagster.automation.issue_updates import UpdatesCursor, build_issue_updates_sensor
from pylon_dagster.definitions import defs
from pylon_dagster.pylon.errors import PylonAuthenticationError, PylonUnavailableError
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.pylon.timestamps import format_timestamp, parse_timestamp
from pylon_dagster.sync import partition_chunks
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.automation.support import RANGE_END, RANGE_START, requested_days
from pylon_dagster_tests.fixtures.days import iso_days
from pylon_dagster_tests.fixtures.emulator import (
    EMULATOR_NOW,
    EMULATOR_SEED,
    EMULATOR_TIME_SCALE,
    emulator_resource,
    make_emulator,
)
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.fixtures.settings import settings_with
from pylon_emulator import Dataset, EmulatorServer, PylonEmulator, generate

SEARCH = "POST /issues/search"


def issue_updates_sensor() -> dg.SensorDefinition:
    settings = settings_with()
    return build_issue_updates_sensor(settings, issue_partitions(settings.start_date))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def tick(
    instance: dg.DagsterInstance, pylon: PylonResource, cursor: str | None
) -> tuple[dg.SensorEvaluationContext, Any]:
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs(), resources={"pylon": pylon}
    ) as context:
        return context, issue_updates_sensor().evaluate_tick(context)


def cursor_after_everything(emulator: PylonEmulator) -> str:
    """The cursor of a sensor that has seen every issue the emulator serves."""
    issues = emulator.truth("issues")
    newest = max(parse_timestamp(i["updated_at"]) for i in issues)
    ids = {i["id"] for i in issues if parse_timestamp(i["updated_at"]) == newest}
    return UpdatesCursor(newest, ids).dumps()


def searches(emulator: PylonEmulator) -> int:
    return emulator.counters().requests.get(SEARCH, 0)


def test_the_first_tick_starts_watching_from_now_without_asking_pylon(
    emulator_server: EmulatorServer, instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    before = datetime.now(UTC)
    context, result = tick(instance, emulator_resource(emulator_server, warehouse), None)
    assert result.run_requests == []
    cursor = UpdatesCursor.parse(context.cursor, default=datetime.min)
    assert before <= cursor.updated_at <= datetime.now(UTC)
    assert cursor.ids_at == set()
    assert searches(emulator_server.emulator) == 0


def test_nothing_changed_requests_nothing_and_keeps_the_cursor(
    emulator_server: EmulatorServer, instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    emulator = emulator_server.emulator
    cursor = cursor_after_everything(emulator)
    context, result = tick(instance, emulator_resource(emulator_server, warehouse), cursor)
    assert result.run_requests == []
    assert "No issue updated" in result.skip_message
    assert context.cursor == cursor
    assert searches(emulator) == 1
    assert emulator.counters().rate_limited == 0


def test_a_change_is_requested_for_its_days_and_only_once(
    emulator_server: EmulatorServer, instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    emulator = emulator_server.emulator
    pylon = emulator_resource(emulator_server, warehouse)
    context, _ = tick(instance, pylon, None)
    some = sorted(i["id"] for i in emulator.truth("issues"))
    updated = emulator.update_issue(some[0], state="closed")
    emulator.add_message(some[1], message_html="<p>and another thing</p>")
    bumped = next(i for i in emulator.truth("issues") if i["id"] == some[1])

    context, result = tick(instance, pylon, context.cursor)
    new_times = [parse_timestamp(updated["updated_at"]), parse_timestamp(bumped["updated_at"])]
    assert requested_days(result.run_requests) == sorted({t.date().isoformat() for t in new_times})
    assert UpdatesCursor.parse(result.cursor, default=datetime.min) == UpdatesCursor(
        max(new_times), {some[1]}
    )
    # The next tick sees the same two issues again (the probe overlaps the cursor by a second)
    # and requests nothing.
    _, again = tick(instance, pylon, result.cursor)
    assert again.run_requests == []
    assert searches(emulator) == 2


def test_a_catch_up_requests_exactly_the_changed_days_in_one_run_that_syncs_them(
    pipeline: Pipeline, instance: dg.DagsterInstance
):
    emulator = pipeline.emulator
    since = datetime(2026, 3, 12, tzinfo=UTC)
    # Nothing seen yet at `since` itself: an issue updated exactly then is a change too.
    changed = [i for i in emulator.truth("issues") if parse_timestamp(i["updated_at"]) >= since]
    expected_days = sorted({parse_timestamp(i["updated_at"]).date().isoformat() for i in changed})
    assert len(expected_days) > 1, "the pinned dataset has changes on several days after 03-12"

    _, result = tick(
        instance,
        emulator_resource(pipeline.server, pipeline.warehouse),
        UpdatesCursor(since).dumps(),
    )
    assert requested_days(result.run_requests) == expected_days
    (request,) = result.run_requests  # consecutive days: one run, one search window
    newest = max(parse_timestamp(i["updated_at"]) for i in changed)
    assert UpdatesCursor.parse(result.cursor, default=datetime.min) == UpdatesCursor(
        newest, {i["id"] for i in changed if parse_timestamp(i["updated_at"]) == newest}
    )

    # The requested run is launchable as is and syncs exactly the issues of those days.
    job = pipeline.defs.resolve_job_def("pylon_issues_job")
    run = job.execute_in_process(instance=pipeline.instance, tags=request.tags)
    assert run.success
    first_day = date.fromisoformat(expected_days[0])
    day_start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    assert set(pipeline.rows("issues")) == {
        i["id"] for i in emulator.truth("issues") if parse_timestamp(i["updated_at"]) >= day_start
    }


def _dataset_with_tie(*, hidden: int) -> tuple[Dataset, datetime, list[str]]:
    """The pinned dataset with three issues moved to one newest instant, the last `hidden` of
    them not (yet) visible: a change committed in the same second as an earlier probe ran."""
    dataset = generate(EMULATOR_SEED, 40, now=EMULATOR_NOW, days=5)
    tied_at = EMULATOR_NOW + timedelta(minutes=30)
    tied = sorted(i["id"] for i in dataset.issues)[:3]
    for issue in dataset.issues:
        if issue["id"] in tied:
            issue["updated_at"] = format_timestamp(tied_at)
    dataset.issues = [i for i in dataset.issues if i["id"] not in tied[3 - hidden :]]
    return dataset, tied_at, tied


def test_ties_on_the_cursor_instant_are_requested_once_each(
    instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    before, tied_at, tied = _dataset_with_tie(hidden=2)
    after, _, _ = _dataset_with_tie(hidden=0)
    day = tied_at.date().isoformat()
    start = UpdatesCursor(tied_at - timedelta(minutes=10)).dumps()

    with EmulatorServer(PylonEmulator(before, time_scale=EMULATOR_TIME_SCALE)) as server:
        _, first = tick(instance, emulator_resource(server, warehouse), start)
    assert requested_days(first.run_requests) == [day]
    assert UpdatesCursor.parse(first.cursor, default=datetime.min) == UpdatesCursor(
        tied_at, {tied[0]}
    )

    with EmulatorServer(PylonEmulator(after, time_scale=EMULATOR_TIME_SCALE)) as server:
        pylon = emulator_resource(server, warehouse)
        _, second = tick(instance, pylon, first.cursor)
        # The two issues that joined the tie are new; so is their run: Dagster drops a run
        # request whose run key it already launched, so the key must differ from the first.
        assert requested_days(second.run_requests) == [day]
        assert UpdatesCursor.parse(second.cursor, default=datetime.min) == UpdatesCursor(
            tied_at, set(tied)
        )
        assert {r.run_key for r in second.run_requests}.isdisjoint(
            {r.run_key for r in first.run_requests}
        )
        _, third = tick(instance, pylon, second.cursor)
        assert third.run_requests == []


@pytest.mark.parametrize("failure", ["server_errors", "wrong_token"])
def test_a_failed_probe_raises_and_keeps_the_cursor(
    emulator_server: EmulatorServer,
    instance: dg.DagsterInstance,
    failure: str,
    warehouse: PostgresWarehouse,
):
    emulator = emulator_server.emulator
    cursor = cursor_after_everything(emulator)
    changed = emulator.update_issue(sorted(i["id"] for i in emulator.truth("issues"))[0])
    error: type[Exception]
    if failure == "server_errors":
        emulator.set_faults(server_error_rate=1.0)
        pylon, error = emulator_resource(emulator_server, warehouse), PylonUnavailableError
    else:
        pylon = emulator_resource(emulator_server, warehouse, api_token="not-the-token")
        error = PylonAuthenticationError

    with (
        dg.build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs(), resources={"pylon": pylon}
        ) as context,
        pytest.raises(error),
    ):
        issue_updates_sensor().evaluate_tick(context)
    assert context.cursor == cursor

    # Once Pylon answers again, the change made meanwhile is still requested from that cursor.
    emulator.clear_faults()
    _, result = tick(instance, emulator_resource(emulator_server, warehouse), cursor)
    assert requested_days(result.run_requests) == [
        parse_timestamp(changed["updated_at"]).date().isoformat()
    ]


def test_more_changes_than_one_page_refresh_every_day_since_the_cursor_in_30_day_runs(
    instance: dg.DagsterInstance, warehouse: PostgresWarehouse
):
    emulator = make_emulator(issues=1100)
    issues = sorted(emulator.truth("issues"), key=lambda i: (i["updated_at"], i["id"]))
    since = parse_timestamp(issues[0]["updated_at"]) - timedelta(seconds=5)
    date_before = datetime.now(UTC).date()
    with EmulatorServer(emulator) as server:
        pylon = emulator_resource(server, warehouse)
        _, first = tick(instance, pylon, UpdatesCursor(since).dumps())
        _, second = tick(instance, pylon, first.cursor)

    # The tick's today: the date before it, or the date after if a midnight passed meanwhile.
    today = date.fromisoformat(max(requested_days(first.run_requests)))
    assert today in {date_before, datetime.now(UTC).date()}
    assert requested_days(first.run_requests) == iso_days(since.date(), today)
    # Batched like a backfill: consecutive days, at most 30 per run.
    spans = [
        (r.tags[RANGE_START], r.tags[RANGE_END]) for r in first.run_requests if not r.partition_key
    ]
    partitions = issue_partitions(settings_with().start_date)
    expected = partition_chunks(partitions, since.date(), today)
    assert spans == [(chunk[0], chunk[-1]) for chunk in expected if len(chunk) > 1]
    # The cursor moved to the last issue of the page; the next tick requests the rest exactly.
    page_end = parse_timestamp(issues[998]["updated_at"])
    assert UpdatesCursor.parse(first.cursor, default=datetime.min).updated_at == page_end
    assert requested_days(second.run_requests) == sorted(
        {parse_timestamp(i["updated_at"]).date().isoformat() for i in issues[999:]}
    )
