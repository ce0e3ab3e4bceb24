"""Shared fixtures live in `pylon_dagster_tests/fixtures/`, one module per real component."""

pytest_plugins = [
    "pylon_dagster_tests.fixtures.emulator",
    "pylon_dagster_tests.fixtures.postgres",
]
