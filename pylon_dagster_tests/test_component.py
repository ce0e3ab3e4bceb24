"""`PylonComponent` in a `dg` project: the example project (two organizations declared in YAML)
checked and listed by `dg`, one instance materialized against the emulator, bad attributes
refused in one line, and the rate budget per organization.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from pylon_dagster import PylonComponent, build_pylon_definitions
from pylon_dagster.automation.issue_updates import UpdatesCursor
from pylon_dagster.catalog.endpoints import ISSUES_SEARCH
from pylon_dagster.pylon.budget import Priority
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.settings import WAREHOUSE_URL_VAR, ConfigError
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.resource import SCHEMA_VAR
from pylon_dagster.warehouse.sql import ident
from pylon_dagster.webapp.app import WEBHOOK_PATH, app_from_env
from pylon_dagster.webapp.settings import WEBHOOK_SECRET_VAR
from pylon_dagster.webapp.signatures import sign
from pylon_dagster_tests.fixtures.emulator import EMULATOR_NOW, make_emulator
from pylon_dagster_tests.fixtures.pipeline import rows_of
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres
from pylon_emulator import EmulatorServer
from pylon_emulator.serving import AppServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pylon_two_orgs"
US_TOKEN = "us-org-token-d41d8cd98f00b204"
EU_TOKEN = "eu-org-token-9e107d9d372bb682"
INSTANCES = ("pylon_us", "pylon_eu")
BUDGET_SCHEMA = "pylon_rate_budget"


def dg_command(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`dg ARGS` in `project`, in this virtualenv (the project's package from its `src`)."""
    environ = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "PYLON_US_TOKEN": US_TOKEN,
        "PYLON_EU_TOKEN": EU_TOKEN,
        "NO_COLOR": "1",
        **(env or {}),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "dg"), *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_example_project_passes_dg_check_defs() -> None:
    result = dg_command(EXAMPLE, "check", "defs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully." in result.stdout + result.stderr


def test_dg_list_defs_shows_both_instances_under_their_prefixes_without_the_tokens() -> None:
    result = dg_command(EXAMPLE, "list", "defs", "--json")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert US_TOKEN not in output and EU_TOKEN not in output
    listed = json.loads(result.stdout)
    keys = [asset["asset_key"] for asset in listed["assets"]]
    assert len(keys) == len(set(keys))
    by_prefix = {
        prefix: {k.split("/", 1)[1] for k in keys if k.startswith(f"{prefix}/")}
        for prefix in INSTANCES
    }
    assert by_prefix["pylon_us"] == by_prefix["pylon_eu"]
    assert {"issues", "issue_messages", "accounts", "support_daily_metrics"} <= by_prefix[
        "pylon_us"
    ]
    assert all(key.split("/", 1)[0] in INSTANCES for key in keys)
    names = [
        item["name"] for section in ("jobs", "schedules", "sensors") for item in listed[section]
    ]
    assert len(names) == len(set(names))
    assert "pylon_us_issues_job" in names and "pylon_eu_issues_job" in names
    assert "pylon_us_issues_daily" in names
    assert "pylon_eu_issues_daily" not in names  # `schedules: false` in its YAML
    assert "pylon_eu_issue_updates" in names


def test_a_scaffolded_instance_loads_once_its_token_variable_is_set(tmp_path: Path) -> None:
    """`dg scaffold defs pylon_dagster.PylonComponent pylon-ca`, as the README starts one."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    scaffolded = dg_command(project, "scaffold", "defs", "pylon_dagster.PylonComponent", "pylon-ca")
    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    listed = dg_command(project, "list", "defs", "--json", env={"PYLON_CA_API_TOKEN": "ca-token"})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    keys = {asset["asset_key"] for asset in json.loads(listed.stdout)["assets"]}
    assert {"pylon_ca/issues", "pylon_us/issues", "pylon_eu/issues"} <= keys


def test_dg_list_defs_shows_an_instance_of_some_streams_without_metrics_in_its_group(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    declared = project / "src" / "pylon_two_orgs" / "defs" / "pylon_eu" / "defs.yaml"
    declared.write_text(
        declared.read_text()
        + "  streams: [issues, issue_messages, accounts]\n"
        + "  metrics: false\n"
        + "  group_name: pylon_eu_support\n"
    )
    result = dg_command(project, "list", "defs", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    listed = json.loads(result.stdout)
    eu = [asset for asset in listed["assets"] if asset["asset_key"].startswith("pylon_eu/")]
    assert {asset["asset_key"] for asset in eu} == {
        f"pylon_eu/{table}" for table in ("issues", "issue_messages", "issue_deletions", "accounts")
    }
    assert {asset["group_name"] for asset in eu} == {"pylon_eu_support"}
    names = {item["name"] for section in ("jobs", "sensors") for item in listed[section]}
    assert "pylon_eu_issues_job" in names and "pylon_us_daily_metrics_job" in names
    assert not {"pylon_eu_daily_metrics_job", "pylon_eu_analytics_follow_inputs"} & names


@pytest.mark.parametrize(
    ("change", "named"),
    [
        # dg's YAML check or, past it, the load names it (`test_component_model.py`)
        (("  api_token:", "  api_tokn:"), "attributes.api_tokn"),
        pytest.param(  # Settings' own check, tested in-process too: with the whole suite
            ('  start_date: "2024-01-01"', '  start_date: "2024-13-01"'),
            "start_date='2024-13-01'",
            marks=pytest.mark.slow,
        ),
        (("  key_prefix: pylon_us", "  key_prefix: Pylon-US"), "key_prefix='Pylon-US'"),
        (
            (
                "  key_prefix: pylon_us",
                "  key_prefix: pylon_us\n  streams: [issue_messages]\n  metrics: false",
            ),
            "streams leaves out issues (read by issue_messages)",
        ),
    ],
)
def test_a_bad_attribute_fails_dg_check_defs_on_a_line_naming_it(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    declared = project / "src" / "pylon_two_orgs" / "defs" / "pylon_us" / "defs.yaml"
    old, new = change
    assert old in declared.read_text()
    declared.write_text(declared.read_text().replace(old, new))
    result = dg_command(project, "check", "defs")
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if named in line]
    assert lines, result.stdout + result.stderr


def test_a_literal_token_is_refused_in_python() -> None:
    with pytest.raises(ConfigError, match="api_token must name an environment variable"):
        build_pylon_definitions(api_token="a-token-written-out", key_prefix="pylon_us")


def test_two_instances_in_python_have_distinct_keys_names_and_resources() -> None:
    us = build_pylon_definitions(
        api_token=dg.EnvVar("PYLON_US_TOKEN"), warehouse_schema="pylon_us", key_prefix="pylon_us"
    )
    eu = build_pylon_definitions(
        api_token=dg.EnvVar("PYLON_EU_TOKEN"),
        api_url="https://api.eu.usepylon.com",
        warehouse_schema="pylon_eu",
        key_prefix="pylon_eu",
    )
    both = dg.Definitions.merge(us, eu)
    dg.Definitions.validate_loadable(both)
    repository = both.get_repository_def()
    assert set(repository.get_top_level_resources()) == {
        "pylon_us_pylon",
        "pylon_us_warehouse",
        "pylon_eu_pylon",
        "pylon_eu_warehouse",
    }
    resource = (eu.resources or {})["pylon_eu_pylon"]
    assert isinstance(resource, PylonResource)
    assert resource.base_url == "https://api.eu.usepylon.com"
    assert resource.warehouse.schema_name == "pylon_eu"
    groups = {node.group_name for node in both.resolve_asset_graph().asset_nodes}
    assert groups == {
        f"{p}_{g}"
        for p in INSTANCES
        for g in ("issues", "reference", "knowledge_base", "analytics")
    }


# -- one instance materialized against the emulator ------------------------------------------------


@pytest.fixture
def example_database(embedded_postgres: EmbeddedPostgres) -> Iterator[str]:
    """The URL of a database of this test's on the embedded server (the example's schemas have
    fixed names; a process prepares each database's schemas once), dropped after."""
    database = f"example_{uuid.uuid4().hex[:12]}"
    admin_url = sa.make_url(embedded_postgres.url).set(drivername="postgresql")
    with psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    yield (
        sa.make_url(embedded_postgres.url)
        .set(database=database)
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


@pytest.fixture
def example_environment(
    example_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorServer]:
    """The emulator (for the US organization's token) and the environment the example's YAML
    reads: both instances in the test's database, the US one aimed at the emulator."""
    with EmulatorServer(make_emulator(token=US_TOKEN)) as server:
        monkeypatch.setenv("PYLON_US_TOKEN", US_TOKEN)
        monkeypatch.setenv("PYLON_EU_TOKEN", EU_TOKEN)
        monkeypatch.setenv("PYLON_US_API_URL", server.url)
        monkeypatch.setenv("ANALYTICS_DB_URL", example_database)
        monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
        yield server


def busiest_day(server: EmulatorServer) -> date:
    """The day on which the emulator's dataset updated the most issues."""
    days = [
        datetime.fromisoformat(issue["updated_at"].replace("Z", "+00:00")).date()
        for issue in server.emulator.truth("issues")
    ]
    return max(set(days), key=days.count)


def issues_updated_on(server: EmulatorServer, day: date) -> dict[str, dict]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=EMULATOR_NOW.tzinfo)
    return {
        issue["id"]: issue
        for issue in server.emulator.truth("issues")
        if start
        <= datetime.fromisoformat(issue["updated_at"].replace("Z", "+00:00"))
        < start + timedelta(days=1)
    }


def schema_rows(url: str, schema: str) -> int:
    """Rows in every table of `schema` (0 when the schema does not exist)."""
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as connection:
        tables = connection.execute(
            sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).scalars()
        total = sum(
            connection.exec_driver_sql(
                f"SELECT count(*) FROM {ident(schema)}.{ident(table)}"
            ).scalar_one()
            for table in list(tables)
        )
    engine.dispose()
    return total


def test_materializing_one_instances_issues_partition_fills_only_its_schema(
    example_environment: EmulatorServer,
    example_database: str,
    postgres_instance: dg.DagsterInstance,
) -> None:
    from pylon_two_orgs.definitions import defs as example_defs

    server = example_environment
    defs = example_defs()
    day = busiest_day(server)
    issues = dg.AssetKey(["pylon_us", "issues"])
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        asset_selection=[issues], partition_key=day.isoformat(), instance=postgres_instance
    )
    assert result.success

    expected = issues_updated_on(server, day)
    assert expected
    stored = rows_of(PostgresWarehouse(url=example_database, schema_name="pylon_us"), "issues")
    assert stored == expected
    assert schema_rows(example_database, "pylon_eu") == 0

    run = postgres_instance.get_run_by_id(result.run_id)
    assert run is not None
    assert US_TOKEN not in repr(run.run_config) and US_TOKEN not in repr(run.tags)
    events = postgres_instance.all_logs(result.run_id)
    assert events
    assert not any(US_TOKEN in entry.to_json() for entry in events)


