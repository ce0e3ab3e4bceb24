"""Test-wide setup. Shared fixtures live in `pylon_dagster_tests/fixtures/`, one module per component.

The environment is fixed before any project module is imported: the `issues` partitions start
early enough for the emulator's pinned dataset, and local state goes to a throwaway folder, never
the user's `.state`.
"""

import os
import tempfile

import pytest

os.environ["PYLON_START_DATE"] = "2025-12-01"
os.environ["PYLON_DAGSTER_STATE"] = tempfile.mkdtemp(prefix="pylon-dagster-tests-")
os.environ.pop("DAGSTER_HOME", None)

pytest_plugins = [
    "pylon_dagster_tests.fixtures.emulator",
    "pylon_dagster_tests.fixtures.postgres",
    "pylon_dagster_tests.fixtures.pipeline",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, the rest in their usual order: pytest-xdist hands tests out in this order,
    so the longest ones (killed syncs, `dagster dev`, fresh installs) start at once on every worker
    instead of being the last ones running while the other workers sit idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
