"""Secrets a careless operator or a hostile upstream could get shown or stored, through the real
commands: the token with whitespace, the token echoed by an upstream in any response and any
letter case, passwords in URL parameters, the alert webhook's URL.

Every test searches the command's output, Dagster's storage, the Postgres server's log and the
warehouse's tables for the secret (`leaks.py`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.webapp.settings import APP_SECRET_VAR
from pylon_dagster_tests.fixtures.postgres import EmbeddedPostgres
from pylon_dagster_tests.reliability.cli_process import (
    cli_env,
    closed_port,
    run_cli,
    run_command,
)
from pylon_emulator import EmulatorServer

# Slow: each test runs a command in a subprocess (the real entry point).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ONE_DAY = ("--start", "2026-03-13", "--end", "2026-03-13")
URL_PASSWORD = "url-Pa55word-in-a-parameter"
TOKEN_DEFECTS = {
    "trailing_newline": "{}\n",
    "leading_newline": "\n{}",
    "trailing_space": "{} ",
    "tab": "{}\t",
    "carriage_return": "{}\r",
    "control_character": "{}\x1b",
    "non_ascii": "{}\u00e9",
}


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


@pytest.mark.parametrize("defect", sorted(TOKEN_DEFECTS))
def test_a_token_with_whitespace_is_refused_in_one_line_without_echo(
    defect: str,
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
    leaked: Callable[..., list[str]],
):
    """What a Kubernetes Secret or a file gives: refused before any request, never echoed."""
    emulator = emulator_server.emulator
    token = TOKEN_DEFECTS[defect].format(emulator.token)
    env = cli_env(emulator_server, warehouse, tmp_path, PYLON_API_TOKEN=token)

    result = run_cli(env, *ONE_DAY)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert error_lines(output) == [
        "Error: PYLON_API_TOKEN holds whitespace, a control character or a non-ASCII character "
        "(often a trailing newline from a file or a Kubernetes Secret), which no API token has. "
        "Set it to the token alone, e.g. export PYLON_API_TOKEN=\"$(tr -d '[:space:]' < "
        'token-file)".'
    ], output
    assert emulator.counters().to_json()["requests"] == {}
    assert leaked([emulator.token], output=output) == []


def test_the_code_location_refuses_a_token_with_whitespace_without_echo(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, tmp_path: Path
):
    """Where runs get their token (`dagster dev`, the daemon, every run worker load the code
    location this way): no run can start with it, and the load error does not quote it."""
    emulator = emulator_server.emulator
    env = cli_env(emulator_server, warehouse, tmp_path, PYLON_API_TOKEN=f"{emulator.token}\n")
    dagster = Path(sys.executable).with_name("dagster")

    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "pylon_dagster.definitions"],
        cwd=ROOT,
        env={**env, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "PYLON_API_TOKEN holds whitespace" in output, output
    assert emulator.token.lower() not in output.lower()
    assert emulator.counters().to_json()["requests"] == {}


# name: (emulator faults, the scrubbed echo the failure must show)
ECHOES: dict[str, tuple[dict[str, object], str]] = {
    "2xx_as_sent": (
        {"echo_authorization_in_2xx": True, "malformed_data": True},
        "you sent Authorization: Bearer ***",
    ),
    "2xx_upper_case": (
        {"echo_authorization_in_2xx": True, "malformed_data": True, "echo_upper_case": True},
        "you sent Authorization: BEARER ***",
    ),
    "4xx_upper_case": (
        {"echo_authorization": True, "search_window_cap_days": 0.5, "echo_upper_case": True},
        "you sent Authorization: BEARER ***",
    ),
}


@pytest.mark.parametrize("echo", sorted(ECHOES))
def test_a_token_echoed_in_any_response_and_letter_case_is_never_shown_or_stored(
    echo: str,
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
    leaked: Callable[..., list[str]],
):
    """A 200 whose `data` is malformed and whose `request_id` quotes the Authorization header,
    or a 400 quoting it upper-cased: the run fails naming the cause, the token blanked."""
    emulator = emulator_server.emulator
    faults, shown = ECHOES[echo]
    emulator.set_faults(**faults)
    env = cli_env(emulator_server, warehouse, tmp_path)

    result = run_cli(env, *ONE_DAY)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert shown in output, output
    assert leaked([emulator.token], output=output) == []


def test_a_warehouse_password_in_a_url_parameter_is_masked_in_sync_and_status(
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    embedded_postgres: EmbeddedPostgres,
    tmp_path: Path,
    leaked: Callable[..., list[str]],
):
    """`?password=` works as a libpq parameter: a whole sync runs with it, and the status table
    and JSON show the URL with `password=***`."""
    url = f"{embedded_postgres.url}&password={URL_PASSWORD}"
    env = cli_env(emulator_server, warehouse, tmp_path, PYLON_WAREHOUSE_URL=url)

    synced = run_cli(env, *ONE_DAY)
    table = run_command(env, "status")
    as_json = run_command(env, "status", "--json")

    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert table.returncode in (0, 1) and as_json.returncode in (0, 1), table.stderr
    shown = json.loads(as_json.stdout)["warehouse"]["url"]
    assert "&password=***&" in shown, shown
    assert shown in table.stdout, table.stdout
    outputs = [result.stdout + result.stderr for result in (synced, table, as_json)]
    assert leaked([URL_PASSWORD], output="\n".join(outputs)) == []


@pytest.mark.parametrize("command", [("sync", *ONE_DAY), ("app", "--port", "0")], ids=str)
def test_a_warehouse_password_in_a_url_parameter_is_masked_in_connection_errors(
    command: tuple[str, ...],
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
    leaked: Callable[..., list[str]],
):
    port = closed_port()
    url = f"postgresql://u@127.0.0.1:{port}/db?password={URL_PASSWORD}&sslmode=disable"
    env = cli_env(
        emulator_server, warehouse, tmp_path, PYLON_WAREHOUSE_URL=url, **{APP_SECRET_VAR: "s"}
    )

    result = run_command(env, *command)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    [error] = error_lines(output)
    assert error.startswith(
        "Error: Cannot connect to the warehouse at "
        f"postgresql+psycopg://u@127.0.0.1:{port}/db?password=***&sslmode=disable: "
    ), error
    assert leaked([URL_PASSWORD], output=output) == []


def test_a_key_in_the_api_url_query_is_refused_without_echo(
    emulator_server: EmulatorServer,
    warehouse: PostgresWarehouse,
    tmp_path: Path,
    leaked: Callable[..., list[str]],
):
    """httpx would send every request to a path after the query, so it is refused like a
    password in the URL, before any request."""
    api_url = f"{emulator_server.url}/?api_key={URL_PASSWORD}"
    env = cli_env(emulator_server, warehouse, tmp_path, PYLON_API_URL=api_url)

    result = run_cli(env, *ONE_DAY)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert error_lines(output) == [
        "Error: PYLON_API_URL must not carry a query string or fragment (the token goes in "
        "PYLON_API_TOKEN). Use https://api.usepylon.com or https://api.eu.usepylon.com."
    ], output
    assert emulator_server.emulator.counters().to_json()["requests"] == {}
    assert leaked([URL_PASSWORD], output=output) == []
