"""A stop asked for in one thread (the headless sync's main thread, on Ctrl-C or SIGTERM) stops
the Pylon clients of runs in other threads before their next request, including clients opened
after the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pylon_dagster.catalog import endpoints
from pylon_dagster.dagster_adapter import request_stop
from pylon_dagster.pylon.errors import PylonStoppedError
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster_tests.fixtures.emulator import emulator_resource
from pylon_emulator import EmulatorServer


@pytest.fixture
def stop_forgotten_after() -> Iterator[None]:
    request_stop(False)
    yield
    request_stop(False)


def test_a_stop_requested_while_a_client_is_open_stops_it_at_once(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, stop_forgotten_after: None
):
    pylon = emulator_resource(emulator_server, warehouse)
    with pylon.get_client() as client:
        assert client.request(endpoints.ACCOUNTS)["data"]
        served = emulator_server.emulator.counters().total_requests
        request_stop()  # returns once the client is stopped: no poll interval to wait out
        with pytest.raises(PylonStoppedError):
            client.request(endpoints.ACCOUNTS)
    assert emulator_server.emulator.counters().total_requests == served


def test_a_stop_reaches_a_client_still_open_after_another_of_its_resource_closed(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, stop_forgotten_after: None
):
    """Like an issues run's messages and threads, fetched side by side: the threads finish first."""
    pylon = emulator_resource(emulator_server, warehouse)
    with pylon.get_client() as messages:
        with pylon.get_client() as threads:
            assert threads.request(endpoints.ACCOUNTS)["data"]
        request_stop()
        with pytest.raises(PylonStoppedError):
            messages.request(endpoints.ACCOUNTS)


def test_a_client_opened_after_a_stop_request_sends_nothing(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, stop_forgotten_after: None
):
    request_stop()
    pylon = emulator_resource(emulator_server, warehouse)
    with pylon.get_client() as client, pytest.raises(PylonStoppedError):
        client.request(endpoints.ACCOUNTS)
    assert emulator_server.emulator.counters().total_requests == 0


def test_a_forgotten_stop_request_leaves_new_clients_working(
    emulator_server: EmulatorServer, warehouse: PostgresWarehouse, stop_forgotten_after: None
):
    request_stop()
    request_stop(False)
    with emulator_resource(emulator_server, warehouse).get_client() as client:
        assert client.request(endpoints.ACCOUNTS)["data"]
