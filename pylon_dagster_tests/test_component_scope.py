"""What a `PylonComponent` instance includes: `streams`, `metrics` and `group_name`, in-process.

Every case builds the definitions as a project without `dg` would (`build_pylon_definitions`),
and checks that they load whole: the jobs resolve and no schedule or sensor names a job or an
asset the instance leaves out. The materialization of a subset is in test_component.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dagster as dg
import pytest

from pylon_dagster import build_pylon_definitions
from pylon_dagster.catalog.streams import STREAMS
from pylon_dagster.settings import ConfigError

PREFIX = "pylon_us"
METRIC_TABLES = {"support_daily_metrics", "account_support_summary"}
METRIC_JOBS = {f"{PREFIX}_daily_metrics_job", f"{PREFIX}_account_summary_job"}
METRIC_SENSORS = {f"{PREFIX}_analytics_follow_inputs", f"{PREFIX}_metrics_follow_deletions"}


def instance(**attributes: object) -> dg.Definitions:
    """The definitions of an instance `pylon_us` with `attributes`, checked loadable: every job
    resolved, every schedule and sensor pointed at an existing job or asset."""
    defs = build_pylon_definitions(
        api_token=dg.EnvVar("PYLON_US_TOKEN"), key_prefix=PREFIX, **attributes
    )
    dg.Definitions.validate_loadable(defs)
    defs.resolve_all_job_defs()
    return defs


def tables(defs: dg.Definitions) -> set[str]:
    return {key.path[-1] for key in defs.resolve_asset_graph().get_all_asset_keys()}


def checked_tables(defs: dg.Definitions) -> set[str]:
    return {check.asset_key.path[-1] for check in defs.resolve_asset_graph().asset_check_keys}


def names(definitions: Iterable[Any] | None) -> set[str]:
    """The names of jobs, schedules or sensors."""
    return {definition.name for definition in definitions or ()}


def job_tables(defs: dg.Definitions, job: str) -> set[str]:
    """The tables a job of `defs` materializes."""
    return {key.path[-1] for key in defs.resolve_job_def(job).asset_layer.selected_asset_keys}


@pytest.fixture(scope="module")
def everything() -> dg.Definitions:
    return instance()


@pytest.mark.parametrize("prefix", ["pylon", PREFIX])
def test_group_name_puts_every_asset_in_it_and_the_jobs_still_run_their_assets(
    prefix: str, everything: dg.Definitions
) -> None:
    defs = build_pylon_definitions(
        api_token=dg.EnvVar("PYLON_US_TOKEN"), key_prefix=prefix, group_name="support/pylon"
    )
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert {node.group_name for node in graph.asset_nodes} == {"support/pylon"}
    # The jobs and the metrics' sensor select by key: the groups they were written for are gone.
    issues_job = f"{prefix}_issues_job"
    assert job_tables(defs, issues_job) == job_tables(everything, f"{PREFIX}_issues_job")
    assert job_tables(defs, issues_job) == {"issues", "issue_messages", "issue_threads"}
    follower = defs.resolve_sensor_def(f"{prefix}_analytics_follow_inputs")
    assert {key.path[-1] for key in follower.asset_selection.resolve(graph)} == METRIC_TABLES


@pytest.mark.parametrize("group", ["Support Team", "support-team", "", "support/"])
def test_a_group_name_dagster_refuses_is_one_line_naming_the_attribute(group: str) -> None:
    with pytest.raises(ConfigError, match=r"^group_name=") as error:
        instance(group_name=group)
    assert "\n" not in str(error.value)


def test_without_metrics_everything_else_stays_and_nothing_serves_the_metrics(
    everything: dg.Definitions,
) -> None:
    defs = instance(metrics=False)
    assert tables(defs) == tables(everything) - METRIC_TABLES
    assert checked_tables(defs) == checked_tables(everything) - METRIC_TABLES
    assert names(defs.jobs) == names(everything.jobs) - METRIC_JOBS
    assert names(defs.schedules) == names(everything.schedules)
    assert names(defs.sensors) == names(everything.sensors) - METRIC_SENSORS


def test_a_streams_subset_builds_their_assets_checks_and_what_serves_them_only(
    everything: dg.Definitions,
) -> None:
    streams = ["issues", "issue_messages", "accounts", "issue_statuses"]
    defs = instance(streams=streams)
    assert tables(defs) == {*streams, "issue_deletions", *METRIC_TABLES}
    assert checked_tables(defs) == {*streams, *METRIC_TABLES}
    assert job_tables(defs, f"{PREFIX}_issues_job") == {"issues", "issue_messages"}
    assert job_tables(defs, f"{PREFIX}_reference_job") == {"accounts", "issue_statuses"}
    children = defs.resolve_sensor_def(f"{PREFIX}_children_follow_issues")
    assert children.asset_selection.resolve(defs.resolve_asset_graph()) == {
        dg.AssetKey([PREFIX, "issue_messages"])
    }
    assert names(defs.schedules) == names(everything.schedules)
    assert names(defs.sensors) == names(everything.sensors)


def test_reference_streams_alone_leave_out_everything_of_issues() -> None:
    defs = instance(streams=["accounts", "contacts"], metrics=False)
    assert tables(defs) == {"accounts", "contacts"}
    assert names(defs.jobs) == {f"{PREFIX}_reference_job", f"{PREFIX}_warehouse_checks_job"}
    assert names(defs.schedules) == {f"{PREFIX}_reference_daily", f"{PREFIX}_warehouse_checks"}
    assert names(defs.sensors) == {f"{PREFIX}_run_failures"}
    checks = defs.resolve_job_def(f"{PREFIX}_warehouse_checks_job").asset_layer
    assert {key.asset_key.path[-1] for key in checks.asset_graph.asset_check_keys} == {
        "accounts",
        "contacts",
    }


def test_issues_alone_without_metrics_has_no_children_sensor() -> None:
    defs = instance(streams=["issues"], metrics=False)
    assert tables(defs) == {"issues", "issue_deletions"}
    assert f"{PREFIX}_children_follow_issues" not in names(defs.sensors)
    assert f"{PREFIX}_issue_updates" in names(defs.sensors)
    assert f"{PREFIX}_reference_job" not in names(defs.jobs)


def test_listing_every_stream_is_the_default(everything: dg.Definitions) -> None:
    defs = instance(streams=list(STREAMS), metrics=True, group_name=None)
    for section in ("jobs", "schedules", "sensors"):
        assert names(getattr(defs, section)) == names(getattr(everything, section))
    assert tables(defs) == tables(everything)
    assert checked_tables(defs) == checked_tables(everything)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {"streams": ["issue_messages"], "metrics": False},
            "streams leaves out issues (read by issue_messages): add it to streams.",
        ),
        (
            {"streams": ["knowledge_base_collections"], "metrics": False},
            "streams leaves out knowledge_bases (read by knowledge_base_collections): add it to "
            "streams.",
        ),
        (
            {"streams": ["issues", "issue_statuses"]},
            "streams leaves out accounts (read by account_support_summary): add it to streams, "
            "or set metrics to false.",
        ),
        (
            {"streams": ["accounts"]},
            "streams leaves out issue_statuses (read by account_support_summary, "
            "support_daily_metrics); issues (read by account_support_summary, "
            "support_daily_metrics): add them to streams, or set metrics to false.",
        ),
    ],
)
def test_a_stream_left_out_that_an_included_asset_reads_is_one_line_naming_it(
    attributes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        instance(**attributes)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("streams", "named"),
    [
        (["issues", "isue_messages"], "'isue_messages' (did you mean 'issue_messages'?)"),
        (["issues", "zzz"], "'zzz':"),
        ([], "streams=[]"),
    ],
)
def test_streams_naming_no_stream_names_it_and_lists_the_known_ones(
    streams: list[str], named: str
) -> None:
    with pytest.raises(ConfigError, match=r"^streams") as error:
        instance(streams=streams, metrics=False)
    assert "\n" not in str(error.value)
    assert named in str(error.value)
    assert all(name in str(error.value) for name in STREAMS)
