"""The code location loads the way `dagster dev` and `dagster definitions validate` load it."""

from __future__ import annotations

import json
import os
import re
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


IMPORT_EVERY_MODULE = """
import importlib, json, os, pkgutil

class RecordingEnviron(dict):
    \"\"\"The environment, noting every read of a PYLON_* variable.\"\"\"
    reads = []
    def _note(self, key):
        if isinstance(key, str) and key.startswith("PYLON_"):
            self.reads.append(key)
    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)
    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)
    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)
    def copy(self):
        return dict(self)

os.environ = RecordingEnviron(os.environ)  # `os.getenv` reads it too
import pylon_dagster
modules = sorted(m.name for m in pkgutil.walk_packages(pylon_dagster.__path__, "pylon_dagster."))
for name in modules:
    importlib.import_module(name)
read_on_import = list(os.environ.reads)
from pylon_dagster.definitions import defs
from pylon_dagster.settings import ConfigError
try:
    defs()
    error = None
except ConfigError as raised:
    error = str(raised)
print(json.dumps({"modules": modules, "read_on_import": read_on_import, "error": error,
                  "read_by_defs": sorted(set(os.environ.reads))}))
"""


def project_variables() -> set[str]:
    """Every `PYLON_*` variable named in the package's source."""
    package = ROOT / "pylon_dagster"
    return {
        name
        for source in package.rglob("*.py")
        for name in re.findall(r"\bPYLON_[A-Z_]+\b", source.read_text())
    }


def test_importing_any_module_reads_no_setting_and_writes_nothing(tmp_path: Path):
    """Every module of the package imported with every `PYLON_*` variable set to nonsense, in a
    read-only working folder and home: no module reads one (nor fails on it, nor writes). Only
    `defs()` reads them, and refuses them with a `ConfigError`."""
    work, home = tmp_path / "work", tmp_path / "home"
    for folder in (work, home):
        folder.mkdir()
        folder.chmod(0o555)
    variables = project_variables()
    nonsense = dict.fromkeys(variables, "not valid")
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE],
        cwd=work,
        env={"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(ROOT), **nonsense},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    every_module = {
        ".".join(("pylon_dagster", *path.relative_to(ROOT / "pylon_dagster").with_suffix("").parts))
        for path in (ROOT / "pylon_dagster").rglob("*.py")
        if path.name != "__init__.py"
    }
    assert every_module <= set(report["modules"])
    assert report["read_on_import"] == []
    assert report["error"] == (
        "PYLON_START_DATE='not valid' is not a date. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, "
        "e.g. 2024-01-01 or 2024-01-01T00:00:00Z."
    )
    assert "PYLON_START_DATE" in report["read_by_defs"]  # the recorder sees reads
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
        "pylon_metrics_follow_deletions",
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