def test_an_instance_of_some_streams_runs_its_issues_job_on_those_streams_only(
    example_environment: EmulatorServer,
    example_database: str,
    postgres_instance: dg.DagsterInstance,
) -> None:
    """`streams: [issues, issue_messages]`, no metrics, one group: the issues job (what the
    schedule and the sensors run) fetches the issues and their messages, never their threads."""
    server = example_environment
    defs = build_pylon_definitions(
        api_token=dg.EnvVar("PYLON_US_TOKEN"),
        api_url=server.url,
        start_date="2024-01-01",
        warehouse_url=dg.EnvVar("ANALYTICS_DB_URL"),
        warehouse_schema="pylon_us",
        key_prefix="pylon_us",
        streams=["issues", "issue_messages"],
        metrics=False,
        group_name="support",
    )
    day = busiest_day(server)
    job = defs.resolve_job_def("pylon_us_issues_job")
    result = job.execute_in_process(partition_key=day.isoformat(), instance=postgres_instance)
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey(["pylon_us", t]) for t in ("issues", "issue_messages")}
    assert all(check.passed for check in result.get_asset_check_evaluations())

    expected = issues_updated_on(server, day)
    warehouse = PostgresWarehouse(url=example_database, schema_name="pylon_us")
    assert rows_of(warehouse, "issues") == expected
    children = {
        stream: server.emulator.truth(stream) for stream in ("issue_messages", "issue_threads")
    }
    messages = {
        message["id"] for issue in expected for message in children["issue_messages"].get(issue, [])
    }
    assert messages
    assert set(rows_of(warehouse, "issue_messages")) == messages
    assert any(children["issue_threads"].get(issue) for issue in expected)
    assert rows_of(warehouse, "issue_threads") == {}


