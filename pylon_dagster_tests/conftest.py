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
    "pylon_dagster_tests.fixtures.dagster_instance",
    "pylon_dagster_tests.fixtures.pipeline",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, the rest in their usual order: pytest-xdist hands tests out in this order,
    so the longest ones (killed syncs, `dagster dev`, fresh installs) start at once on every worker
    instead of being the last ones running while the other workers sit idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def settings() -> Settings:
    """What the code location builds its assets, schedules and sensors from in the tests."""
    return settings_with()
