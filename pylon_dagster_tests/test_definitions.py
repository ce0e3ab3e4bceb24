"""The code location loads the way `dagster dev` and `dagster definitions validate` load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_dagster_definitions_validate_accepts_the_code_location(tmp_path: Path):
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "pylon_dagster.definitions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


@pytest.mark.slow
def test_importing_the_code_location_needs_no_setting_and_writes_nothing(tmp_path: Path):
    """An empty environment, a read-only working folder and home: the import succeeds and leaves
    both folders empty (no state folder, no remembered start date, no embedded Postgres)."""
    work, home = tmp_path / "work", tmp_path / "home"
    for folder in (work, home):
        folder.mkdir()
        folder.chmod(0o555)
    result = subprocess.run(
        [sys.executable, "-c", "import pylon_dagster.definitions"],
        cwd=work,
        env={"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert list(work.iterdir()) == [] and list(home.iterdir()) == []


def test_the_graph_has_the_streams_automation_and_pool_the_brief_asks_for():
    from pylon_dagster.definitions import defs

    graph = defs().resolve_asset_graph()
    tables = {key.path[-1] for key in graph.get_all_asset_keys()}
    assert {
        "issues",
        "issue_messages",
        "issue_threads",
        "accounts",
        "contacts",
        "users",
        "teams",
        "tags",
        "custom_fields",
        "knowledge_bases",
        "knowledge_base_articles",
        "knowledge_base_collections",
        "ticket_forms",
        "user_roles",
        "activity_types",
        "issue_statuses",
        "tasks",
    } <= tables
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert key.path[0] == "pylon"
        if node.group_name == "pylon_analytics":
            # Computed from the warehouse: no Pylon call, so no slot of the API pool.
            assert {"pandas", "postgres"} <= set(node.kinds) and not node.pools, key
        else:
            assert {"pylon", "postgres"} <= set(node.kinds)
            assert node.pools == {"pylon_api"}, key
    assert {"support_daily_metrics", "account_support_summary"} <= tables
    running = {
        sensor.name
        for sensor in defs().get_repository_def().sensor_defs
        if sensor.default_status == dg.DefaultSensorStatus.RUNNING
    }
    assert {
        "pylon_issue_updates",
        "pylon_children_follow_issues",
        "pylon_analytics_follow_inputs",
        "pylon_run_failures",
    } <= running


LOAD_AND_REPORT_WARNINGS = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    before = list(warnings.filters)
    from pylon_dagster.definitions import defs
    import dagster as dg
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    definitions.get_repository_def().get_all_jobs()
    # numpy (through pandas) ignores its own binary-compatibility messages: named messages only.
    silenced = [
        f for f in warnings.filters
        if f not in before and f[0] == "ignore" and not (f[1] and f[1].pattern.startswith("numpy."))
    ]
print(json.dumps({
    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    "silenced": [str(f) for f in silenced],
}))
"""


@pytest.mark.slow
def test_loading_the_definitions_emits_no_dagster_warning(tmp_path: Path):
    """No deprecated, superseded, beta or preview Dagster API at load time, and no filter that
    would hide one: a fresh interpreter records every warning the code location emits."""
    import json

    env = {**os.environ, "PYLON_DAGSTER_STATE": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_REPORT_WARNINGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    dagster_warnings = (
        "DeprecationWarning",
        dg.BetaWarning.__name__,
        dg.PreviewWarning.__name__,
        dg.SupersessionWarning.__name__,
    )
    assert [w for w in report["warnings"] if w.startswith(dagster_warnings)] == []
    assert report["silenced"] == []


def test_issues_carries_the_daily_freshness_policy_the_daemon_evaluates():
    from pylon_dagster.assets.issues import ISSUES, ISSUES_FRESHNESS
    from pylon_dagster.definitions import defs

    spec = next(spec for spec in defs().resolve_all_asset_specs() if spec.key == ISSUES)
    assert spec.freshness_policy == ISSUES_FRESHNESS