# -- the web service, for either instance -----------------------------------------------------------


@pytest.mark.parametrize(("served", "other"), [INSTANCES, INSTANCES[::-1]])
def test_the_web_service_serves_the_instance_its_settings_name(
    example_environment: EmulatorServer,
    example_database: str,
    monkeypatch: pytest.MonkeyPatch,
    served: str,
    other: str,
) -> None:
    """`pylon-dagster app` with one instance's warehouse schema (as the README deploys it, one
    service per instance): a signed webhook becomes a run request of that instance's `issues`
    job, and the other instance's sensor has nothing to do."""
    from pylon_two_orgs.definitions import defs as example_defs

    defs = example_defs()
    secret = f"webhook-secret-of-{served}"
    monkeypatch.setenv(WAREHOUSE_URL_VAR, example_database)
    monkeypatch.setenv(SCHEMA_VAR, served)
    monkeypatch.setenv(WEBHOOK_SECRET_VAR, secret)
    body = json.dumps({"event": "issue_updated", "issue_id": "issue-1"}).encode()
    with AppServer(app_from_env(), lifespan="on") as server:
        response = httpx.post(
            f"{server.url}{WEBHOOK_PATH}",
            content=body,
            headers={"Content-Type": "application/json", "X-Pylon-Signature": sign(secret, body)},
        )
    assert response.json() == {"stored": True}

    def tick(prefix: str) -> dg.SensorResult | dg.SkipReason:
        warehouse = f"{prefix}_warehouse"
        sensor = defs.resolve_sensor_def(f"{prefix}_webhook_events_sensor")
        assert sensor.job_name == f"{prefix}_issues_job"
        with dg.build_sensor_context(
            instance=dg.DagsterInstance.ephemeral(),
            definitions=defs,
            resources={warehouse: (defs.resources or {})[warehouse]},
        ) as context:
            return sensor(context)

    requested = tick(served)
    assert isinstance(requested, dg.SensorResult)
    assert requested.run_requests
    ignored = tick(other)
    assert isinstance(ignored, dg.SkipReason) or not ignored.run_requests


