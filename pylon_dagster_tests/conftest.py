"""Test-wide setup. Shared fixtures live in `pylon_dagster_tests/fixtures/`, one module per component.

Tests build their `Settings` from `TEST_ENVIRON` (the `settings` fixture, `settings_with`). The
same variables are put in the environment for what reads it at the edge: `defs()`, the CLI and
the subprocesses of the end-to-end tests.
"""

import os

import pytest

from pylon_dagster.settings import Settings
from pylon_dagster_tests.fixtures.settings import TEST_ENVIRON, settings_with

os.environ.update(TEST_ENVIRON)
os.environ.pop("DAGSTER_HOME", None)

pytest_plugins = [
    "pylon_dagster_tests.fixtures.emulator",
    "pylon_dagster_tests.fixtures.postgres",
    "pylon_dagster_tests.fixtures.pipeline",
]


@pytest.fixture
def settings() -> Settings:
    """What the code location builds its assets, schedules and sensors from in the tests."""
    return settings_with()
