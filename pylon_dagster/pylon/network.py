"""`Network`: httpx's own network layer, the innermost of the Pylon client's transports."""

from __future__ import annotations

import os
import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS settings for Pylon: httpx's defaults (certifi's CA bundle, or
    `SSL_CERT_FILE`/`SSL_CERT_DIR`, read when it is first built), built once per process.
    Building them loads the whole CA bundle, about 25 ms of CPU, and a client is made for every
    step of every run. A forked child builds its own."""
    return httpx.create_ssl_context()


os.register_at_fork(after_in_child=tls_context.cache_clear)


class Network(httpx.BaseTransport):
    """Sends requests as a plain `httpx.Client` does: its connection pool, `tls_context()`, and
    the proxies the environment names (`HTTPS_PROXY`, `NO_PROXY`, ...), which httpx sets up only
    for a client built without a transport of its own. Redirects are answered, not followed."""

    def __init__(self) -> None:
        self._client = httpx.Client(verify=tls_context(), follow_redirects=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request, stream=True)

    def close(self) -> None:
        self._client.close()