# -- the rate budget: one per organization ---------------------------------------------------------


@pytest.fixture
def budget_database(embedded_postgres: EmbeddedPostgres) -> Iterator[tuple[str, str]]:
    """The database's URL and a suffix for the test's three schemas (two warehouses and a
    shared budget: `budget_{a,b,shared}_SUFFIX`), dropped after."""
    suffix = uuid.uuid4().hex[:8]
    schemas = [f"budget_{name}_{suffix}" for name in ("a", "b", "shared")]
    yield embedded_postgres.url, suffix
    engine = sa.create_engine(
        sa.make_url(embedded_postgres.url).set(drivername="postgresql+psycopg")
    )
    with engine.begin() as connection:
        for schema in schemas:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {ident(schema)} CASCADE")
    engine.dispose()


SEARCH_LIMIT = 3


def instance_resource(url: str, schema: str, budget_schema: str, token: str) -> PylonResource:
    """The `pylon` resource of an instance syncing into `schema`, its budget in `budget_schema`:
    three searches per (minute-long) window."""
    return PylonResource(
        api_token=token,
        warehouse=PostgresWarehouse(url=url, schema_name=schema),
        base_url="http://127.0.0.1:1",  # one host for every organization; nothing is requested
        rate_limits=f"{ISSUES_SEARCH.key}={SEARCH_LIMIT}",
        budget_schema=budget_schema,
    )


