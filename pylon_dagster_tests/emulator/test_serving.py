"""`AppServer` accepts connections from the moment it is created, before it serves."""

from __future__ import annotations

import socket
import threading

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pylon_emulator.serving import AppServer


def _hello(request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


def test_a_client_that_connects_before_serving_starts_waits_instead_of_being_refused():
    server = AppServer(Starlette(routes=[Route("/", _hello)]))
    try:
        # The CLI prints the URL, then serves: a client may connect in between.
        with socket.create_connection((server.host, server.port), timeout=5):
            pass
        answered: list[httpx.Response] = []
        caller = threading.Thread(target=lambda: answered.append(httpx.get(server.url, timeout=30)))
        caller.start()  # connects while nothing is serving yet
        server.start()
        caller.join()
        assert [response.text for response in answered] == ["hello"]
    finally:
        server.stop()