def test_one_organization_shares_a_budget_two_organizations_never_do(
    budget_database: tuple[str, str],
) -> None:
    url, suffix = budget_database
    shared = f"budget_shared_{suffix}"
    us_into_a = instance_resource(url, f"budget_a_{suffix}", shared, US_TOKEN).budget()
    us_into_b = instance_resource(url, f"budget_b_{suffix}", shared, US_TOKEN).budget()
    eu_into_b = instance_resource(url, f"budget_b_{suffix}", shared, EU_TOKEN).budget()
    assert us_into_a.api_host == us_into_b.api_host != eu_into_b.api_host
    assert US_TOKEN not in us_into_a.api_host

    grants = [us_into_a.try_acquire(ISSUES_SEARCH.key, Priority.BULK) for _ in range(SEARCH_LIMIT)]
    assert all(grant is not None for grant in grants)
    # The same organization, syncing into another schema: the window is used up.
    assert us_into_b.try_acquire(ISSUES_SEARCH.key, Priority.BULK) is None
    # Another organization on the same host, in the same budget tables: untouched.
    assert all(
        eu_into_b.try_acquire(ISSUES_SEARCH.key, Priority.BULK) is not None
        for _ in range(SEARCH_LIMIT)
    )


def test_the_code_location_is_a_component_from_the_environment() -> None:
    component = PylonComponent.from_environment({"PYLON_API_TOKEN": "x"})
    assert isinstance(component.api_token, dg.EnvVar)
    assert component.api_token.env_var_name == "PYLON_API_TOKEN"
    assert component.key_prefix == "pylon"


def test_an_instances_sensor_asks_pylon_through_the_instances_resource(
    example_environment: EmulatorServer,
) -> None:
    """`pylon_us_issue_updates` takes `pylon_us_pylon` (its function's `pylon` renamed) and
    requests runs of `pylon_us_issues_job`."""
    from pylon_two_orgs.definitions import defs as example_defs

    defs = example_defs()
    sensor = defs.resolve_sensor_def("pylon_us_issue_updates")
    assert sensor.job_name == "pylon_us_issues_job"
    cursor = UpdatesCursor(EMULATOR_NOW - timedelta(days=2)).dumps()
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            definitions=defs,
            resources={"pylon_us_pylon": (defs.resources or {})["pylon_us_pylon"]},
        ) as context,
    ):
        result = sensor.evaluate_tick(context)
    assert result.run_requests
    assert result.cursor != cursor


def test_a_bad_secret_is_named_by_the_variable_it_came_from() -> None:
    component = PylonComponent(
        api_token=dg.EnvVar("PYLON_US_TOKEN"), warehouse_url=dg.EnvVar("ANALYTICS_DB_URL")
    )
    with pytest.raises(ConfigError) as token_error:
        component.settings({"PYLON_US_TOKEN": f"{US_TOKEN}\n"})
    assert str(token_error.value).startswith("PYLON_US_TOKEN holds whitespace")
    assert US_TOKEN not in str(token_error.value)
    with pytest.raises(ConfigError) as url_error:
        component.settings({"PYLON_US_TOKEN": US_TOKEN, "ANALYTICS_DB_URL": "mysql://a:b@h/d"})
    assert str(url_error.value).startswith("ANALYTICS_DB_URL must point at PostgreSQL")
